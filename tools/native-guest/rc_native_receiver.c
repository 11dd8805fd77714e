/* SPDX-License-Identifier: MIT */
/*
 * The receiving end of a guest's WebRTC audio, as a browser would be:
 *
 *   webrtcbin (recvonly) ─ rtpopusdepay ─ opusdec ─ audioconvert ─ audioresample
 *     ─ S16LE 48 kHz stereo ─ appsink ─ memory and/or WAV file
 *
 * Why it is built this way:
 * - It is the measuring instrument of the tests and benchmarks, so what it
 *   counts is taken where a player would see it: packets on the
 *   depayloader's sink pad (after SRTP and the jitter buffer), PCM out of
 *   the decoder.
 * - The answer gets `stereo=1` in its Opus fmtp, as the protocol asks of
 *   every client (webrtcbin does not write it).
 * - Against a server on this machine it gathers and accepts loopback
 *   candidates only, so tests never send a packet off 127.0.0.1.
 * - A player that schedules packets by their RTP timestamp (the native
 *   guest's playout at C + D) takes the RTP packets instead of PCM: then the
 *   chain is only an appsink after webrtcbin, whose jitter buffer latency
 *   can be lowered below the room's playout delay.
 * - bench-fanout holds hundreds of guests on the two cores of the server it
 *   measures: decoding to PCM would cost what they cannot spare, and its
 *   figures ask when packets arrive, not when a player takes them. With the
 *   decoding off, the RTP ends in a fakesink (or opusdec ! fakesink) and is
 *   counted at rtpbin's input, late packets included.
 *
 * Ordering rule: webrtcbin's signals and promises and the streaming threads
 * only queue events for the main context (RcWebrtcPeer), where the
 * callbacks run; the figures are under a mutex.
 */
#define GST_USE_UNSTABLE_API
#include "rc_native_receiver.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_peer.h"

#include <gst/app/gstappsink.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PCM_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"
#define BYTES_PER_FRAME 4
#define OPUS_ANSWER_FMTP "stereo=1"

struct _RcNativeReceiver
{
  char *name;
  gboolean loopback_only;
  gboolean keep_pcm;
  void (*rtp) (GstBuffer *packet, gpointer rtp_data);
  gpointer rtp_data;
  guint jitterbuffer_ms;
  RcNativeDecode decode;
  gint64 late_us;
  RcNativeReceiverCallbacks callbacks;
  gpointer user_data;

  RcWebrtcPeer *peer; /* frees the receiver last */
  GstElement *pipeline;
  GstElement *webrtc; /* the peer's */
  GstElement *rtpbin; /* webrtcbin's, with the light counting probes */
  guint bus_watch;

  /* main context only */
  gboolean offer_set;

  GMutex lock; /* protects everything below; taken on streaming threads */
  gboolean decoding;
  RcNativeGuestStats figures; /* all but `joined` and `connected` */
  gint64 last_arrival_us; /* -1: none since the last reset */
  guint16 last_seq;
  gboolean have_seq;
  guint64 ext_ts; /* the RTP timestamp, extended */
  gboolean have_transit;
  gint64 best_transit_us;
  GByteArray *pcm; /* with keep_pcm: everything decoded */
  FILE *wav;
  guint64 wav_bytes;
};

/* With the peer's last reference, or at once if there is no peer. */
static void
receiver_finalize (gpointer data)
{
  RcNativeReceiver *self = data;

  g_mutex_clear (&self->lock);
  if (self->pcm != NULL)
    g_byte_array_unref (self->pcm);
  g_free (self->name);
  g_free (self);
}

/* Once; the receiver should be freed. */
static void
on_failed (RcWebrtcPeer *peer, int code, const char *reason, gpointer data)
{
  RcNativeReceiver *self = data;

  g_debug ("%s: media failed: %s", self->name, reason);
  if (self->callbacks.failed != NULL)
    self->callbacks.failed (self, reason, self->user_data);
}

static void
on_candidate (RcWebrtcPeer *peer, guint mline, const char *candidate, gpointer data)
{
  RcNativeReceiver *self = data;

  if (self->callbacks.ice != NULL)
    self->callbacks.ice (self, mline, candidate, self->user_data);
}

static void
on_answer_made (RcWebrtcPeer *peer, GstWebRTCSessionDescription *answer, const char *text,
                gpointer data)
{
  RcNativeReceiver *self = data;

  if (self->callbacks.answer != NULL)
    self->callbacks.answer (self, text, self->user_data);
}

static const RcWebrtcPeerCallbacks peer_callbacks = { on_answer_made, on_candidate, NULL, NULL,
                                                      on_failed, NULL };

/* Lock held: is the packet of RTP time @ts late for its slot? */
static void
note_transit (RcNativeReceiver *self, guint32 ts, gint64 now)
{
  /* Transit = arrival - RTP time (48 kHz); only its changes matter. */
  guint64 ext = gst_rtp_buffer_ext_timestamp (&self->ext_ts, ts);
  gint64 transit = now - (gint64) (ext * 125 / 6);
  gint64 late;

  if (!self->have_transit || transit < self->best_transit_us)
    {
      self->best_transit_us = transit;
      self->have_transit = TRUE;
      return;
    }
  late = transit - self->best_transit_us;
  self->figures.max_late_us = MAX (self->figures.max_late_us, late);
  if (late > self->late_us)
    self->figures.late++;
}

/* Streaming thread: a packet where it is counted. */
static gboolean
note_packet (GstBuffer *buf, gint64 now, gpointer data)
{
  RcNativeReceiver *self = data;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint16 seq;
  guint32 ts;
  guint8 pt;

  if (!gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    return TRUE;
  seq = gst_rtp_buffer_get_seq (&rtp);
  ts = gst_rtp_buffer_get_timestamp (&rtp);
  pt = gst_rtp_buffer_get_payload_type (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  if (pt >= 72 && pt <= 76)
    return TRUE; /* RTCP (SR, RR, SDES, BYE, APP) seen as RTP at rtpbin's input */
  g_mutex_lock (&self->lock);
  if (self->figures.packets == 0)
    self->figures.first_packet_us = now;
  self->figures.packets++;
  if (self->have_seq)
    {
      guint16 step = seq - self->last_seq;

      /* Forward jumps are losses; a packet from the past is a reorder. */
      if (step > 1 && step < 0x8000)
        self->figures.lost += step - 1;
    }
  if (!self->have_seq || (guint16) (seq - self->last_seq) < 0x8000)
    self->last_seq = seq;
  self->have_seq = TRUE;
  if (self->last_arrival_us >= 0)
    self->figures.max_gap_us = MAX (self->figures.max_gap_us, now - self->last_arrival_us);
  self->last_arrival_us = now;
  note_transit (self, ts, now);
  g_mutex_unlock (&self->lock);
  return TRUE;
}


/* Streaming thread, decoding off: rtpbin gets a recv_rtp_sink_N pad per
 * transport, where the RTP is decrypted and not yet jitter-buffered. */
static void
on_rtpbin_pad_added (GstElement *rtpbin, GstPad *pad, gpointer data)
{
  if (GST_PAD_DIRECTION (pad) == GST_PAD_SINK
      && g_str_has_prefix (GST_PAD_NAME (pad), "recv_rtp_sink_"))
    {
      RcNativeReceiver *self = data;

      rc_webrtc_peer_add_rtp_probe (self->peer, pad, note_packet);
    }
}

static GstFlowReturn
on_pcm (GstAppSink *sink, gpointer data)
{
  RcNativeReceiver *self = rc_webrtc_peer_get_user_data (data);
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstMapInfo map;

  if (sample == NULL)
    return GST_FLOW_EOS;
  if (!gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ))
    return GST_FLOW_OK;
  g_mutex_lock (&self->lock);
  if (self->figures.first_audio_us == 0)
    self->figures.first_audio_us = g_get_monotonic_time ();
  self->figures.frames += map.size / BYTES_PER_FRAME;
  if (self->pcm != NULL)
    g_byte_array_append (self->pcm, map.data, map.size);
  if (self->wav != NULL && fwrite (map.data, 1, map.size, self->wav) == map.size)
    self->wav_bytes += map.size;
  g_mutex_unlock (&self->lock);
  gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
  return GST_FLOW_OK;
}

/* With an rtp callback: the packets themselves, for a player of its own. */
static GstFlowReturn
on_rtp_sample (GstAppSink *sink, gpointer data)
{
  RcNativeReceiver *self = rc_webrtc_peer_get_user_data (data);
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBufferList *list;

  if (sample == NULL)
    return GST_FLOW_EOS;
  list = gst_sample_get_buffer_list (sample);
  if (list != NULL)
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      self->rtp (gst_buffer_list_get (list, i), self->rtp_data);
  else if (gst_sample_get_buffer (sample) != NULL)
    self->rtp (gst_sample_get_buffer (sample), self->rtp_data);
  return GST_FLOW_OK;
}

/* Streaming thread: webrtcbin has a stream for us; decode it (or hand its
 * packets over). */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer data)
{
  RcNativeReceiver *self = data;
  g_autoptr (GError) error = NULL;
  GstElement *decoder;
  g_autoptr (GstElement) depay = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstPad) depay_sink = NULL;
  GstAppSinkCallbacks callbacks = { .new_sample = self->rtp != NULL ? on_rtp_sample : on_pcm };
  const char *chain = self->rtp != NULL ? "appsink name=sink sync=false buffer-list=true"
                      : self->decode == RC_NATIVE_DECODE_DISCARD
                        ? "rtpopusdepay ! opusdec ! fakesink sync=false async=false"
                      : self->decode == RC_NATIVE_DECODE_OFF
                        ? "fakesink sync=false async=false"
                        : "rtpopusdepay name=depay ! opusdec ! audioconvert "
                          "! audioresample ! " PCM_CAPS " ! appsink name=sink sync=false";

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  g_mutex_lock (&self->lock);
  if (self->decoding)
    {
      g_mutex_unlock (&self->lock);
      return; /* one stream is all we asked for */
    }
  self->decoding = TRUE;
  g_mutex_unlock (&self->lock);

  decoder = gst_parse_bin_from_description (chain, TRUE, &error);
  if (decoder == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("no decoder: %s", error->message);

      rc_webrtc_peer_fail (self->peer, RC_MEDIA_ERROR_FAILED, reason);
      return;
    }
  /* The packets are counted where a player takes them (decoding off: as
   * they arrive, see on_rtpbin_pad_added). */
  sink = gst_bin_get_by_name (GST_BIN (decoder), "sink");
  depay = gst_bin_get_by_name (GST_BIN (decoder), self->rtp != NULL ? "sink" : "depay");
  if (depay != NULL)
    {
      depay_sink = gst_element_get_static_pad (depay, "sink");
      rc_webrtc_peer_add_rtp_probe (self->peer, depay_sink, note_packet);
    }
  if (sink != NULL)
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, rc_webrtc_peer_ref (self->peer),
                                (GDestroyNotify) rc_webrtc_peer_unref);
  gst_bin_add (GST_BIN (self->pipeline), decoder);
  gst_element_sync_state_with_parent (decoder);
  {
    g_autoptr (GstPad) decoder_sink = gst_element_get_static_pad (decoder, "sink");
    if (gst_pad_link (pad, decoder_sink) != GST_PAD_LINK_OK)
      rc_webrtc_peer_fail (self->peer, RC_MEDIA_ERROR_FAILED, "could not link the decoder");
  }
}

static gboolean
on_bus (GstBus *bus, GstMessage *message, gpointer data)
{
  RcNativeReceiver *self = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      g_autofree char *reason = NULL;

      gst_message_parse_error (message, &error, &debug);
      g_debug ("%s: %s (%s)", self->name, error->message, debug);
      reason = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (message), error->message);
      rc_webrtc_peer_fail (self->peer, RC_MEDIA_ERROR_FAILED, reason);
    }
  return G_SOURCE_CONTINUE;
}

/* Writes a RIFF/WAVE header for S16LE 48 kHz stereo holding @data_bytes. */
static void
write_wav_header (FILE *f, guint64 data_bytes)
{
  guint32 data = (guint32) MIN (data_bytes, G_MAXUINT32 - 36);
  guint8 h[44];

  memcpy (h, "RIFF", 4);
  GST_WRITE_UINT32_LE (h + 4, 36 + data);
  memcpy (h + 8, "WAVEfmt ", 8);
  GST_WRITE_UINT32_LE (h + 16, 16);
  GST_WRITE_UINT16_LE (h + 20, 1);      /* PCM */
  GST_WRITE_UINT16_LE (h + 22, 2);      /* channels */
  GST_WRITE_UINT32_LE (h + 24, 48000);  /* rate */
  GST_WRITE_UINT32_LE (h + 28, 48000 * BYTES_PER_FRAME);
  GST_WRITE_UINT16_LE (h + 32, BYTES_PER_FRAME);
  GST_WRITE_UINT16_LE (h + 34, 16);     /* bits */
  memcpy (h + 36, "data", 4);
  GST_WRITE_UINT32_LE (h + 40, data);
  fwrite (h, 1, sizeof h, f);
}

static gboolean
build (RcNativeReceiver *self, GError **error)
{
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GstCaps) caps = gst_caps_from_string (
    "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000");
  g_autoptr (GstBus) bus = NULL;
  g_autofree char *name = g_strdup_printf ("guest-%s", self->name);
  const RcWebrtcPeerOptions options = { .name = "webrtc",
                                        .loopback_only = self->loopback_only,
                                        .latency_ms = self->jitterbuffer_ms,
                                        .opus_fmtp = OPUS_ANSWER_FMTP };

  self->peer = rc_webrtc_peer_new (&options, &peer_callbacks, self, receiver_finalize, error);
  if (self->peer == NULL)
    return FALSE;
  self->webrtc = rc_webrtc_peer_get_webrtcbin (self->peer);
  self->pipeline = gst_pipeline_new (name);
  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);
  g_signal_emit_by_name (self->webrtc, "add-transceiver",
                         GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &transceiver);

  rc_webrtc_peer_connect (self->peer, self->webrtc, "pad-added", G_CALLBACK (on_pad_added));
  if (self->rtp == NULL && self->decode != RC_NATIVE_DECODE_PCM)
    {
      self->rtpbin = gst_bin_get_by_name (GST_BIN (self->webrtc), "rtpbin");
      if (self->rtpbin == NULL)
        {
          g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                               "webrtcbin has no child named rtpbin: cannot count packets");
          return FALSE;
        }
      rc_webrtc_peer_connect (self->peer, self->rtpbin, "pad-added",
                              G_CALLBACK (on_rtpbin_pad_added));
    }
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus, self);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                           "The guest's pipeline would not start");
      return FALSE;
    }
  return TRUE;
}

RcNativeReceiver *
rc_native_receiver_new (const RcNativeReceiverOptions *options,
                        const RcNativeReceiverCallbacks *callbacks, gpointer user_data,
                        GError **error)
{
  RcNativeReceiver *self = g_new0 (RcNativeReceiver, 1);

  self->name = g_strdup (options->name != NULL ? options->name : "guest");
  self->loopback_only = options->loopback_only;
  self->keep_pcm = options->keep_pcm && options->rtp == NULL;
  self->rtp = options->rtp;
  self->rtp_data = options->rtp_data;
  self->jitterbuffer_ms = options->jitterbuffer_ms;
  self->decode = options->rtp == NULL ? options->decode : RC_NATIVE_DECODE_PCM;
  self->late_us = options->late_us;
  if (self->decode != RC_NATIVE_DECODE_PCM)
    self->keep_pcm = FALSE;
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  g_mutex_init (&self->lock);
  self->last_arrival_us = -1;
  self->ext_ts = G_MAXUINT64;
  if (self->keep_pcm)
    self->pcm = g_byte_array_new ();
  if (options->record_path != NULL && options->rtp == NULL
      && self->decode == RC_NATIVE_DECODE_PCM)
    {
      self->wav = fopen (options->record_path, "wb");
      if (self->wav == NULL)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "Cannot write %s: %s", options->record_path, g_strerror (errno));
          rc_native_receiver_free (self);
          return NULL;
        }
      write_wav_header (self->wav, 0);
    }
  if (!build (self, error))
    {
      rc_native_receiver_free (self);
      return NULL;
    }
  return self;
}

void
rc_native_receiver_free (RcNativeReceiver *self)
{
  if (self == NULL)
    return;
  if (self->rtpbin != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->rtpbin, self);
      gst_clear_object (&self->rtpbin);
    }
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      g_clear_handle_id (&self->bus_watch, g_source_remove);
      gst_clear_object (&self->pipeline);
    }
  g_mutex_lock (&self->lock);
  if (self->wav != NULL)
    {
      /* The sizes are known only now. */
      if (fseek (self->wav, 0, SEEK_SET) == 0)
        write_wav_header (self->wav, self->wav_bytes);
      fclose (self->wav);
      self->wav = NULL;
    }
  g_mutex_unlock (&self->lock);
  /* webrtcbin itself stays until the peer's last reference: a promise
   * callback on its thread may still be answering through it. */
  rc_webrtc_peer_release (self->peer, self, receiver_finalize);
}

gboolean
rc_native_receiver_set_offer (RcNativeReceiver *self, const char *sdp, GError **error)
{
  g_autoptr (GstSDPMessage) message = NULL;

  if (self->offer_set)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                           "This receiver has an offer already");
      return FALSE;
    }
  if (gst_sdp_message_new_from_text (sdp, &message) != GST_SDP_OK
      || gst_sdp_message_medias_len (message) == 0)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                           "The offer is not SDP with media");
      return FALSE;
    }
  self->offer_set = TRUE;
  rc_webrtc_peer_set_remote (self->peer, GST_WEBRTC_SDP_TYPE_OFFER, g_steal_pointer (&message));
  return TRUE;
}

static gboolean
is_loopback_candidate (const char *candidate)
{
  g_auto (GStrv) t = g_strsplit (candidate, " ", -1);

  return g_strv_length (t) > 4 && (g_str_has_prefix (t[4], "127.") || g_str_equal (t[4], "::1"));
}

void
rc_native_receiver_add_ice (RcNativeReceiver *self, guint mline_index, const char *candidate)
{
  if (candidate == NULL || *candidate == '\0')
    return;
  if (self->loopback_only && !is_loopback_candidate (candidate))
    return;
  rc_webrtc_peer_add_ice (self->peer, mline_index, candidate);
}

void
rc_native_receiver_get_stats (RcNativeReceiver *self, RcNativeGuestStats *stats)
{
  g_mutex_lock (&self->lock);
  *stats = self->figures;
  g_mutex_unlock (&self->lock);
  stats->connected = rc_webrtc_peer_is_connected (self->peer);
}

void
rc_native_receiver_reset_gap (RcNativeReceiver *self)
{
  g_mutex_lock (&self->lock);
  self->figures.max_gap_us = 0;
  self->figures.max_late_us = 0;
  self->last_arrival_us = -1;
  g_mutex_unlock (&self->lock);
}

gint16 *
rc_native_receiver_get_recent_pcm (RcNativeReceiver *self, guint ms, gsize *n_frames)
{
  gint16 *out;
  gsize frames;

  g_mutex_lock (&self->lock);
  if (self->pcm == NULL)
    {
      g_mutex_unlock (&self->lock);
      *n_frames = 0;
      return NULL;
    }
  frames = MIN ((gsize) ms * 48, self->pcm->len / BYTES_PER_FRAME);
  out = g_memdup2 (self->pcm->data + self->pcm->len - frames * BYTES_PER_FRAME,
                   frames * BYTES_PER_FRAME);
  g_mutex_unlock (&self->lock);
  *n_frames = frames;
  return out;
}

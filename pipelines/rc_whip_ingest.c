/* SPDX-License-Identifier: MIT */
/*
 * A live host's audio over WebRTC, into the room's mixer. Why it is built
 * this way:
 *
 * - One recvonly webrtcbin per host inside the room's pipeline, decoded to
 *   the mixer's format and mixed in by rc_room_pipeline_add_input, which
 *   places it by how late its first buffer comes out of the jitter buffer
 *   (so the mixer's deadline never moves for it).
 * - The offer is checked and normalised at the edge (rc_sdp_parse_whip_offer
 *   says why).
 * - Transceivers are made before the offer is set: the first section sending
 *   Opus meets a recvonly Opus transceiver; every other audio or video
 *   section (OBS always offers H264, AV1 or HEVC video) meets an inactive
 *   one, so the answer says a=inactive and no video is ever sent to us.
 *   A stream that comes anyway goes to a fakesink.
 * - Non-trickle: the answer is handed out only when ICE gathering is
 *   complete, with every candidate in the bundle's section and
 *   a=end-of-candidates. OBS from 30.2 sends no candidates at all; the
 *   host's address is learnt from its connectivity checks (peer-reflexive).
 * - webrtcbin 1.22 completes DTLS with any certificate: the host's must be
 *   the one its offer named, checked by the peer (rc_webrtc_peer.c); until
 *   then no RTP goes past webrtcbin.
 * - Settling: the host's first packets reach us in a heap (those sent while
 *   our side of DTLS was still finishing), so the jitter buffer's first
 *   output is late by the heap, and its clock-skew estimate then walks its
 *   timestamps back over a second or two. Placed by that first buffer, the
 *   host would be heard late and then cut. The decoded audio is therefore
 *   held back (dropped) until its lateness stays put: two windows of
 *   250 ms whose least lateness agree within 5 ms (at most 3 s). The mixer
 *   places the host by the first buffer let through, so the placement is
 *   the steady one, and the host is on air from then.
 * - The end is detected here: webrtcbin refusing the offer, ICE or DTLS
 *   failure, an ERROR inside the bin (an RcContainedBin hands it to us, never
 *   a room pipeline error), no RTP for the silence timeout once audio
 *   flowed, or no audio at all for the setup timeout.
 *
 * Ordering rule: webrtcbin's signals, promises and pad probes arrive on its
 * threads; they only queue an event for the main context through the
 * RcWebrtcPeer, where all state lives and callbacks run, never synchronously.
 * The receive figures are under a mutex.
 */
#define GST_USE_UNSTABLE_API
#include "pipelines/rc_whip_ingest.h"
#include "pipelines/rc_contained_bin.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_peer.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (rc_whip_ingest_debug);
#define GST_CAT_DEFAULT rc_whip_ingest_debug

#define OPUS_CAPS "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000"
#define MIX_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"
#define OPUS_ANSWER_FMTP "stereo=1"
/* Settling: windows of output compared, the tolerance between two, and the
 * longest wait before the host is let in anyway. */
#define SETTLE_WINDOW (250 * GST_MSECOND)
#define SETTLE_TOLERANCE (5 * GST_MSECOND)
#define SETTLE_MAX (3 * GST_SECOND)
/* How long ICE gathering may take before the answer goes with what it has. */
#define GATHER_TIMEOUT_US (3 * G_USEC_PER_SEC)
#define WATCHDOG_MS 250
#define STATS_PERIOD_US G_USEC_PER_SEC

/* ---- the ingest ---------------------------------------------------------- */

struct _RcWhipIngest
{
  RcRoomPipeline *pipeline; /* borrowed: outlives the ingest */
  char *name;
  RcWhipIngestOptions options;
  RcWhipIngestCallbacks callbacks;
  gpointer user_data;
  GMainContext *context;
  RcWebrtcPeer *peer; /* frees the ingest last */

  GstElement *bin;    /* an RcContainedBin, in the pipeline until removed */
  gboolean in_pipeline;
  /* Strong: pad-added may still use them on webrtcbin's threads after the
   * ingest is freed. */
  GstElement *webrtc; /* the peer's */
  GstElement *depay;  /* head of the decoding chain */
  GstSDPMessage *offer;
  guint audio_mline;
  gint audio_linked; /* atomic: the audio pad is taken */
  gint first_packet; /* atomic */

  GMutex lock; /* the figures below; taken on streaming threads */
  GstPad *rtp_pad; /* webrtcbin's audio output and its probe, which holds a */
  gulong rtp_probe; /* reference: removed when the ingest is freed */
  guint64 packets;
  guint64 bytes;
  gint64 last_packet_us;
  gint64 lost;
  double jitter_ms;

  /* main context only */
  gboolean ended;
  gboolean answer_sent;
  gboolean live;
  gint64 created_us;
  GstWebRTCSessionDescription *answer; /* set as local, waiting for the candidates */
  GPtrArray *candidates;               /* "mline candidate" strings */
  gint64 answer_set_us;                /* when gathering began */
  gint64 answer_sent_us;
  GSource *watchdog;
  gint64 stats_at_us;
  guint64 stats_bytes;
  double bitrate;
};

/* With the peer's last reference, or at once if there is no peer. */
static void
ingest_finalize (gpointer data)
{
  RcWhipIngest *self = data;

  GST_DEBUG ("host %s: ingest finalized", self->name);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  gst_clear_object (&self->depay);
  g_clear_pointer (&self->offer, gst_sdp_message_free);
  g_clear_pointer (&self->answer, gst_webrtc_session_description_free);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_free (self->name);
  g_free (self);
}

/* Any thread: an ERROR inside the ingest's bin ends the ingest. */
static void
on_bin_error (const char *what, gpointer data)
{
  RcWhipIngest *self = data;

  rc_webrtc_peer_fail (self->peer, RC_MEDIA_ERROR_FAILED, what);
}

/* The ingest's own event, from the RTP probe. */
#define EV_FIRST_PACKET 1

/* Main context: it is over; tell the owner once. */
static void
end (RcWhipIngest *self, int code, const char *reason)
{
  g_autoptr (GError) error = NULL;

  if (self->ended)
    return;
  self->ended = TRUE;
  rc_webrtc_peer_close (self->peer); /* nothing more from it */
  g_clear_pointer (&self->answer, gst_webrtc_session_description_free);
  GST_INFO_OBJECT (self->bin, "host %s: %s", self->name, reason);
  error = g_error_new_literal (RC_MEDIA_ERROR, code, reason);
  if (self->callbacks.ended != NULL)
    self->callbacks.ended (self, error, self->user_data);
}

/* Does the answer take the host's audio (recvonly, not rejected)? */
static gboolean
answer_takes_audio (RcWhipIngest *self, const GstSDPMessage *answer)
{
  const GstSDPMedia *media;

  if (self->audio_mline >= gst_sdp_message_medias_len (answer))
    return FALSE;
  media = gst_sdp_message_get_media (answer, self->audio_mline);
  return !rc_sdp_media_is_rejected (media) && gst_sdp_media_get_attribute_val (media, "recvonly") != NULL;
}

/* The answer is set: gathering starts, and the answer goes out when it is
 * complete (with every candidate in it). */
static void
on_answer_made (RcWebrtcPeer *peer, GstWebRTCSessionDescription *answer, const char *text,
                gpointer data)
{
  RcWhipIngest *self = data;

  if (self->ended)
    return;
  if (!answer_takes_audio (self, answer->sdp))
    {
      end (self, RC_MEDIA_ERROR_UNSUPPORTED_OFFER, "The offer's Opus audio could not be accepted");
      return;
    }
  self->answer = gst_webrtc_session_description_copy (answer);
  self->answer_set_us = g_get_monotonic_time ();
}

/* The section the candidates of @mline go in: with max-bundle every
 * candidate is the bundle's, whose transport is the first section's. */
static GstSDPMedia *
candidate_section (GstSDPMessage *sdp, guint mline)
{
  if (mline >= gst_sdp_message_medias_len (sdp))
    mline = 0;
  return (GstSDPMedia *) gst_sdp_message_get_media (sdp, mline);
}

/* Main context: gathering is over (or took too long); the answer goes. */
static void
send_answer (RcWhipIngest *self)
{
  g_autofree char *text = NULL;
  g_autoptr (GHashTable) ended = g_hash_table_new (NULL, NULL);
  GstSDPMessage *sdp;

  if (self->answer == NULL || self->answer_sent || self->ended)
    return;
  if (self->candidates->len == 0)
    {
      end (self, RC_MEDIA_ERROR_FAILED, "ICE gathering found no local address");
      return;
    }
  sdp = self->answer->sdp;
  /* No trickle here (PATCH is refused): say nothing of it. */
  rc_sdp_remove_attribute (sdp, "ice-options");
  for (guint i = 0; i < self->candidates->len; i++)
    {
      const char *line = self->candidates->pdata[i];
      char *end_ptr;
      guint mline = (guint) g_ascii_strtoull (line, &end_ptr, 10);
      GstSDPMedia *media = candidate_section (sdp, mline);

      /* "candidate:..." as the attribute's value after "a=candidate:" */
      gst_sdp_media_add_attribute (media, "candidate", end_ptr + 1 + strlen ("candidate:"));
      g_hash_table_add (ended, media);
    }
  {
    GHashTableIter iter;
    gpointer media;

    g_hash_table_iter_init (&iter, ended);
    while (g_hash_table_iter_next (&iter, &media, NULL))
      gst_sdp_media_add_attribute (media, "end-of-candidates", "");
  }
  text = gst_sdp_message_as_text (sdp);
  g_clear_pointer (&self->answer, gst_webrtc_session_description_free);
  self->answer_sent = TRUE;
  self->answer_sent_us = g_get_monotonic_time ();
  GST_DEBUG_OBJECT (self->bin, "host %s: answer with %u candidates\n%s", self->name,
                    self->candidates->len, text);
  if (self->callbacks.answer != NULL)
    self->callbacks.answer (self, text, self->user_data);
}

static void
on_candidate (RcWebrtcPeer *peer, guint mline, const char *candidate, gpointer data)
{
  RcWhipIngest *self = data;
  g_autofree char *line = NULL;

  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  if (!g_str_has_prefix (candidate, "candidate:") || self->answer_sent || self->ended)
    return; /* late ones cannot reach a host that does not trickle */
  line = g_strdup_printf ("%u %s", mline, candidate);
  for (guint i = 0; i < self->candidates->len; i++)
    if (g_str_equal (self->candidates->pdata[i], line))
      return;
  g_ptr_array_add (self->candidates, g_steal_pointer (&line));
}

/* Candidates came before this, on the same thread. */
static void
on_gathered (RcWebrtcPeer *peer, gpointer data)
{
  RcWhipIngest *self = data;

  if (!self->ended && self->candidates->len > 0)
    send_answer (self);
}

static void
on_failed (RcWebrtcPeer *peer, int code, const char *reason, gpointer data)
{
  end (data, code, reason);
}

static void
on_first_packet (RcWebrtcPeer *peer, guint kind, gpointer data)
{
  RcWhipIngest *self = data;

  GST_INFO_OBJECT (self->bin, "host %s: audio arrives", self->name);
}

/* Main context: the host's first audio is in the mix. The host is live
 * from here, not from its first packet: a takeover that stopped the queue
 * at the first packet left guests a silence while the first audio was
 * decoded and placed (up to a second on a busy machine: test_whip). */
static void
on_input_linked (GstElement *input, gpointer data)
{
  RcWhipIngest *self = data;

  if (self->live || self->ended)
    return;
  self->live = TRUE;
  GST_INFO_OBJECT (self->bin, "host %s: heard in the mix", self->name);
  if (self->callbacks.live != NULL)
    self->callbacks.live (self, self->user_data);
}

static const RcWebrtcPeerCallbacks peer_callbacks = { on_answer_made, on_candidate, on_gathered,
                                                      NULL, on_failed, on_first_packet };

/* Streaming thread: the host's RTP, out of webrtcbin's jitter buffer.
 * Nothing passes before its certificate has been checked. */
static gboolean
on_packet (GstBuffer *packet, gint64 arrival_us, gpointer data)
{
  RcWhipIngest *self = data;

  if (!rc_webrtc_peer_certificate_ok (self->peer))
    return FALSE;
  g_mutex_lock (&self->lock);
  self->packets++;
  self->bytes += gst_buffer_get_size (packet);
  self->last_packet_us = arrival_us;
  g_mutex_unlock (&self->lock);
  if (!g_atomic_int_get (&self->first_packet)
      && g_atomic_int_compare_and_exchange (&self->first_packet, 0, 1))
    rc_webrtc_peer_post (self->peer, EV_FIRST_PACKET);
  return TRUE;
}

/* Streaming thread: a stream the answer did not ask for (inactive video,
 * an extra audio section) is swallowed. */
static void
discard_pad (RcWhipIngest *self, GstPad *pad)
{
  g_autoptr (GstObject) bin = gst_object_get_parent (GST_OBJECT (self->webrtc));
  GstElement *sink;
  g_autoptr (GstPad) sink_pad = NULL;

  if (bin == NULL || (sink = gst_element_factory_make ("fakesink", NULL)) == NULL)
    return;
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (bin), sink);
  gst_element_sync_state_with_parent (sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sink_pad);
  GST_INFO_OBJECT (bin, "host %s: discarding stream %s", self->name, GST_PAD_NAME (pad));
}

/* Streaming thread: webrtcbin has a stream from the host. */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer data)
{
  RcWhipIngest *self = data;
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GstPad) depay_sink = NULL;
  guint mline = G_MAXUINT;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (pad), "transceiver") != NULL)
    g_object_get (pad, "transceiver", &transceiver, NULL);
  if (transceiver != NULL)
    g_object_get (transceiver, "mlineindex", &mline, NULL);
  if (mline != self->audio_mline
      || !g_atomic_int_compare_and_exchange (&self->audio_linked, 0, 1))
    {
      discard_pad (self, pad);
      return;
    }
  depay_sink = gst_element_get_static_pad (self->depay, "sink");
  g_mutex_lock (&self->lock);
  self->rtp_pad = gst_object_ref (pad);
  self->rtp_probe = rc_webrtc_peer_add_rtp_probe (self->peer, pad, on_packet);
  g_mutex_unlock (&self->lock);
  if (gst_pad_link (pad, depay_sink) != GST_PAD_LINK_OK)
    rc_webrtc_peer_fail (self->peer, RC_MEDIA_ERROR_FAILED,
                         "could not link the host's audio to its decoder");
}

static double
stat_number (const GstStructure *s, const char *field)
{
  const GValue *value = gst_structure_get_value (s, field);
  GValue number = G_VALUE_INIT;
  double result = 0;

  if (value == NULL)
    return 0;
  g_value_init (&number, G_TYPE_DOUBLE);
  if (g_value_transform (value, &number))
    result = g_value_get_double (&number);
  g_value_unset (&number);
  return result;
}

/* webrtcbin's thread: the RTP session's view of the host's audio. */
static void
on_stats (GstPromise *promise, gpointer data)
{
  RcWhipIngest *self = rc_webrtc_peer_get_user_data (data);
  const GstStructure *reply;
  double best_packets = -1, lost = 0, jitter = 0;

  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED
      && (reply = gst_promise_get_reply (promise)) != NULL)
    for (int i = 0; i < gst_structure_n_fields (reply); i++)
      {
        const GValue *value = gst_structure_get_value (reply, gst_structure_nth_field_name (reply, i));
        const GstStructure *s;
        gint type;

        if (!GST_VALUE_HOLDS_STRUCTURE (value))
          continue;
        s = gst_value_get_structure (value);
        if (!gst_structure_get_enum (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type)
            || type != GST_WEBRTC_STATS_INBOUND_RTP
            || stat_number (s, "packets-received") <= best_packets)
          continue;
        best_packets = stat_number (s, "packets-received");
        lost = stat_number (s, "packets-lost");
        jitter = stat_number (s, "jitter");
      }
  if (best_packets >= 0)
    {
      g_mutex_lock (&self->lock);
      self->lost = (gint64) lost;
      self->jitter_ms = jitter * 1000.0;
      g_mutex_unlock (&self->lock);
    }
}

static void
poll_stats (RcWhipIngest *self, gint64 now)
{
  guint64 bytes;

  g_mutex_lock (&self->lock);
  bytes = self->bytes;
  g_mutex_unlock (&self->lock);
  if (self->stats_at_us > 0 && now > self->stats_at_us)
    self->bitrate = (double) (bytes - self->stats_bytes) * 8.0 * G_USEC_PER_SEC
                    / (double) (now - self->stats_at_us);
  self->stats_at_us = now;
  self->stats_bytes = bytes;
  if (rc_webrtc_peer_is_connected (self->peer))
    rc_webrtc_peer_request (self->peer, "get-stats", NULL, on_stats);
}

/* Main context, every WATCHDOG_MS: gathering, silence and the figures. */
static gboolean
on_watchdog (gpointer data)
{
  RcWhipIngest *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 last;

  if (self->ended)
    return G_SOURCE_CONTINUE;
  if (!self->answer_sent)
    {
      if (self->answer != NULL && now - self->answer_set_us > GATHER_TIMEOUT_US)
        send_answer (self); /* gathering never said complete: send what there is */
      else if (now - self->created_us > 2 * GATHER_TIMEOUT_US)
        end (self, RC_MEDIA_ERROR_FAILED, "No answer could be made in time");
      return G_SOURCE_CONTINUE;
    }
  g_mutex_lock (&self->lock);
  last = self->last_packet_us;
  g_mutex_unlock (&self->lock);
  if (last == 0 && now - self->answer_sent_us > (gint64) self->options.setup_timeout_ms * 1000)
    {
      g_autofree char *reason = g_strdup_printf ("No audio from the host within %u s",
                                                 self->options.setup_timeout_ms / 1000);
      end (self, RC_MEDIA_ERROR_FAILED, reason);
      return G_SOURCE_CONTINUE;
    }
  if (last != 0 && now - last > (gint64) self->options.silence_timeout_ms * 1000)
    {
      g_autofree char *reason = g_strdup_printf ("No audio from the host for %u ms",
                                                 self->options.silence_timeout_ms);
      end (self, RC_MEDIA_ERROR_FAILED, reason);
      return G_SOURCE_CONTINUE;
    }
  if (now - self->stats_at_us >= STATS_PERIOD_US)
    poll_stats (self, now);
  return G_SOURCE_CONTINUE;
}

/* Transceivers for every section of the offer, before it is set: the audio
 * taken is recvonly Opus, everything else is answered inactive. */
static void
add_transceivers (RcWhipIngest *self)
{
  g_autoptr (GstCaps) opus = gst_caps_from_string (OPUS_CAPS);
  g_autoptr (GstWebRTCRTPTransceiver) audio = NULL;

  g_signal_emit_by_name (self->webrtc, "add-transceiver",
                         GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, opus, &audio);
  for (guint m = 0; m < gst_sdp_message_medias_len (self->offer); m++)
    {
      const char *kind = gst_sdp_media_get_media (gst_sdp_message_get_media (self->offer, m));
      g_autoptr (GstCaps) caps = NULL;
      g_autoptr (GstWebRTCRTPTransceiver) other = NULL;

      if (m == self->audio_mline
          || (g_strcmp0 (kind, "audio") != 0 && g_strcmp0 (kind, "video") != 0))
        continue;
      caps = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, kind, NULL);
      g_signal_emit_by_name (self->webrtc, "add-transceiver",
                             GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE, caps, &other);
    }
}

/* Streaming thread of the decoded audio only. */
typedef struct
{
  gboolean settled;
  GstClockTime first;          /* running time of the first buffer */
  GstClockTime window_end;     /* running time the current window closes */
  GstClockTimeDiff window_min; /* its least lateness */
  GstClockTimeDiff last_min;   /* the previous window's */
  gboolean have_last;
} Settle;

static GstPadProbeReturn
on_decoded (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Settle *st = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  GstElement *element = GST_ELEMENT (GST_OBJECT_PARENT (pad));
  g_autoptr (GstClock) clock = NULL;
  GstClockTime now;
  GstClockTimeDiff lateness;

  if (st->settled)
    return GST_PAD_PROBE_OK;
  clock = element != NULL ? gst_element_get_clock (element) : NULL;
  if (clock == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_PAD_PROBE_DROP;
  now = gst_clock_get_time (clock) - gst_element_get_base_time (element);
  lateness = GST_CLOCK_DIFF (GST_BUFFER_PTS (buffer), now);
  if (!GST_CLOCK_TIME_IS_VALID (st->first))
    {
      st->first = now;
      st->window_end = now + SETTLE_WINDOW;
      st->window_min = lateness;
      return GST_PAD_PROBE_DROP;
    }
  st->window_min = MIN (st->window_min, lateness);
  if (now < st->window_end)
    return GST_PAD_PROBE_DROP;
  if ((st->have_last && ABS (st->window_min - st->last_min) <= SETTLE_TOLERANCE)
      || now - st->first >= SETTLE_MAX)
    {
      GST_INFO_OBJECT (pad, "settled %" G_GINT64_FORMAT " ms after the first audio, "
                       "%" G_GINT64_FORMAT " ms late",
                       (gint64) ((now - st->first) / GST_MSECOND), st->window_min / GST_MSECOND);
      st->settled = TRUE;
      return GST_PAD_PROBE_OK;
    }
  st->last_min = st->window_min;
  st->have_last = TRUE;
  st->window_min = lateness;
  st->window_end = now + SETTLE_WINDOW;
  return GST_PAD_PROBE_DROP;
}

static gboolean
build (RcWhipIngest *self, GError **error)
{
  static gint serial;
  g_autofree char *bin_name = NULL;
  g_autoptr (GstCaps) mix_caps = gst_caps_from_string (MIX_CAPS);
  GstElement *decoder, *convert, *resample, *filter, *volume;
  g_autoptr (GstPad) volume_src = NULL;
  GstPad *ghost;
  const RcWebrtcPeerOptions options = { .latency_ms = self->options.latency_ms,
                                        .opus_fmtp = OPUS_ANSWER_FMTP };

  self->peer = rc_webrtc_peer_new (&options, &peer_callbacks, self, ingest_finalize, error);
  if (self->peer == NULL)
    return FALSE;
  self->webrtc = rc_webrtc_peer_get_webrtcbin (self->peer);
  self->depay = gst_element_factory_make ("rtpopusdepay", "depay");
  if (self->depay != NULL)
    gst_object_ref_sink (self->depay);
  decoder = gst_element_factory_make ("opusdec", "decoder");
  convert = gst_element_factory_make ("audioconvert", NULL);
  resample = gst_element_factory_make ("audioresample", NULL);
  filter = gst_element_factory_make ("capsfilter", NULL);
  volume = gst_element_factory_make ("volume", "volume");
  if (self->depay == NULL || decoder == NULL || convert == NULL
      || resample == NULL || filter == NULL || volume == NULL)
    {
      GstElement *all[] = { decoder, convert, resample, filter, volume };

      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        if (all[i] != NULL)
          gst_object_unref (gst_object_ref_sink (all[i]));
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "the Opus elements are missing");
      return FALSE;
    }
  bin_name = g_strdup_printf ("ingest-%s-%d", self->name, g_atomic_int_add (&serial, 1));
  self->bin = gst_object_ref_sink (rc_contained_bin_new (bin_name));
  rc_contained_bin_set_handler (self->bin, on_bin_error, self);

  g_object_set (decoder, "plc", TRUE, NULL);
  g_object_set (filter, "caps", mix_caps, NULL);
  gst_bin_add_many (GST_BIN (self->bin), self->webrtc, self->depay, decoder, convert, resample,
                    filter, volume, NULL);
  if (!gst_element_link_many (self->depay, decoder, convert, resample, filter, volume, NULL))
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "Could not link the host's decoder");
      return FALSE;
    }
  volume_src = gst_element_get_static_pad (volume, "src");
  {
    Settle *st = g_new0 (Settle, 1);

    st->first = GST_CLOCK_TIME_NONE;
    gst_pad_add_probe (volume_src, GST_PAD_PROBE_TYPE_BUFFER, on_decoded, st, g_free);
  }
  ghost = gst_ghost_pad_new ("src", volume_src);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (self->bin, ghost);
  add_transceivers (self);

  rc_webrtc_peer_connect (self->peer, self->webrtc, "pad-added", G_CALLBACK (on_pad_added));
  return TRUE;
}

RcWhipIngest *
rc_whip_ingest_new (RcRoomPipeline *pipeline, const char *name, GstSDPMessage *offer,
               const RcWhipIngestOptions *options, const RcWhipIngestCallbacks *callbacks,
               gpointer user_data, GError **error)
{
  RcWhipIngest *self = g_new0 (RcWhipIngest, 1);
  int audio = rc_sdp_find_whip_audio (offer, error);
  GstSDPMessage *copy = NULL;

  if (rc_whip_ingest_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (rc_whip_ingest_debug, "rc-ingest", 0, "live host ingest");
  self->pipeline = pipeline;
  self->name = g_strdup (name);
  self->offer = offer;
  if (options != NULL)
    self->options = *options;
  if (self->options.latency_ms == 0)
    self->options.latency_ms = RC_WHIP_INGEST_DEFAULT_LATENCY_MS;
  if (self->options.silence_timeout_ms == 0)
    self->options.silence_timeout_ms = RC_WHIP_INGEST_DEFAULT_SILENCE_TIMEOUT_MS;
  if (self->options.setup_timeout_ms == 0)
    self->options.setup_timeout_ms = RC_WHIP_INGEST_DEFAULT_SETUP_TIMEOUT_MS;
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  self->candidates = g_ptr_array_new_with_free_func (g_free);
  self->created_us = g_get_monotonic_time ();
  g_mutex_init (&self->lock);

  if (audio < 0)
    {
      rc_whip_ingest_free (self);
      return NULL;
    }
  self->audio_mline = (guint) audio;
  if (!build (self, error))
    {
      rc_whip_ingest_free (self);
      return NULL;
    }
  rc_webrtc_peer_expect_fingerprint (
    self->peer, gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (offer, audio),
                                                 "fingerprint"));
  /* In order, the jitter buffer lets a packet through as it arrives; it
   * waits its latency only for a missing one. The same latency is the
   * host's lead at the mixer: a packet that much later than the earliest
   * (plus the mixer's own latency) is still mixed. */
  if (!rc_room_pipeline_add_input_full (pipeline, self->bin,
                                        self->options.latency_ms * GST_MSECOND, on_input_linked,
                                        self))
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED, "Could not start the ingest of %s",
                   name);
      rc_whip_ingest_free (self);
      return NULL;
    }
  self->in_pipeline = TRUE;
  self->watchdog = g_timeout_source_new (WATCHDOG_MS);
  g_source_set_callback (self->watchdog, on_watchdog, self, NULL);
  g_source_attach (self->watchdog, self->context);

  GST_INFO_OBJECT (self->bin, "host %s: ingest added, answering", name);
  gst_sdp_message_copy (offer, &copy);
  rc_webrtc_peer_set_remote (self->peer, GST_WEBRTC_SDP_TYPE_OFFER, copy);
  return self;
}

void
rc_whip_ingest_free (RcWhipIngest *self)
{
  if (self == NULL)
    return;
  {
    GstPad *pad;
    gulong probe;

    /* The probe holds the peer, and so webrtcbin and the ingest: it goes now. */
    g_mutex_lock (&self->lock);
    pad = g_steal_pointer (&self->rtp_pad);
    probe = self->rtp_probe;
    g_mutex_unlock (&self->lock);
    if (pad != NULL)
      {
        gst_pad_remove_probe (pad, probe);
        gst_object_unref (pad);
      }
  }
  if (self->watchdog != NULL)
    {
      g_source_destroy (self->watchdog);
      g_clear_pointer (&self->watchdog, g_source_unref);
    }
  if (self->bin != NULL)
    {
      rc_contained_bin_set_handler (self->bin, NULL, NULL);
      /* Unlinks in an IDLE probe and stops the bin later, on the main context. */
      if (self->in_pipeline)
        rc_room_pipeline_remove_input (self->pipeline, self->bin);
      gst_clear_object (&self->bin);
    }
  rc_webrtc_peer_release (self->peer, self, ingest_finalize);
}

GstClockTime
rc_whip_ingest_get_mix_delay (RcWhipIngest *ingest)
{
  return rc_room_pipeline_get_input_offset (ingest->pipeline, ingest->bin);
}

void
rc_whip_ingest_get_stats (RcWhipIngest *self, RcWhipIngestStats *stats)
{
  memset (stats, 0, sizeof *stats);
  stats->connected = rc_webrtc_peer_is_connected (self->peer);
  stats->live = self->live;
  stats->bitrate = self->bitrate;
  g_mutex_lock (&self->lock);
  stats->packets = self->packets;
  stats->bytes = self->bytes;
  stats->lost = self->lost;
  stats->jitter_ms = self->jitter_ms;
  stats->last_packet_us = self->last_packet_us;
  g_mutex_unlock (&self->lock);
}

GstElement *
rc_whip_ingest_get_input (RcWhipIngest *ingest)
{
  return ingest->bin;
}

/* SPDX-License-Identifier: MIT */
/*
 * An OBS-like WHIP client on webrtcbin and libsoup, for test_whip and
 * bench-latency. What OBS does, and so what this does:
 *
 * - Opus audio (payload 111) and a video section (H264, payload 96), both
 *   sendonly, bundled, DTLS role actpass; the offer is POSTed as
 *   application/sdp with Authorization: Bearer, and the 201's body is the
 *   answer, its Location the resource to DELETE at the end.
 * - No trickle. OBS before 30.2 waited for gathering and sent every
 *   candidate; from 30.2 it sends the offer with none (port 9,
 *   c=IN IP4 0.0.0.0), so the server's answer must carry all of its own.
 *   Both are made here, from one gathered offer: strip_candidates takes
 *   them out.
 * - libdatachannel writes the fingerprint and ice-options at session level
 *   and a=group:LS beside the bundle; the offer is rewritten that way.
 *
 * For latency measurements the tone can be timed bursts instead
 * (rc_bursts.h), with the pipeline on the system clock.
 *
 * Ordering rule: webrtcbin's signals, promises and probes only queue work
 * for the main context (holding a reference); everything else runs there.
 */
#define GST_USE_UNSTABLE_API
#include "tools/whip-host/rc_whip_host.h"
#include "pipelines/rc_defer.h"
#include "tools/whip-host/rc_bursts.h"
#include "pipelines/rc_webrtc_util.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <math.h>
#include <string.h>

#define OPUS_CAPS                                                                                 \
  "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,"               \
  "encoding-params=(string)2"
#define H264_CAPS                                                                                 \
  "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96,"                \
  "packetization-mode=(string)1,profile-level-id=(string)42e01f"

struct _RcWhipHost
{
  gint ref_count;
  char *base_url;
  char *room_id;
  char *key;
  gboolean strip_candidates;
  gboolean forge_fingerprint;
  GMainContext *context;

  GstElement *pipeline;
  GstElement *webrtc;
  SoupSession *http;
  GCancellable *cancellable;

  /* main context only */
  gboolean offer_requested;
  gboolean posted;
  gboolean disposed;
  gboolean connected;
  guint status;
  char *offer;
  char *answer;
  char *location;
  SoupMessageHeaders *headers;
  char *failure;
};

static RcWhipHost *
whip_ref (RcWhipHost *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
whip_unref (RcWhipHost *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  gst_clear_object (&self->webrtc);
  g_main_context_unref (self->context);
  g_free (self->base_url);
  g_free (self->room_id);
  g_free (self->key);
  g_free (self->offer);
  g_free (self->answer);
  g_free (self->location);
  g_clear_pointer (&self->headers, soup_message_headers_unref);
  g_free (self->failure);
  g_free (self);
}

static void
whip_unref_closure (gpointer data, GClosure *closure)
{
  whip_unref (data);
}

typedef struct
{
  RcWhipHost *whip;
  GSourceFunc func;
  guint number;
  char *text;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  whip_unref (job->whip);
  g_free (job->text);
  g_free (job);
}

static gboolean
run_job (gpointer data)
{
  Job *job = data;

  if (!job->whip->disposed)
    job->func (job);
  return G_SOURCE_REMOVE;
}

/* Queues @func (Job*) for the main context; never runs it right away. */
static void
post (RcWhipHost *self, GSourceFunc func, guint number, char *text)
{
  Job *job = g_new0 (Job, 1);

  job->whip = whip_ref (self);
  job->func = func;
  job->number = number;
  job->text = text;
  rc_defer (self->context, G_PRIORITY_DEFAULT, run_job, job, job_free);
}

static void
fail (RcWhipHost *self, const char *reason)
{
  if (self->failure == NULL)
    self->failure = g_strdup (reason);
}

static gboolean
job_fail (gpointer data)
{
  Job *job = data;

  fail (job->whip, job->text);
  return G_SOURCE_REMOVE;
}

static void
on_description_set (GstPromise *promise, gpointer data)
{
  char *error = rc_webrtc_promise_error (promise, "description refused");

  if (error != NULL)
    post (data, job_fail, 0, error);
  gst_promise_unref (promise);
}

static GstPromise *
promise_new (RcWhipHost *self, GstPromiseChangeFunc func)
{
  return gst_promise_new_with_change_func (func, whip_ref (self), (GDestroyNotify) whip_unref);
}

static void
on_offer_created (GstPromise *promise, gpointer data)
{
  RcWhipHost *self = data;
  GstWebRTCSessionDescription *offer = NULL;
  char *error = rc_webrtc_promise_error (promise, "no offer");

  if (error == NULL)
    {
      gst_structure_get (gst_promise_get_reply (promise), "offer",
                         GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
      if (offer == NULL)
        error = g_strdup ("no offer");
    }
  if (error != NULL)
    post (self, job_fail, 0, error);
  else
    {
      /* Gathering starts now; the offer goes once it is complete. */
      g_signal_emit_by_name (self->webrtc, "set-local-description", offer,
                             promise_new (self, on_description_set));
      gst_webrtc_session_description_free (offer);
    }
  gst_promise_unref (promise);
}

static gboolean
job_create_offer (gpointer data)
{
  RcWhipHost *self = ((Job *) data)->whip;

  if (self->offer_requested)
    return G_SOURCE_REMOVE;
  self->offer_requested = TRUE;
  g_signal_emit_by_name (self->webrtc, "create-offer", NULL, promise_new (self, on_offer_created));
  return G_SOURCE_REMOVE;
}

/* libdatachannel's layout: one session-level fingerprint and ice-options,
 * a=group:LS; without candidates when OBS 30.2+ is played. */
static char *
shape_offer (RcWhipHost *self, const GstSDPMessage *gathered)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  const char *fingerprint = NULL;
  g_autoptr (GString) mids = g_string_new (NULL);

  gst_sdp_message_copy (gathered, &sdp);
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      if (fingerprint == NULL)
        fingerprint = gst_sdp_media_get_attribute_val (media, "fingerprint");
      g_string_append_printf (mids, " %s", gst_sdp_media_get_attribute_val (media, "mid"));
    }
  if (self->forge_fingerprint)
    {
      g_autoptr (GString) forged = g_string_new ("sha-256 ");

      for (int i = 0; i < 32; i++)
        g_string_append_printf (forged, "%s%02X", i > 0 ? ":" : "", g_random_int_range (0, 256));
      gst_sdp_message_add_attribute (sdp, "fingerprint", forged->str);
    }
  else if (fingerprint != NULL)
    gst_sdp_message_add_attribute (sdp, "fingerprint", fingerprint);
  gst_sdp_message_add_attribute (sdp, "ice-options", "ice2,trickle");
  {
    g_autofree char *ls = g_strdup_printf ("LS%s", mids->str);
    gst_sdp_message_add_attribute (sdp, "group", ls);
    gst_sdp_message_add_attribute (sdp, "msid-semantic", "WMS *");
  }
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      for (guint i = gst_sdp_media_attributes_len (media); i > 0; i--)
        {
          const char *key = gst_sdp_media_get_attribute (media, i - 1)->key;

          if (g_str_equal (key, "fingerprint") || g_str_equal (key, "ice-options")
              || (self->strip_candidates
                  && (g_str_equal (key, "candidate") || g_str_equal (key, "end-of-candidates"))))
            gst_sdp_media_remove_attribute (media, i - 1);
        }
      if (self->strip_candidates)
        {
          gst_sdp_media_set_port_info (media, 9, 0);
          while (gst_sdp_media_connections_len (media) > 0)
            gst_sdp_media_remove_connection (media, 0);
          gst_sdp_media_add_connection (media, "IN", "IP4", "0.0.0.0", 0, 0);
        }
    }
  return gst_sdp_message_as_text (sdp);
}

static void
on_posted (GObject *source, GAsyncResult *result, gpointer data)
{
  RcWhipHost *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);
  g_autoptr (GstSDPMessage) sdp = NULL;
  GstWebRTCSessionDescription *answer;

  if (self->disposed)
    {
      whip_unref (self);
      return;
    }
  if (body == NULL)
    {
      fail (self, error->message);
      self->status = 1; /* answered, by a failure */
      whip_unref (self);
      return;
    }
  self->status = soup_message_get_status (msg);
  self->answer = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  self->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  self->location = g_strdup (soup_message_headers_get_one (self->headers, "Location"));
  if (self->status == SOUP_STATUS_CREATED)
    {
      if (gst_sdp_message_new_from_text (self->answer, &sdp) != GST_SDP_OK)
        fail (self, "the answer is not SDP");
      else
        {
          answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER,
                                                       g_steal_pointer (&sdp));
          g_signal_emit_by_name (self->webrtc, "set-remote-description", answer,
                                 promise_new (self, on_description_set));
          gst_webrtc_session_description_free (answer);
        }
    }
  whip_unref (self);
}

static void
send_offer (RcWhipHost *self)
{
  GstWebRTCSessionDescription *local = NULL;
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) bytes = NULL;

  if (self->posted)
    return;
  g_object_get (self->webrtc, "local-description", &local, NULL);
  if (local == NULL)
    return;
  self->posted = TRUE;
  self->offer = shape_offer (self, local->sdp);
  gst_webrtc_session_description_free (local);
  url = g_strdup_printf ("%s/whip/%s", self->base_url, self->room_id);
  msg = soup_message_new ("POST", url);
  bytes = g_bytes_new (self->offer, strlen (self->offer));
  soup_message_set_request_body_from_bytes (msg, "application/sdp", bytes);
  if (self->key != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", self->key);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  soup_session_send_and_read_async (self->http, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_posted, whip_ref (self));
}

static gboolean
job_gathering (gpointer data)
{
  Job *job = data;

  if (job->number == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    send_offer (job->whip);
  return G_SOURCE_REMOVE;
}

static gboolean
job_connection (gpointer data)
{
  Job *job = data;

  if (job->number == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
    job->whip->connected = TRUE;
  else if (job->number == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    fail (job->whip, "the connection failed");
  return G_SOURCE_REMOVE;
}

static void
on_gathering_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  post (data, job_gathering, state, NULL);
}

static void
on_connection_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  post (data, job_connection, state, NULL);
}

/* Streaming thread: the first Opus packet reached webrtcbin; its caps are
 * known, the offer can be made. */
static GstPadProbeReturn
on_first_audio (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  post (data, job_create_offer, 0, NULL);
  return GST_PAD_PROBE_REMOVE;
}

static GstElement *
make_branch (const char *description)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description (description, TRUE, &error);

  g_assert_no_error (error);
  return bin;
}

static void
link_to_webrtc (RcWhipHost *self, GstElement *branch, const char *caps_text)
{
  g_autoptr (GstPad) src = gst_element_get_static_pad (branch, "src");
  g_autoptr (GstPad) sink = gst_element_request_pad_simple (self->webrtc, "sink_%u");
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GstCaps) caps = gst_caps_from_string (caps_text);

  g_object_get (sink, "transceiver", &transceiver, NULL);
  g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                "codec-preferences", caps, NULL);
  g_assert_cmpint (gst_pad_link (src, sink), ==, GST_PAD_LINK_OK);
}

static void
add_video (RcWhipHost *self, gboolean send_video)
{
  if (send_video)
    {
      GstElement *video = make_branch (
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=10/1 "
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 bitrate=100 "
        "! video/x-h264,profile=constrained-baseline ! rtph264pay pt=96 config-interval=-1");

      gst_bin_add (GST_BIN (self->pipeline), video);
      link_to_webrtc (self, video, H264_CAPS);
    }
  else
    {
      g_autoptr (GstCaps) caps = gst_caps_from_string (H264_CAPS);
      g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;

      g_signal_emit_by_name (self->webrtc, "add-transceiver",
                             GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, caps, &transceiver);
    }
}

RcWhipHost *
rc_whip_host_new (const RcWhipHostOptions *options)
{
  RcWhipHost *self = g_new0 (RcWhipHost, 1);
  g_autofree char *audio_text = NULL;
  GstElement *audio;
  g_autoptr (GstElement) pay = NULL;
  g_autoptr (GstPad) pay_src = NULL;

  self->ref_count = 1;
  self->base_url = g_strdup (options->base_url);
  self->room_id = g_strdup (options->room_id);
  self->key = g_strdup (options->key);
  self->strip_candidates = options->strip_candidates;
  self->forge_fingerprint = options->forge_fingerprint;
  self->context = g_main_context_ref_thread_default ();
  self->http = soup_session_new ();
  self->cancellable = g_cancellable_new ();

  self->pipeline = gst_pipeline_new ("whip-host");
  self->webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  g_assert_nonnull (self->webrtc);
  gst_object_ref (self->webrtc);
  g_object_set (self->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  rc_webrtc_setup_ice (self->webrtc, TRUE);
  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);

  if (options->video_first)
    add_video (self, options->send_video);
  if (options->bursts != NULL)
    {
      g_autoptr (GstClock) clock = gst_system_clock_obtain ();

      gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), clock);
      audio_text = g_strdup ("audiotestsrc name=tone is-live=true wave=silence "
                             "samplesperbuffer=960 "
                             "! audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2 "
                             "! audioconvert ! audioresample "
                             "! audio/x-raw,rate=48000,channels=2 "
                             "! opusenc bitrate=96000 frame-size=20 "
                             "! rtpopuspay name=pay pt=111");
    }
  else
    audio_text = g_strdup_printf ("audiotestsrc is-live=true wave=sine volume=0.4 freq=%g "
                                  "samplesperbuffer=960 ! audioconvert ! audioresample "
                                  "! audio/x-raw,rate=48000,channels=2 "
                                  "! opusenc bitrate=96000 frame-size=20 "
                                  "! rtpopuspay name=pay pt=111",
                                  options->freq);
  audio = make_branch (audio_text);
  gst_bin_add (GST_BIN (self->pipeline), audio);
  if (options->bursts != NULL)
    {
      g_autoptr (GstElement) tone = gst_bin_get_by_name (GST_BIN (audio), "tone");
      g_autoptr (GstPad) tone_src = gst_element_get_static_pad (tone, "src");

      rc_bursts_attach (tone_src, options->bursts);
    }
  link_to_webrtc (self, audio, OPUS_CAPS);
  pay = gst_bin_get_by_name (GST_BIN (audio), "pay");
  pay_src = gst_element_get_static_pad (pay, "src");
  gst_pad_add_probe (pay_src, GST_PAD_PROBE_TYPE_BUFFER, on_first_audio, whip_ref (self),
                     (GDestroyNotify) whip_unref);

  if (!options->video_first)
    add_video (self, options->send_video);

  g_signal_connect_data (self->webrtc, "notify::ice-gathering-state",
                         G_CALLBACK (on_gathering_state), whip_ref (self), whip_unref_closure, 0);
  g_signal_connect_data (self->webrtc, "notify::connection-state",
                         G_CALLBACK (on_connection_state), whip_ref (self), whip_unref_closure, 0);
  g_assert_cmpint (gst_element_set_state (self->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  return self;
}

void
rc_whip_host_kill (RcWhipHost *self)
{
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
}

void
rc_whip_host_free (RcWhipHost *self)
{
  if (self == NULL)
    return;
  self->disposed = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_signal_handlers_disconnect_by_data (self->webrtc, self);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  gst_clear_object (&self->pipeline);
  g_clear_object (&self->http);
  g_clear_object (&self->cancellable);
  whip_unref (self);
}

guint
rc_whip_host_wait_answer (RcWhipHost *self, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  /* The answer arrives on the host's main context: spin it. */
  while (self->status == 0 && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (self->context, FALSE))
      g_usleep (1000);
  return self->status;
}

GstClockTime
rc_whip_host_get_base_time (RcWhipHost *self)
{
  if (self->pipeline == NULL || GST_STATE (self->pipeline) != GST_STATE_PLAYING)
    return GST_CLOCK_TIME_NONE;
  return gst_element_get_base_time (self->pipeline);
}

guint
rc_whip_host_get_status (RcWhipHost *self)
{
  return self->status;
}

const char *
rc_whip_host_get_offer (RcWhipHost *self)
{
  return self->offer;
}

const char *
rc_whip_host_get_answer (RcWhipHost *self)
{
  return self->answer;
}

const char *
rc_whip_host_get_location (RcWhipHost *self)
{
  return self->location;
}

SoupMessageHeaders *
rc_whip_host_get_headers (RcWhipHost *self)
{
  return self->headers;
}

gboolean
rc_whip_host_is_connected (RcWhipHost *self)
{
  return self->connected;
}

const char *
rc_whip_host_get_failure (RcWhipHost *self)
{
  return self->failure;
}

guint
rc_whip_host_delete (RcWhipHost *self, char **body_out)
{
  g_assert_nonnull (self->location);
  return rc_whip_host_request (self->base_url, "DELETE", self->location, NULL, NULL, self->key,
                               NULL, body_out);
}

guint
rc_whip_host_request (const char *base_url, const char *method, const char *path,
                      const char *content_type, const char *body, const char *bearer,
                      SoupMessageHeaders **headers, char **body_out)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, content_type, bytes);
    }
  if (bearer != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", bearer);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  if (headers != NULL)
    *headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  if (body_out != NULL)
    *body_out = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  return soup_message_get_status (msg);
}

/* SPDX-License-Identifier: MIT */
/*
 * A live host's audio over WebRTC, into the room's mixer. Why it is built
 * this way:
 *
 * - One recvonly webrtcbin per host inside the room's pipeline, decoded to
 *   the mixer's format and mixed in by rc_room_pipeline_add_input, which
 *   places it by how late its first buffer comes out of the jitter buffer
 *   (so the mixer's deadline never moves for it).
 * - The offer is checked and normalised at the edge (rc_whip_ingest_parse_offer):
 *   webrtcbin 1.22 only reads a=setup in the media section, refuses an SDP
 *   with both a session and a media fingerprint, and compares media-level
 *   ICE credentials inside a bundle, while OBS (libdatachannel) and browsers
 *   spread these between the levels.
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
 *   the one its offer named, checked when dtlsdec reports it; until then no
 *   RTP goes past webrtcbin.
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
 * threads; they only queue an event (holding a reference) for the main
 * context, where all state lives and callbacks run, never synchronously.
 * The receive figures are under a mutex.
 */
#define GST_USE_UNSTABLE_API
#include "pipelines/rc_whip_ingest.h"
#include "pipelines/rc_contained_bin.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_util.h"

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
#define MAX_SECTIONS 16

/* ---- the offer ---------------------------------------------------------- */

/* Port 0 rejects a section, unless it is bundle-only (RFC 8843: it rides
 * on the bundle's transport; webrtcbin offers every section but the first
 * that way with max-bundle). */
static gboolean
media_is_rejected (const GstSDPMedia *media)
{
  return gst_sdp_media_get_port (media) == 0
         && gst_sdp_media_get_attribute_val (media, "bundle-only") == NULL;
}

static gboolean
media_sends (const GstSDPMedia *media)
{
  return gst_sdp_media_get_attribute_val (media, "recvonly") == NULL
         && gst_sdp_media_get_attribute_val (media, "inactive") == NULL;
}

static gboolean
media_has_opus (const GstSDPMedia *media)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
      const char *name;

      /* "111 opus/48000/2" */
      if (g_strcmp0 (a->key, "rtpmap") != 0 || a->value == NULL
          || (name = strchr (a->value, ' ')) == NULL)
        continue;
      while (*name == ' ')
        name++;
      if (g_ascii_strncasecmp (name, "opus/48000", 10) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
media_is_dtls_srtp (const GstSDPMedia *media)
{
  const char *proto = gst_sdp_media_get_proto (media);

  return proto != NULL && strstr (proto, "SAVPF") != NULL && strstr (proto, "TLS") != NULL;
}

/* The section whose audio the ingest takes: the first one sending Opus
 * over DTLS-SRTP, or -1. */
static int
find_audio_section (const GstSDPMessage *sdp)
{
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") == 0 && !media_is_rejected (media)
          && media_sends (media) && media_has_opus (media) && media_is_dtls_srtp (media))
        return (int) m;
    }
  return -1;
}

/* Why no section can be taken, for the host. */
static void
explain_no_audio (const GstSDPMessage *sdp, GError **error)
{
  gboolean audio = FALSE, sending = FALSE, opus = FALSE;

  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") != 0 || media_is_rejected (media))
        continue;
      audio = TRUE;
      if (!media_sends (media))
        continue;
      sending = TRUE;
      if (media_has_opus (media))
        opus = TRUE;
    }
  g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_UNSUPPORTED_OFFER,
                       !audio     ? "The offer has no audio section; roomcast takes audio only"
                       : !sending ? "The offer's audio is not sent (recvonly or inactive)"
                       : !opus    ? "The offer's audio has no Opus at 48 kHz; choose Opus"
                                  : "The offer's audio is not DTLS-SRTP (UDP/TLS/RTP/SAVPF)");
}

static const char *
value_or_null (const char *value)
{
  return value != NULL && *value != '\0' ? value : NULL;
}

/* Every section gets @key's value: its own, else the session's. FALSE
 * (with the section's index) when neither has one. */
static gboolean
spread_attribute (GstSDPMessage *sdp, const char *key, guint *missing)
{
  const char *session = value_or_null (gst_sdp_message_get_attribute_val (sdp, key));

  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      if (value_or_null (gst_sdp_media_get_attribute_val (media, key)) != NULL)
        continue;
      if (session == NULL)
        {
          *missing = m;
          return FALSE;
        }
      gst_sdp_media_add_attribute (media, key, session);
    }
  return TRUE;
}

static void
remove_session_attribute (GstSDPMessage *sdp, const char *key)
{
  for (guint i = gst_sdp_message_attributes_len (sdp); i > 0; i--)
    if (g_strcmp0 (gst_sdp_message_get_attribute (sdp, i - 1)->key, key) == 0)
      gst_sdp_message_remove_attribute (sdp, i - 1);
}

static gboolean
bad_offer (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad_offer (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, text);
  return FALSE;
}

/* webrtcbin's requirements, checked here so that a bad offer gets a 400
 * with a reason instead of a refusal on webrtcbin's thread. */
static gboolean
check_sections (GstSDPMessage *sdp, GError **error)
{
  static const char *const setups[] = { "actpass", "active", "passive", NULL };
  static const char *const keys[] = { "ice-ufrag", "ice-pwd", "setup", "fingerprint" };
  const char *fingerprint = NULL;
  guint missing = 0;

  if (value_or_null (gst_sdp_message_get_key (sdp)->type) != NULL)
    return bad_offer (error, "The offer has a k= line");
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
      const char *fp = value_or_null (gst_sdp_media_get_attribute_val (media, "fingerprint"));

      if (value_or_null (gst_sdp_media_get_attribute_val (media, "mid")) == NULL)
        return bad_offer (error, "Section %u of the offer has no a=mid", m);
      if (fp != NULL && fingerprint != NULL && g_strcmp0 (fp, fingerprint) != 0)
        return bad_offer (error, "The offer's sections have different DTLS fingerprints");
      if (fp != NULL)
        fingerprint = fp;
    }
  /* A media fingerprint and a different session one: which is it? */
  if (fingerprint != NULL && gst_sdp_message_get_attribute_val (sdp, "fingerprint") != NULL
      && g_strcmp0 (fingerprint, gst_sdp_message_get_attribute_val (sdp, "fingerprint")) != 0)
    return bad_offer (error, "The offer's session and media DTLS fingerprints differ");
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    if (!spread_attribute (sdp, keys[k], &missing))
      return bad_offer (error, "Section %u of the offer has no a=%s", missing, keys[k]);
  /* Each section has its own now; a session one as well is refused by webrtcbin. */
  remove_session_attribute (sdp, "fingerprint");
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      if (!g_strv_contains (setups, gst_sdp_media_get_attribute_val (media, "setup")))
        return bad_offer (error, "Section %u of the offer has an unknown a=setup", m);
      if (!g_str_has_prefix (gst_sdp_media_get_attribute_val (media, "fingerprint"), "sha-"))
        return bad_offer (error, "Section %u of the offer has no usable DTLS fingerprint", m);
    }
  return TRUE;
}

GstSDPMessage *
rc_whip_ingest_parse_offer (const char *text, gsize length, GError **error)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  g_autofree char *copy = NULL;
  const char *start;

  if (length == 0)
    {
      bad_offer (error, "The body is empty; send the SDP offer");
      return NULL;
    }
  if (memchr (text, '\0', length) != NULL || !g_utf8_validate (text, (gssize) length, NULL))
    {
      bad_offer (error, "The body is not SDP text");
      return NULL;
    }
  copy = g_strndup (text, length);
  for (start = copy; g_ascii_isspace (*start); start++)
    ;
  if (!g_str_has_prefix (start, "v=0"))
    {
      bad_offer (error, "The body is not an SDP offer (it must begin with v=0)");
      return NULL;
    }
  if (gst_sdp_message_new_from_text (start, &sdp) != GST_SDP_OK || sdp == NULL)
    {
      bad_offer (error, "The offer is not valid SDP");
      return NULL;
    }
  if (gst_sdp_message_medias_len (sdp) == 0)
    {
      bad_offer (error, "The offer has no media section");
      return NULL;
    }
  if (gst_sdp_message_medias_len (sdp) > MAX_SECTIONS)
    {
      bad_offer (error, "The offer has more than %d media sections", MAX_SECTIONS);
      return NULL;
    }
  if (find_audio_section (sdp) < 0)
    {
      explain_no_audio (sdp, error);
      return NULL;
    }
  if (!check_sections (sdp, error))
    return NULL;
  return g_steal_pointer (&sdp);
}

/* ---- the ingest ---------------------------------------------------------- */

struct _RcWhipIngest
{
  gint ref_count; /* one for being alive, one per pending event, handler, promise */
  RcRoomPipeline *pipeline; /* borrowed: outlives the ingest */
  char *name;
  RcWhipIngestOptions options;
  RcWhipIngestCallbacks callbacks;
  gpointer user_data;
  GMainContext *context;
  RcWebrtcEvents events; /* queued to the main context, run by dispatch_event */

  GstElement *bin;    /* an RcContainedBin, in the pipeline until removed */
  gboolean in_pipeline;
  /* Strong: promise callbacks and pad-added may still use them on
   * webrtcbin's threads after the ingest is freed. */
  GstElement *webrtc;
  GstElement *depay; /* head of the decoding chain */
  GstSDPMessage *offer;
  guint audio_mline;
  char *fingerprint; /* the offer's, set before webrtcbin runs, then read-only */
  gint cert_ok;      /* atomic */
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
  gboolean disposed;
  gboolean ended;
  gboolean answer_sent;
  gboolean connected;
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

static RcWhipIngest *
ingest_ref (RcWhipIngest *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
ingest_unref (RcWhipIngest *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  GST_DEBUG ("host %s: ingest finalized", self->name);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  gst_clear_object (&self->webrtc);
  gst_clear_object (&self->depay);
  g_clear_pointer (&self->offer, gst_sdp_message_free);
  g_clear_pointer (&self->answer, gst_webrtc_session_description_free);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_free (self->fingerprint);
  g_free (self->name);
  g_free (self);
}

static void
ingest_unref_closure (gpointer data, GClosure *closure)
{
  ingest_unref (data);
}

static void post_failure (RcWhipIngest *self, int code, char *reason);

/* Any thread: an ERROR inside the ingest's bin ends the ingest. */
static void
on_bin_error (const char *what, gpointer data)
{
  post_failure (data, RC_MEDIA_ERROR_FAILED, g_strdup (what));
}

/* Events from webrtcbin's threads, run on the main context. */
typedef enum
{
  EV_CANDIDATE = RC_WEBRTC_EV_CANDIDATE,
  EV_GATHERING_STATE = RC_WEBRTC_EV_GATHERING_STATE,
  EV_CONNECTION_STATE = RC_WEBRTC_EV_CONNECTION_STATE,
  EV_ICE_STATE = RC_WEBRTC_EV_ICE_STATE,
  EV_ANSWER = RC_WEBRTC_EV_OWN,
  EV_FIRST_PACKET,
  EV_FAILED,
} EventKind;

/* Queues an event for the main context; never runs it right away. */
static void
post (RcWhipIngest *self, EventKind kind, guint number, char *text,
      GstWebRTCSessionDescription *answer)
{
  rc_webrtc_post (&self->events, kind, number, text, answer);
}

static void
post_failure (RcWhipIngest *self, int code, char *reason)
{
  post (self, EV_FAILED, (guint) code, reason, NULL);
}

/* Main context: it is over; tell the owner once. */
static void
end (RcWhipIngest *self, int code, const char *reason)
{
  g_autoptr (GError) error = NULL;

  if (self->disposed || self->ended)
    return;
  self->ended = TRUE;
  g_clear_pointer (&self->answer, gst_webrtc_session_description_free);
  GST_INFO_OBJECT (self->bin, "host %s: %s", self->name, reason);
  error = g_error_new_literal (RC_MEDIA_ERROR, code, reason);
  if (self->callbacks.ended != NULL)
    self->callbacks.ended (self, error, self->user_data);
}

static GstPromise *
promise_new (RcWhipIngest *self, GstPromiseChangeFunc func)
{
  return gst_promise_new_with_change_func (func, ingest_ref (self), (GDestroyNotify) ingest_unref);
}

static void
on_answer_created (GstPromise *promise, gpointer data)
{
  RcWhipIngest *self = data;
  GstWebRTCSessionDescription *answer = NULL;
  char *error = rc_webrtc_promise_error (promise, "could not answer the offer");

  if (error == NULL)
    {
      gst_structure_get (gst_promise_get_reply (promise), "answer",
                         GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
      if (answer == NULL)
        error = g_strdup ("could not answer the offer: webrtcbin gave no answer");
    }
  if (error != NULL)
    post_failure (self, RC_MEDIA_ERROR_INVALID, error);
  else
    post (self, EV_ANSWER, 0, NULL, answer);
  gst_promise_unref (promise);
}

/* webrtcbin's thread: the offer is in; answer it from here (it queues). */
static void
on_offer_set (GstPromise *promise, gpointer data)
{
  RcWhipIngest *self = data;
  char *error = rc_webrtc_promise_error (promise, "the offer was refused");

  if (error != NULL)
    post_failure (self, RC_MEDIA_ERROR_INVALID, error);
  else
    g_signal_emit_by_name (self->webrtc, "create-answer", NULL,
                           promise_new (self, on_answer_created));
  gst_promise_unref (promise);
}

static void
on_answer_set (GstPromise *promise, gpointer data)
{
  char *error = rc_webrtc_promise_error (promise, "our answer was refused");

  if (error != NULL)
    post_failure (data, RC_MEDIA_ERROR_FAILED, error);
  gst_promise_unref (promise);
}

/* Does the answer take the host's audio (recvonly, not rejected)? */
static gboolean
answer_takes_audio (RcWhipIngest *self, const GstSDPMessage *answer)
{
  const GstSDPMedia *media;

  if (self->audio_mline >= gst_sdp_message_medias_len (answer))
    return FALSE;
  media = gst_sdp_message_get_media (answer, self->audio_mline);
  return !media_is_rejected (media) && gst_sdp_media_get_attribute_val (media, "recvonly") != NULL;
}

static void
set_answer (RcWhipIngest *self, GstWebRTCSessionDescription *answer)
{
  if (!answer_takes_audio (self, answer->sdp))
    {
      end (self, RC_MEDIA_ERROR_UNSUPPORTED_OFFER, "The offer's Opus audio could not be accepted");
      return;
    }
  rc_sdp_set_opus_fmtp (answer->sdp, OPUS_ANSWER_FMTP);
  self->answer = gst_webrtc_session_description_copy (answer);
  self->answer_set_us = g_get_monotonic_time ();
  /* Gathering starts here; the answer goes out when it is complete. */
  g_signal_emit_by_name (self->webrtc, "set-local-description", answer,
                         promise_new (self, on_answer_set));
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
  remove_session_attribute (sdp, "ice-options");
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      for (guint i = gst_sdp_media_attributes_len (media); i > 0; i--)
        if (g_strcmp0 (gst_sdp_media_get_attribute (media, i - 1)->key, "ice-options") == 0)
          gst_sdp_media_remove_attribute (media, i - 1);
    }
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
add_candidate (RcWhipIngest *self, guint mline, const char *candidate)
{
  g_autofree char *line = NULL;

  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  if (!g_str_has_prefix (candidate, "candidate:") || self->answer_sent)
    return; /* late ones cannot reach a host that does not trickle */
  line = g_strdup_printf ("%u %s", mline, candidate);
  for (guint i = 0; i < self->candidates->len; i++)
    if (g_str_equal (self->candidates->pdata[i], line))
      return;
  g_ptr_array_add (self->candidates, g_steal_pointer (&line));
}

static void
connection_state_changed (RcWhipIngest *self, GstWebRTCPeerConnectionState state)
{
  GST_INFO_OBJECT (self->bin, "host %s: connection state %d", self->name, state);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
    self->connected = TRUE;
  else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    end (self, RC_MEDIA_ERROR_FAILED, "The connection failed (ICE or DTLS)");
}

static void
dispatch_event (gpointer owner, const RcWebrtcEvent *ev)
{
  RcWhipIngest *self = owner;

  if (self->disposed || self->ended)
    return;
  switch ((EventKind) ev->kind)
    {
    case EV_ANSWER:
      set_answer (self, ev->sdp);
      break;
    case EV_CANDIDATE:
      add_candidate (self, ev->number, ev->text);
      break;
    case EV_GATHERING_STATE:
      /* Candidates were queued before this, on the same thread. */
      if (ev->number == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && self->candidates->len > 0)
        send_answer (self);
      break;
    case EV_CONNECTION_STATE:
      connection_state_changed (self, ev->number);
      break;
    case EV_ICE_STATE:
      if (ev->number == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
        end (self, RC_MEDIA_ERROR_FAILED, "ICE failed");
      break;
    case EV_FIRST_PACKET:
      if (!self->live)
        {
          self->live = TRUE;
          GST_INFO_OBJECT (self->bin, "host %s: audio arrives", self->name);
          if (self->callbacks.live != NULL)
            self->callbacks.live (self, self->user_data);
        }
      break;
    case EV_FAILED:
      end (self, (int) ev->number, ev->text);
      break;
    }
}


/* DTLS thread, during the handshake: the host showed its certificate. */
static void
on_peer_certificate (GstObject *webrtc, GstObject *origin, GParamSpec *pspec, gpointer data)
{
  RcWhipIngest *self = data;
  g_autofree char *pem = NULL;

  g_object_get (origin, "peer-pem", &pem, NULL);
  if (pem != NULL && rc_sdp_fingerprint_matches (self->fingerprint, pem))
    {
      g_atomic_int_set (&self->cert_ok, 1);
      return;
    }
  g_atomic_int_set (&self->cert_ok, 0);
  post_failure (self, RC_MEDIA_ERROR_FAILED,
                g_strdup ("The host's DTLS certificate is not the one its offer named"));
}

static void
note_packet (RcWhipIngest *self, GstBuffer *buffer, gint64 now)
{
  g_mutex_lock (&self->lock);
  self->packets++;
  self->bytes += gst_buffer_get_size (buffer);
  self->last_packet_us = now;
  g_mutex_unlock (&self->lock);
}

/* Streaming thread: the host's RTP, out of webrtcbin's jitter buffer.
 * Nothing passes before its certificate has been checked. */
static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RcWhipIngest *self = data;
  gint64 now = g_get_monotonic_time ();

  if (!g_atomic_int_get (&self->cert_ok))
    return GST_PAD_PROBE_DROP;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    note_packet (self, GST_PAD_PROBE_INFO_BUFFER (info), now);
  else
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        note_packet (self, gst_buffer_list_get (list, i), now);
    }
  if (!g_atomic_int_get (&self->first_packet)
      && g_atomic_int_compare_and_exchange (&self->first_packet, 0, 1))
    post (self, EV_FIRST_PACKET, 0, NULL, NULL);
  return GST_PAD_PROBE_OK;
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
  self->rtp_probe = gst_pad_add_probe (pad,
                                       GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                       on_rtp, ingest_ref (self), (GDestroyNotify) ingest_unref);
  g_mutex_unlock (&self->lock);
  if (gst_pad_link (pad, depay_sink) != GST_PAD_LINK_OK)
    post_failure (self, RC_MEDIA_ERROR_FAILED,
                  g_strdup ("could not link the host's audio to its decoder"));
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
  RcWhipIngest *self = data;
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
  gst_promise_unref (promise);
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
  if (self->connected)
    g_signal_emit_by_name (self->webrtc, "get-stats", NULL, promise_new (self, on_stats));
}

/* Main context, every WATCHDOG_MS: gathering, silence and the figures. */
static gboolean
on_watchdog (gpointer data)
{
  RcWhipIngest *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 last;

  if (self->disposed || self->ended)
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

  self->webrtc = gst_element_factory_make ("webrtcbin", "webrtcbin");
  self->depay = gst_element_factory_make ("rtpopusdepay", "depay");
  if (self->webrtc != NULL)
    gst_object_ref_sink (self->webrtc);
  if (self->depay != NULL)
    gst_object_ref_sink (self->depay);
  decoder = gst_element_factory_make ("opusdec", "decoder");
  convert = gst_element_factory_make ("audioconvert", NULL);
  resample = gst_element_factory_make ("audioresample", NULL);
  filter = gst_element_factory_make ("capsfilter", NULL);
  volume = gst_element_factory_make ("volume", "volume");
  if (self->webrtc == NULL || self->depay == NULL || decoder == NULL || convert == NULL
      || resample == NULL || filter == NULL || volume == NULL)
    {
      GstElement *all[] = { decoder, convert, resample, filter, volume };

      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        if (all[i] != NULL)
          gst_object_unref (gst_object_ref_sink (all[i]));
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "webrtcbin or the Opus elements are missing");
      return FALSE;
    }
  bin_name = g_strdup_printf ("ingest-%s-%d", self->name, g_atomic_int_add (&serial, 1));
  self->bin = gst_object_ref_sink (rc_contained_bin_new (bin_name));
  rc_contained_bin_set_handler (self->bin, on_bin_error, self);

  g_object_set (self->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
                self->options.latency_ms, NULL);
  rc_webrtc_setup_ice (self->webrtc, FALSE);
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

  rc_webrtc_forward_signals (self->webrtc, &self->events);
  g_signal_connect_data (self->webrtc, "pad-added", G_CALLBACK (on_pad_added), ingest_ref (self),
                         ingest_unref_closure, 0);
  /* dtlsdec's notify::peer-pem, seen from the top of its hierarchy. */
  g_signal_connect_data (self->webrtc, "deep-notify::peer-pem", G_CALLBACK (on_peer_certificate),
                         ingest_ref (self), ingest_unref_closure, 0);
  return TRUE;
}

RcWhipIngest *
rc_whip_ingest_new (RcRoomPipeline *pipeline, const char *name, GstSDPMessage *offer,
               const RcWhipIngestOptions *options, const RcWhipIngestCallbacks *callbacks,
               gpointer user_data, GError **error)
{
  RcWhipIngest *self = g_new0 (RcWhipIngest, 1);
  int audio = find_audio_section (offer);
  GstWebRTCSessionDescription *description;

  if (rc_whip_ingest_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (rc_whip_ingest_debug, "rc-ingest", 0, "live host ingest");
  self->ref_count = 1;
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
  self->events = (RcWebrtcEvents) { self->context, self, (gpointer (*) (gpointer)) ingest_ref,
                                    (void (*) (gpointer)) ingest_unref, dispatch_event };
  self->candidates = g_ptr_array_new_with_free_func (g_free);
  self->created_us = g_get_monotonic_time ();
  g_mutex_init (&self->lock);

  if (audio < 0)
    {
      explain_no_audio (offer, error);
      rc_whip_ingest_free (self);
      return NULL;
    }
  self->audio_mline = (guint) audio;
  self->fingerprint = g_strdup (
    gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (offer, self->audio_mline),
                                     "fingerprint"));
  if (!build (self, error))
    {
      rc_whip_ingest_free (self);
      return NULL;
    }
  /* In order, the jitter buffer lets a packet through as it arrives; it
   * waits its latency only for a missing one. The same latency is the
   * host's lead at the mixer: a packet that much later than the earliest
   * (plus the mixer's own latency) is still mixed. */
  if (!rc_room_pipeline_add_input (pipeline, self->bin,
                                   self->options.latency_ms * GST_MSECOND))
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

  {
    GstSDPMessage *copy = NULL;

    gst_sdp_message_copy (offer, &copy);
    description = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, copy);
  }
  g_signal_emit_by_name (self->webrtc, "set-remote-description", description,
                         promise_new (self, on_offer_set));
  gst_webrtc_session_description_free (description);
  GST_INFO_OBJECT (self->bin, "host %s: ingest added, answering", name);
  return self;
}

void
rc_whip_ingest_free (RcWhipIngest *self)
{
  if (self == NULL)
    return;
  self->disposed = TRUE;
  if (self->watchdog != NULL)
    {
      g_source_destroy (self->watchdog);
      g_clear_pointer (&self->watchdog, g_source_unref);
    }
  if (self->webrtc != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->webrtc, self);
      rc_webrtc_stop_forwarding (self->webrtc, &self->events);
    }
  {
    GstPad *pad;
    gulong probe;

    /* The probe's reference would keep the ingest, and so webrtcbin, alive. */
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
  if (self->bin != NULL)
    {
      rc_contained_bin_set_handler (self->bin, NULL, NULL);
      /* Unlinks in an IDLE probe and stops the bin later, on the main context. */
      if (self->in_pipeline)
        rc_room_pipeline_remove_input (self->pipeline, self->bin);
      gst_clear_object (&self->bin);
    }
  ingest_unref (self);
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
  stats->connected = self->connected;
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

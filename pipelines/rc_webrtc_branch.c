/* SPDX-License-Identifier: MIT */
/*
 * One guest's WebRTC audio: a bin (leaky queue ─ webrtcbin) on the room
 * pipeline's RTP tee. Why it is built this way:
 *
 * - The room encodes and payloads once; a guest costs a queue and a
 *   webrtcbin. The queue is leaky (200 ms, no buffer or byte limit) because
 *   webrtcbin holds its sink pad blocked until it has negotiated and DTLS is
 *   up: the guest's own thread waits, the tee and the other guests never do.
 * - The offer is made once the first RTP buffer has reached webrtcbin, so
 *   the payload type, ssrc and `sprop-stereo` come from the room's
 *   payloader caps. webrtcbin leaves `stereo=1` out of the Opus fmtp, so
 *   the SDP is edited before it is set as the local description.
 * - One DTLS certificate for the whole process: the dtls elements of
 *   GStreamer 1.22 generate one key pair (RSA 2048) per process and hand it
 *   to every dtlssrtpdec that is given no `pem`, and webrtcbin gives none.
 *   So the first offer of the process waits for that key (a few hundred ms,
 *   on webrtcbin's thread) and every later one reuses it; nothing here may
 *   set a certificate, or each guest would pay for a key of its own.
 * - Candidates: no STUN; host candidates on every local address, loopback
 *   included (rc_webrtc_util.c says why). UDP only.
 * - The guest's DTLS certificate must be the one its answer named.
 *   webrtcbin 1.22 does not check it (any certificate completes the
 *   handshake), so the peer (rc_webrtc_peer.c) does, and no RTP enters
 *   webrtcbin before it has passed; a mismatch is a `failed`.
 * - A guest's failure stays the guest's: an ERROR inside the branch is
 *   caught by RcBranchBin and becomes this branch's `failed`, never a
 *   pipeline error (a GstBin treats a child's ERROR as a failure of any
 *   state change in progress).
 *
 * Ordering rule: webrtcbin's signals, promises and pad probes arrive on
 * streaming threads. They only queue an event for the main context through
 * the RcWebrtcPeer, where all state below lives, and it is never run
 * synchronously, so no callback fires from inside a call into this API.
 */
#define GST_USE_UNSTABLE_API
#include "pipelines/rc_webrtc_branch.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_peer.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

GST_DEBUG_CATEGORY_STATIC (rc_webrtc_branch_debug);
#define GST_CAT_DEFAULT rc_webrtc_branch_debug

/* What webrtcbin must offer: Opus, 48 kHz, two channels. The payload type
 * comes from the payloader's caps. */
#define OPUS_PREFERENCES                                                                          \
  "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,encoding-params=(string)2"
#define OPUS_OFFER_FMTP "stereo=1;sprop-stereo=1"
#define QUEUE_TIME (200 * GST_MSECOND)
/* A guest who has not connected by then never will. */
#define SETUP_TIMEOUT_S 30

struct _RcWebrtcBranch
{
  RcRoomPipeline *pipeline; /* borrowed: outlives the branch */
  char *name;
  RcWebrtcBranchCallbacks callbacks;
  gpointer user_data;
  GMainContext *context;
  RcWebrtcPeer *peer; /* its webrtcbin inside bin; frees the branch last */

  GstElement *bin;    /* RcBranchBin, in the pipeline until removed */
  GstElement *webrtc; /* the peer's */
  GSource *setup_timeout;
  gint saw_buffer;      /* atomic */
  guint64 packets_sent; /* atomic (__atomic): RTP packets let into webrtcbin */
  guint64 bytes_sent;   /* atomic: their bytes */

  /* main context only */
  gboolean offer_requested;
  gboolean offer_sent;
  gboolean answer_given;
};

/* With the peer's last reference, or at once if there is no peer. */
static void
branch_finalize (gpointer data)
{
  RcWebrtcBranch *self = data;

  g_main_context_unref (self->context);
  g_free (self->name);
  g_free (self);
}

/*
 * RcBranchBin: catches ERROR messages from the guest's elements (DTLS,
 * ICE, SRTP) and turns them into the branch's `failed`, so that one guest's
 * broken connection is never an error of the room pipeline.
 */
#define RC_TYPE_BRANCH_BIN (rc_branch_bin_get_type ())
G_DECLARE_FINAL_TYPE (RcBranchBin, rc_branch_bin, RC, BRANCH_BIN, GstBin)

struct _RcBranchBin
{
  GstBin parent;
  GMutex lock;
  RcWebrtcBranch *owner; /* protected by lock; cleared when the branch is freed */
};

G_DEFINE_FINAL_TYPE (RcBranchBin, rc_branch_bin, GST_TYPE_BIN)

static void
rc_branch_bin_handle_message (GstBin *bin, GstMessage *message)
{
  RcBranchBin *self = RC_BRANCH_BIN (bin);

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      g_autofree char *reason = NULL;

      gst_message_parse_error (message, &error, &debug);
      GST_WARNING_OBJECT (bin, "%s: %s (%s)", GST_MESSAGE_SRC_NAME (message), error->message,
                          debug);
      reason = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (message), error->message);
      g_mutex_lock (&self->lock);
      if (self->owner != NULL)
        rc_webrtc_peer_fail (self->owner->peer, RC_MEDIA_ERROR_FAILED, reason);
      g_mutex_unlock (&self->lock);
      gst_message_unref (message);
      return;
    }
  GST_BIN_CLASS (rc_branch_bin_parent_class)->handle_message (bin, message);
}

static void
rc_branch_bin_finalize (GObject *object)
{
  g_mutex_clear (&RC_BRANCH_BIN (object)->lock);
  G_OBJECT_CLASS (rc_branch_bin_parent_class)->finalize (object);
}

static void
rc_branch_bin_class_init (RcBranchBinClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rc_branch_bin_finalize;
  GST_BIN_CLASS (klass)->handle_message = rc_branch_bin_handle_message;
}

static void
rc_branch_bin_init (RcBranchBin *self)
{
  g_mutex_init (&self->lock);
}

/* The branch's own event, from the RTP probe. */
#define EV_FIRST_BUFFER 1

static void
cancel_setup_timeout (RcWebrtcBranch *self)
{
  if (self->setup_timeout == NULL)
    return;
  g_source_destroy (self->setup_timeout);
  g_clear_pointer (&self->setup_timeout, g_source_unref);
}

/* Main context, once: the branch is dead; tell the owner. */
static void
on_failed (RcWebrtcPeer *peer, int code, const char *reason, gpointer data)
{
  RcWebrtcBranch *self = data;

  GST_WARNING_OBJECT (self->bin, "guest %s: media failed: %s", self->name, reason);
  if (self->callbacks.failed != NULL)
    self->callbacks.failed (self, reason, self->user_data);
}

static void
on_first_buffer (RcWebrtcPeer *peer, guint kind, gpointer data)
{
  RcWebrtcBranch *self = data;

  if (self->offer_requested)
    return;
  self->offer_requested = TRUE;
  rc_webrtc_peer_create_offer (peer);
}

static void
on_offer (RcWebrtcPeer *peer, GstWebRTCSessionDescription *offer, const char *text,
          gpointer data)
{
  RcWebrtcBranch *self = data;

  self->offer_sent = TRUE;
  GST_DEBUG_OBJECT (self->bin, "guest %s: offer\n%s", self->name, text);
  if (self->callbacks.offer != NULL)
    self->callbacks.offer (self, text, self->user_data);
}

static void
on_candidate (RcWebrtcPeer *peer, guint mline, const char *candidate, gpointer data)
{
  RcWebrtcBranch *self = data;

  GST_LOG_OBJECT (self->bin, "guest %s: local candidate %s", self->name, candidate);
  if (self->callbacks.ice != NULL)
    self->callbacks.ice (self, mline, candidate, self->user_data);
}

static void
on_connected (RcWebrtcPeer *peer, gpointer data)
{
  RcWebrtcBranch *self = data;

  GST_INFO_OBJECT (self->bin, "guest %s: connected", self->name);
  cancel_setup_timeout (self);
}

static const RcWebrtcPeerCallbacks peer_callbacks = { on_offer, on_candidate, NULL, on_connected,
                                                      on_failed, on_first_buffer };

/* Streaming thread, every RTP packet on its way into webrtcbin. The first
 * one comes after the caps: the offer can be made from what the payloader
 * really sends. None goes in before the guest's certificate is checked. */
static gboolean
on_packet (GstBuffer *packet, gint64 arrival_us, gpointer data)
{
  RcWebrtcBranch *self = data;

  if (!g_atomic_int_get (&self->saw_buffer)
      && g_atomic_int_compare_and_exchange (&self->saw_buffer, 0, 1))
    rc_webrtc_peer_post (self->peer, EV_FIRST_BUFFER);
  if (!rc_webrtc_peer_certificate_ok (self->peer))
    return FALSE;
  __atomic_fetch_add (&self->packets_sent, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&self->bytes_sent, gst_buffer_get_size (packet), __ATOMIC_RELAXED);
  return TRUE;
}

guint64
rc_webrtc_branch_get_sent (RcWebrtcBranch *branch, guint64 *bytes)
{
  *bytes = __atomic_load_n (&branch->bytes_sent, __ATOMIC_RELAXED);
  return __atomic_load_n (&branch->packets_sent, __ATOMIC_RELAXED);
}

static gboolean
on_setup_timeout (gpointer data)
{
  RcWebrtcBranch *self = data;

  g_clear_pointer (&self->setup_timeout, g_source_unref);
  rc_webrtc_peer_fail (self->peer, RC_MEDIA_ERROR_FAILED,
                       "not connected after " G_STRINGIFY (SETUP_TIMEOUT_S) " s");
  return G_SOURCE_REMOVE;
}

static gboolean
build (RcWebrtcBranch *self, GError **error)
{
  static gint serial;
  g_autofree char *bin_name = NULL;
  GstElement *queue;
  g_autoptr (GstPad) queue_src = NULL;
  g_autoptr (GstPad) queue_sink = NULL;
  g_autoptr (GstPad) webrtc_sink = NULL;
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GstCaps) preferences = gst_caps_from_string (OPUS_PREFERENCES);
  GstPad *ghost;
  const RcWebrtcPeerOptions options = { .opus_fmtp = OPUS_OFFER_FMTP };

  self->peer = rc_webrtc_peer_new (&options, &peer_callbacks, self, branch_finalize, error);
  if (self->peer == NULL)
    return FALSE;
  self->webrtc = rc_webrtc_peer_get_webrtcbin (self->peer);
  queue = gst_element_factory_make ("queue", "queue");
  /* A guest removed a moment ago may still be in the pipeline by its name. */
  bin_name = g_strdup_printf ("webrtc-%s-%d", self->name, g_atomic_int_add (&serial, 1));
  self->bin = gst_object_ref_sink (g_object_new (RC_TYPE_BRANCH_BIN, "name", bin_name, NULL));
  RC_BRANCH_BIN (self->bin)->owner = self;

  g_object_set (queue, "leaky", 2 /* downstream */, "max-size-time", QUEUE_TIME,
                "max-size-buffers", 0, "max-size-bytes", 0, NULL);
  gst_bin_add_many (GST_BIN (self->bin), queue, self->webrtc, NULL);

  webrtc_sink = gst_element_request_pad_simple (self->webrtc, "sink_%u");
  if (webrtc_sink == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "webrtcbin gave no sink pad (are the nice and dtls plugins there?)");
      return FALSE;
    }
  g_object_get (webrtc_sink, "transceiver", &transceiver, NULL);
  g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                "codec-preferences", preferences, NULL);
  queue_src = gst_element_get_static_pad (queue, "src");
  if (gst_pad_link (queue_src, webrtc_sink) != GST_PAD_LINK_OK)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "Could not link the queue to webrtcbin");
      return FALSE;
    }
  queue_sink = gst_element_get_static_pad (queue, "sink");
  ghost = gst_ghost_pad_new ("sink", queue_sink);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (self->bin, ghost);
  rc_webrtc_peer_add_rtp_probe (self->peer, queue_src, on_packet);
  return TRUE;
}

RcWebrtcBranch *
rc_webrtc_branch_new (RcRoomPipeline *pipeline, const char *name,
                      const RcWebrtcBranchCallbacks *callbacks, gpointer user_data,
                      GError **error)
{
  RcWebrtcBranch *self = g_new0 (RcWebrtcBranch, 1);

  if (rc_webrtc_branch_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (rc_webrtc_branch_debug, "rc-webrtc-branch", 0, "guest WebRTC");
  self->pipeline = pipeline;
  self->name = g_strdup (name);
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();

  if (!build (self, error))
    {
      rc_webrtc_branch_free (self);
      return NULL;
    }
  if (!rc_room_pipeline_add_branch (pipeline, self->bin))
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                   "Could not start the WebRTC branch of guest %s", name);
      rc_webrtc_branch_free (self);
      return NULL;
    }
  self->setup_timeout = g_timeout_source_new_seconds (SETUP_TIMEOUT_S);
  g_source_set_callback (self->setup_timeout, on_setup_timeout, self, NULL);
  g_source_attach (self->setup_timeout, self->context);
  GST_INFO_OBJECT (self->bin, "guest %s: WebRTC branch added", name);
  return self;
}

void
rc_webrtc_branch_free (RcWebrtcBranch *self)
{
  if (self == NULL)
    return;
  cancel_setup_timeout (self);
  if (self->bin != NULL)
    {
      RcBranchBin *bin = RC_BRANCH_BIN (self->bin);

      g_mutex_lock (&bin->lock);
      bin->owner = NULL;
      g_mutex_unlock (&bin->lock);
      /* Unlinks in an IDLE probe and stops the bin later, on the main context. */
      rc_room_pipeline_remove_branch (self->pipeline, self->bin);
      gst_clear_object (&self->bin);
    }
  rc_webrtc_peer_release (self->peer, self, branch_finalize);
}

gboolean
rc_webrtc_branch_set_answer (RcWebrtcBranch *self, const char *sdp, GError **error)
{
  g_autoptr (GstSDPMessage) message = NULL;

  if (!rc_sdp_check_answer_turn (self->offer_sent, self->answer_given, error))
    return FALSE;
  if (gst_sdp_message_new_from_text (sdp, &message) != GST_SDP_OK || message == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, "\"sdp\" is not SDP");
      return FALSE;
    }
  if (!rc_sdp_check_answer (message, 1, error))
    return FALSE;
  self->answer_given = TRUE;
  rc_webrtc_peer_expect_fingerprint (self->peer, rc_sdp_get_fingerprint (message));
  rc_webrtc_peer_set_remote (self->peer, GST_WEBRTC_SDP_TYPE_ANSWER, g_steal_pointer (&message));
  return TRUE;
}

gboolean
rc_webrtc_branch_add_ice (RcWebrtcBranch *self, guint mline_index, const char *candidate,
                          GError **error)
{
  const char *value;

  if (!rc_sdp_read_trickled (candidate, &value, error))
    return FALSE;
  if (value != NULL)
    rc_webrtc_peer_add_ice (self->peer, mline_index, value);
  return TRUE;
}

gboolean
rc_webrtc_branch_is_connected (RcWebrtcBranch *self)
{
  return rc_webrtc_peer_is_connected (self->peer);
}

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
 *   handshake), so the branch does, when dtlsdec reports it, and no RTP
 *   enters webrtcbin before it has passed; a mismatch is a `failed`.
 * - A guest's failure stays the guest's: an ERROR inside the branch is
 *   caught by RcBranchBin and becomes this branch's `failed`, never a
 *   pipeline error (a GstBin treats a child's ERROR as a failure of any
 *   state change in progress).
 *
 * Ordering rule: webrtcbin's signals, promises and pad probes arrive on
 * streaming threads. They only queue an event (holding a reference) for
 * the main context, where all state below lives, and it is never run
 * synchronously, so no callback fires from inside a call into this API.
 */
#define GST_USE_UNSTABLE_API
#include "pipelines/rc_webrtc_branch.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_util.h"

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
  gint ref_count; /* one for being alive, one per pending event, handler, promise */
  RcRoomPipeline *pipeline; /* borrowed: outlives the branch */
  char *name;
  RcWebrtcBranchCallbacks callbacks;
  gpointer user_data;
  GMainContext *context;
  RcWebrtcEvents events; /* queued to the main context, run by dispatch_event */

  GstElement *bin;    /* RcBranchBin, in the pipeline until removed */
  GstElement *webrtc; /* inside bin */
  GSource *setup_timeout;

  /* Media flows into webrtcbin only once the guest's DTLS certificate is
   * the one its answer named: webrtcbin 1.22 accepts any certificate. */
  GMutex lock;
  char *remote_fingerprint; /* protected by lock: the answer's a=fingerprint */
  gint cert_ok;             /* atomic */
  gint saw_buffer;          /* atomic */
  guint64 packets_sent;     /* atomic (__atomic): RTP packets let into webrtcbin */
  guint64 bytes_sent;       /* atomic: their bytes */

  /* main context only */
  gboolean disposed;
  gboolean offer_requested;
  gboolean offer_sent;
  gboolean answer_given;
  gboolean connected;
  gboolean failed;
};

static RcWebrtcBranch *
branch_ref (RcWebrtcBranch *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
branch_unref (RcWebrtcBranch *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_free (self->remote_fingerprint);
  g_free (self->name);
  g_free (self);
}

static void
branch_unref_closure (gpointer data, GClosure *closure)
{
  branch_unref (data);
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

static void post_failure (RcWebrtcBranch *self, const char *reason);

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
        post_failure (self->owner, reason);
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

/* Events from streaming threads, run on the main context. */
typedef enum
{
  EV_CANDIDATE = RC_WEBRTC_EV_CANDIDATE,
  EV_GATHERING_STATE = RC_WEBRTC_EV_GATHERING_STATE,
  EV_CONNECTION_STATE = RC_WEBRTC_EV_CONNECTION_STATE,
  EV_ICE_STATE = RC_WEBRTC_EV_ICE_STATE,
  EV_FIRST_BUFFER = RC_WEBRTC_EV_OWN,
  EV_OFFER,
  EV_FAILED,
} EventKind;

/* Queues an event for the main context; never runs it right away. */
static void
post (RcWebrtcBranch *self, EventKind kind, guint number, char *text,
      GstWebRTCSessionDescription *offer)
{
  rc_webrtc_post (&self->events, kind, number, text, offer);
}

static void
post_failure (RcWebrtcBranch *self, const char *reason)
{
  post (self, EV_FAILED, 0, g_strdup (reason), NULL);
}

/* Main context: the branch is dead; tell the owner once. */
static void
fail (RcWebrtcBranch *self, const char *reason)
{
  if (self->disposed || self->failed)
    return;
  self->failed = TRUE;
  GST_WARNING_OBJECT (self->bin, "guest %s: media failed: %s", self->name, reason);
  if (self->callbacks.failed != NULL)
    self->callbacks.failed (self, reason, self->user_data);
}

static void
on_offer_created (GstPromise *promise, gpointer data)
{
  RcWebrtcBranch *self = data;
  GstWebRTCSessionDescription *offer = NULL;
  char *error = rc_webrtc_promise_error (promise, "could not make an offer");

  if (error == NULL)
    {
      gst_structure_get (gst_promise_get_reply (promise), "offer",
                         GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
      if (offer == NULL)
        error = g_strdup ("could not make an offer: webrtcbin gave none");
    }
  if (error != NULL)
    post (self, EV_FAILED, 0, error, NULL);
  else
    post (self, EV_OFFER, 0, NULL, offer);
  gst_promise_unref (promise);
}

static void
on_description_set (GstPromise *promise, gpointer data)
{
  RcWebrtcBranch *self = data;
  char *error = rc_webrtc_promise_error (promise, "SDP refused");

  if (error != NULL)
    post (self, EV_FAILED, 0, error, NULL);
  gst_promise_unref (promise);
}

static GstPromise *
promise_new (RcWebrtcBranch *self, GstPromiseChangeFunc func)
{
  return gst_promise_new_with_change_func (func, branch_ref (self), (GDestroyNotify) branch_unref);
}

static void
create_offer (RcWebrtcBranch *self)
{
  if (self->offer_requested)
    return;
  self->offer_requested = TRUE;
  g_signal_emit_by_name (self->webrtc, "create-offer", NULL,
                         promise_new (self, on_offer_created));
}

static void
send_offer (RcWebrtcBranch *self, GstWebRTCSessionDescription *offer)
{
  g_autofree char *text = NULL;

  if (rc_sdp_set_opus_fmtp (offer->sdp, OPUS_OFFER_FMTP) == 0)
    {
      fail (self, "the offer has no Opus payload");
      return;
    }
  g_signal_emit_by_name (self->webrtc, "set-local-description", offer,
                         promise_new (self, on_description_set));
  text = gst_sdp_message_as_text (offer->sdp);
  self->offer_sent = TRUE;
  GST_DEBUG_OBJECT (self->bin, "guest %s: offer\n%s", self->name, text);
  if (self->callbacks.offer != NULL)
    self->callbacks.offer (self, text, self->user_data);
}

static void
connection_state_changed (RcWebrtcBranch *self, GstWebRTCPeerConnectionState state)
{
  GST_INFO_OBJECT (self->bin, "guest %s: connection state %d", self->name, state);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !self->connected)
    {
      self->connected = TRUE;
      if (self->setup_timeout != NULL)
        {
          g_source_destroy (self->setup_timeout);
          g_clear_pointer (&self->setup_timeout, g_source_unref);
        }
    }
  else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    fail (self, "the connection failed");
}

static void
dispatch_event (gpointer owner, const RcWebrtcEvent *ev)
{
  RcWebrtcBranch *self = owner;

  if (self->disposed)
    return;
  switch ((EventKind) ev->kind)
    {
    case EV_FIRST_BUFFER:
      create_offer (self);
      break;
    case EV_OFFER:
      send_offer (self, ev->sdp);
      break;
    case EV_CANDIDATE:
      if (!self->failed && self->callbacks.ice != NULL)
        self->callbacks.ice (self, ev->number, ev->text, self->user_data);
      break;
    case EV_CONNECTION_STATE:
      connection_state_changed (self, ev->number);
      break;
    case EV_ICE_STATE:
      if (ev->number == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
        fail (self, "ICE failed");
      break;
    case EV_FAILED:
      fail (self, ev->text);
      break;
    case EV_GATHERING_STATE:
      break; /* trickled: each candidate goes as it comes */
    }
}


/* Streaming thread, every RTP buffer on its way into webrtcbin. The first
 * one comes after the caps: the offer can be made from what the payloader
 * really sends. None goes in before the guest's certificate is checked. */
/* Streaming thread: what passes into webrtcbin, for rc_webrtc_branch_get_sent. */
static void
count_sent (RcWebrtcBranch *self, GstPadProbeInfo *info)
{
  guint64 packets = 1, bytes;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
      packets = gst_buffer_list_length (list);
      bytes = gst_buffer_list_calculate_size (list);
    }
  else
    bytes = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  __atomic_fetch_add (&self->packets_sent, packets, __ATOMIC_RELAXED);
  __atomic_fetch_add (&self->bytes_sent, bytes, __ATOMIC_RELAXED);
}

static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RcWebrtcBranch *self = data;

  if (!g_atomic_int_get (&self->saw_buffer)
      && g_atomic_int_compare_and_exchange (&self->saw_buffer, 0, 1))
    post (self, EV_FIRST_BUFFER, 0, NULL, NULL);
  if (!g_atomic_int_get (&self->cert_ok))
    return GST_PAD_PROBE_DROP;
  count_sent (self, info);
  return GST_PAD_PROBE_OK;
}

guint64
rc_webrtc_branch_get_sent (RcWebrtcBranch *branch, guint64 *bytes)
{
  *bytes = __atomic_load_n (&branch->bytes_sent, __ATOMIC_RELAXED);
  return __atomic_load_n (&branch->packets_sent, __ATOMIC_RELAXED);
}

/* DTLS thread, during the handshake: the guest showed its certificate.
 * It must be the one whose fingerprint the answer carried. */
static void
on_peer_certificate (GstObject *webrtc, GstObject *origin, GParamSpec *pspec, gpointer data)
{
  RcWebrtcBranch *self = data;
  g_autofree char *pem = NULL;
  g_autofree char *expected = NULL;

  g_object_get (origin, "peer-pem", &pem, NULL);
  g_mutex_lock (&self->lock);
  expected = g_strdup (self->remote_fingerprint);
  g_mutex_unlock (&self->lock);
  if (pem != NULL && rc_sdp_fingerprint_matches (expected, pem))
    {
      g_atomic_int_set (&self->cert_ok, 1);
      return;
    }
  g_atomic_int_set (&self->cert_ok, 0);
  post_failure (self, "the DTLS certificate is not the one the answer named");
}

static gboolean
on_setup_timeout (gpointer data)
{
  RcWebrtcBranch *self = data;

  g_clear_pointer (&self->setup_timeout, g_source_unref);
  fail (self, "not connected after " G_STRINGIFY (SETUP_TIMEOUT_S) " s");
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

  queue = gst_element_factory_make ("queue", "queue");
  self->webrtc = gst_element_factory_make ("webrtcbin", "webrtcbin");
  if (queue == NULL || self->webrtc == NULL)
    {
      g_clear_pointer (&queue, gst_object_unref);
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "webrtcbin is missing (gst-plugins-bad, gstreamer1.0-nice)");
      return FALSE;
    }
  gst_object_ref_sink (self->webrtc);
  /* A guest removed a moment ago may still be in the pipeline by its name. */
  bin_name = g_strdup_printf ("webrtc-%s-%d", self->name, g_atomic_int_add (&serial, 1));
  self->bin = gst_object_ref_sink (g_object_new (RC_TYPE_BRANCH_BIN, "name", bin_name, NULL));
  RC_BRANCH_BIN (self->bin)->owner = self;

  g_object_set (queue, "leaky", 2 /* downstream */, "max-size-time", QUEUE_TIME,
                "max-size-buffers", 0, "max-size-bytes", 0, NULL);
  g_object_set (self->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  rc_webrtc_setup_ice (self->webrtc, FALSE);
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
  gst_pad_add_probe (queue_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_buffer, branch_ref (self), (GDestroyNotify) branch_unref);

  rc_webrtc_forward_signals (self->webrtc, &self->events);
  /* dtlsdec's notify::peer-pem, seen from the top of its hierarchy. */
  g_signal_connect_data (self->webrtc, "deep-notify::peer-pem", G_CALLBACK (on_peer_certificate),
                         branch_ref (self), branch_unref_closure, 0);
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
  self->ref_count = 1;
  self->pipeline = pipeline;
  self->name = g_strdup (name);
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  self->events = (RcWebrtcEvents) { self->context, self, (gpointer (*) (gpointer)) branch_ref,
                                    (void (*) (gpointer)) branch_unref, dispatch_event };
  g_mutex_init (&self->lock);

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
  self->disposed = TRUE;
  if (self->setup_timeout != NULL)
    {
      g_source_destroy (self->setup_timeout);
      g_clear_pointer (&self->setup_timeout, g_source_unref);
    }
  if (self->webrtc != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->webrtc, self);
      rc_webrtc_stop_forwarding (self->webrtc, &self->events);
      gst_clear_object (&self->webrtc);
    }
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
  branch_unref (self);
}

gboolean
rc_webrtc_branch_set_answer (RcWebrtcBranch *self, const char *sdp, GError **error)
{
  g_autoptr (GstSDPMessage) message = NULL;
  GstWebRTCSessionDescription *answer;

  if (!self->offer_sent)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                           "No offer has been sent yet; wait for it");
      return FALSE;
    }
  if (self->answer_given)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                           "This offer has been answered already; send startMedia for a new one");
      return FALSE;
    }
  if (gst_sdp_message_new_from_text (sdp, &message) != GST_SDP_OK || message == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, "\"sdp\" is not SDP");
      return FALSE;
    }
  if (!rc_sdp_check_answer (message, 1, error))
    return FALSE;
  self->answer_given = TRUE;
  g_mutex_lock (&self->lock);
  g_free (self->remote_fingerprint);
  self->remote_fingerprint = g_strdup (rc_sdp_get_fingerprint (message));
  g_mutex_unlock (&self->lock);
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER,
                                                g_steal_pointer (&message));
  g_signal_emit_by_name (self->webrtc, "set-remote-description", answer,
                         promise_new (self, on_description_set));
  gst_webrtc_session_description_free (answer);
  return TRUE;
}

gboolean
rc_webrtc_branch_add_ice (RcWebrtcBranch *self, guint mline_index, const char *candidate,
                          GError **error)
{
  if (candidate == NULL || *candidate == '\0')
    return TRUE; /* end of candidates: nothing to do */
  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  if (!rc_sdp_check_candidate (candidate, error))
    return FALSE;
  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", mline_index, candidate);
  return TRUE;
}

gboolean
rc_webrtc_branch_is_connected (RcWebrtcBranch *self)
{
  return self->connected;
}

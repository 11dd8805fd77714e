/* SPDX-License-Identifier: MIT */
/*
 * One webrtcbin, driven the way every part of roomcast drives one (the
 * guest branch sends, the WHIP ingest and the native guest receive). Why it
 * is one piece:
 *
 * - webrtcbin's signals and promise callbacks arrive on its own threads,
 *   while its owners keep their state on a main context. Everything here is
 *   turned into an event, queued (holding a reference to the peer) and run
 *   there later, never synchronously: no callback fires from inside a call
 *   into the owner, and none after the owner closed the peer.
 * - The forwarded signals hold a reference to the peer, and the peer holds
 *   webrtcbin: closing disconnects them (and the owner's own handlers, by
 *   its data), or the two would keep each other forever.
 * - A promise callback may hold the last reference on webrtcbin's thread;
 *   webrtcbin must not be finalized there (it joins that thread), so the
 *   last unref off the creating thread finishes on the main context.
 * - The owner's handlers, probes and promises may still run on those
 *   threads after the owner is done: they hold the peer, which frees the
 *   owner last, so the owners need no reference counts of their own.
 * - webrtcbin 1.22 completes DTLS with any certificate: the owner names the
 *   fingerprint its peer's SDP carried, and the certificate is checked here
 *   when dtlsdec reports it.
 */
#define GST_USE_UNSTABLE_API
#include "pipelines/rc_webrtc_peer.h"
#include "pipelines/rc_defer.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_util.h"

struct _RcWebrtcPeer
{
  gint ref_count; /* the owner's, one per queued event, promise, signal handler */
  GMainContext *context;
  GThread *thread; /* the creator's: webrtcbin is let go there */
  GstElement *webrtc;
  char *opus_fmtp;
  RcWebrtcPeerCallbacks callbacks;
  gpointer user_data;
  GDestroyNotify user_data_free;
  RcRtpPacketFunc rtp_func; /* set before its first probe */

  /* main context only */
  gboolean closed;
  gboolean connected;

  GMutex lock;
  GPtrArray *requests;      /* under lock: GstPromise*, ours, not answered yet */
  gboolean requests_closed; /* under lock: the owner closed the peer */
  char *fingerprint; /* protected by lock: the expected remote certificate's */
  gint cert_ok;      /* atomic */
};

typedef enum
{
  EV_CANDIDATE,
  EV_GATHERING_STATE,
  EV_CONNECTION_STATE,
  EV_ICE_STATE,
  EV_DESCRIPTION,
  EV_FAILED,
  EV_OWN,
} EventKind;

typedef struct
{
  RcWebrtcPeer *peer; /* held */
  EventKind kind;
  guint number;
  char *text;
  GstWebRTCSessionDescription *sdp;
} Event;

static void
finalize (RcWebrtcPeer *self)
{
  if (self->user_data_free != NULL)
    self->user_data_free (self->user_data);
  if (self->webrtc != NULL && GST_OBJECT_PARENT (self->webrtc) == NULL)
    gst_element_set_state (self->webrtc, GST_STATE_NULL);
  gst_clear_object (&self->webrtc);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_ptr_array_unref (self->requests); /* empty: each holds the peer */
  g_free (self->fingerprint);
  g_free (self->opus_fmtp);
  g_free (self);
}

static gboolean
finalize_later (gpointer data)
{
  finalize (data);
  return G_SOURCE_REMOVE;
}

RcWebrtcPeer *
rc_webrtc_peer_ref (RcWebrtcPeer *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
rc_webrtc_peer_unref (RcWebrtcPeer *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  if (g_thread_self () == self->thread)
    finalize (self);
  else
    g_main_context_invoke (self->context, finalize_later, self);
}

static void
unref_closure (gpointer data, GClosure *closure)
{
  rc_webrtc_peer_unref (data);
}

/* ---- events for the main context ------------------------------------------ */

static void
event_free (gpointer data)
{
  Event *ev = data;

  g_free (ev->text);
  g_clear_pointer (&ev->sdp, gst_webrtc_session_description_free);
  rc_webrtc_peer_unref (ev->peer);
  g_free (ev);
}

/* Main context: the first failure closes the peer. */
static void
fail (RcWebrtcPeer *self, int code, const char *reason)
{
  self->connected = FALSE;
  rc_webrtc_peer_close (self);
  if (self->callbacks.failed != NULL)
    self->callbacks.failed (self, code, reason, self->user_data);
}

static void on_local_set (GstPromise *promise, gpointer data);

/* Main context: a description webrtcbin made becomes the local one. */
static void
take_local (RcWebrtcPeer *self, GstWebRTCSessionDescription *description)
{
  const char *kind = gst_webrtc_sdp_type_to_string (description->type);
  g_autofree char *text = NULL;

  if (self->opus_fmtp != NULL && rc_sdp_set_opus_fmtp (description->sdp, self->opus_fmtp) == 0)
    {
      g_autofree char *reason = g_strdup_printf ("our %s has no Opus payload", kind);

      fail (self, RC_MEDIA_ERROR_UNSUPPORTED_OFFER, reason);
      return;
    }
  rc_webrtc_peer_request (self, "set-local-description", description, on_local_set);
  text = gst_sdp_message_as_text (description->sdp);
  if (self->callbacks.description != NULL)
    self->callbacks.description (self, description, text, self->user_data);
}

static void
dispatch (RcWebrtcPeer *self, const Event *ev)
{
  const RcWebrtcPeerCallbacks *cb = &self->callbacks;

  switch (ev->kind)
    {
    case EV_CANDIDATE:
      if (cb->candidate != NULL)
        cb->candidate (self, ev->number, ev->text, self->user_data);
      break;
    case EV_GATHERING_STATE:
      if (ev->number == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && cb->gathered != NULL)
        cb->gathered (self, self->user_data);
      break;
    case EV_CONNECTION_STATE:
      if (ev->number == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !self->connected)
        {
          self->connected = TRUE;
          if (cb->connected != NULL)
            cb->connected (self, self->user_data);
        }
      else if (ev->number == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
        fail (self, RC_MEDIA_ERROR_FAILED, "the connection failed (ICE or DTLS)");
      break;
    case EV_ICE_STATE:
      if (ev->number == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
        fail (self, RC_MEDIA_ERROR_FAILED, "ICE failed");
      break;
    case EV_DESCRIPTION:
      take_local (self, ev->sdp);
      break;
    case EV_FAILED:
      fail (self, (int) ev->number, ev->text);
      break;
    case EV_OWN:
      if (cb->event != NULL)
        cb->event (self, ev->number, self->user_data);
      break;
    }
}

static gboolean
event_dispatch (gpointer data)
{
  Event *ev = data;

  if (!ev->peer->closed)
    dispatch (ev->peer, ev);
  return G_SOURCE_REMOVE;
}

/* Any thread: queues an event; @text and @sdp are taken. */
static void
post (RcWebrtcPeer *self, EventKind kind, guint number, char *text,
      GstWebRTCSessionDescription *sdp)
{
  Event *ev = g_new0 (Event, 1);

  ev->peer = rc_webrtc_peer_ref (self);
  ev->kind = kind;
  ev->number = number;
  ev->text = text;
  ev->sdp = sdp;
  rc_defer (self->context, G_PRIORITY_DEFAULT, event_dispatch, ev, event_free);
}

void
rc_webrtc_peer_post (RcWebrtcPeer *self, guint kind)
{
  post (self, EV_OWN, kind, NULL, NULL);
}

void
rc_webrtc_peer_fail (RcWebrtcPeer *self, int code, const char *reason)
{
  post (self, EV_FAILED, (guint) code, g_strdup (reason), NULL);
}

/* ---- webrtcbin's signals ---------------------------------------------------- */

static void
on_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer data)
{
  if (candidate != NULL && *candidate != '\0')
    post (data, EV_CANDIDATE, mline, g_strdup (candidate), NULL);
}

/* notify::<state>: the state's new value as an event of @kind. */
static void
post_state (GObject *webrtc, const char *property, EventKind kind, gpointer data)
{
  gint state = 0;

  g_object_get (webrtc, property, &state, NULL);
  post (data, kind, (guint) state, NULL, NULL);
}

static void
on_gathering_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  post_state (webrtc, "ice-gathering-state", EV_GATHERING_STATE, data);
}

static void
on_connection_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  post_state (webrtc, "connection-state", EV_CONNECTION_STATE, data);
}

static void
on_ice_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  post_state (webrtc, "ice-connection-state", EV_ICE_STATE, data);
}

/* DTLS thread, during the handshake: the remote showed its certificate. */
static void
on_peer_certificate (GstObject *webrtc, GstObject *origin, GParamSpec *pspec, gpointer data)
{
  RcWebrtcPeer *self = data;
  g_autofree char *pem = NULL;
  g_autofree char *expected = NULL;

  g_mutex_lock (&self->lock);
  expected = g_strdup (self->fingerprint);
  g_mutex_unlock (&self->lock);
  if (expected == NULL)
    return; /* nothing to check against: the owner trusts its peer */
  g_object_get (origin, "peer-pem", &pem, NULL);
  if (pem != NULL && rc_sdp_fingerprint_matches (expected, pem))
    {
      g_atomic_int_set (&self->cert_ok, 1);
      return;
    }
  g_atomic_int_set (&self->cert_ok, 0);
  rc_webrtc_peer_fail (self, RC_MEDIA_ERROR_FAILED,
                       "the DTLS certificate is not the one the SDP named");
}

static void
forward_signals (RcWebrtcPeer *self)
{
  const struct
  {
    const char *signal;
    GCallback callback;
  } signals[] = {
    { "on-ice-candidate", G_CALLBACK (on_candidate) },
    { "notify::ice-gathering-state", G_CALLBACK (on_gathering_state) },
    { "notify::connection-state", G_CALLBACK (on_connection_state) },
    { "notify::ice-connection-state", G_CALLBACK (on_ice_state) },
    /* dtlsdec's notify::peer-pem, seen from the top of its hierarchy. */
    { "deep-notify::peer-pem", G_CALLBACK (on_peer_certificate) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_signal_connect_data (self->webrtc, signals[i].signal, signals[i].callback,
                           rc_webrtc_peer_ref (self), unref_closure, 0);
}

/* ---- promises ---------------------------------------------------------------- */

/*
 * Requests to webrtcbin. A promise's change function is how its answer
 * comes, but webrtcbin 1.22 drops a task still queued when it stops,
 * without answering its promise; and GStreamer warns when a promise is
 * freed unanswered. So the peer keeps its own reference to each promise
 * until the answer comes, and when the owner closes the peer it interrupts
 * those still waiting (a late answer to an interrupted promise is dropped
 * by GStreamer) and lets them go: no promise, and no peer it holds, is left
 * behind (once seen under ASan as a leaked peer and native receiver when a
 * guest left while its answer was being made).
 */
typedef struct
{
  RcWebrtcPeer *peer; /* held */
  GstPromiseChangeFunc func;
} Request;

static void
request_free (gpointer data)
{
  Request *r = data;

  rc_webrtc_peer_unref (r->peer);
  g_free (r);
}

/* webrtcbin's thread (answered), or the closer's (interrupted). */
static void
on_request_done (GstPromise *promise, gpointer data)
{
  Request *r = data;
  RcWebrtcPeer *self = r->peer;
  gboolean ours, closed;

  g_mutex_lock (&self->lock);
  ours = g_ptr_array_remove_fast (self->requests, promise);
  closed = self->requests_closed;
  g_mutex_unlock (&self->lock);
  if (!closed && gst_promise_wait (promise) != GST_PROMISE_RESULT_INTERRUPTED)
    r->func (promise, self);
  if (ours)
    gst_promise_unref (promise);
}

void
rc_webrtc_peer_request (RcWebrtcPeer *self, const char *signal, gpointer argument,
                        GstPromiseChangeFunc func)
{
  Request *r = g_new0 (Request, 1);
  GstPromise *promise;
  gboolean closed;

  r->peer = rc_webrtc_peer_ref (self);
  r->func = func;
  promise = gst_promise_new_with_change_func (on_request_done, r, request_free);
  g_mutex_lock (&self->lock);
  closed = self->requests_closed;
  if (!closed)
    g_ptr_array_add (self->requests, promise);
  g_mutex_unlock (&self->lock);
  if (closed)
    {
      gst_promise_interrupt (promise);
      gst_promise_unref (promise);
      return;
    }
  g_signal_emit_by_name (self->webrtc, signal, argument, promise);
}

/* The owner is done: nothing still asked of webrtcbin is wanted. */
static void
interrupt_requests (RcWebrtcPeer *self)
{
  GPtrArray *waiting;

  g_mutex_lock (&self->lock);
  self->requests_closed = TRUE;
  waiting = g_steal_pointer (&self->requests);
  self->requests = g_ptr_array_new ();
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < waiting->len; i++)
    {
      gst_promise_interrupt (g_ptr_array_index (waiting, i));
      gst_promise_unref (g_ptr_array_index (waiting, i));
    }
  g_ptr_array_unref (waiting);
}

/* webrtcbin's thread: the offer or answer (@field) it was asked for. */
static void
take_description (GstPromise *promise, RcWebrtcPeer *self, const char *field, int code,
                  const char *what)
{
  GstWebRTCSessionDescription *description = NULL;
  char *error = rc_webrtc_promise_error (promise, what);

  if (error == NULL)
    {
      gst_structure_get (gst_promise_get_reply (promise), field,
                         GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description, NULL);
      if (description == NULL)
        error = g_strdup_printf ("%s: webrtcbin gave none", what);
    }
  if (error != NULL)
    post (self, EV_FAILED, (guint) code, error, NULL);
  else
    post (self, EV_DESCRIPTION, 0, NULL, description);
}

static void
on_offer_created (GstPromise *promise, gpointer data)
{
  take_description (promise, data, "offer", RC_MEDIA_ERROR_FAILED, "could not make an offer");
}

static void
on_answer_created (GstPromise *promise, gpointer data)
{
  take_description (promise, data, "answer", RC_MEDIA_ERROR_INVALID, "could not answer the offer");
}

/* webrtcbin's thread: a description was set; FALSE when it was refused. */
static gboolean
check_set (GstPromise *promise, RcWebrtcPeer *self, int code, const char *what)
{
  char *error = rc_webrtc_promise_error (promise, what);

  if (error == NULL)
    return TRUE;
  post (self, EV_FAILED, (guint) code, error, NULL);
  return FALSE;
}

/* The remote offer is in: answer it from here (webrtcbin queues it). */
static void
on_remote_offer_set (GstPromise *promise, gpointer data)
{
  RcWebrtcPeer *self = data;

  if (check_set (promise, self, RC_MEDIA_ERROR_INVALID, "the offer was refused"))
    rc_webrtc_peer_request (self, "create-answer", NULL, on_answer_created);
}

static void
on_remote_answer_set (GstPromise *promise, gpointer data)
{
  check_set (promise, data, RC_MEDIA_ERROR_INVALID, "the answer was refused");
}

static void
on_local_set (GstPromise *promise, gpointer data)
{
  check_set (promise, data, RC_MEDIA_ERROR_FAILED, "our own SDP was refused");
}

/* ---- the API ------------------------------------------------------------------- */

RcWebrtcPeer *
rc_webrtc_peer_new (const RcWebrtcPeerOptions *options, const RcWebrtcPeerCallbacks *callbacks,
                    gpointer user_data, GDestroyNotify user_data_free, GError **error)
{
  RcWebrtcPeer *self;
  GstElement *webrtc = gst_element_factory_make (
    "webrtcbin", options->name != NULL ? options->name : "webrtcbin");

  if (webrtc == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "webrtcbin is missing (gst-plugins-bad, gstreamer1.0-nice)");
      return NULL;
    }
  self = g_new0 (RcWebrtcPeer, 1);
  self->ref_count = 1;
  self->context = g_main_context_ref_thread_default ();
  self->thread = g_thread_self ();
  self->webrtc = gst_object_ref_sink (webrtc);
  self->opus_fmtp = g_strdup (options->opus_fmtp);
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  self->user_data_free = user_data_free;
  g_mutex_init (&self->lock);
  self->requests = g_ptr_array_new ();
  g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  if (options->latency_ms > 0)
    g_object_set (webrtc, "latency", options->latency_ms, NULL);
  rc_webrtc_setup_ice (webrtc, options->loopback_only);
  forward_signals (self);
  return self;
}

void
rc_webrtc_peer_close (RcWebrtcPeer *self)
{
  if (self == NULL || self->closed)
    return;
  self->closed = TRUE;
  interrupt_requests (self);
  g_signal_handlers_disconnect_by_data (self->webrtc, self);
  if (self->user_data != NULL)
    g_signal_handlers_disconnect_by_data (self->webrtc, self->user_data);
}

void
rc_webrtc_peer_release (RcWebrtcPeer *self, gpointer user_data, GDestroyNotify user_data_free)
{
  if (self == NULL)
    {
      user_data_free (user_data);
      return;
    }
  rc_webrtc_peer_close (self);
  rc_webrtc_peer_unref (self);
}

gboolean
rc_webrtc_peer_is_connected (RcWebrtcPeer *self)
{
  return self != NULL && self->connected;
}

GstElement *
rc_webrtc_peer_get_webrtcbin (RcWebrtcPeer *self)
{
  return self->webrtc;
}

gpointer
rc_webrtc_peer_get_user_data (RcWebrtcPeer *self)
{
  return self->user_data;
}

static void
unref_notifier (gpointer data, GClosure *closure)
{
  rc_webrtc_peer_unref (data);
}

void
rc_webrtc_peer_connect (RcWebrtcPeer *self, gpointer instance, const char *signal,
                        GCallback callback)
{
  GClosure *closure = g_cclosure_new (callback, self->user_data, NULL);

  g_closure_add_finalize_notifier (closure, rc_webrtc_peer_ref (self), unref_notifier);
  g_signal_connect_closure (instance, signal, closure, FALSE);
}

void
rc_webrtc_peer_create_offer (RcWebrtcPeer *self)
{
  rc_webrtc_peer_request (self, "create-offer", NULL, on_offer_created);
}

void
rc_webrtc_peer_set_remote (RcWebrtcPeer *self, GstWebRTCSDPType type, GstSDPMessage *sdp)
{
  GstWebRTCSessionDescription *description = gst_webrtc_session_description_new (type, sdp);

  rc_webrtc_peer_request (self, "set-remote-description", description,
                          type == GST_WEBRTC_SDP_TYPE_OFFER ? on_remote_offer_set
                                                            : on_remote_answer_set);
  gst_webrtc_session_description_free (description);
}

void
rc_webrtc_peer_add_ice (RcWebrtcPeer *self, guint mline_index, const char *candidate)
{
  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", mline_index, candidate);
}

void
rc_webrtc_peer_expect_fingerprint (RcWebrtcPeer *self, const char *fingerprint)
{
  g_mutex_lock (&self->lock);
  g_free (self->fingerprint);
  self->fingerprint = g_strdup (fingerprint);
  g_mutex_unlock (&self->lock);
}

gboolean
rc_webrtc_peer_certificate_ok (RcWebrtcPeer *self)
{
  return g_atomic_int_get (&self->cert_ok);
}

/* ---- the RTP probe -------------------------------------------------------------- */

static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RcWebrtcPeer *self = data;
  gint64 now = g_get_monotonic_time ();
  gboolean keep = TRUE;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    keep = self->rtp_func (GST_PAD_PROBE_INFO_BUFFER (info), now, self->user_data);
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        keep = self->rtp_func (gst_buffer_list_get (list, i), now, self->user_data) && keep;
    }
  return keep ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

gulong
rc_webrtc_peer_add_rtp_probe (RcWebrtcPeer *self, GstPad *pad, RcRtpPacketFunc func)
{
  g_return_val_if_fail (self->rtp_func == NULL || self->rtp_func == func, 0);
  self->rtp_func = func;
  return gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                            on_rtp, rc_webrtc_peer_ref (self),
                            (GDestroyNotify) rc_webrtc_peer_unref);
}

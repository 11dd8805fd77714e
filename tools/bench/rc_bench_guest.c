/* SPDX-License-Identifier: MIT */
/*
 * The light guest of tools/bench-fanout (see rc_bench_guest.h). Why it
 * exists beside RcNativeGuest: the native guest decodes, converts and
 * resamples every stream to PCM, which is what a test that listens needs
 * but costs client CPU that two cores cannot spare when hundreds of guests
 * share them with the server being measured; and its figures (lost, longest
 * gap) do not say how many packets came late for their slot. This guest
 * keeps the whole WebRTC path of a real client (ICE, DTLS, SRTP, rtpbin)
 * and drops the decode unless asked for it.
 *
 *   join ─ initialState ─ startMedia ─ offer ─ answer (stereo=1) ─ ice ─ RTP
 *
 * Ordering rule, as in the native receiver: webrtcbin's signals and
 * promises and the pad probe run on streaming threads; they only queue an
 * event (holding a reference) for the main context, where every callback
 * and all signalling run. The counters are under a mutex.
 */
#define GST_USE_UNSTABLE_API
#include "rc_bench_guest.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_webrtc_util.h"

#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define JOIN_ID "join"
#define MEDIA_ID "media"
#define OPUS_CAPS "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000"

struct _RcBenchGuest
{
  gint ref_count; /* one for being alive, one per pending event, handler, promise, probe */
  char *ws_url;
  char *room_id;
  char *name;
  gboolean decode;
  gint64 late_us;
  void (*changed) (RcBenchGuest *guest, gpointer user_data);
  gpointer user_data;
  GMainContext *context;
  RcWebrtcEvents events; /* queued to the main context, run by dispatch_event */
  SoupSession *session;
  GCancellable *cancellable;

  /* main context only */
  SoupWebsocketConnection *conn;
  gboolean disposed;
  RcBenchGuestState state;
  char *failure;
  GstElement *pipeline;
  GstElement *webrtc;
  guint bus_watch;

  gint output_linked; /* atomic: the first webrtcbin src pad is taken */

  GMutex lock; /* the counters below; taken on streaming threads */
  gint64 created_us;
  gint64 first_packet_us;
  guint64 packets;
  guint64 lost;
  guint64 late;
  gint64 max_gap_us;
  gint64 max_late_us;
  gint64 last_arrival_us;
  gboolean have_seq;
  guint16 last_seq;
  guint64 ext_ts;
  gboolean have_transit;
  gint64 best_transit_us;
};

static RcBenchGuest *
guest_ref (RcBenchGuest *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
guest_unref (RcBenchGuest *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_mutex_clear (&self->lock);
  g_main_context_unref (self->context);
  g_free (self->ws_url);
  g_free (self->room_id);
  g_free (self->name);
  g_free (self->failure);
  g_free (self);
}

static void
guest_unref_closure (gpointer data, GClosure *closure)
{
  guest_unref (data);
}

static void
set_state (RcBenchGuest *self, RcBenchGuestState state)
{
  if (self->disposed || self->state == state || self->state == RC_BENCH_GUEST_FAILED)
    return;
  self->state = state;
  if (self->changed != NULL)
    self->changed (self, self->user_data);
}

static void
fail (RcBenchGuest *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (RcBenchGuest *self, const char *format, ...)
{
  va_list args;

  if (self->disposed || self->state == RC_BENCH_GUEST_FAILED)
    return;
  va_start (args, format);
  self->failure = g_strdup_vprintf (format, args);
  va_end (args);
  set_state (self, RC_BENCH_GUEST_FAILED);
}

/* ---- events from streaming threads ---- */

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

static void send_answer (RcBenchGuest *self, GstWebRTCSessionDescription *answer);
static void send_candidate (RcBenchGuest *self, guint mline, const char *candidate);

static void
dispatch_event (gpointer owner, const RcWebrtcEvent *ev)
{
  RcBenchGuest *self = owner;

  if (self->disposed || self->state == RC_BENCH_GUEST_FAILED)
    return;
  switch ((EventKind) ev->kind)
    {
    case EV_ANSWER:
      send_answer (self, ev->sdp);
      break;
    case EV_CANDIDATE:
      send_candidate (self, ev->number, ev->text);
      break;
    case EV_FIRST_PACKET:
      set_state (self, RC_BENCH_GUEST_RECEIVING);
      break;
    case EV_CONNECTION_STATE:
      if (ev->number == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
        fail (self, "the WebRTC connection failed");
      break;
    case EV_FAILED:
      fail (self, "%s", ev->text);
      break;
    case EV_GATHERING_STATE:
    case EV_ICE_STATE:
      break; /* the connection state says it all */
    }
}

/* Queues an event for the main context; never runs it at once. */
static void
post (RcBenchGuest *self, EventKind kind, guint number, char *text,
      GstWebRTCSessionDescription *answer)
{
  rc_webrtc_post (&self->events, kind, number, text, answer);
}

/* ---- counting ---- */

static void
note_packet (RcBenchGuest *self, GstBuffer *buf, gint64 now)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint16 seq;
  guint32 ts;
  guint8 pt;
  gboolean first;

  if (!gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    return;
  seq = gst_rtp_buffer_get_seq (&rtp);
  ts = gst_rtp_buffer_get_timestamp (&rtp);
  pt = gst_rtp_buffer_get_payload_type (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  if (pt >= 72 && pt <= 76)
    return; /* RTCP (SR, RR, SDES, BYE, APP) seen as RTP */

  g_mutex_lock (&self->lock);
  first = self->packets == 0 && self->first_packet_us == 0;
  self->packets++;
  if (self->have_seq)
    {
      guint16 step = seq - self->last_seq;

      if (step > 1 && step < 0x8000)
        self->lost += step - 1;
    }
  if (!self->have_seq || (guint16) (seq - self->last_seq) < 0x8000)
    self->last_seq = seq;
  self->have_seq = TRUE;

  if (self->last_arrival_us > 0)
    self->max_gap_us = MAX (self->max_gap_us, now - self->last_arrival_us);
  self->last_arrival_us = now;

  {
    /* Transit = arrival - RTP time (48 kHz); only its changes matter. */
    guint64 ext = gst_rtp_buffer_ext_timestamp (&self->ext_ts, ts);
    gint64 transit = now - (gint64) (ext * 125 / 6);

    if (!self->have_transit || transit < self->best_transit_us)
      {
        self->best_transit_us = transit;
        self->have_transit = TRUE;
      }
    else
      {
        gint64 late = transit - self->best_transit_us;

        self->max_late_us = MAX (self->max_late_us, late);
        if (late > self->late_us)
          self->late++;
      }
  }
  if (first)
    self->first_packet_us = now;
  g_mutex_unlock (&self->lock);
  if (first)
    post (self, EV_FIRST_PACKET, 0, NULL, NULL);
}

static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    note_packet (data, GST_PAD_PROBE_INFO_BUFFER (info), now);
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        note_packet (data, gst_buffer_list_get (list, i), now);
    }
  return GST_PAD_PROBE_OK;
}

static void
add_rtp_probe (RcBenchGuest *self, GstPad *pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp,
                     guest_ref (self), (GDestroyNotify) guest_unref);
}

/* webrtcbin's rtpbin gets a recv_rtp_sink_N pad per transport: the RTP
 * there is decrypted and not yet jitter-buffered. */
static void
on_rtpbin_pad_added (GstElement *rtpbin, GstPad *pad, gpointer data)
{
  if (GST_PAD_DIRECTION (pad) == GST_PAD_SINK
      && g_str_has_prefix (GST_PAD_NAME (pad), "recv_rtp_sink_"))
    add_rtp_probe (data, pad);
}

/* A stream for us: it must go somewhere, or webrtcbin stops on not-linked. */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer data)
{
  RcBenchGuest *self = data;
  g_autoptr (GError) error = NULL;
  GstElement *sink;
  g_autoptr (GstPad) sink_pad = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC
      || !g_atomic_int_compare_and_exchange (&self->output_linked, 0, 1))
    return;
  sink = gst_parse_bin_from_description (
    self->decode ? "rtpopusdepay ! opusdec ! fakesink sync=false async=false"
                 : "fakesink sync=false async=false",
    TRUE, &error);
  if (sink == NULL)
    {
      post (self, EV_FAILED, 0, g_strdup_printf ("no sink: %s", error->message), NULL);
      return;
    }
  gst_bin_add (GST_BIN (self->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  if (gst_pad_link (pad, sink_pad) != GST_PAD_LINK_OK)
    post (self, EV_FAILED, 0, g_strdup ("could not link webrtcbin's output"), NULL);
}

/* ---- WebRTC ---- */

static GstPromise *
promise_new (RcBenchGuest *self, GstPromiseChangeFunc func)
{
  return gst_promise_new_with_change_func (func, guest_ref (self), (GDestroyNotify) guest_unref);
}

static void
on_answer_created (GstPromise *promise, gpointer data)
{
  RcBenchGuest *self = data;
  GstWebRTCSessionDescription *answer = NULL;
  char *error = rc_webrtc_promise_error (promise, "could not answer");

  if (error == NULL)
    {
      gst_structure_get (gst_promise_get_reply (promise), "answer",
                         GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
      if (answer == NULL)
        error = g_strdup ("could not answer: no answer from webrtcbin");
    }
  if (error != NULL)
    post (self, EV_FAILED, 0, error, NULL);
  else
    post (self, EV_ANSWER, 0, NULL, answer);
  gst_promise_unref (promise);
}

static void
on_offer_set (GstPromise *promise, gpointer data)
{
  RcBenchGuest *self = data;
  char *error = rc_webrtc_promise_error (promise, "offer refused");

  if (error != NULL)
    post (self, EV_FAILED, 0, error, NULL);
  else
    g_signal_emit_by_name (self->webrtc, "create-answer", NULL,
                           promise_new (self, on_answer_created));
  gst_promise_unref (promise);
}

static gboolean
on_bus (GstBus *bus, GstMessage *message, gpointer data)
{
  RcBenchGuest *self = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;

      gst_message_parse_error (message, &error, NULL);
      fail (self, "%s: %s", GST_MESSAGE_SRC_NAME (message), error->message);
    }
  return G_SOURCE_CONTINUE;
}

static void
quiet_ice (GstElement *webrtc)
{
  g_autoptr (GstWebRTCICE) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  gboolean added = FALSE;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp") != NULL)
    g_object_set (ice, "ice-tcp", FALSE, NULL);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent") != NULL)
    g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp") != NULL)
    g_object_set (agent, "upnp", FALSE, NULL);
  /* The server is on this machine: gather on loopback only. */
  g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
}

static gboolean
start_webrtc (RcBenchGuest *self, const char *sdp)
{
  g_autoptr (GstSDPMessage) message = NULL;
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GstCaps) caps = gst_caps_from_string (OPUS_CAPS);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstElement) rtpbin = NULL;
  GstWebRTCSessionDescription *offer;

  if (gst_sdp_message_new_from_text (sdp, &message) != GST_SDP_OK
      || gst_sdp_message_medias_len (message) == 0)
    {
      fail (self, "the offer is not SDP with media");
      return FALSE;
    }
  self->pipeline = gst_pipeline_new (self->name);
  self->webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  if (self->webrtc == NULL)
    {
      fail (self, "webrtcbin is missing");
      return FALSE;
    }
  gst_object_ref (self->webrtc);
  g_object_set (self->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  quiet_ice (self->webrtc);
  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);
  g_signal_emit_by_name (self->webrtc, "add-transceiver",
                         GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &transceiver);
  rc_webrtc_forward_signals (self->webrtc, &self->events);
  g_signal_connect_data (self->webrtc, "pad-added", G_CALLBACK (on_pad_added), guest_ref (self),
                         guest_unref_closure, 0);
  rtpbin = gst_bin_get_by_name (GST_BIN (self->webrtc), "rtpbin");
  if (rtpbin == NULL)
    {
      fail (self, "webrtcbin has no child named rtpbin: cannot count packets");
      return FALSE;
    }
  g_signal_connect_data (rtpbin, "pad-added", G_CALLBACK (on_rtpbin_pad_added),
                         guest_ref (self), guest_unref_closure, 0);
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus, self);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      fail (self, "the guest's pipeline would not start");
      return FALSE;
    }
  offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER,
                                               g_steal_pointer (&message));
  g_signal_emit_by_name (self->webrtc, "set-remote-description", offer,
                         promise_new (self, on_offer_set));
  gst_webrtc_session_description_free (offer);
  return TRUE;
}

static void
stop_webrtc (RcBenchGuest *self)
{
  if (self->webrtc != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->webrtc, self);
      rc_webrtc_stop_forwarding (self->webrtc, &self->events);
      gst_clear_object (&self->webrtc);
    }
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      g_clear_handle_id (&self->bus_watch, g_source_remove);
      gst_clear_object (&self->pipeline);
    }
}

/* ---- signalling ---- */

static void
send_object (RcBenchGuest *self, JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  if (self->conn == NULL
      || soup_websocket_connection_get_state (self->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  json_node_set_object (node, object);
  text = json_to_string (node, FALSE);
  soup_websocket_connection_send_text (self->conn, text);
}

static JsonObject *
request_new (const char *type, const char *id)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "type", type);
  if (id != NULL)
    json_object_set_string_member (o, "id", id);
  return o;
}

static void
send_answer (RcBenchGuest *self, GstWebRTCSessionDescription *answer)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonObject) o = request_new ("answer", NULL);

  rc_sdp_set_opus_fmtp (answer->sdp, "stereo=1");
  g_signal_emit_by_name (self->webrtc, "set-local-description", answer, NULL);
  text = gst_sdp_message_as_text (answer->sdp);
  json_object_set_string_member (o, "sdp", text);
  send_object (self, o);
}

static void
send_candidate (RcBenchGuest *self, guint mline, const char *candidate)
{
  g_autoptr (JsonObject) o = request_new ("ice", NULL);

  json_object_set_string_member (o, "candidate", candidate);
  json_object_set_int_member (o, "sdpMLineIndex", mline);
  send_object (self, o);
}

static gboolean
is_loopback_candidate (const char *candidate)
{
  g_auto (GStrv) t = g_strsplit (candidate, " ", 6);

  return g_strv_length (t) > 4 && g_str_has_prefix (t[4], "127.");
}

/* The types this guest acts on; the rest (stateUpdate every second,
 * viewersUpdated on every join...) are not even parsed. */
static gboolean
wanted (const char *text, gsize size)
{
  static const char *const types[] = { "initialState", "offer", "ice", "error",
                                       "mediaStopped", "roomClosed" };
  const char *prefix = "{\"type\":\"";
  gsize n = strlen (prefix);

  if (size < n || memcmp (text, prefix, n) != 0)
    return TRUE; /* not the server's usual layout: parse it */
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      gsize len = strlen (types[i]);

      if (size > n + len && memcmp (text + n, types[i], len) == 0 && text[n + len] == '"')
        return TRUE;
    }
  return FALSE;
}

static void
handle_message (RcBenchGuest *self, JsonObject *message)
{
  const char *type = json_object_get_string_member_with_default (message, "type", "");
  JsonNode *id_node = json_object_get_member (message, "id");
  const char *id = NULL;

  if (id_node != NULL && JSON_NODE_HOLDS_VALUE (id_node)
      && json_node_get_value_type (id_node) == G_TYPE_STRING)
    id = json_node_get_string (id_node);

  if (g_str_equal (type, "initialState") && g_strcmp0 (id, JOIN_ID) == 0)
    {
      g_autoptr (JsonObject) start = request_new ("startMedia", MEDIA_ID);

      json_object_set_string_member (start, "transport", "webrtc");
      send_object (self, start);
      set_state (self, RC_BENCH_GUEST_NEGOTIATING);
    }
  else if (g_str_equal (type, "offer"))
    {
      if (self->pipeline != NULL)
        fail (self, "a second offer");
      else
        start_webrtc (self, json_object_get_string_member_with_default (message, "sdp", ""));
    }
  else if (g_str_equal (type, "ice"))
    {
      const char *candidate = json_object_get_string_member_with_default (message, "candidate",
                                                                          NULL);
      gint64 mline = json_object_get_int_member_with_default (message, "sdpMLineIndex", 0);

      if (self->webrtc != NULL && candidate != NULL && is_loopback_candidate (candidate)
          && mline >= 0 && mline < 16)
        g_signal_emit_by_name (self->webrtc, "add-ice-candidate", (guint) mline, candidate);
    }
  else if (g_str_equal (type, "error")
           && (g_strcmp0 (id, JOIN_ID) == 0 || g_strcmp0 (id, MEDIA_ID) == 0))
    fail (self, "%s refused: %s (%" G_GINT64_FORMAT ")", id,
          json_object_get_string_member_with_default (message, "message", "?"),
          json_object_get_int_member_with_default (message, "code", 0));
  else if (g_str_equal (type, "mediaStopped"))
    fail (self, "the server stopped the audio (%s)",
          json_object_get_string_member_with_default (message, "reason", "?"));
  else if (g_str_equal (type, "roomClosed"))
    fail (self, "the room was closed");
}

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *data, gpointer user_data)
{
  RcBenchGuest *self = user_data;
  g_autoptr (JsonParser) parser = NULL;
  gsize size;
  const char *text = g_bytes_get_data (data, &size);

  if (type != SOUP_WEBSOCKET_DATA_TEXT || !wanted (text, size))
    return;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) size, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  handle_message (self, json_node_get_object (json_parser_get_root (parser)));
}

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  RcBenchGuest *self = user_data;

  fail (self, "the server closed the connection (%u)",
        soup_websocket_connection_get_close_code (conn));
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *conn;
  RcBenchGuest *self = user_data;
  g_autoptr (JsonObject) join = NULL;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (conn == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, "cannot connect: %s", error->message);
      guest_unref (self);
      return;
    }
  if (self->disposed)
    {
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (conn);
      guest_unref (self);
      return;
    }
  self->conn = conn;
  soup_websocket_connection_set_max_incoming_payload_size (conn, 64 * 1024 * 1024);
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);
  join = request_new ("join", JOIN_ID);
  json_object_set_string_member (join, "roomId", self->room_id);
  json_object_set_string_member (join, "name", self->name);
  send_object (self, join);
  guest_unref (self);
}

RcBenchGuest *
rc_bench_guest_new (const RcBenchGuestOptions *options)
{
  RcBenchGuest *self = g_new0 (RcBenchGuest, 1);
  g_autoptr (SoupMessage) msg = NULL;

  self->ref_count = 1;
  self->ws_url = g_strdup (options->ws_url);
  self->room_id = g_strdup (options->room_id);
  self->name = g_strdup (options->name);
  self->decode = options->decode;
  self->late_us = options->late_us;
  self->changed = options->changed;
  self->user_data = options->user_data;
  self->context = g_main_context_ref_thread_default ();
  self->events = (RcWebrtcEvents) { self->context, self, (gpointer (*) (gpointer)) guest_ref,
                                    (void (*) (gpointer)) guest_unref, dispatch_event };
  self->session = g_object_ref (options->session);
  self->cancellable = g_cancellable_new ();
  self->state = RC_BENCH_GUEST_CONNECTING;
  g_mutex_init (&self->lock);
  self->created_us = g_get_monotonic_time ();
  self->ext_ts = G_MAXUINT64;

  msg = soup_message_new ("GET", self->ws_url);
  if (msg == NULL)
    {
      fail (self, "bad URL %s", self->ws_url);
      return self;
    }
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_connected, guest_ref (self));
  return self;
}

static void
release_closed (SoupWebsocketConnection *conn, gpointer data)
{
  g_object_unref (conn);
}

void
rc_bench_guest_free (RcBenchGuest *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  if (self->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->conn, self);
      if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          g_autoptr (JsonObject) stop = request_new ("stopMedia", NULL);
          g_autoptr (JsonObject) leave = request_new ("leave", NULL);

          send_object (self, stop);
          send_object (self, leave);
          g_signal_connect (self->conn, "closed", G_CALLBACK (release_closed), NULL);
          soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
          self->conn = NULL;
        }
      g_clear_object (&self->conn);
    }
  self->disposed = TRUE;
  stop_webrtc (self);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  guest_unref (self);
}

void
rc_bench_guest_get_stats (RcBenchGuest *self, RcBenchGuestStats *stats)
{
  stats->state = self->state;
  g_mutex_lock (&self->lock);
  stats->packets = self->packets;
  stats->lost = self->lost;
  stats->late = self->late;
  stats->max_gap_us = self->max_gap_us;
  stats->max_late_us = self->max_late_us;
  stats->created_us = self->created_us;
  stats->first_packet_us = self->first_packet_us;
  g_mutex_unlock (&self->lock);
}

void
rc_bench_guest_reset_max (RcBenchGuest *self)
{
  g_mutex_lock (&self->lock);
  self->max_gap_us = 0;
  self->max_late_us = 0;
  self->last_arrival_us = 0;
  g_mutex_unlock (&self->lock);
}

const char *
rc_bench_guest_get_failure (RcBenchGuest *self)
{
  return self->failure;
}

/* SPDX-License-Identifier: MIT */
/*
 * A guest that is a program: the signalling half (libsoup WebSocket on /ws)
 * around an RcNativeReceiver (the media half). Why it is split so: tests of
 * the WebRTC branch drive the receiver in-process without a server, while
 * this file is the only place that speaks the protocol as a client does:
 *
 *   join ─ initialState ─ startMedia{transport:webrtc} ─ offer ─ answer
 *   ─ ice both ways ─ ... ─ stopMedia, leave, close
 *
 * Requests it makes carry the ids "join" and "media", so an error reply to
 * either is known as this guest's failure; errors to requests the user sent
 * with rc_native_guest_send() are only passed on.
 *
 * Without on_message or playout, text messages of the types it does not act
 * on (a stateUpdate every second, viewersUpdated on every join...) are not
 * even parsed: bench-fanout runs hundreds of these guests beside the server.
 *
 * With follow_cluster it moves between a cluster's nodes as the browser
 * client does (client-js/src/signalling.js): the node list from
 * GET /api/nodes after each connect, reconnects with backoff, the next
 * node after two failed connects, a join's nodeUrl followed. The player
 * (and its clock, the room's node's) lives across reconnects.
 *
 * With playout, an RcNativePlayout is made as soon as initialState names the
 * server's clock port, before media is asked for, so the network clock has
 * the time the offer takes to sync. Its packets come from the receiver's
 * RTP callback (webrtcbin's thread) or from the binary WebSocket frames
 * (this context); its timeline from `timeline` messages.
 */
#include "rc_native_guest.h"
#include "rc_native_receiver.h"
#include "pipelines/rc_ws_branch.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#define JOIN_ID "join"
#define MEDIA_ID "media"
#define DEFAULT_REPORT_INTERVAL_MS 3000
/* Below any playout delay the server allows (--playout-delay-min ≥ 10 ms
 * is the floor, 60 ms its default): a packet webrtcbin waits for longer
 * than this is late anyway. */
#define PLAYOUT_JITTERBUFFER_MS 50
/* follow_cluster: failed connects to one node before the next, the first
 * reconnect's delay (doubling, with jitter, up to the last), and how many
 * nodeUrl moves one join may make. */
#define ATTEMPTS_PER_NODE 2
#define RECONNECT_MIN_MS 500
#define RECONNECT_MAX_MS 5000
#define MAX_NODE_MOVES 3

struct _RcNativeGuest
{
  char *server_url;
  char *room_id;
  char *name;
  char *password;
  char *owner_token;
  char *record_path;
  gboolean keep_pcm;
  RcNativeDecode decode;
  gint64 late_us;
  void (*on_message) (RcNativeGuest *guest, JsonObject *message, gpointer user_data);
  gpointer user_data;

  gboolean loopback;
  SoupSession *session;
  GCancellable *cancellable;
  SoupWebsocketConnection *conn;
  gboolean closing;
  gboolean joined;
  char *failure;

  RcNativeReceiver *receiver;
  guint receivers; /* how many were made: the second records no WAV */
  RcNativeGuestStats last; /* of the last receiver, once it is gone */

  /* synced playout */
  gboolean playout;
  gboolean ws;
  double latency_offset_ms;
  char *sink;
  guint report_interval_ms;
  gboolean realtime;
  char *host; /* of the server: its clock is there too */
  RcNativePlayout *player;
  guint report_id;
  guint reports_sent;
  gboolean ws_media; /* mediaStarted received, no mediaStopped since */
  guint64 ws_packets;
  guint64 ws_lost;
  guint32 ws_last_seq;
  gboolean ws_have_seq;
  gint64 ws_last_arrival_us;
  gint64 ws_max_gap_us;

  /* follow_cluster */
  gboolean follow;
  GPtrArray *nodes;   /* char*: the cluster's node URLs, as last listed */
  char *node_url;     /* the node connected to (or being) */
  guint failed_here;  /* connects to it that failed in a row */
  guint attempt;      /* reconnects since the last that held */
  guint moves;        /* nodeUrl moves since the last join that got in */
  guint reconnect_id;
};

static void
set_failure (RcNativeGuest *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
set_failure (RcNativeGuest *self, const char *format, ...)
{
  va_list args;

  if (self->failure != NULL)
    return;
  va_start (args, format);
  self->failure = g_strdup_vprintf (format, args);
  va_end (args);
  g_debug ("%s: %s", self->name, self->failure);
}

static void
send_object (RcNativeGuest *self, JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  json_node_set_object (node, object);
  text = json_to_string (node, FALSE);
  rc_native_guest_send (self, text);
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
drop_receiver (RcNativeGuest *self)
{
  if (self->receiver == NULL)
    return;
  rc_native_receiver_get_stats (self->receiver, &self->last);
  self->last.connected = FALSE;
  g_clear_pointer (&self->receiver, rc_native_receiver_free);
}

static void
on_answer (RcNativeReceiver *receiver, const char *sdp, gpointer data)
{
  g_autoptr (JsonObject) o = request_new ("answer", NULL);

  json_object_set_string_member (o, "sdp", sdp);
  send_object (data, o);
}

static void
on_local_ice (RcNativeReceiver *receiver, guint mline_index, const char *candidate,
              gpointer data)
{
  g_autoptr (JsonObject) o = request_new ("ice", NULL);

  json_object_set_string_member (o, "candidate", candidate);
  json_object_set_int_member (o, "sdpMLineIndex", mline_index);
  send_object (data, o);
}

static void
on_media_failed (RcNativeReceiver *receiver, const char *reason, gpointer data)
{
  RcNativeGuest *self = data;

  set_failure (self, "media failed: %s", reason);
  drop_receiver (self);
}

static const RcNativeReceiverCallbacks receiver_callbacks = {
  .answer = on_answer,
  .ice = on_local_ice,
  .failed = on_media_failed,
};

/* webrtcbin's streaming thread: a packet for the player (which outlives
 * the receiver: see drop_receiver and rc_native_guest_free). */
static void
on_rtp_packet (GstBuffer *packet, gpointer data)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  if (!gst_rtp_buffer_map (packet, GST_MAP_READ, &rtp))
    return;
  rc_native_playout_push_rtp (data, gst_rtp_buffer_get_timestamp (&rtp),
                              gst_rtp_buffer_get_payload (&rtp),
                              gst_rtp_buffer_get_payload_len (&rtp));
  gst_rtp_buffer_unmap (&rtp);
}

static void
handle_offer (RcNativeGuest *self, JsonObject *message)
{
  const char *sdp = json_object_get_string_member_with_default (message, "sdp", NULL);
  g_autoptr (GError) error = NULL;
  RcNativeReceiverOptions options = {
    .name = self->name,
    .loopback_only = self->loopback,
    .keep_pcm = self->keep_pcm,
    /* A second session (startMedia again) must not truncate the recording. */
    .record_path = self->receivers == 0 && self->player == NULL ? self->record_path : NULL,
    .rtp = self->player != NULL ? on_rtp_packet : NULL,
    .rtp_data = self->player,
    .jitterbuffer_ms = self->player != NULL ? PLAYOUT_JITTERBUFFER_MS : 0,
    .decode = self->decode,
    .late_us = self->late_us,
  };

  drop_receiver (self);
  self->receiver = rc_native_receiver_new (&options, &receiver_callbacks, self, &error);
  self->receivers++;
  if (self->receiver == NULL)
    {
      set_failure (self, "cannot receive: %s", error->message);
      return;
    }
  if (sdp == NULL || !rc_native_receiver_set_offer (self->receiver, sdp, &error))
    {
      set_failure (self, "bad offer: %s", error != NULL ? error->message : "no sdp");
      drop_receiver (self);
    }
}

static gboolean
send_report (gpointer data)
{
  RcNativeGuest *self = data;
  RcNativeSyncReport r;
  g_autoptr (JsonObject) o = NULL;

  if (self->player == NULL)
    return G_SOURCE_CONTINUE;
  rc_native_playout_take_report (self->player, &r);
  if (r.rendered == 0 || !self->joined)
    return G_SOURCE_CONTINUE;
  o = request_new ("syncReport", NULL);
  json_object_set_string_member (o, "transport", "native");
  json_object_set_double_member (o, "error", CLAMP (r.error, -10000, 10000));
  json_object_set_double_member (o, "arrival", CLAMP (r.arrival, -10000, 10000));
  json_object_set_double_member (o, "jitter", CLAMP (r.jitter, 0, 10000));
  json_object_set_double_member (o, "latencyOffset", CLAMP (self->latency_offset_ms, -10000, 10000));
  json_object_set_int_member (o, "underruns", (gint64) MIN (r.underruns, G_MAXINT32));
  send_object (self, o);
  self->reports_sent++;
  g_debug ("%s: syncReport error %.3f ms (max %.3f, %u rendered), arrival p99 %.1f ms over %u "
           "packets, jitter %.2f ms, underruns %" G_GUINT64_FORMAT,
           self->name, r.error, r.error_max, r.rendered, r.arrival, r.received, r.jitter,
           r.underruns);
  return G_SOURCE_CONTINUE;
}

/* initialState: follow the server clock now, render once media comes. */
static gboolean
start_playout (RcNativeGuest *self, JsonObject *initial)
{
  JsonNode *clock = json_object_get_member (initial, "clock");
  gint64 port = 0;
  g_autoptr (GError) error = NULL;
  RcNativePlayoutOptions options = {
    .name = self->name,
    .clock_address = self->host,
    .latency_offset_ms = self->latency_offset_ms,
    .sink = self->sink,
    .record_path = self->record_path,
    .keep_pcm = self->keep_pcm,
    .transport = self->ws ? "ws" : "webrtc",
    .realtime = self->realtime,
  };

  if (self->player != NULL)
    return TRUE; /* a second join keeps the clock */
  if (clock != NULL && JSON_NODE_HOLDS_OBJECT (clock))
    {
      JsonNode *host_node = json_object_get_member (json_node_get_object (clock), "host");
      const char *host = host_node != NULL && JSON_NODE_HOLDS_VALUE (host_node)
                             && json_node_get_value_type (host_node) == G_TYPE_STRING
                           ? json_node_get_string (host_node) : NULL;

      port = json_object_get_int_member_with_default (json_node_get_object (clock), "port", 0);
      /* In a cluster the room's node keeps the clock, maybe on another host. */
      if (host != NULL && *host != '\0')
        options.clock_address = host;
    }
  if (port <= 0 || port > 65535)
    {
      set_failure (self, "the server publishes no clock (initialState.clock.port)");
      return FALSE;
    }
  options.clock_port = (guint) port;
  self->player = rc_native_playout_new (&options, &error);
  if (self->player == NULL)
    {
      set_failure (self, "cannot play out: %s", error->message);
      return FALSE;
    }
  self->report_id = g_timeout_add (self->report_interval_ms, send_report, self);
  return TRUE;
}

static void
handle_timeline (RcNativeGuest *self, JsonObject *m)
{
  if (self->player == NULL || !json_object_has_member (m, "rtpTimestamp")
      || !json_object_has_member (m, "serverTime") || !json_object_has_member (m, "playoutDelay"))
    return;
  rc_native_playout_set_timeline (
    self->player, (guint32) json_object_get_int_member (m, "rtpTimestamp"),
    json_object_get_double_member (m, "serverTime"),
    (guint) json_object_get_int_member_with_default (m, "clockRate", 48000),
    json_object_get_double_member (m, "playoutDelay"),
    json_object_get_double_member_with_default (m, "previousPlayoutDelay", NAN),
    json_object_get_double_member_with_default (m, "playoutDelayAt", NAN));
}

/* One frame of a binary WebSocket message: one Opus packet and its C. */
static void
handle_frame (RcNativeGuest *self, const guint8 *data, gsize size, gint64 now)
{
  guint32 rtp, seq;
  double c;
  const guint8 *payload;
  gsize length;

  if (!rc_ws_frame_parse (data, size, &rtp, &c, &seq, &payload, &length))
    return;
  self->ws_packets++;
  if (self->ws_have_seq && seq - self->ws_last_seq > 1 && seq - self->ws_last_seq < 0x80000000u)
    self->ws_lost += seq - self->ws_last_seq - 1;
  self->ws_last_seq = seq;
  self->ws_have_seq = TRUE;
  if (self->ws_last_arrival_us > 0)
    self->ws_max_gap_us = MAX (self->ws_max_gap_us, now - self->ws_last_arrival_us);
  self->ws_last_arrival_us = now;
  rc_native_playout_push (self->player, c, payload, length);
}

/* A binary WebSocket message: one frame, or a bundle of them. */
static void
handle_binary (RcNativeGuest *self, GBytes *bytes)
{
  gsize size, offset = 0, length;
  const guint8 *data = g_bytes_get_data (bytes, &size), *frame;
  gint64 now = g_get_monotonic_time ();

  if (!self->ws || self->player == NULL)
    return;
  while (rc_ws_message_next (data, size, &offset, &frame, &length))
    handle_frame (self, frame, length, now);
}

static gboolean follow_node_url (RcNativeGuest *self, JsonObject *error);

static void
send_join (RcNativeGuest *self)
{
  g_autoptr (JsonObject) join = request_new ("join", JOIN_ID);

  json_object_set_string_member (join, "roomId", self->room_id);
  json_object_set_string_member (join, "name", self->name);
  if (self->password != NULL)
    json_object_set_string_member (join, "password", self->password);
  if (self->owner_token != NULL)
    json_object_set_string_member (join, "ownerToken", self->owner_token);
  send_object (self, join);
}

static void
handle_message (RcNativeGuest *self, JsonObject *message)
{
  const char *type = json_object_get_string_member_with_default (message, "type", "");
  const char *id = NULL;

  if (json_object_has_member (message, "id")
      && JSON_NODE_HOLDS_VALUE (json_object_get_member (message, "id"))
      && json_node_get_value_type (json_object_get_member (message, "id")) == G_TYPE_STRING)
    id = json_object_get_string_member (message, "id");

  if (g_str_equal (type, "offer"))
    {
      handle_offer (self, message);
      return;
    }
  if (g_str_equal (type, "ice"))
    {
      gint64 mline = json_object_get_int_member_with_default (message, "sdpMLineIndex", 0);

      if (self->receiver != NULL && mline >= 0 && mline < 16)
        rc_native_receiver_add_ice (
          self->receiver, (guint) mline,
          json_object_get_string_member_with_default (message, "candidate", NULL));
      return;
    }
  if (g_str_equal (type, "initialState") && g_strcmp0 (id, JOIN_ID) == 0)
    {
      g_autoptr (JsonObject) start = request_new ("startMedia", MEDIA_ID);

      self->joined = TRUE;
      self->attempt = 0;
      self->moves = 0;
      if (!self->playout || start_playout (self, message))
        {
          json_object_set_string_member (start, "transport", self->ws ? "ws" : "webrtc");
          send_object (self, start);
        }
    }
  else if (g_str_equal (type, "timeline"))
    handle_timeline (self, message);
  else if (g_str_equal (type, "mediaStarted"))
    self->ws_media = self->ws;
  else if (g_str_equal (type, "mediaStopped"))
    {
      const char *reason = json_object_get_string_member_with_default (message, "reason", "");

      drop_receiver (self);
      self->ws_media = FALSE;
      if (g_str_equal (reason, "failed"))
        set_failure (self, "the server stopped the audio: it failed");
    }
  else if (g_str_equal (type, "roomClosed"))
    {
      self->joined = FALSE;
      drop_receiver (self);
      if (self->follow
          && g_strcmp0 (json_object_get_string_member_with_default (message, "reason", ""), "moved")
               == 0)
        send_join (self); /* its node finds where the room went */
      else
        set_failure (self, "the room was closed");
    }
  else if (g_str_equal (type, "error") && g_strcmp0 (id, JOIN_ID) == 0
           && follow_node_url (self, message))
    return;
  else if (g_str_equal (type, "error")
           && (g_strcmp0 (id, JOIN_ID) == 0 || g_strcmp0 (id, MEDIA_ID) == 0))
    set_failure (self, "%s refused: %s (%" G_GINT64_FORMAT ")",
                 g_str_equal (id, JOIN_ID) ? "join" : "startMedia",
                 json_object_get_string_member_with_default (message, "message", "?"),
                 json_object_get_int_member_with_default (message, "code", 0));
  if (self->on_message != NULL)
    self->on_message (self, message, self->user_data);
}

/* Whether a text message may matter to a guest that passes none on: the
 * server writes "type" first, so the others are known without parsing. */
static gboolean
wanted (RcNativeGuest *self, const char *text, gsize size)
{
  static const char *const types[] = { "initialState", "offer", "ice", "error", "timeline",
                                       "mediaStarted", "mediaStopped", "roomClosed" };
  const char *prefix = "{\"type\":\"";
  gsize n = strlen (prefix);

  if (self->on_message != NULL || self->playout || size < n || memcmp (text, prefix, n) != 0)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      gsize len = strlen (types[i]);

      if (size > n + len && memcmp (text + n, types[i], len) == 0 && text[n + len] == '"')
        return TRUE;
    }
  return FALSE;
}

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *data, gpointer user_data)
{
  RcNativeGuest *self = user_data;
  g_autoptr (JsonParser) parser = NULL;
  gsize size;
  const char *text = g_bytes_get_data (data, &size);

  if (type == SOUP_WEBSOCKET_DATA_BINARY)
    {
      handle_binary (self, data);
      return;
    }
  if (type == SOUP_WEBSOCKET_DATA_TEXT && !wanted (self, text, size))
    return;
  parser = json_parser_new ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || !json_parser_load_from_data (parser, text, (gssize) size, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_debug ("%s: ignoring a message that is not a JSON object", self->name);
      return;
    }
  handle_message (self, json_node_get_object (json_parser_get_root (parser)));
}

static void connect_to (RcNativeGuest *self, const char *server_url);
static void release_closed (SoupWebsocketConnection *conn, gpointer data);

static gboolean
on_reconnect (gpointer data)
{
  RcNativeGuest *self = data;

  self->reconnect_id = 0;
  connect_to (self, self->node_url);
  return G_SOURCE_REMOVE;
}

/* A connect failed or the socket was lost: again later, on the next node
 * after ATTEMPTS_PER_NODE failures here. */
static void
schedule_reconnect (RcNativeGuest *self)
{
  guint base = MIN (RECONNECT_MAX_MS, RECONNECT_MIN_MS << MIN (self->attempt, 8));
  guint delay = base / 2 + g_random_int_range (0, (gint32) base / 2 + 1);

  self->failed_here++;
  if (self->failed_here >= ATTEMPTS_PER_NODE && self->nodes->len >= 2)
    {
      guint at = 0;

      for (guint i = 0; i < self->nodes->len; i++)
        if (g_str_equal (self->nodes->pdata[i], self->node_url))
          at = i;
      g_free (self->node_url);
      self->node_url = g_strdup (self->nodes->pdata[(at + 1) % self->nodes->len]);
      self->failed_here = 0;
    }
  self->attempt++;
  g_debug ("%s: reconnecting to %s in %u ms", self->name, self->node_url, delay);
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  self->reconnect_id = g_timeout_add (delay, on_reconnect, self);
}

/* The socket is going away (lost, or left for another node). */
static void
drop_connection (RcNativeGuest *self)
{
  self->joined = FALSE;
  self->ws_media = FALSE;
  drop_receiver (self);
  if (self->conn == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->conn, self);
  if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_signal_connect (self->conn, "closed", G_CALLBACK (release_closed), NULL);
      soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      self->conn = NULL;
    }
  g_clear_object (&self->conn);
}

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  RcNativeGuest *self = user_data;

  if (self->follow && !self->closing)
    {
      drop_connection (self);
      schedule_reconnect (self);
      return;
    }
  self->joined = FALSE;
  drop_receiver (self);
  if (!self->closing)
    set_failure (self, "the server closed the connection (%u)",
                 soup_websocket_connection_get_close_code (conn));
}

/* A join answered 4208 or 4209 with the node to go to. */
static gboolean
follow_node_url (RcNativeGuest *self, JsonObject *error)
{
  const char *url = json_object_get_string_member_with_default (error, "nodeUrl", NULL);
  gint64 code = json_object_get_int_member_with_default (error, "code", 0);

  if (!self->follow || url == NULL || (code != 4208 && code != 4209)
      || self->moves >= MAX_NODE_MOVES)
    return FALSE;
  self->moves++;
  g_debug ("%s: join sent on to %s (%" G_GINT64_FORMAT ")", self->name, url, code);
  drop_connection (self);
  connect_to (self, url);
  return TRUE;
}

/* GET /api/nodes on the node just connected to: the nodes to go round. */
static void
on_nodes (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcNativeGuest *self = user_data;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *nodes;

  if (body == NULL
      || !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                      (gssize) g_bytes_get_size (body), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return; /* cancelled, or its node is going: the last list stands */
  root = json_node_get_object (json_parser_get_root (parser));
  nodes = json_object_has_member (root, "nodes") ? json_object_get_array_member (root, "nodes")
                                                 : NULL;
  if (nodes == NULL || json_array_get_length (nodes) == 0)
    return;
  g_ptr_array_set_size (self->nodes, 0);
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonNode *node = json_array_get_element (nodes, i);
      const char *url = JSON_NODE_HOLDS_OBJECT (node)
                          ? json_object_get_string_member_with_default (
                              json_node_get_object (node), "url", NULL)
                          : NULL;

      if (url != NULL)
        g_ptr_array_add (self->nodes, g_strdup (url));
    }
}

static void
learn_nodes (RcNativeGuest *self)
{
  g_autofree char *url = g_strconcat (self->node_url, "/api/nodes", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  if (msg != NULL)
    soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                      on_nodes, self);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *conn;
  RcNativeGuest *self;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (conn == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      if (((RcNativeGuest *) user_data)->follow)
        schedule_reconnect (user_data);
      else
        set_failure (user_data, "cannot connect: %s", error->message);
      return;
    }
  self = user_data;
  self->conn = conn;
  self->failed_here = 0;
  if (self->follow)
    learn_nodes (self);
  /* An offer is a few kB; leave room for large server messages (queues). */
  soup_websocket_connection_set_max_incoming_payload_size (conn, 16 * 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (conn, 5);
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);
  send_join (self);
}

/* "http://host:port/..." → "ws://host:port/ws"; NULL when it is no such URL. */
static char *
websocket_url (const char *server_url, gboolean *loopback, char **host_out)
{
  g_autoptr (GUri) uri = g_uri_parse (server_url, G_URI_FLAGS_NONE, NULL);
  const char *scheme, *host;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "ws") == 0)
    scheme = "ws";
  else if (g_ascii_strcasecmp (scheme, "https") == 0 || g_ascii_strcasecmp (scheme, "wss") == 0)
    scheme = "wss";
  else
    return NULL;
  host = g_uri_get_host (uri);
  *host_out = g_strdup (host);
  *loopback = g_str_has_prefix (host, "127.") || g_str_equal (host, "::1")
              || g_ascii_strcasecmp (host, "localhost") == 0;
  return g_uri_join (G_URI_FLAGS_NONE, scheme, NULL, host, g_uri_get_port (uri), "/ws", NULL,
                     NULL);
}

static void
release_closed (SoupWebsocketConnection *conn, gpointer data)
{
  g_object_unref (conn);
}

RcNativeGuest *
rc_native_guest_new (const RcNativeGuestOptions *options)
{
  RcNativeGuest *self = g_new0 (RcNativeGuest, 1);
  self->server_url = g_strdup (options->server_url);
  self->room_id = g_strdup (options->room_id);
  self->name = g_strdup (options->name != NULL ? options->name : "native guest");
  self->password = g_strdup (options->password);
  self->owner_token = g_strdup (options->owner_token);
  self->record_path = g_strdup (options->record_path);
  self->keep_pcm = options->keep_pcm;
  self->decode = options->decode;
  self->late_us = options->late_us;
  self->on_message = options->on_message;
  self->user_data = options->user_data;
  self->cancellable = g_cancellable_new ();

  self->playout = options->playout || g_strcmp0 (options->transport, "ws") == 0;
  self->ws = g_strcmp0 (options->transport, "ws") == 0;
  self->latency_offset_ms = options->latency_offset_ms;
  self->realtime = options->realtime;
  self->sink = g_strdup (options->sink);
  self->report_interval_ms =
    options->report_interval_ms > 0 ? options->report_interval_ms : DEFAULT_REPORT_INTERVAL_MS;
  if (options->transport != NULL && !self->ws && !g_str_equal (options->transport, "webrtc"))
    {
      set_failure (self, "unknown transport %s (webrtc or ws)", options->transport);
      return self;
    }

  self->follow = options->follow_cluster;
  self->nodes = g_ptr_array_new_with_free_func (g_free);
  if (self->room_id == NULL)
    {
      set_failure (self, "need a room id");
      return self;
    }
  self->session = options->session != NULL ? g_object_ref (options->session) : soup_session_new ();
  connect_to (self, self->server_url);
  return self;
}

/* Opens /ws of @server_url (an http(s):// node URL); the join follows. */
static void
connect_to (RcNativeGuest *self, const char *server_url)
{
  g_autofree char *host = NULL;
  g_autofree char *url =
    server_url != NULL ? websocket_url (server_url, &self->loopback, &host) : NULL;
  g_autoptr (SoupMessage) msg = url != NULL ? soup_message_new ("GET", url) : NULL;

  if (msg == NULL)
    {
      set_failure (self, "need an http(s) server URL (got %s)",
                   server_url != NULL ? server_url : "no URL");
      return;
    }
  if (self->node_url != server_url)
    {
      g_free (self->node_url);
      self->node_url = g_strdup (server_url);
    }
  /* The first node's host stands for the clock's until initialState names it. */
  if (self->host == NULL)
    self->host = g_steal_pointer (&host);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_connected, self);
}

void
rc_native_guest_free (RcNativeGuest *self)
{
  if (self == NULL)
    return;
  self->closing = TRUE;
  g_cancellable_cancel (self->cancellable);
  if (self->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->conn, self);
      if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          g_autoptr (JsonObject) leave = request_new ("leave", NULL);

          if (self->receiver != NULL || self->ws_media)
            {
              g_autoptr (JsonObject) stop = request_new ("stopMedia", NULL);
              send_object (self, stop);
            }
          send_object (self, leave);
          /* The close handshake finishes on the main loop; the socket keeps
           * itself until then. */
          g_signal_connect (self->conn, "closed", G_CALLBACK (release_closed), NULL);
          soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
          self->conn = NULL;
        }
      g_clear_object (&self->conn);
    }
  drop_receiver (self);
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  /* After the receiver: its streaming threads pushed into the player. */
  g_clear_handle_id (&self->report_id, g_source_remove);
  g_clear_pointer (&self->player, rc_native_playout_free);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_free (self->server_url);
  g_free (self->room_id);
  g_free (self->name);
  g_free (self->password);
  g_free (self->owner_token);
  g_free (self->record_path);
  g_free (self->failure);
  g_free (self->sink);
  g_free (self->host);
  g_free (self->node_url);
  g_clear_pointer (&self->nodes, g_ptr_array_unref);
  g_free (self);
}

void
rc_native_guest_send (RcNativeGuest *self, const char *json)
{
  if (self->conn != NULL
      && soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->conn, json);
}

void
rc_native_guest_get_stats (RcNativeGuest *self, RcNativeGuestStats *stats)
{
  if (self->ws)
    {
      memset (stats, 0, sizeof *stats);
      stats->connected = self->ws_media;
      stats->packets = self->ws_packets;
      stats->lost = self->ws_lost;
      stats->max_gap_us = self->ws_max_gap_us;
    }
  else if (self->receiver != NULL)
    rc_native_receiver_get_stats (self->receiver, stats);
  else
    *stats = self->last;
  if (self->player != NULL)
    {
      RcNativePlayoutStats p;

      /* What was rendered, not what was decoded. */
      rc_native_playout_get_stats (self->player, &p);
      stats->frames = p.rendered_frames;
      stats->first_audio_us = p.first_render_us;
    }
  stats->joined = self->joined;
}

void
rc_native_guest_reset_gap (RcNativeGuest *self)
{
  self->ws_max_gap_us = 0;
  self->ws_last_arrival_us = 0;
  if (self->receiver != NULL)
    rc_native_receiver_reset_gap (self->receiver);
}

gint16 *
rc_native_guest_get_recent_pcm (RcNativeGuest *self, guint ms, gsize *n_frames)
{
  *n_frames = 0;
  if (self->player != NULL)
    return rc_native_playout_get_recent_pcm (self->player, ms, n_frames);
  if (self->receiver == NULL)
    return NULL;
  return rc_native_receiver_get_recent_pcm (self->receiver, ms, n_frames);
}

gboolean
rc_native_guest_get_playout_stats (RcNativeGuest *self, RcNativePlayoutStats *stats)
{
  if (self->player == NULL)
    {
      memset (stats, 0, sizeof *stats);
      return FALSE;
    }
  rc_native_playout_get_stats (self->player, stats);
  return TRUE;
}

guint
rc_native_guest_get_reports_sent (RcNativeGuest *self)
{
  return self->reports_sent;
}

const char *
rc_native_guest_get_failure (RcNativeGuest *self)
{
  if (self->failure == NULL && self->player != NULL)
    return rc_native_playout_get_failure (self->player);
  return self->failure;
}

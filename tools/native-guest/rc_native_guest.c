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
      set_failure (self, "the room was closed");
    }
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

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  RcNativeGuest *self = user_data;

  self->joined = FALSE;
  drop_receiver (self);
  if (!self->closing)
    set_failure (self, "the server closed the connection (%u)",
                 soup_websocket_connection_get_close_code (conn));
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *conn;
  RcNativeGuest *self;
  g_autoptr (JsonObject) join = NULL;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (conn == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_failure (user_data, "cannot connect: %s", error->message);
      return;
    }
  self = user_data;
  self->conn = conn;
  /* An offer is a few kB; leave room for large server messages (queues). */
  soup_websocket_connection_set_max_incoming_payload_size (conn, 16 * 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (conn, 5);
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);

  join = request_new ("join", JOIN_ID);
  json_object_set_string_member (join, "roomId", self->room_id);
  json_object_set_string_member (join, "name", self->name);
  if (self->password != NULL)
    json_object_set_string_member (join, "password", self->password);
  if (self->owner_token != NULL)
    json_object_set_string_member (join, "ownerToken", self->owner_token);
  send_object (self, join);
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
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;

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

  url = self->server_url != NULL
          ? websocket_url (self->server_url, &self->loopback, &self->host)
          : NULL;
  if (url == NULL || self->room_id == NULL)
    {
      set_failure (self, "need an http(s) server URL and a room id (got %s)",
                   self->server_url != NULL ? self->server_url : "no URL");
      return self;
    }
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      set_failure (self, "bad server URL %s", url);
      return self;
    }
  self->session = options->session != NULL ? g_object_ref (options->session) : soup_session_new ();
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_connected, self);
  return self;
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

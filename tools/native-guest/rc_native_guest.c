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
 */
#include "rc_native_guest.h"
#include "rc_native_receiver.h"

#include <libsoup/soup.h>

#define JOIN_ID "join"
#define MEDIA_ID "media"

struct _RcNativeGuest
{
  char *server_url;
  char *room_id;
  char *name;
  char *password;
  char *owner_token;
  char *record_path;
  gboolean keep_pcm;
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
    .record_path = self->receivers == 0 ? self->record_path : NULL,
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
      json_object_set_string_member (start, "transport", "webrtc");
      send_object (self, start);
    }
  else if (g_str_equal (type, "mediaStopped"))
    {
      const char *reason = json_object_get_string_member_with_default (message, "reason", "");

      drop_receiver (self);
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

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *data, gpointer user_data)
{
  RcNativeGuest *self = user_data;
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize size;
  const char *text = g_bytes_get_data (data, &size);

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
websocket_url (const char *server_url, gboolean *loopback)
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
  self->on_message = options->on_message;
  self->user_data = options->user_data;
  self->cancellable = g_cancellable_new ();

  url = self->server_url != NULL ? websocket_url (self->server_url, &self->loopback) : NULL;
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
  self->session = soup_session_new ();
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

          if (self->receiver != NULL)
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
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_free (self->server_url);
  g_free (self->room_id);
  g_free (self->name);
  g_free (self->password);
  g_free (self->owner_token);
  g_free (self->record_path);
  g_free (self->failure);
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
  if (self->receiver != NULL)
    rc_native_receiver_get_stats (self->receiver, stats);
  else
    *stats = self->last;
  stats->joined = self->joined;
}

void
rc_native_guest_reset_gap (RcNativeGuest *self)
{
  if (self->receiver != NULL)
    rc_native_receiver_reset_gap (self->receiver);
}

gint16 *
rc_native_guest_get_recent_pcm (RcNativeGuest *self, guint ms, gsize *n_frames)
{
  *n_frames = 0;
  if (self->receiver == NULL)
    return NULL;
  return rc_native_receiver_get_recent_pcm (self->receiver, ms, n_frames);
}

const char *
rc_native_guest_get_failure (RcNativeGuest *self)
{
  return self->failure;
}

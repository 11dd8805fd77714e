/* SPDX-License-Identifier: MIT */
/*
 * The edge of the signalling protocol. Every inbound frame passes, in this
 * order: request rate limit, size limit, JSON parse, "type" and "id" checks,
 * handler lookup, the handler's parameter table, the in-a-room check, the
 * chat rate limit. Anything that fails gets one `error` reply and the
 * connection carries on; nothing from the network can stop the session.
 */
#include "signalling/rc_session-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "signalling/rc_presence.h"
#include "signalling/rc_session_relay.h"

#include <string.h>

#define MAX_ID_CHARS 128

static void
send_error (RcSession *session, int code, const char *message, JsonNode *request_id)
{
  g_autoptr (JsonNode) reply = rc_error_to_json (code, message, request_id);

  rc_metrics_inc_error (rc_registry_get_metrics (session->host->registry), code);
  rc_session_send (session, reply);
}

/* A detached session (no socket) counts as open until it is freed. */
static gboolean
is_open (RcSession *session)
{
  return session->conn == NULL
         || soup_websocket_connection_get_state (session->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

void
rc_session_send_text (RcSession *session, const char *text, gsize length)
{
  if (!is_open (session))
    return;
  if (session->conn == NULL)
    {
      if (session->sink != NULL)
        session->sink (session, text, length, session->sink_data);
      return;
    }
  soup_websocket_connection_send_text (session->conn, text);
}

void
rc_session_send_frame (RcSession *session, GBytes *frame)
{
  if (session->ws_peer != NULL && session->conn != NULL && is_open (session))
    rc_ws_peer_send_frame (session->ws_peer, frame);
}

void
rc_session_send (RcSession *session, JsonNode *message)
{
  g_autofree char *text = NULL;

  if (!is_open (session))
    return;
  text = rc_json_to_string (message);
  rc_session_send_text (session, text, strlen (text));
}

void
rc_session_reply (RcSession *session, JsonNode *message, JsonNode *request_id)
{
  g_autofree char *text = NULL;

  if (!is_open (session))
    return;
  /* Written with the id rather than copied with it: a reply can be big
   * (initialState) and @message may be shared (stored chat, a broadcast). */
  text = rc_json_to_string_with_id (message, request_id);
  rc_session_send_text (session, text, strlen (text));
}

void
rc_session_leave_room (RcSession *session)
{
  RcGuest *guest = g_steal_pointer (&session->guest);
  RcRoom *room;

  if (session->host->relay != NULL)
    rc_session_relay_detach (session->host->relay, session);
  if (guest == NULL)
    return;
  room = guest->room;
  if (room != NULL)
    {
      g_autofree char *left = g_strdup_printf ("%s left", guest->name);
      gboolean listed;

      rc_room_remove_guest (room, guest);
      listed = rc_presence_is_listed (session->host->presence, room);
      rc_presence_left (session->host->presence, room, guest);
      if (listed)
        rc_room_notify (room, "leave", left, NULL);
    }
  rc_guest_free (guest);
}

/* A request id may be a string or a number, small enough to echo back. */
static gboolean
check_request_id (JsonNode *id, GError **error)
{
  if (JSON_NODE_HOLDS_VALUE (id))
    {
      GType t = json_node_get_value_type (id);

      if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE)
        return TRUE;
      if (t == G_TYPE_STRING && g_utf8_strlen (json_node_get_string (id), -1) <= MAX_ID_CHARS)
        return TRUE;
    }
  g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
               "\"id\" must be a number or a string of at most %d characters", MAX_ID_CHARS);
  return FALSE;
}

static void
dispatch (RcSession *session, const char *data, gsize length, gint64 now_us)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) request = NULL;
  JsonNode *request_id = NULL;
  const RcHandler *handler;
  const char *type;

  request = rc_validate_parse_object (data, length, &error);
  if (request == NULL)
    goto fail;

  request_id = json_object_get_member (request, "id");
  if (request_id != NULL && JSON_NODE_HOLDS_NULL (request_id))
    request_id = NULL;
  if (request_id != NULL && !check_request_id (request_id, &error))
    {
      request_id = NULL;
      goto fail;
    }

  type = rc_json_get_string (request, "type");
  if (type == NULL)
    {
      g_set_error_literal (&error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                           "Every message needs a string \"type\"");
      goto fail;
    }
  handler = rc_handlers_lookup (type);
  if (handler == NULL)
    {
      g_autofree char *shown = g_utf8_substring (type, 0, MIN (g_utf8_strlen (type, -1), 40));
      g_set_error (&error, RC_ERROR, RC_ERROR_UNKNOWN_TYPE, "Unknown message type \"%s\"", shown);
      goto fail;
    }
  if (handler->params != NULL && !rc_validate_object (request, handler->params, &error))
    goto fail;
  if (handler->needs_room && (session->guest == NULL || session->guest->room == NULL))
    {
      rc_error_set (&error, RC_ERROR_NOT_IN_ROOM);
      goto fail;
    }
  if (handler->is_chat && !rc_rate_limit_take (&session->chat, now_us))
    {
      g_set_error_literal (&error, RC_ERROR, RC_ERROR_RATE_LIMITED,
                           "Too many chat messages; slow down");
      goto fail;
    }
  if (handler->func (session, request, request_id, &error))
    return;

fail:
  rc_session_reply_error (session, error, request_id);
}

void
rc_session_reply_error (RcSession *session, const GError *error, JsonNode *request_id)
{
  rc_session_reply_error_at (session, error, request_id, NULL);
}

void
rc_session_reply_error_at (RcSession *session, const GError *error, JsonNode *request_id,
                           const char *node_url)
{
  g_autoptr (JsonNode) reply = rc_error_from_gerror (error, request_id);

  if (node_url != NULL)
    json_object_set_string_member (json_node_get_object (reply), "nodeUrl", node_url);

  rc_metrics_inc_error (rc_registry_get_metrics (session->host->registry),
                        rc_error_code_of (error));
  rc_session_send (session, reply);
}

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  RcSession *session = user_data;
  gint64 now_us = g_get_monotonic_time ();
  gsize length;
  const char *data = g_bytes_get_data (message, &length);

  session->received_ms = rc_clock_now_ms ();
  session->last_activity_us = now_us;
  rc_metrics_inc (rc_registry_get_metrics (session->host->registry), RC_METRIC_WS_MESSAGES);
  if (!rc_rate_limit_take (&session->requests, now_us))
    {
      send_error (session, RC_ERROR_RATE_LIMITED, NULL, NULL);
      return;
    }
  if (length > (gsize) session->host->config->max_message_bytes)
    {
      g_autofree char *msg =
        g_strdup_printf ("Message of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GINT64_FORMAT,
                         length, session->host->config->max_message_bytes);
      send_error (session, RC_ERROR_TOO_LARGE, msg, NULL);
      return;
    }
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      send_error (session, RC_ERROR_INVALID_MESSAGE, "Binary messages are not accepted", NULL);
      return;
    }
  if (session->host->relay != NULL
      && rc_session_relay_intercept (session->host->relay, session, data, length))
    return;
  dispatch (session, data, length, now_us);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  RcSession *session = user_data;

  rc_session_leave_room (session);
  if (session->closed != NULL)
    session->closed (session, session->closed_data);
}

/*
 * libsoup 3.2 meets a frame over max-incoming-payload-size by closing the
 * socket at once, with no close frame: the peer sees a reset (or, behind a
 * proxy, nothing at all). The 1009 close frame the protocol promises is
 * written here, straight to the socket, before libsoup closes it (the
 * "error" signal comes first); a few bytes always fit in a socket's send
 * buffer, and the frame is best effort if they do not.
 */
static void
send_close_too_big (RcSession *session)
{
  static const char reason[] = "Message too big";
  guint8 frame[2 + 2 + sizeof reason - 1];
  GOutputStream *out = g_io_stream_get_output_stream (
    soup_websocket_connection_get_io_stream (session->conn));
  g_autoptr (GError) error = NULL;

  frame[0] = 0x88; /* FIN, close */
  frame[1] = (guint8) (sizeof frame - 2);
  frame[2] = SOUP_WEBSOCKET_CLOSE_TOO_BIG >> 8;
  frame[3] = SOUP_WEBSOCKET_CLOSE_TOO_BIG & 0xff;
  memcpy (frame + 4, reason, sizeof reason - 1);
  if (!G_IS_POLLABLE_OUTPUT_STREAM (out)
      || g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), frame,
                                                     sizeof frame, NULL, &error)
           != (gssize) sizeof frame)
    g_debug ("WebSocket %s: no room for the 1009 close frame", session->peer);
}

static void
on_error (SoupWebsocketConnection *conn, GError *error, gpointer user_data)
{
  RcSession *session = user_data;

  g_debug ("WebSocket %s: %s", session->peer, error->message);
  if (g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG)
      && soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_message ("Closing WebSocket %s with 1009: a frame over the %" G_GUINT64_FORMAT
                 " byte limit", session->peer,
                 soup_websocket_connection_get_max_incoming_payload_size (conn));
      send_close_too_big (session);
    }
}

/* What every session starts with, socket or not. */
static RcSession *
session_new (const RcSessionHost *host, const char *peer, const char *address)
{
  RcSession *session = g_new0 (RcSession, 1);
  gint64 now = g_get_monotonic_time ();
  const RcConfig *config = host->config;

  session->host = host;
  session->peer = g_strdup (peer ? peer : "unknown");
  session->address = g_strdup (address ? address : session->peer);
  session->last_activity_us = now;
  rc_rate_limit_init (&session->requests, config->rate_limit, config->rate_burst, now);
  rc_rate_limit_init (&session->chat, config->chat_rate_limit, config->chat_burst, now);
  return session;
}

RcSession *
rc_session_new_detached (const RcSessionHost *host, const char *peer, RcSessionSinkFunc sink,
                         gpointer user_data)
{
  RcSession *session = session_new (host, peer, NULL);

  session->sink = sink;
  session->sink_data = user_data;
  return session;
}

void
rc_session_receive_text (RcSession *session, const char *data, gsize length)
{
  g_autoptr (GBytes) message = g_bytes_new_static (data, length);

  on_message (session->conn, SOUP_WEBSOCKET_DATA_TEXT, message, session);
}

RcSession *
rc_session_new (const RcSessionHost *host, SoupWebsocketConnection *conn,
                RcActivityStream *activity, RcWsPeer *ws_peer, const char *peer,
                const char *address, RcSessionClosedFunc closed, gpointer user_data)
{
  RcSession *session = session_new (host, peer, address);
  const RcConfig *config = host->config;

  session->conn = g_object_ref (conn);
  session->activity = activity ? g_object_ref (activity) : NULL;
  session->ws_peer = ws_peer != NULL ? rc_ws_peer_ref (ws_peer) : NULL;
  session->closed = closed;
  session->closed_data = user_data;

  /* Oversized frames up to 4x the limit are read and refused with an error
   * (the connection lives on); beyond that libsoup closes with 1009. */
  soup_websocket_connection_set_max_incoming_payload_size (
    conn, (guint64) MAX (config->max_message_bytes * 4, 4 * 1024 * 1024));
  /* With the writer, pings go out from the server's one-second sweep
   * (rc_session_check_idle): libsoup's keepalive is a timer per connection
   * on the main context, which every iteration of it walks. */
  if (session->ws_peer == NULL)
    soup_websocket_connection_set_keepalive_interval (conn, (guint) config->ping_interval);
  session->last_ping_us = session->last_activity_us;
  g_signal_connect (conn, "message", G_CALLBACK (on_message), session);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), session);
  g_signal_connect (conn, "error", G_CALLBACK (on_error), session);
  return session;
}

void
rc_session_free (RcSession *session)
{
  if (session == NULL)
    return;
  /* A password check still running finds its join cancelled and never
   * touches this session again. */
  if (session->joining != NULL)
    g_cancellable_cancel (session->joining);
  g_clear_object (&session->joining);
  rc_session_leave_room (session);
  if (session->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (session->conn, session);
      if (soup_websocket_connection_get_state (session->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (session->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_object_unref (session->conn);
    }
  g_clear_object (&session->activity);
  g_clear_pointer (&session->ws_peer, rc_ws_peer_unref);
  if (session->sink_free != NULL)
    session->sink_free (session->sink_data);
  g_free (session->sid);
  g_free (session->relay_node);
  g_free (session->relay_join);
  g_free (session->relay_room);
  g_free (session->relay_back);
  g_free (session->remote_node);
  g_free (session->edge_room);
  g_free (session->edge_start_id);
  g_free (session->edge_timeline);
  g_free (session->relay_clock_host);
  g_free (session->peer);
  g_free (session->address);
  g_free (session);
}

void
rc_session_close (RcSession *session, gushort code, const char *reason)
{
  rc_session_leave_room (session);
  if (session->conn != NULL
      && soup_websocket_connection_get_state (session->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (session->conn, code, reason);
}

void
rc_session_check_idle (RcSession *session, gint64 now_us)
{
  gint64 timeout_us = session->host->config->idle_timeout * G_USEC_PER_SEC;

  if (session->activity != NULL)
    {
      guint64 bytes = rc_activity_stream_get_bytes_read (session->activity);

      if (bytes != session->last_bytes)
        {
          session->last_bytes = bytes;
          session->last_activity_us = now_us;
        }
    }
  if (session->guest == NULL && !is_open (session))
    return;
  if (session->ws_peer != NULL && is_open (session)
      && now_us - session->last_ping_us >= session->host->config->ping_interval * G_USEC_PER_SEC)
    {
      session->last_ping_us = now_us;
      rc_ws_peer_ping (session->ws_peer);
    }
  if (now_us - session->last_activity_us > timeout_us)
    {
      g_message ("Dropping WebSocket %s: nothing received for %" G_GINT64_FORMAT " s",
                 session->peer, session->host->config->idle_timeout);
      rc_session_close (session, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "idle timeout");
    }
}

const char *
rc_session_get_peer (RcSession *session)
{
  return session->peer;
}

/* SPDX-License-Identifier: MIT */
/* libsoup WebSocket client for integration tests: a real client on loopback. */
#include "rc_test_ws.h"
#include "rc_test_util.h"

#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  RcTestWs *ws = user_data;
  g_autofree char *text = NULL;

  if (type == SOUP_WEBSOCKET_DATA_BINARY)
    {
      g_queue_push_tail (&ws->binary, g_bytes_ref (message));
      return;
    }
  text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  g_queue_push_tail (&ws->messages, rc_test_parse (text));
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  RcTestWs *ws = user_data;

  ws->closed = TRUE;
  ws->close_code = soup_websocket_connection_get_close_code (conn);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcTestWs *ws = user_data;
  g_autoptr (GError) error = NULL;

  ws->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

RcTestWs *
rc_test_ws_connect (RcTestServer *server)
{
  RcTestWs *ws = g_new0 (RcTestWs, 1);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws", server->port);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  g_queue_init (&ws->messages);
  g_queue_init (&ws->binary);
  ws->session = soup_session_new ();
  soup_session_websocket_connect_async (ws->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, ws);
  g_assert_true (RC_WAIT_UNTIL (ws->conn != NULL, 5000 * rc_test_slowdown ()));
  /* Tests send large frames on purpose; let the client side carry them. */
  soup_websocket_connection_set_max_incoming_payload_size (ws->conn, 64 * 1024 * 1024);
  g_signal_connect (ws->conn, "message", G_CALLBACK (on_message), ws);
  g_signal_connect (ws->conn, "closed", G_CALLBACK (on_closed), ws);
  return ws;
}

void
rc_test_ws_free (RcTestWs *ws)
{
  if (ws == NULL)
    return;
  if (ws->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (ws->conn, ws);
      if (soup_websocket_connection_get_state (ws->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (ws->conn);
    }
  g_queue_clear_full (&ws->messages, (GDestroyNotify) json_node_unref);
  g_queue_clear_full (&ws->binary, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&ws->session);
  g_free (ws);
}

void
rc_test_ws_send (RcTestWs *ws, const char *text)
{
  soup_websocket_connection_send_text (ws->conn, text);
}

void
rc_test_ws_sendf (RcTestWs *ws, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  rc_test_ws_send (ws, text);
}

/* Hands the caller a reference to the message object; the node goes. */
static JsonObject *
take_object (JsonNode *node)
{
  JsonObject *o = json_object_ref (json_node_get_object (node));

  json_node_unref (node);
  return o;
}

JsonObject *
rc_test_ws_next (RcTestWs *ws, guint timeout_ms)
{
  if (!RC_WAIT_UNTIL (!g_queue_is_empty (&ws->messages), timeout_ms))
    return NULL;
  return take_object (g_queue_pop_head (&ws->messages));
}

JsonObject *
rc_test_ws_expect (RcTestWs *ws, const char *type, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      JsonObject *o = rc_test_ws_next (ws, 50);

      if (o == NULL)
        continue;
      if (g_strcmp0 (rc_test_str (o, "type"), type) == 0)
        return o;
      json_object_unref (o);
    }
  g_error ("timed out after %u ms waiting for a \"%s\" message", timeout_ms, type);
  return NULL;
}

JsonObject *
rc_test_ws_expect_error (RcTestWs *ws, int code, guint timeout_ms)
{
  JsonObject *o = rc_test_ws_expect (ws, "error", timeout_ms);

  g_assert_cmpint (json_object_get_int_member (o, "code"), ==, code);
  g_assert_nonnull (rc_test_str (o, "message"));
  return o;
}

RcTestWs *
rc_test_ws_join (RcTestServer *server, const char *room_id, const char *name,
                 const char *password, const char *owner_token, JsonObject **initial_state)
{
  RcTestWs *ws = rc_test_ws_connect (server);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;
  JsonObject *state;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "join");
  json_builder_set_member_name (b, "roomId");
  json_builder_add_string_value (b, room_id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  if (password != NULL)
    {
      json_builder_set_member_name (b, "password");
      json_builder_add_string_value (b, password);
    }
  if (owner_token != NULL)
    {
      json_builder_set_member_name (b, "ownerToken");
      json_builder_add_string_value (b, owner_token);
    }
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  text = json_to_string (node, FALSE);
  rc_test_ws_send (ws, text);
  state = rc_test_ws_expect (ws, "initialState", 5000);
  if (initial_state != NULL)
    *initial_state = state;
  else
    json_object_unref (state);
  return ws;
}

JsonObject *
rc_test_ws_command (RcTestWs *ws, const char *request)
{
  g_autofree char *with_id = NULL;

  g_assert_true (request[0] == '{');
  with_id = g_strdup_printf ("{\"id\":\"rc-test-command\",%s", request + 1);
  rc_test_ws_send (ws, with_id);
  for (;;)
    {
      JsonObject *o = rc_test_ws_next (ws, 5000);

      if (o == NULL)
        g_error ("no reply to %s", request);
      if (g_strcmp0 (rc_test_str (o, "id"), "rc-test-command") == 0)
        return o;
      json_object_unref (o);
    }
}

/* ---- raw clients: a socket the test reads (or does not read) itself ------- */

static void
on_raw_client_event (GSocketClient *client, GSocketClientEvent event,
                     GSocketConnectable *connectable, GIOStream *connection, gpointer data)
{
  int rcvbuf = GPOINTER_TO_INT (data);

  /* Before the SYN, so the window the server sees is this small. */
  if (event == G_SOCKET_CLIENT_CONNECTING && rcvbuf > 0)
    g_socket_set_option (g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection)),
                         SOL_SOCKET, SO_RCVBUF, rcvbuf, NULL);
}

/* @text as one masked client text frame. */
static guint8 *
raw_frame (const char *text, gsize *size)
{
  const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  gsize len = strlen (text);
  guint8 *frame = g_malloc (8 + len);
  gsize head = len < 126 ? 2 : 4;

  g_assert_cmpuint (len, <=, G_MAXUINT16);
  frame[0] = 0x81;
  if (len < 126)
    frame[1] = 0x80 | (guint8) len;
  else
    {
      frame[1] = 0x80 | 126;
      frame[2] = (guint8) (len >> 8);
      frame[3] = (guint8) len;
    }
  memcpy (frame + head, mask, 4);
  for (gsize i = 0; i < len; i++)
    frame[head + 4 + i] = (guint8) text[i] ^ mask[i % 4];
  *size = head + 4 + len;
  return frame;
}

void
rc_test_ws_raw_send (GSocketConnection *conn, const char *text)
{
  g_autoptr (GError) error = NULL;
  gsize size;
  g_autofree guint8 *frame = raw_frame (text, &size);

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), frame, size,
                             NULL, NULL, &error);
  g_assert_no_error (error);
}

static GSocketConnection *
raw_join (RcTestServer *server, const char *room_id, const char *name, int rcvbuf,
          gboolean eager)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn;
  GInputStream *in;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autofree char *request = NULL;
  g_autofree char *join = NULL;
  char response[1024];
  gsize got = 0;

  g_signal_connect (client, "event", G_CALLBACK (on_raw_client_event), GINT_TO_POINTER (rcvbuf));
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", (guint16) server->port, NULL,
                                          &error);
  g_assert_no_error (error);
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  request = g_strdup_printf ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n",
                             server->port);
  join = g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"%s\"}", room_id, name);
  g_byte_array_append (out, (const guint8 *) request, strlen (request));
  if (eager)
    {
      gsize size;
      g_autofree guint8 *frame = raw_frame (join, &size);

      g_byte_array_append (out, frame, size);
    }
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), out->data,
                             out->len, NULL, NULL, &error);
  g_assert_no_error (error);
  while (got < sizeof response - 1)
    {
      gssize n = g_input_stream_read (in, response + got, 1, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 1);
      got++;
      if (got >= 4 && memcmp (response + got - 4, "\r\n\r\n", 4) == 0)
        break;
    }
  response[got] = '\0';
  g_assert_nonnull (strstr (response, " 101 "));
  /* One Connection header, and it says Upgrade (not also "close"). */
  g_assert_nonnull (strstr (response, "\r\nConnection: Upgrade\r\n"));
  g_assert_null (strstr (response, "Connection: close"));
  if (!eager)
    rc_test_ws_raw_send (conn, join);
  return conn;
}

GSocketConnection *
rc_test_ws_raw_join (RcTestServer *server, const char *room_id, const char *name, int rcvbuf)
{
  return raw_join (server, room_id, name, rcvbuf, FALSE);
}

GSocketConnection *
rc_test_ws_raw_join_eager (RcTestServer *server, const char *room_id, const char *name)
{
  return raw_join (server, room_id, name, 0, TRUE);
}

GBytes *
rc_test_ws_raw_read (GSocketConnection *conn, guint *opcode)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  guint8 head[10];
  gsize got = 0, length;
  guint8 *payload;

  if (!g_input_stream_read_all (in, head, 2, &got, NULL, NULL) || got < 2)
    return NULL;
  *opcode = head[0] & 0x0f;
  length = head[1] & 0x7f;
  if (length == 126 || length == 127)
    {
      gsize extra = length == 126 ? 2 : 8;

      if (!g_input_stream_read_all (in, head + 2, extra, &got, NULL, NULL) || got < extra)
        return NULL;
      length = 0;
      for (gsize i = 0; i < extra; i++)
        length = (length << 8) | head[2 + i];
    }
  payload = g_malloc (length + 1);
  if (!g_input_stream_read_all (in, payload, length, &got, NULL, NULL) || got < length)
    {
      g_free (payload);
      return NULL;
    }
  payload[length] = '\0';
  return g_bytes_new_take (payload, length);
}

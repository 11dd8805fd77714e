/* SPDX-License-Identifier: MIT */
/*
 * Connection timeouts and early body refusal for the HTTP server, which
 * libsoup 3.2 does not provide: without them a client that declares a huge
 * body has it buffered before any handler can refuse it, a half-sent request
 * holds its socket for ever. Every response says `Connection: close` (and
 * libsoup, handed its connections by rc_http_listener, keeps none alive):
 * libsoup 3.2.3 never notices a keep-alive connection the client closes
 * while idle, and closing the socket under it leaves its connection objects
 * behind (~2 KiB each). The idle phase below remains for a connection that
 * outlives its response all the same. Connections are found by their
 * GSocket (rc_http_socket_of), the same object for every request of one
 * connection.
 *
 * Ordering rules: libsoup connects its own got-headers handler (which runs
 * the early handlers) before it emits request-started, so ours runs after the
 * early handlers and sees the status they set. A connection may be closed
 * under libsoup only once libsoup has stopped polling it: the idle watch runs
 * at G_PRIORITY_LOW, after libsoup's own reader has seen the end of stream.
 */
#include "server/http/rc_http_guard.h"
#include "pipelines/rc_defer.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"
#include "server/http/rc_http_listener.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define DRAIN_SECONDS 2
#define DRAIN_MAX_BYTES (1024 * 1024)

typedef enum
{
  PHASE_HEADERS,  /* waiting for a request's headers */
  PHASE_BODY,     /* waiting for its body */
  PHASE_HANDLING, /* a handler has it; no timeout */
  PHASE_IDLE,     /* keep-alive, between requests */
} Phase;

typedef struct
{
  GSocket *socket; /* strong */
  Phase phase;
  guint64 body_bytes;
  GSource *timer; /* owned; NULL when none */
  GSource *watch; /* owned; the idle end-of-stream watch */
} RcHttpConn;

struct _RcHttpGuard
{
  SoupServer *soup; /* borrowed */
  RcHttpGuardLimits limits;
  GHashTable *conns; /* GSocket* → RcHttpConn* (owned) */
  gulong handlers[3];
};

static void
conn_free (RcHttpConn *conn)
{
  rc_source_clear (&conn->timer);
  rc_source_clear (&conn->watch);
  g_object_unref (conn->socket);
  g_free (conn);
}

static RcHttpConn *
conn_of (RcHttpGuard *guard, SoupServerMessage *msg)
{
  GSocket *socket = rc_http_socket_of (msg);

  return socket != NULL ? g_hash_table_lookup (guard->conns, socket) : NULL;
}

/* A source whose callback finds its connection again by socket: the
 * connection may be forgotten before the source fires. */
typedef struct
{
  RcHttpGuard *guard;
  GSocket *socket;
} SourceData;

static void
source_data_free (gpointer data)
{
  SourceData *sd = data;

  g_object_unref (sd->socket);
  g_free (sd);
}

static SourceData *
source_data_new (RcHttpGuard *guard, RcHttpConn *conn)
{
  SourceData *sd = g_new (SourceData, 1);

  sd->guard = guard;
  sd->socket = g_object_ref (conn->socket);
  return sd;
}

static gboolean
on_timeout (gpointer user_data)
{
  SourceData *sd = user_data;
  RcHttpConn *conn = g_hash_table_lookup (sd->guard->conns, sd->socket);
  static const char *const what[] = { "request headers", "request body", NULL, "idle" };

  if (conn == NULL)
    return G_SOURCE_REMOVE;
  g_clear_pointer (&conn->timer, g_source_unref);
  g_debug ("Closing an HTTP connection: %s timeout", what[conn->phase]);
  /* libsoup's reader sees the end of stream and winds the connection up;
   * for an idle one, the idle watch closes it after that. */
  g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
arm (RcHttpGuard *guard, RcHttpConn *conn, Phase phase, guint seconds)
{
  conn->phase = phase;
  rc_source_clear (&conn->timer);
  if (seconds == 0)
    return;
  conn->timer = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (conn->timer, on_timeout, source_data_new (guard, conn),
                         source_data_free);
  g_source_attach (conn->timer, NULL);
}

/* The idle connection's socket is readable: a new request, or the end. */
static gboolean
on_idle_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  SourceData *sd = user_data;
  RcHttpConn *conn = g_hash_table_lookup (sd->guard->conns, socket);
  char byte;
  gssize n;

  if (conn == NULL || g_socket_is_closed (socket))
    return G_SOURCE_REMOVE;
  n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
    return G_SOURCE_CONTINUE; /* libsoup reads the request; request-started follows */
  g_clear_pointer (&conn->watch, g_source_unref);
  g_socket_close (socket, NULL);
  g_hash_table_remove (sd->guard->conns, socket);
  return G_SOURCE_REMOVE;
}

static void
watch_idle (RcHttpGuard *guard, RcHttpConn *conn)
{
  rc_source_clear (&conn->watch);
  conn->watch = g_socket_create_source (conn->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_priority (conn->watch, G_PRIORITY_LOW);
  g_source_set_callback (conn->watch, G_SOURCE_FUNC (on_idle_readable),
                         source_data_new (guard, conn), source_data_free);
  g_source_attach (conn->watch, NULL);
}

/*
 * Answering without reading the body: the connection is taken from libsoup,
 * the response written, our side shut, and what the client still sends is
 * read and dropped for a moment (closing with unread data would reset the
 * connection and could lose the response) before the socket is closed.
 */
typedef struct
{
  GIOStream *stream;
  GSocket *socket;
  GBytes *response;
  GCancellable *cancellable;
  guint deadline_id;
  gsize drained;
  char buffer[16384];
} RcEarlyReply;

static void
early_reply_finish (RcEarlyReply *reply)
{
  g_clear_handle_id (&reply->deadline_id, g_source_remove);
  g_io_stream_close (reply->stream, NULL, NULL);
  g_object_unref (reply->stream);
  g_object_unref (reply->socket);
  g_bytes_unref (reply->response);
  g_object_unref (reply->cancellable);
  g_free (reply);
}

static gboolean
on_drain_deadline (gpointer user_data)
{
  RcEarlyReply *reply = user_data;

  reply->deadline_id = 0;
  g_cancellable_cancel (reply->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_drained (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcEarlyReply *reply = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0 || (reply->drained += (gsize) n) > DRAIN_MAX_BYTES)
    {
      early_reply_finish (reply);
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (source), reply->buffer, sizeof reply->buffer,
                             G_PRIORITY_DEFAULT, reply->cancellable, on_drained, reply);
}

static void
on_early_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcEarlyReply *reply = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    {
      early_reply_finish (reply);
      return;
    }
  g_socket_shutdown (reply->socket, FALSE, TRUE, NULL);
  reply->deadline_id = g_timeout_add_seconds (DRAIN_SECONDS, on_drain_deadline, reply);
  g_input_stream_read_async (g_io_stream_get_input_stream (reply->stream), reply->buffer,
                             sizeof reply->buffer, G_PRIORITY_DEFAULT, reply->cancellable,
                             on_drained, reply);
}

static void
append_header (const char *name, const char *value, gpointer user_data)
{
  if (g_ascii_strcasecmp (name, "Content-Length") == 0
      || g_ascii_strcasecmp (name, "Connection") == 0
      || g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
    return;
  g_string_append_printf (user_data, "%s: %s\r\n", name, value);
}

/* The response as set on @msg (status, headers, body), as HTTP/1.1 bytes. */
static GBytes *
serialise_response (SoupServerMessage *msg)
{
  guint status = soup_server_message_get_status (msg);
  g_autoptr (GBytes) body =
    soup_message_body_flatten (soup_server_message_get_response_body (msg));
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "HTTP/1.1 %u %s\r\n", status, soup_status_get_phrase (status));
  soup_message_headers_foreach (soup_server_message_get_response_headers (msg), append_header,
                                text);
  g_string_append_printf (text, "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
                          g_bytes_get_size (body));
  g_string_append_len (text, g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body));
  return g_string_free_to_bytes (text);
}

static void
answer_now (RcHttpGuard *guard, SoupServerMessage *msg)
{
  RcEarlyReply *reply;
  GSocket *socket = rc_http_socket_of (msg);
  g_autoptr (GBytes) response = NULL;
  GIOStream *stream;
  gsize length;
  gconstpointer data;

  if (socket == NULL)
    return;
  response = serialise_response (msg);
  g_object_ref (socket);
  g_hash_table_remove (guard->conns, socket);
  g_object_ref (msg);
  stream = soup_server_message_steal_connection (msg);
  g_object_unref (msg);
  if (stream == NULL)
    {
      g_object_unref (socket);
      return;
    }
  reply = g_new0 (RcEarlyReply, 1);
  reply->stream = stream;
  reply->socket = socket;
  reply->response = g_steal_pointer (&response);
  reply->cancellable = g_cancellable_new ();
  data = g_bytes_get_data (reply->response, &length);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), data, length,
                                   G_PRIORITY_DEFAULT, reply->cancellable, on_early_written,
                                   reply);
}

static gboolean
has_body (SoupMessageHeaders *headers)
{
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  return encoding == SOUP_ENCODING_CHUNKED
         || (encoding == SOUP_ENCODING_CONTENT_LENGTH
             && soup_message_headers_get_content_length (headers) > 0);
}

/*
 * libsoup refuses some requests itself, before any handler: a bare 400.
 * Every error we send has a JSON body with a code, so these get one too.
 * - A request it cannot parse (a request line that is not one, a path that
 *   is not a URI such as "/%zz", HTTP/1.1 without Host) is answered with
 *   no signal in between: its answer is made ready when the request starts
 *   (prefill_bad_request) and dropped once the headers have parsed
 *   (got-headers, which such a request never reaches).
 * - A parsed path holding %00, or a ".." segment once decoded, is refused
 *   before our got-headers handler runs (libsoup's own runs first, with
 *   the early handlers): it gets its own message there. An early handler's
 *   answer (a 413) has replaced the prefilled one (rc_http_send_json) and
 *   is kept.
 */
/* The prefilled answer: the same text for every request, made once. */
static const char *
bad_request_text (void)
{
  static gsize once;
  static char *text;

  if (g_once_init_enter (&once))
    {
      g_autoptr (JsonNode) body = rc_error_to_json (
        RC_ERROR_INVALID_MESSAGE, "Malformed request: the request line or headers are not HTTP",
        NULL);

      text = rc_json_to_string (body);
      g_once_init_leave (&once, 1);
    }
  return text;
}

static void
prefill_bad_request (SoupServerMessage *msg)
{
  const char *text = bad_request_text ();

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Content-Type",
                                "application/json");
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC, text,
                            strlen (text));
}

/* TRUE while @msg's answer is still the prefilled one. */
static gboolean
answer_is_prefill (SoupServerMessage *msg)
{
  const char *text = bad_request_text ();
  g_autoptr (GBytes) body =
    soup_message_body_flatten (soup_server_message_get_response_body (msg));

  return g_bytes_get_size (body) == strlen (text)
         && memcmp (g_bytes_get_data (body, NULL), text, strlen (text)) == 0;
}

static void
drop_prefill_or_name_refusal (SoupServerMessage *msg)
{
  guint status = soup_server_message_get_status (msg);
  g_autoptr (JsonNode) body = NULL;

  if (!answer_is_prefill (msg))
    return;
  soup_message_body_truncate (soup_server_message_get_response_body (msg));
  soup_message_headers_remove (soup_server_message_get_response_headers (msg), "Content-Type");
  if (status == 0)
    return;
  /* libsoup refused the parsed request: its status stays, with our body. */
  body = rc_error_to_json (RC_ERROR_INVALID_MESSAGE,
                           status == SOUP_STATUS_BAD_REQUEST
                             ? "Malformed request: the path holds an encoded NUL or \"..\" segment"
                             : NULL,
                           NULL);
  rc_http_send_json (msg, status, body);
}

static void
on_got_headers (SoupServerMessage *msg, gpointer user_data)
{
  RcHttpGuard *guard = user_data;
  RcHttpConn *conn = conn_of (guard, msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  drop_prefill_or_name_refusal (msg);
  if (conn == NULL)
    return;
  if (has_body (headers))
    {
      /* An early handler refused the request from its headers: its answer
       * goes out now, not after a body nobody will read. */
      if (soup_server_message_get_status (msg) != 0)
        {
          answer_now (guard, msg);
          return;
        }
      if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
          && soup_message_headers_get_content_length (headers) > (goffset) guard->limits.max_body_bytes)
        {
          rc_http_send_error (msg, RC_ERROR_TOO_LARGE, NULL);
          answer_now (guard, msg);
          return;
        }
    }
  conn->body_bytes = 0;
  arm (guard, conn, PHASE_BODY, guard->limits.body_timeout_s);
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  RcHttpGuard *guard = user_data;
  RcHttpConn *conn = conn_of (guard, msg);

  if (conn == NULL)
    return;
  conn->body_bytes += g_bytes_get_size (chunk);
  if (conn->body_bytes > guard->limits.max_body_bytes)
    {
      rc_http_send_error (msg, RC_ERROR_TOO_LARGE, NULL);
      answer_now (guard, msg);
    }
}

static void
on_got_body (SoupServerMessage *msg, gpointer user_data)
{
  RcHttpGuard *guard = user_data;
  RcHttpConn *conn = conn_of (guard, msg);

  if (conn != NULL)
    arm (guard, conn, PHASE_HANDLING, 0);
}

static void
on_request_started (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  RcHttpGuard *guard = user_data;
  GSocket *socket = rc_http_socket_of (msg);
  RcHttpConn *conn;

  if (socket == NULL)
    return;
  conn = g_hash_table_lookup (guard->conns, socket);
  if (conn == NULL)
    {
      conn = g_new0 (RcHttpConn, 1);
      conn->socket = g_object_ref (socket);
      g_hash_table_insert (guard->conns, socket, conn);
    }
  rc_source_clear (&conn->watch);
  /* A WebSocket upgrade replaces it with "Upgrade". */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  prefill_bad_request (msg);
  arm (guard, conn, PHASE_HEADERS, guard->limits.header_timeout_s);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), guard);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), guard);
  g_signal_connect (msg, "got-body", G_CALLBACK (on_got_body), guard);
}

/* After libsoup has decided whether the connection lives on. */
static gboolean
after_request (gpointer user_data)
{
  SourceData *sd = user_data;
  RcHttpConn *conn = g_hash_table_lookup (sd->guard->conns, sd->socket);

  if (conn == NULL)
    return G_SOURCE_REMOVE;
  if (g_socket_is_closed (sd->socket))
    g_hash_table_remove (sd->guard->conns, sd->socket);
  else if (conn->phase == PHASE_HANDLING)
    {
      arm (sd->guard, conn, PHASE_IDLE, sd->guard->limits.idle_timeout_s);
      watch_idle (sd->guard, conn);
    }
  return G_SOURCE_REMOVE;
}

static void
on_request_done (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  RcHttpGuard *guard = user_data;
  RcHttpConn *conn = conn_of (guard, msg);

  if (conn == NULL)
    return;
  arm (guard, conn, PHASE_HANDLING, 0);
  g_idle_add_full (G_PRIORITY_DEFAULT, after_request, source_data_new (guard, conn),
                   source_data_free);
}

RcHttpGuard *
rc_http_guard_new (SoupServer *soup, const RcHttpGuardLimits *limits)
{
  RcHttpGuard *guard = g_new0 (RcHttpGuard, 1);

  guard->soup = soup;
  guard->limits = *limits;
  guard->conns = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) conn_free);
  guard->handlers[0] =
    g_signal_connect (soup, "request-started", G_CALLBACK (on_request_started), guard);
  guard->handlers[1] =
    g_signal_connect (soup, "request-finished", G_CALLBACK (on_request_done), guard);
  guard->handlers[2] =
    g_signal_connect (soup, "request-aborted", G_CALLBACK (on_request_done), guard);
  return guard;
}

void
rc_http_guard_free (RcHttpGuard *guard)
{
  if (guard == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (guard->handlers); i++)
    g_signal_handler_disconnect (guard->soup, guard->handlers[i]);
  g_hash_table_unref (guard->conns);
  g_free (guard);
}

void
rc_http_guard_sweep (RcHttpGuard *guard)
{
  GHashTableIter iter;
  gpointer socket;

  g_hash_table_iter_init (&iter, guard->conns);
  while (g_hash_table_iter_next (&iter, &socket, NULL))
    if (g_socket_is_closed (socket))
      g_hash_table_iter_remove (&iter);
}

guint
rc_http_guard_get_count (RcHttpGuard *guard)
{
  return g_hash_table_size (guard->conns);
}

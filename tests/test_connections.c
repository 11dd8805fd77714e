/* SPDX-License-Identifier: MIT */
/*
 * What a stream of connections does to a real roomcast: every kind of
 * connection, however it ends, gives its socket back (the server's open file
 * count returns to where it was), slow or oversized requests are cut off
 * without the server buffering them, and the server keeps answering.
 */
#include "rc_test_server.h"
#include "rc_test_util.h"

#include <string.h>
#include <sys/resource.h>

#define ROUNDS 500
#define FD_SLACK 8

static guint
fd_count (RcTestServer *server)
{
  g_autofree char *dir_path =
    g_strdup_printf ("/proc/%d/fd", (int) rc_test_server_get_pid (server));
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static guint64
rss_kib (RcTestServer *server)
{
  g_autofree char *path =
    g_strdup_printf ("/proc/%d/status", (int) rc_test_server_get_pid (server));
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

static GSocket *
connect_raw (RcTestServer *server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (loopback, (guint16) server->port);
  GSocket *socket =
    g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 10);
  g_socket_connect (socket, addr, NULL, &error);
  g_assert_no_error (error);
  return socket;
}

static void
send_all (GSocket *socket, const char *data, gsize length)
{
  g_autoptr (GError) error = NULL;

  while (length > 0)
    {
      gssize n = g_socket_send (socket, data, length, NULL, &error);

      g_assert_no_error (error);
      data += n;
      length -= (gsize) n;
    }
}

static void
send_text (GSocket *socket, const char *text)
{
  send_all (socket, text, strlen (text));
}

/* Reads until @needle has arrived (or the peer closes); returns all of it. */
static char *
read_until (GSocket *socket, const char *needle)
{
  GString *got = g_string_new (NULL);
  char buffer[4096];

  while (strstr (got->str, needle) == NULL)
    {
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (n <= 0)
        break;
      g_string_append_len (got, buffer, n);
    }
  return g_string_free (got, FALSE);
}

/* Reads to the end of stream; the seconds it took. */
static double
seconds_until_closed (GSocket *socket)
{
  gint64 start = g_get_monotonic_time ();
  char buffer[4096];

  while (g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL) > 0)
    ;
  return (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
}

static const char ws_upgrade[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n";

typedef enum
{
  KIND_HTTP_KEEPALIVE,
  KIND_WS_CLEAN,
  KIND_WS_DROPPED,
} Kind;

static void
one_connection (RcTestServer *server, Kind kind)
{
  g_autoptr (GSocket) socket = connect_raw (server);
  g_autofree char *reply = NULL;
  /* A masked close frame with status 1000. */
  static const char close_frame[] = { (char) 0x88, (char) 0x82, 0, 0, 0, 0, 0x03, (char) 0xe8 };

  switch (kind)
    {
    case KIND_HTTP_KEEPALIVE:
      send_text (socket, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      reply = read_until (socket, "}}");
      g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 200"));
      break;
    case KIND_WS_CLEAN:
      send_text (socket, ws_upgrade);
      reply = read_until (socket, "\r\n\r\n");
      g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 101"));
      send_all (socket, close_frame, sizeof close_frame);
      /* The server answers the close and ends the connection itself. */
      g_assert_cmpfloat (seconds_until_closed (socket), <, 5);
      break;
    case KIND_WS_DROPPED:
      send_text (socket, ws_upgrade);
      reply = read_until (socket, "\r\n\r\n");
      g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 101"));
      break;
    }
  g_socket_close (socket, NULL);
}

static void
test_no_fd_leak (gconstpointer data)
{
  Kind kind = GPOINTER_TO_INT (data);
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonNode) health = NULL;
  guint before, after = 0, status = 0;

  health = rc_test_http (server, "GET", "/health", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  before = fd_count (server);
  for (guint i = 0; i < ROUNDS; i++)
    one_connection (server, kind);
  /* Every socket is given back promptly (not only after an idle timeout). */
  g_assert_true (RC_WAIT_UNTIL ((after = fd_count (server)) <= before + FD_SLACK, 4000));
  g_test_message ("fds: %u before, %u after %d connections", before, after, ROUNDS);

  g_clear_pointer (&health, json_node_unref);
  health = rc_test_http (server, "GET", "/health", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* A body declared far too large is refused from its headers; the server
 * neither waits for nor keeps it. */
static void
test_oversized_body_refused_early (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (GSocket) declared = NULL;
  g_autoptr (GSocket) chunked = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *chunk = g_malloc (65536 + 16);
  g_autoptr (JsonNode) body = NULL;
  guint64 rss_before = rss_kib (server);
  const char *json;

  declared = connect_raw (server);
  send_text (declared, "POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"
                       "{\"name\":\"");
  reply = read_until (declared, "}");
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 413"));
  json = strstr (reply, "\r\n\r\n");
  g_assert_nonnull (json);
  body = rc_test_parse (json + 4);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (body), "code"), ==, 4301);
  /* And the connection ends rather than waiting for a gigabyte. */
  g_assert_cmpfloat (seconds_until_closed (declared), <, 5);

  /* A chunked body is cut off once it passes the limit. */
  chunked = connect_raw (server);
  send_text (chunked, "POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  memcpy (chunk, "10000\r\n", 7);
  memset (chunk + 7, ' ', 65536);
  memcpy (chunk + 7 + 65536, "\r\n", 2);
  for (guint i = 0; i < 64; i++)
    if (g_socket_send (chunked, chunk, 7 + 65536 + 2, NULL, NULL) <= 0)
      break; /* the server has answered and stopped reading */
  g_free (reply);
  reply = read_until (chunked, "}");
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 413"));

  /* Neither body was buffered (4 MiB sent; a few MiB of slack for the rest). */
  g_test_message ("RSS %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT " KiB after",
                  rss_before, rss_kib (server));
  g_assert_cmpuint (rss_kib (server), <, rss_before + 3 * 1024);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* A half-sent request line is closed after the header timeout; a request
 * asking for keep-alive gets its answer and the connection ends with it
 * (libsoup 3.2.3 never noticed keep-alive connections closed by the client
 * while idle: every response now says so and closes). */
static void
test_slow_requests_closed (void)
{
  const char *args[] = { "--http-header-timeout", "1", "--http-idle-timeout", "2",
                         "--http-body-timeout", "1", NULL };
  g_autoptr (RcTestServer) server = rc_test_server_start (args);
  g_autoptr (GSocket) half = connect_raw (server);
  g_autoptr (GSocket) stalled = NULL;
  g_autoptr (GSocket) idle = NULL;
  g_autofree char *reply = NULL;
  double waited;

  send_text (half, "GET /hea");
  waited = seconds_until_closed (half);
  g_assert_cmpfloat (waited, >, 0.5);
  g_assert_cmpfloat (waited, <, 4);

  /* Headers whole, the body 10 of the 100 bytes it declared, then nothing. */
  stalled = connect_raw (server);
  send_text (stalled, "POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":\"");
  waited = seconds_until_closed (stalled);
  g_test_message ("a stalled body closed after %.2f s (--http-body-timeout 1)", waited);
  g_assert_cmpfloat (waited, >, 0.5);
  g_assert_cmpfloat (waited, <, 4);

  idle = connect_raw (server);
  send_text (idle, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  reply = read_until (idle, "}}");
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (reply, "\r\nConnection: close\r\n"));
  waited = seconds_until_closed (idle);
  g_assert_cmpfloat (waited, <, 1);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* The close frame in @data, if one is there: its status code, else 0. */
static guint
close_code_in (const char *data, gsize length)
{
  for (gsize i = 0; i + 4 <= length;)
    {
      guint8 opcode = (guint8) data[i] & 0x0f;
      gsize payload = (guint8) data[i + 1] & 0x7f, at = 2;

      if (payload == 126)
        {
          if (i + 4 > length)
            break;
          payload = ((guint8) data[i + 2] << 8) | (guint8) data[i + 3];
          at = 4;
        }
      else if (payload == 127)
        break; /* the server sends nothing that large here */
      if (opcode == 0x8)
        return payload >= 2 ? ((guint) (guint8) data[i + at] << 8) | (guint8) data[i + at + 1] : 1005;
      i += at + payload;
    }
  return 0;
}

/* A 5 MiB text frame (over the 4 MiB frame limit) is answered at once with a
 * close frame carrying 1009, and the server frees the session's socket. */
static void
test_oversized_frame_closed_1009 (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (GSocket) socket = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *filler = g_malloc0 (64 * 1024);
  guint64 payload = 5 * 1024 * 1024;
  char header[14] = { (char) 0x81, (char) (0x80 | 127) };
  GString *got = g_string_new (NULL);
  guint before, after = 0, code = 0;
  gint64 start;

  before = fd_count (server);
  socket = connect_raw (server);
  send_text (socket, ws_upgrade);
  reply = read_until (socket, "\r\n\r\n");
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 101"));
  for (int i = 0; i < 8; i++)
    header[2 + i] = (char) ((payload >> (56 - 8 * i)) & 0xff);
  /* mask 0 0 0 0: the payload goes on the wire as it is */
  start = g_get_monotonic_time ();
  send_all (socket, header, sizeof header);
  /* As a client would, keep sending; the server may stop reading at any point. */
  for (guint sent = 0; sent < payload; sent += 64 * 1024)
    if (g_socket_send (socket, filler, 64 * 1024, NULL, NULL) <= 0)
      break;
  g_socket_set_timeout (socket, 2);
  while (code == 0)
    {
      char buffer[4096];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (n <= 0)
        break;
      g_string_append_len (got, buffer, n);
      code = close_code_in (got->str, got->len);
    }
  g_string_free (got, TRUE);
  g_test_message ("close %u after %.3f s", code,
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  g_assert_cmpuint (code, ==, 1009);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_socket_close (socket, NULL);
  g_assert_true (RC_WAIT_UNTIL ((after = fd_count (server)) <= before + 1, 3000));
  g_test_message ("fds: %u before, %u after", before, after);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* A server at its open-file limit cannot take more connections, but once
 * they are gone it serves again (libsoup alone stops accepting for good
 * after the first failed accept). */
#define FD_LIMIT 96
#define HELD 130

static void
limit_open_files (gpointer data)
{
  struct rlimit limit = { FD_LIMIT, FD_LIMIT };

  setrlimit (RLIMIT_NOFILE, &limit);
}

static double
metric_value (RcTestServer *server, const char *name)
{
  g_autoptr (GSocket) socket = connect_raw (server);
  g_autofree char *reply = NULL;
  g_autofree char *needle = g_strdup_printf ("\n%s ", name);
  const char *line;

  send_text (socket, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  reply = read_until (socket, "\r\n\r\n\x01"); /* to the end */
  line = strstr (reply, needle);
  g_assert_nonnull (line);
  return g_ascii_strtod (line + strlen (needle), NULL);
}

static void
test_accepts_again_after_fd_limit (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start_with_setup (NULL, limit_open_files, NULL);
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GSocket) late = NULL;
  g_autofree char *reply = NULL;
  guint peak = 0;

  g_assert_cmpfloat (metric_value (server, "process_max_fds"), ==, FD_LIMIT);
  g_assert_cmpuint (fd_count (server), <, FD_LIMIT - 20);
  /* More connections than the server has descriptors, all held open (the
   * kernel completes them in the listen backlog). */
  for (guint i = 0; i < HELD; i++)
    g_ptr_array_add (held, connect_raw (server));
  g_assert_true (RC_WAIT_UNTIL ((peak = fd_count (server)) >= FD_LIMIT - 1, 5000));
  g_test_message ("server at %u of %d descriptors with %d connections held", peak, FD_LIMIT,
                  HELD);
  g_ptr_array_set_size (held, 0);

  /* It serves again: a new request is answered. */
  late = connect_raw (server);
  send_text (late, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  reply = read_until (late, "}}");
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 200"));
  g_assert_cmpfloat (metric_value (server, "roomcast_http_accept_restarts_total"), >=, 1);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_data_func ("/connections/no-fd-leak/http-keepalive",
                        GINT_TO_POINTER (KIND_HTTP_KEEPALIVE), test_no_fd_leak);
  g_test_add_data_func ("/connections/no-fd-leak/websocket-clean", GINT_TO_POINTER (KIND_WS_CLEAN),
                        test_no_fd_leak);
  g_test_add_data_func ("/connections/no-fd-leak/websocket-dropped",
                        GINT_TO_POINTER (KIND_WS_DROPPED), test_no_fd_leak);
  g_test_add_func ("/connections/oversized-body-refused-early", test_oversized_body_refused_early);
  g_test_add_func ("/connections/slow-requests-closed", test_slow_requests_closed);
  g_test_add_func ("/connections/oversized-frame-closed-1009", test_oversized_frame_closed_1009);
  g_test_add_func ("/connections/accepts-again-after-fd-limit", test_accepts_again_after_fd_limit);
  return g_test_run ();
}

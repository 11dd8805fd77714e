/* SPDX-License-Identifier: MIT */
/*
 * Runs the real roomcast binary for integration tests. The port comes from
 * the URL the server prints on start, which is also what a user reads.
 */
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "tools/support/rc_roomcast_process.h"

#include <libsoup/soup.h>
#include <string.h>

typedef struct
{
  RcTestServer public;
  RcRoomcastProcess *roomcast;
  SoupSession *http;
} Server;

static const char *
roomcast_bin (void)
{
  const char *bin = g_getenv ("ROOMCAST_BIN");

  g_assert_nonnull (bin); /* set by tests/meson.build */
  return bin;
}

static void
on_line (const char *line, gpointer user_data)
{
  Server *s = user_data;

  g_string_append_printf (s->public.output, "%s\n", line);
}

/* Its exit status; -1 for a signal (or while it runs). */
static int
exit_status (Server *s)
{
  int status = rc_roomcast_process_get_status (s->roomcast);

  return rc_roomcast_process_get_pid (s->roomcast) != 0 || status < 0 ? -1 : status;
}

static RcTestServer *
try_start (const char *const *args, GSpawnChildSetupFunc setup, gpointer setup_data,
           GError **error)
{
  Server *s = g_new0 (Server, 1);
  RcRoomcastOptions options = {
    .program = roomcast_bin (), .args = args, .on_line = on_line, .user_data = s,
    .child_setup = setup, .child_setup_data = setup_data,
  };

  s->public.output = g_string_new (NULL);
  s->http = soup_session_new ();
  s->roomcast = rc_roomcast_process_spawn (&options, error);
  if (s->roomcast == NULL)
    {
      rc_test_server_free (&s->public);
      return NULL;
    }

  /* Ready once the whole banner (URL, then "Open ...") is out. */
  if (!RC_WAIT_UNTIL (strstr (s->public.output->str, "\nOpen ")
                        || rc_roomcast_process_has_exited (s->roomcast),
                      20000)
      || rc_roomcast_process_get_port (s->roomcast) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "roomcast did not print its URL (exited: %d, status %d); output:\n%s",
                   rc_roomcast_process_has_exited (s->roomcast), exit_status (s),
                   s->public.output->str);
      rc_test_server_stop (&s->public);
      rc_test_server_free (&s->public);
      return NULL;
    }
  s->public.port = rc_roomcast_process_get_port (s->roomcast);
  s->public.base_url = g_strdup (rc_roomcast_process_get_url (s->roomcast));
  return &s->public;
}

RcTestServer *
rc_test_server_try_start (const char *const *args, GError **error)
{
  return try_start (args, NULL, NULL, error);
}

RcTestServer *
rc_test_server_start_with_setup (const char *const *args, GSpawnChildSetupFunc setup,
                                 gpointer setup_data)
{
  g_autoptr (GError) error = NULL;
  RcTestServer *server = try_start (args, setup, setup_data, &error);

  g_assert_no_error (error);
  return server;
}

RcTestServer *
rc_test_server_start (const char *const *args)
{
  g_autoptr (GError) error = NULL;
  RcTestServer *server = rc_test_server_try_start (args, &error);

  g_assert_no_error (error);
  return server;
}

int
rc_test_server_stop (RcTestServer *server)
{
  Server *s = (Server *) server;

  if (s->roomcast == NULL)
    return -1;
  if (!rc_roomcast_process_stop (s->roomcast, 10))
    return -1;
  return exit_status (s);
}

void
rc_test_server_free (RcTestServer *server)
{
  Server *s = (Server *) server;

  if (server == NULL)
    return;
  /* A sanitizer report fails the test, whether or not it checked the exit. */
  if (s->roomcast != NULL && rc_roomcast_process_get_pid (s->roomcast) == 0
      && rc_roomcast_process_get_status (s->roomcast) == RC_ROOMCAST_SANITIZER_EXIT)
    g_test_fail_printf ("roomcast printed a sanitizer report (exit status %d; see its stderr)",
                        RC_ROOMCAST_SANITIZER_EXIT);
  g_clear_pointer (&s->roomcast, rc_roomcast_process_free);
  g_clear_object (&s->http);
  g_string_free (server->output, TRUE);
  g_free (server->base_url);
  g_free (s);
}

int
rc_test_run_roomcast (const char *const *args, const char *const *env, char **output)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto (GStrv) kv = g_strsplit (env[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1] ? kv[1] : "", TRUE);
    }
  g_ptr_array_add (argv, (gpointer) roomcast_bin ());
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, output, NULL, &error);
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
}

JsonNode *
rc_test_http (RcTestServer *server, const char *method, const char *path, const char *body,
              const char *bearer, guint *status)
{
  return rc_test_http_typed (server, method, path, "application/json", body, bearer, status);
}

JsonNode *
rc_test_http_typed (RcTestServer *server, const char *method, const char *path,
                    const char *content_type, const char *body, const char *bearer, guint *status)
{
  Server *s = (Server *) server;
  g_autofree char *url = g_strconcat (server->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, content_type, bytes);
    }
  if (bearer != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", bearer);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  reply = soup_session_send_and_read (s->http, msg, NULL, &error);
  g_assert_no_error (error);
  if (status != NULL)
    *status = soup_message_get_status (msg);
  if (g_bytes_get_size (reply) == 0)
    return NULL;
  {
    g_autofree char *text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
    return json_from_string (text, NULL);
  }
}

JsonObject *
rc_test_create_room (RcTestServer *server, const char *name, const char *password)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) request = NULL;
  g_autofree char *body = NULL;
  g_autoptr (JsonNode) reply = NULL;
  guint status = 0;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  if (password != NULL)
    {
      json_builder_set_member_name (b, "password");
      json_builder_add_string_value (b, password);
    }
  json_builder_end_object (b);
  request = json_builder_get_root (b);
  body = json_to_string (request, FALSE);
  reply = rc_test_http (server, "POST", "/api/rooms", body, NULL, &status);
  g_assert_cmpuint (status, ==, 201);
  g_assert_nonnull (reply);
  return json_object_ref (json_node_get_object (reply));
}

gboolean
rc_test_library_has (RcTestServer *server, gint64 total)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);
  JsonObject *o;

  if (status != 200 || body == NULL)
    return FALSE;
  o = json_node_get_object (body);
  return !json_object_get_boolean_member (o, "scanning")
         && json_object_get_int_member (o, "total") == total;
}

char *
rc_test_song_id (RcTestServer *server, const char *title)
{
  g_autofree char *escaped = g_uri_escape_string (title, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/api/search/songs?q=%s", escaped);
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", path, NULL, NULL, &status);
  JsonArray *songs;

  g_assert_cmpuint (status, ==, 200);
  songs = json_object_get_array_member (json_node_get_object (body), "songs");
  for (guint i = 0; i < json_array_get_length (songs); i++)
    {
      JsonObject *song = json_array_get_object_element (songs, i);

      if (g_strcmp0 (rc_test_str (song, "title"), title) == 0)
        return g_strdup (rc_test_str (song, "id"));
    }
  g_error ("no library song titled \"%s\"", title);
  return NULL;
}

GPid
rc_test_server_get_pid (RcTestServer *server)
{
  return rc_roomcast_process_get_pid (((Server *) server)->roomcast);
}

char *
rc_test_http_text (RcTestServer *server, const char *path, char **type)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (server->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  if (type != NULL)
    *type = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                    "Content-Type"));
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

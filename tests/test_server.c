/* SPDX-License-Identifier: MIT */
/*
 * The roomcast process over HTTP: start-up URL, /health, the rooms REST API
 * with its error codes, the static client, and a clean exit on SIGTERM.
 */
#include "server/core/rc_error.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <string.h>

static void
test_health_and_url (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (JsonNode) nodes = NULL;
  JsonObject *o, *store;
  guint status = 0;

  /* Port 0 picked a real port and the printed URL names it. */
  g_assert_cmpuint (server->port, >, 0);
  g_assert_nonnull (strstr (server->output->str, "Open http://127.0.0.1:"));

  health = rc_test_http (server, "GET", "/health", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  o = json_node_get_object (health);
  g_assert_cmpstr (rc_test_str (o, "status"), ==, "ok");
  g_assert_nonnull (rc_test_str (o, "version"));
  g_assert_true (json_object_has_member (o, "uptimeSeconds"));
  g_assert_cmpint (json_object_get_int_member (o, "rooms"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "guests"), ==, 0);
  store = json_object_get_object_member (o, "store");
  g_assert_cmpstr (rc_test_str (store, "backend"), ==, "memory");
  g_assert_true (json_object_get_boolean_member (store, "connected"));

  /* Alone, the server lists no cluster nodes, and that is no error (the
   * page asks after every connect and keeps its console clean). */
  nodes = rc_test_http (server, "GET", "/api/nodes", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (nodes),
                                                                        "nodes")),
                    ==, 0);

  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

static void
test_rooms_rest (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) open_room = rc_test_create_room (server, "  Friday <b>Jazz</b>  ", NULL);
  g_autoptr (JsonObject) locked = rc_test_create_room (server, "Secret", "hunter2");
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) one = NULL;
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (RcTestWs) guest = NULL;
  g_autofree char *path = NULL;
  g_autofree char *listed = NULL;
  const char *id = rc_test_str (open_room, "id");
  JsonArray *rooms;
  guint status = 0;

  /* Short, link-safe, unguessable ids; names trimmed but kept as text. */
  g_assert_cmpuint (strlen (id), ==, 10);
  for (const char *p = id; *p; p++)
    g_assert_true (g_ascii_isalnum (*p));
  g_assert_cmpstr (rc_test_str (open_room, "id"), !=, rc_test_str (locked, "id"));
  g_assert_cmpstr (rc_test_str (open_room, "name"), ==, "Friday <b>Jazz</b>");
  g_assert_cmpuint (strlen (rc_test_str (open_room, "ownerToken")), >=, 40);
  path = g_strdup_printf ("/room/%s", id);
  g_assert_cmpstr (rc_test_str (open_room, "url"), ==, path);

  guest = rc_test_ws_join (server, id, "Ann", NULL, NULL, NULL);
  list = rc_test_http (server, "GET", "/api/rooms", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  rooms = json_object_get_array_member (json_node_get_object (list), "rooms");
  g_assert_cmpuint (json_array_get_length (rooms), ==, 2);
  /* Busiest room first, with its live guest count. */
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (rooms, 0), "id"), ==, id);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (rooms, 0), "guests"),
                   ==, 1);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (rooms, 1),
                                                 "hasPassword"));
  /* No password, hash or owner token ever appears in a listing. */
  listed = json_to_string (list, FALSE);
  g_assert_null (strstr (listed, "hunter2"));
  g_assert_null (strstr (listed, "assword\":\""));
  g_assert_null (strstr (listed, "Hash"));
  g_assert_null (strstr (listed, rc_test_str (locked, "ownerToken")));

  g_free (path);
  path = g_strdup_printf ("/api/rooms/%s", id);
  one = rc_test_http (server, "GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (rc_test_str (json_node_get_object (one), "name"), ==, "Friday <b>Jazz</b>");

  health = rc_test_http (server, "GET", "/health", NULL, NULL, &status);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (health), "rooms"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (health), "guests"), ==, 1);
}

static void
expect_error (JsonNode *body, guint status, guint expected_status, int code)
{
  g_assert_cmpuint (status, ==, expected_status);
  g_assert_nonnull (body);
  g_assert_cmpstr (rc_test_str (json_node_get_object (body), "type"), ==, "error");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (body), "code"), ==, code);
}

static void
test_delete_owner_only (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Mine", NULL);
  g_autoptr (JsonObject) other = rc_test_create_room (server, "Theirs", NULL);
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s", rc_test_str (room, "id"));
  g_autoptr (RcTestWs) guest = rc_test_ws_join (server, rc_test_str (room, "id"), "G", NULL, NULL,
                                                NULL);
  g_autoptr (JsonObject) closed = NULL;
  guint status = 0;

  {
    g_autoptr (JsonNode) r = rc_test_http (server, "DELETE", path, NULL, NULL, &status);
    expect_error (r, status, 401, RC_ERROR_UNAUTHORIZED);
  }
  {
    /* Another room's owner token is not this room's. */
    g_autoptr (JsonNode) r =
      rc_test_http (server, "DELETE", path, NULL, rc_test_str (other, "ownerToken"), &status);
    expect_error (r, status, 403, RC_ERROR_NOT_OWNER);
  }
  {
    g_autoptr (JsonNode) r = rc_test_http (server, "GET", path, NULL, NULL, &status);
    g_assert_cmpuint (status, ==, 200); /* still there */
  }
  {
    g_autoptr (JsonNode) r =
      rc_test_http (server, "DELETE", path, NULL, rc_test_str (room, "ownerToken"), &status);
    g_assert_cmpuint (status, ==, 200);
    g_assert_true (json_object_get_boolean_member (json_node_get_object (r), "deleted"));
  }
  closed = rc_test_ws_expect (guest, "roomClosed", 5000);
  g_assert_cmpstr (rc_test_str (closed, "roomId"), ==, rc_test_str (room, "id"));
  {
    g_autoptr (JsonNode) r = rc_test_http (server, "GET", path, NULL, NULL, &status);
    expect_error (r, status, 404, RC_ERROR_NOT_FOUND);
  }
  /* The evicted guest's connection still works: it can join another room. */
  rc_test_ws_sendf (guest, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"G\"}",
                    rc_test_str (other, "id"));
  json_object_unref (rc_test_ws_expect (guest, "initialState", 5000));
}

static void
test_rest_bad_requests (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (GString) big = g_string_new ("{\"name\":\"");
  guint status = 0;
  struct
  {
    const char *method, *path, *body;
    guint status;
    int code;
  } cases[] = {
    { "POST", "/api/rooms", "not json", 400, RC_ERROR_INVALID_MESSAGE },
    { "POST", "/api/rooms", "[]", 400, RC_ERROR_INVALID_MESSAGE },
    { "POST", "/api/rooms", "{}", 400, RC_ERROR_INVALID_PARAM },
    { "POST", "/api/rooms", "{\"name\":42}", 400, RC_ERROR_INVALID_PARAM },
    { "POST", "/api/rooms", "{\"name\":\"  \\u0007 \"}", 400, RC_ERROR_INVALID_PARAM },
    { "GET", "/api/rooms/doesnotexist", NULL, 404, RC_ERROR_NOT_FOUND },
    { "GET", "/api/nothing", NULL, 404, RC_ERROR_NOT_FOUND },
    { "PUT", "/api/rooms", "{}", 405, RC_ERROR_METHOD_NOT_ALLOWED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonNode) r =
        rc_test_http (server, cases[i].method, cases[i].path, cases[i].body, NULL, &status);
      expect_error (r, status, cases[i].status, cases[i].code);
    }

  while (big->len < 100000)
    g_string_append (big, "xxxxxxxxxx");
  g_string_append (big, "\"}");
  {
    g_autoptr (JsonNode) r = rc_test_http (server, "POST", "/api/rooms", big->str, NULL, &status);
    expect_error (r, status, 413, RC_ERROR_TOO_LARGE);
  }
  /* After all that the server still serves. */
  json_object_unref (rc_test_create_room (server, "still fine", NULL));
}

static void
test_static_client (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (SoupSession) session = soup_session_new ();
  const char *paths[] = { "/", "/room/abcdefghij" };
  const char *forbidden[] = { "/../meson.build", "/%2e%2e/meson.build", "/package.json",
                              "/node_modules/playwright-core/package.json", "/.hidden" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *u = g_strconcat (server->base_url, paths[i], NULL);
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", u);
      g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);
      g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

      g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
      g_assert_nonnull (strstr (text, "<html"));
      g_assert_nonnull (strstr (soup_message_headers_get_content_type (
                                  soup_message_get_response_headers (msg), NULL),
                                "text/html"));
    }
  for (guint i = 0; i < G_N_ELEMENTS (forbidden); i++)
    {
      g_autofree char *u = g_strconcat (server->base_url, forbidden[i], NULL);
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", u);
      g_autoptr (GBytes) body = NULL;

      if (msg == NULL)
        continue; /* libsoup itself refused to build the URI */
      body = soup_session_send_and_read (session, msg, NULL, NULL);
      g_assert_cmpuint (soup_message_get_status (msg), !=, 200);
    }
}

static void
test_sigterm_clean_exit_with_guests (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Bye", NULL);
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, rc_test_str (room, "id"), "A", NULL, NULL, NULL);

  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
  /* The guest's socket was closed by the server, not left hanging. */
  g_assert_true (RC_WAIT_UNTIL (a->closed, 5000));
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/server/health-and-url", test_health_and_url);
  g_test_add_func ("/server/rooms-rest", test_rooms_rest);
  g_test_add_func ("/server/delete-owner-only", test_delete_owner_only);
  g_test_add_func ("/server/rest-bad-requests", test_rest_bad_requests);
  g_test_add_func ("/server/static-client", test_static_client);
  g_test_add_func ("/server/sigterm", test_sigterm_clean_exit_with_guests);
  return g_test_run ();
}

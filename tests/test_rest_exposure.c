/* SPDX-License-Identifier: MIT */
/*
 * What the REST edge gives away or takes in, against a real roomcast: JSON
 * bodies only when sent as application/json (a page elsewhere can make a
 * browser send text/plain or a form, not JSON), a JSON error body even for
 * the requests libsoup refuses itself, and a password room's guests and
 * now-playing shown to its owner only.
 */
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <string.h>

/* One request; the reply's object (the test fails when it is not JSON). */
static JsonObject *
send_typed (RcTestServer *server, const char *method, const char *path,
            const char *content_type, const char *body, const char *bearer, guint *status)
{
  g_autoptr (JsonNode) node =
    rc_test_http_typed (server, method, path, content_type, body, bearer, status);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static void
expect_415 (RcTestServer *server, const char *path, const char *content_type, const char *body)
{
  guint status = 0;
  g_autoptr (JsonObject) reply = send_typed (server, "POST", path, content_type, body, NULL, &status);

  g_test_message ("POST %s as %s: %u", path, content_type, status);
  g_assert_cmpuint (status, ==, 415);
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, 4003);
}

static void
test_json_bodies_need_json_type (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) made = NULL;
  g_autoptr (JsonNode) list = NULL;
  const char *room = "{\"name\":\"Drive-by\"}";
  const char *save = "{\"userId\":\"user-0001\",\"songId\":\"000000000000\"}";
  guint status = 0;

  /* What a form or a fetch with a "simple" body sends, without CORS asking. */
  expect_415 (server, "/api/rooms", "text/plain", room);
  expect_415 (server, "/api/rooms", "text/plain;charset=UTF-8", room);
  expect_415 (server, "/api/rooms", "application/x-www-form-urlencoded", "name=Drive-by");
  expect_415 (server, "/api/rooms", "multipart/form-data; boundary=x", room);
  expect_415 (server, "/api/playlist", "text/plain", save);
  list = rc_test_http (server, "GET", "/api/rooms", NULL, NULL, &status);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_node_get_object (list), "rooms")), ==, 0);

  /* JSON, with or without a charset, is taken. */
  made = send_typed (server, "POST", "/api/rooms", "application/json; charset=utf-8", room, NULL,
                     &status);
  g_assert_cmpuint (status, ==, 201);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* The raw reply to @request, read until the server closes or 2 s pass. */
static char *
raw_request (RcTestServer *server, const char *request)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  GString *got = g_string_new (NULL);
  GSocket *socket;
  char buffer[4096];
  gssize n;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", (guint16) server->port, NULL,
                                          &error);
  g_assert_no_error (error);
  socket = g_socket_connection_get_socket (conn);
  g_socket_set_timeout (socket, 2);
  g_assert_cmpint (g_socket_send (socket, request, strlen (request), NULL, &error), ==,
                   (gssize) strlen (request));
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      g_string_append_len (got, buffer, n);
      if (strstr (got->str, "\r\n\r\n") != NULL && g_str_has_suffix (got->str, "}"))
        break;
    }
  return g_string_free (got, FALSE);
}

static void
test_libsoup_400_has_json_body (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  /* Refused once parsed (an encoded NUL), and not parsed at all: a path
   * that is no URI, HTTP/1.1 without Host, a request line that is none. */
  const char *requests[] = {
    "GET /api/rooms/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    "GET /%00 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    "GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /api/rooms/% HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /health HTTP/1.1\r\n\r\n",
    "GARBAGE\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autofree char *reply = raw_request (server, requests[i]);
      const char *body = strstr (reply, "\r\n\r\n");
      g_autoptr (JsonNode) node = NULL;

      g_test_message ("%s → %s", requests[i], reply);
      g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 400")
                     || g_str_has_prefix (reply, "HTTP/1.0 400"));
      g_assert_nonnull (strstr (reply, "Content-Type: application/json"));
      g_assert_nonnull (body);
      node = rc_test_parse (body + 4);
      g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "code"), ==, 4000);
    }
  /* A request that parses gets its own answer, not the prefilled one. */
  {
    g_autofree char *reply = raw_request (
      server, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

    g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 200"));
    g_assert_null (strstr (reply, "Malformed"));
  }
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* @rooms: the list's room with @id. */
static JsonObject *
room_in (JsonObject *list, const char *id)
{
  JsonArray *rooms = json_object_get_array_member (list, "rooms");

  for (guint i = 0; i < json_array_get_length (rooms); i++)
    if (g_strcmp0 (rc_test_str (json_array_get_object_element (rooms, i), "id"), id) == 0)
      return json_array_get_object_element (rooms, i);
  g_assert_not_reached ();
}

static void
test_password_room_private (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rc-exposure-XXXXXX", NULL);
  g_autofree char *song = g_build_filename (dir, "tone.ogg", NULL);
  g_autoptr (RcTestServer) server = NULL;
  g_autoptr (JsonObject) created = NULL;
  g_autoptr (RcTestWs) owner = NULL;
  g_autoptr (RcTestWs) guest = NULL;
  g_autofree char *song_id = NULL;
  g_autofree char *stats_path = NULL;
  g_autofree char *room_path = NULL;
  const char *id, *token;
  guint status = 0;

  rc_test_music_write (song, RC_TEST_MUSIC_VORBIS, 440, 30000, "Secret Song", "Tone", "T", NULL);
  server = rc_test_server_start ((const char *const[]){ "--music-dir", dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (server, 1), 30000));
  created = rc_test_create_room (server, "Private party", "open sesame");
  id = rc_test_str (created, "id");
  token = rc_test_str (created, "ownerToken");
  stats_path = g_strdup_printf ("/api/rooms/%s/stats", id);
  room_path = g_strdup_printf ("/api/rooms/%s", id);

  owner = rc_test_ws_join (server, id, "Olive", NULL, token, NULL);
  guest = rc_test_ws_join (server, id, "Gus", "open sesame", NULL, NULL);
  song_id = rc_test_song_id (server, "Secret Song");
  rc_test_ws_sendf (owner, "{\"type\":\"addSong\",\"songId\":\"%s\"}", song_id);
  json_object_unref (rc_test_ws_expect (guest, "stateUpdate", 5000));
  rc_test_ws_send (guest, "{\"type\":\"syncReport\",\"transport\":\"ws\",\"error\":1,"
                          "\"arrival\":50,\"jitter\":1}");
  rc_test_run_for (300);

  for (guint as_owner = 0; as_owner < 2; as_owner++)
    {
      const char *bearer = as_owner ? token : NULL;
      g_autoptr (JsonObject) stats =
        send_typed (server, "GET", stats_path, NULL, NULL, bearer, &status);
      g_autoptr (JsonObject) list = send_typed (server, "GET", "/api/rooms", NULL, NULL, bearer, &status);
      g_autoptr (JsonObject) one = send_typed (server, "GET", room_path, NULL, NULL, bearer, &status);
      JsonArray *guests = json_object_get_array_member (stats, "guests");
      JsonObject *listed = room_in (list, id);

      g_test_message ("as %s: %u guests listed in stats", as_owner ? "owner" : "anyone",
                      json_array_get_length (guests));
      /* Counts for everyone. */
      g_assert_cmpint (json_object_get_int_member (listed, "guests"), ==, 2);
      g_assert_cmpint (json_object_get_int_member (
                         json_object_get_object_member (stats, "broadcast"), "guests"), ==, 2);
      g_assert_cmpint (json_object_get_int_member (
                         json_object_get_object_member (stats, "sync"), "reporting"), ==, 1);
      if (as_owner)
        {
          g_assert_cmpuint (json_array_get_length (guests), ==, 1);
          g_assert_cmpstr (rc_test_str (json_array_get_object_element (guests, 0), "name"), ==, "Gus");
          g_assert_cmpstr (rc_test_str (json_object_get_object_member (listed, "nowPlaying"), "title"),
                           ==, "Secret Song");
          g_assert_cmpstr (rc_test_str (json_object_get_object_member (one, "nowPlaying"), "title"),
                           ==, "Secret Song");
        }
      else
        {
          g_autofree char *text = NULL;

          g_assert_cmpuint (json_array_get_length (guests), ==, 0);
          g_assert_true (json_object_get_null_member (listed, "nowPlaying"));
          g_assert_true (json_object_get_null_member (one, "nowPlaying"));
          text = json_to_string (json_object_get_member (stats, "guests"), FALSE);
          g_assert_null (strstr (text, "Gus"));
        }
    }
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
  rc_test_music_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/rest-exposure/json-bodies-need-json-type", test_json_bodies_need_json_type);
  g_test_add_func ("/rest-exposure/libsoup-400-has-json-body", test_libsoup_400_has_json_body);
  g_test_add_func ("/rest-exposure/password-room-private", test_password_room_private);
  return g_test_run ();
}

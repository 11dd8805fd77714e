/* SPDX-License-Identifier: MIT */
/*
 * roomcast with a real redis-server: rooms and chat survive a roomcast
 * restart; an unreachable Redis at start is a clear error and a non-zero
 * exit; losing Redis while running keeps the rooms serving and the writes
 * made during the outage reach Redis once it is back. A room an older build
 * saved with numbers json-glib spelled wrongly ("-1e-300.0", "inf.0") or with
 * a field of the wrong type still loads, whole, with that field's default.
 * An answer held while Redis is frozen outlives its client leaving and the
 * server stopping.
 */
#include "server/core/rc_error.h"
#include "server/core/rc_secret.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gio/gio.h>
#include <string.h>

static RcTestServer *
start_roomcast (RcTestRedis *redis)
{
  const char *args[] = { "--store", rc_test_redis_get_uri (redis), NULL };

  return rc_test_server_start (args);
}

static JsonArray *
chat_of (JsonObject *state)
{
  return json_object_get_array_member (state, "chat");
}

static const char *
chat_text (JsonArray *chat, guint i)
{
  return rc_test_str (json_array_get_object_element (chat, i), "text");
}

static void
test_restart_keeps_rooms_and_chat (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) first = start_roomcast (redis);
  g_autoptr (RcTestServer) second = NULL;
  g_autoptr (JsonObject) room = rc_test_create_room (first, "Durable", "pw");
  g_autofree char *id = g_strdup (rc_test_str (room, "id"));
  g_autofree char *token = g_strdup (rc_test_str (room, "ownerToken"));
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s", id);
  g_autoptr (RcTestWs) a = rc_test_ws_join (first, id, "Ann", "pw", NULL, NULL);
  g_autoptr (RcTestWs) back = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (JsonNode) got = NULL;
  JsonArray *chat;
  guint status = 0;

  for (int i = 0; i < 3; i++)
    {
      rc_test_ws_sendf (a, "{\"type\":\"chat\",\"text\":\"before restart %d\"}", i);
      json_object_unref (rc_test_ws_expect (a, "chat", 5000));
    }
  g_assert_cmpint (rc_test_server_stop (first), ==, 0);
  g_assert_true (RC_WAIT_UNTIL (a->closed, 5000));

  second = start_roomcast (redis);
  got = rc_test_http (second, "GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (rc_test_str (json_node_get_object (got), "name"), ==, "Durable");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (got), "hasPassword"));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (got), "guests"), ==, 0);

  back = rc_test_ws_join (second, id, "Ann", "pw", NULL, &state);
  chat = chat_of (state);
  g_assert_cmpuint (json_array_get_length (chat), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *expected = g_strdup_printf ("before restart %u", i);
      g_assert_cmpstr (chat_text (chat, i), ==, expected);
    }
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (
                                  json_array_get_object_element (chat, 0), "from"),
                                "name"),
                   ==, "Ann");

  /* The password and owner token survived as hashes and still check out. */
  {
    g_autoptr (RcTestWs) wrong = rc_test_ws_connect (second);
    rc_test_ws_sendf (wrong, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"X\",\"password\":\"no\"}", id);
    json_object_unref (rc_test_ws_expect_error (wrong, RC_ERROR_WRONG_PASSWORD, 5000));
  }
  {
    g_autoptr (JsonNode) r = rc_test_http (second, "DELETE", path, NULL, token, &status);
    g_assert_cmpuint (status, ==, 200);
  }
}

static void
test_unreachable_at_start (void)
{
  guint port = rc_test_free_port ();
  g_autofree char *uri = g_strdup_printf ("redis://127.0.0.1:%u/0", port);
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", port);
  const char *args[] = { "--port", "0", "--store", uri, "--store-timeout", "500", NULL };
  g_autofree char *output = NULL;
  gint64 start = g_get_monotonic_time ();
  int status = rc_test_run_roomcast (args, NULL, &output);

  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (output, address));
  g_assert_nonnull (strstr (output, "Redis"));
  g_assert_null (strstr (output, "listening on")); /* it never served */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

static JsonObject *
health (RcTestServer *server)
{
  g_autoptr (JsonNode) h = rc_test_http (server, "GET", "/health", NULL, NULL, NULL);

  return json_object_ref (json_node_get_object (h));
}

static gboolean
store_connected (RcTestServer *server, gint64 *pending)
{
  g_autoptr (JsonObject) h = health (server);
  JsonObject *store = json_object_get_object_member (h, "store");

  if (pending != NULL)
    *pending = json_object_get_int_member (store, "pendingWrites");
  return json_object_get_boolean_member (store, "connected");
}

static void
test_outage_while_running (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) server = start_roomcast (redis);
  g_autoptr (RcTestServer) after = NULL;
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Weather", NULL);
  g_autoptr (JsonObject) made_offline = NULL;
  g_autofree char *id = g_strdup (rc_test_str (room, "id"));
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, id, "A", NULL, NULL, NULL);
  g_autoptr (RcTestWs) b = rc_test_ws_join (server, id, "B", NULL, NULL, NULL);
  g_autoptr (JsonObject) h = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (RcTestWs) c = NULL;
  g_autoptr (GError) error = NULL;
  gint64 pending = -1;
  JsonArray *chat;

  rc_test_ws_send (a, "{\"type\":\"chat\",\"text\":\"sunny\"}");
  json_object_unref (rc_test_ws_expect (b, "chat", 5000));

  rc_test_redis_kill (redis);
  /* roomcast notices (a write fails or the socket closes) and says so. */
  rc_test_ws_send (a, "{\"type\":\"chat\",\"text\":\"storm 1\"}");
  json_object_unref (rc_test_ws_expect (b, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (!store_connected (server, NULL), 10000));
  h = health (server);
  g_assert_cmpstr (rc_test_str (h, "status"), ==, "degraded");

  /* It keeps serving: chat flows, rooms can be created. */
  rc_test_ws_send (b, "{\"type\":\"chat\",\"text\":\"storm 2\"}");
  for (;;) /* A's queue also holds its own earlier messages */
    {
      g_autoptr (JsonObject) m = rc_test_ws_expect (a, "chat", 5000);
      if (g_strcmp0 (rc_test_str (m, "text"), "storm 2") == 0)
        break;
    }
  made_offline = rc_test_create_room (server, "Made offline", NULL);
  store_connected (server, &pending);
  g_assert_cmpint (pending, >, 0);

  g_assert_true (rc_test_redis_restart (redis, &error));
  g_assert_no_error (error);
  g_assert_true (RC_WAIT_UNTIL (store_connected (server, &pending) && pending == 0, 20000));
  rc_test_ws_send (a, "{\"type\":\"chat\",\"text\":\"clear skies\"}");
  json_object_unref (rc_test_ws_expect (b, "chat", 5000));

  /* A fresh roomcast on the same Redis sees everything, outage included. */
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
  after = start_roomcast (redis);
  c = rc_test_ws_join (after, id, "C", NULL, NULL, &state);
  chat = chat_of (state);
  g_assert_cmpuint (json_array_get_length (chat), ==, 4);
  g_assert_cmpstr (chat_text (chat, 0), ==, "sunny");
  g_assert_cmpstr (chat_text (chat, 1), ==, "storm 1");
  g_assert_cmpstr (chat_text (chat, 2), ==, "storm 2");
  g_assert_cmpstr (chat_text (chat, 3), ==, "clear skies");
  {
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s", rc_test_str (made_offline, "id"));
    guint status = 0;
    g_autoptr (JsonNode) r = rc_test_http (after, "GET", path, NULL, NULL, &status);
    g_assert_cmpuint (status, ==, 200);
  }
}

#define LEGACY_ID "Legacy01room"
#define LEGACY_TOKEN "legacy-owner-token"

/* What an older build wrote: json-glib's "-1e-300.0", "1e+12.0" and "inf.0",
 * and one field of the wrong type in each key ("thresholdDb", "autoplay", a
 * chat "ts"). A second room's state has no owner hash: only that one is lost. */
static void
write_legacy_room (RcTestRedis *redis)
{
  g_autofree char *owner_hash = rc_secret_hash_token (LEGACY_TOKEN);
  g_autofree char *key_hash = rc_secret_hash_token ("legacy-publish-secret");
  g_autofree char *state = g_strdup_printf (
    "{\"id\":\"" LEGACY_ID "\",\"name\":\"Old times\",\"ownerTokenHash\":\"%s\","
    "\"createdAt\":1700000000000,"
    "\"keys\":[{\"id\":\"key1\",\"hash\":\"%s\",\"label\":\"OBS\",\"createdAt\":inf.0}],"
    "\"mix\":{\"mode\":\"talkover\",\"duckDb\":-1e-300.0,\"thresholdDb\":\"loud\"}}",
    owner_hash, key_hash);
  const char *player =
    "{\"queue\":["
    "{\"id\":\"item1\",\"songId\":null,\"url\":\"https://example.com/a.mp3\",\"title\":\"First\","
    "\"artist\":\"Ann\",\"album\":null,\"duration\":215.5,"
    "\"addedBy\":{\"id\":\"g1\",\"name\":\"Ann\"},\"addedAt\":1e+12.0,"
    "\"uri\":\"https://example.com/a.mp3\"},"
    "{\"id\":\"item2\",\"songId\":null,\"url\":\"https://example.com/b.ogg\",\"title\":\"Second\","
    "\"artist\":null,\"album\":null,\"duration\":inf.0,"
    "\"addedBy\":{\"id\":\"g1\",\"name\":\"Ann\"},\"addedAt\":1700000000001,"
    "\"uri\":\"https://example.com/b.ogg\"}],"
    "\"index\":1,\"positionMs\":42000,\"playing\":false,\"loop\":\"queue\",\"autoplay\":\"yes\","
    "\"savedAt\":1e+12.0}";

  g_free (rc_test_redis_call (redis, "SADD", "rooms", LEGACY_ID, "Broken01room", NULL));
  g_free (rc_test_redis_call (redis, "SET", "room:" LEGACY_ID ":state", state, NULL));
  g_free (rc_test_redis_call (redis, "SET", "room:" LEGACY_ID ":player", player, NULL));
  g_free (rc_test_redis_call (redis, "RPUSH", "room:" LEGACY_ID ":chat",
                              "{\"type\":\"chat\",\"from\":{\"id\":\"g1\",\"name\":\"Ann\","
                              "\"isOwner\":true},\"text\":\"hello from before\",\"ts\":1e+12.0}",
                              "{\"type\":\"chat\",\"from\":{\"id\":\"g2\",\"name\":\"Bob\","
                              "\"isOwner\":false},\"text\":\"inf.0 is not a number\","
                              "\"ts\":\"yesterday\"}",
                              NULL));
  g_free (rc_test_redis_call (redis, "SET", "room:Broken01room:state",
                              "{\"name\":\"No owner\",\"createdAt\":1e+12.0}", NULL));
}

/* GET /api/rooms parses as JSON and lists @expected rooms. */
static JsonArray *
list_rooms (RcTestServer *server, guint expected)
{
  guint status = 0;
  g_autoptr (JsonNode) list = rc_test_http (server, "GET", "/api/rooms", NULL, NULL, &status);
  JsonArray *rooms;

  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (list); /* it parses */
  rooms = json_object_get_array_member (json_node_get_object (list), "rooms");
  g_assert_cmpuint (json_array_get_length (rooms), ==, expected);
  return json_array_ref (rooms);
}

static void
test_legacy_state_loads (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) server = NULL;
  g_autoptr (JsonArray) rooms = NULL;
  g_autoptr (JsonNode) room = NULL;
  g_autoptr (JsonNode) keys = NULL;
  g_autoptr (JsonObject) initial = NULL;
  g_autoptr (RcTestWs) guest = NULL;
  JsonObject *mix, *state;
  JsonArray *queue, *chat;
  guint status = 0;

  write_legacy_room (redis);
  server = start_roomcast (redis);

  rooms = list_rooms (server, 1);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (rooms, 0), "id"), ==, LEGACY_ID);
  room = rc_test_http (server, "GET", "/api/rooms/" LEGACY_ID, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (rc_test_str (json_node_get_object (room), "name"), ==, "Old times");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (room), "createdAt"), ==,
                   1700000000000);
  mix = json_object_get_object_member (json_node_get_object (room), "mix");
  g_assert_cmpstr (rc_test_str (mix, "mode"), ==, "talkover");
  g_assert_cmpfloat (json_object_get_double_member (mix, "duckDb"), ==, -1e-300);
  g_assert_cmpfloat (json_object_get_double_member (mix, "thresholdDb"), ==, -40.0); /* default */

  /* The publish key survived (its unreadable createdAt is 0), for its owner. */
  keys = rc_test_http (server, "GET", "/api/rooms/" LEGACY_ID "/keys", NULL, LEGACY_TOKEN,
                       &status);
  g_assert_cmpuint (status, ==, 200);
  {
    JsonArray *list = json_object_get_array_member (json_node_get_object (keys), "keys");
    JsonObject *k;

    g_assert_cmpuint (json_array_get_length (list), ==, 1);
    k = json_array_get_object_element (list, 0);
    g_assert_cmpstr (rc_test_str (k, "id"), ==, "key1");
    g_assert_cmpstr (rc_test_str (k, "label"), ==, "OBS");
    g_assert_cmpint (json_object_get_int_member (k, "createdAt"), ==, 0);
  }

  /* A guest sees the queue, where it was, the chat and the mix policy. */
  guest = rc_test_ws_join (server, LEGACY_ID, "Cy", NULL, NULL, &initial);
  queue = json_object_get_array_member (initial, "queue");
  g_assert_cmpuint (json_array_get_length (queue), ==, 2);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (queue, 0), "title"), ==, "First");
  g_assert_cmpfloat (json_object_get_double_member (json_array_get_object_element (queue, 0),
                                                    "duration"), ==, 215.5);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (queue, 0),
                                               "addedAt"), ==, 1000000000000);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (queue, 1), "title"), ==, "Second");
  g_assert_cmpfloat (json_object_get_double_member (json_array_get_object_element (queue, 1),
                                                    "duration"), ==, 0.0);
  state = json_object_get_object_member (initial, "state");
  g_assert_cmpint (json_object_get_int_member (state, "index"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (state, "position"), ==, 42.0);
  g_assert_false (json_object_get_boolean_member (state, "playing"));
  g_assert_cmpstr (rc_test_str (state, "loop"), ==, "queue");
  g_assert_true (json_object_get_boolean_member (state, "autoplay")); /* default */
  chat = chat_of (initial);
  g_assert_cmpuint (json_array_get_length (chat), ==, 2);
  g_assert_cmpstr (chat_text (chat, 0), ==, "hello from before");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (chat, 0), "ts"), ==,
                   1000000000000);
  g_assert_cmpstr (chat_text (chat, 1), ==, "inf.0 is not a number"); /* strings untouched */
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (chat, 1), "ts"), ==,
                   0);
  mix = json_object_get_object_member (json_object_get_object_member (initial, "room"), "mix");
  g_assert_cmpstr (rc_test_str (mix, "mode"), ==, "talkover");
  g_assert_cmpfloat (json_object_get_double_member (mix, "duckDb"), ==, -1e-300);

  /* The owner token still checks out: the owner can delete the room. */
  {
    g_autoptr (JsonNode) r =
      rc_test_http (server, "DELETE", "/api/rooms/" LEGACY_ID, NULL, LEGACY_TOKEN, &status);
    g_assert_cmpuint (status, ==, 200);
  }
}

/* Issue 15's reproduction: a tiny (in range) duckDb no longer costs the room. */
static void
test_tiny_duck_survives_restart (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) first = start_roomcast (redis);
  g_autoptr (RcTestServer) second = NULL;
  g_autoptr (JsonObject) room = rc_test_create_room (first, "Tiny duck", NULL);
  g_autofree char *id = g_strdup (rc_test_str (room, "id"));
  g_autoptr (RcTestWs) owner =
    rc_test_ws_join (first, id, "Host", NULL, rc_test_str (room, "ownerToken"), NULL);
  g_autoptr (RcTestWs) back = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) initial = NULL;
  g_autoptr (JsonArray) rooms = NULL;
  JsonObject *mix;

  rc_test_ws_send (owner, "{\"type\":\"chat\",\"text\":\"still here?\"}");
  json_object_unref (rc_test_ws_expect (owner, "chat", 5000));
  reply = rc_test_ws_command (
    owner, "{\"type\":\"setMixPolicy\",\"mode\":\"talkover\",\"duckDb\":-1e-300}");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "mixPolicy");
  json_array_unref (list_rooms (first, 1)); /* valid JSON before the restart too */
  g_assert_cmpint (rc_test_server_stop (first), ==, 0);

  second = start_roomcast (redis);
  rooms = list_rooms (second, 1);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (rooms, 0), "id"), ==, id);
  mix = json_object_get_object_member (json_array_get_object_element (rooms, 0), "mix");
  g_assert_cmpstr (rc_test_str (mix, "mode"), ==, "talkover");
  g_assert_cmpfloat (json_object_get_double_member (mix, "duckDb"), ==, -1e-300);
  back = rc_test_ws_join (second, id, "Guest", NULL, NULL, &initial);
  g_assert_cmpuint (json_array_get_length (chat_of (initial)), ==, 1);
  g_assert_cmpstr (chat_text (chat_of (initial), 0), ==, "still here?");
}

static void
resume_redis (gpointer redis)
{
  rc_test_redis_resume (redis);
}

/* Sends GET /api/playlist for @user on a connection of its own, with Redis
 * frozen: the server holds the answer, waiting on Redis. */
static GSocketConnection *
send_held_read (GSocketClient *client, RcTestServer *server, RcTestRedis *redis, const char *user)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request =
    g_strdup_printf ("GET /api/playlist?userId=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", user);
  GSocketConnection *conn;

  rc_test_redis_pause (redis);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", server->port, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                            request, strlen (request), NULL, NULL, &error));
  g_assert_no_error (error);
  rc_test_iterate (300);
  return conn;
}

/* GET /api/playlist waits on Redis with its answer held. Twice Redis is
 * frozen meanwhile: once the client gives up and closes (libsoup 3.2 does
 * not notice while the message is paused: the answer goes to a closed
 * socket and the server serves on), once the server is stopped (libsoup
 * drops every connection's I/O; resuming the held message when Redis then
 * answered was a critical warning, an abort under fatal-criticals, as this
 * server runs). */
static void
test_held_answer_outlives_its_client (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) server = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) leaving = NULL, stopped = NULL;
  g_autoptr (JsonNode) later = NULL;
  guint status = 0;

  g_setenv ("G_DEBUG", "fatal-criticals,gc-friendly", TRUE);
  server = start_roomcast (redis);
  g_setenv ("G_DEBUG", "gc-friendly", TRUE);

  leaving = send_held_read (client, server, redis, "leaving-1");
  g_assert_true (g_io_stream_close (G_IO_STREAM (leaving), NULL, NULL));
  rc_test_iterate (300);
  rc_test_redis_resume (redis);
  later = rc_test_http (server, "GET", "/api/playlist?userId=staying-1", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);

  stopped = send_held_read (client, server, redis, "stopped-1");
  /* Redis wakes while the server stops (the stop waits on this thread's
   * main context). */
  g_timeout_add_once (500, resume_redis, redis);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/redis-server/restart-keeps-rooms-and-chat", test_restart_keeps_rooms_and_chat);
  g_test_add_func ("/redis-server/unreachable-at-start", test_unreachable_at_start);
  g_test_add_func ("/redis-server/outage-while-running", test_outage_while_running);
  g_test_add_func ("/redis-server/legacy-state-loads", test_legacy_state_loads);
  g_test_add_func ("/redis-server/tiny-duck-survives-restart", test_tiny_duck_survives_restart);
  g_test_add_func ("/redis-server/held-answer-outlives-its-client",
                   test_held_answer_outlives_its_client);
  return g_test_run ();
}

/* SPDX-License-Identifier: MIT */
/*
 * roomcast with a real redis-server: rooms and chat survive a roomcast
 * restart; an unreachable Redis at start is a clear error and a non-zero
 * exit; losing Redis while running keeps the rooms serving and the writes
 * made during the outage reach Redis once it is back.
 */
#include "server/core/rc_error.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <string.h>

static RcTestRedis *
start_redis (void)
{
  g_autoptr (GError) error = NULL;
  RcTestRedis *redis = rc_test_redis_start (&error);

  g_assert_no_error (error);
  return redis;
}

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
  g_autoptr (RcTestRedis) redis = start_redis ();
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
  g_autoptr (RcTestRedis) redis = start_redis ();
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

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/redis-server/restart-keeps-rooms-and-chat", test_restart_keeps_rooms_and_chat);
  g_test_add_func ("/redis-server/unreachable-at-start", test_unreachable_at_start);
  g_test_add_func ("/redis-server/outage-while-running", test_outage_while_running);
  return g_test_run ();
}

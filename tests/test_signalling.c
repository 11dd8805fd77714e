/* SPDX-License-Identifier: MIT */
/*
 * /ws signalling against a real server with real WebSocket clients: what
 * every guest sees when others join, chat, leave or vanish, and the error a
 * bad request gets (with the connection carrying on afterwards).
 */
#include "server/core/rc_error.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <string.h>

static guint
participant_count (JsonObject *msg)
{
  return json_array_get_length (json_object_get_array_member (msg, "participants"));
}

static const char *
participant_name (JsonObject *msg, guint i)
{
  JsonArray *a = json_object_get_array_member (msg, "participants");

  return rc_test_str (json_array_get_object_element (a, i), "name");
}

/* One listViewers page (the reply). */
static JsonObject *
list_viewers (RcTestWs *ws, guint offset, guint limit)
{
  g_autofree char *request = g_strdup_printf (
    "{\"type\":\"listViewers\",\"id\":\"page\",\"offset\":%u,\"limit\":%u}", offset, limit);

  rc_test_ws_send (ws, request);
  return rc_test_ws_expect (ws, "viewers", 5000);
}

static void
test_join_see_each_other (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Lounge", NULL);
  const char *id = rc_test_str (room, "id");
  g_autoptr (JsonObject) state_a = NULL;
  g_autoptr (JsonObject) state_b = NULL;
  g_autoptr (JsonObject) update = NULL;
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, id, "Ann", NULL, rc_test_str (room, "ownerToken"),
                                            &state_a);
  g_autoptr (RcTestWs) b = rc_test_ws_join (server, id, "  Bob\n", NULL, NULL, &state_b);
  JsonObject *you;

  g_assert_cmpuint (participant_count (state_a), ==, 1);
  you = json_object_get_object_member (state_a, "you");
  g_assert_true (json_object_get_boolean_member (you, "isOwner"));
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (state_a, "room"), "name"), ==,
                   "Lounge");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (state_a, "chat")), ==, 0);

  /* Bob sees Ann and himself; his name was cleaned. */
  g_assert_cmpuint (participant_count (state_b), ==, 2);
  g_assert_cmpstr (participant_name (state_b, 0), ==, "Ann");
  g_assert_cmpstr (participant_name (state_b, 1), ==, "Bob");
  you = json_object_get_object_member (state_b, "you");
  g_assert_false (json_object_get_boolean_member (you, "isOwner"));
  g_assert_nonnull (rc_test_str (you, "id"));

  /* Ann is told Bob arrived: who, and how many are in now. */
  update = rc_test_ws_expect (a, "viewerJoined", 5000);
  g_assert_cmpint (json_object_get_int_member (update, "count"), ==, 2);
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (update, "guest"), "name"), ==,
                   "Bob");
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (update, "guest"), "id"), ==,
                   rc_test_str (you, "id"));
  g_assert_cmpint (json_object_get_int_member (state_b, "participantCount"), ==, 2);
}

static void
collect_chat (RcTestWs *ws, guint n, GPtrArray *texts)
{
  while (texts->len < n)
    {
      g_autoptr (JsonObject) msg = rc_test_ws_expect (ws, "chat", 5000);
      g_ptr_array_add (texts, g_strdup (rc_test_str (msg, "text")));
    }
}

static void
test_chat_order_and_hygiene (void)
{
  const char *args[] = { "--chat-rate-limit", "0", NULL };
  g_autoptr (RcTestServer) server = rc_test_server_start (args);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Chat", NULL);
  const char *id = rc_test_str (room, "id");
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, id, "Ann", NULL, NULL, NULL);
  g_autoptr (RcTestWs) b = rc_test_ws_join (server, id, "Bob", NULL, NULL, NULL);
  g_autoptr (RcTestWs) c = NULL;
  g_autoptr (JsonObject) state_c = NULL;
  g_autoptr (GPtrArray) seen_a = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) seen_b = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) echo = NULL;
  g_autoptr (GString) long_text = g_string_new (NULL);
  JsonArray *history;

  /* Interleave senders without waiting: both guests must agree on one order. */
  for (int i = 0; i < 10; i++)
    rc_test_ws_sendf (i % 2 ? b : a, "{\"type\":\"chat\",\"text\":\"m%d\"}", i);
  collect_chat (a, 10, seen_a);
  collect_chat (b, 10, seen_b);
  for (guint i = 0; i < 10; i++)
    g_assert_cmpstr (seen_a->pdata[i], ==, seen_b->pdata[i]);
  /* Each sender's own messages keep their order. */
  {
    int last_a = -1, last_b = -1;
    for (guint i = 0; i < 10; i++)
      {
        int n = atoi ((char *) seen_a->pdata[i] + 1);
        int *last = n % 2 ? &last_b : &last_a;
        g_assert_cmpint (n, >, *last);
        *last = n;
      }
  }

  /* Hygiene: trimmed, control characters gone, HTML kept as plain text, 500 max. */
  rc_test_ws_send (a, "{\"type\":\"chat\",\"id\":\"h1\",\"text\":\"  <img src=x onerror=alert(1)>\\u0000\\u0007 \"}");
  echo = rc_test_ws_expect (a, "chat", 5000);
  g_assert_cmpstr (rc_test_str (echo, "text"), ==, "<img src=x onerror=alert(1)>");
  g_assert_cmpstr (rc_test_str (echo, "id"), ==, "h1");
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (echo, "from"), "name"), ==, "Ann");
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (echo, "from"),
                                                  "isOwner"));
  g_assert_cmpint (json_object_get_int_member (echo, "ts"), >, 1700000000000);
  {
    g_autoptr (JsonObject) at_b = rc_test_ws_expect (b, "chat", 5000);
    g_assert_cmpstr (rc_test_str (at_b, "text"), ==, "<img src=x onerror=alert(1)>");
    g_assert_false (json_object_has_member (at_b, "id")); /* ids go to the requester only */
  }
  for (int i = 0; i < 700; i++)
    g_string_append_c (long_text, 'a' + i % 26);
  rc_test_ws_sendf (a, "{\"type\":\"chat\",\"text\":\"%s\"}", long_text->str);
  {
    g_autoptr (JsonObject) cut = rc_test_ws_expect (b, "chat", 5000);
    g_assert_cmpuint (strlen (rc_test_str (cut, "text")), ==, 500);
  }
  rc_test_ws_send (a, "{\"type\":\"chat\",\"text\":\" \\n\\t \"}");
  json_object_unref (rc_test_ws_expect_error (a, RC_ERROR_INVALID_PARAM, 5000));

  /* A latecomer gets the history, oldest first. */
  c = rc_test_ws_join (server, id, "Cy", NULL, NULL, &state_c);
  history = json_object_get_array_member (state_c, "chat");
  g_assert_cmpuint (json_array_get_length (history), ==, 12);
  /* The requester's id was for its reply only, not part of the stored chat. */
  g_assert_false (json_object_has_member (json_array_get_object_element (history, 10), "id"));
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (history, 10), "text"), ==,
                   "<img src=x onerror=alert(1)>");
  for (guint i = 0; i < 10; i++)
    g_assert_cmpstr (rc_test_str (json_array_get_object_element (history, i), "text"), ==,
                     seen_a->pdata[i]);
}

static void
test_chat_history_capped (void)
{
  const char *args[] = { "--chat-rate-limit", "0", "--rate-limit", "0", "--chat-history", "100",
                         NULL };
  g_autoptr (RcTestServer) server = rc_test_server_start (args);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Busy", NULL);
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, rc_test_str (room, "id"), "A", NULL, NULL, NULL);
  g_autoptr (RcTestWs) late = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  JsonArray *history;

  for (int i = 0; i < 105; i++)
    rc_test_ws_sendf (a, "{\"type\":\"chat\",\"text\":\"n%d\"}", i);
  collect_chat (a, 105, seen);
  late = rc_test_ws_join (server, rc_test_str (room, "id"), "Late", NULL, NULL, &state);
  history = json_object_get_array_member (state, "chat");
  g_assert_cmpuint (json_array_get_length (history), ==, 100);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (history, 0), "text"), ==, "n5");
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (history, 99), "text"), ==, "n104");
}

static void
test_room_full (void)
{
  const char *args[] = { "--max-guests", "2", NULL };
  g_autoptr (RcTestServer) server = rc_test_server_start (args);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Small", NULL);
  const char *id = rc_test_str (room, "id");
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, id, "A", NULL, NULL, NULL);
  g_autoptr (RcTestWs) b = rc_test_ws_join (server, id, "B", NULL, NULL, NULL);
  g_autoptr (RcTestWs) c = rc_test_ws_connect (server);
  g_autoptr (RcTestWs) owner = NULL;
  g_autoptr (JsonObject) err = NULL;

  rc_test_ws_sendf (c, "{\"type\":\"join\",\"id\":3,\"roomId\":\"%s\",\"name\":\"C\"}", id);
  err = rc_test_ws_expect_error (c, RC_ERROR_ROOM_FULL, 5000);
  g_assert_cmpint (json_object_get_int_member (err, "id"), ==, 3);
  /* The owner still gets into a full room. */
  owner = rc_test_ws_join (server, id, "Owner", NULL, rc_test_str (room, "ownerToken"), NULL);
  /* When the extra guests leave, there is room again. */
  rc_test_ws_send (b, "{\"type\":\"leave\"}");
  json_object_unref (rc_test_ws_expect (b, "left", 5000));
  rc_test_ws_send (owner, "{\"type\":\"leave\"}");
  json_object_unref (rc_test_ws_expect (owner, "left", 5000));
  rc_test_ws_sendf (c, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"C\"}", id);
  json_object_unref (rc_test_ws_expect (c, "initialState", 5000));
}

static void
test_password (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Locked", "s3cret pass");
  const char *id = rc_test_str (room, "id");
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (server);
  g_autoptr (RcTestWs) owner = NULL;
  g_autoptr (JsonObject) state = NULL;

  rc_test_ws_sendf (ws, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"X\"}", id);
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_WRONG_PASSWORD, 5000));
  rc_test_ws_sendf (ws, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"X\",\"password\":\"s3cret\"}",
                    id);
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_WRONG_PASSWORD, 5000));
  rc_test_ws_sendf (ws, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"X\",\"password\":\"s3cret pass\"}",
                    id);
  state = rc_test_ws_expect (ws, "initialState", 5000);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (state, "room"),
                                                 "hasPassword"));
  /* The owner token stands in for the password. */
  owner = rc_test_ws_join (server, id, "Owner", NULL, rc_test_str (room, "ownerToken"), NULL);
}

static void
test_rate_limits (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL); /* 20/s, burst 40; chat 2/s, burst 8 */
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Flood", NULL);
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, rc_test_str (room, "id"), "A", NULL, NULL, NULL);
  g_autoptr (RcTestWs) b = rc_test_ws_join (server, rc_test_str (room, "id"), "B", NULL, NULL, NULL);
  guint pongs = 0, limited = 0, chats = 0, chat_limited = 0;

  for (int i = 0; i < 100; i++)
    rc_test_ws_send (a, "{\"type\":\"ping\"}");
  for (JsonObject *m; (m = rc_test_ws_next (a, 1000)) != NULL; json_object_unref (m))
    {
      if (g_strcmp0 (rc_test_str (m, "type"), "pong") == 0)
        pongs++;
      else if (json_object_get_int_member_with_default (m, "code", 0) == RC_ERROR_RATE_LIMITED)
        limited++;
    }
  g_assert_cmpuint (pongs, >=, 40 - 1); /* the burst, less the join's token */
  g_assert_cmpuint (pongs, <, 100);
  g_assert_cmpuint (pongs + limited, ==, 100);

  rc_test_run_for (2500); /* buckets refill */
  for (int i = 0; i < 20; i++)
    rc_test_ws_sendf (b, "{\"type\":\"chat\",\"text\":\"spam %d\"}", i);
  for (JsonObject *m; (m = rc_test_ws_next (b, 1000)) != NULL; json_object_unref (m))
    {
      if (g_strcmp0 (rc_test_str (m, "type"), "chat") == 0)
        chats++;
      else if (json_object_get_int_member_with_default (m, "code", 0) == RC_ERROR_RATE_LIMITED)
        chat_limited++;
    }
  g_assert_cmpuint (chats, >=, 8); /* the chat burst */
  g_assert_cmpuint (chats, <, 20);
  g_assert_cmpuint (chats + chat_limited, ==, 20);

  /* After a pause the same guest chats again, and the other guest hears it. */
  rc_test_run_for (1500);
  rc_test_ws_send (b, "{\"type\":\"chat\",\"text\":\"calm now\"}");
  for (;;)
    {
      g_autoptr (JsonObject) m = rc_test_ws_expect (a, "chat", 5000);
      if (g_strcmp0 (rc_test_str (m, "text"), "calm now") == 0)
        break;
    }
}

static void
test_bad_messages_connection_survives (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Robust", NULL);
  const char *id = rc_test_str (room, "id");
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (server);
  g_autoptr (RcTestWs) other = rc_test_ws_join (server, id, "Other", NULL, NULL, NULL);
  g_autoptr (GString) big = g_string_new ("{\"type\":\"chat\",\"text\":\"");
  g_autoptr (GBytes) binary = g_bytes_new_static ("\x00\x01\x02", 3);
  struct
  {
    const char *text;
    int code;
  } cases[] = {
    { "this is not json", RC_ERROR_INVALID_MESSAGE },
    { "[1,2,3]", RC_ERROR_INVALID_MESSAGE },
    { "{\"notype\":1}", RC_ERROR_INVALID_MESSAGE },
    { "{\"type\":7}", RC_ERROR_INVALID_MESSAGE },
    { "{\"type\":\"danceParty\"}", RC_ERROR_UNKNOWN_TYPE },
    { "{\"type\":\"chat\",\"text\":\"too early\"}", RC_ERROR_NOT_IN_ROOM },
    { "{\"type\":\"leave\"}", RC_ERROR_NOT_IN_ROOM },
    { "{\"type\":\"join\",\"roomId\":\"nope\",\"name\":\"X\"}", RC_ERROR_NOT_FOUND },
    { "{\"type\":\"join\",\"roomId\":42,\"name\":\"X\"}", RC_ERROR_INVALID_PARAM },
    { "{\"type\":\"join\",\"name\":\"X\"}", RC_ERROR_INVALID_PARAM },
    { "{\"type\":\"ping\",\"id\":{\"deep\":1}}", RC_ERROR_INVALID_PARAM },
  };
  g_autoptr (JsonObject) err = NULL;
  g_autoptr (JsonObject) pong = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      rc_test_ws_send (ws, cases[i].text);
      json_object_unref (rc_test_ws_expect_error (ws, cases[i].code, 5000));
    }

  /* Errors echo the request id. */
  rc_test_ws_send (ws, "{\"type\":\"nope\",\"id\":\"q-1\"}");
  err = rc_test_ws_expect_error (ws, RC_ERROR_UNKNOWN_TYPE, 5000);
  g_assert_cmpstr (rc_test_str (err, "id"), ==, "q-1");
  rc_test_ws_send (ws, "{\"type\":\"ping\",\"id\":17}");
  pong = rc_test_ws_expect (ws, "pong", 5000);
  g_assert_cmpint (json_object_get_int_member (pong, "id"), ==, 17);

  /* A 1 MB message is refused with too_large, and the socket stays open. */
  while (big->len < 1024 * 1024)
    g_string_append (big, "0123456789abcdef");
  g_string_append (big, "\"}");
  rc_test_ws_send (ws, big->str);
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_TOO_LARGE, 10000));
  soup_websocket_connection_send_binary (ws->conn, g_bytes_get_data (binary, NULL), 3);
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_MESSAGE, 5000));
  g_assert_false (ws->closed);

  /* The same connection joins and chats; the other guest hears it. */
  rc_test_ws_sendf (ws, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Phoenix\"}", id);
  json_object_unref (rc_test_ws_expect (ws, "initialState", 5000));
  rc_test_ws_send (ws, "{\"type\":\"join\",\"roomId\":\"x\",\"name\":\"again\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_ALREADY_IN_ROOM, 5000));
  rc_test_ws_send (ws, "{\"type\":\"chat\",\"text\":\"still here\"}");
  {
    g_autoptr (JsonObject) heard = rc_test_ws_expect (other, "chat", 5000);
    g_assert_cmpstr (rc_test_str (heard, "text"), ==, "still here");
    g_assert_cmpstr (rc_test_str (json_object_get_object_member (heard, "from"), "name"), ==,
                     "Phoenix");
  }
}

static void
test_leave_and_close (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Doors", NULL);
  const char *id = rc_test_str (room, "id");
  g_autoptr (RcTestWs) a = rc_test_ws_join (server, id, "A", NULL, NULL, NULL);
  g_autoptr (JsonObject) state_b = NULL;
  g_autoptr (JsonObject) state_c = NULL;
  RcTestWs *b = rc_test_ws_join (server, id, "B", NULL, NULL, &state_b);
  g_autoptr (RcTestWs) c = rc_test_ws_join (server, id, "C", NULL, NULL, &state_c);
  g_autofree char *b_id = g_strdup (rc_test_str (json_object_get_object_member (state_b, "you"), "id"));
  const char *c_id = rc_test_str (json_object_get_object_member (state_c, "you"), "id");
  g_autoptr (JsonObject) update = NULL;
  g_autoptr (JsonObject) left = NULL;

  /* A has seen everyone arrive. */
  for (;;)
    {
      g_autoptr (JsonObject) u = rc_test_ws_expect (a, "viewerJoined", 5000);
      if (json_object_get_int_member (u, "count") == 3)
        break;
    }

  /* Explicit leave. */
  rc_test_ws_send (c, "{\"type\":\"leave\",\"id\":1}");
  left = rc_test_ws_expect (c, "left", 5000);
  g_assert_cmpint (json_object_get_int_member (left, "id"), ==, 1);
  rc_test_ws_send (c, "{\"type\":\"chat\",\"text\":\"ghost\"}");
  json_object_unref (rc_test_ws_expect_error (c, RC_ERROR_NOT_IN_ROOM, 5000));
  {
    g_autoptr (JsonObject) u = rc_test_ws_expect (a, "viewerLeft", 5000);
    g_assert_cmpint (json_object_get_int_member (u, "count"), ==, 2);
    g_assert_cmpstr (rc_test_str (u, "guestId"), ==, c_id);
  }

  /* A closed socket leaves too; A is the one left. */
  rc_test_ws_free (b);
  update = rc_test_ws_expect (a, "viewerLeft", 5000);
  g_assert_cmpint (json_object_get_int_member (update, "count"), ==, 1);
  g_assert_cmpstr (rc_test_str (update, "guestId"), ==, b_id);
  {
    g_autoptr (JsonObject) page = list_viewers (a, 0, 200);

    g_assert_cmpuint (participant_count (page), ==, 1);
    g_assert_cmpstr (participant_name (page, 0), ==, "A");
  }
}

static void
test_dead_connection_dropped (void)
{
  const char *args[] = { "--ping-interval", "1", "--idle-timeout", "3", NULL };
  g_autoptr (RcTestServer) server = rc_test_server_start (args);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Ghosts", NULL);
  const char *id = rc_test_str (room, "id");
  g_autoptr (RcTestWs) alive = rc_test_ws_join (server, id, "Alive", NULL, NULL, NULL);
  g_autoptr (GSocketConnection) mute = rc_test_ws_raw_join (server, id, "Mute", 0);
  gint64 joined_at, dropped_at = 0;

  for (;;)
    {
      g_autoptr (JsonObject) u = rc_test_ws_expect (alive, "viewerJoined", 5000);
      if (json_object_get_int_member (u, "count") == 2)
        break;
    }
  joined_at = g_get_monotonic_time ();
  for (;;)
    {
      g_autoptr (JsonObject) u = rc_test_ws_expect (alive, "viewerLeft", 10000);
      if (json_object_get_int_member (u, "count") == 1)
        {
          g_autoptr (JsonObject) page = list_viewers (alive, 0, 200);

          g_assert_cmpuint (participant_count (page), ==, 1);
          g_assert_cmpstr (participant_name (page, 0), ==, "Alive");
          dropped_at = g_get_monotonic_time ();
          break;
        }
    }
  /* Dropped after the idle timeout, not before; and the live guest, which
   * answered every ping while sending nothing itself, is still in. */
  g_assert_cmpint (dropped_at - joined_at, >=, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (dropped_at - joined_at, <=, 6 * G_USEC_PER_SEC);
  rc_test_run_for (3000);
  g_assert_false (alive->closed);
  rc_test_ws_send (alive, "{\"type\":\"chat\",\"text\":\"still alive\"}");
  json_object_unref (rc_test_ws_expect (alive, "chat", 5000));
}

/* A client that sends its join with the upgrade request, before the 101
 * (bytes the server's HTTP reading takes ahead of the WebSocket), is
 * answered as any other: the join is not left waiting for more bytes. */
static void
test_join_sent_with_upgrade (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Eager", NULL);
  g_autoptr (GSocketConnection) eager =
    rc_test_ws_raw_join_eager (server, rc_test_str (room, "id"), "Eager");
  gboolean joined = FALSE;

  g_socket_set_timeout (g_socket_connection_get_socket (eager), 10);
  while (!joined)
    {
      guint opcode = 0;
      g_autoptr (GBytes) payload = rc_test_ws_raw_read (eager, &opcode);

      g_assert_nonnull (payload);
      joined = opcode == 1 && strstr (g_bytes_get_data (payload, NULL), "\"initialState\"") != NULL;
    }
  rc_test_ws_raw_send (eager, "{\"type\":\"ping\",\"id\":1}");
  for (;;)
    {
      guint opcode = 0;
      g_autoptr (GBytes) payload = rc_test_ws_raw_read (eager, &opcode);

      g_assert_nonnull (payload);
      if (opcode == 1 && strstr (g_bytes_get_data (payload, NULL), "\"pong\"") != NULL)
        break;
    }
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

/* Replies, listings and stats stay valid JSON whatever numbers a guest sends,
 * and a message holding what cannot be echoed back gets a numbered error. */
static void
test_numbers_and_strings_at_the_edge (void)
{
  g_autoptr (RcTestServer) server = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (RcTestWs) owner = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonNode) listed = NULL;
  g_autoptr (JsonNode) stats = NULL;
  g_autofree char *path = NULL;
  const char *id;
  static const char *const bad[] = {
    "{\"type\":\"\\ud800\"}",
    "{\"type\":\"join\",\"roomId\":\"\\ud800\",\"name\":\"x\"}",
    "{\"type\":\"setAutoplay\",\"enabled\":\"\\udfff\"}",
    "{\"type\":\"chat\",\"\\ud800\":1,\"text\":\"hi\"}",
    "{\"type\":\"chat\",\"text\":\"a\\ud800b\"}",
    "{\"type\":\"chat\",\"text\":\"hi\",\"n\":1e400}",
    "{\"type\":\"chat\",\"text\":\"hi\",\"id\":18446744073709551616}",
  };
  guint status = 0;

  /* A CRITICAL (libsoup refusing a reply that is not UTF-8) aborts the server. */
  g_setenv ("G_DEBUG", "fatal-criticals,gc-friendly", TRUE);
  server = rc_test_server_start (NULL);
  g_setenv ("G_DEBUG", "gc-friendly", TRUE);
  room = rc_test_create_room (server, "Numbers", NULL);
  id = rc_test_str (room, "id");
  path = g_strdup_printf ("/api/rooms/%s/stats", id);
  owner = rc_test_ws_join (server, id, "Owner", NULL, rc_test_str (room, "ownerToken"), NULL);
  reply = rc_test_ws_command (owner, "{\"type\":\"setMixPolicy\",\"mode\":\"talkover\",\"duckDb\":-1e-300}");
  g_assert_cmpstr (rc_test_str (reply, "type"), !=, "error");
  g_clear_pointer (&reply, json_object_unref);
  rc_test_ws_send (owner, "{\"type\":\"syncReport\",\"transport\":\"webrtc\",\"error\":1e-300,"
                          "\"arrival\":-1e-300,\"jitter\":1e-300}");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (owner, "{\"type\":\"timeSync\",\"t0\":1}"); /* after the report */
  g_clear_pointer (&reply, json_object_unref);
  /* rc_test_http gives NULL for a body that is not JSON. */
  listed = rc_test_http (server, "GET", "/api/rooms", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (listed);
  stats = rc_test_http (server, "GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (stats);

  /* A request id that is a huge double comes back as the same number. */
  rc_test_ws_send (owner, "{\"type\":\"timeSync\",\"t0\":1,\"id\":1e308}");
  reply = rc_test_ws_expect (owner, "timeSync", 5000);
  g_assert_cmpfloat (json_object_get_double_member (reply, "id"), ==, 1e308);
  g_clear_pointer (&reply, json_object_unref);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      rc_test_ws_send (owner, bad[i]);
      g_clear_pointer (&reply, json_object_unref);
      reply = rc_test_ws_expect_error (owner, 4000, 5000);
    }
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/signalling/join-see-each-other", test_join_see_each_other);
  g_test_add_func ("/signalling/numbers-and-strings-at-the-edge",
                   test_numbers_and_strings_at_the_edge);
  g_test_add_func ("/signalling/chat-order-and-hygiene", test_chat_order_and_hygiene);
  g_test_add_func ("/signalling/chat-history-capped", test_chat_history_capped);
  g_test_add_func ("/signalling/room-full", test_room_full);
  g_test_add_func ("/signalling/password", test_password);
  g_test_add_func ("/signalling/rate-limits", test_rate_limits);
  g_test_add_func ("/signalling/bad-messages", test_bad_messages_connection_survives);
  g_test_add_func ("/signalling/leave-and-close", test_leave_and_close);
  g_test_add_func ("/signalling/dead-connection", test_dead_connection_dropped);
  g_test_add_func ("/signalling/join-sent-with-upgrade", test_join_sent_with_upgrade);
  return g_test_run ();
}

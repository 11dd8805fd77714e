/* SPDX-License-Identifier: MIT */
/*
 * What the cluster tests share (rc_test_cluster.h): starting nodes with a
 * short lease, reading the cluster as a node sees it, and the two room
 * set-ups they start from. Kept apart so that test_cluster (nodes,
 * placement, signalling across nodes, edges) and test_cluster_failover
 * (kill -9, fencing, Redis restarts) stay one subject each.
 */
#include "rc_test_cluster.h"

#include "rc_test_music.h"
#include "rc_test_util.h"

#include <string.h>

guint
rc_test_cluster_lease_ms (void)
{
  return 1500 * rc_test_slowdown ();
}

RcTestServer *
rc_test_cluster_node_start (RcTestRedis *redis, const char *music_dir)
{
  g_autofree char *lease = g_strdup_printf ("%u", rc_test_cluster_lease_ms ());
  const char *args[] = { "--cluster", rc_test_redis_get_uri (redis), "--cluster-lease", lease,
                         music_dir ? "--music-dir" : NULL, music_dir, NULL };

  return rc_test_server_start (args);
}

JsonObject *
rc_test_cluster_get_ok (RcTestServer *server, const char *path)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", path, NULL, NULL, &status);

  g_assert_cmpuint (status, ==, 200);
  return json_object_ref (json_node_get_object (body));
}

static JsonArray *
nodes_of (JsonObject *listing)
{
  return json_object_get_array_member (listing, "nodes");
}

guint
rc_test_cluster_count_nodes (RcTestServer *server)
{
  g_autoptr (JsonObject) listing = rc_test_cluster_get_ok (server, "/api/nodes");

  return json_array_get_length (nodes_of (listing));
}

char *
rc_test_cluster_node_id (RcTestServer *server)
{
  g_autoptr (JsonObject) listing = rc_test_cluster_get_ok (server, "/api/nodes");
  JsonArray *nodes = nodes_of (listing);

  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);

      if (json_object_get_boolean_member (n, "self"))
        {
          g_assert_cmpstr (rc_test_str (n, "url"), ==, server->base_url);
          return g_strdup (rc_test_str (n, "id"));
        }
    }
  g_assert_not_reached ();
}

char *
rc_test_cluster_owner_url (RcTestServer *server, const char *id)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s", id);
  g_autoptr (JsonObject) room = rc_test_cluster_get_ok (server, path);
  JsonObject *node;

  if (json_object_get_null_member (room, "node"))
    return NULL;
  node = json_object_get_object_member (room, "node");
  return json_object_get_null_member (node, "url") ? NULL : g_strdup (rc_test_str (node, "url"));
}

gboolean
rc_test_cluster_owned_by (RcTestServer *asked, const char *id, RcTestServer *owner)
{
  g_autofree char *url = rc_test_cluster_owner_url (asked, id);

  return g_strcmp0 (url, owner->base_url) == 0;
}

gboolean
rc_test_cluster_lease_is (RcTestRedis *redis, const char *id, const char *node)
{
  g_autofree char *key = g_strdup_printf ("room-lease:%s", id);
  g_autofree char *owner = rc_test_redis_call (redis, "GET", key, NULL);

  return g_strcmp0 (owner, node) == 0;
}

gboolean
rc_test_cluster_state_chat_has (JsonObject *state, const char *text)
{
  JsonArray *chat = json_object_get_array_member (state, "chat");

  for (guint i = 0; i < json_array_get_length (chat); i++)
    if (g_strcmp0 (rc_test_str (json_array_get_object_element (chat, i), "text"), text) == 0)
      return TRUE;
  return FALSE;
}

gboolean
rc_test_cluster_chat_has (RcTestServer *server, const char *room, const char *text)
{
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (RcTestWs) ws = rc_test_ws_join (server, room, "Reader", NULL, NULL, &state);

  return rc_test_cluster_state_chat_has (state, text);
}

gboolean
rc_test_cluster_stored_chat_is (RcTestRedis *redis, const char *id, guint n)
{
  g_autofree char *key = g_strdup_printf ("room:%s:chat", id);
  g_autofree char *len = rc_test_redis_call (redis, "LLEN", key, NULL);

  return g_ascii_strtoull (len, NULL, 10) == n;
}

char *
rc_test_cluster_names_of (JsonArray *participants)
{
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (participants); i++)
    g_string_append_printf (names, "%s ",
                            rc_test_str (json_array_get_object_element (participants, i), "name"));
  return g_string_free (names, FALSE);
}

static char *
member_text (JsonObject *o, const char *name)
{
  g_autoptr (JsonNode) node = json_node_copy (json_object_get_member (o, name));

  return json_to_string (node, FALSE);
}

/* The room as a newcomer joining through @server sees it. */
static JsonObject *
newcomer_state (RcTestServer *server, const char *id)
{
  JsonObject *state = NULL;
  g_autoptr (RcTestWs) ws = rc_test_ws_join (server, id, "Newcomer", NULL, NULL, &state);

  return state;
}

void
rc_test_cluster_assert_same_view (RcTestServer *one, RcTestServer *two, const char *id)
{
  g_autoptr (JsonObject) s1 = newcomer_state (one, id);
  g_autoptr (JsonObject) s2 = newcomer_state (two, id);
  const char *same[] = { "room", "chat", "queue" };

  for (guint i = 0; i < G_N_ELEMENTS (same); i++)
    {
      g_autofree char *t1 = member_text (s1, same[i]);
      g_autofree char *t2 = member_text (s2, same[i]);

      g_assert_cmpstr (t1, ==, t2);
    }
  {
    JsonObject *p1 = json_object_get_object_member (s1, "state");
    JsonObject *p2 = json_object_get_object_member (s2, "state");
    g_autofree char *n1 =
      rc_test_cluster_names_of (json_object_get_array_member (s1, "participants"));
    g_autofree char *n2 =
      rc_test_cluster_names_of (json_object_get_array_member (s2, "participants"));

    g_assert_cmpint (json_object_get_boolean_member (p1, "playing"), ==,
                     json_object_get_boolean_member (p2, "playing"));
    g_assert_cmpstr (n1, ==, n2);
    g_assert_cmpint (json_object_get_int_member (s1, "participantCount"), ==,
                     json_object_get_int_member (s2, "participantCount"));
  }
}

/* Redis and two nodes, a room made through the first: who serves it. */
static JsonObject *
pair_nodes_and_room (RcTestPair *p, const char *music_dir, const char *name)
{
  JsonObject *room;

  p->redis = rc_test_redis_start_checked ();
  p->a = rc_test_cluster_node_start (p->redis, music_dir);
  p->b = rc_test_cluster_node_start (p->redis, music_dir);
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_count_nodes (p->a) == 2, 5000));
  room = rc_test_create_room (p->a, name, NULL);
  p->owner = g_str_equal (rc_test_str (room, "nodeUrl"), p->a->base_url) ? p->a : p->b;
  p->other = p->owner == p->a ? p->b : p->a;
  p->id = g_strdup (rc_test_str (room, "id"));
  return room;
}

void
rc_test_pair_start (RcTestPair *p, const char *said, const char *music_dir)
{
  g_autoptr (JsonObject) room = pair_nodes_and_room (p, music_dir, "Failover");
  g_autofree char *chat = g_strdup_printf ("{\"type\":\"chat\",\"text\":\"%s\"}", said);

  p->guest = rc_test_ws_join (p->owner, p->id, "Guest", NULL, NULL, NULL);
  rc_test_ws_send (p->guest, chat);
  json_object_unref (rc_test_ws_expect (p->guest, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_stored_chat_is (p->redis, p->id, 1), 5000));
}

void
rc_test_pair_clear (RcTestPair *p)
{
  g_clear_pointer (&p->guest, rc_test_ws_free);
  g_clear_pointer (&p->a, rc_test_server_free);
  g_clear_pointer (&p->b, rc_test_server_free);
  g_clear_pointer (&p->redis, rc_test_redis_stop);
  g_free (p->id);
}

void
rc_test_cross_start (RcTestCross *x)
{
  g_autofree char *path = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (JsonObject) anna_state = NULL;

  x->dir = g_dir_make_tmp ("rc-cluster-XXXXXX", NULL);
  path = g_build_filename (x->dir, "cross.ogg", NULL);
  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, RC_TEST_CROSS_HZ, 60000, "Cross tune",
                       "Tones", NULL, NULL);
  room = pair_nodes_and_room (&x->p, x->dir, "Across");
  x->owner_token = g_strdup (rc_test_str (room, "ownerToken"));
  x->anna = rc_test_ws_join (x->p.owner, x->p.id, "Anna", NULL, NULL, &anna_state);
  x->boris = rc_test_ws_join (x->p.other, x->p.id, "Boris", NULL, NULL, &x->boris_state);
}

void
rc_test_cross_clear (RcTestCross *x)
{
  g_clear_pointer (&x->anna, rc_test_ws_free);
  g_clear_pointer (&x->boris, rc_test_ws_free);
  g_clear_pointer (&x->boris_state, json_object_unref);
  rc_test_pair_clear (&x->p);
  rc_test_music_remove_tree (x->dir);
  g_free (x->dir);
  g_free (x->owner_token);
}

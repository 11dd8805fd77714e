/* SPDX-License-Identifier: MIT */
/*
 * A roomcast cluster on a real redis-server: two or three roomcast
 * processes with --cluster on 127.0.0.1. Nodes register and expire; any
 * node answers the REST API for every room; new rooms go to the least
 * loaded node; a guest joining on the wrong node is told where to go; a
 * node killed with -9 has its rooms taken over (chat kept) once the lease
 * runs out; a node paused (SIGSTOP) past its lease cannot write the
 * room again when it wakes (the fencing epoch), its guests are told the
 * room moved; and Redis away for longer than a lease costs no room.
 */
#include "server/core/rc_error.h"
#include "rc_test_music.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"
#include "rc_test_audio.h"
#include "tools/native-guest/rc_native_guest.h"
#include "pipelines/rc_ws_branch.h"

#include <gst/gst.h>
#include <math.h>
#include <signal.h>
#include <string.h>

/* A short lease keeps the test quick; a slow (sanitizer) build gets a
 * longer one, so that a busy node still renews in time. */
#define LEASE_MS (1500 * rc_test_slowdown ())

/* @music_dir: NULL for none. */
static RcTestServer *
start_node_with (RcTestRedis *redis, const char *music_dir)
{
  g_autofree char *lease = g_strdup_printf ("%u", (guint) LEASE_MS);
  const char *args[] = { "--cluster", rc_test_redis_get_uri (redis), "--cluster-lease", lease,
                         music_dir ? "--music-dir" : NULL, music_dir, NULL };

  return rc_test_server_start (args);
}

static RcTestServer *
start_node (RcTestRedis *redis)
{
  return start_node_with (redis, NULL);
}

/* GET @path on @server, 200 expected; transfer full. */
static JsonObject *
get_ok (RcTestServer *server, const char *path)
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

/* The id of the node whose URL is @server's, from @server's own listing. */
static char *
node_id (RcTestServer *server)
{
  g_autoptr (JsonObject) listing = get_ok (server, "/api/nodes");
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

static guint
count_nodes (RcTestServer *server)
{
  g_autoptr (JsonObject) listing = get_ok (server, "/api/nodes");

  return json_array_get_length (nodes_of (listing));
}

/* The URL of the node serving room @id, as @server tells it. */
static char *
owner_url (RcTestServer *server, const char *id)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s", id);
  g_autoptr (JsonObject) room = get_ok (server, path);
  JsonObject *node;

  if (json_object_get_null_member (room, "node"))
    return NULL;
  node = json_object_get_object_member (room, "node");
  return json_object_get_null_member (node, "url") ? NULL : g_strdup (rc_test_str (node, "url"));
}

static gboolean
owned_by (RcTestServer *asked, const char *id, RcTestServer *owner)
{
  g_autofree char *url = owner_url (asked, id);

  return g_strcmp0 (url, owner->base_url) == 0;
}

static void
test_nodes_register_and_expire (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) a = start_node (redis);
  g_autoptr (RcTestServer) b = start_node (redis);
  g_autoptr (RcTestServer) c = start_node (redis);
  g_autofree char *a_id = node_id (a);
  g_autofree char *b_id = node_id (b);
  g_autofree char *c_id = node_id (c);
  g_autofree char *c_key = g_strdup_printf ("node:%s", c_id);
  g_autofree char *ttl = NULL;
  gint64 killed;

  /* Every node lists every node, with its address and load. */
  g_assert_true (RC_WAIT_UNTIL (count_nodes (a) == 3 && count_nodes (b) == 3, 5000));
  {
    g_autoptr (JsonObject) listing = get_ok (b, "/api/nodes");
    JsonArray *nodes = nodes_of (listing);

    for (guint i = 0; i < 3; i++)
      {
        JsonObject *n = json_array_get_object_element (nodes, i);

        g_assert_true (json_object_has_member (n, "rooms"));
        g_assert_true (json_object_has_member (n, "guests"));
        g_assert_true (json_object_has_member (n, "cpu"));
        g_assert_true (g_str_has_prefix (rc_test_str (n, "url"), "http://127.0.0.1:"));
      }
  }
  /* The node key expires by itself: a lease's length, renewed each third. */
  ttl = rc_test_redis_call (redis, "PTTL", c_key, NULL);
  g_assert_cmpint (g_ascii_strtoll (ttl, NULL, 10), >, 0);
  g_assert_cmpint (g_ascii_strtoll (ttl, NULL, 10), <=, LEASE_MS);

  /* Killed: gone from the list once its key expires. */
  kill (rc_test_server_get_pid (b), SIGKILL);
  killed = g_get_monotonic_time ();
  g_assert_true (RC_WAIT_UNTIL (count_nodes (a) == 2, LEASE_MS + 3000));
  g_test_message ("killed node gone after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - killed) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - killed, <=, (LEASE_MS + 2000) * 1000);
  {
    g_autofree char *gone = g_strdup_printf ("node:%s", b_id);
    g_autofree char *value = rc_test_redis_call (redis, "GET", gone, NULL);

    g_assert_null (value);
  }

  /* Stopped cleanly: unregistered at once, not after the expiry. */
  g_assert_cmpint (rc_test_server_stop (c), ==, 0);
  {
    g_autofree char *value = rc_test_redis_call (redis, "GET", c_key, NULL);

    g_assert_null (value);
  }
  g_assert_cmpuint (count_nodes (a), ==, 1);
  g_assert_nonnull (a_id);
}

static void
test_rest_from_any_node_and_placement (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) a = start_node (redis);
  g_autoptr (RcTestServer) b = start_node (redis);
  g_autoptr (RcTestServer) c = start_node (redis);
  RcTestServer *servers[] = { a, b, c };
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (RC_WAIT_UNTIL (count_nodes (a) == 3, 5000));
  /* Three rooms asked of node a land on three nodes: each on the least
   * loaded, as the heartbeats tell it. */
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("Room %u", i);
      g_autoptr (JsonObject) room = rc_test_create_room (a, name, NULL);
      const char *node_url = rc_test_str (room, "nodeUrl");
      g_autofree char *page = g_strdup_printf ("%s/room/%s", node_url, rc_test_str (room, "id"));

      g_assert_cmpstr (rc_test_str (room, "url"), ==, page);
      g_assert_false (g_hash_table_contains (used, node_url));
      g_hash_table_add (used, g_strdup (node_url));
      g_ptr_array_add (ids, g_strdup (rc_test_str (room, "id")));
      g_ptr_array_add (tokens, g_strdup (rc_test_str (room, "ownerToken")));
      /* Wait until every node's published load counts its rooms. */
      g_assert_true (RC_WAIT_UNTIL (
        ({
          g_autoptr (JsonObject) listing = get_ok (a, "/api/nodes");
          JsonArray *nodes = nodes_of (listing);
          guint total = 0;

          for (guint k = 0; k < json_array_get_length (nodes); k++)
            total += json_object_get_int_member (json_array_get_object_element (nodes, k),
                                                 "rooms");
          total == i + 1;
        }),
        5000));
    }

  /* Every node lists the three rooms, each with the node serving it. */
  for (guint s = 0; s < G_N_ELEMENTS (servers); s++)
    {
      g_autoptr (JsonObject) listing = get_ok (servers[s], "/api/rooms");
      JsonArray *rooms = json_object_get_array_member (listing, "rooms");

      g_assert_cmpuint (json_array_get_length (rooms), ==, 3);
      for (guint i = 0; i < 3; i++)
        {
          JsonObject *r = json_array_get_object_element (rooms, i);
          JsonObject *node = json_object_get_object_member (r, "node");

          g_assert_true (g_hash_table_contains (used, rc_test_str (node, "url")));
          g_assert_true (g_str_has_prefix (rc_test_str (r, "name"), "Room "));
        }
    }

  /* A room read on a node that does not serve it; a change refused there
   * with where to go; the owner's node does it. */
  {
    const char *id = ids->pdata[0];
    g_autofree char *owner = owner_url (a, id);
    RcTestServer *elsewhere = NULL, *serving = NULL;
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s", id);
    guint status = 0;

    for (guint s = 0; s < G_N_ELEMENTS (servers); s++)
      if (g_str_equal (servers[s]->base_url, owner))
        serving = servers[s];
      else
        elsewhere = servers[s];
    g_assert_nonnull (serving);
    g_assert_true (owned_by (elsewhere, id, serving));
    {
      g_autoptr (JsonNode) refused =
        rc_test_http (elsewhere, "DELETE", path, NULL, tokens->pdata[0], &status);

      g_assert_cmpuint (status, ==, 421);
      g_assert_cmpint (json_object_get_int_member (json_node_get_object (refused), "code"), ==,
                       RC_ERROR_ROOM_ELSEWHERE);
      g_assert_cmpstr (rc_test_str (json_node_get_object (refused), "nodeUrl"), ==, owner);
    }
    /* A guest who joins on another node gets in there: its session is
     * relayed to the room's node (the cross-node tests below). */
    {
      g_autoptr (JsonObject) state = NULL;
      g_autoptr (RcTestWs) ws = rc_test_ws_join (elsewhere, id, "Elsewhere", NULL, NULL, &state);

      g_assert_cmpstr (rc_test_str (json_object_get_object_member (state, "room"), "id"), ==,
                       id);
    }
    {
      g_autoptr (JsonNode) deleted =
        rc_test_http (serving, "DELETE", path, NULL, tokens->pdata[0], &status);

      g_assert_cmpuint (status, ==, 200);
    }
    {
      g_autoptr (JsonNode) gone = rc_test_http (elsewhere, "GET", path, NULL, NULL, &status);
      g_autofree char *lease_key = g_strdup_printf ("room-lease:%s", id);
      g_autofree char *epoch_key = g_strdup_printf ("room-epoch:%s", id);

      g_assert_cmpuint (status, ==, 404);
      /* Nothing of the room is left in Redis, its lease and epoch neither. */
      g_assert_true (RC_WAIT_UNTIL (
        ({
          g_autofree char *lease = rc_test_redis_call (redis, "GET", lease_key, NULL);
          g_autofree char *epoch = rc_test_redis_call (redis, "GET", epoch_key, NULL);

          lease == NULL && epoch == NULL;
        }),
        5000));
    }
  }
}

/* The chat of an initialState holds @text. */
static gboolean
state_chat_has (JsonObject *state, const char *text)
{
  JsonArray *chat = json_object_get_array_member (state, "chat");

  for (guint i = 0; i < json_array_get_length (chat); i++)
    if (g_strcmp0 (rc_test_str (json_array_get_object_element (chat, i), "text"), text) == 0)
      return TRUE;
  return FALSE;
}

/* The chat a guest joining @room on @server is given. */
static gboolean
chat_has (RcTestServer *server, const char *room, const char *text)
{
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (RcTestWs) ws = rc_test_ws_join (server, room, "Reader", NULL, NULL, &state);

  return state_chat_has (state, text);
}

/* Room @id's chat in Redis holds @n messages. The echo a guest gets can
 * come before the store's write leaves the process (docs/operators.md:
 * what a failover loses), so a test that stops a node waits for this. */
static gboolean
stored_chat_is (RcTestRedis *redis, const char *id, guint n)
{
  g_autofree char *key = g_strdup_printf ("room:%s:chat", id);
  g_autofree char *len = rc_test_redis_call (redis, "LLEN", key, NULL);

  return g_ascii_strtoull (len, NULL, 10) == n;
}

/* Redis, two nodes, a room made through the first and a guest of the
 * room's node who said something that reached Redis. */
typedef struct
{
  RcTestRedis *redis;
  RcTestServer *a, *b;
  RcTestServer *owner, *other; /* a and b, by who serves the room */
  char *id;
  RcTestWs *guest;
} Pair;

static void
pair_start_with (Pair *p, const char *said, const char *music_dir)
{
  g_autoptr (JsonObject) room = NULL;
  g_autofree char *chat = g_strdup_printf ("{\"type\":\"chat\",\"text\":\"%s\"}", said);

  p->redis = rc_test_redis_start_checked ();
  p->a = start_node_with (p->redis, music_dir);
  p->b = start_node_with (p->redis, music_dir);
  g_assert_true (RC_WAIT_UNTIL (count_nodes (p->a) == 2, 5000));
  room = rc_test_create_room (p->a, "Failover", NULL);
  p->owner = g_str_equal (rc_test_str (room, "nodeUrl"), p->a->base_url) ? p->a : p->b;
  p->other = p->owner == p->a ? p->b : p->a;
  p->id = g_strdup (rc_test_str (room, "id"));
  p->guest = rc_test_ws_join (p->owner, p->id, "Guest", NULL, NULL, NULL);
  rc_test_ws_send (p->guest, chat);
  json_object_unref (rc_test_ws_expect (p->guest, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (stored_chat_is (p->redis, p->id, 1), 5000));
}

static void
pair_start (Pair *p, const char *said)
{
  pair_start_with (p, said, NULL);
}

static void
pair_clear (Pair *p)
{
  g_clear_pointer (&p->guest, rc_test_ws_free);
  g_clear_pointer (&p->a, rc_test_server_free);
  g_clear_pointer (&p->b, rc_test_server_free);
  g_clear_pointer (&p->redis, rc_test_redis_stop);
  g_free (p->id);
}

static char *
epoch_of (Pair *p)
{
  g_autofree char *key = g_strdup_printf ("room-epoch:%s", p->id);

  return rc_test_redis_call (p->redis, "GET", key, NULL);
}

static void
test_kill9_failover (void)
{
  Pair p = { 0 };
  g_autofree char *epoch = NULL;
  gint64 killed;

  pair_start (&p, "said before the crash");
  kill (rc_test_server_get_pid (p.owner), SIGKILL);
  killed = g_get_monotonic_time ();

  /* Until the lease runs out the room is read from the store, then the
   * node asked takes it over. */
  g_assert_true (RC_WAIT_UNTIL (owned_by (p.other, p.id, p.other), LEASE_MS + 5000));
  g_assert_cmpint (g_get_monotonic_time () - killed, <=, (LEASE_MS + 3000) * 1000);
  g_assert_true (chat_has (p.other, p.id, "said before the crash"));
  epoch = epoch_of (&p);
  g_assert_cmpstr (epoch, ==, "2");
  pair_clear (&p);
}

/* The room's saved player state: its position and when it was saved. */
static void
stored_position (Pair *p, gint64 *position_ms, gint64 *saved_at_ms)
{
  g_autofree char *key = g_strdup_printf ("room:%s:player", p->id);
  g_autofree char *text = rc_test_redis_call (p->redis, "GET", key, NULL);
  g_autoptr (JsonNode) node = json_from_string (text, NULL);

  g_assert_nonnull (node);
  *position_ms = json_object_get_int_member (json_node_get_object (node), "positionMs");
  *saved_at_ms = json_object_get_int_member (json_node_get_object (node), "savedAt");
}

/* A playing room whose node is killed plays on elsewhere: the same song,
 * from where it was saved (at most a second before the kill). */
static void
test_kill9_keeps_the_song (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rc-cluster-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "tune.ogg", NULL);
  Pair p = { 0 };
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (RcTestWs) back = NULL;
  gint64 saved_pos, saved_at, killed_ms, joined_ms;
  JsonObject *player;

  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, 440, 60000, "Failover tune", "Tones", NULL,
                       NULL);
  pair_start_with (&p, "playing", dir);
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (p.owner, 1), 20000));
  song = rc_test_song_id (p.owner, "Failover tune");
  add = g_strdup_printf ("{\"type\":\"addSong\",\"songId\":\"%s\"}", song);
  reply = rc_test_ws_command (p.guest, add);
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");
  /* Two seconds in, saved once a second. */
  g_assert_true (RC_WAIT_UNTIL ((stored_position (&p, &saved_pos, &saved_at), saved_pos >= 2000),
                                10000));
  stored_position (&p, &saved_pos, &saved_at);
  kill (rc_test_server_get_pid (p.owner), SIGKILL);
  killed_ms = g_get_real_time () / 1000;
  g_assert_cmpint (killed_ms - saved_at, <=, 1000 + 250 * (gint64) rc_test_slowdown ());

  g_assert_true (RC_WAIT_UNTIL (owned_by (p.other, p.id, p.other), LEASE_MS + 5000));
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (p.other, 1), 20000));
  back = rc_test_ws_join (p.other, p.id, "Back", NULL, NULL, &state);
  joined_ms = g_get_real_time () / 1000;
  player = json_object_get_object_member (state, "state");
  g_assert_true (json_object_get_boolean_member (player, "playing"));
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (player, "song"), "title"), ==,
                   "Failover tune");
  /* Resumed at the saved position when taken over, moving on since. */
  g_assert_cmpfloat (json_object_get_double_member (player, "position") * 1000, >=,
                     saved_pos - 50);
  g_assert_cmpfloat (json_object_get_double_member (player, "position") * 1000, <=,
                     saved_pos + (joined_ms - killed_ms) + 50);
  pair_clear (&p);
  rc_test_music_remove_tree (dir);
}

static void
test_paused_node_is_fenced (void)
{
  Pair p = { 0 };
  g_autoptr (RcTestWs) fresh = NULL;
  g_autoptr (JsonObject) closed = NULL;

  pair_start (&p, "before the pause");

  /* The owner freezes past its lease; the other node takes the room. */
  kill (rc_test_server_get_pid (p.owner), SIGSTOP);
  g_assert_true (RC_WAIT_UNTIL (owned_by (p.other, p.id, p.other), LEASE_MS + 5000));
  fresh = rc_test_ws_join (p.other, p.id, "Awake", NULL, NULL, NULL);
  rc_test_ws_send (fresh, "{\"type\":\"chat\",\"text\":\"from the new owner\"}");
  json_object_unref (rc_test_ws_expect (fresh, "chat", 5000));

  /* Said to the frozen node: it handles it the moment it wakes, before it
   * can learn its lease is gone, and writes it with its old epoch. */
  rc_test_ws_send (p.guest, "{\"type\":\"chat\",\"text\":\"from the stale owner\"}");
  rc_test_iterate (100);
  kill (rc_test_server_get_pid (p.owner), SIGCONT);

  /* Its guest is told the room moved; nothing it wrote reached the store. */
  closed = rc_test_ws_expect (p.guest, "roomClosed", LEASE_MS + 5000);
  g_assert_cmpstr (rc_test_str (closed, "reason"), ==, "moved");
  rc_test_run_for (500);
  /* In Redis: the two messages of the room's owners, not the stale one. */
  g_assert_true (stored_chat_is (p.redis, p.id, 2));
  {
    g_autofree char *key = g_strdup_printf ("room:%s:chat", p.id);
    g_autofree char *last = rc_test_redis_call (p.redis, "LINDEX", key, "-1", NULL);

    g_assert_nonnull (strstr (last, "from the new owner"));
  }
  g_assert_true (chat_has (p.other, p.id, "before the pause"));
  g_assert_true (chat_has (p.other, p.id, "from the new owner"));
  g_assert_false (chat_has (p.other, p.id, "from the stale owner"));
  /* And the room is the new owner's still, seen from the woken node too,
   * whose operator sees the refused write. */
  g_assert_true (owned_by (p.owner, p.id, p.other));
  {
    g_autofree char *text = rc_test_http_text (p.owner, "/metrics", NULL);
    const char *line = strstr (text, "\nroomcast_store_fenced_writes_total ");

    g_assert_nonnull (line);
    g_assert_cmpfloat (g_ascii_strtod (line + strlen ("\nroomcast_store_fenced_writes_total "),
                                       NULL), >=, 1);
  }
  pair_clear (&p);
}

static gboolean
lease_is (RcTestRedis *redis, const char *id, const char *node)
{
  g_autofree char *key = g_strdup_printf ("room-lease:%s", id);
  g_autofree char *owner = rc_test_redis_call (redis, "GET", key, NULL);

  return g_strcmp0 (owner, node) == 0;
}

/* Redis gone for longer than a lease and back: nobody took the room
 * meanwhile, so its node keeps it (same epoch) and its guests stay. */
static void
test_redis_restart_keeps_rooms (void)
{
  Pair p = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *owner_id = NULL;
  g_autofree char *epoch = NULL;

  pair_start (&p, "before the outage");
  owner_id = node_id (p.owner);
  rc_test_redis_kill (p.redis);
  rc_test_run_for (LEASE_MS + 1000);
  rc_test_ws_send (p.guest, "{\"type\":\"chat\",\"text\":\"during the outage\"}");
  json_object_unref (rc_test_ws_expect (p.guest, "chat", 5000));
  g_assert_true (rc_test_redis_restart (p.redis, &error));
  g_assert_no_error (error);

  /* The node takes its expired lease back; the chat it buffered lands. */
  g_assert_true (RC_WAIT_UNTIL (lease_is (p.redis, p.id, owner_id), 10000));
  g_assert_true (RC_WAIT_UNTIL (stored_chat_is (p.redis, p.id, 2), 5000));
  epoch = epoch_of (&p);
  g_assert_cmpstr (epoch, ==, "1");
  rc_test_ws_send (p.guest, "{\"type\":\"chat\",\"text\":\"after the outage\"}");
  json_object_unref (rc_test_ws_expect (p.guest, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (stored_chat_is (p.redis, p.id, 3), 5000));
  g_assert_false (p.guest->closed);
  g_assert_true (owned_by (p.other, p.id, p.owner));
  pair_clear (&p);
}

/* ---- signalling across nodes ------------------------------------------- */

#define CROSS_HZ 660.0

/* Redis, two nodes with one song, a room, and two guests of it: Anna on
 * the room's node, Boris on the other (relayed). Neither is the owner. */
typedef struct
{
  Pair p;
  char *dir;
  char *owner_token;
  RcTestWs *anna;  /* on p.owner */
  RcTestWs *boris; /* on p.other */
  JsonObject *boris_state;
} Cross;

static void
cross_start (Cross *x)
{
  g_autofree char *path = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (JsonObject) anna_state = NULL;

  x->dir = g_dir_make_tmp ("rc-cluster-XXXXXX", NULL);
  path = g_build_filename (x->dir, "cross.ogg", NULL);
  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, CROSS_HZ, 60000, "Cross tune", "Tones", NULL,
                       NULL);
  x->p.redis = rc_test_redis_start_checked ();
  x->p.a = start_node_with (x->p.redis, x->dir);
  x->p.b = start_node_with (x->p.redis, x->dir);
  g_assert_true (RC_WAIT_UNTIL (count_nodes (x->p.a) == 2, 5000));
  room = rc_test_create_room (x->p.a, "Across", NULL);
  x->p.owner = g_str_equal (rc_test_str (room, "nodeUrl"), x->p.a->base_url) ? x->p.a : x->p.b;
  x->p.other = x->p.owner == x->p.a ? x->p.b : x->p.a;
  x->p.id = g_strdup (rc_test_str (room, "id"));
  x->owner_token = g_strdup (rc_test_str (room, "ownerToken"));
  x->anna = rc_test_ws_join (x->p.owner, x->p.id, "Anna", NULL, NULL, &anna_state);
  x->boris = rc_test_ws_join (x->p.other, x->p.id, "Boris", NULL, NULL, &x->boris_state);
}

static void
cross_clear (Cross *x)
{
  g_clear_pointer (&x->anna, rc_test_ws_free);
  g_clear_pointer (&x->boris, rc_test_ws_free);
  g_clear_pointer (&x->boris_state, json_object_unref);
  pair_clear (&x->p);
  rc_test_music_remove_tree (x->dir);
  g_free (x->dir);
  g_free (x->owner_token);
}

static char *
member_text (JsonObject *o, const char *name)
{
  g_autoptr (JsonNode) node = json_node_copy (json_object_get_member (o, name));

  return json_to_string (node, FALSE);
}

/* The names in a participants array, in order, space-separated. */
static char *
names_of (JsonArray *participants)
{
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (participants); i++)
    g_string_append_printf (names, "%s ",
                            rc_test_str (json_array_get_object_element (participants, i), "name"));
  return g_string_free (names, FALSE);
}

/* The room as a newcomer joining through @server sees it. */
static JsonObject *
newcomer_state (RcTestServer *server, const char *id)
{
  JsonObject *state = NULL;
  g_autoptr (RcTestWs) ws = rc_test_ws_join (server, id, "Newcomer", NULL, NULL, &state);

  return state;
}

/* What a guest sees of @id must not depend on the node it joined: room,
 * chat, queue, player state (its position aside) and participants. */
static void
assert_same_view (RcTestServer *one, RcTestServer *two, const char *id)
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
    g_autofree char *n1 = names_of (json_object_get_array_member (s1, "participants"));
    g_autofree char *n2 = names_of (json_object_get_array_member (s2, "participants"));

    g_assert_cmpint (json_object_get_boolean_member (p1, "playing"), ==,
                     json_object_get_boolean_member (p2, "playing"));
    g_assert_cmpstr (n1, ==, n2);
    g_assert_cmpint (json_object_get_int_member (s1, "participantCount"), ==,
                     json_object_get_int_member (s2, "participantCount"));
  }
}

/* The texts of the chat messages @ws receives until it has @n. */
static char *
chats_seen (RcTestWs *ws, guint n)
{
  GString *seen = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (JsonObject) chat = rc_test_ws_expect (ws, "chat", 5000);

      g_string_append_printf (seen, "%s|", rc_test_str (chat, "text"));
    }
  return g_string_free (seen, FALSE);
}

static RcNativeGuest *
native_ear_at (RcTestServer *server, const char *id)
{
  RcNativeGuestOptions options = {
    .server_url = server->base_url,
    .room_id = id,
    .name = "Native ear",
    .keep_pcm = TRUE,
  };

  return rc_native_guest_new (&options);
}

static gboolean
ear_hears (RcNativeGuest *guest, double hz)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);
  double freq, rms;

  if (frames < 4800)
    return FALSE;
  rc_test_audio_analyse_s16 (pcm, frames, &freq, &rms);
  return rc_test_audio_is_tone (freq, rms, hz);
}

/* The server time C of RTP timestamp @ts on the timeline (@ts0, @c0_ms). */
static double
c_of (guint32 ts, guint32 ts0, double c0_ms)
{
  return c0_ms + (double) (gint32) (ts - ts0) * 1000.0 / 48000.0;
}

/* The first frame of @ws's binary messages: its RTP timestamp and C. */
static gboolean
first_frame (RcTestWs *ws, guint32 *ts, double *c_ms)
{
  GBytes *message = g_queue_peek_head (&ws->binary);
  gsize length, offset = 0, frame_length, payload_length;
  const guint8 *data, *frame, *payload;
  guint32 sequence;

  if (message == NULL)
    return FALSE;
  data = g_bytes_get_data (message, &length);
  return rc_ws_message_next (data, length, &offset, &frame, &frame_length)
         && rc_ws_frame_parse (frame, frame_length, ts, c_ms, &sequence, &payload,
                               &payload_length);
}

/*
 * The origin → edge relay: Boris, relayed to the room's node, asks for
 * WebSocket audio; his own node becomes an edge of the room and sends him
 * the room's frames, which carry the room's node's C: he hears the song,
 * and every frame he gets maps onto Anna's timeline (she listens on the
 * room's node) to the microsecond. The edge goes when he stops.
 */
static void
test_edge_serves_ws_audio (void)
{
  Cross x = { 0 };
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) anna_timeline = NULL;
  g_autoptr (JsonObject) boris_timeline = NULL;
  g_autoptr (GArray) heard = NULL;
  guint32 ts_a, ts_b;
  double c_a, c_b, c0, freq, rms;

  cross_start (&x);
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (x.p.owner, 1), 20000));
  song = rc_test_song_id (x.p.owner, "Cross tune");
  add = g_strdup_printf ("{\"type\":\"addSong\",\"songId\":\"%s\"}", song);
  reply = rc_test_ws_command (x.anna, add);
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");

  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (x.anna, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "mediaStarted");
  anna_timeline = rc_test_ws_expect (x.anna, "timeline", 5000);
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (x.boris, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "mediaStarted");
  boris_timeline = rc_test_ws_expect (x.boris, "timeline", 5000);
  /* One timeline for both: the room's node's. */
  g_assert_cmpfloat (
    fabs (c_of ((guint32) json_object_get_int_member (boris_timeline, "rtpTimestamp"),
                (guint32) json_object_get_int_member (anna_timeline, "rtpTimestamp"),
                json_object_get_double_member (anna_timeline, "serverTime"))
          - json_object_get_double_member (boris_timeline, "serverTime")),
    <, 0.001);

  /* Three seconds of audio reach Boris through his own node. */
  g_assert_true (RC_WAIT_UNTIL (g_queue_get_length (&x.boris->binary) >= 150
                                  && g_queue_get_length (&x.anna->binary) >= 150,
                                20000 * rc_test_slowdown ()));
  g_assert_true (first_frame (x.anna, &ts_a, &c_a));
  g_assert_true (first_frame (x.boris, &ts_b, &c_b));
  g_test_message ("Boris's first frame: %.3f ms after Anna's on the room's timeline",
                  c_b - c_a);
  g_assert_cmpfloat (fabs (c_of (ts_b, ts_a, c_a) - c_b), <, 0.001);
  heard = rc_test_audio_decode_ws_frames (&x.boris->binary, &c0);
  g_assert_cmpuint (heard->len, >, 48000);
  rc_test_audio_analyse_float ((float *) heard->data + heard->len - 9600, 9600, &freq, &rms);
  g_assert_true (rc_test_audio_is_tone (freq, rms, CROSS_HZ));

  /* The room's node sends one stream to Boris's node. */
  {
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", x.p.id);
    g_autoptr (JsonObject) stats = get_ok (x.p.owner, path);
    JsonObject *relay = json_object_get_object_member (stats, "relay");

    g_assert_nonnull (relay);
    g_assert_cmpint (json_object_get_int_member (relay, "edges"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (relay, "datagrams"), >=, 150);
    g_assert_cmpint (json_object_get_int_member (relay, "sendFailed"), ==, 0);
  }

  /* Stopped: no more frames come. */
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (x.boris, "{\"type\":\"stopMedia\"}");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "mediaStopped");
  rc_test_run_for (300);
  {
    guint before = g_queue_get_length (&x.boris->binary);

    rc_test_run_for (500);
    g_assert_cmpuint (g_queue_get_length (&x.boris->binary), ==, before);
  }
  cross_clear (&x);
}

/* A node whose URL names no IP address cannot be an edge (the others
 * could not be sure where to send the packets): its relayed guest's
 * WebSocket audio is refused with 4208 and the room's node's URL, as
 * before edges existed. */
static RcTestServer *
start_named_node (RcTestRedis *redis)
{
  guint port = rc_test_free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *url = g_strdup_printf ("http://localhost:%u", port);
  g_autofree char *lease = g_strdup_printf ("%u", (guint) LEASE_MS);
  const char *args[] = { "--cluster", rc_test_redis_get_uri (redis), "--cluster-lease", lease,
                         "--port", port_text, "--node-url", url, NULL };

  return rc_test_server_start (args);
}

static void
test_edge_needs_an_ip_address (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) a = start_named_node (redis);
  g_autoptr (RcTestServer) b = start_named_node (redis);
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (RcTestWs) guest = NULL;
  g_autoptr (JsonObject) refused = NULL;
  const char *owner_url;
  RcTestServer *other;

  g_assert_true (RC_WAIT_UNTIL (count_nodes (a) == 2, 5000));
  room = rc_test_create_room (a, "Named", NULL);
  owner_url = rc_test_str (room, "nodeUrl");
  g_assert_true (g_str_has_prefix (owner_url, "http://localhost:"));
  other = g_str_has_suffix (owner_url, g_strrstr (a->base_url, ":")) ? b : a;
  guest = rc_test_ws_join (other, rc_test_str (room, "id"), "Named guest", NULL, NULL, NULL);
  refused = rc_test_ws_command (guest, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
  g_assert_cmpint (json_object_get_int_member (refused, "code"), ==, RC_ERROR_ROOM_ELSEWHERE);
  g_assert_cmpstr (rc_test_str (refused, "nodeUrl"), ==, owner_url);
}

/*
 * Placement: nodes started with --max-listeners 1. Anna takes the room's
 * node's one place; Carl's join there is answered 4209 node_full with the
 * other node's URL; joining through that node he is in the room (relayed)
 * and hears the song from it, an edge the room's node feeds once.
 */
static RcTestServer *
start_capped_node (RcTestRedis *redis, const char *music_dir)
{
  g_autofree char *lease = g_strdup_printf ("%u", (guint) LEASE_MS);
  const char *args[] = { "--cluster", rc_test_redis_get_uri (redis), "--cluster-lease", lease,
                         "--music-dir", music_dir, "--max-listeners", "1", NULL };

  return rc_test_server_start (args);
}

static void
test_full_node_sends_joins_elsewhere (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rc-cluster-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "cross.ogg", NULL);
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autofree char *join = NULL;
  g_autofree char *stats_path = NULL;
  g_autoptr (RcTestRedis) redis = NULL;
  g_autoptr (RcTestServer) a = NULL;
  g_autoptr (RcTestServer) b = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (RcTestWs) anna = NULL;
  g_autoptr (RcTestWs) carl = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) stats = NULL;
  g_autoptr (GArray) heard = NULL;
  RcTestServer *owner, *other;
  double c0, freq, rms;

  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, CROSS_HZ, 60000, "Cross tune", "Tones", NULL,
                       NULL);
  redis = rc_test_redis_start_checked ();
  a = start_capped_node (redis, dir);
  b = start_capped_node (redis, dir);
  g_assert_true (RC_WAIT_UNTIL (count_nodes (a) == 2, 5000));
  room = rc_test_create_room (a, "Placed", NULL);
  owner = g_str_equal (rc_test_str (room, "nodeUrl"), a->base_url) ? a : b;
  other = owner == a ? b : a;
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (owner, 1), 20000));
  anna = rc_test_ws_join (owner, rc_test_str (room, "id"), "Anna", NULL, NULL, NULL);
  song = rc_test_song_id (owner, "Cross tune");
  add = g_strdup_printf ("{\"type\":\"addSong\",\"songId\":\"%s\"}", song);
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (anna, add);
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");

  /* The room's node is full: Carl is sent to the other node. */
  join = g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Carl\"}",
                          rc_test_str (room, "id"));
  carl = rc_test_ws_connect (owner);
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (carl, join);
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, RC_ERROR_NODE_FULL);
  g_assert_cmpstr (rc_test_str (reply, "name"), ==, "node_full");
  g_assert_cmpstr (rc_test_str (reply, "nodeUrl"), ==, other->base_url);

  /* Through it he is in the room and hears the song from it. */
  g_clear_pointer (&carl, rc_test_ws_free);
  carl = rc_test_ws_connect (other);
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (carl, join);
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "initialState");
  g_assert_cmpint (json_object_get_int_member (reply, "participantCount"), ==, 2);
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (carl, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "mediaStarted");
  g_assert_true (RC_WAIT_UNTIL (g_queue_get_length (&carl->binary) >= 150,
                                20000 * rc_test_slowdown ()));
  heard = rc_test_audio_decode_ws_frames (&carl->binary, &c0);
  rc_test_audio_analyse_float ((float *) heard->data + heard->len - 9600, 9600, &freq, &rms);
  g_assert_true (rc_test_audio_is_tone (freq, rms, CROSS_HZ));
  stats_path = g_strdup_printf ("/api/rooms/%s/stats", rc_test_str (room, "id"));
  stats = get_ok (owner, stats_path);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (stats, "relay"),
                                               "edges"),
                   ==, 1);

  g_clear_pointer (&carl, rc_test_ws_free);
  g_clear_pointer (&anna, rc_test_ws_free);
  g_clear_pointer (&b, rc_test_server_free);
  g_clear_pointer (&a, rc_test_server_free);
  rc_test_music_remove_tree (dir);
}

/* A guest on the node that does not serve the room: joins, sees and is
 * seen, chats both ways in order, is refused owner-only requests with the
 * room's node's own code, queues a song every guest sees and that a native
 * guest connected through the same node hears. */
static void
test_cross_node_signalling (void)
{
  Cross x = { 0 };
  g_autoptr (RcNativeGuest) ear = NULL;
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autofree char *anna_saw = NULL;
  g_autofree char *boris_saw = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) queued = NULL;

  cross_start (&x);

  /* Boris's join, answered by the room's node: both guests listed. */
  {
    g_autofree char *names =
      names_of (json_object_get_array_member (x.boris_state, "participants"));

    g_assert_cmpstr (rc_test_str (json_object_get_object_member (x.boris_state, "room"), "id"),
                     ==, x.p.id);
    g_assert_cmpstr (names, ==, "Anna Boris ");
    g_assert_cmpint (json_object_get_int_member (x.boris_state, "participantCount"), ==, 2);
  }
  /* Anna, on the room's node, is told Boris came in, as for a local guest. */
  {
    g_autoptr (JsonObject) joined = rc_test_ws_expect (x.anna, "viewerJoined", 5000);

    g_assert_cmpstr (rc_test_str (json_object_get_object_member (joined, "guest"), "name"), ==,
                     "Boris");
    g_assert_cmpint (json_object_get_int_member (joined, "count"), ==, 2);
  }
  /* Each node's operator sees the relayed guest, on its side. */
  {
    g_autofree char *on_owner = rc_test_http_text (x.p.owner, "/metrics", NULL);
    g_autofree char *on_other = rc_test_http_text (x.p.other, "/metrics", NULL);

    g_assert_nonnull (strstr (on_owner, "\nroomcast_relay_guests{side=\"remote\"} 1\n"));
    g_assert_nonnull (strstr (on_other, "\nroomcast_relay_guests{side=\"relayed\"} 1\n"));
  }
  /* Presence, asked on either node, shows both. */
  {
    g_autoptr (JsonObject) on_a = rc_test_ws_command (x.anna, "{\"type\":\"listViewers\"}");
    g_autoptr (JsonObject) on_b = rc_test_ws_command (x.boris, "{\"type\":\"listViewers\"}");
    g_autofree char *names_a = names_of (json_object_get_array_member (on_a, "participants"));
    g_autofree char *names_b = names_of (json_object_get_array_member (on_b, "participants"));

    g_assert_cmpstr (rc_test_str (on_b, "type"), ==, "viewers");
    g_assert_cmpstr (names_a, ==, "Anna Boris ");
    g_assert_cmpstr (names_b, ==, names_a);
  }

  /* Chat said on either node reaches both guests, in one order. */
  rc_test_ws_send (x.boris, "{\"type\":\"chat\",\"text\":\"one from B\"}");
  rc_test_ws_send (x.anna, "{\"type\":\"chat\",\"text\":\"two from A\"}");
  rc_test_ws_send (x.boris, "{\"type\":\"chat\",\"text\":\"three from B\"}");
  anna_saw = chats_seen (x.anna, 3);
  boris_saw = chats_seen (x.boris, 3);
  g_assert_cmpstr (boris_saw, ==, anna_saw);
  g_assert_nonnull (strstr (anna_saw, "one from B"));
  g_assert_nonnull (strstr (anna_saw, "two from A"));

  /* Owner-only, bad input and rate limits: the room's node's answers. */
  {
    g_autoptr (JsonObject) on_a =
      rc_test_ws_command (x.anna, "{\"type\":\"removeSong\",\"index\":0}");
    g_autoptr (JsonObject) on_b =
      rc_test_ws_command (x.boris, "{\"type\":\"removeSong\",\"index\":0}");
    g_autoptr (JsonObject) bad_b = rc_test_ws_command (x.boris, "{\"type\":\"chat\",\"text\":7}");

    g_assert_cmpint (json_object_get_int_member (on_a, "code"), ==, RC_ERROR_NOT_OWNER);
    g_assert_cmpint (json_object_get_int_member (on_b, "code"), ==, RC_ERROR_NOT_OWNER);
    g_assert_cmpint (json_object_get_int_member (bad_b, "code"), ==, RC_ERROR_INVALID_PARAM);
  }
  /* WebSocket audio is not carried over Redis: Boris's own node becomes an
   * edge of the room and serves it (test_edge_serves_ws_audio listens). */
  {
    g_autoptr (JsonObject) ws_media =
      rc_test_ws_command (x.boris, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
    g_autoptr (JsonObject) stopped = NULL;

    g_assert_cmpstr (rc_test_str (ws_media, "type"), ==, "mediaStarted");
    g_assert_cmpstr (rc_test_str (ws_media, "transport"), ==, "ws");
    stopped = rc_test_ws_command (x.boris, "{\"type\":\"stopMedia\"}");
    g_assert_cmpstr (rc_test_str (stopped, "type"), ==, "mediaStopped");
  }
  /* A second join, as on one node: already in a room. */
  {
    g_autofree char *again =
      g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Boris\"}", x.p.id);
    g_autoptr (JsonObject) on_b = rc_test_ws_command (x.boris, again);

    g_assert_cmpint (json_object_get_int_member (on_b, "code"), ==, RC_ERROR_ALREADY_IN_ROOM);
  }

  /* Boris queues a song: both guests see the queue, and a native guest
   * joined through Boris's node hears it (WebRTC straight from the room's
   * node, its signalling relayed). */
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (x.p.owner, 1), 20000));
  song = rc_test_song_id (x.p.owner, "Cross tune");
  ear = native_ear_at (x.p.other, x.p.id);
  add = g_strdup_printf ("{\"type\":\"addSong\",\"songId\":\"%s\"}", song);
  reply = rc_test_ws_command (x.boris, add);
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");
  queued = rc_test_ws_expect (x.anna, "queueUpdated", 5000);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (queued, "queue")), ==, 1);
  g_assert_true (RC_WAIT_UNTIL (ear_hears (ear, CROSS_HZ) || rc_native_guest_get_failure (ear),
                                20000 * rc_test_slowdown ()));
  g_assert_null (rc_native_guest_get_failure (ear));

  assert_same_view (x.p.owner, x.p.other, x.p.id);
  g_clear_pointer (&ear, rc_native_guest_free);

  /* Boris leaves and joins two other rooms through the same connection,
   * wherever they are served: the relaying follows him. */
  {
    g_autoptr (JsonObject) left = rc_test_ws_command (x.boris, "{\"type\":\"leave\"}");

    g_assert_cmpstr (rc_test_str (left, "type"), ==, "left");
    /* (the newcomers and the native guest left before him) */
    {
      const char *boris_id =
        rc_test_str (json_object_get_object_member (x.boris_state, "you"), "id");
      gboolean seen = FALSE;

      while (!seen)
        {
          g_autoptr (JsonObject) gone = rc_test_ws_expect (x.anna, "viewerLeft", 5000);

          seen = g_strcmp0 (rc_test_str (gone, "guestId"), boris_id) == 0;
        }
    }
    for (guint i = 0; i < 2; i++)
      {
        g_autoptr (JsonObject) other = rc_test_create_room (x.p.owner, i ? "Two" : "One", NULL);
        g_autofree char *join = g_strdup_printf (
          "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Boris\"}", rc_test_str (other, "id"));
        g_autoptr (JsonObject) state = rc_test_ws_command (x.boris, join);
        g_autoptr (JsonObject) left_again = NULL;

        g_assert_cmpstr (rc_test_str (state, "type"), ==, "initialState");
        g_assert_cmpstr (rc_test_str (json_object_get_object_member (state, "room"), "id"), ==,
                         rc_test_str (other, "id"));
        left_again = rc_test_ws_command (x.boris, "{\"type\":\"leave\"}");
        g_assert_cmpstr (rc_test_str (left_again, "type"), ==, "left");
      }
  }
  cross_clear (&x);
}

/* POST /api/rooms served by @server itself (as a forwarded creation is):
 * the new room's id. */
static char *
create_room_on (RcTestServer *server, const char *name)
{
  g_autoptr (SoupSession) http = soup_session_new ();
  g_autofree char *url = g_strconcat (server->base_url, "/api/rooms", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\"}", name);
  g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (JsonNode) room = NULL;
  g_autoptr (GError) error = NULL;

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Roomcast-Forwarded",
                                "1");
  reply = soup_session_send_and_read (http, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 201);
  room = json_from_string (g_bytes_get_data (reply, NULL), &error);
  g_assert_no_error (error);
  return g_strdup (rc_test_str (json_node_get_object (room), "id"));
}

/* Three nodes: Boris, relayed from B to the room's node A, leaves and
 * joins a room of the third node C on the same connection. A does not
 * serve it and hands the join back; B relays Boris to C, where he chats
 * with a guest of C. */
static void
test_cross_node_third_node (void)
{
  Cross x = { 0 };
  g_autoptr (RcTestServer) c = NULL;
  g_autoptr (RcTestWs) cleo = NULL;
  g_autoptr (JsonObject) left = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (JsonObject) heard = NULL;
  g_autofree char *third = NULL;
  g_autofree char *join = NULL;

  cross_start (&x);
  c = start_node (x.p.redis);
  g_assert_true (RC_WAIT_UNTIL (count_nodes (c) == 3, 5000));
  third = create_room_on (c, "Third");
  g_assert_true (owned_by (x.p.owner, third, c));
  cleo = rc_test_ws_join (c, third, "Cleo", NULL, NULL, NULL);

  left = rc_test_ws_command (x.boris, "{\"type\":\"leave\"}");
  g_assert_cmpstr (rc_test_str (left, "type"), ==, "left");
  join = g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Boris\"}", third);
  state = rc_test_ws_command (x.boris, join);
  g_assert_cmpstr (rc_test_str (state, "type"), ==, "initialState");
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (state, "room"), "id"), ==, third);
  g_assert_cmpint (json_object_get_int_member (state, "participantCount"), ==, 2);
  rc_test_ws_send (x.boris, "{\"type\":\"chat\",\"text\":\"hello C\"}");
  heard = rc_test_ws_expect (cleo, "chat", 5000);
  g_assert_cmpstr (rc_test_str (heard, "text"), ==, "hello C");
  g_clear_pointer (&cleo, rc_test_ws_free);
  cross_clear (&x);
}

/* Redis restarted under a relayed guest: once it is back, the guest is
 * sent its whole state again (the chat said meanwhile in it) and sees
 * what the room's node's guest sees. */
static void
test_cross_node_redis_restart (void)
{
  Cross x = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) resent = NULL;
  g_autofree char *owner_id = NULL;
  RcTestWs *cleo;

  cross_start (&x);
  owner_id = node_id (x.p.owner);
  cleo = rc_test_ws_join (x.p.other, x.p.id, "Cleo", NULL, NULL, NULL);
  rc_test_redis_kill (x.p.redis);
  /* Longer than a lease: the nodes' keys expire meanwhile. */
  rc_test_run_for (LEASE_MS + 500);
  rc_test_ws_send (x.anna, "{\"type\":\"chat\",\"text\":\"during the outage\"}");
  json_object_unref (rc_test_ws_expect (x.anna, "chat", 5000));
  /* Cleo goes while her node cannot tell the room's node. */
  rc_test_ws_free (cleo);
  /* Boris's node cannot reach the room's node meanwhile: he is told so. */
  {
    g_autoptr (JsonObject) refused =
      rc_test_ws_command (x.boris, "{\"type\":\"chat\",\"text\":\"lost\"}");

    g_assert_cmpint (json_object_get_int_member (refused, "code"), ==,
                     RC_ERROR_STORE_UNAVAILABLE);
  }
  g_assert_true (rc_test_redis_restart (x.p.redis, &error));
  g_assert_no_error (error);

  /* The room's node takes its lease back (nobody else asked for the room). */
  g_assert_true (RC_WAIT_UNTIL (lease_is (x.p.redis, x.p.id, owner_id), 10000));
  resent = rc_test_ws_expect (x.boris, "initialState", 10000 * rc_test_slowdown ());
  g_assert_true (state_chat_has (resent, "during the outage"));
  /* Relaying goes on: chat both ways, the same view through both nodes. */
  rc_test_ws_send (x.boris, "{\"type\":\"chat\",\"text\":\"after, from B\"}");
  {
    g_autoptr (JsonObject) chat = rc_test_ws_expect (x.anna, "chat", 5000);

    g_assert_cmpstr (rc_test_str (chat, "text"), ==, "after, from B");
  }
  g_assert_false (x.boris->closed);
  /* Cleo's leaving reached the room's node once Redis was back. */
  g_assert_true (RC_WAIT_UNTIL (
    ({
      g_autoptr (JsonObject) viewers = rc_test_ws_command (x.anna, "{\"type\":\"listViewers\"}");
      g_autofree char *names = names_of (json_object_get_array_member (viewers, "participants"));

      g_str_equal (names, "Anna Boris ");
    }),
    5000));
  assert_same_view (x.p.owner, x.p.other, x.p.id);
  cross_clear (&x);
}

/* The room's node killed under a relayed guest: its node tells it the
 * room moved, and its join again, on the same connection, finds the room
 * taken over by its own node, chat kept. */
static void
test_cross_node_room_node_killed (void)
{
  Cross x = { 0 };
  g_autoptr (JsonObject) moved = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autofree char *join = NULL;

  cross_start (&x);
  rc_test_ws_send (x.boris, "{\"type\":\"chat\",\"text\":\"before the crash\"}");
  json_object_unref (rc_test_ws_expect (x.boris, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (stored_chat_is (x.p.redis, x.p.id, 1), 5000));
  kill (rc_test_server_get_pid (x.p.owner), SIGKILL);

  moved = rc_test_ws_expect (x.boris, "roomClosed", LEASE_MS * 5 + 5000);
  g_assert_cmpstr (rc_test_str (moved, "reason"), ==, "moved");
  g_assert_cmpstr (rc_test_str (moved, "roomId"), ==, x.p.id);
  join = g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Boris\"}", x.p.id);
  g_assert_true (RC_WAIT_UNTIL (
    ({
      g_clear_pointer (&state, json_object_unref);
      state = rc_test_ws_command (x.boris, join);
      g_strcmp0 (rc_test_str (state, "type"), "initialState") == 0;
    }),
    LEASE_MS + 5000));
  g_assert_true (state_chat_has (state, "before the crash"));
  g_assert_true (owned_by (x.p.other, x.p.id, x.p.other));
  cross_clear (&x);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/cluster/nodes-register-and-expire", test_nodes_register_and_expire);
  g_test_add_func ("/cluster/rest-from-any-node-and-placement",
                   test_rest_from_any_node_and_placement);
  g_test_add_func ("/cluster/kill9-failover", test_kill9_failover);
  g_test_add_func ("/cluster/kill9-keeps-the-song", test_kill9_keeps_the_song);
  g_test_add_func ("/cluster/paused-node-is-fenced", test_paused_node_is_fenced);
  g_test_add_func ("/cluster/redis-restart-keeps-rooms", test_redis_restart_keeps_rooms);
  g_test_add_func ("/cluster/cross-node-signalling", test_cross_node_signalling);
  g_test_add_func ("/cluster/cross-node-redis-restart", test_cross_node_redis_restart);
  g_test_add_func ("/cluster/cross-node-room-node-killed", test_cross_node_room_node_killed);
  g_test_add_func ("/cluster/cross-node-third-node", test_cross_node_third_node);
  g_test_add_func ("/cluster/edge-serves-ws-audio", test_edge_serves_ws_audio);
  g_test_add_func ("/cluster/edge-needs-an-ip-address", test_edge_needs_an_ip_address);
  g_test_add_func ("/cluster/full-node-sends-joins-elsewhere", test_full_node_sends_joins_elsewhere);
  return g_test_run ();
}

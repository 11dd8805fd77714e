/* SPDX-License-Identifier: MIT */
/*
 * A roomcast cluster losing a node or its Redis: two roomcast processes
 * with --cluster on a real redis-server on 127.0.0.1. A node killed with
 * -9 has its rooms taken over once the lease runs out (chat kept, the
 * song playing on from where it was saved); a node paused (SIGSTOP) past
 * its lease cannot write the room again when it wakes (the fencing epoch)
 * and its guests are told the room moved; Redis away for longer than a
 * lease costs no room; and a guest relayed to a room's node through
 * another node gets its whole state again after a Redis restart, and
 * finds the room on its own node when the room's node is killed.
 * (test_cluster: the cluster when nothing fails.)
 */
#include "server/core/rc_error.h"
#include "rc_test_cluster.h"
#include "rc_test_music.h"
#include "rc_test_util.h"

#include <gst/gst.h>
#include <signal.h>
#include <string.h>

#define LEASE_MS (rc_test_cluster_lease_ms ())

static char *
epoch_of (RcTestPair *p)
{
  g_autofree char *key = g_strdup_printf ("room-epoch:%s", p->id);

  return rc_test_redis_call (p->redis, "GET", key, NULL);
}

static void
test_kill9_failover (void)
{
  RcTestPair p = { 0 };
  g_autofree char *epoch = NULL;
  gint64 killed;

  rc_test_pair_start (&p, "said before the crash", NULL);
  kill (rc_test_server_get_pid (p.owner), SIGKILL);
  killed = g_get_monotonic_time ();

  /* Until the lease runs out the room is read from the store, then the
   * node asked takes it over. */
  g_assert_true (
      RC_WAIT_UNTIL (rc_test_cluster_owned_by (p.other, p.id, p.other), LEASE_MS + 5000));
  g_assert_cmpint (g_get_monotonic_time () - killed, <=, (LEASE_MS + 3000) * 1000);
  g_assert_true (rc_test_cluster_chat_has (p.other, p.id, "said before the crash"));
  epoch = epoch_of (&p);
  g_assert_cmpstr (epoch, ==, "2");
  rc_test_pair_clear (&p);
}

/* The room's saved player state: its position and when it was saved. */
static void
stored_position (RcTestPair *p, gint64 *position_ms, gint64 *saved_at_ms)
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
  RcTestPair p = { 0 };
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (RcTestWs) back = NULL;
  gint64 saved_pos, saved_at, killed_ms, joined_ms;
  JsonObject *player;

  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, 440, 60000, "Failover tune", "Tones", NULL,
                       NULL);
  rc_test_pair_start (&p, "playing", dir);
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

  g_assert_true (
      RC_WAIT_UNTIL (rc_test_cluster_owned_by (p.other, p.id, p.other), LEASE_MS + 5000));
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
  rc_test_pair_clear (&p);
  rc_test_music_remove_tree (dir);
}

static void
test_paused_node_is_fenced (void)
{
  RcTestPair p = { 0 };
  g_autoptr (RcTestWs) fresh = NULL;
  g_autoptr (JsonObject) closed = NULL;

  rc_test_pair_start (&p, "before the pause", NULL);

  /* The owner freezes past its lease; the other node takes the room. */
  kill (rc_test_server_get_pid (p.owner), SIGSTOP);
  g_assert_true (
      RC_WAIT_UNTIL (rc_test_cluster_owned_by (p.other, p.id, p.other), LEASE_MS + 5000));
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
  g_assert_true (rc_test_cluster_stored_chat_is (p.redis, p.id, 2));
  {
    g_autofree char *key = g_strdup_printf ("room:%s:chat", p.id);
    g_autofree char *last = rc_test_redis_call (p.redis, "LINDEX", key, "-1", NULL);

    g_assert_nonnull (strstr (last, "from the new owner"));
  }
  g_assert_true (rc_test_cluster_chat_has (p.other, p.id, "before the pause"));
  g_assert_true (rc_test_cluster_chat_has (p.other, p.id, "from the new owner"));
  g_assert_false (rc_test_cluster_chat_has (p.other, p.id, "from the stale owner"));
  /* And the room is the new owner's still, seen from the woken node too,
   * whose operator sees the refused write. */
  g_assert_true (rc_test_cluster_owned_by (p.owner, p.id, p.other));
  {
    g_autofree char *text = rc_test_http_text (p.owner, "/metrics", NULL);
    const char *line = strstr (text, "\nroomcast_store_fenced_writes_total ");

    g_assert_nonnull (line);
    g_assert_cmpfloat (g_ascii_strtod (line + strlen ("\nroomcast_store_fenced_writes_total "),
                                       NULL), >=, 1);
  }
  rc_test_pair_clear (&p);
}

/* Redis gone for longer than a lease and back: nobody took the room
 * meanwhile, so its node keeps it (same epoch) and its guests stay. */
static void
test_redis_restart_keeps_rooms (void)
{
  RcTestPair p = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *owner_id = NULL;
  g_autofree char *epoch = NULL;

  rc_test_pair_start (&p, "before the outage", NULL);
  owner_id = rc_test_cluster_node_id (p.owner);
  rc_test_redis_kill (p.redis);
  rc_test_run_for (LEASE_MS + 1000);
  rc_test_ws_send (p.guest, "{\"type\":\"chat\",\"text\":\"during the outage\"}");
  json_object_unref (rc_test_ws_expect (p.guest, "chat", 5000));
  g_assert_true (rc_test_redis_restart (p.redis, &error));
  g_assert_no_error (error);

  /* The node takes its expired lease back; the chat it buffered lands. */
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_lease_is (p.redis, p.id, owner_id), 10000));
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_stored_chat_is (p.redis, p.id, 2), 5000));
  epoch = epoch_of (&p);
  g_assert_cmpstr (epoch, ==, "1");
  rc_test_ws_send (p.guest, "{\"type\":\"chat\",\"text\":\"after the outage\"}");
  json_object_unref (rc_test_ws_expect (p.guest, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_stored_chat_is (p.redis, p.id, 3), 5000));
  g_assert_false (p.guest->closed);
  g_assert_true (rc_test_cluster_owned_by (p.other, p.id, p.owner));
  rc_test_pair_clear (&p);
}

/* Redis restarted under a relayed guest: once it is back, the guest is
 * sent its whole state again (the chat said meanwhile in it) and sees
 * what the room's node's guest sees. */
static void
test_cross_node_redis_restart (void)
{
  RcTestCross x = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) resent = NULL;
  g_autofree char *owner_id = NULL;
  RcTestWs *cleo;

  rc_test_cross_start (&x);
  owner_id = rc_test_cluster_node_id (x.p.owner);
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
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_lease_is (x.p.redis, x.p.id, owner_id), 10000));
  resent = rc_test_ws_expect (x.boris, "initialState", 10000 * rc_test_slowdown ());
  g_assert_true (rc_test_cluster_state_chat_has (resent, "during the outage"));
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
      g_autofree char *names
          = rc_test_cluster_names_of (json_object_get_array_member (viewers, "participants"));

      g_str_equal (names, "Anna Boris ");
    }),
    5000));
  rc_test_cluster_assert_same_view (x.p.owner, x.p.other, x.p.id);
  rc_test_cross_clear (&x);
}

/* The room's node killed under a relayed guest: its node tells it the
 * room moved, and its join again, on the same connection, finds the room
 * taken over by its own node, chat kept. */
static void
test_cross_node_room_node_killed (void)
{
  RcTestCross x = { 0 };
  g_autoptr (JsonObject) moved = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autofree char *join = NULL;

  rc_test_cross_start (&x);
  rc_test_ws_send (x.boris, "{\"type\":\"chat\",\"text\":\"before the crash\"}");
  json_object_unref (rc_test_ws_expect (x.boris, "chat", 5000));
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_stored_chat_is (x.p.redis, x.p.id, 1), 5000));
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
  g_assert_true (rc_test_cluster_state_chat_has (state, "before the crash"));
  g_assert_true (rc_test_cluster_owned_by (x.p.other, x.p.id, x.p.other));
  rc_test_cross_clear (&x);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/cluster/kill9-failover", test_kill9_failover);
  g_test_add_func ("/cluster/kill9-keeps-the-song", test_kill9_keeps_the_song);
  g_test_add_func ("/cluster/paused-node-is-fenced", test_paused_node_is_fenced);
  g_test_add_func ("/cluster/redis-restart-keeps-rooms", test_redis_restart_keeps_rooms);
  g_test_add_func ("/cluster/cross-node-redis-restart", test_cross_node_redis_restart);
  g_test_add_func ("/cluster/cross-node-room-node-killed", test_cross_node_room_node_killed);
  return g_test_run ();
}

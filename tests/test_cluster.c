/* SPDX-License-Identifier: MIT */
/*
 * A roomcast cluster on a real redis-server: two or three roomcast
 * processes with --cluster on 127.0.0.1. Nodes register and expire; any
 * node answers the REST API for every room; new rooms go to the least
 * loaded node; a guest may join a room through any node and sees and is
 * seen as on the room's node; its node becomes an edge of the room for
 * its WebSocket audio; a full node sends joins elsewhere.
 * (test_cluster_failover: nodes killed or paused, Redis restarted.)
 */
#include "server/core/rc_error.h"
#include "rc_test_cluster.h"
#include "rc_test_music.h"
#include "rc_test_util.h"
#include "rc_test_audio.h"
#include "tools/native-guest/rc_native_guest.h"
#include "pipelines/rc_ws_branch.h"

#include <gst/gst.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#define LEASE_MS (rc_test_cluster_lease_ms ())

static void
test_nodes_register_and_expire (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) a = rc_test_cluster_node_start (redis, NULL);
  g_autoptr (RcTestServer) b = rc_test_cluster_node_start (redis, NULL);
  g_autoptr (RcTestServer) c = rc_test_cluster_node_start (redis, NULL);
  g_autofree char *a_id = rc_test_cluster_node_id (a);
  g_autofree char *b_id = rc_test_cluster_node_id (b);
  g_autofree char *c_id = rc_test_cluster_node_id (c);
  g_autofree char *c_key = g_strdup_printf ("node:%s", c_id);
  g_autofree char *ttl = NULL;
  gint64 killed;

  /* Every node lists every node, with its address and load. */
  g_assert_true (RC_WAIT_UNTIL (
      rc_test_cluster_count_nodes (a) == 3 && rc_test_cluster_count_nodes (b) == 3, 5000));
  {
    g_autoptr (JsonObject) listing = rc_test_cluster_get_ok (b, "/api/nodes");
    JsonArray *nodes = json_object_get_array_member (listing, "nodes");

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
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_count_nodes (a) == 2, LEASE_MS + 3000));
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
  g_assert_cmpuint (rc_test_cluster_count_nodes (a), ==, 1);
  g_assert_nonnull (a_id);
}

static void
test_rest_from_any_node_and_placement (void)
{
  g_autoptr (RcTestRedis) redis = rc_test_redis_start_checked ();
  g_autoptr (RcTestServer) a = rc_test_cluster_node_start (redis, NULL);
  g_autoptr (RcTestServer) b = rc_test_cluster_node_start (redis, NULL);
  g_autoptr (RcTestServer) c = rc_test_cluster_node_start (redis, NULL);
  RcTestServer *servers[] = { a, b, c };
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_count_nodes (a) == 3, 5000));
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
          g_autoptr (JsonObject) listing = rc_test_cluster_get_ok (a, "/api/nodes");
          JsonArray *nodes = json_object_get_array_member (listing, "nodes");
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
      g_autoptr (JsonObject) listing = rc_test_cluster_get_ok (servers[s], "/api/rooms");
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
    g_autofree char *owner = rc_test_cluster_owner_url (a, id);
    RcTestServer *elsewhere = NULL, *serving = NULL;
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s", id);
    guint status = 0;

    for (guint s = 0; s < G_N_ELEMENTS (servers); s++)
      if (g_str_equal (servers[s]->base_url, owner))
        serving = servers[s];
      else
        elsewhere = servers[s];
    g_assert_nonnull (serving);
    g_assert_true (rc_test_cluster_owned_by (elsewhere, id, serving));
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

/* Whether the last 200 ms of what @ws is sent over the WebSocket come to be
 * the tone of @hz within 20 s: the room's track may start after the first
 * frames (in a sanitizer run beside the browser suite, the last 200 ms of
 * the first three seconds were not the song yet). The frames so far are
 * decoded every half second. */
static gboolean
ws_hears_tone (RcTestWs *ws, double hz)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND * rc_test_slowdown ();

  for (;;)
    {
      double c0, freq, rms;
      g_autoptr (GArray) heard = rc_test_audio_decode_ws_frames (&ws->binary, &c0);

      if (heard->len >= 9600)
        {
          rc_test_audio_analyse_float ((float *) heard->data + heard->len - 9600, 9600, &freq,
                                       &rms);
          if (rc_test_audio_is_tone (freq, rms, hz))
            return TRUE;
        }
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      rc_test_run_for (500);
    }
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
  RcTestCross x = { 0 };
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) anna_timeline = NULL;
  g_autoptr (JsonObject) boris_timeline = NULL;
  g_autoptr (GArray) heard = NULL;
  guint32 ts_a, ts_b;
  double c_a, c_b, c0;

  rc_test_cross_start (&x);
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
  g_assert_true (ws_hears_tone (x.boris, RC_TEST_CROSS_HZ));

  /* The room's node sends one stream to Boris's node. */
  {
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", x.p.id);
    g_autoptr (JsonObject) stats = rc_test_cluster_get_ok (x.p.owner, path);
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
  rc_test_cross_clear (&x);
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

  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_count_nodes (a) == 2, 5000));
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
  RcTestServer *owner, *other;

  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, RC_TEST_CROSS_HZ, 60000, "Cross tune", "Tones",
                       NULL, NULL);
  redis = rc_test_redis_start_checked ();
  a = start_capped_node (redis, dir);
  b = start_capped_node (redis, dir);
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_count_nodes (a) == 2, 5000));
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
  g_assert_true (ws_hears_tone (carl, RC_TEST_CROSS_HZ));
  stats_path = g_strdup_printf ("/api/rooms/%s/stats", rc_test_str (room, "id"));
  stats = rc_test_cluster_get_ok (owner, stats_path);
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
  RcTestCross x = { 0 };
  g_autoptr (RcNativeGuest) ear = NULL;
  g_autofree char *song = NULL;
  g_autofree char *add = NULL;
  g_autofree char *anna_saw = NULL;
  g_autofree char *boris_saw = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) queued = NULL;

  rc_test_cross_start (&x);

  /* Boris's join, answered by the room's node: both guests listed. */
  {
    g_autofree char *names =
      rc_test_cluster_names_of (json_object_get_array_member (x.boris_state, "participants"));

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
    g_autofree char *names_a
        = rc_test_cluster_names_of (json_object_get_array_member (on_a, "participants"));
    g_autofree char *names_b
        = rc_test_cluster_names_of (json_object_get_array_member (on_b, "participants"));

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
  g_assert_true (
      RC_WAIT_UNTIL (ear_hears (ear, RC_TEST_CROSS_HZ) || rc_native_guest_get_failure (ear),
                     20000 * rc_test_slowdown ()));
  g_assert_null (rc_native_guest_get_failure (ear));

  rc_test_cluster_assert_same_view (x.p.owner, x.p.other, x.p.id);
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
  rc_test_cross_clear (&x);
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
  RcTestCross x = { 0 };
  g_autoptr (RcTestServer) c = NULL;
  g_autoptr (RcTestWs) cleo = NULL;
  g_autoptr (JsonObject) left = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (JsonObject) heard = NULL;
  g_autofree char *third = NULL;
  g_autofree char *join = NULL;

  rc_test_cross_start (&x);
  c = rc_test_cluster_node_start (x.p.redis, NULL);
  g_assert_true (RC_WAIT_UNTIL (rc_test_cluster_count_nodes (c) == 3, 5000));
  third = create_room_on (c, "Third");
  g_assert_true (rc_test_cluster_owned_by (x.p.owner, third, c));
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
  rc_test_cross_clear (&x);
}

/* PUBLISH commands @redis has run. */
static gint64
publishes (RcTestRedis *redis)
{
  g_autofree char *stats = rc_test_redis_call (redis, "INFO", "commandstats", NULL);
  const char *calls = strstr (stats, "cmdstat_publish:calls=");

  g_assert_nonnull (calls);
  return g_ascii_strtoll (calls + strlen ("cmdstat_publish:calls="), NULL, 10);
}

/*
 * Three guests of the room on the other node (Boris, Cleo, Dora): each
 * sees the others come and go as Anna on the room's node does, and not
 * itself; a chat reaches every one of them while Redis carries it once
 * (the room's node publishes a broadcast once per node, not per guest);
 * and Dora, once she has left (her connection still relayed to the room's
 * node), is sent nothing more of the room.
 */
static void
test_cross_node_broadcasts_once_per_node (void)
{
  RcTestCross x = { 0 };
  g_autoptr (RcTestWs) cleo = NULL;
  g_autoptr (RcTestWs) dora = NULL;
  g_autoptr (JsonObject) left = NULL;
  gint64 before;

  rc_test_cross_start (&x);
  cleo = rc_test_ws_join (x.p.other, x.p.id, "Cleo", NULL, NULL, NULL);
  {
    g_autoptr (JsonObject) on_boris = rc_test_ws_expect (x.boris, "viewerJoined", 5000);

    g_assert_cmpstr (rc_test_str (json_object_get_object_member (on_boris, "guest"), "name"), ==,
                     "Cleo");
  }
  /* (Anna was told of Boris first.) */
  g_assert_true (RC_WAIT_UNTIL (
    ({
      g_autoptr (JsonObject) joined = rc_test_ws_expect (x.anna, "viewerJoined", 5000);

      g_str_equal (rc_test_str (json_object_get_object_member (joined, "guest"), "name"), "Cleo");
    }),
    5000));
  dora = rc_test_ws_join (x.p.other, x.p.id, "Dora", NULL, NULL, NULL);
  for (guint i = 0; i < 3; i++)
    {
      RcTestWs *who[] = { x.anna, x.boris, cleo };
      g_autoptr (JsonObject) joined = rc_test_ws_expect (who[i], "viewerJoined", 5000);

      g_assert_cmpstr (rc_test_str (json_object_get_object_member (joined, "guest"), "name"), ==,
                       "Dora");
    }

  /* A chat of Anna's: three guests on the other node, one PUBLISH. */
  rc_test_run_for (300);
  before = publishes (x.p.redis);
  rc_test_ws_send (x.anna, "{\"type\":\"chat\",\"text\":\"to all of you\"}");
  for (guint i = 0; i < 3; i++)
    {
      RcTestWs *who[] = { x.boris, cleo, dora };
      g_autoptr (JsonObject) chat = rc_test_ws_expect (who[i], "chat", 5000);

      g_assert_cmpstr (rc_test_str (chat, "text"), ==, "to all of you");
    }
  g_assert_cmpint (publishes (x.p.redis) - before, ==, 1);

  /* Dora leaves: the others are told, she is sent nothing more. */
  left = rc_test_ws_command (dora, "{\"type\":\"leave\"}");
  g_assert_cmpstr (rc_test_str (left, "type"), ==, "left");
  json_object_unref (rc_test_ws_expect (cleo, "viewerLeft", 5000));
  rc_test_ws_send (x.anna, "{\"type\":\"chat\",\"text\":\"after Dora\"}");
  {
    g_autoptr (JsonObject) chat = rc_test_ws_expect (cleo, "chat", 5000);

    g_assert_cmpstr (rc_test_str (chat, "text"), ==, "after Dora");
  }
  rc_test_run_for (300);
  {
    g_autoptr (JsonObject) nothing = rc_test_ws_next (dora, 0);

    while (nothing != NULL)
      {
        g_assert_cmpstr (rc_test_str (nothing, "type"), !=, "chat");
        g_assert_cmpstr (rc_test_str (nothing, "type"), !=, "viewerLeft");
        json_object_unref (nothing);
        nothing = rc_test_ws_next (dora, 0);
      }
  }
  g_clear_pointer (&dora, rc_test_ws_free);
  g_clear_pointer (&cleo, rc_test_ws_free);
  rc_test_cross_clear (&x);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/cluster/nodes-register-and-expire", test_nodes_register_and_expire);
  g_test_add_func ("/cluster/rest-from-any-node-and-placement",
                   test_rest_from_any_node_and_placement);
  g_test_add_func ("/cluster/cross-node-signalling", test_cross_node_signalling);
  g_test_add_func ("/cluster/cross-node-third-node", test_cross_node_third_node);
  g_test_add_func ("/cluster/cross-node-broadcasts-once-per-node",
                   test_cross_node_broadcasts_once_per_node);
  g_test_add_func ("/cluster/edge-serves-ws-audio", test_edge_serves_ws_audio);
  g_test_add_func ("/cluster/edge-needs-an-ip-address", test_edge_needs_an_ip_address);
  g_test_add_func ("/cluster/full-node-sends-joins-elsewhere",
                   test_full_node_sends_joins_elsewhere);
  return g_test_run ();
}

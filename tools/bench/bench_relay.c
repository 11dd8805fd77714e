/* SPDX-License-Identifier: MIT */
/*
 * bench-relay: what relaying a guest's signalling between the nodes of a
 * cluster costs the guest. Why it exists: a guest of another node reaches
 * the room's node through Redis pub/sub (docs/architecture.md, "Signalling
 * across nodes"), two hops more each way than a guest of the room's node;
 * this measures by how much, on the same machine, in one command.
 *
 * It starts a redis-server and two roomcast nodes sharing it, makes a room,
 * and puts guests (WebSockets of this process) on the room's node and on
 * the other. It prints the round trip of a request (`ping`, answered by the
 * room's node) for one guest on each side, and how long a chat message
 * sent by a guest of the room's node takes to reach every guest on each
 * side. Every time is read on this process's monotonic clock.
 *
 * With --media it measures the origin → edge media relay instead: the
 * origin's CPU per edge against one listener's, and what an edge sees
 * (rc_bench_relay_media.c); with --skew, how closely native guests on the
 * room's node and on an edge render the same sample (rc_bench_relay_skew.c).
 */
#include "rc_bench_relay_media.h"
#include "rc_bench_relay_skew.h"
#include "rc_bench_server.h"
#include "rc_bench_proc.h"
#include "pipelines/rc_stats.h"
#include "tools/support/rc_roomcast_process.h"
#include "tools/native-guest/rc_recording.h"

#include <glib/gstdio.h>

#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  gint64 *sent_us;  /* chat k's send time */
  GArray *delays;   /* ms, of the chats this side's guests received */
  gint64 pong_id;   /* the last pong's id */
} Side;

typedef struct
{
  Side *side;
  RcBenchControl *control;
} Guest;

static void
on_message (JsonObject *message, gpointer user_data)
{
  Side *side = user_data;
  const char *type = json_object_get_string_member_with_default (message, "type", "");

  if (g_str_equal (type, "pong"))
    side->pong_id = json_object_get_int_member_with_default (message, "id", -1);
  else if (g_str_equal (type, "chat") && side->sent_us != NULL)
    {
      const char *text = json_object_get_string_member_with_default (message, "text", "");
      guint64 k;

      if (g_str_has_prefix (text, "m")
          && g_ascii_string_to_unsigned (text + 1, 10, 0, G_MAXINT32, &k, NULL)
          && side->sent_us[k] > 0)
        {
          double ms = (g_get_monotonic_time () - side->sent_us[k]) / 1000.0;

          g_array_append_val (side->delays, ms);
        }
    }
}

typedef struct
{
  Side *side;
  gint64 id;
} PongWait;

static gboolean
pong_came (gpointer data)
{
  PongWait *w = data;

  return w->side->pong_id == w->id;
}

typedef struct
{
  GArray *delays;
  guint want;
} CountWait;

static gboolean
all_came (gpointer data)
{
  CountWait *w = data;

  return w->delays->len >= w->want;
}

/* A redis-server on a free port of 127.0.0.1, answering. */
static GSubprocess *
start_redis (const char *program, guint *port_out, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  guint port = rc_roomcast_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSubprocess *proc;

  proc = g_subprocess_launcher_spawn (launcher, error, program, "--port", port_text, "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no", NULL);
  if (proc == NULL)
    return NULL;
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr (GSocketConnection) conn =
        g_socket_client_connect_to_host (client, "127.0.0.1", (guint16) port, NULL, NULL);

      if (conn != NULL)
        {
          *port_out = port;
          return proc;
        }
      g_usleep (50000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "redis-server did not listen on %u", port);
  rc_roomcast_child_stop (proc, 1);
  g_object_unref (proc);
  return NULL;
}

/* The URL of the node serving @room_id, as @server tells it. */
static char *
serving_url (RcBenchServer *server, const char *room_id)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s", room_id);
  guint status = 0;
  g_autoptr (JsonNode) room =
    rc_bench_server_request (server, "GET", path, NULL, NULL, &status, NULL);
  JsonObject *node;

  if (room == NULL || !JSON_NODE_HOLDS_OBJECT (room)
      || (node = json_object_get_object_member (json_node_get_object (room), "node")) == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (node, "url", ""));
}

static guint
count_nodes (RcBenchServer *server)
{
  guint status = 0;
  g_autoptr (JsonNode) body =
    rc_bench_server_request (server, "GET", "/api/nodes", NULL, NULL, &status, NULL);

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    return 0;
  return json_array_get_length (json_object_get_array_member (json_node_get_object (body), "nodes"));
}

static void
print_row (const char *what, const char *side, GArray *ms)
{
  printf ("%-24s %-9s %6u %8.2f %8.2f %8.2f %8.2f\n", what, side, ms->len, rc_percentile (ms, 0.5),
          rc_percentile (ms, 0.95), rc_percentile (ms, 0.99), rc_percentile (ms, 1.0));
}

/* PUBLISH commands the redis-server on @port has run (INFO commandstats,
 * through redis-cli), or -1. */
static gint64
redis_publishes (guint port)
{
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  const char *argv[] = { "redis-cli", "-p", port_text, "INFO", "commandstats", NULL };
  g_autofree char *out = NULL;
  const char *line;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, NULL, NULL))
    return -1;
  line = strstr (out, "cmdstat_publish:calls=");
  return line != NULL ? g_ascii_strtoll (line + strlen ("cmdstat_publish:calls="), NULL, 10) : 0;
}

/* What crosses Redis and what each node's main thread spends, over a
 * stretch of the run. */
typedef struct
{
  gint64 publishes;
  guint64 main_ns[2];
  gint64 at_us;
} Cost;

static void
cost_read (Cost *cost, guint port, RcBenchServer *servers[2])
{
  cost->publishes = redis_publishes (port);
  for (guint i = 0; i < 2; i++)
    cost->main_ns[i] = rc_bench_thread_cpu_ns (rc_bench_server_get_pid (servers[i]),
                                               rc_bench_server_get_pid (servers[i]));
  cost->at_us = g_get_monotonic_time ();
}

/* @n guests on each of the two nodes, each joined; FALSE on a failure. */
static gboolean
join_guests (RcBenchServer *servers[2], const char *room_id, Side sides[2], Guest *guests, guint n)
{
  static const char *const types[] = { "chat", "pong", NULL };

  for (guint i = 0; i < 2 * n; i++)
    {
      guests[i].side = &sides[i % 2];
      guests[i].control =
        rc_bench_control_new (servers[i % 2], room_id, NULL, on_message, guests[i].side);
      rc_bench_control_only (guests[i].control, types);
    }
  for (guint i = 0; i < 2 * n; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!rc_bench_control_wait_joined (guests[i].control, 20000, &error))
        {
          g_printerr ("bench-relay: guest %u could not join: %s\n", i, error->message);
          return FALSE;
        }
    }
  return TRUE;
}

/* @pings pings from guests[0] (room's node) and guests[1] (the other),
 * interleaved, one at a time; round trips in @rtt[2]. */
static void
measure_pings (Guest *guests, guint pings, GArray *rtt[2])
{
  for (guint i = 1; i <= pings && !rc_bench_interrupted (); i++)
    for (guint s = 0; s < 2; s++)
      {
        PongWait w = { guests[s].side, (gint64) i };
        gint64 t0 = g_get_monotonic_time ();
        double ms;

        rc_bench_control_send (guests[s].control, "{\"type\":\"ping\",\"id\":%u}", i);
        if (!rc_bench_wait (pong_came, &w, 5000))
          continue;
        ms = (g_get_monotonic_time () - t0) / 1000.0;
        g_array_append_val (rtt[s], ms);
      }
}

int
main (int argc, char **argv)
{
  const char *roomcast = "build/roomcast";
  const char *redis_server = "redis-server";
  gint pings = 500, guests_n = 50, chats = 100, window = 10;
  gboolean media = FALSE, skew = FALSE;
  gint pairs = 2;
  double seconds = 30;
  const char *guest_program = "build/tools/roomcast-guest";
  g_autofree char *music_dir = NULL;
  const char *levels = "10,100,1000";
  double listener_us = 7.6;
  GOptionEntry entries[] = {
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &roomcast, "The server binary", "PATH" },
    { "redis-server", 0, 0, G_OPTION_ARG_FILENAME, &redis_server, "redis-server to run", "PATH" },
    { "pings", 0, 0, G_OPTION_ARG_INT, &pings, "Requests timed on each side (500)", "N" },
    { "guests", 0, 0, G_OPTION_ARG_INT, &guests_n, "Guests on each node (50)", "N" },
    { "chats", 0, 0, G_OPTION_ARG_INT, &chats, "Chat messages timed (100)", "N" },
    { "media", 0, 0, G_OPTION_ARG_NONE, &media,
      "Measure the origin → edge media relay instead (in this process)", NULL },
    { "levels", 0, 0, G_OPTION_ARG_STRING, &levels, "--media: edge counts (10,100,1000)", "N,N" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window, "--media: seconds per level (10)", "S" },
    { "skew", 0, 0, G_OPTION_ARG_NONE, &skew,
      "Measure native guests on the room's node and on an edge instead", NULL },
    { "pairs", 0, 0, G_OPTION_ARG_INT, &pairs, "--skew: native guests on each node (2)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "--skew: seconds recorded (30)", "S" },
    { "guest", 0, 0, G_OPTION_ARG_FILENAME, &guest_program,
      "--skew: roomcast-guest (build/tools/roomcast-guest)", "PATH" },
    { "listener-us", 0, 0, G_OPTION_ARG_DOUBLE, &listener_us,
      "--media: one engine listener's CPU per packet, to compare (7.6 µs: docs/benchmarks.md, "
      "the engine's quiet run at 1,000 guests)", "US" },
    { NULL },
  };
  g_autoptr (GOptionContext) options = g_option_context_new ("- what relaying between nodes costs");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) redis = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *room_id = NULL;
  g_autofree char *owner_token = NULL;
  g_autofree char *serving = NULL;
  g_autofree Guest *guests = NULL;
  g_autofree gint64 *sent_us = NULL;
  RcBenchServer *servers[2] = { NULL, NULL };
  Side sides[2] = { { 0 } };
  Cost rest_from, rest_to, chat_from, chat_to;
  GArray *rtt[2];
  double load[3] = { 0 };
  FILE *loadavg;
  guint port = 0;
  int status = 1;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || pings < 1 || guests_n < 1
      || chats < 1)
    {
      g_printerr ("bench-relay: %s\n", error ? error->message : "need positive counts");
      return 2;
    }
  if (media)
    return rc_bench_relay_media_run (levels, (guint) MAX (window, 1), listener_us);
  rc_bench_catch_signals ();
  redis = start_redis (redis_server, &port, &error);
  if (redis == NULL)
    {
      g_printerr ("bench-relay: %s\n", error->message);
      return 1;
    }
  uri = g_strdup_printf ("redis://127.0.0.1:%u/0", port);
  if (skew)
    {
      g_autofree char *track = NULL;

      music_dir = g_dir_make_tmp ("bench-relay-XXXXXX", NULL);
      track = g_build_filename (music_dir, "clicks.wav", NULL);
      if (!rc_click_track_write (track, (guint) seconds + 120, &error))
        {
          g_printerr ("bench-relay: %s\n", error->message);
          goto out;
        }
    }
  {
    /* --skew: the click track, and D held at 300 ms (never lowered). */
    const char *const args[] = { "--cluster", uri, "--max-guests", "100000", "--chat-rate-limit",
                                 "0", NULL };
    const char *const skew_args[] = { "--cluster", uri, "--playout-delay", "300",
                                      "--playout-delay-min", "300", "--music-dir", music_dir,
                                      NULL };

    for (guint i = 0; i < 2 && error == NULL; i++)
      servers[i] = rc_bench_server_start (roomcast, skew ? skew_args : args, "/dev/null", &error);
  }
  if (error != NULL)
    {
      g_printerr ("bench-relay: %s\n", error->message);
      goto out;
    }
  for (guint i = 0; i < 100 && count_nodes (servers[0]) < 2; i++)
    g_usleep (50000);
  if (!rc_bench_server_create_room (servers[0], "bench-relay", &room_id, &owner_token, &error))
    {
      g_printerr ("bench-relay: %s\n", error->message);
      goto out;
    }
  /* servers[0] is the room's node from here on. */
  serving = serving_url (servers[0], room_id);
  if (g_strcmp0 (serving, rc_bench_server_get_url (servers[1])) == 0)
    {
      RcBenchServer *swap = servers[0];

      servers[0] = servers[1];
      servers[1] = swap;
    }

  if (skew)
    {
      status = rc_bench_relay_skew_run (servers[0], servers[1], room_id, owner_token,
                                        guest_program, music_dir, (guint) MAX (pairs, 1),
                                        MAX (seconds, 5));
      goto out;
    }
  sent_us = g_new0 (gint64, chats);
  for (guint s = 0; s < 2; s++)
    {
      sides[s].delays = g_array_new (FALSE, FALSE, sizeof (double));
      rtt[s] = g_array_new (FALSE, FALSE, sizeof (double));
    }
  guests = g_new0 (Guest, 2 * (guint) guests_n);
  if (!join_guests (servers, room_id, sides, guests, (guint) guests_n))
    goto out;
  rc_bench_progress ("%d guests on each node; timing %d pings on each side", guests_n, pings);
  measure_pings (guests, (guint) pings, rtt);

  /* At rest: the 1 s stateUpdate heartbeat, and presence settling. */
  rc_bench_wait (NULL, NULL, 2000);
  cost_read (&rest_from, port, servers);
  rc_bench_wait (NULL, NULL, 5000);
  cost_read (&rest_to, port, servers);

  rc_bench_progress ("timing %d chat messages to %d guests on each side", chats, guests_n);
  for (guint s = 0; s < 2; s++)
    sides[s].sent_us = sent_us;
  cost_read (&chat_from, port, servers);
  for (guint k = 0; k < (guint) chats && !rc_bench_interrupted (); k++)
    {
      sent_us[k] = g_get_monotonic_time ();
      rc_bench_control_send (guests[0].control, "{\"type\":\"chat\",\"text\":\"m%u\"}", k);
      rc_bench_wait (NULL, NULL, 50);
    }
  for (guint s = 0; s < 2; s++)
    {
      CountWait w = { sides[s].delays, (guint) (chats * guests_n) };

      rc_bench_wait (all_came, &w, 10000);
    }
  cost_read (&chat_to, port, servers);

  if ((loadavg = fopen ("/proc/loadavg", "r")) != NULL)
    {
      if (fscanf (loadavg, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
        load[0] = load[1] = load[2] = 0;
      fclose (loadavg);
    }
  printf ("bench-relay: Redis and two nodes on 127.0.0.1, %d guests on each; load average "
          "%.2f %.2f %.2f\n", guests_n, load[0], load[1], load[2]);
  printf ("%-24s %-9s %6s %8s %8s %8s %8s\n", "ms", "guest on", "n", "p50", "p95", "p99", "max");
  print_row ("request round trip", "room node", rtt[0]);
  print_row ("request round trip", "other", rtt[1]);
  print_row ("chat to every guest", "room node", sides[0].delays);
  print_row ("chat to every guest", "other", sides[1].delays);
  {
    double rest_s = (rest_to.at_us - rest_from.at_us) / 1e6;
    double chat_s = (chat_to.at_us - chat_from.at_us) / 1e6;
    /* The heartbeats' share of the chat stretch, taken off. */
    double rest_rate = (rest_to.publishes - rest_from.publishes) / rest_s;
    double per_chat = ((chat_to.publishes - chat_from.publishes) - rest_rate * chat_s) / chats;

    printf ("Redis PUBLISHes: %.1f a second at rest (room heartbeat), %.1f per chat message "
            "(heartbeats taken off)\n",
            rest_rate, per_chat);
    for (guint i = 0; i < 2; i++)
      {
        double rest_us = (rest_to.main_ns[i] - rest_from.main_ns[i]) / 1e3 / rest_s;
        double chat_us = ((chat_to.main_ns[i] - chat_from.main_ns[i]) / 1e3 - rest_us * chat_s)
                         / chats;

        printf ("%s's main thread: %.0f µs a second at rest, %.0f µs per chat message\n",
                i == 0 ? "room node" : "other node", rest_us, chat_us);
      }
  }
  status = sides[1].delays->len == (guint) (chats * guests_n) ? 0 : 1;
  if (status != 0)
    g_printerr ("bench-relay: %u of %d chat deliveries to the other node's guests arrived\n",
                sides[1].delays->len, chats * guests_n);
  for (guint s = 0; s < 2; s++)
    {
      g_array_unref (sides[s].delays);
      g_array_unref (rtt[s]);
    }

out:
  if (guests != NULL)
    for (guint i = 0; i < 2 * (guint) guests_n; i++)
      g_clear_pointer (&guests[i].control, rc_bench_control_free);
  for (guint i = 0; i < 2; i++)
    g_clear_pointer (&servers[i], rc_bench_server_free);
  rc_roomcast_child_stop (redis, 5);
  if (music_dir != NULL)
    {
      g_autofree char *track = g_build_filename (music_dir, "clicks.wav", NULL);

      g_unlink (track);
      g_rmdir (music_dir);
    }
  return status;
}

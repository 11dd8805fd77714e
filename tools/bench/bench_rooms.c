/* SPDX-License-Identifier: MIT */
/*
 * bench-rooms: what a playing room costs the server, heard and unheard.
 *
 * For each level N (rooms) and each mode it starts a fresh roomcast pinned
 * to one CPU, makes N rooms, joins each with one WebSocket (the owner),
 * queues the same song on loop in every room and, in the "ws" mode, takes
 * the room's WebSocket audio on that socket (one listener per room); in
 * the "none" mode the owner only sits in the room, nobody takes audio.
 * After a settle it measures a window: the server's CPU (of one core), its
 * RSS and threads, each per room above the empty server's, and for the
 * listeners the frames each room delivered and the frames late (more than
 * --late-ms above the room's best transit from capture time C to arrival).
 *
 * The listeners live in this process (one WebSocket each, frames counted,
 * not decoded), on the CPUs the server is not pinned to. The song is a
 * 44.1 kHz Ogg Vorbis file the benchmark writes (music as people have it:
 * the room resamples it to 48 kHz).
 *
 * Figures go to stdout as a table with the machine and its load average;
 * docs/benchmarks.md records them with the command.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include "pipelines/rc_ws_branch.h"
#include "rc_bench_proc.h"
#include "rc_bench_server.h"
#include "tools/support/rc_tree.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#define FRAME_MS 20.0

typedef struct
{
  RcBenchControl *control;
  guint64 frames;
  guint64 late;
  double best_transit_ms; /* < 0: none yet */
  double late_ms;
  gboolean counting;
  gboolean joined;
} Room;

typedef struct
{
  char *roomcast;
  char *levels;
  char *modes;
  int window_s;
  int settle_s;
  int server_cpu;
  double late_ms;
  int track_s;
} Options;

typedef struct
{
  guint rooms;
  gboolean listening;
  double cpu_pct;       /* of one core */
  double rss_mib;
  guint threads;
  double per_room_cpu;  /* % of one core */
  double per_room_kib;
  double per_room_threads;
  double frames_per_room_s;
  guint64 late;
  guint starved;        /* rooms that delivered under 90 % of their frames */
  gboolean ok;
  char *note;
} Result;

static int pinned_cpu = -1;

static void
server_child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (pinned_cpu >= 0)
    {
      cpu_set_t one;

      CPU_ZERO (&one);
      CPU_SET (pinned_cpu, &one);
      if (sched_setaffinity (0, sizeof one, &one) != 0)
        _exit (127);
    }
}

/* A 44.1 kHz stereo Ogg Vorbis song: a chord over quiet noise. */
static gboolean
write_song (const char *path, int seconds, GError **error)
{
  g_autofree char *description = g_strdup_printf (
    "audiotestsrc wave=pink-noise volume=0.05 samplesperbuffer=4410 num-buffers=%d "
    "! audio/x-raw,rate=44100,channels=2 ! chord. "
    "audiotestsrc wave=sine freq=330 volume=0.2 samplesperbuffer=4410 num-buffers=%d "
    "! audio/x-raw,rate=44100,channels=2 ! chord. "
    "audiomixer name=chord ! audioconvert ! vorbisenc quality=0.5 ! oggmux "
    "! filesink location=\"%s\"",
    seconds * 10, seconds * 10, path);
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, error);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) done = NULL;

  if (pipeline == NULL)
    return FALSE;
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  done = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (done == NULL || GST_MESSAGE_TYPE (done) != GST_MESSAGE_EOS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write the song %s", path);
      return FALSE;
    }
  return TRUE;
}

static void
on_frame (GBytes *frame, gpointer data)
{
  Room *r = data;
  gsize size, length;
  const guint8 *bytes = g_bytes_get_data (frame, &size), *payload;
  guint32 rtp, seq;
  double c, transit;

  if (!r->counting || !rc_ws_frame_parse (bytes, size, &rtp, &c, &seq, &payload, &length))
    return;
  /* C is the server clock, the machine's monotonic clock, in ms. */
  transit = (double) g_get_monotonic_time () / 1000.0 - c;
  r->frames++;
  if (r->best_transit_ms < 0 || transit < r->best_transit_ms)
    r->best_transit_ms = transit;
  else if (transit - r->best_transit_ms > r->late_ms)
    r->late++;
}

static void
on_message (JsonObject *message, gpointer data)
{
  Room *r = data;

  if (g_strcmp0 (json_object_get_string_member_with_default (message, "type", ""),
                 "initialState") == 0)
    r->joined = TRUE;
}

static void
room_free (Room *r)
{
  rc_bench_control_free (r->control);
  g_free (r);
}

static gboolean
all_joined (gpointer data)
{
  GPtrArray *rooms = data;

  for (guint i = 0; i < rooms->len; i++)
    {
      Room *r = rooms->pdata[i];

      if (rc_bench_control_get_failure (r->control) == NULL && !r->joined)
        return FALSE;
    }
  return TRUE;
}

/* One level in one mode, on a fresh server. */
static void
run_level (const Options *o, const char *music_dir, const char *log_dir, guint n,
           gboolean listening, Result *res)
{
  g_autofree char *log = g_strdup_printf ("%s/server-%u-%s.log", log_dir, n,
                                          listening ? "ws" : "none");
  g_autofree char *max_rooms = g_strdup_printf ("%u", n + 10);
  const char *args[] = { "--music-dir", music_dir, "--max-rooms", max_rooms, NULL };
  RcBenchServerOptions so = {
    .roomcast = o->roomcast, .extra_args = args, .log_path = log,
    .child_setup = server_child_setup,
  };
  static const char *const only[] = { "mediaStarted", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (RcBenchServer) server = NULL;
  g_autoptr (JsonArray) songs = NULL;
  g_autoptr (GPtrArray) rooms = g_ptr_array_new_with_free_func ((GDestroyNotify) room_free);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  RcBenchProc empty, a, z;
  const char *song_id;
  guint64 frames = 0;

  res->rooms = n;
  res->listening = listening;
  server = rc_bench_server_start_with (&so, &error);
  if (server == NULL || (songs = rc_bench_server_wait_library (server, 1, 60, &error)) == NULL)
    {
      res->note = g_strdup_printf ("server: %s", error->message);
      return;
    }
  song_id = json_object_get_string_member (json_array_get_object_element (songs, 0), "id");
  rc_bench_wait (NULL, NULL, 1000);
  rc_bench_proc_read (rc_bench_server_get_pid (server), &empty);

  rc_bench_progress ("%u rooms, %s: creating them", n,
                     listening ? "one listener each" : "nobody listening");
  /* All rooms first (REST, synchronous), then the sockets: a synchronous
   * request does not serve the sockets already open. */
  for (guint i = 0; i < n && !rc_bench_interrupted (); i++)
    {
      g_autofree char *name = g_strdup_printf ("bench %u", i);
      char *id = NULL, *token = NULL;

      if (!rc_bench_server_create_room (server, name, &id, &token, &error))
        {
          res->note = g_strdup_printf ("room %u: %s", i, error->message);
          return;
        }
      g_ptr_array_add (ids, id);
      g_ptr_array_add (tokens, token);
      /* The server logs each room: read its output, or its pipe fills
       * (64 KiB, some 960 rooms) and it blocks writing. */
      if (i % 20 == 19)
        rc_bench_wait (NULL, NULL, 1);
    }
  rc_bench_progress ("joining every room");
  for (guint i = 0; i < ids->len; i++)
    {
      Room *r = g_new0 (Room, 1);

      r->best_transit_ms = -1;
      r->late_ms = o->late_ms;
      r->control = rc_bench_control_new (server, ids->pdata[i], tokens->pdata[i], on_message, r);
      rc_bench_control_only (r->control, only);
      if (listening)
        rc_bench_control_set_binary_func (r->control, on_frame, r);
      g_ptr_array_add (rooms, r);
      if (i % 50 == 49)
        rc_bench_wait (NULL, NULL, 20);
    }
  /* A loaded machine joins a thousand sockets slowly: 60 s, or 0.2 s a room. */
  if (!rc_bench_wait (all_joined, rooms, MAX (60000.0, 200.0 * n)))
    {
      res->note = g_strdup_printf ("not every room's owner joined within %.0f s",
                                   MAX (60.0, 0.2 * n));
      return;
    }
  for (guint i = 0; i < rooms->len; i++)
    {
      Room *r = rooms->pdata[i];

      rc_bench_control_send (r->control, "{\"type\":\"setLoop\",\"mode\":\"track\"}");
      rc_bench_control_send (r->control, "{\"type\":\"addSong\",\"songId\":\"%s\"}", song_id);
      if (listening)
        rc_bench_control_send (r->control, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
      if (i % 50 == 49)
        rc_bench_wait (NULL, NULL, 50);
    }
  rc_bench_progress ("settling %d s", o->settle_s);
  rc_bench_wait (NULL, NULL, o->settle_s * 1000.0);
  for (guint i = 0; i < rooms->len; i++)
    ((Room *) rooms->pdata[i])->counting = TRUE;
  rc_bench_progress ("measuring %d s", o->window_s);
  rc_bench_proc_read (rc_bench_server_get_pid (server), &a);
  rc_bench_wait (NULL, NULL, o->window_s * 1000.0);
  rc_bench_proc_read (rc_bench_server_get_pid (server), &z);
  if (!z.ok || rc_bench_server_died (server))
    {
      res->note = g_strdup ("roomcast exited during the window");
      return;
    }
  for (guint i = 0; i < rooms->len; i++)
    {
      Room *r = rooms->pdata[i];

      if (rc_bench_control_get_failure (r->control) != NULL && res->note == NULL)
        res->note = g_strdup_printf ("room %u: %s", i, rc_bench_control_get_failure (r->control));
      frames += r->frames;
      res->late += r->late;
      if (listening && r->frames < 0.9 * o->window_s * 1000.0 / FRAME_MS)
        res->starved++;
    }
  res->cpu_pct = 100.0 * rc_bench_ticks_to_s (z.cpu_ticks - a.cpu_ticks) / o->window_s;
  res->rss_mib = z.rss_kib / 1024.0;
  res->threads = z.threads;
  res->per_room_cpu = res->cpu_pct / n;
  res->per_room_kib = ((double) z.rss_kib - (double) empty.rss_kib) / n;
  res->per_room_threads = ((double) z.threads - (double) empty.threads) / n;
  res->frames_per_room_s = (double) frames / n / o->window_s;
  res->ok = TRUE;
}

static void
print_results (const Options *o, GArray *results)
{
  g_autofree char *machine = rc_bench_machine_describe_full (TRUE, NULL);
  g_autofree char *load = rc_bench_loadavg ();

  g_print ("\nbench-rooms: %s\n", machine);
  g_print ("server pinned to CPU %d; window %d s after %d s settle; load average at the end %s\n",
           o->server_cpu, o->window_s, o->settle_s, load);
  g_print ("%6s %-9s %8s %10s %8s %9s %8s %11s %10s %6s %8s\n", "rooms", "listeners",
           "cpu %", "cpu %/room", "RSS MiB", "KiB/room", "threads", "threads/room",
           "frames/s", "late", "starved");
  for (guint i = 0; i < results->len; i++)
    {
      Result *r = &g_array_index (results, Result, i);

      if (!r->ok)
        {
          g_print ("%6u %-9s failed: %s\n", r->rooms, r->listening ? "ws" : "none",
                   r->note != NULL ? r->note : "?");
          continue;
        }
      g_print ("%6u %-9s %8.1f %10.3f %8.1f %9.1f %8u %11.2f %10.1f %6" G_GUINT64_FORMAT
               " %8u%s%s\n",
               r->rooms, r->listening ? "ws" : "none", r->cpu_pct, r->per_room_cpu, r->rss_mib,
               r->per_room_kib, r->threads, r->per_room_threads, r->frames_per_room_s, r->late,
               r->starved, r->note != NULL ? "  " : "", r->note != NULL ? r->note : "");
    }
}

int
main (int argc, char **argv)
{
  Options o = { .levels = NULL, .window_s = 10, .settle_s = 5, .server_cpu = 0,
                .late_ms = 60, .track_s = 120 };
  GOptionEntry entries[] = {
    { "levels", 'n', 0, G_OPTION_ARG_STRING, &o.levels,
      "Room counts to measure (default 100,200,500,1000)", "N,N,..." },
    { "modes", 0, 0, G_OPTION_ARG_STRING, &o.modes,
      "none (nobody listens), ws (one WebSocket listener per room), or both (default none,ws)",
      "M,M" },
    { "window", 'w', 0, G_OPTION_ARG_INT, &o.window_s, "Seconds measured per level (10)", "S" },
    { "settle", 0, 0, G_OPTION_ARG_INT, &o.settle_s, "Seconds to wait before measuring (5)", "S" },
    { "server-cpu", 0, 0, G_OPTION_ARG_INT, &o.server_cpu,
      "CPU the server is pinned to; -1: not pinned (0)", "N" },
    { "late-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.late_ms,
      "A frame this much above its room's best transit is late (60)", "MS" },
    { "track-seconds", 0, 0, G_OPTION_ARG_INT, &o.track_s, "Length of the song; it loops (120)",
      "S" },
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &o.roomcast,
      "The server binary (default: roomcast in this program's build dir)", "PATH" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- what a playing room costs");
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) results = g_array_new (FALSE, TRUE, sizeof (Result));
  g_auto (GStrv) levels = NULL;
  g_auto (GStrv) modes = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *music = NULL;
  g_autofree char *song = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-rooms: %s\n", error->message);
      return 2;
    }
  gst_init (NULL, NULL);
  rc_bench_catch_signals ();
  pinned_cpu = o.server_cpu;
  if (o.roomcast == NULL)
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *tools = self != NULL ? g_path_get_dirname (self) : g_strdup (".");
      g_autofree char *build = g_path_get_dirname (tools);

      o.roomcast = g_build_filename (build, "roomcast", NULL);
    }
  levels = g_strsplit (o.levels != NULL ? o.levels : "100,200,500,1000", ",", -1);
  modes = g_strsplit (o.modes != NULL ? o.modes : "none,ws", ",", -1);
  dir = g_dir_make_tmp ("bench-rooms-XXXXXX", &error);
  if (dir == NULL)
    {
      g_printerr ("bench-rooms: %s\n", error->message);
      return 1;
    }
  music = g_build_filename (dir, "music", NULL);
  g_mkdir (music, 0700);
  song = g_build_filename (music, "chord.ogg", NULL);
  rc_bench_progress ("writing a %d s song", o.track_s);
  if (!write_song (song, o.track_s, &error))
    {
      g_printerr ("bench-rooms: %s\n", error->message);
      rc_remove_tree (dir);
      return 1;
    }
  for (guint l = 0; levels[l] != NULL && !rc_bench_interrupted (); l++)
    for (guint m = 0; modes[m] != NULL && !rc_bench_interrupted (); m++)
      {
        Result r = { 0 };
        guint n = (guint) g_ascii_strtoull (levels[l], NULL, 10);

        if (n == 0 || (!g_str_equal (modes[m], "none") && !g_str_equal (modes[m], "ws")))
          {
            g_printerr ("bench-rooms: bad level %s or mode %s\n", levels[l], modes[m]);
            return 2;
          }
        run_level (&o, music, dir, n, g_str_equal (modes[m], "ws"), &r);
        g_array_append_val (results, r);
      }
  print_results (&o, results);
  for (guint i = 0; i < results->len; i++)
    g_free (g_array_index (results, Result, i).note);
  g_print ("server logs in %s (removed)\n", dir);
  rc_remove_tree (dir);
  g_free (o.roomcast);
  g_free (o.levels);
  g_free (o.modes);
  return 0;
}

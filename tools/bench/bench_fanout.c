/* SPDX-License-Identifier: MIT */
/*
 * bench-fanout: how many WebRTC guests one room holds, and what each costs.
 *
 *   bench-fanout [--levels 10,50,100,200] [--window 10] [--batch 10] ...
 *
 * It starts a real roomcast on 127.0.0.1 (a free port, a generated track in
 * a temporary music folder, no rate limit, a high --max-guests), creates a
 * room and plays the track in it from one control connection, then adds
 * WebRTC guests level by level (cumulatively) from a few receiver processes
 * (this same program with --receiver; see rc_bench_receiver.h). At each
 * level it measures, over a steady window, the server's CPU (utime+stime
 * from /proc), RSS and thread count, and every guest's packets, lost and
 * late packets; while guests join it measures the server CPU spent per
 * join. It prints Markdown tables, and stops by itself.
 *
 * Why it is built this way:
 * - The server is a separate process so its figures are its own; the
 *   receivers are separate processes so their CPU is counted apart (they
 *   share the machine's cores with the server: the tables say how much
 *   they took, and how much the rest of the machine took).
 * - Levels are cumulative: the guests of level 50 are those of level 10
 *   plus 40. Joins go in batches, each waited for (first RTP, failure or
 *   timeout), so that a join is never timed out by the joins queued ahead
 *   of it.
 * - Every child gets PR_SET_PDEATHSIG (SIGKILL), the whole run has a time
 *   budget (--max-seconds) and an alarm beyond it, and SIGINT/SIGTERM end
 *   the run early with what has been measured.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include "rc_bench_proc.h"
#include "rc_bench_receiver.h"
#include "rc_bench_server.h"
#include "rc_bench_webrtc.h"
#include "rc_bench_ws.h"
#include "tools/support/rc_tree.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- options ---- */

/* Other processes taking more than this (% of one core) disturb a window. */
#define DISTURBED_PCT 25

typedef struct
{
  char *levels;
  double window_s;
  double settle_s;
  guint batch;
  guint per_receiver;
  guint join_timeout_s;
  double late_ms;
  guint max_seconds;
  guint track_seconds;
  char *roomcast;
  char *music_dir;
  char *output;
  gboolean native;
  gboolean decode;
  gboolean keep;
  guint leave_cycles;
  int receiver_nice;
  int wait_quiet_s;
  guint retries;
  char *server_cpus;   /* CPU list the server is pinned to, or NULL */
  char *receiver_cpus; /* likewise for the receivers */
  guint top_threads;
  char *transport;     /* "receivers" (receiver processes), "webrtc" (roomcast-loadgen: engine,
                        * webrtcbin, Janus) or "ws" (roomcast-loadgen, and Icecast) */
  char *loadgen;       /* the roomcast-loadgen program */
  gboolean no_icecast;
  guint join_rate;
  char *webrtcbin_levels; /* --transport webrtc: the webrtcbin side's ("none": no side) */
  gboolean no_janus;
  guint churn_rate;
} Options;

/* ---- state ---- */

typedef struct
{
  char *name;
  GSubprocess *proc;
  GPid pid;
  GOutputStream *in;
  GDataInputStream *out;
  GQueue lines; /* char *, unread replies */
  gboolean eof;
  guint guests;
} Receiver;

/* One steady window of a level. */
typedef struct
{
  gboolean measured;
  guint present;      /* guests asked for so far (the level's n unless joins stopped) */
  double window_s;
  double server_pct, client_pct, other_pct;
  double server_cpu_per_s; /* CPU seconds per second: for the net join figure */
  guint64 rss_kib;
  guint threads;
  guint with_audio, failed, waiting;
  double pkts_mean;
  double delivered_pct; /* packets received / packets due over the receivers' windows */
  double expected_per_guest;
  double lost_mean, late_mean;
  guint64 lost_max, late_max;
  guint lost_guests, late_guests;
  double worst_gap_ms, worst_late_ms;
  GPtrArray *thread_groups;        /* the server's, RcBenchThreadGroup, busiest first */
  GPtrArray *client_thread_groups; /* the receivers', likewise */
  RcBenchUdp udp;                  /* the machine's UDP counters over the window */
} Window;

static void
window_clear (Window *w)
{
  g_clear_pointer (&w->thread_groups, g_ptr_array_unref);
  g_clear_pointer (&w->client_thread_groups, g_ptr_array_unref);
  memset (w, 0, sizeof *w);
}

typedef struct
{
  guint n;            /* guests asked for, in total */
  guint added;        /* guests asked for in this level */
  guint join_ok, join_failed, join_timed_out;
  double join_wall_s;
  double join_cpu_s;
  double setup_sum_ms, setup_max_ms;
  GPtrArray *join_thread_groups; /* the server's while the level's guests joined */
  Window w;                      /* the steady window (the least disturbed attempt) */
  guint attempts;                /* windows measured */
  char *note;
} Level;

typedef struct
{
  Options *o;
  char *self_exe;
  char *tmp_dir;
  char *music_dir;
  gint64 started_us;
  gint64 deadline_us;
  gboolean failed;

  RcBenchServer *server;
  GPid server_pid;
  const char *base_url;
  guint server_warnings;
  guint server_media_failures;

  RcBenchControl *control;
  char *room_id;
  char *owner_token;
  char *song_id;
  char *song_title;
  gboolean playing;
  const char *fanout;  /* --webrtc-fanout of the server, or NULL (its default) */

  GPtrArray *receivers;
  guint guests;
  GPtrArray *guest_failures; /* char *, "name reason", first ones */
  guint guest_failure_count;

  RcBenchProc baseline;
  double baseline_pct;
  double busy_before_pct; /* the machine's busy CPU before the run began */
  GPtrArray *levels; /* Level */
  GArray *cycles; /* Cycle: the server after every guest left, cycle by cycle */
} Bench;

typedef struct
{
  guint guests;        /* how many had joined before they all left */
  guint threads_at_5s; /* the server's threads 5 s after the last "left" */
  double drain_s;      /* until its threads were back to the empty room's (+2), or -1 */
  double health_max_ms; /* the slowest GET /health while draining: is the main loop free? */
  RcBenchProc after;   /* the server when drained (or at the timeout), 2 s later */
  guint health_guests; /* /health "guests" then (the control connection is one) */
} Cycle;

/* ---- children ---- */

/* "0", "1-3", "0,2": a CPU set; FALSE when it is not one. */
static gboolean
parse_cpus (const char *text, cpu_set_t *set)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);

  CPU_ZERO (set);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto (GStrv) range = g_strsplit (parts[i], "-", 2);
      guint64 lo, hi;

      if (!g_ascii_string_to_unsigned (range[0], 10, 0, CPU_SETSIZE - 1, &lo, NULL))
        return FALSE;
      hi = lo;
      if (range[1] != NULL
          && !g_ascii_string_to_unsigned (range[1], 10, lo, CPU_SETSIZE - 1, &hi, NULL))
        return FALSE;
      for (guint64 c = lo; c <= hi; c++)
        CPU_SET (c, set);
    }
  return CPU_COUNT (set) > 0;
}

typedef struct
{
  int nice;
  gboolean pin;
  cpu_set_t cpus;
  rlim_t nofile; /* raise the fd limit to this (0: leave it) */
} ChildSetup;

static ChildSetup server_setup_data, receiver_setup_data;

/* In the child, before exec: die with us; take the nice value and CPUs asked for. */
static void
child_setup (gpointer data)
{
  const ChildSetup *setup = data;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (setup->nice > 0 && nice (setup->nice) == -1)
    _exit (127);
  if (setup->pin && sched_setaffinity (0, sizeof setup->cpus, &setup->cpus) != 0)
    _exit (127);
  /* Thousands of listeners are thousands of sockets on both sides; raising
   * the hard limit needs root (CAP_SYS_RESOURCE), else the soft one goes
   * up to it. */
  if (setup->nofile > 0)
    {
      struct rlimit rl = { setup->nofile, setup->nofile };

      if (setrlimit (RLIMIT_NOFILE, &rl) != 0 && getrlimit (RLIMIT_NOFILE, &rl) == 0)
        {
          rl.rlim_cur = rl.rlim_max;
          setrlimit (RLIMIT_NOFILE, &rl);
        }
    }
}

static GPid
pid_of (GSubprocess *proc)
{
  const char *id = g_subprocess_get_identifier (proc);

  return id != NULL ? (GPid) atoi (id) : 0;
}

/* ---- the server ---- */

/* ---- the server ---- */

static void
on_server_line (const char *line, gpointer data)
{
  Bench *b = data;

  if (strstr (line, "WARNING") != NULL || strstr (line, "CRITICAL") != NULL)
    b->server_warnings++;
  if (strstr (line, "audio for guest") != NULL && strstr (line, "failed") != NULL)
    b->server_media_failures++;
}

static gboolean
start_server (Bench *b, GError **error)
{
  g_autofree char *log = g_build_filename (b->tmp_dir, "server.log", NULL);
  const char *args[] = { "--music-dir", b->music_dir, "--max-guests", "100000",
                         "--max-rooms", "10", b->fanout != NULL ? "--webrtc-fanout" : NULL,
                         b->fanout, NULL };
  RcBenchServerOptions options = {
    .roomcast = b->o->roomcast, .extra_args = args, .log_path = log,
    .child_setup = child_setup, .child_setup_data = &server_setup_data,
    .on_line = on_server_line, .user_data = b,
  };

  b->server = rc_bench_server_start_with (&options, error);
  if (b->server == NULL)
    return FALSE;
  b->server_pid = rc_bench_server_get_pid (b->server);
  b->base_url = rc_bench_server_get_url (b->server);
  return TRUE;
}

static void
stop_server (Bench *b)
{
  if (b->server != NULL && !rc_bench_server_stop (b->server, 10))
    rc_bench_progress ("roomcast did not stop within 10 s of SIGTERM: killing it");
}

/* The first song of the library, once the scan has finished. */
static gboolean
find_song (Bench *b, GError **error)
{
  g_autoptr (JsonArray) songs = rc_bench_server_wait_library (b->server, 1, 30, error);
  JsonObject *song;

  if (songs == NULL)
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (error);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "the library has no song after 30 s (music dir %s)", b->music_dir);
        }
      return FALSE;
    }
  song = json_array_get_object_element (songs, 0);
  b->song_id = g_strdup (json_object_get_string_member (song, "id"));
  b->song_title = g_strdup (json_object_get_string_member_with_default (song, "title", "?"));
  return TRUE;
}

/* ---- the control connection ---- */

static void
on_control_message (JsonObject *o, gpointer user_data)
{
  Bench *b = user_data;
  const char *kind = json_object_get_string_member_with_default (o, "type", "");

  if (g_str_equal (kind, "initialState"))
    {
      rc_bench_control_send (b->control,
                             "{\"type\":\"addSong\",\"id\":\"c-add\",\"songId\":\"%s\"}",
                             b->song_id);
      rc_bench_control_send (b->control,
                             "{\"type\":\"setLoop\",\"id\":\"c-loop\",\"mode\":\"track\"}");
      rc_bench_control_send (b->control, "{\"type\":\"play\",\"id\":\"c-play\"}");
    }
  else if (g_str_equal (kind, "stateUpdate"))
    b->playing = json_object_get_boolean_member_with_default (o, "playing", FALSE);
}

static gboolean
playing_or_error (gpointer data)
{
  Bench *b = data;

  return b->playing || rc_bench_control_get_failure (b->control) != NULL
         || rc_bench_server_has_exited (b->server);
}

static gboolean
start_playing (Bench *b, GError **error)
{
  /* viewersUpdated (the whole list, on every join) and the rest: not read. */
  const char *types[] = { "stateUpdate", NULL };
  const char *failure;

  b->control = rc_bench_control_new (b->server, b->room_id, b->owner_token, on_control_message, b);
  rc_bench_control_only (b->control, types);
  if (!rc_bench_wait (playing_or_error, b, 15000) || !b->playing)
    {
      failure = rc_bench_control_get_failure (b->control);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the room did not start playing: %s",
                   failure != NULL ? failure : "no stateUpdate within 15 s");
      return FALSE;
    }
  return TRUE;
}

/* ---- the track ---- */

/* A tone over quiet pink noise, Opus in Ogg: something the room's encoder
 * must spend its bitrate on, as on music (a pure tone would make packets
 * smaller than music does). */
static gboolean
make_track (Bench *b, const char *path, GError **error)
{
  guint buffers = b->o->track_seconds * 10;
  g_autofree char *description = g_strdup_printf (
    "audiotestsrc wave=pink-noise volume=0.08 samplesperbuffer=4800 num-buffers=%u "
    "! audio/x-raw,rate=48000,channels=2 ! mix. "
    "audiotestsrc wave=sine freq=440 volume=0.2 samplesperbuffer=4800 num-buffers=%u "
    "! audio/x-raw,rate=48000,channels=2 ! mix. "
    "audiomixer name=mix ! audioconvert ! opusenc bitrate=128000 "
    "! oggmux "
    "! filesink name=out",
    buffers, buffers);
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, error);
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) message = NULL;

  if (pipeline == NULL)
    return FALSE;
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_object_set (sink, "location", path, NULL);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
                                        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (message == NULL || GST_MESSAGE_TYPE (message) != GST_MESSAGE_EOS)
    {
      g_autoptr (GError) e = NULL;

      if (message != NULL)
        gst_message_parse_error (message, &e, NULL);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write the track: %s",
                   e != NULL ? e->message : "timed out");
      return FALSE;
    }
  return TRUE;
}

/* ---- receivers ---- */

static void
on_receiver_line (GObject *source, GAsyncResult *result, gpointer data)
{
  Receiver *r = data;
  g_autoptr (GError) error = NULL;
  char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);

  if (line == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        r->eof = TRUE;
      return;
    }
  g_queue_push_tail (&r->lines, line);
  g_data_input_stream_read_line_async (r->out, G_PRIORITY_DEFAULT, NULL, on_receiver_line, r);
}

/* Takes failure reports out of the queue into the bench's list. */
static void
collect_failures (Bench *b, Receiver *r)
{
  for (GList *l = r->lines.head; l != NULL;)
    {
      GList *next = l->next;
      char *line = l->data;

      if (g_str_has_prefix (line, "fail "))
        {
          b->guest_failure_count++;
          if (b->guest_failures->len < 10)
            g_ptr_array_add (b->guest_failures, g_strdup (line + 5));
          g_free (line);
          g_queue_delete_link (&r->lines, l);
        }
      l = next;
    }
}

typedef struct
{
  Bench *b;
  Receiver *r;
  const char *prefix;
} LineWait;

static gboolean
has_line (gpointer data)
{
  LineWait *w = data;

  collect_failures (w->b, w->r);
  for (GList *l = w->r->lines.head; l != NULL; l = l->next)
    if (g_str_has_prefix (l->data, w->prefix))
      return TRUE;
  return w->r->eof;
}

/* The first reply of @r starting with @prefix (lines before it are
 * dropped), or NULL on timeout or when the receiver is gone. */
static char *
receiver_wait (Bench *b, Receiver *r, const char *prefix, double timeout_ms)
{
  LineWait w = { b, r, prefix };

  if (!rc_bench_wait (has_line, &w, timeout_ms))
    return NULL;
  while (!g_queue_is_empty (&r->lines))
    {
      char *line = g_queue_pop_head (&r->lines);

      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }
  return NULL;
}

static gboolean
receiver_send (Receiver *r, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
receiver_send (Receiver *r, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  return g_output_stream_write_all (r->in, text, strlen (text), NULL, NULL, NULL)
         && g_output_stream_flush (r->in, NULL, NULL);
}

static Receiver *
spawn_receiver (Bench *b, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  Receiver *r = g_new0 (Receiver, 1);
  g_autofree char *late = g_strdup_printf ("%g", b->o->late_ms);
  g_autofree char *timeout = g_strdup_printf ("%u", b->o->join_timeout_s);
  g_autofree char *log = NULL;
  g_autofree char *line = NULL;
  GPtrArray *argv = g_ptr_array_new ();

  r->name = g_strdup_printf ("r%u", b->receivers->len);
  log = g_strdup_printf ("%s/receiver-%s.log", b->tmp_dir, r->name);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, &receiver_setup_data, NULL);
  g_ptr_array_add (argv, b->self_exe);
  g_ptr_array_add (argv, "--receiver");
  g_ptr_array_add (argv, "--server");
  g_ptr_array_add (argv, (gpointer) b->base_url);
  g_ptr_array_add (argv, "--room");
  g_ptr_array_add (argv, b->room_id);
  g_ptr_array_add (argv, "--prefix");
  g_ptr_array_add (argv, r->name);
  g_ptr_array_add (argv, "--late-ms");
  g_ptr_array_add (argv, late);
  g_ptr_array_add (argv, "--join-timeout");
  g_ptr_array_add (argv, timeout);
  if (b->o->native)
    g_ptr_array_add (argv, "--native");
  if (b->o->decode)
    g_ptr_array_add (argv, "--decode");
  g_ptr_array_add (argv, NULL);
  r->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  g_ptr_array_free (argv, TRUE);
  if (r->proc == NULL)
    {
      g_free (r->name);
      g_free (r);
      return NULL;
    }
  r->pid = pid_of (r->proc);
  r->in = g_subprocess_get_stdin_pipe (r->proc);
  r->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (r->proc));
  g_data_input_stream_read_line_async (r->out, G_PRIORITY_DEFAULT, NULL, on_receiver_line, r);
  g_ptr_array_add (b->receivers, r);
  line = receiver_wait (b, r, "ready", 10000);
  if (line == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "receiver %s did not start (see %s)",
                   r->name, log);
      return NULL;
    }
  return r;
}

static gboolean
receiver_ended (gpointer data)
{
  return ((Receiver *) data)->eof;
}

static void
stop_receivers (Bench *b)
{
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);

      receiver_send (r, "quit\n");
      g_output_stream_close (r->in, NULL, NULL);
    }
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);
      rc_bench_wait (receiver_ended, r, 5000);
      g_subprocess_force_exit (r->proc);
      g_subprocess_wait (r->proc, NULL, NULL);
    }
}

/* ---- measuring ---- */

typedef struct
{
  gint64 at_us;
  RcBenchProc server;
  GHashTable *threads;
  GHashTable *client_threads; /* every receiver's threads (tids are unique) */
  guint64 client_ticks;       /* receivers and this process */
  guint64 machine_busy;
  guint64 machine_total;
  RcBenchUdp udp;
} Snap;

static void
snap_take (Bench *b, Snap *s, gboolean with_threads)
{
  RcBenchProc p;

  s->at_us = g_get_monotonic_time ();
  rc_bench_proc_read (b->server_pid, &s->server);
  s->threads = with_threads ? rc_bench_threads_read (b->server_pid) : NULL;
  s->client_threads =
    with_threads ? g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free) : NULL;
  s->client_ticks = 0;
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);

      if (rc_bench_proc_read (r->pid, &p))
        s->client_ticks += p.cpu_ticks;
      if (with_threads)
        {
          g_autoptr (GHashTable) t = rc_bench_threads_read (r->pid);
          GHashTableIter iter;
          gpointer key, value;

          g_hash_table_iter_init (&iter, t);
          while (g_hash_table_iter_next (&iter, &key, &value))
            {
              g_hash_table_iter_steal (&iter);
              g_hash_table_insert (s->client_threads, key, value);
            }
        }
    }
  if (rc_bench_proc_read (getpid (), &p))
    s->client_ticks += p.cpu_ticks;
  rc_bench_machine_read (&s->machine_busy, &s->machine_total);
  rc_bench_udp_read (&s->udp);
}

static void
snap_clear (Snap *s)
{
  g_clear_pointer (&s->threads, g_hash_table_unref);
  g_clear_pointer (&s->client_threads, g_hash_table_unref);
}

/* Percent of one core over the span between two snaps. */
static double
pct (guint64 ticks, const Snap *a, const Snap *z)
{
  double wall = (z->at_us - a->at_us) / 1e6;

  return wall > 0 ? 100.0 * rc_bench_ticks_to_s (ticks) / wall : 0;
}

static gboolean
server_alive (Bench *b)
{
  return !rc_bench_server_has_exited (b->server);
}

/* The next reply of @r (failure reports aside), or NULL. */
static char *
receiver_next (Bench *b, Receiver *r, double timeout_ms)
{
  return receiver_wait (b, r, "", timeout_ms);
}

/* Collects every receiver's per-guest figures into @level. All are asked
 * at once, so that their windows end together. */
static void
gather_stats (Bench *b, Window *w)
{
  double lost_sum = 0, late_sum = 0, pkts_sum = 0, due_sum = 0;
  guint guests = 0;

  for (guint i = 0; i < b->receivers->len; i++)
    receiver_send (g_ptr_array_index (b->receivers, i), "stats\n");
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);
      guint here = 0;
      char *line;

      while ((line = receiver_next (b, r, 30000)) != NULL)
        {
          g_auto (GStrv) f = g_strsplit (line, " ", -1);

          g_free (line);
          if (g_str_equal (f[0], "end"))
            {
              double window_us = f[1] != NULL ? g_ascii_strtod (f[1], NULL) : 0;

              due_sum += here * window_us / 20000.0;
              break;
            }
          if (g_strv_length (f) != 8 || !g_str_equal (f[0], "g"))
            continue;
          {
            guint64 pkts = g_ascii_strtoull (f[3], NULL, 10);
            guint64 lost = g_ascii_strtoull (f[4], NULL, 10);
            gint64 late = g_ascii_strtoll (f[5], NULL, 10);
            gint64 gap = g_ascii_strtoll (f[6], NULL, 10);
            gint64 max_late = g_ascii_strtoll (f[7], NULL, 10);

            here++;
            if (g_str_equal (f[2], "failed"))
              w->failed++;
            else if (pkts == 0)
              w->waiting++;
            if (pkts == 0)
              continue;
            w->with_audio++;
            pkts_sum += (double) pkts;
            lost_sum += (double) lost;
            w->lost_max = MAX (w->lost_max, lost);
            w->lost_guests += lost > 0;
            if (late >= 0)
              {
                late_sum += (double) late;
                w->late_max = MAX (w->late_max, (guint64) late);
                w->late_guests += late > 0;
              }
            w->worst_gap_ms = MAX (w->worst_gap_ms, gap / 1000.0);
            w->worst_late_ms = MAX (w->worst_late_ms, max_late / 1000.0);
          }
        }
      guests += here;
    }
  if (guests > 0)
    w->expected_per_guest = due_sum / guests;
  if (due_sum > 0)
    w->delivered_pct = 100.0 * pkts_sum / due_sum;
  if (w->with_audio > 0)
    {
      w->pkts_mean = pkts_sum / w->with_audio;
      w->lost_mean = lost_sum / w->with_audio;
      w->late_mean = b->o->native ? -1 : late_sum / w->with_audio;
    }
}

static void
send_marks (Bench *b)
{
  for (guint i = 0; i < b->receivers->len; i++)
    receiver_send (g_ptr_array_index (b->receivers, i), "mark\n");
  for (guint i = 0; i < b->receivers->len; i++)
    g_free (receiver_wait (b, g_ptr_array_index (b->receivers, i), "marked", 10000));
}

/* ---- one level ---- */

static Receiver *
least_loaded (Bench *b, GError **error)
{
  Receiver *best = NULL;

  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);

      if (r->guests < b->o->per_receiver && (best == NULL || r->guests < best->guests))
        best = r;
    }
  if (best == NULL)
    best = spawn_receiver (b, error);
  return best;
}

/* Adds @count guests as one batch, spread over the receivers; waits for
 * every one to settle. FALSE when the run cannot go on. */
static gboolean
join_batch (Bench *b, Level *level, guint count, GError **error)
{
  g_autoptr (GHashTable) asked = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) share = g_hash_table_new (g_direct_hash, g_direct_equal);
  GHashTableIter iter;
  gpointer key, value;

  /* Who takes how many: fill the least loaded receivers first. */
  for (guint i = 0; i < count; i++)
    {
      Receiver *r = least_loaded (b, error);

      if (r == NULL)
        return FALSE;
      r->guests++;
      g_hash_table_insert (share, r,
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (share, r)) + 1));
    }
  g_hash_table_iter_init (&iter, share);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Receiver *r = key;
      guint n = GPOINTER_TO_UINT (value);

      receiver_send (r, "add %u %u\n", n, r->guests - n);
      g_hash_table_add (asked, r);
    }
  g_hash_table_iter_init (&iter, asked);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Receiver *r = key;
      g_autofree char *line =
        receiver_wait (b, r, "added ", (b->o->join_timeout_s + 15) * 1000.0);
      guint ok = 0, failed = 0, timed_out = 0;
      double sum = 0, max = 0;

      if (line == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       rc_bench_interrupted () ? "interrupted"
                                               : "receiver %s did not answer \"add\"%s",
                       r->name, r->eof ? " (it exited)" : "");
          return FALSE;
        }
      if (sscanf (line, "added %u %u %u %lf %lf", &ok, &failed, &timed_out, &sum, &max) != 5)
        continue;
      level->join_ok += ok;
      level->join_failed += failed;
      level->join_timed_out += timed_out;
      level->setup_sum_ms += sum;
      level->setup_max_ms = MAX (level->setup_max_ms, max);
    }
  b->guests += count;
  return TRUE;
}

static void
note (Level *level, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
note (Level *level, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (level->note == NULL)
    level->note = g_steal_pointer (&text);
  else
    {
      char *joined = g_strdup_printf ("%s; %s", level->note, text);

      g_free (level->note);
      level->note = joined;
    }
}

/* One steady window: marks the receivers, reads the server and the
 * machine before and after, collects the guests' figures. FALSE (with a
 * note) when the run cannot go on. */
static gboolean
measure_window (Bench *b, Level *level, Window *w)
{
  Snap w0 = { 0 }, w1 = { 0 };

  send_marks (b);
  snap_take (b, &w0, TRUE);
  rc_bench_wait (NULL, NULL, b->o->window_s * 1000);
  snap_take (b, &w1, TRUE);
  if (rc_bench_interrupted ())
    {
      note (level, "interrupted during the window: not measured");
      snap_clear (&w0);
      snap_clear (&w1);
      return FALSE;
    }
  if (!server_alive (b) || !w1.server.ok)
    {
      note (level, "roomcast exited (status %d) during the window",
            rc_bench_server_get_status (b->server));
      snap_clear (&w0);
      snap_clear (&w1);
      return FALSE;
    }
  w->measured = TRUE;
  w->present = b->guests;
  w->window_s = (w1.at_us - w0.at_us) / 1e6;
  w->server_pct = pct (w1.server.cpu_ticks - w0.server.cpu_ticks, &w0, &w1);
  w->server_cpu_per_s = w->server_pct / 100.0;
  w->client_pct = pct (w1.client_ticks - w0.client_ticks, &w0, &w1);
  w->other_pct = pct (w1.machine_busy - w0.machine_busy, &w0, &w1) - w->server_pct - w->client_pct;
  w->rss_kib = w1.server.rss_kib;
  w->threads = w1.server.threads;
  w->thread_groups = rc_bench_threads_diff (w0.threads, w1.threads);
  w->client_thread_groups = rc_bench_threads_diff (w0.client_threads, w1.client_threads);
  w->udp.in_datagrams = w1.udp.in_datagrams - w0.udp.in_datagrams;
  w->udp.out_datagrams = w1.udp.out_datagrams - w0.udp.out_datagrams;
  w->udp.no_ports = w1.udp.no_ports - w0.udp.no_ports;
  w->udp.in_errors = w1.udp.in_errors - w0.udp.in_errors;
  w->udp.rcvbuf_errors = w1.udp.rcvbuf_errors - w0.udp.rcvbuf_errors;
  w->udp.sndbuf_errors = w1.udp.sndbuf_errors - w0.udp.sndbuf_errors;
  snap_clear (&w0);
  snap_clear (&w1);
  gather_stats (b, w);
  return TRUE;
}

/* Joins up to @n guests and measures. FALSE when the run must stop. */
static gboolean
run_level (Bench *b, Level *level, const Level *previous)
{
  g_autoptr (GError) error = NULL;
  Snap j0 = { 0 }, j1 = { 0 };
  guint to_add = level->n > b->guests ? level->n - b->guests : 0;
  gboolean go_on = TRUE;
  guint failures_before = b->guest_failure_count;

  rc_bench_progress ("N=%u: joining %u guests in batches of %u", level->n, to_add, b->o->batch);
  /* Receivers that this level needs are started before the join is timed. */
  while (b->receivers->len * b->o->per_receiver < level->n)
    if (spawn_receiver (b, &error) == NULL)
      {
        note (level, "%s", error->message);
        return FALSE;
      }

  snap_take (b, &j0, TRUE);
  level->added = to_add;
  for (guint done = 0; done < to_add;)
    {
      guint count = MIN (b->o->batch, to_add - done);
      guint bad_before = level->join_failed + level->join_timed_out;

      if (g_get_monotonic_time () > b->deadline_us)
        {
          note (level, "time budget spent after %u of %u joins", done, to_add);
          go_on = FALSE;
          break;
        }
      if (!join_batch (b, level, count, &error))
        {
          note (level, "%s", error->message);
          go_on = FALSE;
          break;
        }
      done += count;
      if (!server_alive (b))
        break;
      /* Most of a batch failing: the server is past what it can take. */
      if ((level->join_failed + level->join_timed_out) - bad_before > count / 2)
        {
          note (level, "more than half of a batch failed to get audio; joins stopped at %u",
                b->guests);
          go_on = FALSE;
          break;
        }
    }
  snap_take (b, &j1, TRUE);
  level->join_thread_groups = rc_bench_threads_diff (j0.threads, j1.threads);
  snap_clear (&j0);
  snap_clear (&j1);
  level->join_wall_s = (j1.at_us - j0.at_us) / 1e6;
  level->join_cpu_s = rc_bench_ticks_to_s (j1.server.cpu_ticks - j0.server.cpu_ticks);
  if (level->join_failed + level->join_timed_out > 0)
    note (level, "%u joins failed, %u timed out (no RTP within %u s)", level->join_failed,
          level->join_timed_out, b->o->join_timeout_s);
  if (!server_alive (b))
    {
      note (level, "roomcast exited (status %d) while guests joined",
            rc_bench_server_get_status (b->server));
      return FALSE;
    }
  rc_bench_progress ("N=%u: %u joined with audio in %.1f s; settling %.0f s, measuring %.0f s",
                     level->n, level->join_ok, level->join_wall_s, b->o->settle_s, b->o->window_s);

  rc_bench_wait (NULL, NULL, b->o->settle_s * 1000);
  /* Other people's work shares the machine: a disturbed window is
   * measured again (the guests stay), and the least disturbed one kept. */
  for (guint attempt = 0; attempt <= b->o->retries; attempt++)
    {
      Window w = { 0 };

      if (attempt > 0)
        {
          if (g_get_monotonic_time () > b->deadline_us)
            break;
          rc_bench_wait (NULL, NULL, 5000);
        }
      if (!measure_window (b, level, &w))
        return FALSE;
      if (w.other_pct > DISTURBED_PCT && attempt < b->o->retries)
        rc_bench_progress ("N=%u: other processes took %.0f%% of one core; measuring again",
                           level->n, w.other_pct);
      level->attempts++;
      if (!level->w.measured || w.other_pct < level->w.other_pct)
        {
          window_clear (&level->w);
          level->w = w;
        }
      else
        window_clear (&w);
      if (level->w.other_pct <= DISTURBED_PCT)
        break;
    }
  if (level->w.other_pct > DISTURBED_PCT)
    note (level, "other processes took %.0f%% of one core during the window (the least of %u "
          "attempts): the figures are disturbed", level->w.other_pct, level->attempts);
  if (b->guest_failure_count > failures_before)
    note (level, "%u guest failures reported so far (first: %s)", b->guest_failure_count,
          (const char *) g_ptr_array_index (b->guest_failures, 0));
  {
    g_autofree char *late = b->o->native ? g_strdup ("n/a")
                                         : g_strdup_printf ("%.2f", level->w.late_mean);

    rc_bench_progress ("N=%u: server %.1f%% CPU, %.1f MiB, %u threads; %u/%u guests with audio, "
                       "lost %.2f/guest, late %s/guest",
                       level->n, level->w.server_pct, level->w.rss_kib / 1024.0, level->w.threads,
                       level->w.with_audio, b->guests, level->w.lost_mean, late);
  }
  (void) previous;
  return go_on;
}

/* ---- output ---- */

static char *
loadavg (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  return g_strstrip (g_strdup (text));
}

static double
per_guest (double value, double baseline, const Level *l)
{
  return l->w.present > 0 ? (value - baseline) / l->w.present : 0;
}

static void
report_head (Bench *b, GString *out, const char *title, const char *command_line)
{
  g_autofree char *machine = rc_bench_machine_describe_full (TRUE, gst_version_string ());
  g_autofree char *load = loadavg ();

  g_string_append_printf (out, "## %s\n\n", title);
  g_string_append_printf (out, "- command: `%s`\n", command_line);
  g_string_append_printf (out, "- machine: %s\n", machine);
  g_string_append_printf (out, "- machine busy before the run (3 s): %.0f%% of one core; load "
                               "average at the end: %s\n",
                          b->busy_before_pct, load);
}

static void
report (Bench *b, GString *out, const char *command_line)
{
  const Level *prev = NULL;

  report_head (b, out, "bench-fanout results", command_line);
  g_string_append_printf (out,
                          "- guests: %s, %u per receiver process, joined in batches of %u; "
                          "window %.0f s after %.0f s of settling; late = more than %.0f ms "
                          "behind the guest's best transit\n",
                          b->o->native ? "RcNativeGuest (webrtcbin + Opus decode to PCM)"
                          : b->o->decode ? "light (webrtcbin + rtpopusdepay ! opusdec ! fakesink)"
                                         : "light (webrtcbin ! fakesink, no decode)",
                          b->o->per_receiver, b->o->batch, b->o->window_s, b->o->settle_s,
                          b->o->late_ms);
  if (b->o->server_cpus != NULL || b->o->receiver_cpus != NULL || b->o->receiver_nice > 0)
    g_string_append_printf (out, "- server pinned to CPUs %s; receivers pinned to CPUs %s, nice %d\n",
                            b->o->server_cpus != NULL ? b->o->server_cpus : "(any)",
                            b->o->receiver_cpus != NULL ? b->o->receiver_cpus : "(any)",
                            b->o->receiver_nice);
  g_string_append_printf (out, "- track: \"%s\" (tone over pink noise, Opus 128 kb/s in Ogg), "
                               "loop track\n",
                          b->song_title != NULL ? b->song_title : "?");
  g_string_append_printf (out,
                          "- empty room (playing, control connection only): %.1f%% CPU, "
                          "%.1f MiB RSS, %u threads\n\n",
                          b->baseline_pct, b->baseline.rss_kib / 1024.0, b->baseline.threads);

  g_string_append (out, "CPU is percent of one core (the machine has 200%). RSS and threads "
                        "per guest are the growth over the empty room divided by N. "
                        "CPU/join is the server CPU spent while a level's guests joined, "
                        "divided by them; \"net\" subtracts the streaming cost of the guests "
                        "already there (the mean of the steady rates before and after).\n\n");
  g_string_append (out, "| N | server CPU % | CPU %/guest | RSS MiB | RSS KiB/guest | threads "
                        "| threads/guest | join s | CPU/join ms | net CPU/join ms |\n");
  g_string_append (out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (guint i = 0; i < b->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (b->levels, i);
      double prev_rate = prev != NULL ? prev->w.server_cpu_per_s : b->baseline_pct / 100.0;
      double net = l->added > 0 && l->w.measured
                     ? (l->join_cpu_s - (prev_rate + l->w.server_cpu_per_s) / 2 * l->join_wall_s)
                         / l->added * 1000
                     : 0;

      if (!l->w.measured)
        {
          g_string_append_printf (out, "| %u | — | — | — | — | — | — | %.1f | %s | — |\n", l->n,
                                  l->join_wall_s, l->added > 0 ? "—" : "—");
          continue;
        }
      g_string_append_printf (
        out, "| %u | %.1f | %.2f | %.1f | %.0f | %u | %.1f | %.1f | %.0f | %.0f |\n", l->n,
        l->w.server_pct, per_guest (l->w.server_pct, b->baseline_pct, l), l->w.rss_kib / 1024.0,
        per_guest ((double) l->w.rss_kib, (double) b->baseline.rss_kib, l), l->w.threads,
        per_guest ((double) l->w.threads, (double) b->baseline.threads, l), l->join_wall_s,
        l->added > 0 ? l->join_cpu_s / l->added * 1000 : 0, net);
      prev = l;
    }

  g_string_append_printf (
    out,
    "\nPer guest over the %.0f s window. Delivered = packets received / packets due (one per "
    "20 ms of each receiver's window) over all guests; lost = sequence gaps; late = packets "
    "more than %.0f ms behind their slot; mean and max are across the guests that received "
    "audio, (n) = how many guests had any. Setup = from creating a guest to its first RTP "
    "packet. UDP drops are the kernel's RcvbufErrors and SndbufErrors over the window "
    "(/proc/net/snmp, the whole machine): a full socket buffer, as opposed to a packet the "
    "server never sent. \"clients\" is the receivers' CPU plus this program's; \"other\" is everything "
    "else the machine ran (other users' work included).\n\n",
    b->o->window_s, b->o->late_ms);
  g_string_append (out, "| N | with audio | setup ms mean / max | delivered % | lost mean / "
                        "max (guests) | late mean / max (guests) | worst late ms | worst gap ms "
                        "| UDP drops rcv / snd | clients CPU % | other CPU % |\n");
  g_string_append (out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (guint i = 0; i < b->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (b->levels, i);
      g_autofree char *late = NULL;
      g_autofree char *worst_late = NULL;

      if (!l->w.measured)
        {
          g_string_append_printf (out, "| %u | not measured | | | | | | | | | |\n", l->n);
          continue;
        }
      late = b->o->native ? g_strdup ("n/a")
                          : g_strdup_printf ("%.2f / %" G_GUINT64_FORMAT " (%u)", l->w.late_mean,
                                             l->w.late_max, l->w.late_guests);
      worst_late = b->o->native ? g_strdup ("n/a") : g_strdup_printf ("%.0f", l->w.worst_late_ms);
      g_string_append_printf (out,
                              "| %u | %u / %u | %.0f / %.0f | %.1f | %.2f / %" G_GUINT64_FORMAT
                              " (%u) | %s | %s | %.0f | %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT
                              " | %.0f | %.0f |\n",
                              l->n, l->w.with_audio, l->w.present,
                              l->join_ok > 0 ? l->setup_sum_ms / l->join_ok : 0, l->setup_max_ms,
                              l->w.delivered_pct, l->w.lost_mean, l->w.lost_max, l->w.lost_guests, late,
                              worst_late, l->w.worst_gap_ms, l->w.udp.rcvbuf_errors,
                              l->w.udp.sndbuf_errors, l->w.client_pct, l->w.other_pct);
    }

  g_string_append (out, "\nWhere the server's CPU went during each window (threads grouped by "
                        "name, digits folded to #; % of one core):\n\n");
  for (guint i = 0; i < b->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (b->levels, i);

      if (!l->w.measured || l->w.thread_groups == NULL)
        continue;
      g_string_append_printf (out, "- N=%u:", l->n);
      for (guint k = 0; k < l->w.thread_groups->len && k < b->o->top_threads; k++)
        {
          const RcBenchThreadGroup *g = g_ptr_array_index (l->w.thread_groups, k);

          g_string_append_printf (out, "%s `%s` ×%u %.1f%%", k == 0 ? "" : ",", g->name,
                                  g->threads,
                                  100.0 * rc_bench_ticks_to_s (g->cpu_ticks) / l->w.window_s);
        }
      g_string_append (out, "\n");
      if (l->join_thread_groups != NULL && l->added > 0)
        {
          g_string_append_printf (out, "  - while its %u guests joined (ms of server CPU per join):",
                                  l->added);
          for (guint k = 0; k < l->join_thread_groups->len && k < 5; k++)
            {
              const RcBenchThreadGroup *g = g_ptr_array_index (l->join_thread_groups, k);

              g_string_append_printf (out, "%s `%s` %.1f", k == 0 ? "" : ",", g->name,
                                      1000.0 * rc_bench_ticks_to_s (g->cpu_ticks) / l->added);
            }
          g_string_append (out, "\n");
        }
      if (l->w.client_thread_groups != NULL && l->w.client_thread_groups->len > 0)
        {
          g_string_append (out, "  - receivers:");
          for (guint k = 0; k < l->w.client_thread_groups->len && k < 4; k++)
            {
              const RcBenchThreadGroup *g = g_ptr_array_index (l->w.client_thread_groups, k);

              g_string_append_printf (out, "%s `%s` ×%u %.1f%%", k == 0 ? "" : ",", g->name,
                                      g->threads,
                                      100.0 * rc_bench_ticks_to_s (g->cpu_ticks) / l->w.window_s);
            }
          g_string_append (out, "\n");
        }
    }

  g_string_append (out, "\nNotes:\n\n");
  for (guint i = 0; i < b->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (b->levels, i);

      if (l->note != NULL)
        g_string_append_printf (out, "- N=%u: %s\n", l->n, l->note);
    }
  for (guint i = 0; i < b->cycles->len; i++)
    {
      const Cycle *c = &g_array_index (b->cycles, Cycle, i);

      g_autofree char *drain =
        c->drain_s >= 0 ? g_strdup_printf ("back to the empty room's count (+2) after %.1f s",
                                           c->drain_s)
                        : g_strdup ("NOT back to the empty room's count after 60 s");

      g_string_append_printf (out,
                              "- leave cycle %u: after %u guests left, the server had %u threads "
                              "5 s later, %s (slowest GET /health meanwhile: %.0f ms); then "
                              "%.1f MiB RSS (empty room: %.1f), %u threads (empty room: %u), "
                              "/health guests %u (the control connection is one)\n",
                              i + 1, c->guests, c->threads_at_5s, drain, c->health_max_ms,
                              c->after.rss_kib / 1024.0, b->baseline.rss_kib / 1024.0,
                              c->after.threads, b->baseline.threads, c->health_guests);
    }
  g_string_append_printf (out, "- server log: %u WARNING/CRITICAL lines, %u \"audio for guest "
                               "... failed\" lines%s\n",
                          b->server_warnings, b->server_media_failures,
                          rc_bench_server_died (b->server)
                            ? " — roomcast exited before the end of the run"
                            : "");
  if (b->guest_failure_count > 0)
    {
      g_string_append_printf (out, "- %u guest failures; the first:\n", b->guest_failure_count);
      for (guint i = 0; i < b->guest_failures->len; i++)
        g_string_append_printf (out, "  - %s\n",
                                (const char *) g_ptr_array_index (b->guest_failures, i));
    }
}

/* ---- leave check ---- */

static guint
health_guests (Bench *b)
{
  guint status = 0;
  g_autoptr (JsonNode) reply =
    rc_bench_server_request (b->server, "GET", "/health", NULL, NULL, &status, NULL);

  if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply))
    return G_MAXUINT;
  return (guint) json_object_get_int_member_with_default (json_node_get_object (reply), "guests",
                                                          -1);
}

/* Every guest leaves; the server is read 5 s later. Then, for the next
 * cycle, as many guests join again. A server that gives back what guests
 * took shows the same RSS and threads after every cycle; one that leaks
 * grows by about the same amount each time. */
static void
leave_cycles (Bench *b)
{
  guint count = b->guests;

  for (guint c = 0; c < b->o->leave_cycles && !rc_bench_interrupted () && server_alive (b); c++)
    {
      Cycle cycle = { .guests = b->guests };

      rc_bench_progress ("cycle %u/%u: %u guests leave; reading the server 5 s later", c + 1,
                         b->o->leave_cycles, b->guests);
      for (guint i = 0; i < b->receivers->len; i++)
        receiver_send (g_ptr_array_index (b->receivers, i), "leave\n");
      for (guint i = 0; i < b->receivers->len; i++)
        {
          Receiver *r = g_ptr_array_index (b->receivers, i);

          g_free (receiver_wait (b, r, "left", 60000));
          r->guests = 0;
        }
      b->guests = 0;
      {
        gint64 left_us = g_get_monotonic_time ();
        RcBenchProc now;

        cycle.drain_s = -1;
        while (server_alive (b) && !rc_bench_interrupted ()
               && g_get_monotonic_time () - left_us < (gint64) 60 * G_USEC_PER_SEC)
          {
            double since = (g_get_monotonic_time () - left_us) / 1e6;

            if (!rc_bench_proc_read (b->server_pid, &now))
              break;
            {
              gint64 t0 = g_get_monotonic_time ();

              health_guests (b);
              cycle.health_max_ms =
                MAX (cycle.health_max_ms, (g_get_monotonic_time () - t0) / 1000.0);
            }
            if (since >= 5 && cycle.threads_at_5s == 0)
              cycle.threads_at_5s = now.threads;
            if (cycle.drain_s < 0 && now.threads <= b->baseline.threads + 2)
              cycle.drain_s = since;
            if (cycle.drain_s >= 0 && cycle.threads_at_5s > 0)
              break;
            rc_bench_wait (NULL, NULL, 250);
          }
      }
      rc_bench_wait (NULL, NULL, 2000);
      if (!server_alive (b))
        break;
      rc_bench_proc_read (b->server_pid, &cycle.after);
      cycle.health_guests = health_guests (b);
      g_array_append_val (b->cycles, cycle);
      if (c + 1 < b->o->leave_cycles && g_get_monotonic_time () > b->deadline_us)
        {
          rc_bench_progress ("the time budget is spent: no more leave cycles");
          break;
        }
      if (c + 1 < b->o->leave_cycles)
        {
          Level scratch = { 0 };
          g_autoptr (GError) error = NULL;

          rc_bench_progress ("cycle %u/%u: %u guests join again", c + 2, b->o->leave_cycles, count);
          for (guint done = 0; done < count; done += b->o->batch)
            if (!join_batch (b, &scratch, MIN (b->o->batch, count - done), &error))
              {
                rc_bench_progress ("rejoining failed: %s", error->message);
                return;
              }
          rc_bench_wait (NULL, NULL, b->o->settle_s * 1000);
          g_free (scratch.note);
        }
    }
}

/* ---- --transport ws ---- */

static gboolean
is_ws (const Options *o)
{
  return o->transport != NULL && g_str_equal (o->transport, "ws");
}

/* --transport webrtc: through roomcast-loadgen (rc_bench_webrtc.c). */
static gboolean
is_webrtc (const Options *o)
{
  return o->transport != NULL && g_str_equal (o->transport, "webrtc");
}

static gboolean
uses_loadgen (const Options *o)
{
  return is_ws (o) || is_webrtc (o);
}

static void
stop_server_cb (gpointer data)
{
  stop_server (data);
}

static RcBenchSideOptions
side_options (Bench *b)
{
  RcBenchSideOptions common = {
    .loadgen = b->o->loadgen, .tmp_dir = b->tmp_dir, .window_s = b->o->window_s,
    .settle_s = b->o->settle_s, .late_ms = b->o->late_ms, .join_rate = b->o->join_rate,
    .join_timeout_s = b->o->join_timeout_s, .deadline_us = b->deadline_us,
    .loadgen_setup = child_setup, .loadgen_setup_data = &receiver_setup_data,
  };

  return common;
}

/* The WebSocket levels and Icecast beside them (rc_bench_ws.c). */
static gboolean
run_ws (Bench *b, GArray *levels, GString *out)
{
  RcBenchWsOptions wo = {
    .common = side_options (b), .server = b->server, .room_id = b->room_id,
    .baseline = b->baseline, .baseline_pct = b->baseline_pct,
    .levels = (const guint *) (gpointer) levels->data, .n_levels = levels->len,
    .icecast = !b->o->no_icecast, .server_setup = child_setup,
    .server_setup_data = &server_setup_data, .stop_server = stop_server_cb, .stop_data = b,
  };

  return rc_bench_ws_run (&wo, out);
}

/* The webrtcbin side's server: this one stopped, another started with
 * --webrtc-fanout @fanout, a room playing in it. */
static gboolean
restart_server_cb (gpointer data, const char *fanout, RcBenchServer **server,
                   const char **room_id, GError **error)
{
  Bench *b = data;

  g_clear_pointer (&b->control, rc_bench_control_free);
  stop_server (b);
  g_clear_pointer (&b->server, rc_bench_server_free);
  g_clear_pointer (&b->room_id, g_free);
  g_clear_pointer (&b->owner_token, g_free);
  g_clear_pointer (&b->song_id, g_free);
  g_clear_pointer (&b->song_title, g_free);
  b->playing = FALSE;
  b->fanout = fanout;
  if (!start_server (b, error) || !find_song (b, error)
      || !rc_bench_server_create_room (b->server, "bench-fanout", &b->room_id, &b->owner_token,
                                       error)
      || !start_playing (b, error))
    return FALSE;
  *server = b->server;
  *room_id = b->room_id;
  return TRUE;
}

/* The engine, webrtcbin and Janus through the loadgen (rc_bench_webrtc.c). */
static gboolean
run_webrtc (Bench *b, GArray *levels, GArray *bin_levels, GString *out)
{
  RcBenchWebrtcOptions wo = {
    .common = side_options (b), .server = b->server, .room_id = b->room_id,
    .baseline = b->baseline, .baseline_pct = b->baseline_pct,
    .levels = (const guint *) (gpointer) levels->data, .n_levels = levels->len,
    .webrtcbin_levels = (const guint *) (gpointer) bin_levels->data,
    .n_webrtcbin_levels = bin_levels->len, .janus = !b->o->no_janus,
    .churn_rate = b->o->churn_rate, .server_setup = child_setup,
    .server_setup_data = &server_setup_data, .restart_server = restart_server_cb,
    .stop_server = stop_server_cb, .server_data = b,
  };

  return rc_bench_webrtc_run (&wo, out);
}

static void
report_ws (Bench *b, GString *out, const char *command_line, GString *tables)
{
  report_head (b, out,
               is_webrtc (b->o) ? "bench-fanout --transport webrtc results"
                                : "bench-fanout --transport ws results",
               command_line);
  g_string_append_printf (out, "- servers pinned to CPUs %s; the load generator (one "
                               "roomcast-loadgen process, one thread) to CPUs %s\n",
                          b->o->server_cpus != NULL ? b->o->server_cpus : "(any)",
                          b->o->receiver_cpus != NULL ? b->o->receiver_cpus : "(any)");
  g_string_append_printf (out, "- window %.0f s after %.0f s of settling; listeners started at "
                               "%u/s; late = more than %.0f ms behind the slot\n",
                          b->o->window_s, b->o->settle_s, b->o->join_rate, b->o->late_ms);
  if (is_webrtc (b->o))
    g_string_append_printf (out, "- roomcast room playing \"%s\" (tone over pink noise), Opus "
                                 "128 kb/s 20 ms; Janus's mountpoint: the same sound from a live "
                                 "sender in this process (opusenc 128 kb/s 20 ms, rtpopuspay, "
                                 "UDP); server-added latency: the engine's own, from the room "
                                 "packet's tap to its sendmmsg (room stats, webrtc member)\n\n",
                            b->song_title != NULL ? b->song_title : "?");
  else
    g_string_append_printf (out, "- roomcast room playing \"%s\" (tone over pink noise), Opus "
                                 "128 kb/s 20 ms; Icecast's mount: the same sound from a live "
                                 "source in this process (opusenc 128 kb/s 20 ms, oggmux 20 ms "
                                 "pages, shout2send)\n\n",
                            b->song_title != NULL ? b->song_title : "?");
  g_string_append (out, "CPU is percent of one core. Per-listener figures are the growth over "
                        "the server with no listener, divided by N. Join CPU is the server's "
                        "CPU while a level's listeners joined, per listener; \"net\" takes off "
                        "the streaming cost of those already there. \"to audio\" is connect to "
                        "first frame (page, packet).\n\n");
  g_string_append_len (out, tables->str, (gssize) tables->len);
}

/* ---- main ---- */

static gboolean
parse_levels (const char *text, GArray *levels)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  guint last = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 v;

      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, 100000, &v, NULL) || v <= last)
        return FALSE;
      last = (guint) v;
      g_array_append_val (levels, last);
    }
  return levels->len > 0;
}

static int
run_receiver (int argc, char **argv)
{
  g_autofree char *server = NULL, *room = NULL, *prefix = NULL;
  gboolean native = FALSE, decode = FALSE, receiver = FALSE;
  double late_ms = 60;
  int join_timeout = 40;
  GOptionEntry entries[] = {
    { "receiver", 0, 0, G_OPTION_ARG_NONE, &receiver, "", NULL },
    { "server", 0, 0, G_OPTION_ARG_STRING, &server, "", NULL },
    { "room", 0, 0, G_OPTION_ARG_STRING, &room, "", NULL },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "", NULL },
    { "native", 0, 0, G_OPTION_ARG_NONE, &native, "", NULL },
    { "decode", 0, 0, G_OPTION_ARG_NONE, &decode, "", NULL },
    { "late-ms", 0, 0, G_OPTION_ARG_DOUBLE, &late_ms, "", NULL },
    { "join-timeout", 0, 0, G_OPTION_ARG_INT, &join_timeout, "", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  RcBenchReceiverOptions options = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || server == NULL || room == NULL)
    {
      g_printerr ("bench-fanout --receiver: %s\n",
                  error != NULL ? error->message : "--server and --room are required");
      return 2;
    }
  gst_init (NULL, NULL);
  options.server_url = server;
  options.room_id = room;
  options.prefix = prefix != NULL ? prefix : "g";
  options.native = native;
  options.decode = decode;
  options.late_us = (gint64) (late_ms * 1000);
  options.join_timeout_s = (guint) MAX (join_timeout, 1);
  return rc_bench_receiver_run (&options);
}

int
main (int argc, char **argv)
{
  Options o = {
    .window_s = 10,
    .settle_s = 3,
    .batch = 10,
    .per_receiver = 50,
    .join_timeout_s = 40,
    .late_ms = 60,
    .max_seconds = 600,
    .track_seconds = 900,
    .top_threads = 6,
  };
  int window = 10, settle = 3, batch = 10, per_receiver = 50, join_timeout = 40;
  int max_seconds = 600, track_seconds = 900, top_threads = 6, n_cycles = 2, retries = 2;
  int join_rate = 500, churn_rate = 50;
  gboolean receiver = FALSE;
  GOptionEntry entries[] = {
    { "levels", 'n', 0, G_OPTION_ARG_STRING, &o.levels,
      "Guest counts to measure, rising (default 10,50,100,200)", "N,N,..." },
    { "window", 'w', 0, G_OPTION_ARG_INT, &window, "Seconds of steady measuring per level (10)",
      "S" },
    { "settle", 0, 0, G_OPTION_ARG_INT, &settle, "Seconds to wait after joins before measuring (3)",
      "S" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Guests joining at once (10)", "N" },
    { "guests-per-receiver", 0, 0, G_OPTION_ARG_INT, &per_receiver,
      "Guests per receiver process (50)", "N" },
    { "join-timeout", 0, 0, G_OPTION_ARG_INT, &join_timeout,
      "Seconds a guest may take to get its first packet (40)", "S" },
    { "late-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.late_ms,
      "A packet this much behind its slot is late (60)", "MS" },
    { "max-seconds", 0, 0, G_OPTION_ARG_INT, &max_seconds,
      "Time budget: no new joins after this (600)", "S" },
    { "track-seconds", 0, 0, G_OPTION_ARG_INT, &track_seconds,
      "Length of the generated track; it loops (900)", "S" },
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &o.roomcast,
      "The server binary (default: roomcast beside this program's build dir)", "PATH" },
    { "music-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.music_dir,
      "Use this folder's first song instead of generating a track", "DIR" },
    { "native", 0, 0, G_OPTION_ARG_NONE, &o.native,
      "Guests are RcNativeGuest (decode to PCM; no late count)", NULL },
    { "decode", 0, 0, G_OPTION_ARG_NONE, &o.decode, "Light guests decode the Opus too", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Also write the tables to FILE", "FILE" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &o.keep, "Keep the temporary folder (logs, track)", NULL },
    { "leave-cycles", 0, 0, G_OPTION_ARG_INT, &n_cycles,
      "After the levels: times every guest leaves (and, but the last, joins again), "
      "reading the server each time (2; 0 skips it)", "N" },
    { "receiver-nice", 0, 0, G_OPTION_ARG_INT, &o.receiver_nice,
      "Nice value of the receiver processes (0; 10 gives the server the CPU first)", "N" },
    { "server-cpus", 0, 0, G_OPTION_ARG_STRING, &o.server_cpus,
      "Pin the server to these CPUs (e.g. 0)", "LIST" },
    { "receiver-cpus", 0, 0, G_OPTION_ARG_STRING, &o.receiver_cpus,
      "Pin the receivers to these CPUs (e.g. 1)", "LIST" },
    { "retries", 0, 0, G_OPTION_ARG_INT, &retries,
      "Measure a window again, up to N times, when other processes disturbed it (2)", "N" },
    { "wait-quiet", 0, 0, G_OPTION_ARG_INT, &o.wait_quiet_s,
      "Before starting, wait up to S seconds for the machine to be under 25% busy (0)", "S" },
    { "top-threads", 0, 0, G_OPTION_ARG_INT, &top_threads, "Thread groups listed per level (6)",
      "N" },
    { "transport", 't', 0, G_OPTION_ARG_STRING, &o.transport,
      "receivers (WebRTC guests in receiver processes, the default), webrtc (WebRTC guests "
      "from one roomcast-loadgen: the engine, then webrtcbin, then Janus, in the same run) "
      "or ws (WebSocket guests from one roomcast-loadgen, then Icecast's HTTP listeners)", "T" },
    { "loadgen", 0, 0, G_OPTION_ARG_FILENAME, &o.loadgen,
      "--transport ws: the roomcast-loadgen program (default: beside this one)", "PATH" },
    { "no-icecast", 0, 0, G_OPTION_ARG_NONE, &o.no_icecast,
      "--transport ws: leave the Icecast side out", NULL },
    { "join-rate", 0, 0, G_OPTION_ARG_INT, &join_rate,
      "--transport ws/webrtc: listeners started per second (500)", "N" },
    { "webrtcbin-levels", 0, 0, G_OPTION_ARG_STRING, &o.webrtcbin_levels,
      "--transport webrtc: the webrtcbin side's guest counts (50,100,200,400; none: no side)",
      "N,N,..." },
    { "no-janus", 0, 0, G_OPTION_ARG_NONE, &o.no_janus, "--transport webrtc: leave Janus out",
      NULL },
    { "churn-rate", 0, 0, G_OPTION_ARG_INT, &churn_rate,
      "--transport webrtc: joins per second of the row \"joins while N listen\" (50; 0: none)",
      "N" },
    { "receiver", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &receiver, "", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) levels = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *command_line = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  Bench bench = { 0 }, *b = &bench;
  g_autoptr (GString) ws_out = NULL;
  g_autoptr (GArray) bin_levels = g_array_new (FALSE, FALSE, sizeof (guint));

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--receiver"))
      return run_receiver (argc, argv);

  command_line = g_strjoinv (" ", argv);
  context = g_option_context_new ("- WebRTC fan-out benchmark of one roomcast room");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-fanout: %s\n", error->message);
      return 2;
    }
  o.window_s = MAX (window, 1);
  o.settle_s = MAX (settle, 0);
  o.batch = (guint) MAX (batch, 1);
  o.per_receiver = (guint) MAX (per_receiver, 1);
  o.join_timeout_s = (guint) MAX (join_timeout, 5);
  o.max_seconds = (guint) MAX (max_seconds, 30);
  o.track_seconds = (guint) MAX (track_seconds, 30);
  o.top_threads = (guint) MAX (top_threads, 1);
  o.leave_cycles = (guint) CLAMP (n_cycles, 0, 10);
  o.retries = (guint) CLAMP (retries, 0, 10);
  receiver_setup_data.nice = o.receiver_nice;
  if ((o.server_cpus != NULL
       && !(server_setup_data.pin = parse_cpus (o.server_cpus, &server_setup_data.cpus)))
      || (o.receiver_cpus != NULL
          && !(receiver_setup_data.pin = parse_cpus (o.receiver_cpus, &receiver_setup_data.cpus))))
    {
      g_printerr ("bench-fanout: --server-cpus and --receiver-cpus want CPU lists, e.g. 0 or 0-1\n");
      return 2;
    }
  o.receiver_nice = CLAMP (o.receiver_nice, 0, 19);
  o.join_rate = (guint) MAX (join_rate, 1);
  o.churn_rate = (guint) MAX (churn_rate, 0);
  if (o.transport != NULL && g_str_equal (o.transport, "receivers"))
    g_clear_pointer (&o.transport, g_free);
  if (o.transport != NULL && !is_webrtc (&o) && !is_ws (&o))
    {
      g_printerr ("bench-fanout: --transport is receivers, webrtc or ws\n");
      return 2;
    }
  if (!parse_levels (o.levels != NULL ? o.levels
                     : is_ws (&o)   ? "1000,2000,5000,10000,15000,20000"
                     : is_webrtc (&o) ? "1000,2000,5000,10000"
                                    : "10,50,100,200",
                     levels))
    {
      g_printerr ("bench-fanout: --levels wants rising numbers, e.g. 10,50,100,200\n");
      return 2;
    }
  if (is_webrtc (&o) && (o.webrtcbin_levels == NULL || !g_str_equal (o.webrtcbin_levels, "none"))
      && !parse_levels (o.webrtcbin_levels != NULL ? o.webrtcbin_levels : "50,100,200,400",
                        bin_levels))
    {
      g_printerr ("bench-fanout: --webrtcbin-levels wants rising numbers, or none\n");
      return 2;
    }
  /* Every listener is a socket of the server's and of the load generator's
   * (a WebRTC guest: a UDP socket and a TCP one at the loadgen, and at
   * Janus an ICE socket and its HTTP connection while it joins). */
  server_setup_data.nofile = receiver_setup_data.nofile =
    (rlim_t) g_array_index (levels, guint, levels->len - 1) * (is_webrtc (&o) ? 3 : 1) + 4096;
  gst_init (NULL, NULL);

  b->o = &o;
  b->started_us = g_get_monotonic_time ();
  b->deadline_us = b->started_us + (gint64) o.max_seconds * G_USEC_PER_SEC;
  b->receivers = g_ptr_array_new ();
  b->levels = g_ptr_array_new ();
  b->guest_failures = g_ptr_array_new_with_free_func (g_free);
  b->cycles = g_array_new (FALSE, TRUE, sizeof (Cycle));
  b->self_exe = g_file_read_link ("/proc/self/exe", NULL);
  rc_bench_progress_restart ();
  rc_bench_catch_signals ();
  /* Whatever happens, the run ends: the default action of SIGALRM kills
   * us, and PR_SET_PDEATHSIG takes the children along. */
  alarm (o.max_seconds + MAX (o.wait_quiet_s, 0) + 240);

  if (o.roomcast == NULL)
    {
      g_autofree char *tools = g_path_get_dirname (b->self_exe);
      g_autofree char *build = g_path_get_dirname (tools);

      o.roomcast = g_build_filename (build, "roomcast", NULL);
    }
  if (o.loadgen == NULL)
    {
      g_autofree char *tools = g_path_get_dirname (b->self_exe);

      o.loadgen = g_build_filename (tools, "roomcast-loadgen", NULL);
    }
  if (uses_loadgen (&o) && !g_file_test (o.loadgen, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-fanout: no roomcast-loadgen at %s (use --loadgen PATH)\n", o.loadgen);
      return 2;
    }
  if (!g_file_test (o.roomcast, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-fanout: no roomcast at %s (use --roomcast PATH)\n", o.roomcast);
      return 2;
    }
  b->tmp_dir = g_dir_make_tmp ("bench-fanout-XXXXXX", &error);
  if (b->tmp_dir == NULL)
    {
      g_printerr ("bench-fanout: %s\n", error->message);
      return 1;
    }

  /* How busy the machine is without us; with --wait-quiet, wait for a
   * quieter moment (other people's builds and tests share it). */
  for (gint64 give_up = g_get_monotonic_time () + (gint64) o.wait_quiet_s * G_USEC_PER_SEC;;)
    {
      Snap a = { 0 }, z = { 0 };

      snap_take (b, &a, FALSE);
      rc_bench_wait (NULL, NULL, 3000);
      snap_take (b, &z, FALSE);
      b->busy_before_pct = pct (z.machine_busy - a.machine_busy, &a, &z);
      if (b->busy_before_pct < 25 || g_get_monotonic_time () >= give_up || rc_bench_interrupted ())
        break;
      rc_bench_progress ("the machine is %.0f%% busy (of one core); waiting for a quieter moment",
                         b->busy_before_pct);
    }
  rc_bench_progress ("the machine was %.0f%% busy (of one core; 200%% is all) before the run",
                     b->busy_before_pct);
  b->started_us = g_get_monotonic_time ();
  b->deadline_us = b->started_us + (gint64) o.max_seconds * G_USEC_PER_SEC;
  rc_bench_progress_restart ();
  alarm (o.max_seconds + 240);
  if (o.music_dir != NULL)
    b->music_dir = g_strdup (o.music_dir);
  else
    {
      g_autofree char *track = NULL;

      b->music_dir = g_build_filename (b->tmp_dir, "music", NULL);
      g_mkdir (b->music_dir, 0700);
      track = g_build_filename (b->music_dir, "bench-tone.opus", NULL);
      rc_bench_progress ("writing a %u s track to %s", o.track_seconds, track);
      if (!make_track (b, track, &error))
        goto fail;
    }
  rc_bench_progress ("starting %s", o.roomcast);
  if (!start_server (b, &error) || !find_song (b, &error)
      || !rc_bench_server_create_room (b->server, "bench-fanout", &b->room_id, &b->owner_token,
                                       &error)
      || !start_playing (b, &error))
    goto fail;
  rc_bench_progress ("roomcast pid %d at %s, room %s playing \"%s\"", (int) b->server_pid,
                     b->base_url, b->room_id, b->song_title);

  /* The empty room: playing, nobody listening. */
  {
    Snap a = { 0 }, z = { 0 };

    rc_bench_wait (NULL, NULL, 2000);
    snap_take (b, &a, FALSE);
    rc_bench_wait (NULL, NULL, MIN (o.window_s, 5) * 1000);
    snap_take (b, &z, FALSE);
    b->baseline = z.server;
    b->baseline_pct = pct (z.server.cpu_ticks - a.server.cpu_ticks, &a, &z);
    rc_bench_progress ("empty room: %.1f%% CPU, %.1f MiB, %u threads", b->baseline_pct,
                       b->baseline.rss_kib / 1024.0, b->baseline.threads);
  }

  if (uses_loadgen (&o))
    {
      ws_out = g_string_new (NULL);
      if (!(is_ws (&o) ? run_ws (b, levels, ws_out) : run_webrtc (b, levels, bin_levels, ws_out)))
        b->failed = TRUE;
      goto done;
    }

  for (guint i = 0; i < levels->len && !rc_bench_interrupted (); i++)
    {
      Level *level = g_new0 (Level, 1);
      const Level *previous = i > 0 ? g_ptr_array_index (b->levels, i - 1) : NULL;

      level->n = g_array_index (levels, guint, i);
      g_ptr_array_add (b->levels, level);
      if (g_get_monotonic_time () > b->deadline_us)
        {
          note (level, "skipped: the time budget (--max-seconds %u) was spent", o.max_seconds);
          break;
        }
      if (!run_level (b, level, previous))
        {
          b->failed = TRUE;
          break;
        }
    }
  if (rc_bench_interrupted () && b->levels->len > 0)
    note (g_ptr_array_index (b->levels, b->levels->len - 1), "interrupted (signal)");
  if (!rc_bench_interrupted () && server_alive (b) && b->guests > 0)
    leave_cycles (b);
  goto done;

fail:
  rc_bench_progress ("failed: %s", error->message);
  b->failed = TRUE;

done:
  stop_receivers (b);
  g_clear_pointer (&b->control, rc_bench_control_free);
  stop_server (b);
  if (b->server != NULL && ws_out != NULL)
    {
      report_ws (b, out, command_line, ws_out);
      g_print ("\n%s", out->str);
      if (o.output != NULL && !g_file_set_contents (o.output, out->str, -1, &error))
        g_printerr ("bench-fanout: %s\n", error->message);
    }
  else if (b->server != NULL)
    {
      report (b, out, command_line);
      g_print ("\n%s", out->str);
      if (o.output != NULL && !g_file_set_contents (o.output, out->str, -1, &error))
        g_printerr ("bench-fanout: %s\n", error->message);
    }
  g_clear_pointer (&b->server, rc_bench_server_free);
  if (o.keep || b->failed || (b->server != NULL && rc_bench_server_died (b->server)))
    g_printerr ("bench-fanout: logs kept in %s\n", b->tmp_dir);
  else
    rc_remove_tree (b->tmp_dir);
  return b->failed ? 1 : 0;
}

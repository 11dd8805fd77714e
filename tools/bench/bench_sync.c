/* SPDX-License-Identifier: MIT */
/*
 * bench-sync: how closely a room's guests render the same sample at the
 * same instant, read from what they rendered.
 *
 *   bench-sync [--natives 4] [--browsers 2] [--seconds 30] [--jitter-ms 80] ...
 *
 * It starts a real roomcast on 127.0.0.1 (a free port, a click track it
 * writes into a temporary music folder), creates a room and plays the track
 * from a control connection, which also listens over the WebSocket: the
 * frames as the server sent them, decoded and placed at C + D, are the
 * ideal every guest is compared with. Then:
 *
 * - native guests (roomcast-guest processes, WebRTC and WebSocket by turns)
 *   record what their sink rendered, placed by render time;
 * - browser guests (headless Chromium pages, bench-sync-browser.mjs) record
 *   their playout engine's output in back-to-back captures; with --speakers
 *   or --peer, each early page is a Chromium of its own playing into its own
 *   sink of the speakers' PulseAudio (so the speakers start first);
 * - one more native guest listens over the WebSocket through a relay that
 *   adds 0..--jitter-ms per read (this kernel has no sch_netem);
 * - a third of the way in, one native and one browser guest join (the join
 *   convergence); two thirds in, the room seeks (the seek convergence).
 *
 * At the end every pair's skew comes from cross-correlating the recordings
 * around each click (rc_bench_sync_report.c), printed as Markdown.
 *
 * Bounded and clean: every child gets PR_SET_PDEATHSIG, the run has a time
 * budget (--max-seconds) with an alarm beyond it, SIGINT/SIGTERM end it,
 * and the temporary folder goes unless --keep. Only 127.0.0.1 is used.
 */
#include "rc_bench_delay_proxy.h"
#include "rc_bench_proc.h"
#include "rc_bench_server.h"
#include "tools/support/rc_roomcast_process.h"
#include "rc_bench_sync_run.h"
#include "rc_bench_sync_speakers.h"
#include "rc_build_config.h"
#include "tools/native-guest/rc_native_playout.h"
#include "tools/native-guest/rc_recording.h"
#include "pipelines/rc_ws_branch.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  guint natives;
  guint browsers;
  double seconds;
  double warmup;
  double jitter_ms;
  double capture_seconds;
  gboolean no_late;
  gboolean no_seek;
  gboolean no_realtime;
  double wait_quiet;
  guint max_seconds;
  char *roomcast;
  char *guest;
  char *node;
  char *output;
  gboolean keep;
  guint speakers;
  char *peer;
} Options;

typedef struct
{
  RcBenchSyncGuest *g; /* owned by run.guests */
  GSubprocess *proc;
  GDataInputStream *out;
  char *wav;
  gboolean exited;
  char *last_line;
} Native;

typedef struct
{
  double c, d;
  GBytes *payload;
} Frame;

typedef struct
{
  Options *o;
  GCancellable *cancellable;
  char *dir;
  RcBenchSyncRun run;

  RcBenchServer *server;
  char *base_url;
  guint port;
  char *room_id, *owner_token, *song_id;

  RcBenchControl *control;
  gboolean control_playing, control_media;
  double delay;
  double delay_before, delay_at; /* an announced change: D until heard time delay_at */
  GPtrArray *frames; /* Frame* */

  GPtrArray *natives; /* Native* */
  RcBenchDelayProxy *proxy;

  GSubprocess *driver;
  GOutputStream *driver_in;
  GDataInputStream *driver_out;
  gboolean driver_stopped;
  guint browsers_joined;
  char *driver_error;

  RcBenchSpeakers *speakers; /* at the speaker: real sinks, one recording clock */
  char *track;
} Bench;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* ---- the server ---- */

static gboolean
start_server (Bench *b, GError **error)
{
  g_autofree char *log = g_build_filename (b->dir, "server.log", NULL);
  const char *args[] = { "--music-dir", b->dir, NULL };

  b->server = rc_bench_server_start (b->o->roomcast, args, log, error);
  if (b->server == NULL)
    return FALSE;
  b->base_url = g_strdup (rc_bench_server_get_url (b->server));
  b->port = rc_bench_server_get_port (b->server);
  return TRUE;
}

static gboolean
find_song_and_room (Bench *b, GError **error)
{
  g_autoptr (JsonArray) songs = rc_bench_server_wait_library (b->server, 1, 30, error);

  if (songs == NULL)
    return FALSE;
  b->song_id = g_strdup (
    json_object_get_string_member (json_array_get_object_element (songs, 0), "id"));
  return rc_bench_server_create_room (b->server, "bench-sync", &b->room_id, &b->owner_token,
                                      error);
}

/* ---- the control connection: commands, and the ideal as sent ---- */

static void
frame_free (gpointer data)
{
  Frame *f = data;

  g_bytes_unref (f->payload);
  g_free (f);
}

/* Who asked for the new D: the room's stats, the guest whose latest report
 * needs the most (arrival + jitter). */
static void
log_delay_cause (Bench *b)
{
  g_autoptr (JsonObject) stats = rc_bench_server_room_stats (b->server, b->room_id);
  JsonArray *guests;
  JsonObject *worst = NULL;
  double need = -1;

  if (stats == NULL)
    return;
  guests = json_object_get_array_member (stats, "guests");
  for (guint i = 0; guests != NULL && i < json_array_get_length (guests); i++)
    {
      JsonObject *g = json_array_get_object_element (guests, i);
      double n = json_object_get_double_member_with_default (g, "arrival", 0)
                 + json_object_get_double_member_with_default (g, "jitter", 0);

      if (n > need)
        {
          need = n;
          worst = g;
        }
    }
  if (worst != NULL)
    rc_bench_progress ("  (largest need: %s, %s, arrival %.1f + jitter %.1f ms)",
                       json_object_get_string_member_with_default (worst, "name", "?"),
                       json_object_get_string_member_with_default (worst, "transport", "?"),
                       json_object_get_double_member_with_default (worst, "arrival", 0),
                       json_object_get_double_member_with_default (worst, "jitter", 0));
}

/* The media as the server sent it: each frame placed at C + D. */
static void
on_control_frame (GBytes *data, gpointer user_data)
{
  Bench *b = user_data;
  gsize size, length;
  const guint8 *bytes = g_bytes_get_data (data, &size), *payload;
  guint32 rtp, seq;
  double c, d;
  Frame *f;

  if (b->delay <= 0 || !rc_ws_frame_parse (bytes, size, &rtp, &c, &seq, &payload, &length)
      || length == 0)
    return;
  if (b->run.start > 0 && now_ms () < b->run.end_or_now)
    {
      double transit = now_ms () - c;

      g_array_append_val (b->run.control_arrivals, transit);
    }
  /* An announced change holds from heard time delay_at on, as the players
   * take it: the old D before it, and a fall skips what would come before. */
  d = rc_native_playout_delay_for (c, b->delay, b->delay_before, b->delay_at);
  if (d < 0)
    return;
  f = g_new0 (Frame, 1);
  f->c = c;
  f->d = d;
  f->payload = g_bytes_new (payload, length);
  g_ptr_array_add (b->frames, f);
}

static void
on_control_message (JsonObject *o, gpointer user_data)
{
  Bench *b = user_data;
  const char *kind, *id;

  kind = json_object_get_string_member_with_default (o, "type", "");
  id = json_object_has_member (o, "id") && JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "id"))
           && json_node_get_value_type (json_object_get_member (o, "id")) == G_TYPE_STRING
         ? json_object_get_string_member (o, "id")
         : "";
  if (g_str_equal (kind, "queueUpdated") && g_str_equal (id, "add"))
    b->control_playing = TRUE;
  else if (g_str_equal (kind, "mediaStarted"))
    b->control_media = TRUE;
  else if (g_str_equal (kind, "timeline"))
    {
      double d = json_object_get_double_member_with_default (o, "playoutDelay", 0);
      double at = json_object_get_double_member_with_default (o, "playoutDelayAt", 0);

      if (d != b->delay)
        {
          double pair[2] = { now_ms (), d };

          g_array_append_vals (b->run.delays, pair, 2);
          if (b->delay > 0)
            rc_bench_progress ("playout delay %.0f -> %.0f ms", b->delay, d);
          b->delay_before = at > 0 ? json_object_get_double_member_with_default (
                                       o, "previousPlayoutDelay", b->delay)
                                   : d;
          b->delay_at = at;
          b->delay = d;
          if (g_array_index (b->run.delays, double, 0) < now_ms () - 1)
            log_delay_cause (b);
        }
    }
  else if (g_str_equal (kind, "stateUpdate") && g_str_equal (id, "seek"))
    b->run.seek_done_at = now_ms ();
  else if (g_str_equal (kind, "error"))
    rc_bench_progress ("control: error %" G_GINT64_FORMAT " %s",
                       json_object_get_int_member_with_default (o, "code", 0),
                       json_object_get_string_member_with_default (o, "message", ""));
}

static gboolean
control_ready (gpointer data)
{
  Bench *b = data;

  return b->control_playing && b->control_media && b->delay > 0;
}

static gboolean
start_room (Bench *b, GError **error)
{
  b->control = rc_bench_control_new (b->server, b->room_id, b->owner_token, on_control_message, b);
  rc_bench_control_set_binary_func (b->control, on_control_frame, b);
  if (!rc_bench_control_wait_joined (b->control, 10000, NULL))
    {
      if (rc_bench_control_get_failure (b->control) != NULL)
        rc_bench_progress ("control connection failed: %s",
                           rc_bench_control_get_failure (b->control));
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the control guest did not join");
      return FALSE;
    }
  rc_bench_control_send (b->control, "{\"type\":\"addSong\",\"id\":\"add\",\"songId\":\"%s\"}",
                         b->song_id);
  rc_bench_control_send (b->control,
                         "{\"type\":\"startMedia\",\"id\":\"media\",\"transport\":\"ws\"}");
  if (!rc_bench_wait (control_ready, b, 10000))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "the room did not start playing with a timeline");
      return FALSE;
    }
  return TRUE;
}

/* ---- native guests ---- */

static void read_native_line (Native *n, Bench *b);

typedef struct
{
  Native *n;
  Bench *b;
} NativeRef;

static void
on_native_line (GObject *source, GAsyncResult *result, gpointer data)
{
  NativeRef *ref = data;
  g_autofree char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);
  Native *n = ref->n;
  Bench *b = ref->b;

  g_free (ref);
  if (line == NULL)
    {
      n->exited = TRUE;
      return;
    }
  if (strstr (line, "audio out") != NULL && n->g->listening_at == 0)
    n->g->listening_at = now_ms ();
  if (strstr (line, "failed:") != NULL && n->g->failure == NULL)
    {
      n->g->failure = g_strdup (strstr (line, "failed:") + 8);
      rc_bench_progress ("%s %s", n->g->name, line);
    }
  g_free (n->last_line);
  n->last_line = g_strdup (line);
  read_native_line (n, b);
}

static void
read_native_line (Native *n, Bench *b)
{
  NativeRef *ref = g_new (NativeRef, 1);

  ref->n = n;
  ref->b = b;
  g_data_input_stream_read_line_async (n->out, G_PRIORITY_DEFAULT, b->cancellable, on_native_line,
                                       ref);
}

static RcBenchSyncGuest *
guest_new (Bench *b, const char *name, RcBenchGuestKind kind, const char *transport)
{
  RcBenchSyncGuest *g = g_new0 (RcBenchSyncGuest, 1);

  g->name = g_strdup (name);
  g->kind = kind;
  g->transport = g_strdup (transport);
  g->recordings = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_recording_free);
  g->self_errors = g_array_new (FALSE, FALSE, sizeof (double));
  g->sink_error_p50 = -1;
  g_ptr_array_add (b->run.guests, g);
  return g;
}

static gboolean
spawn_native (Bench *b, const char *name, const char *transport, guint port, gboolean late,
              gboolean jittered, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree char *server = g_strdup_printf ("http://127.0.0.1:%u", port);
  g_autofree char *wav_name = g_strdup_printf ("%s.wav", name);
  Native *n = g_new0 (Native, 1);
  const char *argv[] = { b->o->guest, "--server", server, "--room", b->room_id,
                         "--name", name, "--transport", transport, "--record", NULL,
                         b->o->no_realtime ? "--no-realtime" : NULL, NULL };

  n->wav = g_build_filename (b->dir, wav_name, NULL);
  argv[10] = n->wav;
  n->g = guest_new (b, name, RC_BENCH_NATIVE, transport);
  n->g->late = late;
  n->g->jittered = jittered;
  n->g->joined_at = now_ms ();
  g_ptr_array_add (b->natives, n);
  n->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (n->proc == NULL)
    return FALSE;
  n->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (n->proc));
  read_native_line (n, b);
  return TRUE;
}

static gboolean
natives_listening (gpointer data)
{
  Bench *b = data;
  for (guint i = 0; i < b->natives->len; i++)
    {
      Native *n = b->natives->pdata[i];

      if (n->g->listening_at == 0 && n->g->failure == NULL && !n->exited)
        return FALSE;
    }
  return TRUE;
}

/* The sidecar's own figure for the guest's sink, for the table. */
static double
sink_error_p50 (const char *wav)
{
  g_autofree char *path = g_strconcat (wav, ".json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  if (!json_parser_load_from_file (parser, path, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return -1;
  o = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (o, "render"))
    return -1;
  return json_object_get_double_member_with_default (json_object_get_object_member (o, "render"),
                                                     "errorP50", -1);
}

static void
collect_natives (Bench *b)
{
  for (guint i = 0; i < b->natives->len; i++)
    {
      Native *n = b->natives->pdata[i];
      g_autoptr (GError) error = NULL;
      RcRecording *r;

      rc_roomcast_child_stop (n->proc, 10);
      r = rc_recording_load (n->wav, &error);
      if (r == NULL)
        {
          if (n->g->failure == NULL)
            n->g->failure = g_strdup_printf ("no recording: %s (last line: %s)", error->message,
                                             n->last_line != NULL ? n->last_line : "none");
          continue;
        }
      g_ptr_array_add (n->g->recordings, r);
      n->g->sink_error_p50 = sink_error_p50 (n->wav);
    }
}

/* ---- browser guests (the node driver) ---- */

static RcBenchSyncGuest *
guest_by_name (Bench *b, const char *name)
{
  for (guint i = 0; i < b->run.guests->len; i++)
    {
      RcBenchSyncGuest *g = b->run.guests->pdata[i];

      if (g_str_equal (g->name, name))
        return g;
    }
  return NULL;
}

/* @x (@n frames at @rate) read at 48 kHz: the clicks are matched against the
 * natives' 48 kHz recordings sample by sample, and a page renders at its
 * device's rate. 4-point Hermite interpolation, as the page's own reader. */
static float *
to_48k (const float *x, gsize n, double rate, gsize *out_n)
{
  double step = rate / 48000.0;
  gsize m = n > 3 ? (gsize) ((double) (n - 3) / step) : 0;
  float *y = g_new (float, MAX (m, 1));

  for (gsize j = 0; j < m; j++)
    {
      double pos = j * step;
      gsize i = (gsize) pos;
      double f = pos - (double) i;
      double y0 = x[i > 0 ? i - 1 : 0], y1 = x[i], y2 = x[i + 1], y3 = x[i + 2];
      double c1 = 0.5 * (y2 - y0);
      double c2 = y0 - 2.5 * y1 + 2 * y2 - 0.5 * y3;
      double c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2);

      y[j] = (float) (((c3 * f + c2) * f + c1) * f + y1);
    }
  *out_n = m;
  return y;
}

static void
load_capture (Bench *b, RcBenchSyncGuest *g, JsonObject *o)
{
  const char *file = json_object_get_string_member_with_default (o, "file", NULL);
  double rate = json_object_get_double_member_with_default (o, "sampleRate", 48000);
  double ms_per_frame = json_object_get_double_member (o, "msPerFrame");
  g_autofree char *bytes = NULL;
  g_autofree float *resampled = NULL;
  const float *x;
  gsize size = 0, n;

  if (file == NULL || !g_file_get_contents (file, &bytes, &size, NULL) || size < 4)
    return;
  x = (const float *) bytes;
  n = size / sizeof (float);
  if (rate > 0 && fabs (rate - 48000) > 0.5)
    {
      x = resampled = to_48k (x, n, rate, &n);
      ms_per_frame *= rate / 48000.0;
    }
  g_ptr_array_add (g->recordings,
                   rc_recording_new_timed (g->name, x, n, 48000,
                                           json_object_get_double_member (o, "serverTime"),
                                           ms_per_frame));
  if (!b->o->keep)
    g_unlink (file);
}

static void read_driver_line (Bench *b);

static void
on_driver_line (GObject *source, GAsyncResult *result, gpointer data)
{
  Bench *b = data;
  g_autofree char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);
  g_autoptr (JsonNode) node = NULL;
  JsonObject *o;
  const char *event, *name;
  RcBenchSyncGuest *g;

  if (line == NULL)
    {
      b->driver_stopped = TRUE;
      return;
    }
  node = json_from_string (line, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      rc_bench_progress ("browser driver: %s", line);
      read_driver_line (b);
      return;
    }
  o = json_node_get_object (node);
  event = json_object_get_string_member_with_default (o, "event", "");
  name = json_object_get_string_member_with_default (o, "name", "");
  g = guest_by_name (b, name);
  if (g_str_equal (event, "joining") && g != NULL)
    g->joined_at = now_ms ();
  else if (g_str_equal (event, "joined") && g != NULL)
    {
      g->listening_at = now_ms ();
      b->browsers_joined++;
      rc_bench_progress ("%s (browser, %s) listening", name, g->transport);
    }
  else if (g_str_equal (event, "capture") && g != NULL)
    load_capture (b, g, o);
  else if (g_str_equal (event, "report") && g != NULL
           && json_object_has_member (o, "report")
           && now_ms () >= b->run.start && b->run.start > 0)
    {
      JsonObject *r = json_object_get_object_member (o, "report");
      double e = json_object_get_double_member_with_default (r, "error", NAN);

      if (!isnan (e))
        g_array_append_val (g->self_errors, e);
    }
  else if (g_str_equal (event, "error"))
    {
      const char *message = json_object_get_string_member_with_default (o, "message", "?");

      rc_bench_progress ("browser driver error (%s): %s", name, message);
      if (g != NULL && g->failure == NULL)
        g->failure = g_strdup (message);
      else if (g == NULL && b->driver_error == NULL)
        b->driver_error = g_strdup (message);
    }
  else if (g_str_equal (event, "stopped"))
    b->driver_stopped = TRUE;
  read_driver_line (b);
}

static void
read_driver_line (Bench *b)
{
  g_data_input_stream_read_line_async (b->driver_out, G_PRIORITY_DEFAULT, b->cancellable,
                                       on_driver_line, b);
}

static void
driver_command (Bench *b, const char *command)
{
  g_autofree char *line = g_strconcat (command, "\n", NULL);

  if (b->driver_in != NULL)
    g_output_stream_write_all (b->driver_in, line, strlen (line), NULL, NULL, NULL);
}

static gboolean
spawn_driver (Bench *b, guint early, gboolean late, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *script = NULL;
  g_autofree char *client_dir = g_path_get_dirname (ROOMCAST_CLIENT_DIR "/x");
  g_autofree char *root = g_path_get_dirname (client_dir);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *capture = g_strdup_printf ("%g", b->o->capture_seconds);

  script = g_build_filename (root, "tools", "bench", "bench-sync-browser.mjs", NULL);
  g_ptr_array_add (argv, g_strdup (b->o->node));
  g_ptr_array_add (argv, g_strdup (script));
  g_ptr_array_add (argv, g_strdup ("--url"));
  g_ptr_array_add (argv, g_strdup (b->base_url));
  g_ptr_array_add (argv, g_strdup ("--room"));
  g_ptr_array_add (argv, g_strdup (b->room_id));
  g_ptr_array_add (argv, g_strdup ("--out"));
  g_ptr_array_add (argv, g_strdup (b->dir));
  g_ptr_array_add (argv, g_strdup ("--capture-seconds"));
  g_ptr_array_add (argv, g_strdup (capture));
  if (b->speakers != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--pulse-server"));
      g_ptr_array_add (argv, g_strdup (rc_bench_speakers_get_server (b->speakers)));
    }
  for (guint i = 0; i < early + (late ? 1 : 0); i++)
    {
      const char *transport = i % 2 == 0 ? "webrtc" : "ws";
      g_autofree char *name = g_strdup_printf ("browser-%u", i + 1);
      RcBenchSyncGuest *g = guest_new (b, name, RC_BENCH_BROWSER, transport);

      g->late = i >= early;
      g->joined_at = now_ms ();
      g_ptr_array_add (argv, g_strdup (g->late ? "--late" : "--page"));
      /* An early page plays into its own sink when there are speakers (the late one is captured only). */
      if (b->speakers != NULL && !g->late)
        g_ptr_array_add (argv, g_strdup_printf ("%s:%s:%s", name, transport,
                                                rc_bench_speakers_get_browser_sink (b->speakers, i)));
      else
        g_ptr_array_add (argv, g_strdup_printf ("%s:%s", name, transport));
    }
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_cwd (launcher, root);
  b->driver = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (b->driver == NULL)
    return FALSE;
  b->driver_in = g_subprocess_get_stdin_pipe (b->driver);
  b->driver_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (b->driver));
  read_driver_line (b);
  return TRUE;
}

static gboolean
browsers_listening (gpointer data)
{
  Bench *b = data;
  return b->browsers_joined >= b->o->browsers || b->driver_stopped || b->driver_error != NULL;
}

static gboolean
driver_done (gpointer data)
{
  Bench *b = data;
  return b->driver_stopped;
}

/* ---- the ideal: the stream as sent, decoded and placed at C + D ---- */

static RcRecording *
decode_ideal (Bench *b)
{
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GArray) x = g_array_new (FALSE, TRUE, sizeof (float));
  double base;
  GstSample *sample;

  if (b->frames->len == 0)
    return NULL;
  pipeline = gst_parse_launch (
    "appsrc name=src format=time caps=\"audio/x-opus,rate=48000,channels=2,"
    "channel-mapping-family=0,stream-count=1,coupled-count=1\" ! opusdec ! audioconvert "
    "! audio/x-raw,format=F32LE,channels=1,rate=48000,layout=interleaved "
    "! appsink name=sink sync=false",
    NULL);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  base = ((Frame *) b->frames->pdata[0])->c + ((Frame *) b->frames->pdata[0])->d - 1000;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (guint i = 0; i < b->frames->len; i++)
    {
      Frame *f = b->frames->pdata[i];
      GstBuffer *buffer = gst_buffer_new_memdup (g_bytes_get_data (f->payload, NULL),
                                                 g_bytes_get_size (f->payload));

      GST_BUFFER_PTS (buffer) = (GstClockTime) llround ((f->c + f->d - base) * GST_MSECOND);
      GST_BUFFER_DURATION (buffer) = 20 * GST_MSECOND;
      gst_app_src_push_buffer (GST_APP_SRC (src), buffer);
    }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    {
      GstBuffer *buffer = gst_sample_get_buffer (sample);
      GstMapInfo map;
      gsize at = (gsize) llround ((double) GST_BUFFER_PTS (buffer) * 48000 / GST_SECOND);

      if (gst_buffer_map (buffer, &map, GST_MAP_READ))
        {
          if (x->len < at + map.size / sizeof (float))
            g_array_set_size (x, at + map.size / sizeof (float));
          memcpy (&g_array_index (x, float, at), map.data, map.size);
          gst_buffer_unmap (buffer, &map);
        }
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return rc_recording_new ("ideal", (const float *) x->data, x->len, 48000, base);
}

/* ---- the run ---- */

static gboolean
alive (Bench *b, GError **error)
{
  gboolean exited = rc_bench_server_has_exited (b->server);

  if (exited)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "roomcast exited during the run");
  else if (rc_bench_interrupted ())
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted");
  return !exited && !rc_bench_interrupted ();
}

static gboolean
bring_guests_in (Bench *b, GError **error)
{
  for (guint i = 0; i < b->o->natives; i++)
    {
      g_autofree char *name = g_strdup_printf ("native-%u", i + 1);

      if (!spawn_native (b, name, i % 2 == 0 ? "webrtc" : "ws", b->port, FALSE, FALSE, error))
        return FALSE;
    }
  if (b->o->jitter_ms > 0)
    {
      b->proxy = rc_bench_delay_proxy_new (b->port, b->o->jitter_ms, error);
      if (b->proxy == NULL
          || !spawn_native (b, "native-jittered", "ws", rc_bench_delay_proxy_get_port (b->proxy),
                            FALSE, TRUE, error))
        return FALSE;
    }
  /* The speakers first: the browser pages play into their sinks. */
  if (b->o->speakers > 0 || b->o->peer != NULL)
    {
      RcBenchSpeakersOptions so = { .dir = b->dir, .guest = b->o->guest, .server = b->server,
                                    .room_id = b->room_id, .click_track = b->track,
                                    .natives = b->o->speakers,
                                    .snapcast = g_strcmp0 (b->o->peer, "snapcast") == 0,
                                    .browsers = b->o->browsers,
                                    .no_realtime = b->o->no_realtime };

      b->speakers = rc_bench_speakers_start (&so, error);
      if (b->speakers == NULL)
        return FALSE;
      rc_bench_progress ("%u native guests through real sinks%s%s", b->o->speakers,
                         so.snapcast ? ", snapserver and 2 snapclients" : "",
                         so.browsers > 0 ? ", sinks for the browser pages" : "");
      if (b->o->speakers > 0 && !rc_bench_wait (rc_bench_speakers_ready, b->speakers, 30000))
        rc_bench_progress ("not every speaker guest reports after 30 s");
    }
  if (b->o->browsers > 0
      && !spawn_driver (b, b->o->browsers, !b->o->no_late, error))
    return FALSE;
  rc_bench_progress ("%u native guests%s and %u browser pages joining", b->o->natives,
                     b->o->jitter_ms > 0 ? " (+1 jittered)" : "", b->o->browsers);
  if (!rc_bench_wait (natives_listening, b, 30000))
    rc_bench_progress ("not every native guest renders after 30 s");
  if (b->o->browsers > 0 && !rc_bench_wait (browsers_listening, b, 90000))
    rc_bench_progress ("only %u of %u browser pages listen after 90 s", b->browsers_joined,
                       b->o->browsers);
  if (b->driver_error != NULL)
    rc_bench_progress ("browsers: %s", b->driver_error);
  return alive (b, error);
}

static gboolean
poll_beliefs (gpointer data)
{
  rc_bench_speakers_poll_beliefs (data);
  return G_SOURCE_CONTINUE;
}

/* The machine's steal ticks (/proc/stat "cpu", 8th value): time the
 * hypervisor ran something else while this VM wanted its cores. */
static guint64
steal_ticks (void)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) f = NULL;
  guint n = 0;

  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL) || !g_str_has_prefix (text, "cpu "))
    return 0;
  f = g_strsplit_set (text + 4, " \n", 12);
  for (guint i = 0; f[i] != NULL; i++)
    if (*f[i] != '\0' && ++n == 8)
      return g_ascii_strtoull (f[i], NULL, 10);
  return 0;
}

static gboolean
measure (Bench *b, GError **error)
{
  RcBenchProc p0 = { 0 }, p1 = { 0 };
  guint64 busy0 = 0, total0 = 0, busy1 = 0, total1 = 0, steal0, steal1;
  GPid server_pid = rc_bench_server_get_pid (b->server);
  double third = b->o->seconds * 1000 / 3;
  guint poll = 0;

  rc_bench_progress ("warming up for %.0f s", b->o->warmup);
  rc_bench_wait (NULL, NULL, b->o->warmup * 1000);
  if (!alive (b, error))
    return FALSE;
  rc_bench_proc_read (server_pid, &p0);
  rc_bench_machine_read (&busy0, &total0);
  steal0 = steal_ticks ();
  b->run.start = now_ms ();
  if (b->speakers != NULL)
    {
      rc_bench_speakers_record (b->speakers);
      poll = g_timeout_add_seconds (1, poll_beliefs, b->speakers);
    }
  rc_bench_progress ("measuring for %.0f s", b->o->seconds);
  rc_bench_wait (NULL, NULL, third);
  if (!b->o->no_late)
    {
      b->run.join_at = now_ms ();
      rc_bench_progress ("a native and a browser guest join");
      if (!spawn_native (b, "native-late", "ws", b->port, TRUE, FALSE, error))
        return FALSE;
      if (b->driver != NULL)
        driver_command (b, "join");
    }
  rc_bench_wait (NULL, NULL, third);
  if (!b->o->no_seek)
    {
      b->run.seek_at = now_ms ();
      rc_bench_progress ("the room seeks to 5 s");
      rc_bench_control_send (b->control, "{\"type\":\"seek\",\"id\":\"seek\",\"position\":5}");
    }
  rc_bench_wait (NULL, NULL, third);
  b->run.end = b->run.end_or_now = now_ms ();
  g_clear_handle_id (&poll, g_source_remove);
  rc_bench_proc_read (server_pid, &p1);
  rc_bench_machine_read (&busy1, &total1);
  steal1 = steal_ticks ();
  if (p0.ok && p1.ok)
    b->run.server_cpu_pct =
      100 * rc_bench_ticks_to_s (p1.cpu_ticks - p0.cpu_ticks) / ((b->run.end - b->run.start) / 1000);
  if (total1 > total0)
    {
      b->run.machine_busy_pct = 100.0 * (double) (busy1 - busy0) / (double) (total1 - total0);
      b->run.steal_pct = 100.0 * (double) (steal1 - steal0) / (double) (total1 - total0);
    }
  return alive (b, error);
}

static void
finish (Bench *b)
{
  rc_bench_progress ("stopping the guests");
  if (b->driver != NULL)
    {
      driver_command (b, "stop");
      if (!rc_bench_wait (driver_done, b, 30000))
        rc_bench_progress ("the browser driver did not stop in 30 s");
      rc_roomcast_child_stop (b->driver, 5);
    }
  if (b->speakers != NULL)
    rc_bench_speakers_stop (b->speakers);
  collect_natives (b);
  if (b->proxy != NULL)
    {
      rc_bench_delay_proxy_get_stats (b->proxy, &b->run.proxy_chunks, &b->run.proxy_mean_ms,
                                      &b->run.proxy_max_ms);
      g_clear_pointer (&b->proxy, rc_bench_delay_proxy_free);
    }
  b->run.ideal = decode_ideal (b);
}

static void
native_free (Native *n)
{
  g_clear_object (&n->proc);
  g_clear_object (&n->out);
  g_free (n->wav);
  g_free (n->last_line);
  g_free (n);
}

static void
cleanup (Bench *b)
{
  for (guint i = 0; i < b->natives->len; i++)
    rc_roomcast_child_stop (((Native *) b->natives->pdata[i])->proc, 5);
  rc_roomcast_child_stop (b->driver, 5);
  g_clear_pointer (&b->proxy, rc_bench_delay_proxy_free);
  g_clear_pointer (&b->speakers, rc_bench_speakers_free);
  g_clear_pointer (&b->control, rc_bench_control_free);
  g_clear_pointer (&b->server, rc_bench_server_free);
  g_cancellable_cancel (b->cancellable);
  /* Line readers end on the cancellation; let them. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  for (guint i = 0; i < b->natives->len; i++)
    native_free (b->natives->pdata[i]);
  g_ptr_array_set_size (b->natives, 0);
  if (!b->o->keep && b->dir != NULL)
    {
      g_autoptr (GDir) dir = g_dir_open (b->dir, 0, NULL);
      const char *entry;

      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (b->dir, entry, NULL);

          g_unlink (path);
        }
      g_rmdir (b->dir);
    }
  else if (b->dir != NULL)
    rc_bench_progress ("recordings and logs kept in %s", b->dir);
}

static gboolean
run (Bench *b, GError **error)
{
  g_autofree char *track = g_build_filename (b->dir, "clicks.wav", NULL);

  b->track = track;
  if (b->o->wait_quiet > 0)
    {
      /* Up to --wait-quiet seconds for the machine to be under 25 % busy over 2 s. */
      double busy = rc_bench_wait_quiet (b->o->wait_quiet, 25);

      if (busy < 25)
        rc_bench_progress ("machine %.0f %% busy: starting", busy);
      else
        rc_bench_progress ("machine still %.0f %% busy after %.0f s: starting anyway", busy,
                           b->o->wait_quiet);
    }
  b->run.load_before = rc_bench_loadavg ();
  if (!rc_click_track_write (track, (guint) (b->o->warmup + b->o->seconds + 120), error)
      || !start_server (b, error) || !find_song_and_room (b, error) || !start_room (b, error))
    return FALSE;
  rc_bench_progress ("roomcast at %s, room %s playing the click track (D %.0f ms)", b->base_url,
                     b->room_id, b->delay);
  if (!bring_guests_in (b, error) || !measure (b, error))
    return FALSE;
  finish (b);
  return TRUE;
}

int
main (int argc, char **argv)
{
  Options o = { .natives = 4, .browsers = 2, .seconds = 30, .warmup = 8, .jitter_ms = 80,
                .capture_seconds = 4, .max_seconds = 300, .speakers = 2 };
  GOptionEntry entries[] = {
    { "natives", 'n', 0, G_OPTION_ARG_INT, &o.natives, "Native guests (WebRTC and WebSocket by turns; default 4)", "N" },
    { "browsers", 'b', 0, G_OPTION_ARG_INT, &o.browsers, "Browser guests (default 2; 0: none); with --speakers or --peer each plays into its own sink too", "M" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &o.seconds, "Measured seconds (default 30)", "T" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &o.warmup, "Seconds after everyone listens before measuring (default 8)", "S" },
    { "jitter-ms", 'j', 0, G_OPTION_ARG_DOUBLE, &o.jitter_ms, "One more WebSocket guest behind 0..MS of jitter (default 80; 0: none)", "MS" },
    { "capture-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &o.capture_seconds, "Length of each browser capture (default 4)", "S" },
    { "no-late", 0, 0, G_OPTION_ARG_NONE, &o.no_late, "No guests joining during the run", NULL },
    { "no-seek", 0, 0, G_OPTION_ARG_NONE, &o.no_seek, "No seek during the run", NULL },
    { "wait-quiet", 0, 0, G_OPTION_ARG_DOUBLE, &o.wait_quiet, "Wait up to S seconds for the machine to be under 25% busy before starting", "S" },
    { "no-realtime", 0, 0, G_OPTION_ARG_NONE, &o.no_realtime, "Native guests render at normal priority (roomcast-guest --no-realtime)", NULL },
    { "max-seconds", 0, 0, G_OPTION_ARG_INT, &o.max_seconds, "Time budget of the whole run (default 300)", "S" },
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &o.roomcast, "The server (default: the build dir's)", "PATH" },
    { "guest", 0, 0, G_OPTION_ARG_FILENAME, &o.guest, "roomcast-guest (default: beside this program)", "PATH" },
    { "node", 0, 0, G_OPTION_ARG_FILENAME, &o.node, "node (default: node on PATH)", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Also write the Markdown here", "FILE" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &o.keep, "Keep the recordings and logs", NULL },
    { "speakers", 0, 0, G_OPTION_ARG_INT, &o.speakers, "Native guests playing through real sinks of a private PulseAudio, recorded on one clock (default 2; 0: none)", "N" },
    { "peer", 0, 0, G_OPTION_ARG_STRING, &o.peer, "Measure another system the same way: snapcast (snapserver and 2 snapclients)", "NAME" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- how closely a room's guests render the same sample at the same instant");
  g_autoptr (GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *tools = exe != NULL ? g_path_get_dirname (exe) : g_strdup (".");
  g_autofree char *build = g_path_get_dirname (tools);
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) command = g_string_new (NULL);
  Bench b = { 0 };
  gboolean ok;

  setlocale (LC_ALL, "");
  for (int i = 0; i < argc; i++)
    g_string_append_printf (command, "%s%s", i ? " " : "", i == 0 ? "bench-sync" : argv[i]);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-sync: %s\n", error->message);
      return 2;
    }
  if (o.natives < 2 || o.natives > 32 || o.browsers > 8 || o.seconds < 9 || o.seconds > 3600
      || o.warmup < 0 || o.jitter_ms < 0 || o.capture_seconds < 1 || o.capture_seconds > 30
      || o.speakers > 16 || (o.peer != NULL && g_strcmp0 (o.peer, "snapcast") != 0))
    {
      g_printerr ("bench-sync: --natives 2-32, --browsers 0-8, --seconds 9-3600, "
                  "--capture-seconds 1-30, --speakers 0-16, --peer snapcast; see --help\n");
      return 2;
    }
  gst_init (NULL, NULL);
  if (o.roomcast == NULL)
    o.roomcast = g_build_filename (build, "roomcast", NULL);
  if (o.guest == NULL)
    o.guest = g_build_filename (tools, "roomcast-guest", NULL);
  if (o.node == NULL)
    o.node = g_find_program_in_path ("node");
  if (o.browsers > 0 && o.node == NULL)
    {
      g_printerr ("bench-sync: no node on PATH: running native guests only\n");
      o.browsers = 0;
    }
  /* Whatever happens, the run ends: SIGALRM's default action kills us, and
   * the children follow (PR_SET_PDEATHSIG). */
  alarm (o.max_seconds + 60);

  b.o = &o;
  rc_bench_progress_restart ();
  b.cancellable = g_cancellable_new ();
  b.frames = g_ptr_array_new_with_free_func (frame_free);
  b.natives = g_ptr_array_new ();
  b.run.guests = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_bench_sync_guest_free);
  b.run.delays = g_array_new (FALSE, FALSE, sizeof (double));
  b.run.control_arrivals = g_array_new (FALSE, FALSE, sizeof (double));
  b.run.end_or_now = INFINITY;
  b.run.command_line = g_strdup (command->str);
  b.run.machine = rc_bench_machine_describe_full (FALSE, gst_version_string ());
  b.run.jitter_ms = o.jitter_ms;
  b.dir = g_dir_make_tmp ("rc-bench-sync-XXXXXX", &error);
  if (o.keep)
    b.run.dump_dir = b.dir;
  rc_bench_catch_signals ();
  ok = b.dir != NULL && run (&b, &error);
  if (ok)
    {
      b.run.load_after = rc_bench_loadavg ();
      rc_bench_progress ("analysing the recordings");
      g_string_append (out, "Rendering only: the tables below are read from the native guests' "
                            "appsinks and the pages' engine captures, not from an audio device; "
                            "\"At the speaker\" (at the end) is.\n\n");
      rc_bench_sync_report (&b.run, out);
      if (b.speakers != NULL)
        {
          rc_bench_speakers_report (b.speakers, b.run.ideal, b.run.start, b.run.end, out);
          if (o.keep)
            {
              g_autofree char *series = g_build_filename (b.dir, "speakers-series.tsv", NULL);
              g_autoptr (GError) series_error = NULL;

              if (!rc_bench_speakers_write_series (b.speakers, b.run.ideal, series, &series_error))
                g_printerr ("bench-sync: %s\n", series_error->message);
            }
        }
    }
  cleanup (&b);
  if (!ok)
    {
      g_printerr ("bench-sync: %s\n", error != NULL ? error->message : "failed");
      return 1;
    }
  g_print ("%s", out->str);
  if (o.output != NULL && !g_file_set_contents (o.output, out->str, -1, &error))
    g_printerr ("bench-sync: %s\n", error->message);
  return 0;
}

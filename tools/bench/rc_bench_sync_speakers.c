/* SPDX-License-Identifier: MIT */
/*
 * bench-sync at the speaker: what players output through real audio sinks,
 * measured on one sample clock, beside what they believe.
 *
 * The appsink recordings of bench_sync.c say when each native guest's
 * software rendered a sample (rendering only). Here every player has a
 * sink of its own in a private PulseAudio (rc_bench_pulse.c) and the one
 * recording of all sinks says when the sample left each sink: native
 * guests through pulsesink (roomcast-guest --sink), browser pages through
 * Chromium's own PulseAudio output (bench-sync-browser.mjs), and with --peer
 * snapcast Debian's snapserver (a pipe source fed the same click track in
 * real time by gst-launch) with two snapclients (--player pulse). Snapcast
 * plays its own timeline, so only pairs of a kind are compared.
 *
 * Ordering: the audio server first (every player needs its sink), the
 * snapserver before its feeder and clients; at the end the recording stops
 * before the players, the players before the audio server.
 */
#include "rc_bench_sync_speakers.h"
#include "rc_bench_pulse.h"
#include "tools/support/rc_roomcast_process.h"

#include <glib/gstdio.h>
#include <math.h>
#include <sys/stat.h>

#define SNAPCLIENTS 2
#define CLICK_THRESHOLD 0.1
#define MAX_LAG_MS 40
#define MIN_SCORE 0.8

typedef struct
{
  char *name;
  char *kind; /* "roomcast native (WebRTC)", "Snapcast", … */
  guint sink;
  GSubprocess *proc;
  RcRecording *recording;
  GArray *beliefs; /* double ms: its reported error, polled in the window */
  GArray *belief_times; /* double ms, monotonic: when each belief was read */
} Player;

struct _RcBenchSpeakers
{
  RcBenchSpeakersOptions o;
  char *room_id;
  char *snap_dir;
  RcBenchPulse *pulse;
  GPtrArray *players; /* Player* */
  GSubprocess *snapserver, *feeder;
  gint64 next_poll_us;
  gboolean all_reported;
  guint first_browser; /* players from here on are the caller's browser pages */
};

static void
player_free (Player *p)
{
  if (p->proc != NULL)
    rc_roomcast_child_stop (p->proc, 5);
  g_clear_object (&p->proc);
  g_clear_pointer (&p->recording, rc_recording_free);
  g_array_unref (p->beliefs);
  g_array_unref (p->belief_times);
  g_free (p->name);
  g_free (p->kind);
  g_free (p);
}

static Player *
player_add (RcBenchSpeakers *self, const char *name, const char *kind)
{
  Player *p = g_new0 (Player, 1);

  p->name = g_strdup (name);
  p->kind = g_strdup (kind);
  p->sink = self->players->len;
  p->beliefs = g_array_new (FALSE, FALSE, sizeof (double));
  p->belief_times = g_array_new (FALSE, FALSE, sizeof (double));
  g_ptr_array_add (self->players, p);
  return p;
}

static GSubprocessLauncher *
launcher_for (RcBenchSpeakers *self, Player *p, const char *log_name)
{
  GSubprocessLauncher *launcher = rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *log = g_build_filename (self->o.dir, log_name, NULL);

  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  rc_bench_pulse_setenv (self->pulse, launcher, p != NULL ? (int) p->sink : -1);
  return launcher;
}

static gboolean
start_native (RcBenchSpeakers *self, Player *p, const char *transport, GError **error)
{
  g_autofree char *log_name = g_strdup_printf ("%s.log", p->name);
  g_autoptr (GSubprocessLauncher) launcher = launcher_for (self, p, log_name);
  g_autofree char *sink = g_strdup_printf ("pulsesink device=%s",
                                           rc_bench_pulse_get_sink (self->pulse, p->sink));
  const char *url = rc_bench_server_get_url (self->o.server);

  p->proc = g_subprocess_launcher_spawn (launcher, error, self->o.guest, "--server", url,
                                         "--room", self->room_id, "--name", p->name,
                                         "--transport", transport, "--sink", sink,
                                         self->o.no_realtime ? "--no-realtime" : NULL, NULL);
  return p->proc != NULL;
}

static gboolean
start_snapcast (RcBenchSpeakers *self, GError **error)
{
  guint stream_port = rc_roomcast_free_port (G_SOCKET_TYPE_STREAM);
  guint control_port = rc_roomcast_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *fifo = NULL, *conf = NULL, *text = NULL, *location = NULL, *port = NULL;
  g_autoptr (GSubprocessLauncher) server_launcher = NULL, feed_launcher = NULL;

  if (stream_port == 0 || control_port == 0 || stream_port == control_port)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no free ports for Snapcast");
      return FALSE;
    }
  self->snap_dir = g_build_filename (self->o.dir, "snapcast", NULL);
  fifo = g_build_filename (self->snap_dir, "clicks.fifo", NULL);
  conf = g_build_filename (self->snap_dir, "snapserver.conf", NULL);
  if (g_mkdir_with_parents (self->snap_dir, 0700) != 0 || mkfifo (fifo, 0600) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make %s", fifo);
      return FALSE;
    }
  text = g_strdup_printf ("[server]\ndatadir = %s\n\n[http]\nenabled = false\n\n"
                          "[tcp]\nenabled = true\nbind_to_address = 127.0.0.1\nport = %u\n\n"
                          "[stream]\nbind_to_address = 127.0.0.1\nport = %u\n"
                          "source = pipe://%s?name=clicks&sampleformat=48000:16:2&mode=read\n"
                          "buffer = 1000\n\n[logging]\nfilter = *:notice\n",
                          self->snap_dir, control_port, stream_port, fifo);
  if (!g_file_set_contents (conf, text, -1, error))
    return FALSE;
  server_launcher = launcher_for (self, NULL, "snapserver.log");
  self->snapserver = g_subprocess_launcher_spawn (server_launcher, error, "snapserver", "-c", conf,
                                                  NULL);
  if (self->snapserver == NULL)
    return FALSE;
  /* The same click track, in real time, into the pipe. */
  feed_launcher = launcher_for (self, NULL, "snapcast-feed.log");
  location = g_strdup_printf ("location=%s", self->o.click_track);
  g_free (text);
  text = g_strdup_printf ("location=%s", fifo);
  self->feeder = g_subprocess_launcher_spawn (
    feed_launcher, error, "gst-launch-1.0", "-q", "filesrc", location, "!", "wavparse", "!",
    "audioconvert", "!", "audioresample", "!",
    "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2", "!", "identity",
    "sync=true", "!", "filesink", text, NULL);
  if (self->feeder == NULL)
    return FALSE;
  port = g_strdup_printf ("%u", stream_port);
  for (guint i = 0; i < SNAPCLIENTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("snapclient-%u", i + 1);
      g_autofree char *log_name = g_strdup_printf ("%s.log", name);
      g_autofree char *instance = g_strdup_printf ("%u", i + 1);
      Player *p = player_add (self, name, "Snapcast");
      g_autoptr (GSubprocessLauncher) launcher = launcher_for (self, p, log_name);

      p->proc = g_subprocess_launcher_spawn (
        launcher, error, "snapclient", "-h", "127.0.0.1", "-p", port, "--player", "pulse",
        "--soundcard", rc_bench_pulse_get_sink (self->pulse, p->sink), "--hostID", name,
        "--instance", instance, NULL);
      if (p->proc == NULL)
        return FALSE;
    }
  return TRUE;
}

RcBenchSpeakers *
rc_bench_speakers_start (const RcBenchSpeakersOptions *options, GError **error)
{
  RcBenchSpeakers *self = g_new0 (RcBenchSpeakers, 1);
  guint sinks = options->natives + (options->snapcast ? SNAPCLIENTS : 0) + options->browsers;

  self->o = *options;
  self->room_id = g_strdup (options->room_id);
  self->players = g_ptr_array_new_with_free_func ((GDestroyNotify) player_free);
  self->pulse = rc_bench_pulse_start (options->dir, sinks, error);
  if (self->pulse == NULL)
    goto failed;
  for (guint i = 0; i < options->natives; i++)
    {
      const char *transport = i % 2 == 0 ? "webrtc" : "ws";
      g_autofree char *name = g_strdup_printf ("speaker-%u", i + 1);
      g_autofree char *kind = g_strdup_printf ("roomcast native (%s)",
                                               i % 2 == 0 ? "WebRTC" : "WebSocket");

      if (!start_native (self, player_add (self, name, kind), transport, error))
        goto failed;
    }
  if (options->snapcast && !start_snapcast (self, error))
    goto failed;
  /* Browser pages: named as bench_sync.c names them, so their reports are their beliefs. */
  self->first_browser = self->players->len;
  for (guint i = 0; i < options->browsers; i++)
    {
      g_autofree char *name = g_strdup_printf ("browser-%u", i + 1);

      player_add (self, name, i % 2 == 0 ? "roomcast browser (WebRTC)" : "roomcast browser (WebSocket)");
    }
  return self;

failed:
  rc_bench_speakers_free (self);
  return NULL;
}

const char *
rc_bench_speakers_get_server (RcBenchSpeakers *self)
{
  return rc_bench_pulse_get_server (self->pulse);
}

const char *
rc_bench_speakers_get_browser_sink (RcBenchSpeakers *self, guint index)
{
  Player *p;

  g_return_val_if_fail (index < self->o.browsers, NULL);
  p = self->players->pdata[self->first_browser + index];
  return rc_bench_pulse_get_sink (self->pulse, p->sink);
}

static Player *
player_by_name (RcBenchSpeakers *self, const char *name)
{
  for (guint i = 0; i < self->players->len; i++)
    {
      Player *p = self->players->pdata[i];

      if (g_str_equal (p->name, name))
        return p;
    }
  return NULL;
}

/* The room's stats: each native speaker's latest report; TRUE when all have one. */
static gboolean
read_beliefs (RcBenchSpeakers *self, gboolean keep)
{
  g_autoptr (JsonObject) stats = rc_bench_server_room_stats (self->o.server, self->room_id);
  JsonArray *guests = stats != NULL ? json_object_get_array_member (stats, "guests") : NULL;
  guint seen = 0;

  for (guint i = 0; guests != NULL && i < json_array_get_length (guests); i++)
    {
      JsonObject *g = json_array_get_object_element (guests, i);
      Player *p = player_by_name (self, json_object_get_string_member_with_default (g, "name", ""));
      double e = json_object_get_double_member_with_default (g, "error", NAN);

      if (p == NULL || isnan (e))
        continue;
      seen++;
      if (keep)
        {
          double now = g_get_monotonic_time () / 1000.0;

          g_array_append_val (p->beliefs, e);
          g_array_append_val (p->belief_times, now);
        }
    }
  return seen >= self->o.natives;
}

gboolean
rc_bench_speakers_ready (gpointer data)
{
  RcBenchSpeakers *self = data;

  if (g_get_monotonic_time () < self->next_poll_us)
    return FALSE;
  self->next_poll_us = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  self->all_reported = self->all_reported || read_beliefs (self, FALSE);
  return self->all_reported;
}

void
rc_bench_speakers_record (RcBenchSpeakers *self)
{
  g_autoptr (GError) error = NULL;

  if (!rc_bench_pulse_record (self->pulse, &error))
    rc_bench_progress ("speakers: %s", error->message);
}

void
rc_bench_speakers_poll_beliefs (RcBenchSpeakers *self)
{
  read_beliefs (self, TRUE);
}

void
rc_bench_speakers_stop (RcBenchSpeakers *self)
{
  rc_bench_pulse_stop_recording (self->pulse);
  for (guint i = 0; i < self->players->len; i++)
    {
      Player *p = self->players->pdata[i];

      p->recording = rc_bench_pulse_take (self->pulse, p->sink, p->name);
      if (p->proc != NULL)
        rc_roomcast_child_stop (p->proc, 5);
    }
  if (self->feeder != NULL)
    rc_roomcast_child_stop (self->feeder, 2);
  if (self->snapserver != NULL)
    rc_roomcast_child_stop (self->snapserver, 5);
}

static void
stats_cells (GString *out, GArray *skews, double start, double end)
{
  RcSkewStats s;

  rc_skew_stats (skews, start, end, &s);
  if (s.n == 0)
    g_string_append (out, " 0 | – | – | – | – |");
  else
    g_string_append_printf (out, " %u | %+.2f | %.2f | %.2f | %.2f |", s.n, s.mean, s.p50, s.p95,
                            s.max);
}

static int
compare_abs (gconstpointer a, gconstpointer b)
{
  double x = fabs (*(const double *) a), y = fabs (*(const double *) b);

  return (x > y) - (x < y);
}

/* The belief's median and p95 of |belief| (ms), or "–". */
static char *
belief_cells (GArray *beliefs)
{
  g_autoptr (GArray) sorted = g_array_copy (beliefs);
  double mid, p95;

  if (sorted->len == 0)
    return g_strdup (" – | – |");
  g_array_sort (sorted, compare_abs);
  mid = g_array_index (sorted, double, sorted->len / 2);
  p95 = fabs (g_array_index (sorted, double, MIN (sorted->len - 1, (guint) (sorted->len * 0.95))));
  return g_strdup_printf (" %+.2f | %.2f |", mid, p95);
}

void
rc_bench_speakers_report (RcBenchSpeakers *self, RcRecording *ideal, double start, double end,
                          GString *out)
{
  g_string_append (out, "\n### At the speaker (each player its own PulseAudio sink, one recording clock)\n\n"
                        "| pair | clicks | mean ms | \\|skew\\| p50 | p95 | max |\n|---|---|---|---|---|---|\n");
  for (guint i = 0; i < self->players->len; i++)
    for (guint j = i + 1; j < self->players->len; j++)
      {
        Player *a = self->players->pdata[i], *b = self->players->pdata[j];
        g_autoptr (GArray) skews = NULL;

        if (a->recording == NULL || b->recording == NULL
            || g_str_equal (a->kind, "Snapcast") != g_str_equal (b->kind, "Snapcast"))
          continue;
        skews = rc_recording_compare (a->recording, b->recording, RC_RECORDING_HOST,
                                      CLICK_THRESHOLD, MAX_LAG_MS, MIN_SCORE);
        g_string_append_printf (out, "| %s ↔ %s (%s) |", a->name, b->name,
                                g_str_equal (a->kind, "Snapcast") ? "Snapcast" : "roomcast");
        stats_cells (out, skews, start, end);
        g_string_append (out, "\n");
      }
  g_string_append (out, "\nEach roomcast player against the ideal C + D: *truth* measured at its sink, "
                        "*belief* the error it reported to the room (median, p95 of |belief|).\n\n"
                        "| player | kind | truth: clicks | mean ms | \\|err\\| p50 | p95 | max | belief: median ms | p95 |\n"
                        "|---|---|---|---|---|---|---|---|---|\n");
  for (guint i = 0; i < self->players->len; i++)
    {
      Player *p = self->players->pdata[i];
      g_autoptr (GArray) skews = NULL;
      g_autofree char *belief = NULL;

      if (g_str_equal (p->kind, "Snapcast"))
        continue;
      g_string_append_printf (out, "| %s | %s |", p->name, p->kind);
      if (ideal != NULL && p->recording != NULL)
        skews = rc_recording_compare (ideal, p->recording, RC_RECORDING_HOST, CLICK_THRESHOLD,
                                      MAX_LAG_MS, MIN_SCORE);
      if (skews != NULL)
        stats_cells (out, skews, start, end);
      else
        g_string_append (out, " – | – | – | – | – |");
      belief = belief_cells (p->beliefs);
      g_string_append_printf (out, "%s\n", belief);
    }
}

/* One line per click and player (its truth against C + D) and per belief
 * read: "player<TAB>truth|belief<TAB>ms (monotonic)<TAB>error ms". */
gboolean
rc_bench_speakers_write_series (RcBenchSpeakers *self, RcRecording *ideal, const char *path,
                                GError **error)
{
  g_autoptr (GString) out = g_string_new ("player\tkind\ttime_ms\terror_ms\n");

  for (guint i = 0; i < self->players->len; i++)
    {
      Player *p = self->players->pdata[i];
      g_autoptr (GArray) skews = NULL;

      if (ideal != NULL && p->recording != NULL && !g_str_equal (p->kind, "Snapcast"))
        skews = rc_recording_compare (ideal, p->recording, RC_RECORDING_HOST, CLICK_THRESHOLD,
                                      MAX_LAG_MS, MIN_SCORE);
      for (guint k = 0; skews != NULL && k < skews->len; k++)
        {
          RcSkew *s = &g_array_index (skews, RcSkew, k);

          g_string_append_printf (out, "%s\ttruth\t%.1f\t%.3f\n", p->name, s->time, s->skew);
        }
      for (guint k = 0; k < p->beliefs->len; k++)
        g_string_append_printf (out, "%s\tbelief\t%.1f\t%.3f\n", p->name,
                                g_array_index (p->belief_times, double, k),
                                g_array_index (p->beliefs, double, k));
    }
  return g_file_set_contents (path, out->str, (gssize) out->len, error);
}

void
rc_bench_speakers_free (RcBenchSpeakers *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->players);
  if (self->feeder != NULL)
    rc_roomcast_child_stop (self->feeder, 2);
  if (self->snapserver != NULL)
    rc_roomcast_child_stop (self->snapserver, 5);
  g_clear_object (&self->feeder);
  g_clear_object (&self->snapserver);
  g_clear_pointer (&self->pulse, rc_bench_pulse_free);
  if (self->snap_dir != NULL)
    {
      g_autofree char *fifo = g_build_filename (self->snap_dir, "clicks.fifo", NULL);
      g_autofree char *conf = g_build_filename (self->snap_dir, "snapserver.conf", NULL);

      g_unlink (fifo);
      g_unlink (conf);
      g_rmdir (self->snap_dir);
    }
  g_free (self->snap_dir);
  g_free (self->room_id);
  g_free (self);
}

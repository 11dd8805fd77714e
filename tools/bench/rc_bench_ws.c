/* SPDX-License-Identifier: MIT */
/*
 * The WebSocket half of bench-fanout (see rc_bench_ws.h). One
 * roomcast-loadgen process holds every listener (it is told "ws N" or
 * "http N" on its stdin and answers with JSON lines); this file raises the
 * levels, reads the server's CPU, memory and threads from /proc around
 * each steady window, and writes the tables.
 *
 * Order of a run: roomcast levels (WebSocket guests), the guests leave,
 * the roomcast stops, Icecast starts on the same core with its source,
 * the same levels of HTTP listeners, Icecast stops. A level past which a
 * server cannot carry its listeners (most joins failing, its core full, or
 * more than half its frames late) ends that server's levels; the bound of
 * the summary (0.1% late) is stricter, so the tables show how lateness grows.
 */
#include "rc_bench_icecast.h"
#include "rc_bench_ws.h"
#include "tools/support/rc_roomcast_process.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the load generator process ---- */

typedef struct
{
  GSubprocess *proc;
  GOutputStream *in;
  GDataInputStream *out;
  GQueue lines; /* char *, unread */
  gboolean eof;
} Loadgen;

static void
on_line (GObject *source, GAsyncResult *result, gpointer data)
{
  Loadgen *lg = data;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);

  if (line == NULL)
    {
      lg->eof = TRUE;
      return;
    }
  g_queue_push_tail (&lg->lines, line);
  g_data_input_stream_read_line_async (lg->out, G_PRIORITY_DEFAULT, NULL, on_line, lg);
}

static Loadgen *
loadgen_spawn (const RcBenchWsOptions *o, const char *http_url, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *log = g_build_filename (o->tmp_dir, "loadgen.log", NULL);
  g_autofree char *late = g_strdup_printf ("%g", o->late_ms);
  g_autofree char *rate = g_strdup_printf ("%u", o->join_rate);
  g_autofree char *join_timeout = g_strdup_printf ("%u", o->join_timeout_s);
  g_autofree char *server = g_strdup (rc_bench_server_get_url (o->server));
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  Loadgen *lg;

  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  if (o->loadgen_setup != NULL)
    g_subprocess_launcher_set_child_setup (launcher, o->loadgen_setup, o->loadgen_setup_data,
                                           NULL);
  g_ptr_array_add (argv, (gpointer) o->loadgen);
  g_ptr_array_add (argv, "--commands");
  g_ptr_array_add (argv, "--quiet");
  g_ptr_array_add (argv, "--late-ms");
  g_ptr_array_add (argv, late);
  g_ptr_array_add (argv, "--rate");
  g_ptr_array_add (argv, rate);
  g_ptr_array_add (argv, "--join-timeout");
  g_ptr_array_add (argv, join_timeout);
  /* One server at a time: the roomcast's guests, or the mount's listeners. */
  if (http_url != NULL)
    {
      g_ptr_array_add (argv, "--http-url");
      g_ptr_array_add (argv, (gpointer) http_url);
    }
  else
    {
      g_ptr_array_add (argv, "--server");
      g_ptr_array_add (argv, server);
      g_ptr_array_add (argv, "--room");
      g_ptr_array_add (argv, (gpointer) o->room_id);
    }
  g_ptr_array_add (argv, NULL);
  lg = g_new0 (Loadgen, 1);
  lg->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (lg->proc == NULL)
    {
      g_free (lg);
      return NULL;
    }
  lg->in = g_subprocess_get_stdin_pipe (lg->proc);
  lg->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (lg->proc));
  g_data_input_stream_read_line_async (lg->out, G_PRIORITY_DEFAULT, NULL, on_line, lg);
  return lg;
}

static void
loadgen_free (Loadgen *lg)
{
  if (lg == NULL)
    return;
  g_output_stream_write_all (lg->in, "quit\n", 5, NULL, NULL, NULL);
  rc_roomcast_child_stop (lg->proc, 5);
  g_queue_clear_full (&lg->lines, g_free);
  g_object_unref (lg->out);
  g_object_unref (lg->proc);
  g_free (lg);
}

static void
loadgen_send (Loadgen *lg, const char *line)
{
  g_output_stream_write_all (lg->in, line, strlen (line), NULL, NULL, NULL);
  g_output_stream_write_all (lg->in, "\n", 1, NULL, NULL, NULL);
  g_output_stream_flush (lg->in, NULL, NULL);
}

typedef struct
{
  Loadgen *lg;
  const char *type;
  JsonObject *found;
} Wait;

static gboolean
has_type (gpointer data)
{
  Wait *w = data;

  while (!g_queue_is_empty (&w->lg->lines))
    {
      g_autofree char *line = g_queue_pop_head (&w->lg->lines);
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *root;

      if (!json_parser_load_from_data (parser, line, -1, NULL))
        continue;
      root = json_parser_get_root (parser);
      if (JSON_NODE_HOLDS_OBJECT (root)
          && g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root),
                                                                    "type", ""),
                        w->type)
               == 0)
        {
          w->found = json_object_ref (json_node_get_object (root));
          return TRUE;
        }
    }
  return w->lg->eof;
}

/* Sends @command and returns the next line of @type (NULL on timeout or exit). */
static JsonObject *
loadgen_ask (Loadgen *lg, const char *command, const char *type, double timeout_ms)
{
  Wait w = { lg, type, NULL };

  loadgen_send (lg, command);
  rc_bench_wait (has_type, &w, timeout_ms);
  return w.found;
}

/* ---- one level ---- */

typedef struct
{
  guint n;
  guint added;
  guint receiving, failed;
  gboolean measured;
  double window_s;
  double server_pct, loadgen_pct;
  guint64 rss_kib;
  guint threads;
  gint64 frames, lost, late, early, silent;
  double p50, p99, max;
  double join_wall_s, join_cpu_s, net_join_ms;
  gint64 joins;
  double join_mean_ms, join_p99_ms;
  gint64 closed_by_peer, stalls;
  char *note;
} Level;

typedef struct
{
  const char *name;    /* "roomcast" or "Icecast" */
  const char *kind;    /* the loadgen's "ws" or "http" */
  const char *counts;  /* its counts member: "ws" or "http" */
  const char *population;
  GPid pid;
  RcBenchProc baseline;
  double baseline_pct;
  GPtrArray *levels;   /* Level* */
} Side;

static void
level_free (gpointer data)
{
  Level *l = data;

  g_free (l->note);
  g_free (l);
}

static void
read_population (JsonObject *w, const char *member, guint *receiving, guint *failed,
                 guint *joining)
{
  JsonObject *p = json_object_get_object_member (w, member);

  *receiving = (guint) json_object_get_int_member_with_default (p, "receiving", 0);
  *failed = (guint) json_object_get_int_member_with_default (p, "failed", 0);
  *joining = (guint) json_object_get_int_member_with_default (p, "joining", 0);
}

static double
pct_of (guint64 ticks, gint64 us)
{
  return us > 0 ? 100.0 * rc_bench_ticks_to_s (ticks) / (us / 1e6) : 0;
}

/* Raises the listeners to @l->n and waits until each has audio or failed;
 * FALSE when it got nowhere. */
static gboolean
join_level (const RcBenchWsOptions *o, Loadgen *lg, Side *side, Level *l, double prev_rate)
{
  g_autofree char *command = g_strdup_printf ("%s %u", side->kind, l->n);
  RcBenchProc j0, j1;
  gint64 t0 = g_get_monotonic_time (), last_progress = t0;
  guint last_count = 0;
  g_autoptr (JsonObject) w = NULL;

  rc_bench_proc_read (side->pid, &j0);
  g_clear_pointer (&w, json_object_unref);
  w = loadgen_ask (lg, command, "ok", 5000);
  for (;;)
    {
      guint receiving, failed, joining;

      rc_bench_wait (NULL, NULL, 500);
      g_clear_pointer (&w, json_object_unref);
      w = loadgen_ask (lg, "window", "window", 10000);
      if (w == NULL || rc_bench_interrupted ())
        return FALSE;
      read_population (w, side->population, &receiving, &failed, &joining);
      l->receiving = receiving;
      l->failed = failed;
      if (receiving + failed >= l->n)
        break;
      if (receiving + failed != last_count)
        {
          last_count = receiving + failed;
          last_progress = g_get_monotonic_time ();
        }
      if (g_get_monotonic_time () - last_progress > (gint64) o->join_timeout_s * G_USEC_PER_SEC)
        {
          l->note = g_strdup_printf ("joins stalled at %u with audio, %u joining", receiving,
                                     joining);
          break;
        }
      if (g_get_monotonic_time () > o->deadline_us)
        {
          l->note = g_strdup_printf ("time budget spent during joins (%u with audio)", receiving);
          break;
        }
    }
  rc_bench_proc_read (side->pid, &j1);
  l->join_wall_s = (g_get_monotonic_time () - t0) / 1e6;
  l->join_cpu_s = rc_bench_ticks_to_s (j1.cpu_ticks - j0.cpu_ticks);
  l->net_join_ms = l->added > 0 ? (l->join_cpu_s - prev_rate * l->join_wall_s) / l->added * 1000 : 0;
  l->joins = json_object_get_int_member_with_default (w, "joins", 0);
  l->join_mean_ms = json_object_get_double_member_with_default (w, "joinMeanMs", 0);
  l->join_p99_ms = json_object_get_double_member_with_default (w, "joinP99Ms", 0);
  return l->receiving > 0;
}

static void
measure_level (const RcBenchWsOptions *o, Loadgen *lg, Side *side, Level *l)
{
  RcBenchProc w0, w1;
  gint64 t0, t1;
  g_autoptr (JsonObject) marked = NULL;
  g_autoptr (JsonObject) w = NULL;
  JsonObject *c;
  guint joining;

  rc_bench_wait (NULL, NULL, o->settle_s * 1000);
  marked = loadgen_ask (lg, "mark", "marked", 5000);
  t0 = g_get_monotonic_time ();
  rc_bench_proc_read (side->pid, &w0);
  rc_bench_wait (NULL, NULL, o->window_s * 1000);
  rc_bench_proc_read (side->pid, &w1);
  t1 = g_get_monotonic_time ();
  w = loadgen_ask (lg, "window", "window", 10000);
  if (w == NULL || !w1.ok)
    return;
  l->measured = TRUE;
  l->window_s = (t1 - t0) / 1e6;
  l->server_pct = pct_of (w1.cpu_ticks - w0.cpu_ticks, t1 - t0);
  l->rss_kib = w1.rss_kib;
  l->threads = w1.threads;
  l->loadgen_pct = json_object_get_double_member_with_default (w, "cpu", 0);
  read_population (w, side->population, &l->receiving, &l->failed, &joining);
  c = json_object_get_object_member (w, side->counts);
  l->frames = json_object_get_int_member_with_default (c, "frames", 0);
  l->lost = json_object_get_int_member_with_default (c, "lost", 0);
  l->late = json_object_get_int_member_with_default (c, "late", 0);
  l->early = json_object_get_int_member_with_default (c, "early", 0);
  l->p50 = json_object_get_double_member_with_default (c, "p50", 0);
  l->p99 = json_object_get_double_member_with_default (c, "p99", 0);
  l->max = json_object_get_double_member_with_default (c, "max", 0);
  l->silent = json_object_get_int_member_with_default (
    w, g_str_equal (side->kind, "ws") ? "silentWs" : "silentHttp", 0);
  l->closed_by_peer = json_object_get_int_member_with_default (w, "closedByPeer", 0);
  l->stalls = json_object_get_int_member_with_default (w, "httpStalls", 0);
}

/* Within the bound: every listener had audio all through, nothing lost,
 * at most 0.1% late, the server under 80% of its core. */
static gboolean
held (const Level *l)
{
  return l->measured && l->receiving == l->n && l->failed == 0 && l->silent == 0 && l->lost == 0
         && l->late <= 0.001 * (double) l->frames && l->server_pct <= 80;
}

static void
run_side (const RcBenchWsOptions *o, Loadgen *lg, Side *side)
{
  double prev_rate = side->baseline_pct / 100.0;
  guint present = 0;

  for (guint i = 0; i < o->n_levels && !rc_bench_interrupted (); i++)
    {
      Level *l = g_new0 (Level, 1);

      l->n = o->levels[i];
      l->added = l->n - present;
      g_ptr_array_add (side->levels, l);
      if (g_get_monotonic_time () > o->deadline_us)
        {
          l->note = g_strdup ("skipped: the time budget was spent");
          break;
        }
      rc_bench_progress ("%s: %u %s listeners", side->name, l->n, side->kind);
      if (!join_level (o, lg, side, l, prev_rate))
        {
          if (l->note == NULL)
            l->note = g_strdup ("no listener got audio");
          break;
        }
      present = l->n;
      measure_level (o, lg, side, l);
      rc_bench_progress ("%s N=%u: %u receiving, server %.1f%% CPU, %.1f MiB, %u threads; "
                         "%" G_GINT64_FORMAT " frames, %" G_GINT64_FORMAT " lost, %" G_GINT64_FORMAT
                         " late (p99 %.0f ms)",
                         side->name, l->n, l->receiving, l->server_pct, l->rss_kib / 1024.0,
                         l->threads, l->frames, l->lost, l->late, l->p99);
      prev_rate = l->server_pct / 100.0;
      if (!l->measured || l->failed > l->n / 100 || l->server_pct > 95
          || l->late > 0.5 * (double) l->frames || l->note != NULL)
        {
          if (l->note == NULL)
            l->note = g_strdup ("past what the server carries: no higher level");
          break;
        }
    }
  {
    JsonObject *ok = loadgen_ask (lg, g_str_equal (side->kind, "ws") ? "ws 0" : "http 0", "ok", 5000);

    if (ok != NULL)
      json_object_unref (ok);
  }
}

/* ---- the tables ---- */

static void
side_table (GString *out, const Side *side, const RcBenchWsOptions *o)
{
  g_string_append_printf (out, "### %s: %s listeners\n\n", side->name,
                          g_str_equal (side->kind, "ws") ? "WebSocket" : "HTTP (Ogg/Opus)");
  g_string_append_printf (out, "Before any listener: %.1f%% CPU, %.1f MiB RSS, %u threads.\n\n",
                          side->baseline_pct, side->baseline.rss_kib / 1024.0,
                          side->baseline.threads);
  g_string_append (out, "| N | with audio | server CPU % | CPU % per 1,000 | RSS MiB | RSS KiB/listener "
                        "| threads | frames | lost | late | late % | behind slot p50/p99/max ms "
                        "| silent | join s | join CPU ms/listener (net) | to audio p99 ms "
                        "| loadgen CPU % |\n");
  g_string_append (out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|\n");
  for (guint i = 0; i < side->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (side->levels, i);

      if (!l->measured)
        {
          g_string_append_printf (out, "| %u | %u | — | — | — | — | — | — | — | — | — | — | — "
                                       "| %.1f | — | — | — |\n",
                                  l->n, l->receiving, l->join_wall_s);
          continue;
        }
      g_string_append_printf (
        out,
        "| %u | %u | %.1f | %.2f | %.1f | %.1f | %u | %" G_GINT64_FORMAT " | %" G_GINT64_FORMAT
        " | %" G_GINT64_FORMAT " | %.3f | %.0f / %.0f / %.0f | %" G_GINT64_FORMAT
        " | %.1f | %.2f (%.2f) | %.0f | %.0f |\n",
        l->n, l->receiving, l->server_pct,
        (l->server_pct - side->baseline_pct) * 1000.0 / l->n, l->rss_kib / 1024.0,
        ((double) l->rss_kib - (double) side->baseline.rss_kib) / l->n, l->threads, l->frames,
        l->lost, l->late, l->frames > 0 ? 100.0 * l->late / l->frames : 0, l->p50, l->p99, l->max,
        l->silent, l->join_wall_s, l->added > 0 ? l->join_cpu_s / l->added * 1000 : 0,
        l->net_join_ms, l->join_p99_ms, l->loadgen_pct);
    }
  for (guint i = 0; i < side->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (side->levels, i);

      if (l->note != NULL || l->closed_by_peer > 0 || l->stalls > 0 || l->early > 0)
        g_string_append_printf (out, "- N=%u: %s%s%" G_GINT64_FORMAT " closed by the server, %"
                                G_GINT64_FORMAT " stalls (> %s), %" G_GINT64_FORMAT
                                " frames before their slot\n",
                                l->n, l->note != NULL ? l->note : "", l->note != NULL ? "; " : "",
                                l->closed_by_peer, l->stalls, "--stall-ms", l->early);
    }
  g_string_append (out, "\n");
  (void) o;
}

/* The largest level within the bound, or NULL. */
static const Level *
best_held (const Side *side)
{
  const Level *best = NULL;

  for (guint i = 0; i < side->levels->len; i++)
    {
      const Level *l = g_ptr_array_index (side->levels, i);

      if (held (l))
        best = l;
    }
  return best;
}

static double
per_core (const Level *l)
{
  return l != NULL && l->server_pct > 0 ? l->n * 100.0 / l->server_pct : 0;
}

static void
summary (GString *out, const Side *rc, const Side *ice, const RcBenchWsOptions *o)
{
  const Level *a = best_held (rc);
  const Level *b = ice != NULL ? best_held (ice) : NULL;

  g_string_append_printf (out, "### Listeners per core at the same bound\n\n"
                               "Bound: every listener with audio all through the window, none "
                               "lost, at most 0.1%% of frames more than %.0f ms behind their slot "
                               "(roomcast: the frame's C on the server clock; Icecast: the "
                               "listener's best transit of the stream's timeline), the server at "
                               "most 80%% of its core.\n\n",
                          o->late_ms);
  g_string_append (out, "| server | most listeners held | its CPU % | listeners per core |\n");
  g_string_append (out, "|---|---:|---:|---:|\n");
  g_string_append_printf (out, "| roomcast (WebSocket) | %u | %.1f | %.0f |\n", a != NULL ? a->n : 0,
                          a != NULL ? a->server_pct : 0, per_core (a));
  if (ice != NULL)
    g_string_append_printf (out, "| Icecast (HTTP) | %u | %.1f | %.0f |\n", b != NULL ? b->n : 0,
                            b != NULL ? b->server_pct : 0, per_core (b));
  if (a != NULL && b != NULL && per_core (b) > 0)
    g_string_append_printf (out, "\nroomcast / Icecast: %.2f× the listeners held, %.2f× the "
                                 "listeners per core.\n\n",
                            (double) a->n / b->n, per_core (a) / per_core (b));
  else
    g_string_append (out, "\nNo ratio: a server held no level within the bound.\n\n");
}

/* ---- the run ---- */

static void
read_baseline (GPid pid, RcBenchProc *proc, double *pct)
{
  RcBenchProc a;
  gint64 t0 = g_get_monotonic_time ();

  rc_bench_proc_read (pid, &a);
  rc_bench_wait (NULL, NULL, 3000);
  rc_bench_proc_read (pid, proc);
  *pct = pct_of (proc->cpu_ticks - a.cpu_ticks, g_get_monotonic_time () - t0);
}

gboolean
rc_bench_ws_run (const RcBenchWsOptions *o, GString *out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcBenchIcecast) icecast = NULL;
  g_autofree char *ice_dir = g_build_filename (o->tmp_dir, "icecast", NULL);
  Side rc = { .name = "roomcast", .kind = "ws", .counts = "ws", .population = "wsGuests" };
  Side ice = { .name = "Icecast", .kind = "http", .counts = "http", .population = "httpListeners" };
  Loadgen *lg;
  gboolean ok = TRUE;

  rc.pid = rc_bench_server_get_pid (o->server);
  rc.baseline = o->baseline;
  rc.baseline_pct = o->baseline_pct;
  rc.levels = g_ptr_array_new_with_free_func (level_free);
  ice.levels = g_ptr_array_new_with_free_func (level_free);

  lg = loadgen_spawn (o, NULL, &error);
  if (lg == NULL)
    {
      g_string_append_printf (out, "The load generator did not start: %s\n", error->message);
      return FALSE;
    }
  run_side (o, lg, &rc);
  loadgen_free (lg);
  if (o->stop_server != NULL)
    o->stop_server (o->stop_data);

  if (o->icecast && !rc_bench_interrupted ())
    {
      RcBenchIcecastOptions io = { 0 };
      guint most = o->levels[o->n_levels - 1];

      g_mkdir_with_parents (ice_dir, 0755);
      io.dir = ice_dir;
      io.max_listeners = most;
      io.child_setup = o->server_setup;
      io.child_setup_data = o->server_setup_data;
      rc_bench_progress ("starting icecast2 and its source");
      icecast = rc_bench_icecast_start (&io, &error);
      if (icecast == NULL)
        {
          rc_bench_progress ("Icecast: %s", error->message);
          g_string_append_printf (out, "Icecast did not start: %s\n\n", error->message);
        }
      else
        {
          ice.pid = rc_bench_icecast_get_pid (icecast);
          read_baseline (ice.pid, &ice.baseline, &ice.baseline_pct);
          lg = loadgen_spawn (o, rc_bench_icecast_get_mount_url (icecast), &error);
          if (lg != NULL)
            {
              run_side (o, lg, &ice);
              loadgen_free (lg);
            }
        }
    }

  side_table (out, &rc, o);
  if (icecast != NULL)
    side_table (out, &ice, o);
  summary (out, &rc, icecast != NULL ? &ice : NULL, o);
  ok = rc.levels->len > 0;
  g_ptr_array_unref (rc.levels);
  g_ptr_array_unref (ice.levels);
  return ok;
}

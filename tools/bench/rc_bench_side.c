/* SPDX-License-Identifier: MIT */
/*
 * A side of bench-fanout's runs through roomcast-loadgen (see
 * rc_bench_side.h): the one loadgen process (told "ws N", "http N",
 * "rate N", "mark", "window" on its stdin, answering with JSON lines), the
 * levels of one server, and its table. Both the WebSocket/Icecast run and
 * the WebRTC/webrtcbin/Janus run are made of these, so every server is
 * joined, measured and judged the same way.
 *
 * A level past which a server cannot carry its listeners (most joins
 * failing, its core full, more than half its frames late, or more lost than
 * the side allows) ends that side; the bound of the summaries (0.1% late,
 * none lost) is stricter, so the tables show how lateness grows.
 */
#include "rc_bench_side.h"
#include "tools/support/rc_roomcast_process.h"

#include <stdlib.h>
#include <string.h>

/* ---- the load generator process ---- */

struct _RcBenchLoadgen
{
  GSubprocess *proc;
  GOutputStream *in;
  GDataInputStream *out;
  GQueue lines; /* char *, unread */
  gboolean eof;
};

static void
on_line (GObject *source, GAsyncResult *result, gpointer data)
{
  RcBenchLoadgen *lg = data;
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

RcBenchLoadgen *
rc_bench_loadgen_spawn (const RcBenchSideOptions *o, const char *const *args, const char *log_name,
                        GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *log = g_build_filename (o->tmp_dir, log_name, NULL);
  g_autofree char *late = g_strdup_printf ("%g", o->late_ms);
  g_autofree char *rate = g_strdup_printf ("%u", o->join_rate);
  g_autofree char *join_timeout = g_strdup_printf ("%u", o->join_timeout_s);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  RcBenchLoadgen *lg;

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
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  lg = g_new0 (RcBenchLoadgen, 1);
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

void
rc_bench_loadgen_free (RcBenchLoadgen *lg)
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
loadgen_send (RcBenchLoadgen *lg, const char *line)
{
  g_output_stream_write_all (lg->in, line, strlen (line), NULL, NULL, NULL);
  g_output_stream_write_all (lg->in, "\n", 1, NULL, NULL, NULL);
  g_output_stream_flush (lg->in, NULL, NULL);
}

typedef struct
{
  RcBenchLoadgen *lg;
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

JsonObject *
rc_bench_loadgen_ask (RcBenchLoadgen *lg, const char *command, const char *type, double timeout_ms)
{
  Wait w = { lg, type, NULL };

  loadgen_send (lg, command);
  rc_bench_wait (has_type, &w, timeout_ms);
  return w.found;
}

/* ---- one level ---- */

static void
level_free (gpointer data)
{
  RcBenchLevel *l = data;

  g_free (l->note);
  g_free (l->join_load);
  g_free (l);
}

void
rc_bench_side_init (RcBenchSide *side)
{
  side->done = g_ptr_array_new_with_free_func (level_free);
}

void
rc_bench_side_clear (RcBenchSide *side)
{
  g_clear_pointer (&side->done, g_ptr_array_unref);
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

double
rc_bench_pct_of (guint64 ticks, gint64 us)
{
  return us > 0 ? 100.0 * rc_bench_ticks_to_s (ticks) / (us / 1e6) : 0;
}

void
rc_bench_side_read_baseline (RcBenchSide *side)
{
  RcBenchProc a;
  gint64 t0 = g_get_monotonic_time ();

  rc_bench_proc_read (side->pid, &a);
  rc_bench_wait (NULL, NULL, 3000);
  rc_bench_proc_read (side->pid, &side->baseline);
  side->baseline_pct = rc_bench_pct_of (side->baseline.cpu_ticks - a.cpu_ticks,
                                        g_get_monotonic_time () - t0);
}

/* A loadgen counts object (frames, lost, late and lateness quantiles). */
static void
read_counts (JsonObject *c, gint64 *frames, gint64 *lost, gint64 *late, double *p50, double *p99,
             double *max)
{
  *frames = json_object_get_int_member_with_default (c, "frames", 0);
  *lost = json_object_get_int_member_with_default (c, "lost", 0);
  *late = json_object_get_int_member_with_default (c, "late", 0);
  *p50 = json_object_get_double_member_with_default (c, "p50", 0);
  *p99 = json_object_get_double_member_with_default (c, "p99", 0);
  *max = json_object_get_double_member_with_default (c, "max", 0);
}

/* What the listeners that had audio when the joins began got while they
 * went on: the window's wsSettled (WebSocket guests only). */
static void
read_during (JsonObject *w, RcBenchLevel *l)
{
  JsonObject *c = json_object_has_member (w, "wsSettled")
                    ? json_object_get_object_member (w, "wsSettled")
                    : NULL;

  if (c == NULL || json_object_get_int_member_with_default (c, "frames", 0) == 0)
    return;
  l->during_measured = TRUE;
  read_counts (c, &l->during_frames, &l->during_lost, &l->during_late, &l->during_p50,
               &l->during_p99, &l->during_max);
}

/* Raises the listeners to @l->n and waits until each has audio or failed;
 * FALSE when it got nowhere. The main thread's rate at rest (@prev_main_rate,
 * of a core) and the process's (@prev_rate) are taken off for the net
 * figures. */
static gboolean
join_level (const RcBenchSideOptions *o, RcBenchLoadgen *lg, RcBenchSide *side, RcBenchLevel *l,
            double prev_rate, double prev_main_rate)
{
  g_autofree char *command = g_strdup_printf ("%s %u", side->kind, l->n);
  RcBenchProc j0, j1;
  guint64 main0, main1;
  gint64 t0, last_progress;
  guint last_count = 0;
  g_autoptr (JsonObject) marked = NULL;
  g_autoptr (JsonObject) w = NULL;

  /* The listeners with audio now are the "settled" ones of this window. */
  marked = rc_bench_loadgen_ask (lg, "mark", "marked", 5000);
  t0 = last_progress = g_get_monotonic_time ();
  rc_bench_proc_read (side->pid, &j0);
  main0 = rc_bench_thread_cpu_ns (side->pid, side->pid);
  w = rc_bench_loadgen_ask (lg, command, "ok", 5000);
  for (;;)
    {
      guint receiving, failed, joining;

      rc_bench_wait (NULL, NULL, 500);
      g_clear_pointer (&w, json_object_unref);
      w = rc_bench_loadgen_ask (lg, "window", "window", 10000);
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
  main1 = rc_bench_thread_cpu_ns (side->pid, side->pid);
  l->join_wall_s = (g_get_monotonic_time () - t0) / 1e6;
  l->join_cpu_s = rc_bench_ticks_to_s (j1.cpu_ticks - j0.cpu_ticks);
  l->net_join_ms = l->added > 0 ? (l->join_cpu_s - prev_rate * l->join_wall_s) / l->added * 1000 : 0;
  l->join_main_s = main1 > main0 ? (main1 - main0) / 1e9 : 0;
  l->net_join_main_ms =
    l->added > 0 ? (l->join_main_s - prev_main_rate * l->join_wall_s) / l->added * 1000 : 0;
  l->join_load = rc_bench_loadavg ();
  l->joins = json_object_get_int_member_with_default (w, "joins", 0);
  l->join_mean_ms = json_object_get_double_member_with_default (w, "joinMeanMs", 0);
  l->join_p99_ms = json_object_get_double_member_with_default (w, "joinP99Ms", 0);
  read_during (w, l);
  return l->receiving > 0;
}

/* The engine's server-added latency (its tap to sendmmsg, over its last
 * batches): the room's stats, webrtc member. */
static void
read_engine_latency (RcBenchSide *side, RcBenchLevel *l)
{
  g_autofree char *path = NULL;
  g_autoptr (JsonNode) stats = NULL;
  JsonObject *webrtc;
  guint status = 0;

  l->engine_p50_ms = l->engine_p99_ms = -1;
  if (side->stats_server == NULL)
    return;
  path = g_strdup_printf ("/api/rooms/%s/stats", side->stats_room);
  stats = rc_bench_server_request (side->stats_server, "GET", path, NULL, NULL, &status, NULL);
  if (stats == NULL || !JSON_NODE_HOLDS_OBJECT (stats)
      || !json_object_has_member (json_node_get_object (stats), "webrtc"))
    return;
  webrtc = json_object_get_object_member (json_node_get_object (stats), "webrtc");
  if (webrtc == NULL || !json_object_has_member (webrtc, "latencyP99Ms"))
    return;
  l->engine_p50_ms = json_object_get_double_member_with_default (webrtc, "latencyP50Ms", -1);
  l->engine_p99_ms = json_object_get_double_member_with_default (webrtc, "latencyP99Ms", -1);
}

/* One steady window (after @settle_s): the server from /proc, the
 * listeners from the loadgen. */
static void
measure_level (const RcBenchSideOptions *o, RcBenchLoadgen *lg, RcBenchSide *side,
               RcBenchLevel *l, double settle_s)
{
  RcBenchProc w0, w1;
  guint64 main0, main1;
  gint64 t0, t1;
  g_autoptr (JsonObject) marked = NULL;
  g_autoptr (JsonObject) w = NULL;
  JsonObject *c;
  guint joining;

  rc_bench_wait (NULL, NULL, settle_s * 1000);
  marked = rc_bench_loadgen_ask (lg, "mark", "marked", 5000);
  t0 = g_get_monotonic_time ();
  rc_bench_proc_read (side->pid, &w0);
  main0 = rc_bench_thread_cpu_ns (side->pid, side->pid);
  rc_bench_wait (NULL, NULL, o->window_s * 1000);
  rc_bench_proc_read (side->pid, &w1);
  main1 = rc_bench_thread_cpu_ns (side->pid, side->pid);
  t1 = g_get_monotonic_time ();
  w = rc_bench_loadgen_ask (lg, "window", "window", 10000);
  read_engine_latency (side, l);
  if (w == NULL || !w1.ok)
    return;
  l->measured = TRUE;
  l->window_s = (t1 - t0) / 1e6;
  l->server_pct = rc_bench_pct_of (w1.cpu_ticks - w0.cpu_ticks, t1 - t0);
  l->main_pct = main1 > main0 ? 100.0 * (main1 - main0) / 1e3 / (t1 - t0) : 0;
  l->rss_kib = w1.rss_kib;
  l->threads = w1.threads;
  l->loadgen_pct = json_object_get_double_member_with_default (w, "cpu", 0);
  read_population (w, side->population, &l->receiving, &l->failed, &joining);
  c = json_object_get_object_member (w, side->counts);
  if (l->churn)
    {
      l->all_frames = json_object_get_int_member_with_default (c, "frames", 0);
      l->all_lost = json_object_get_int_member_with_default (c, "lost", 0);
      l->all_late = json_object_get_int_member_with_default (c, "late", 0);
      l->all_p99 = json_object_get_double_member_with_default (c, "p99", 0);
      if (json_object_has_member (w, "wsSettled"))
        c = json_object_get_object_member (w, "wsSettled");
    }
  read_counts (c, &l->frames, &l->lost, &l->late, &l->p50, &l->p99, &l->max);
  l->early = json_object_get_int_member_with_default (c, "early", 0);
  l->silent = json_object_get_int_member_with_default (
    w, g_str_equal (side->kind, "ws") ? "silentWs" : "silentHttp", 0);
  l->closed_by_peer = json_object_get_int_member_with_default (w, "closedByPeer", 0);
  l->stalls = json_object_get_int_member_with_default (w, "httpStalls", 0);
  if (l->churn)
    {
      l->joins = json_object_get_int_member_with_default (w, "joins", 0);
      l->leaves = json_object_get_int_member_with_default (w, "leaves", 0);
      l->churn_joined = (guint) json_object_get_int_member_with_default (w, "churners", 0);
      l->join_mean_ms = json_object_get_double_member_with_default (w, "joinMeanMs", 0);
      l->join_p99_ms = json_object_get_double_member_with_default (w, "joinP99Ms", 0);
    }
}

gboolean
rc_bench_level_held (const RcBenchLevel *l)
{
  return l->measured && !l->churn && l->receiving == l->n && l->failed == 0 && l->silent == 0
         && l->lost == 0 && l->late <= 0.001 * (double) l->frames && l->server_pct <= 80;
}

static gboolean
past_capacity (const RcBenchSide *side, const RcBenchLevel *l)
{
  return !l->measured || l->failed > l->n / 100 || l->server_pct > 95
         || l->late > 0.5 * (double) l->frames || l->note != NULL
         || (side->stop_lost_pct > 0
             && l->lost > side->stop_lost_pct / 100.0 * (double) (l->frames + l->lost));
}

void
rc_bench_side_run (const RcBenchSideOptions *o, RcBenchLoadgen *lg, RcBenchSide *side)
{
  double prev_rate = side->baseline_pct / 100.0;
  double prev_main_rate = 0;
  guint present = 0;
  gboolean churned = side->churn_rate == 0;

  for (guint i = 0; i < side->n_levels && !rc_bench_interrupted (); i++)
    {
      RcBenchLevel *l = g_new0 (RcBenchLevel, 1);

      l->n = side->levels[i];
      l->added = l->n - present;
      g_ptr_array_add (side->done, l);
      if (g_get_monotonic_time () > o->deadline_us)
        {
          l->note = g_strdup ("skipped: the time budget was spent");
          break;
        }
      rc_bench_progress ("%s: %u %s", side->name, l->n, side->title);
      if (!join_level (o, lg, side, l, prev_rate, prev_main_rate))
        {
          if (l->note == NULL)
            l->note = g_strdup ("no listener got audio");
          break;
        }
      present = l->n;
      measure_level (o, lg, side, l, o->settle_s);
      /* Net of streaming: while the level's guests join, the streaming
       * grows from the last level's rate to this one's (taken as a ramp),
       * and none of that is the joins' own. */
      if (l->measured && l->added > 0)
        l->net_join_ms = (l->join_cpu_s - (prev_rate + l->server_pct / 100.0) / 2 * l->join_wall_s)
                         / l->added * 1000;
      rc_bench_progress ("%s N=%u: %u receiving, server %.1f%% CPU, %.1f MiB, %u threads; "
                         "%" G_GINT64_FORMAT " frames, %" G_GINT64_FORMAT " lost, %" G_GINT64_FORMAT
                         " late (p99 %.0f ms)",
                         side->name, l->n, l->receiving, l->server_pct, l->rss_kib / 1024.0,
                         l->threads, l->frames, l->lost, l->late, l->p99);
      rc_bench_progress ("%s N=%u: the %u joins took the main thread %.3f s (%.3f ms a join, "
                         "net %.3f); meanwhile those already there: %" G_GINT64_FORMAT
                         " frames, %" G_GINT64_FORMAT " late, p99 %.0f ms; load average %s",
                         side->name, l->n, l->added, l->join_main_s,
                         l->added > 0 ? l->join_main_s / l->added * 1000 : 0, l->net_join_main_ms,
                         l->during_frames, l->during_late, l->during_p99, l->join_load);
      prev_rate = l->server_pct / 100.0;
      prev_main_rate = l->main_pct / 100.0;
      if (past_capacity (side, l))
        {
          if (l->note == NULL)
            l->note = g_strdup ("past what the server carries: no higher level");
          break;
        }
      if (!churned && side->churn_at > 0 && l->n >= side->churn_at
          && i + 1 < side->n_levels)
        {
          /* It ends with its joiners gone: the next level starts from N. */
          rc_bench_side_churn (o, lg, side, side->churn_rate);
          churned = TRUE;
          rc_bench_wait (NULL, NULL, 2000);
        }
    }
  if (!churned)
    rc_bench_side_churn (o, lg, side, side->churn_rate);
}

void
rc_bench_side_churn (const RcBenchSideOptions *o, RcBenchLoadgen *lg, RcBenchSide *side,
                     guint rate)
{
  const RcBenchLevel *last = side->done->len > 0 ? g_ptr_array_index (side->done, side->done->len - 1)
                                                 : NULL;
  /* After a level that ended the side, no churn: it carries no more. */
  gboolean ended = last != NULL && last->note != NULL;
  double life = side->churn_life_s > 0 ? side->churn_life_s : 10;
  RcBenchLevel *l;
  g_autofree char *start = g_strdup_printf ("churn %u %g", rate, life);
  g_autoptr (JsonObject) ok = NULL;
  g_autoptr (JsonObject) ok2 = NULL;

  if (last == NULL || !last->measured || ended || last->churn || rc_bench_interrupted ()
      || g_get_monotonic_time () > o->deadline_us)
    return;
  l = g_new0 (RcBenchLevel, 1);
  l->churn = TRUE;
  l->churn_rate = rate;
  l->n = last->receiving;
  g_ptr_array_add (side->done, l);
  rc_bench_progress ("%s: joins and leaves at %u/s while %u listen (each joiner %g s)",
                     side->name, rate, l->n, life);
  ok = rc_bench_loadgen_ask (lg, start, "ok", 5000);
  /* Joins only until the first joiners' lives end; from then on as many
   * leave as join each second, and the window begins. Its settled guests
   * are the N listeners (joiners never are). */
  measure_level (o, lg, side, l, life + 3);
  ok2 = rc_bench_loadgen_ask (lg, "churn 0", "ok", 5000);
  /* The server's CPU beyond the N listeners' level and the joiners'
   * streaming (as much a guest as at that level), per join and leave. */
  if (l->measured && l->joins > 0)
    {
      double per_guest = (last->server_pct - side->baseline_pct) / MAX (last->n, 1);
      double joiners = l->receiving > l->n ? l->receiving - l->n : 0;

      l->net_join_ms = (l->server_pct - last->server_pct - per_guest * joiners) / 100.0
                       * l->window_s / l->joins * 1000;
    }
}

void
rc_bench_side_empty (RcBenchLoadgen *lg, RcBenchSide *side)
{
  g_autofree char *command = g_strdup_printf ("%s 0", side->kind);
  g_autoptr (JsonObject) ok = rc_bench_loadgen_ask (lg, command, "ok", 5000);
}

/* ---- the tables ---- */

static void
level_row (GString *out, const RcBenchSide *side, const RcBenchLevel *l)
{
  g_autofree char *n = l->churn ? g_strdup_printf ("%u + joins and leaves at %u/s", l->n,
                                                   l->churn_rate)
                                : g_strdup_printf ("%u", l->n);
  g_autofree char *engine = l->engine_p99_ms >= 0
                              ? g_strdup_printf ("%.2f / %.2f", l->engine_p50_ms, l->engine_p99_ms)
                              : g_strdup ("—");
  g_autofree char *join_cpu = l->churn        ? g_strdup_printf ("(%.2f a join and leave)",
                                                                l->net_join_ms)
                              : l->added > 0 ? g_strdup_printf ("%.2f (%.2f)",
                                                                l->join_cpu_s / l->added * 1000,
                                                                l->net_join_ms)
                                             : g_strdup ("—");
  double listeners = l->churn ? MAX (l->receiving, 1) : l->n;

  if (!l->measured)
    {
      g_string_append_printf (out, "| %s | %u | — | — | — | — | — | — | — | — | — | — | — "
                                   "| %.1f | — | — | — | — |\n",
                              n, l->receiving, l->join_wall_s);
      return;
    }
  g_string_append_printf (
    out,
    "| %s | %u | %.1f | %.2f | %.1f | %.1f | %u | %" G_GINT64_FORMAT " | %" G_GINT64_FORMAT
    " | %" G_GINT64_FORMAT " | %.3f | %.0f / %.0f / %.0f | %" G_GINT64_FORMAT
    " | %.1f | %s | %.0f / %.0f | %s | %.0f |\n",
    n, l->receiving, l->server_pct, (l->server_pct - side->baseline_pct) * 1000.0 / listeners,
    l->rss_kib / 1024.0, ((double) l->rss_kib - (double) side->baseline.rss_kib) / listeners,
    l->threads, l->frames, l->lost, l->late, l->frames > 0 ? 100.0 * l->late / l->frames : 0,
    l->p50, l->p99, l->max, l->silent, l->join_wall_s,
    join_cpu,
    l->join_mean_ms, l->join_p99_ms, engine, l->loadgen_pct);
}

/* Each level's joins: what they cost the server's main thread, and what
 * the listeners already in the room got while they went on. */
static void
joins_table (GString *out, const RcBenchSide *side)
{
  g_string_append_printf (out, "#### %s: the joins, seen from the main thread\n\n", side->name);
  g_string_append (out, "| N | joins | join s | main-thread CPU s | per join ms (net) "
                        "| main thread at rest % | those already there, during the joins: "
                        "frames | lost | late | behind slot p50/p99/max ms | load average |\n");
  g_string_append (out, "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|\n");
  for (guint i = 0; i < side->done->len; i++)
    {
      const RcBenchLevel *l = g_ptr_array_index (side->done, i);
      g_autofree char *during =
        l->during_measured
          ? g_strdup_printf ("%" G_GINT64_FORMAT " | %" G_GINT64_FORMAT " | %" G_GINT64_FORMAT
                             " | %.0f / %.0f / %.0f",
                             l->during_frames, l->during_lost, l->during_late, l->during_p50,
                             l->during_p99, l->during_max)
          : g_strdup ("— | — | — | —");

      if (l->churn || l->added == 0)
        continue;
      g_string_append_printf (out, "| %u | %u | %.1f | %.3f | %.3f (%.3f) | %.1f | %s | %s |\n",
                              l->n, l->added, l->join_wall_s, l->join_main_s,
                              l->join_main_s / l->added * 1000, l->net_join_main_ms, l->main_pct,
                              during, l->join_load != NULL ? l->join_load : "?");
    }
  g_string_append (out, "\n");
}

void
rc_bench_side_table (GString *out, const RcBenchSide *side)
{
  g_string_append_printf (out, "### %s: %s\n\n", side->name, side->title);
  g_string_append_printf (out, "Before any listener: %.1f%% CPU, %.1f MiB RSS, %u threads.\n\n",
                          side->baseline_pct, side->baseline.rss_kib / 1024.0,
                          side->baseline.threads);
  g_string_append (out, "| N | with audio | server CPU % | CPU % per 1,000 | RSS MiB | RSS KiB/listener "
                        "| threads | frames | lost | late | late % | behind slot p50/p99/max ms "
                        "| silent | join s | join CPU ms/listener (net) | to audio mean / p99 ms "
                        "| server-added p50 / p99 ms | loadgen CPU % |\n");
  g_string_append (out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|---|---:|\n");
  for (guint i = 0; i < side->done->len; i++)
    level_row (out, side, g_ptr_array_index (side->done, i));
  for (guint i = 0; i < side->done->len; i++)
    {
      const RcBenchLevel *l = g_ptr_array_index (side->done, i);

      if (l->churn)
        g_string_append_printf (out, "- joins and leaves at %u/s while %u listen: the row's packets "
                                     "are the %u listeners'; in the window %" G_GINT64_FORMAT
                                     " joins had audio and %" G_GINT64_FORMAT " joiners left (each "
                                     "%g s after its first packet), %u joiners there at its end; "
                                     "its join CPU is the server's beyond the %u listeners' level "
                                     "and the joiners' streaming, per join; every guest's, joiners too: %" G_GINT64_FORMAT
                                     " packets, %" G_GINT64_FORMAT " lost, %" G_GINT64_FORMAT
                                     " late, p99 %.0f ms behind\n",
                                l->churn_rate, l->n, l->n, l->joins, l->leaves,
                                side->churn_life_s > 0 ? side->churn_life_s : 10, l->churn_joined,
                                l->n, l->all_frames, l->all_lost, l->all_late, l->all_p99);
      if (l->note != NULL || l->closed_by_peer > 0 || l->stalls > 0 || l->early > 0)
        g_string_append_printf (out, "- N=%u: %s%s%" G_GINT64_FORMAT " closed by the server, %"
                                G_GINT64_FORMAT " stalls (> --stall-ms), %" G_GINT64_FORMAT
                                " frames before their slot\n",
                                l->n, l->note != NULL ? l->note : "", l->note != NULL ? "; " : "",
                                l->closed_by_peer, l->stalls, l->early);
    }
  g_string_append (out, "\n");
  joins_table (out, side);
}

const RcBenchLevel *
rc_bench_side_best_held (const RcBenchSide *side)
{
  const RcBenchLevel *best = NULL;

  for (guint i = 0; i < side->done->len; i++)
    {
      const RcBenchLevel *l = g_ptr_array_index (side->done, i);

      if (rc_bench_level_held (l))
        best = l;
    }
  return best;
}

double
rc_bench_level_per_core (const RcBenchLevel *l)
{
  return l != NULL && l->server_pct > 0 ? l->n * 100.0 / l->server_pct : 0;
}

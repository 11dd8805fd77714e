/* SPDX-License-Identifier: MIT */
/*
 * bench-sync's analysis: from the recordings to the tables. Why each figure
 * is computed the way it is:
 * - Skew between two guests is read from what they rendered: for every
 *   click, the lag of the best cross-correlation (RcRecording). Pairs of a
 *   class are pooled, one figure per click per pair, so p95 and max are
 *   over clicks, the way a listener meets them.
 * - Recordings are placed by the host's monotonic clock, which is the server
 *   clock on this machine: native guests' network-clock error is in the
 *   skew. A second native row uses the guests' own clocks (rendering only).
 *   Browser captures are placed by their engine's own server-time estimate:
 *   that is all a browser can say (no physical output to record here).
 * - The steady window leaves out the seek (from the seek to D + 3 s after
 *   its reply), each change of D (from 200 ms before the control connection
 *   heard of it to 500 ms after the new D: guests take a new D at their own
 *   packet, a hard resync), and the late joiners; those have rows of their
 *   own.
 * - "In step" means |skew against the ideal| under the bound for every
 *   click of the following 3 s (1 ms for native guests, 5 ms for browsers,
 *   the client's own "in sync" threshold).
 */
#include "rc_bench_sync_run.h"
#include "pipelines/rc_stats.h"

#include <math.h>
#include <stdio.h>

#define THRESHOLD 0.1
#define MAX_LAG_MS 20.0
#define NATIVE_SCORE 0.8
#define BROWSER_SCORE 0.6
#define NATIVE_BOUND_MS 1.0
#define BROWSER_BOUND_MS 5.0
#define HOLD_MS 3000.0
#define SEEK_SETTLE_MS 3000.0
#define RESYNC_BEFORE_MS 200.0
#define RESYNC_AFTER_MS 500.0

void
rc_bench_sync_guest_free (RcBenchSyncGuest *g)
{
  if (g == NULL)
    return;
  g_free (g->name);
  g_free (g->transport);
  g_ptr_array_unref (g->recordings);
  g_array_unref (g->self_errors);
  g_free (g->failure);
  g_free (g);
}

static gboolean
is_native (const RcBenchSyncGuest *g)
{
  return g->kind == RC_BENCH_NATIVE;
}

static double
delay_at (RcBenchSyncRun *run, double t)
{
  double d = -1;

  for (guint i = 0; i + 1 < run->delays->len; i += 2)
    if (g_array_index (run->delays, double, i) <= t || d < 0)
      d = g_array_index (run->delays, double, i + 1);
  return d;
}

/* Every recording of @a against every recording of @b. */
static GArray *
pair_skews (RcBenchSyncGuest *a, RcBenchSyncGuest *b, RcRecordingClock clock)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (RcSkew));
  double min_score = is_native (a) && is_native (b) ? NATIVE_SCORE : BROWSER_SCORE;

  for (guint i = 0; i < a->recordings->len; i++)
    for (guint j = 0; j < b->recordings->len; j++)
      {
        g_autoptr (GArray) s = rc_recording_compare (a->recordings->pdata[i],
                                                     b->recordings->pdata[j], clock, THRESHOLD,
                                                     MAX_LAG_MS, min_score);

        g_array_append_vals (all, s->data, s->len);
      }
  return all;
}

static gboolean
steady (RcBenchSyncRun *run, double t)
{
  if (t < run->start || t >= run->end)
    return FALSE;
  if (run->seek_at > 0 && t >= run->seek_at
      && t < run->seek_done_at + delay_at (run, run->seek_done_at) + SEEK_SETTLE_MS)
    return FALSE;
  /* A new D is a hard resync: each guest moves at its own packet, so for a
   * moment they differ by the change itself. */
  for (guint i = 2; i + 1 < run->delays->len; i += 2)
    {
      double at = g_array_index (run->delays, double, i);

      if (t >= at - RESYNC_BEFORE_MS && t < at + g_array_index (run->delays, double, i + 1) + RESYNC_AFTER_MS)
        return FALSE;
    }
  return TRUE;
}

static void
keep_steady (RcBenchSyncRun *run, GArray *from, GArray *into)
{
  for (guint i = 0; i < from->len; i++)
    if (steady (run, g_array_index (from, RcSkew, i).time))
      g_array_append_val (into, g_array_index (from, RcSkew, i));
}

typedef gboolean (*PairFilter) (const RcBenchSyncGuest *a, const RcBenchSyncGuest *b);

static gboolean
plain (const RcBenchSyncGuest *g)
{
  return !g->late && !g->jittered && g->recordings->len > 0;
}

static gboolean
native_native (const RcBenchSyncGuest *a, const RcBenchSyncGuest *b)
{
  return plain (a) && plain (b) && is_native (a) && is_native (b);
}

static gboolean
browser_browser (const RcBenchSyncGuest *a, const RcBenchSyncGuest *b)
{
  return plain (a) && plain (b) && !is_native (a) && !is_native (b);
}

static gboolean
browser_native (const RcBenchSyncGuest *a, const RcBenchSyncGuest *b)
{
  return plain (a) && plain (b) && is_native (a) != is_native (b);
}

static gboolean
jittered_native (const RcBenchSyncGuest *a, const RcBenchSyncGuest *b)
{
  return (a->jittered && plain (b) && is_native (b)) || (b->jittered && plain (a) && is_native (a));
}

static gboolean
jittered_browser (const RcBenchSyncGuest *a, const RcBenchSyncGuest *b)
{
  return (a->jittered && plain (b) && !is_native (b))
         || (b->jittered && plain (a) && !is_native (a));
}

static void
stats_cells (GString *out, RcSkewStats *s)
{
  if (s->n == 0)
    g_string_append (out, " 0 | – | – | – | – |\n");
  else
    g_string_append_printf (out, " %u | %+.3f | %.3f | %.3f | %.3f |\n", s->n, s->mean, s->p50,
                            s->p95, s->max);
}

static void
class_row (RcBenchSyncRun *run, GString *out, const char *label, PairFilter filter,
           RcRecordingClock clock)
{
  g_autoptr (GArray) pooled = g_array_new (FALSE, FALSE, sizeof (RcSkew));
  guint pairs = 0;
  RcSkewStats s;

  for (guint i = 0; i < run->guests->len; i++)
    for (guint j = i + 1; j < run->guests->len; j++)
      {
        RcBenchSyncGuest *a = run->guests->pdata[i], *b = run->guests->pdata[j];
        g_autoptr (GArray) skews = NULL;

        if (!filter (a, b))
          continue;
        /* Natives first: their recordings are continuous. */
        skews = is_native (a) || !is_native (b) ? pair_skews (a, b, clock)
                                                 : pair_skews (b, a, clock);
        keep_steady (run, skews, pooled);
        pairs++;
      }
  if (pairs == 0)
    return;
  rc_skew_stats (pooled, -INFINITY, INFINITY, &s);
  g_string_append_printf (out, "| %s | %u |", label, pairs);
  stats_cells (out, &s);
}

static double
median (GArray *values)
{
  g_autoptr (GArray) v = g_array_copy (values);

  if (v->len == 0)
    return NAN;
  return rc_percentile (v, 0.5);
}

/* @g's skews against the ideal, all of them, in time order. */
static GArray *
against_ideal (RcBenchSyncRun *run, RcBenchSyncGuest *g)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (RcSkew));

  for (guint i = 0; run->ideal != NULL && i < g->recordings->len; i++)
    {
      g_autoptr (GArray) s = rc_recording_compare (run->ideal, g->recordings->pdata[i],
                                                   RC_RECORDING_HOST, THRESHOLD, MAX_LAG_MS,
                                                   is_native (g) ? NATIVE_SCORE : BROWSER_SCORE);

      g_array_append_vals (all, s->data, s->len);
    }
  for (guint i = 1; i < all->len; i++)
    for (guint j = i; j > 0 && g_array_index (all, RcSkew, j - 1).time > g_array_index (all, RcSkew, j).time; j--)
      {
        RcSkew t = g_array_index (all, RcSkew, j);

        g_array_index (all, RcSkew, j) = g_array_index (all, RcSkew, j - 1);
        g_array_index (all, RcSkew, j - 1) = t;
      }
  return all;
}

/* "<dir>/<guest>.skews.csv": every click against the ideal (ms since the
 * window's start, skew ms, score), to look at convergence by eye. */
static void
dump (RcBenchSyncRun *run, RcBenchSyncGuest *g, GArray *skews)
{
  g_autofree char *name = g_strdup_printf ("%s.skews.csv", g->name);
  g_autofree char *path = g_build_filename (run->dump_dir, name, NULL);
  g_autoptr (GString) csv = g_string_new ("time_ms,skew_ms,score\n");

  for (guint i = 0; i < skews->len; i++)
    {
      const RcSkew *s = &g_array_index (skews, RcSkew, i);

      g_string_append_printf (csv, "%.1f,%.4f,%.3f\n", s->time - run->start, s->skew, s->score);
    }
  g_file_set_contents (path, csv->str, (gssize) csv->len, NULL);
}

static void
ideal_rows (RcBenchSyncRun *run, GString *out)
{
  g_string_append (out,
                   "| guest | transport | clicks | mean | \\|error\\| p50 | p95 | max | "
                   "own report p50 |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (guint i = 0; i < run->guests->len; i++)
    {
      RcBenchSyncGuest *g = run->guests->pdata[i];
      g_autoptr (GArray) all = against_ideal (run, g);
      g_autoptr (GArray) kept = g_array_new (FALSE, FALSE, sizeof (RcSkew));
      RcSkewStats s;
      double own = is_native (g) ? g->sink_error_p50 : median (g->self_errors);

      if (g->failure != NULL)
        {
          g_string_append_printf (out, "| %s | %s | failed: %s |||||| \n", g->name, g->transport,
                                  g->failure);
          continue;
        }
      if (run->dump_dir != NULL)
        dump (run, g, all);
      keep_steady (run, all, kept);
      rc_skew_stats (kept, -INFINITY, INFINITY, &s);
      g_string_append_printf (out, "| %s (%s%s%s) | %s |", g->name,
                              is_native (g) ? "native" : "browser", g->late ? ", late" : "",
                              g->jittered ? ", jittered" : "", g->transport);
      if (s.n == 0)
        g_string_append (out, " 0 | – | – | – | – |");
      else
        g_string_append_printf (out, " %u | %+.3f | %.3f | %.3f | %.3f |", s.n, s.mean, s.p50,
                                s.p95, s.max);
      if (isnan (own) || own < 0)
        g_string_append (out, " – |\n");
      else
        g_string_append_printf (out, " %.3f |\n", own);
    }
}

/* The first click at or after @from from which every click of the next
 * HOLD_MS is within @bound (and there are at least three); its time, or -1. */
static double
in_step_from (GArray *skews, double from, double bound)
{
  for (guint i = 0; i < skews->len; i++)
    {
      double t = g_array_index (skews, RcSkew, i).time;
      guint n = 0;
      gboolean ok = TRUE;

      if (t < from)
        continue;
      for (guint k = i; k < skews->len && g_array_index (skews, RcSkew, k).time < t + HOLD_MS; k++)
        {
          ok = ok && fabs (g_array_index (skews, RcSkew, k).skew) < bound;
          n++;
        }
      if (ok && n >= 3)
        return t;
    }
  return -1;
}

static void
join_rows (RcBenchSyncRun *run, GString *out)
{
  for (guint i = 0; i < run->guests->len; i++)
    {
      RcBenchSyncGuest *g = run->guests->pdata[i];
      g_autoptr (GArray) skews = NULL;
      double bound = is_native (g) ? NATIVE_BOUND_MS : BROWSER_BOUND_MS, t;

      if (!g->late)
        continue;
      skews = against_ideal (run, g);
      t = in_step_from (skews, g->joined_at, bound);
      g_string_append_printf (out, "| join: %s (%s, %s) | ", g->name,
                              is_native (g) ? "native" : "browser", g->transport);
      if (g->listening_at > 0)
        g_string_append_printf (out, "%.0f ms", g->listening_at - g->joined_at);
      else
        g_string_append (out, "–");
      if (is_native (g) && g->recordings->len > 0
          && rc_recording_get_event (g->recordings->pdata[0], "clockSynced") > 0)
        g_string_append_printf (
          out, " (clock synced at %.0f ms)",
          rc_recording_get_event (g->recordings->pdata[0], "clockSynced") - g->joined_at);
      g_string_append (out, " | ");
      if (t > 0)
        g_string_append_printf (out, "%.0f ms | within %.0f ms |\n", t - g->joined_at, bound);
      else
        g_string_append_printf (out, "never | within %.0f ms |\n", bound);
    }
}

/* After the seek: each class's worst guest, from the seek to in step. */
static void
seek_rows (RcBenchSyncRun *run, GString *out)
{
  double from;
  gboolean native_class[2] = { TRUE, FALSE };

  if (run->seek_at <= 0 || run->ideal == NULL)
    return;
  /* What is rendered from here on was sent after the server took the seek. */
  from = run->seek_done_at + delay_at (run, run->seek_done_at);
  for (guint c = 0; c < 2; c++)
    {
      double worst = 0, first_click = -1, first_skew = 0;
      guint guests = 0;
      gboolean never = FALSE;

      for (guint i = 0; i < run->guests->len; i++)
        {
          RcBenchSyncGuest *g = run->guests->pdata[i];
          g_autoptr (GArray) skews = NULL;
          double t;

          if (is_native (g) != native_class[c] || g->recordings->len == 0)
            continue;
          skews = against_ideal (run, g);
          t = in_step_from (skews, from, is_native (g) ? NATIVE_BOUND_MS : BROWSER_BOUND_MS);
          guests++;
          if (t < 0)
            never = TRUE;
          else
            worst = MAX (worst, t - run->seek_at);
          for (guint k = 0; k < skews->len; k++)
            if (g_array_index (skews, RcSkew, k).time >= from)
              {
                if (first_click < 0)
                  first_click = g_array_index (skews, RcSkew, k).time;
                if (g_array_index (skews, RcSkew, k).time == first_click)
                  first_skew = MAX (first_skew, fabs (g_array_index (skews, RcSkew, k).skew));
                break;
              }
        }
      if (guests == 0)
        continue;
      g_string_append_printf (out, "| seek: %u %s guests | ", guests,
                              native_class[c] ? "native" : "browser");
      if (first_click > 0)
        g_string_append_printf (out, "%.0f ms (worst \\|error\\| on it %.3f ms) | ",
                                first_click - run->seek_at, first_skew);
      else
        g_string_append (out, "– | ");
      if (never)
        g_string_append (out, "not all | ");
      else
        g_string_append_printf (out, "%.0f ms | ", worst);
      g_string_append_printf (out, "within %.0f ms |\n",
                              native_class[c] ? NATIVE_BOUND_MS : BROWSER_BOUND_MS);
    }
}

void
rc_bench_sync_report (RcBenchSyncRun *run, GString *out)
{
  double d0 = delay_at (run, run->start), d1 = delay_at (run, run->end);
  guint natives = 0, browsers = 0;

  for (guint i = 0; i < run->guests->len; i++)
    {
      if (is_native ((RcBenchSyncGuest *) run->guests->pdata[i]))
        natives++;
      else
        browsers++;
    }
  g_string_append_printf (out, "## bench-sync: %u native and %u browser guests, %.0f s\n\n",
                          natives, browsers, (run->end - run->start) / 1000);
  g_string_append_printf (out, "- command: `%s`\n- machine: %s\n", run->command_line, run->machine);
  g_string_append_printf (out, "- load average before / after: %s / %s\n", run->load_before,
                          run->load_after);
  g_string_append_printf (out,
                          "- over the window: server CPU %.1f %% of a core; machine %.1f %% busy, "
                          "of which %.1f %% stolen by the hypervisor\n",
                          run->server_cpu_pct, run->machine_busy_pct, run->steal_pct);
  g_string_append_printf (out, "- playout delay D: %.0f ms at the start, %.0f ms at the end (%u changes)\n",
                          d0, d1, run->delays->len / 2 > 0 ? run->delays->len / 2 - 1 : 0);
  if (run->control_arrivals->len > 0)
    {
      g_autoptr (GArray) a = g_array_copy (run->control_arrivals);
      guint late = 0;

      for (guint i = 0; i < a->len; i++)
        late += g_array_index (a, double, i) > 100;
      g_string_append_printf (
        out,
        "- frames as the benchmark's own WebSocket listener got them (receive − C): p50 %.1f, "
        "p99 %.1f, max %.1f ms; %u of %u over 100 ms\n",
        rc_percentile (a, 0.5), rc_percentile (a, 0.99), rc_percentile (a, 1.0), late, a->len);
    }
  if (run->jitter_ms > 0)
    g_string_append_printf (out,
                            "- jittered guest: WebSocket through a relay adding 0-%.0f ms per read, "
                            "order kept (%" G_GUINT64_FORMAT " chunks, mean %.1f ms, max %.1f ms)\n",
                            run->jitter_ms, run->proxy_chunks, run->proxy_mean_ms, run->proxy_max_ms);
  g_string_append (out, "\n### Skew between guests (ms, from cross-correlated recordings, per click)\n\n"
                        "| pairs | n | clicks | mean | \\|skew\\| p50 | p95 | max |\n"
                        "|---|---:|---:|---:|---:|---:|---:|\n");
  class_row (run, out, "native ↔ native", native_native, RC_RECORDING_HOST);
  class_row (run, out, "native ↔ native, by the guests' own clocks (rendering only)",
             native_native, RC_RECORDING_GUEST);
  class_row (run, out, "browser ↔ browser", browser_browser, RC_RECORDING_HOST);
  class_row (run, out, "browser ↔ native", browser_native, RC_RECORDING_HOST);
  class_row (run, out, "jittered native ↔ natives", jittered_native, RC_RECORDING_HOST);
  class_row (run, out, "jittered native ↔ browsers", jittered_browser, RC_RECORDING_HOST);
  g_string_append (out, "\n### Each guest against the ideal C + D (ms, positive = late)\n\n");
  ideal_rows (run, out);
  g_string_append (out, "\n### Convergence\n\n| event | first audio | in step after | bound |\n"
                        "|---|---:|---:|---|\n");
  join_rows (run, out);
  seek_rows (run, out);
  g_string_append (out, "\n");
}

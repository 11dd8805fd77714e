/* SPDX-License-Identifier: MIT */
/*
 * The soak's report (rc_soak.h): its lines to stdout and -o as they come,
 * and the summary at the end, apart from the run so that what is measured
 * and how it is told can each be read on their own.
 */
#include "rc_soak.h"

#include "tools/bench/rc_bench_proc.h"

#include <string.h>

double
rc_soak_t_s (RcSoak *s)
{
  return (g_get_monotonic_time () - s->t0_us) / 1e6;
}

void
rc_soak_say (RcSoak *s, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  fputs (text, stdout);
  fflush (stdout);
  if (s->out != NULL)
    {
      fputs (text, s->out);
      fflush (s->out);
    }
}

/* ---- the summary ---- */

/* Least squares slope of @field (per minute) over the samples from
 * @from_s; the fitted rise over them in *rise, their mean in *mean. */
static double
slope_per_min (GArray *samples, double from_s, double (*field) (const RcSoakSample *), double *rise,
               double *mean, double *span_min)
{
  double n = 0, st = 0, sy = 0, stt = 0, sty = 0, t_first = -1, t_last = 0, slope;

  for (guint i = 0; i < samples->len; i++)
    {
      const RcSoakSample *x = &g_array_index (samples, RcSoakSample, i);
      double t = x->t_s / 60, y = field (x);

      if (x->t_s < from_s)
        continue;
      if (t_first < 0)
        t_first = t;
      t_last = t;
      n++, st += t, sy += y, stt += t * t, sty += t * y;
    }
  *mean = n > 0 ? sy / n : 0;
  *span_min = n > 0 ? t_last - t_first : 0;
  slope = n >= 3 && n * stt - st * st > 0 ? (n * sty - st * sy) / (n * stt - st * st) : 0;
  *rise = slope * *span_min;
  return slope;
}

static double rss_mib (const RcSoakSample *x) { return x->rss_kib / 1024.0; }
static double fds_of (const RcSoakSample *x) { return x->fds; }
static double threads_of (const RcSoakSample *x) { return x->threads; }

static gboolean
summarize_trend (RcSoak *s, const char *what, const char *unit, double (*field) (const RcSoakSample *),
                 double floor)
{
  double rise, mean, span, slope = slope_per_min (s->samples, s->fit_from_s, field, &rise, &mean, &span);
  gboolean flat = ABS (rise) <= MAX (floor, mean * 0.05);

  rc_soak_say (s, "- %s: %+.3f %s/min after warm-up (t ≥ %.0f s, %.1f min, mean %.1f): %+.1f %s over the span: %s\n",
       what, slope, unit, s->fit_from_s, span, mean, rise, unit,
       span < 1 ? "too short to say" : flat ? "flat" : "RISING (or falling): look at the table");
  return flat || span < 1;
}

const char *
rc_soak_kind_name (RcSoakGuestKind kind)
{
  switch (kind)
    {
    case RC_SOAK_GUEST_WEBRTC: return "webrtc (light)";
    case RC_SOAK_GUEST_WS: return "ws (light)";
    case RC_SOAK_GUEST_WEBRTC_DECODE: return "webrtc, decodes";
    case RC_SOAK_GUEST_WS_PLAYOUT: return "ws, renders at C + D";
    }
  return "?";
}

static void
summarize_gaps (RcSoak *s)
{
  gint64 worst_decoder = 0, worst_stall = 0, worst_light = 0, worst_ws = 0, worst_ws_end = 0;
  const char *worst_light_name = "-";

  rc_soak_say (s, "\n### The steady guests that decode (since warm-up)\n\n"
          "| guest | kind | packets | lost | largest gap between packets (ms) | largest stall of decoded audio (ms, ±%d) | underruns | discontinuities |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|\n", SAMPLE_EVERY_MS);
  for (guint i = 0; i < s->steady->len; i++)
    {
      RcSoakGuest *guest = g_ptr_array_index (s->steady, i);
      RcSoakGuestKind kind = rc_soak_guest_get_kind (guest);
      RcSoakGuestFigures f;

      rc_soak_guest_get_figures (guest, &f);
      if (f.max_gap_end_us != 0 && f.max_gap_us > worst_ws)
        {
          worst_ws = f.max_gap_us;
          worst_ws_end = f.max_gap_end_us;
        }
      if (kind == RC_SOAK_GUEST_WEBRTC || kind == RC_SOAK_GUEST_WS)
        {
          if (f.max_gap_us > worst_light)
            {
              worst_light = f.max_gap_us;
              worst_light_name = rc_soak_guest_get_name (guest);
            }
          continue;
        }
      worst_decoder = MAX (worst_decoder, f.max_gap_us);
      worst_stall = MAX (worst_stall, f.max_stall_us);
      rc_soak_say (s, "| %s | %s | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " | %.1f | %.0f | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " |\n",
           rc_soak_guest_get_name (guest), rc_soak_kind_name (kind), f.units, f.lost, f.max_gap_us / 1e3,
           f.max_stall_us / 1e3, f.underruns, f.discontinuities);
    }
  rc_soak_say (s, "\n**Largest audio gap of the steady guests that decode: %.1f ms between packets, "
          "%.0f ms without new decoded audio.** Of all %u steady guests (light ones by their "
          "RTP packets or WebSocket frames): %.1f ms (%s).\n",
       worst_decoder / 1e3, worst_stall / 1e3, s->steady->len, MAX (worst_light, worst_decoder) / 1e3,
       worst_light > worst_decoder ? worst_light_name : "a decoder");
  rc_soak_say (s, "The soak's own main loop (the guests' sockets) went up to %.0f ms without a turn "
          "after warm-up: a gap up to that long may be the soak's, not the server's.\n",
       s->stall_after_warm_us / 1e3);
  if (worst_ws > 0)
    rc_soak_say (s, "The light WebSocket guests' largest gap (%.1f ms) ended at t = %.1f s (the events' "
            "times are in the progress lines on stderr).\n",
         worst_ws / 1e3, (worst_ws_end - s->t0_us) / 1e6);
}

static gint
by_first_time (gconstpointer a, gconstpointer b)
{
  const RcSoakLogShape *x = *(RcSoakLogShape **) a, *y = *(RcSoakLogShape **) b;

  return x->first_t_s < y->first_t_s ? -1 : x->first_t_s > y->first_t_s;
}

void
rc_soak_summarize_errors (RcSoak *s)
{
  g_autoptr (GPtrArray) shapes = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;
  guint errors = 0;

  g_hash_table_iter_init (&iter, s->log_shapes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (shapes, value);
  g_ptr_array_sort (shapes, by_first_time);
  rc_soak_say (s, "\n### Every error seen\n\nServer log WARNING/CRITICAL lines: %u (%u kinds)%s\n",
       s->log_lines, shapes->len, shapes->len > 0 ? ", each kind's first:" : ".");
  for (guint i = 0; i < shapes->len; i++)
    {
      const RcSoakLogShape *shape = g_ptr_array_index (shapes, i);

      rc_soak_say (s, "- ×%u, first at %.0f s%s: `%s`\n", shape->count, shape->first_t_s,
           shape->expected ? " (the Redis outage: expected)" : "", shape->first);
    }
  g_hash_table_iter_init (&iter, s->error_counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    errors += GPOINTER_TO_UINT (value);
  rc_soak_say (s, "\nFailed requests, failed guests, guests without audio: %u%s\n", errors,
       errors > 0 ? " (the first three of each kind word for word; counts by kind below):" : ".");
  for (guint i = 0; i < s->errors->len; i++)
    rc_soak_say (s, "- %s\n", (char *) g_ptr_array_index (s->errors, i));
  g_hash_table_iter_init (&iter, s->error_counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (GPOINTER_TO_UINT (value) > 3)
      rc_soak_say (s, "- ×%u: %s\n", GPOINTER_TO_UINT (value), (char *) key);
}

void
rc_soak_summarize (RcSoak *s)
{
  g_autofree char *load = rc_bench_loadavg ();

  rc_soak_say (s, "\n## Summary after %.1f min (load average at the end: %s)\n\n", rc_soak_t_s (s) / 60, load);
  rc_soak_say (s, "Done: %u joins, %u leaves (%u steady guests replaced), %u chats, %u skips, %u seeks, "
          "WHIP host on air %u times and off %u, Redis killed and restarted %u time(s).\n\n",
       s->joins, s->leaves, s->steady_rejoins, s->chats, s->skips, s->seeks, s->whip_on,
       s->whip_off, s->redis_restarts);
  rc_soak_say (s, "The server over time (%u readings, every %u s):\n\n", s->samples->len, s->o->report_s);
  summarize_trend (s, "RSS", "MiB", rss_mib, 4);
  summarize_trend (s, "fds", "fds", fds_of, 8);
  summarize_trend (s, "threads", "threads", threads_of, 4);
  summarize_gaps (s);
}

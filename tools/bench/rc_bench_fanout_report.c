/* SPDX-License-Identifier: MIT */
/*
 * bench-fanout's tables for --transport receivers, and the head every
 * report shares (machine, load, command). Split from bench_fanout.c.
 */
#define _GNU_SOURCE /* cpu_set_t in rc_bench_fanout.h */
#include "rc_bench_fanout.h"

#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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

void
rc_bench_fanout_report_head (Bench *b, GString *out, const char *title, const char *command_line)
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

void
rc_bench_fanout_report (Bench *b, GString *out, const char *command_line)
{
  const Level *prev = NULL;

  rc_bench_fanout_report_head (b, out, "bench-fanout results", command_line);
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


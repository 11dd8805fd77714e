/* SPDX-License-Identifier: MIT */
/*
 * The WebRTC run of bench-fanout (see rc_bench_webrtc.h): roomcast's
 * fan-out engine, the webrtcbin path and Janus, one after the other on the
 * same core, each held to the same guests by the same loadgen.
 *
 * Order: engine levels (the churn row after the first of at least
 * --churn-at guests, or after the last), the guests leave, the roomcast
 * restarts with --webrtc-fanout webrtcbin (its own levels: a webrtcbin per
 * guest holds hundreds, not thousands), it stops, Janus starts with its
 * mountpoint's sender, its levels, it stops. A side ends at the first level
 * it cannot carry (rc_bench_side.c), or losing more than 5% of its packets.
 */
#include "rc_bench_janus.h"
#include "rc_bench_webrtc.h"

/* A side stops past this loss (% of its packets). */
#define STOP_LOST_PCT 5.0

static void
run_roomcast (const RcBenchWebrtcOptions *o, RcBenchServer *server, const char *room_id,
              RcBenchSide *side, const char *log_name, guint churn_rate)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--server", rc_bench_server_get_url (server), "--room", room_id,
                         "--transport", "webrtc", NULL };
  g_autoptr (RcBenchLoadgen) lg = rc_bench_loadgen_spawn (&o->common, args, log_name, &error);

  side->pid = rc_bench_server_get_pid (server);
  side->stats_server = server;
  side->stats_room = room_id;
  if (lg == NULL)
    {
      rc_bench_progress ("%s: the load generator did not start: %s", side->name, error->message);
      return;
    }
  side->churn_rate = churn_rate;
  side->churn_at = o->churn_at;
  side->churn_life_s = o->churn_life_s;
  rc_bench_side_run (&o->common, lg, side);
  rc_bench_side_empty (lg, side);
}

static gboolean
run_janus (const RcBenchWebrtcOptions *o, RcBenchSide *side, GString *out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcBenchJanus) janus = NULL;
  g_autoptr (RcBenchLoadgen) lg = NULL;
  g_autofree char *dir = g_build_filename (o->common.tmp_dir, "janus", NULL);
  g_autofree char *mountpoint = g_strdup_printf ("%d", RC_BENCH_JANUS_MOUNTPOINT);
  RcBenchJanusOptions jo = { .dir = dir, .child_setup = o->server_setup,
                             .child_setup_data = o->server_setup_data };

  if (!rc_bench_janus_available ())
    {
      g_string_append (out, "Janus is not installed (Debian's janus package): no Janus side.\n\n");
      return FALSE;
    }
  rc_bench_progress ("starting janus and its mountpoint's sender");
  janus = rc_bench_janus_start (&jo, &error);
  if (janus == NULL)
    {
      rc_bench_progress ("Janus: %s", error->message);
      g_string_append_printf (out, "Janus did not start: %s\n\n", error->message);
      return FALSE;
    }
  side->pid = rc_bench_janus_get_pid (janus);
  rc_bench_side_read_baseline (side);
  {
    const char *args[] = { "--janus-url", rc_bench_janus_get_url (janus), "--janus-mountpoint",
                           mountpoint, "--transport", "webrtc", NULL };

    lg = rc_bench_loadgen_spawn (&o->common, args, "loadgen-janus.log", &error);
  }
  if (lg == NULL)
    {
      g_string_append_printf (out, "The load generator did not start: %s\n\n", error->message);
      return FALSE;
    }
  rc_bench_side_run (&o->common, lg, side);
  rc_bench_side_empty (lg, side);
  return TRUE;
}

/* ---- the summary ---- */

static void
summary_row (GString *out, const char *label, const RcBenchSide *side)
{
  const RcBenchLevel *l = rc_bench_side_best_held (side);

  g_string_append_printf (out, "| %s | %u | %.1f | %.0f |\n", label, l != NULL ? l->n : 0,
                          l != NULL ? l->server_pct : 0, rc_bench_level_per_core (l));
}

static void
ratio (GString *out, const RcBenchSide *a, const RcBenchSide *b, const char *b_name,
       double target)
{
  const RcBenchLevel *x = rc_bench_side_best_held (a);
  const RcBenchLevel *y = rc_bench_side_best_held (b);

  if (x != NULL && y != NULL && rc_bench_level_per_core (y) > 0)
    g_string_append_printf (out, "- engine / %s: %.2f× the guests held, %.2f× the guests per "
                                 "core (target ≥ %.0f×)\n",
                            b_name, (double) x->n / y->n,
                            rc_bench_level_per_core (x) / rc_bench_level_per_core (y), target);
  else
    g_string_append_printf (out, "- engine / %s: no ratio (a side held no level within the "
                                 "bound)\n",
                            b_name);
}

static void
summary (GString *out, const RcBenchSide *engine, const RcBenchSide *bin, const RcBenchSide *janus,
         double late_ms)
{
  g_string_append_printf (out, "### Guests per core at the same bound\n\n"
                               "Bound: every guest with audio all through the window, no packet "
                               "lost, at most 0.1%% of packets more than %.0f ms behind their slot "
                               "(roomcast: the packet's C on the server clock; Janus: the guest's "
                               "best transit of the RTP timeline), the server at most 80%% of its "
                               "core.\n\n",
                          late_ms);
  g_string_append (out, "| server | most guests held | its CPU % | guests per core |\n");
  g_string_append (out, "|---|---:|---:|---:|\n");
  summary_row (out, "roomcast, fan-out engine", engine);
  if (bin != NULL)
    summary_row (out, "roomcast, webrtcbin per guest", bin);
  if (janus != NULL)
    summary_row (out, "Janus Streaming (ice_lite)", janus);
  g_string_append (out, "\n");
  if (bin != NULL)
    ratio (out, engine, bin, "webrtcbin", 20);
  if (janus != NULL)
    ratio (out, engine, janus, "Janus", 2);
  g_string_append (out, "\n");
}

/* ---- the run ---- */

gboolean
rc_bench_webrtc_run (const RcBenchWebrtcOptions *o, GString *out)
{
  g_autoptr (GError) error = NULL;
  RcBenchSide engine = { .name = "roomcast", .title = "WebRTC guests, fan-out engine" };
  RcBenchSide bin = { .name = "roomcast (webrtcbin)",
                      .title = "WebRTC guests, --webrtc-fanout webrtcbin" };
  RcBenchSide janus = { .name = "Janus", .title = "WebRTC viewers of a Streaming mountpoint" };
  RcBenchSide *sides[] = { &engine, &bin, &janus };
  gboolean bin_ran = FALSE, janus_ran = FALSE, ok;

  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      rc_bench_side_init (sides[i]);
      sides[i]->kind = sides[i]->counts = "ws"; /* the loadgen counts its WebRTC guests there */
      sides[i]->population = "wsGuests";
      sides[i]->stop_lost_pct = STOP_LOST_PCT;
      sides[i]->levels = o->levels;
      sides[i]->n_levels = o->n_levels;
    }
  bin.levels = o->webrtcbin_levels;
  bin.n_levels = o->n_webrtcbin_levels;
  janus.levels = o->janus_levels;
  janus.n_levels = o->n_janus_levels;
  engine.baseline = o->baseline;
  engine.baseline_pct = o->baseline_pct;
  run_roomcast (o, o->server, o->room_id, &engine, "loadgen.log", o->churn_rate);

  if (o->n_webrtcbin_levels > 0 && !rc_bench_interrupted ()
      && g_get_monotonic_time () < o->common.deadline_us)
    {
      RcBenchServer *server = NULL;
      const char *room_id = NULL;

      rc_bench_progress ("restarting roomcast with --webrtc-fanout webrtcbin");
      if (!o->restart_server (o->server_data, "webrtcbin", &server, &room_id, &error))
        g_string_append_printf (out, "The webrtcbin roomcast did not start: %s\n\n",
                                error->message);
      else
        {
          bin.pid = rc_bench_server_get_pid (server);
          rc_bench_side_read_baseline (&bin);
          run_roomcast (o, server, room_id, &bin, "loadgen-webrtcbin.log", 0);
          bin_ran = TRUE;
        }
    }
  o->stop_server (o->server_data);
  if (o->janus && !rc_bench_interrupted () && g_get_monotonic_time () < o->common.deadline_us)
    janus_ran = run_janus (o, &janus, out);

  rc_bench_side_table (out, &engine);
  if (bin_ran)
    rc_bench_side_table (out, &bin);
  if (janus_ran)
    rc_bench_side_table (out, &janus);
  summary (out, &engine, bin_ran ? &bin : NULL, janus_ran ? &janus : NULL, o->common.late_ms);
  ok = engine.done->len > 0;
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    rc_bench_side_clear (sides[i]);
  return ok;
}

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
 * the same levels of HTTP listeners, Icecast stops. The levels, windows
 * and tables are rc_bench_side.c's, shared with the WebRTC run.
 */
#include "rc_bench_icecast.h"
#include "rc_bench_ws.h"

/* ---- the summary ---- */

static void
summary (GString *out, const RcBenchSide *rc, const RcBenchSide *ice, double late_ms,
         const char *slot)
{
  const RcBenchLevel *a = rc_bench_side_best_held (rc);
  const RcBenchLevel *b = ice != NULL ? rc_bench_side_best_held (ice) : NULL;

  g_string_append_printf (out, "### Listeners per core at the same bound\n\n"
                               "Bound: every listener with audio all through the window, none "
                               "lost, at most 0.1%% of frames more than %.0f ms behind their slot "
                               "(roomcast: %s on the server clock; Icecast: the "
                               "listener's best transit of the stream's timeline), the server at "
                               "most 80%% of its core.\n\n",
                          late_ms,
                          g_strcmp0 (slot, "message") == 0
                            ? "the C of the last frame of the frame's message"
                          : g_strcmp0 (slot, "transit") == 0
                            ? "the C of the last frame of the frame's message plus the "
                              "listener's best transit"
                            : "the frame's C");
  g_string_append (out, "| server | most listeners held | its CPU % | listeners per core |\n");
  g_string_append (out, "|---|---:|---:|---:|\n");
  g_string_append_printf (out, "| roomcast (WebSocket) | %u | %.1f | %.0f |\n", a != NULL ? a->n : 0,
                          a != NULL ? a->server_pct : 0, rc_bench_level_per_core (a));
  if (ice != NULL)
    g_string_append_printf (out, "| Icecast (HTTP) | %u | %.1f | %.0f |\n", b != NULL ? b->n : 0,
                            b != NULL ? b->server_pct : 0, rc_bench_level_per_core (b));
  if (a != NULL && b != NULL && rc_bench_level_per_core (b) > 0)
    g_string_append_printf (out, "\nroomcast / Icecast: %.2f× the listeners held, %.2f× the "
                                 "listeners per core.\n\n",
                            (double) a->n / b->n,
                            rc_bench_level_per_core (a) / rc_bench_level_per_core (b));
  else
    g_string_append (out, "\nNo ratio: a server held no level within the bound.\n\n");
}

/* ---- the run ---- */

gboolean
rc_bench_ws_run (const RcBenchWsOptions *o, GString *out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcBenchIcecast) icecast = NULL;
  g_autofree char *ice_dir = g_build_filename (o->common.tmp_dir, "icecast", NULL);
  RcBenchSide rc = { .name = "roomcast", .title = "WebSocket listeners", .kind = "ws",
                     .counts = "ws", .population = "wsGuests" };
  RcBenchSide ice = { .name = "Icecast", .title = "HTTP (Ogg/Opus) listeners", .kind = "http",
                      .counts = "http", .population = "httpListeners" };
  const char *rc_args[] = { "--server", rc_bench_server_get_url (o->server), "--room", o->room_id,
                            "--slot", o->slot != NULL ? o->slot : "frame", NULL };
  RcBenchLoadgen *lg;
  gboolean ok = TRUE;

  rc_bench_side_init (&rc);
  rc_bench_side_init (&ice);
  rc.pid = rc_bench_server_get_pid (o->server);
  rc.baseline = o->baseline;
  rc.baseline_pct = o->baseline_pct;
  rc.levels = ice.levels = o->levels;
  rc.n_levels = ice.n_levels = o->n_levels;

  lg = rc_bench_loadgen_spawn (&o->common, rc_args, "loadgen.log", &error);
  if (lg == NULL)
    {
      g_string_append_printf (out, "The load generator did not start: %s\n", error->message);
      return FALSE;
    }
  rc_bench_side_run (&o->common, lg, &rc);
  rc_bench_side_empty (lg, &rc);
  rc_bench_loadgen_free (lg);
  if (o->stop_server != NULL)
    o->stop_server (o->stop_data);

  if (o->icecast && !rc_bench_interrupted ())
    {
      RcBenchIcecastOptions io = { 0 };

      g_mkdir_with_parents (ice_dir, 0755);
      io.dir = ice_dir;
      io.max_listeners = o->levels[o->n_levels - 1];
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
          const char *ice_args[] = { "--http-url", rc_bench_icecast_get_mount_url (icecast), NULL };

          ice.pid = rc_bench_icecast_get_pid (icecast);
          rc_bench_side_read_baseline (&ice);
          lg = rc_bench_loadgen_spawn (&o->common, ice_args, "loadgen-icecast.log", &error);
          if (lg != NULL)
            {
              rc_bench_side_run (&o->common, lg, &ice);
              rc_bench_side_empty (lg, &ice);
              rc_bench_loadgen_free (lg);
            }
        }
    }

  rc_bench_side_table (out, &rc);
  if (icecast != NULL)
    rc_bench_side_table (out, &ice);
  summary (out, &rc, icecast != NULL ? &ice : NULL, o->common.late_ms, o->slot);
  ok = rc.done->len > 0;
  rc_bench_side_clear (&rc);
  rc_bench_side_clear (&ice);
  return ok;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The receiver side of tools/bench-fanout: one process holding many guests
 * of one room, driven by line commands on stdin, answering on stdout. The
 * orchestrator (bench-fanout itself) runs a few of them so that guests do
 * not all share one main loop, and so that their CPU is counted apart from
 * the server's.
 *
 *   add COUNT FIRST   make COUNT guests named PREFIX-FIRST...; when each has
 *                     received RTP, failed or timed out:
 *                     "added OK FAILED TIMED_OUT SETUP_MS_SUM SETUP_MS_MAX"
 *   mark              start a measuring window: "marked"
 *   stats             per guest, since the mark: "g NAME STATE PACKETS LOST
 *                     LATE MAX_GAP_US MAX_LATE_US", then "end WINDOW_US"
 *                     (LATE and MAX_LATE_US are -1 for native guests,
 *                     which do not count them)
 *   leave             every guest leaves and closes: "left"
 *   quit              exits
 *
 * A guest that fails prints "fail NAME REASON" when it does. End of input
 * (the orchestrator is gone) exits too.
 */
typedef struct
{
  const char *server_url; /* http://127.0.0.1:PORT */
  const char *room_id;
  const char *prefix;     /* guest names */
  gboolean native;        /* guests decode to PCM (RcNativeGuest as tests use it) */
  gboolean decode;        /* light guests decode the Opus (and drop it) */
  gint64 late_us;
  guint join_timeout_s;
} RcBenchReceiverOptions;

/* Runs until "quit" or the end of stdin; returns the exit status. */
int rc_bench_receiver_run (const RcBenchReceiverOptions *options);

G_END_DECLS

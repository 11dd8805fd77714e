/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_bench_proc.h"
#include "rc_bench_server.h"

G_BEGIN_DECLS

/*
 * bench-fanout --transport ws: WebSocket listeners of one roomcast room,
 * level by level, held by one roomcast-loadgen process (pinned apart from
 * the server), then the same levels of HTTP listeners of an Icecast mount
 * fed the same sound, in the same run; the tables and the ratio of
 * listeners per core at the same lateness bound, in Markdown.
 */
typedef struct
{
  RcBenchServer *server;      /* running, its room playing */
  const char *room_id;
  RcBenchProc baseline;       /* the server with the room playing to nobody */
  double baseline_pct;
  const char *loadgen;        /* the roomcast-loadgen program */
  const char *tmp_dir;
  const guint *levels;
  guint n_levels;
  double window_s, settle_s, late_ms;
  guint join_rate;
  guint join_timeout_s;
  gint64 deadline_us;
  gboolean icecast;           /* the Icecast side too */
  /* Children's setup before exec: the loadgen's and the servers' (CPU
   * pinning, fd limit). */
  GSpawnChildSetupFunc loadgen_setup, server_setup;
  gpointer loadgen_setup_data, server_setup_data;
  /* Stops the roomcast before Icecast is measured (its core is Icecast's then). */
  void (*stop_server) (gpointer data);
  gpointer stop_data;
} RcBenchWsOptions;

/* Runs the levels; appends the tables to @out. FALSE when nothing could be measured. */
gboolean rc_bench_ws_run (const RcBenchWsOptions *options, GString *out);

G_END_DECLS

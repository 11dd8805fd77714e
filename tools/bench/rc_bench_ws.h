/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_bench_side.h"

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
  RcBenchSideOptions common;  /* the loadgen, the windows, the time budget */
  RcBenchServer *server;      /* running, its room playing */
  const char *room_id;
  RcBenchProc baseline;       /* the server with the room playing to nobody */
  double baseline_pct;
  const guint *levels;
  guint n_levels;
  gboolean icecast;           /* the Icecast side too */
  const char *slot;           /* the loadgen's --slot for the WebSocket side (NULL: frame) */
  /* Icecast's setup before exec (CPU pinning, fd limit). */
  GSpawnChildSetupFunc server_setup;
  gpointer server_setup_data;
  /* Stops the roomcast before Icecast is measured (its core is Icecast's then). */
  void (*stop_server) (gpointer data);
  gpointer stop_data;
} RcBenchWsOptions;

/* Runs the levels; appends the tables to @out. FALSE when nothing could be measured. */
gboolean rc_bench_ws_run (const RcBenchWsOptions *options, GString *out);

G_END_DECLS

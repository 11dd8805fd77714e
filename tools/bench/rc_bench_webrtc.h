/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_bench_side.h"

G_BEGIN_DECLS

/*
 * bench-fanout --transport webrtc: WebRTC guests of one roomcast room held
 * by one roomcast-loadgen process (pinned apart from the server), level by
 * level, through the fan-out engine; a row of joins at a steady rate while
 * the last level listens; then the same room served by a webrtcbin per
 * guest (--webrtc-fanout webrtcbin) at the levels it can hold; then Janus's
 * Streaming plugin (rc_bench_janus.h) fed the same Opus, driven by the same
 * loadgen through its HTTP API. The tables and the ratios of guests per
 * core at the same bound, in Markdown.
 */
typedef struct
{
  RcBenchSideOptions common;
  RcBenchServer *server;            /* running with the engine, its room playing */
  const char *room_id;
  RcBenchProc baseline;             /* the server with the room playing to nobody */
  double baseline_pct;
  const guint *levels;              /* the engine's */
  guint n_levels;
  const guint *janus_levels;        /* Janus's */
  guint n_janus_levels;
  const guint *webrtcbin_levels;    /* n_webrtcbin_levels 0: no webrtcbin side */
  guint n_webrtcbin_levels;
  gboolean janus;                   /* the Janus side too */
  guint churn_rate;                 /* joins/s of the churn row (0: none) */
  guint churn_at;                   /* ... after the first level of at least this (0: the last) */
  double churn_life_s;              /* a churn row's joiner leaves this long after its audio */
  /* Janus's setup before exec (CPU pinning, fd limit). */
  GSpawnChildSetupFunc server_setup;
  gpointer server_setup_data;
  /* Stops the roomcast and starts another with --webrtc-fanout @fanout, a
   * room playing in it; FALSE with @error. */
  gboolean (*restart_server) (gpointer data, const char *fanout, RcBenchServer **server,
                              const char **room_id, GError **error);
  void (*stop_server) (gpointer data);
  gpointer server_data;
} RcBenchWebrtcOptions;

/* Runs the sides; appends the tables to @out. FALSE when nothing could be measured. */
gboolean rc_bench_webrtc_run (const RcBenchWebrtcOptions *options, GString *out);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_bench_proc.h"
#include "rc_bench_server.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * One side of bench-fanout's side-by-side runs through roomcast-loadgen: a
 * server (a roomcast, Icecast or Janus) and the levels of listeners one
 * loadgen process holds against it, each level joined, then measured over
 * a steady window (the server's CPU, RSS and threads from /proc; the
 * loadgen's frames, lost, late, join times), and the side's table. The
 * runs that compose sides: rc_bench_ws.c (WebSocket, Icecast) and
 * rc_bench_webrtc.c (engine, webrtcbin, Janus).
 */

/* What every side of a run shares. */
typedef struct
{
  const char *loadgen;        /* the roomcast-loadgen program */
  const char *tmp_dir;
  double window_s, settle_s, late_ms;
  guint join_rate;
  guint join_timeout_s;
  gint64 deadline_us;
  /* The loadgen's setup before exec (CPU pinning, fd limit). */
  GSpawnChildSetupFunc loadgen_setup;
  gpointer loadgen_setup_data;
} RcBenchSideOptions;

typedef struct _RcBenchLoadgen RcBenchLoadgen;

/* Starts roomcast-loadgen --commands with the common options and @args
 * (its target: "--server URL --room ID", "--http-url URL", ...), its
 * stderr into TMP/@log_name. */
RcBenchLoadgen *rc_bench_loadgen_spawn (const RcBenchSideOptions *o, const char *const *args,
                                        const char *log_name, GError **error);
void rc_bench_loadgen_free (RcBenchLoadgen *lg);
/* Sends @command and returns the next line of @type (NULL on timeout or exit). */
JsonObject *rc_bench_loadgen_ask (RcBenchLoadgen *lg, const char *command, const char *type,
                                  double timeout_ms);

typedef struct
{
  guint n;
  guint added;
  guint receiving, failed;
  gboolean measured;
  gboolean churn;             /* the "joins and leaves at R/s while N listen" row */
  guint churn_rate, churn_joined;
  gint64 leaves;              /* the churn row: joiners that left in the window */
  /* The churn row: its frames, lost, late are the settled listeners' (those
   * with audio when the window began); these are every guest's, joiners too. */
  gint64 all_frames, all_lost, all_late;
  double all_p99;
  double window_s;
  double server_pct, loadgen_pct;
  guint64 rss_kib;
  guint threads;
  gint64 frames, lost, late, early, silent;
  double p50, p99, max;
  double join_wall_s, join_cpu_s, net_join_ms;
  /* The joins that raised the level, seen from the server's main thread
   * (its main context: accepts, signalling, presence, the joins
   * themselves), and what the listeners already there got meanwhile (the
   * loadgen's wsSettled since a mark as the joins began; WebSocket only). */
  double join_main_s;        /* main-thread CPU over the joins */
  double net_join_main_ms;   /* per join, less the main thread's share at rest */
  double main_pct;           /* the main thread's share in the steady window */
  gboolean during_measured;
  gint64 during_frames, during_lost, during_late;
  double during_p50, during_p99, during_max;
  char *join_load;           /* the load average as the joins ended */
  gint64 joins;
  double join_mean_ms, join_p99_ms;
  gint64 closed_by_peer, stalls;
  /* The engine's own server-added latency (room stats' webrtc member), or < 0. */
  double engine_p50_ms, engine_p99_ms;
  char *note;
} RcBenchLevel;

typedef struct
{
  const char *name;           /* "roomcast", "Icecast", "Janus", ... */
  const char *title;          /* its table's heading */
  const char *kind;           /* the loadgen's "ws" or "http" */
  const char *counts;         /* its counts member: "ws" or "http" */
  const char *population;     /* "wsGuests" or "httpListeners" */
  GPid pid;
  RcBenchProc baseline;
  double baseline_pct;
  const guint *levels;
  guint n_levels;
  double stop_lost_pct;       /* a level losing more than this ends the side (0: never) */
  /* The "joins and leaves at @churn_rate/s while N listen" row (rate 0:
   * none): after the first level of at least @churn_at guests (0: after the
   * last); each joiner leaves @churn_life_s after its first packet. */
  guint churn_rate, churn_at;
  double churn_life_s;
  /* Reads the engine's latency from GET /api/rooms/ROOM/stats; may be NULL. */
  RcBenchServer *stats_server;
  const char *stats_room;
  GPtrArray *done;            /* RcBenchLevel*, measured */
} RcBenchSide;

void rc_bench_side_init (RcBenchSide *side);
void rc_bench_side_clear (RcBenchSide *side);
/* The server at rest over 3 s: @side's baseline. */
void rc_bench_side_read_baseline (RcBenchSide *side);
/* Raises the listeners level by level until one is past what the server
 * carries, with the churn row where the side asks for it. */
void rc_bench_side_run (const RcBenchSideOptions *o, RcBenchLoadgen *lg, RcBenchSide *side);
/* The "joins and leaves at @rate/s while N listen" row: with the side's
 * last level listening, @rate more join each second, each leaving
 * @side->churn_life_s after its first packet; the window begins once the
 * first joiners leave, so it holds joins and leaves at @rate/s both. */
void rc_bench_side_churn (const RcBenchSideOptions *o, RcBenchLoadgen *lg, RcBenchSide *side,
                          guint rate);
/* Every listener leaves. */
void rc_bench_side_empty (RcBenchLoadgen *lg, RcBenchSide *side);
void rc_bench_side_table (GString *out, const RcBenchSide *side);

/* Within the bound: every listener with audio all through, nothing lost, at
 * most 0.1% late, the server under 80% of its core. */
gboolean rc_bench_level_held (const RcBenchLevel *l);
/* The largest level within the bound, or NULL. */
const RcBenchLevel *rc_bench_side_best_held (const RcBenchSide *side);
double rc_bench_level_per_core (const RcBenchLevel *l);
double rc_bench_pct_of (guint64 ticks, gint64 us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchLoadgen, rc_bench_loadgen_free)

G_END_DECLS

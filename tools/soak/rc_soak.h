/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The soak's state, shared by its run (soak.c) and its report
 * (rc_soak_report.c); private to tools/soak.
 */
#include "rc_soak_guest.h"
#include "rc_soak_redis.h"

#include "tools/bench/rc_bench_server.h"
#include "tools/whip-host/rc_whip_host.h"

#include <stdio.h>

G_BEGIN_DECLS

#define STEADY_DECODE_WEBRTC 4
#define STEADY_DECODE_WS 2
#define CHURN_HOLD_S 2      /* a churning guest stays this long after its audio came */
#define CHURN_GIVE_UP_S 20  /* ...or leaves this long after joining, without audio */
#define REDIS_OUTAGE_S 5
#define WHIP_PERIOD_S 60    /* on air for WHIP_ON_AIR_S of every period */
#define WHIP_ON_AIR_S 20
#define CHAT_EVERY_MS 1000
#define SEEK_EVERY_MS 7000
#define SKIP_EVERY_MS 20000
#define SAMPLE_EVERY_MS 20  /* the steady decoders' stall resolution */
#define HEALTH_EVERY_S 5
#define HANG_S 20           /* no /health answer this long: the server is stuck */

typedef struct
{
  double minutes;
  guint guests;
  guint churn;
  guint report_s;
  guint webrtc_pct; /* of the light guests, steady and churning */
  char *output;
  char *roomcast;
  char *server_cpus;
  char *guest_cpus;
  gboolean keep;
} RcSoakOptions;

/* One reading of the server every report_s. */
typedef struct
{
  double t_s;
  guint64 rss_kib;
  guint fds;
  guint threads;
  guint guests;
  guint with_audio;
  double server_pct, soak_pct, machine_pct; /* of one core, since the last reading */
  double soak_stall_ms; /* the soak's own main loop, longest step since the last reading */
} RcSoakSample;

/* Server log lines of one shape (digits folded), the first as said. */
typedef struct
{
  char *first;
  double first_t_s;
  guint count;
  gboolean expected; /* about Redis, while it was down or reconnecting */
} RcSoakLogShape;

typedef struct
{
  RcSoakOptions *o;
  FILE *out;
  char *tmp_dir;
  gint64 t0_us;
  gint64 end_us;
  gint64 warm_us; /* after this, gaps count and the slope is fitted */
  gboolean warmed;
  double fit_from_s; /* t of the warm-up's end */

  RcSoakRedis *redis;
  RcBenchServer *server;
  RcBenchControl *control;
  SoupSession *session;
  char *room_id, *owner_token, *key;
  guint songs;

  GPtrArray *steady; /* RcSoakGuest */
  GPtrArray *churn;  /* RcSoakGuest */
  GArray *steady_units; /* guint64, units at the last report, by steady index */
  RcWhipHost *whip;

  gint64 next_churn_us, next_chat_us, next_seek_us, next_skip_us, next_report_us;
  gint64 next_sample_us, next_whip_us, redis_kill_us, redis_back_us;
  enum { REDIS_UP, REDIS_DOWN, REDIS_STARTING, REDIS_DONE } redis_state;

  /* The watchdog: GET /health every HEALTH_EVERY_S, answered or not. */
  SoupSession *health_session;
  gint64 health_sent_us, health_ok_us, next_health_us;
  gboolean health_in_flight, hang_reported;
  char *stacks_path;

  guint joins, leaves, chats, skips, seeks, whip_on, whip_off, redis_restarts, steady_rejoins;
  guint serial;
  GArray *samples; /* RcSoakSample */
  guint64 server_ticks, soak_ticks, machine_busy, machine_total; /* at the last reading */
  gint64 last_step_us, stall_us, stall_after_warm_us;
  GHashTable *log_shapes; /* shape → RcSoakLogShape */
  guint log_lines, unexpected_log_lines;
  char *log_head; /* a WARNING/CRITICAL line whose message is on the next line */
  GPtrArray *errors; /* char *: "[t] what" */
  GHashTable *error_counts; /* folded text → count, past the first few of a kind */
} RcSoak;

/* Seconds since the soak began. */
double rc_soak_t_s (RcSoak *s);
/* A report line: stdout, and -o's file as it comes. */
void rc_soak_say (RcSoak *s, const char *format, ...) G_GNUC_PRINTF (2, 3);
const char *rc_soak_kind_name (RcSoakGuestKind kind);
/* What was done, the server's trends, the steady guests' gaps. */
void rc_soak_summarize (RcSoak *s);
/* Every error seen: the server's log lines, then the soak's own. */
void rc_soak_summarize_errors (RcSoak *s);

G_END_DECLS

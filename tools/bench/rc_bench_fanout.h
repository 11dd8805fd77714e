/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * bench-fanout's own state, shared by its files: bench_fanout.c (options,
 * the server, the room, main), rc_bench_fanout_receivers.c (the receiver
 * processes' levels and leave cycles: --transport receivers) and
 * rc_bench_fanout_report.c (that path's tables). Not a library: only
 * bench-fanout includes it.
 */
#include "rc_bench_proc.h"
#include "rc_bench_server.h"

#include <gio/gio.h>
#include <sched.h>
#include <sys/resource.h>

G_BEGIN_DECLS

/* ---- options ---- */

/* Other processes taking more than this (% of one core) disturb a window. */
#define DISTURBED_PCT 25

typedef struct
{
  char *levels;
  double window_s;
  double settle_s;
  guint batch;
  guint per_receiver;
  guint join_timeout_s;
  double late_ms;
  char *slot; /* --transport ws: the loadgen's --slot (NULL: frame) */
  guint max_seconds;
  guint track_seconds;
  char *roomcast;
  char *music_dir;
  char *output;
  gboolean native;
  gboolean decode;
  gboolean keep;
  guint leave_cycles;
  int receiver_nice;
  int wait_quiet_s;
  guint retries;
  char *server_cpus;   /* CPU list the server is pinned to, or NULL */
  char *receiver_cpus; /* likewise for the receivers */
  guint top_threads;
  char *transport;     /* "receivers" (receiver processes), "webrtc" (roomcast-loadgen: engine,
                        * webrtcbin, Janus) or "ws" (roomcast-loadgen, and Icecast) */
  char *loadgen;       /* the roomcast-loadgen program */
  gboolean no_icecast;
  guint join_rate;
  char *webrtcbin_levels; /* --transport webrtc: the webrtcbin side's ("none": no side) */
  char *janus_levels;     /* --transport webrtc: Janus's (NULL: --levels) */
  gboolean no_janus;
  guint churn_rate;
  guint churn_at;
  double churn_life_s;
} Options;

/* ---- state ---- */

typedef struct
{
  int nice;
  gboolean pin;
  cpu_set_t cpus;
  rlim_t nofile; /* raise the fd limit to this (0: leave it) */
} ChildSetup;

typedef struct
{
  char *name;
  GSubprocess *proc;
  GPid pid;
  GOutputStream *in;
  GDataInputStream *out;
  GQueue lines; /* char *, unread replies */
  gboolean eof;
  guint guests;
} Receiver;

/* One steady window of a level. */
typedef struct
{
  gboolean measured;
  guint present;      /* guests asked for so far (the level's n unless joins stopped) */
  double window_s;
  double server_pct, client_pct, other_pct;
  double server_cpu_per_s; /* CPU seconds per second: for the net join figure */
  guint64 rss_kib;
  guint threads;
  guint with_audio, failed, waiting;
  double pkts_mean;
  double delivered_pct; /* packets received / packets due over the receivers' windows */
  double expected_per_guest;
  double lost_mean, late_mean;
  guint64 lost_max, late_max;
  guint lost_guests, late_guests;
  double worst_gap_ms, worst_late_ms;
  GPtrArray *thread_groups;        /* the server's, RcBenchThreadGroup, busiest first */
  GPtrArray *client_thread_groups; /* the receivers', likewise */
  RcBenchUdp udp;                  /* the machine's UDP counters over the window */
} Window;

typedef struct
{
  guint n;            /* guests asked for, in total */
  guint added;        /* guests asked for in this level */
  guint join_ok, join_failed, join_timed_out;
  double join_wall_s;
  double join_cpu_s;
  double setup_sum_ms, setup_max_ms;
  GPtrArray *join_thread_groups; /* the server's while the level's guests joined */
  Window w;                      /* the steady window (the least disturbed attempt) */
  guint attempts;                /* windows measured */
  char *note;
} Level;

typedef struct
{
  Options *o;
  ChildSetup server_setup, receiver_setup; /* the children's, before exec */
  char *self_exe;
  char *tmp_dir;
  char *music_dir;
  gint64 started_us;
  gint64 deadline_us;
  gboolean failed;

  RcBenchServer *server;
  GPid server_pid;
  const char *base_url;
  guint server_warnings;
  guint server_media_failures;

  RcBenchControl *control;
  char *room_id;
  char *owner_token;
  char *song_id;
  char *song_title;
  gboolean playing;
  const char *fanout;  /* --webrtc-fanout of the server, or NULL (its default) */

  GPtrArray *receivers;
  guint guests;
  GPtrArray *guest_failures; /* char *, "name reason", first ones */
  guint guest_failure_count;

  RcBenchProc baseline;
  double baseline_pct;
  double busy_before_pct; /* the machine's busy CPU before the run began */
  GPtrArray *levels; /* Level */
  GArray *cycles; /* Cycle: the server after every guest left, cycle by cycle */
} Bench;

typedef struct
{
  guint guests;        /* how many had joined before they all left */
  guint threads_at_5s; /* the server's threads 5 s after the last "left" */
  double drain_s;      /* until its threads were back to the empty room's (+2), or -1 */
  double health_max_ms; /* the slowest GET /health while draining: is the main loop free? */
  RcBenchProc after;   /* the server when drained (or at the timeout), 2 s later */
  guint health_guests; /* /health "guests" then (the control connection is one) */
} Cycle;


typedef struct
{
  gint64 at_us;
  RcBenchProc server;
  GHashTable *threads;
  GHashTable *client_threads; /* every receiver's threads (tids are unique) */
  guint64 client_ticks;       /* receivers and this process */
  guint64 machine_busy;
  guint64 machine_total;
  RcBenchUdp udp;
} Snap;

/* bench_fanout.c */
void rc_bench_fanout_child_setup (gpointer data);
GPid rc_bench_fanout_pid_of (GSubprocess *proc);

/* rc_bench_fanout_receivers.c */
void rc_bench_fanout_stop_receivers (Bench *b);
void rc_bench_fanout_snap_take (Bench *b, Snap *s, gboolean with_threads);
double rc_bench_fanout_pct (guint64 ticks, const Snap *a, const Snap *z);
gboolean rc_bench_fanout_server_alive (Bench *b);
void rc_bench_fanout_note (Level *level, const char *format, ...) G_GNUC_PRINTF (2, 3);
gboolean rc_bench_fanout_run_level (Bench *b, Level *level, const Level *previous);
void rc_bench_fanout_leave_cycles (Bench *b);

/* rc_bench_fanout_report.c */
void rc_bench_fanout_report_head (Bench *b, GString *out, const char *title,
                                  const char *command_line);
void rc_bench_fanout_report (Bench *b, GString *out, const char *command_line);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "tools/native-guest/rc_recording.h"

#include <glib.h>

G_BEGIN_DECLS

/*
 * What one bench-sync run collected, for its analysis (rc_bench_sync_report.c):
 * the guests with their recordings, the ideal (the room's stream as the
 * server sent it, placed at C + D) and the times of the run, all in ms on
 * this machine's monotonic clock, which is the server clock.
 */
typedef enum
{
  RC_BENCH_NATIVE,
  RC_BENCH_BROWSER,
} RcBenchGuestKind;

typedef struct
{
  char *name;
  RcBenchGuestKind kind;
  char *transport;     /* "webrtc" or "ws" */
  gboolean late;       /* joined during the run (the join measurement) */
  gboolean jittered;   /* behind the delay stage */
  double joined_at;    /* ms: process started (native), join clicked (browser) */
  double listening_at; /* ms: first audio out (native log line, browser "listening"), or 0 */
  GPtrArray *recordings; /* RcRecording*: one WAV (native) or the engine's captures (browser) */
  GArray *self_errors;   /* double ms: the guest's own syncReport errors in the window */
  double sink_error_p50; /* native: its sink's own render error over the run (sidecar), or -1 */
  char *failure;         /* why it has no recording, or NULL */
} RcBenchSyncGuest;

typedef struct
{
  GPtrArray *guests;   /* RcBenchSyncGuest* */
  RcRecording *ideal;  /* may be NULL */
  double start, end;   /* the measured window */
  double join_at;      /* when the late guests were brought in, or 0 */
  double seek_at;      /* when the seek was sent, or 0 */
  double seek_done_at; /* its reply */
  GArray *delays;      /* double pairs: ms, D ms (as the control connection heard them) */
  GArray *control_arrivals; /* double ms: receive − C of the control's frames in the window */
  double end_or_now;   /* the window's end once known, else +inf */
  /* figures of the run, printed as they are */
  char *command_line;
  char *machine;
  char *load_before, *load_after;
  double server_cpu_pct;  /* of one core, over the window */
  double machine_busy_pct; /* of all cores, steal included */
  double steal_pct;
  double jitter_ms;
  guint64 proxy_chunks;
  double proxy_mean_ms, proxy_max_ms;
  char *dump_dir; /* when set: one CSV per guest of its clicks against the ideal */
} RcBenchSyncRun;

void rc_bench_sync_guest_free (RcBenchSyncGuest *guest);

/* Markdown: the skew tables, each guest against the ideal, convergence. */
void rc_bench_sync_report (RcBenchSyncRun *run, GString *out);

G_END_DECLS

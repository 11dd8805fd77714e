/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "rc_lg_counts.h"

G_BEGIN_DECLS

/*
 * RcLoadgen: thousands of listeners on one thread. WebSocket guests speak
 * the browser's path to a roomcast (upgrade, join, startMedia with the ws
 * transport, the binary media frames; pongs and closes), each frame counted
 * against its slot: its server time C on the server clock, which one extra
 * connection follows with timeSync exchanges as a browser does. HTTP
 * listeners read an Icecast mount (Ogg/Opus) and count its pages against
 * the stream's own timeline (granule positions), the listener's best
 * transit being its slot. Everything is non-blocking sockets on one epoll
 * loop; nothing per listener but a socket and a few dozen bytes.
 *
 * A sample of the guests (1 in @sample_every) decode their Opus and check
 * the room's tone (@tone_hz): the others count frames by their headers.
 * With @transport "webrtc" the guests take WebRTC instead (rc_lg_webrtc.h:
 * ICE as the controlling agent, DTLS client, RTP counted by its header
 * without decrypting; no sample decodes there). With @janus_url the
 * WebRTC guests watch a Janus Streaming mountpoint instead (rc_lg_janus.h).
 */
typedef struct _RcLoadgen RcLoadgen;

/* A WebSocket frame's slot, the time its lateness is counted from. */
typedef enum
{
  RC_LG_SLOT_FRAME,   /* its own C */
  RC_LG_SLOT_MESSAGE, /* the C of its message's last frame: a bundle's frames
                       * are due when it is complete (the wait the bundling
                       * adds by design, which D covers, is left out) */
  RC_LG_SLOT_TRANSIT, /* that, plus the listener's best transit so far (the
                       * smallest arrival − slot): what the Icecast listeners
                       * and the WebRTC guests are held to, so a listener
                       * steadily late by its place in the writer's round
                       * counts only what it varies */
} RcLgSlot;

typedef struct
{
  const char *server_url;  /* "http://127.0.0.1:PORT" of the roomcast; NULL: no WebSocket guests */
  const char *room_id;
  const char *http_url;    /* "http://HOST:PORT/mount" for HTTP listeners; may be NULL */
  const char *name_prefix; /* guests' names: PREFIX-N ("lg") */
  double late_ms;          /* a frame this much behind its slot is late (60) */
  RcLgSlot slot;            /* a WebSocket frame's slot (RC_LG_SLOT_FRAME) */
  double stall_ms;         /* an HTTP listener with no byte for this long stalls (500) */
  guint join_rate;         /* connections started per second, at most (500) */
  guint max_pending;       /* connections joining at once, at most (64) */
  guint sample_every;      /* 1 guest in N decodes and checks the tone (100; 0: none) */
  double tone_hz;          /* the tone the sampled guests expect (440; 0: no check) */
  guint source_addresses;  /* connect from 127.0.0.1..N (8): more ports to go round */
  const char *transport;   /* the guests' startMedia transport: "ws" (default) or "webrtc" */
  double join_timeout_s;   /* a listener with no frame this long after its connect fails (30) */
  /* Instead of a roomcast: Janus's HTTP API ("http://127.0.0.1:PORT/janus")
   * and the Streaming plugin's mountpoint the guests watch (rc_lg_janus.h). */
  const char *janus_url;
  guint janus_mountpoint;
} RcLoadgenOptions;

/* What the listeners of one kind are doing now. */
typedef struct
{
  guint target;      /* asked for */
  guint joining;     /* connecting, upgrading, joining, waiting for the first frame */
  guint receiving;   /* have had a frame (a page) */
  guint failed;      /* ended without being asked to (since the start) */
} RcLoadgenPopulation;

/* Once a second, and for rc_loadgen_get_window(). */
typedef struct
{
  double span_s;            /* how long the figures cover */
  RcLoadgenPopulation ws, http;
  RcLgCounts ws_counts;     /* frames */
  RcLgCounts http_counts;   /* Ogg pages */
  guint64 http_bytes;
  guint64 http_stalls;
  guint64 closed_by_peer;   /* connections the server closed */
  double cpu_pct;           /* this process, % of one core */
  /* Window only (rc_loadgen_get_window): */
  guint silent_ws;          /* receiving guests that got no frame in the window */
  guint silent_http;
  RcLgCounts ws_settled;    /* frames of the guests that had audio when the window began
                             * (joins in the window left out: "joins while N listen") */
  double join_mean_ms, join_p99_ms, join_max_ms; /* connect → first frame, joins done in it */
  guint joins;
  guint leaves;             /* churners that left as planned (rc_loadgen_set_churn) */
  guint churners;           /* churners open now, joining or listening */
  guint sampled, sampled_with_tone; /* sample guests, and those whose audio held the tone */
  guint64 sample_frames;
  char *first_failure;      /* the first failure's reason, or NULL */
} RcLoadgenFigures;

void rc_loadgen_figures_clear (RcLoadgenFigures *figures);
/* One JSON object (one line) of @figures, with @kind as its "type". */
char *rc_loadgen_figures_to_json (const RcLoadgenFigures *figures, const char *kind);

typedef void (*RcLoadgenTickFunc) (RcLoadgen *loadgen, const RcLoadgenFigures *second,
                                   gpointer user_data);
typedef void (*RcLoadgenInputFunc) (RcLoadgen *loadgen, int fd, gpointer user_data);

RcLoadgen *rc_loadgen_new (const RcLoadgenOptions *options, GError **error);
void rc_loadgen_free (RcLoadgen *loadgen);

/* How many guests / HTTP listeners to hold; more are started at the join
 * rate, fewer are closed (the newest first). Failed ones are not replaced. */
void rc_loadgen_set_ws_target (RcLoadgen *loadgen, guint count);
void rc_loadgen_set_http_target (RcLoadgen *loadgen, guint count);
RcLoadgenPopulation rc_loadgen_get_ws (RcLoadgen *loadgen);
RcLoadgenPopulation rc_loadgen_get_http (RcLoadgen *loadgen);
/* Connections started per second from now on. */
void rc_loadgen_set_join_rate (RcLoadgen *loadgen, guint per_second);
/* Joins and leaves while the others listen: from now on @per_second guests
 * join on top of the target (at that rate, besides the join rate), each
 * leaving by itself @life_s after its first frame (its sockets closed, as a
 * closed tab does); a failed one is not replaced. @per_second 0 ends the
 * churn: every churner leaves at once. Churners are never the window's
 * settled guests, and lowering the target closes none of them. */
void rc_loadgen_set_churn (RcLoadgen *loadgen, guint per_second, double life_s);
/* The server clock is known (WebSocket guests start only then). */
gboolean rc_loadgen_clock_ready (RcLoadgen *loadgen);

void rc_loadgen_set_tick_func (RcLoadgen *loadgen, RcLoadgenTickFunc func, gpointer user_data);
/* @func runs when @fd is readable (level-triggered), on the loop. */
void rc_loadgen_watch_fd (RcLoadgen *loadgen, int fd, RcLoadgenInputFunc func, gpointer user_data);

/* Starts a window: its counts begin now. */
void rc_loadgen_mark (RcLoadgen *loadgen);
/* The figures since the mark (caller clears). */
void rc_loadgen_get_window (RcLoadgen *loadgen, RcLoadgenFigures *out);

/* Runs the loop for @ms (forever when < 0) or until rc_loadgen_quit(). */
void rc_loadgen_run (RcLoadgen *loadgen, double ms);
/* From any thread, or a tick. */
void rc_loadgen_quit (RcLoadgen *loadgen);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcLoadgen, rc_loadgen_free)

G_END_DECLS

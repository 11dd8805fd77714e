/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_lg_ogg.h"
#include "rc_lg_websocket.h"
#include "rc_loadgen.h"

#include <opus/opus.h>

G_BEGIN_DECLS

/*
 * Inside the load generator: the loop (rc_loadgen.c) and one connection's
 * protocol (rc_lg_conn.c) share these. Everything runs on the loop's thread.
 */
typedef enum
{
  RC_LG_KIND_WS,    /* a guest */
  RC_LG_KIND_CLOCK, /* the one connection that follows the server clock */
  RC_LG_KIND_HTTP,  /* an Icecast listener */
} RcLgKind;

typedef enum
{
  RC_LG_CONNECTING,
  RC_LG_UPGRADING,  /* the upgrade (or the HTTP request) is out, the answer's head awaited */
  RC_LG_JOINING,    /* join sent, initialState awaited */
  RC_LG_STARTING,   /* startMedia sent, frames awaited */
  RC_LG_RECEIVING,  /* frames (pages) arrive */
  RC_LG_CLOSED,
} RcLgState;

/* A sampled guest's decoder and what it heard. */
typedef struct
{
  OpusDecoder *decoder;
  guint64 frames;
  guint64 tone_frames;
} RcLgSample;

typedef struct
{
  int fd;
  guint8 kind;
  guint8 state;
  guint8 have_seq;
  guint8 counted_joining; /* counted in joining (not yet receiving) */
  guint8 settled;         /* had audio when the window began: counted in window.ws_settled too */
  guint8 churner;         /* joined by the churn, leaves by itself (rc_loadgen_set_churn) */
  guint index;            /* in its list (RcLoadgen's ws or http) */
  guint number;           /* guest number, for its name */
  guint32 last_seq;
  gint64 started_us;      /* when its connect began */
  gint64 last_read_us;    /* HTTP: stall detection */
  guint64 frames_at_mark; /* its frames when the window began */
  guint64 frames;
  guint8 *keep;           /* the unread tail of the last read */
  guint32 keep_len, keep_cap;
  guint8 *out;            /* bytes the socket did not take yet */
  guint32 out_len;
  RcLgWsReader ws;
  RcLgOggReader *ogg;     /* HTTP only */
  /* HTTP, and WebSocket with --slot transit: the smallest arrival − slot so far */
  double best_transit_ms;
  RcLgSample *sample;     /* 1 in sample_every guests */
  struct _RcLgRtc *rtc;   /* a WebRTC guest's UDP side (rc_lg_webrtc.c), or NULL */
  struct _RcLgJanus *janus; /* a Janus viewer's HTTP exchange (rc_lg_janus.c), or NULL */
  GList *churn_link;      /* a churner with audio: its place in RcLoadgen's churn_leaving */
  gint64 leave_us;        /* a churner with audio: when it leaves */
  char key[25];
} RcLgConn;

typedef struct
{
  double offset_ms; /* server clock − CLOCK_MONOTONIC, ms */
  double rtt_ms;
  guint samples;
  double rtts[16];
  double offsets[16];
} RcLgClock;

struct _RcLoadgen
{
  RcLoadgenOptions o;
  char *host;       /* "127.0.0.1:PORT" of the roomcast */
  guint port;
  char *http_host;  /* of the HTTP mount */
  guint http_port;
  char *http_path;
  int epoll_fd;
  int wake_fd;      /* an eventfd: rc_loadgen_quit from another thread */
  gboolean quit;
  guint8 *rbuf;     /* the read buffer every connection shares */
  gsize rbuf_size;

  GPtrArray *ws;    /* RcLgConn*, guests */
  GPtrArray *http;  /* RcLgConn*, HTTP listeners */
  RcLgConn *clock_conn;
  RcLgClock clock;
  gint64 next_sync_us;
  guint syncs_sent;
  guint next_number;
  guint ws_opened;  /* guests ever opened: the sample is every Nth */
  RcLoadgenPopulation ws_pop, http_pop;
  guint ws_started, http_started; /* not counting ones closed by a lowered target */
  double join_tokens;
  gint64 last_ramp_us;
  /* The churn (rc_loadgen_set_churn): guests on top of the target, joining
   * at churn_rate, each leaving churn_life_us after its first frame. */
  guint churn_rate;
  gint64 churn_life_us;
  double churn_tokens;
  guint churners;           /* open churners, joining or listening */
  GQueue churn_leaving;     /* RcLgConn*, churners with audio, in the order they leave */

  RcLoadgenFigures second;  /* counts of the current second */
  RcLoadgenFigures window;  /* counts since the mark */
  GArray *join_ms;          /* double: connect → first frame, joins done since the mark */
  gint64 second_start_us, window_start_us;
  double cpu_second_s, cpu_window_s;

  GPtrArray *rtcs;          /* RcLgRtc*, every WebRTC guest's UDP side */
  GPtrArray *closed;        /* RcLgConn*, closed in this turn, freed at its end */
  gpointer rtc_shared;      /* their STUN agent and DTLS certificate */
  gboolean webrtc;          /* guests take transport webrtc */
  char *janus_path;         /* guests watch a Janus mountpoint: its API's path ("/janus"), or NULL */

  RcLoadgenTickFunc tick;
  gpointer tick_data;
  GArray *inputs;           /* Input */
};

/* CLOCK_MONOTONIC in µs (the server clock's base on this machine). */
gint64 rc_lg_now_us (void);

/* rc_lg_conn.c: one connection's life. */
RcLgConn *rc_lg_conn_open (RcLoadgen *lg, RcLgKind kind);
/* epoll said @events for @conn. */
void rc_lg_conn_ready (RcLoadgen *lg, RcLgConn *conn, guint32 events);
/* Closes it and takes it out of its list; @failure: why, counted as a
 * failure when not NULL. It is freed (rc_lg_conn_free) once the loop's
 * current batch of events is done: an event later in the batch may still
 * name it (its state is then RC_LG_CLOSED). */
void rc_lg_conn_close (RcLoadgen *lg, RcLgConn *conn, const char *failure);
void rc_lg_conn_free (RcLgConn *conn);
/* A listener's first frame (page, packet): it has joined. */
void rc_lg_conn_first_frame (RcLoadgen *lg, RcLgConn *conn, gint64 now_us);
/* A guest's frame @behind_ms after its slot, and frames lost. */
void rc_lg_count_frame (RcLoadgen *lg, RcLgConn *conn, double behind_ms);
void rc_lg_count_lost (RcLoadgen *lg, RcLgConn *conn, guint64 lost);
/* Writes @data (or queues what the socket does not take). FALSE when the
 * connection broke. */
gboolean rc_lg_conn_write (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length);
/* Sends a text message (the clock's timeSync). */
void rc_lg_conn_send_text (RcLoadgen *lg, RcLgConn *conn, const char *text);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcMetrics: the server's counters, gauges and histograms, one instance made
 * by the composition root and handed to whoever counts. Every metric and
 * every label value it may carry is known in advance (the table in
 * rc_metrics.c): there is never a label per guest or per request. A label
 * value outside the table is counted as "other" (error codes) or dropped.
 * Written out in the Prometheus text format 0.0.4 by rc_metrics_write.
 *
 * Every function accepts a NULL @metrics and then does nothing, so rooms
 * and sessions made without one (tests) need no checks. Main context only.
 */
typedef struct _RcMetrics RcMetrics;

typedef enum
{
  /* counters */
  RC_METRIC_JOINS,            /* joins */
  RC_METRIC_WS_MESSAGES,      /* WebSocket messages received */
  RC_METRIC_ERRORS,           /* error replies, label code */
  RC_METRIC_PACKETS_SENT,     /* audio packets sent, label transport (webrtc, ws) */
  RC_METRIC_BYTES_SENT,       /* their bytes, label transport */
  RC_METRIC_STORE_RECONNECTS, /* set from the store at each write-out */
  RC_METRIC_STORE_FENCED,     /* writes a cluster's fence refused, set likewise */
  RC_METRIC_RELAY_REFUSED,    /* a cluster's relay messages refused as malformed, set likewise */
  RC_METRIC_CPU_SECONDS,      /* process CPU, set likewise */
  RC_METRIC_ACCEPT_RESTARTS,  /* the HTTP listener set up again after an accept failed */
  RC_METRIC_WEBRTC_DROPPED,   /* the engine's port: datagrams dropped, label reason (set) */
  RC_METRIC_WEBRTC_SEND_FAILED, /* the engine: datagrams the kernel refused (set) */
  /* gauges, set when written out */
  RC_METRIC_ROOMS,
  RC_METRIC_GUESTS,           /* label transport (webrtc, ws, none) */
  RC_METRIC_LIVE_HOSTS,
  RC_METRIC_STORE_CONNECTED,
  RC_METRIC_STORE_PENDING,
  RC_METRIC_OPEN_FDS,
  RC_METRIC_MAX_FDS,
  RC_METRIC_WEBRTC_SEND_LATENCY, /* the engine: RTP in → sendmmsg, label quantile */
  RC_METRIC_RESIDENT_BYTES,
  RC_METRIC_THREADS,
  RC_METRIC_START_TIME,
  RC_METRIC_RELAY_GUESTS,     /* a cluster's relayed guests, label side (remote, relayed) */
  /* histograms, in seconds */
  RC_METRIC_JOIN_LATENCY,     /* label until (initial_state, first_audio) */
  RC_METRIC_SYNC_ERROR,       /* |error| of guests' syncReports */
  RC_METRIC_COUNT
} RcMetric;

RcMetrics *rc_metrics_new (void);
RcMetrics *rc_metrics_ref (RcMetrics *metrics);
void rc_metrics_unref (RcMetrics *metrics);

/* Counters. @label: one of the metric's label values, or NULL when it has
 * no label. */
void rc_metrics_add (RcMetrics *metrics, RcMetric metric, const char *label, guint64 n);
/* Running totals of packets and bytes sent over @transport (counted
 * elsewhere, e.g. on another thread): adds what grew since the totals in
 * @counted_packets / @counted_bytes, and moves those on. */
void rc_metrics_add_sent (RcMetrics *metrics, const char *transport, guint64 packets,
                          guint64 bytes, guint64 *counted_packets, guint64 *counted_bytes);
void rc_metrics_inc (RcMetrics *metrics, RcMetric metric);
/* RC_METRIC_ERRORS by its wire code. */
void rc_metrics_inc_error (RcMetrics *metrics, int code);
/* Gauges, and counters whose total is kept elsewhere (the store's reconnects). */
void rc_metrics_set (RcMetrics *metrics, RcMetric metric, const char *label, double value);
/* A counter's or gauge's value now (0 for a label value not in the table). */
double rc_metrics_get (RcMetrics *metrics, RcMetric metric, const char *label);
/* Histograms: one observation, in seconds. */
void rc_metrics_observe (RcMetrics *metrics, RcMetric metric, const char *label, double value);

/* A histogram's upper bounds (without +Inf), and its cumulative counts
 * (n_bounds + 1 of them, the last is the count) into @counts. */
const double *rc_metrics_get_bounds (RcMetric metric, guint *n_bounds);
void rc_metrics_get_histogram (RcMetrics *metrics, RcMetric metric, const char *label,
                               guint64 *counts);
/* The @q quantile estimated from cumulative bucket counts (as
 * histogram_quantile does: linear within the bucket; the highest bound when
 * it falls in +Inf); 0 when there is nothing. */
double rc_metrics_quantile (const double *bounds, guint n_bounds, const guint64 *counts, double q);

/* Appends every metric in the text format 0.0.4 (# HELP, # TYPE, samples). */
void rc_metrics_write (RcMetrics *metrics, GString *out);
/* Appends one gauge family whose label values are not in the table (the
 * route's per-room figures): @labels and @values have @n entries. */
void rc_metrics_write_gauge (GString *out, const char *name, const char *help,
                             const char *label, const char *const *labels, const double *values,
                             guint n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcMetrics, rc_metrics_unref)

G_END_DECLS

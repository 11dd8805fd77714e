/* SPDX-License-Identifier: MIT */
/*
 * The metrics registry behind GET /metrics. Why it exists: counting has to
 * happen where things happen (signalling's dispatch, a room's join, a
 * guest's media, the sync reports) while the figures are written out in one
 * place, and Prometheus wants every series known and bounded. So the
 * metrics, their label values and their buckets are one table here; a hook
 * names a metric and a label value from it, nothing else.
 *
 * The error codes' label values are the wire codes of rc_error_table(), so
 * a new code is counted without touching this file.
 */
#include "server/core/rc_metrics.h"
#include "server/core/rc_error.h"

#include <math.h>
#include <string.h>

typedef enum
{
  KIND_COUNTER,
  KIND_GAUGE,
  KIND_HISTOGRAM,
} Kind;

typedef struct
{
  const char *name;
  const char *help;
  Kind kind;
  const char *label;          /* NULL: no label */
  const char *const *values;  /* NULL-terminated; NULL with a label: the error codes */
  const double *bounds;       /* histograms */
  guint n_bounds;
} Family;

static const char *const transports[] = { "webrtc", "ws", NULL };
static const char *const guest_transports[] = { "webrtc", "ws", "none", NULL };
static const char *const relay_sides[] = { "remote", "relayed", NULL };
static const char *const join_ends[] = { "initial_state", "first_audio", NULL };
static const char *const drop_reasons[] = { "unknown_address", "stun_refused", "malformed",
                                            "dtls", "srtp", "timed_out", NULL };
static const char *const quantiles[] = { "0.5", "0.99", NULL };

/* Sync wants sub-millisecond resolution; a join is a matter of tens of ms to seconds. */
static const double sync_bounds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01,
                                      0.02,   0.05,  0.1,   0.2,   0.5 };
static const double join_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5,   1,    2.5,   5,    10 };

static const Family families[RC_METRIC_COUNT] = {
  [RC_METRIC_JOINS] = { "roomcast_joins_total", "Guests that joined a room.", KIND_COUNTER },
  [RC_METRIC_WS_MESSAGES] = { "roomcast_ws_messages_total",
                              "WebSocket messages received from clients.", KIND_COUNTER },
  [RC_METRIC_ERRORS] = { "roomcast_errors_total",
                         "Error replies sent on the WebSocket, by wire code.", KIND_COUNTER,
                         "code" },
  [RC_METRIC_PACKETS_SENT] = { "roomcast_packets_sent_total",
                               "Audio packets sent to guests, by transport.", KIND_COUNTER,
                               "transport", transports },
  [RC_METRIC_BYTES_SENT] = { "roomcast_sent_bytes_total",
                             "Audio payload bytes sent to guests, by transport.", KIND_COUNTER,
                             "transport", transports },
  [RC_METRIC_STORE_RECONNECTS] = { "roomcast_store_reconnects_total",
                                   "Times the store's connection came back after an outage.",
                                   KIND_COUNTER },
  [RC_METRIC_STORE_FENCED] = { "roomcast_store_fenced_writes_total",
                               "Store writes refused because this node no longer held the "
                               "room's lease (its fencing epoch had moved on).",
                               KIND_COUNTER },
  [RC_METRIC_RELAY_REFUSED] = { "roomcast_relay_refused_total",
                                "Messages from other nodes of the cluster refused as malformed "
                                "(another version, or a compromised node).",
                                KIND_COUNTER },
  [RC_METRIC_CPU_SECONDS] = { "process_cpu_seconds_total",
                              "User and system CPU time spent, in seconds.", KIND_COUNTER },
  [RC_METRIC_ACCEPT_RESTARTS] = { "roomcast_http_accept_restarts_total",
                                  "Times the HTTP listener paused at the open-file limit and "
                                  "accepted again.",
                                  KIND_COUNTER },
  [RC_METRIC_WEBRTC_DROPPED] = { "roomcast_webrtc_dropped_total",
                                 "Datagrams the WebRTC engine's port dropped, by why (guests "
                                 "timed_out: guests dropped after 30 s without a word).",
                                 KIND_COUNTER, "reason", drop_reasons },
  [RC_METRIC_WEBRTC_SEND_FAILED] = { "roomcast_webrtc_send_failed_total",
                                     "Datagrams the WebRTC engine could not send (the kernel "
                                     "refused them, or its sender was 2 s behind).",
                                     KIND_COUNTER },
  [RC_METRIC_ROOMS] = { "roomcast_rooms", "Rooms this server holds.", KIND_GAUGE },
  [RC_METRIC_GUESTS] = { "roomcast_guests",
                         "Guests in rooms, by the transport of their audio (none: not listening).",
                         KIND_GAUGE, "transport", guest_transports },
  [RC_METRIC_LIVE_HOSTS] = { "roomcast_live_hosts", "Live hosts on air (WHIP or SRT).",
                             KIND_GAUGE },
  [RC_METRIC_STORE_CONNECTED] = { "roomcast_store_connected",
                                  "1 when the store is reachable, else 0.", KIND_GAUGE },
  [RC_METRIC_STORE_PENDING] = { "roomcast_store_pending_writes",
                                "Store writes buffered or in flight.", KIND_GAUGE },
  [RC_METRIC_OPEN_FDS] = { "process_open_fds", "Open file descriptors.", KIND_GAUGE },
  [RC_METRIC_MAX_FDS] = { "process_max_fds", "The open-file limit (soft) of the process.",
                          KIND_GAUGE },
  [RC_METRIC_WEBRTC_SEND_LATENCY] = { "roomcast_webrtc_send_latency_seconds",
                                      "The WebRTC engine's added latency, from a room's packet to "
                                      "its sendmmsg, over recent batches.",
                                      KIND_GAUGE, "quantile", quantiles },
  [RC_METRIC_RESIDENT_BYTES] = { "process_resident_memory_bytes", "Resident memory in bytes.",
                                 KIND_GAUGE },
  [RC_METRIC_THREADS] = { "process_threads", "Threads of the process.", KIND_GAUGE },
  [RC_METRIC_START_TIME] = { "process_start_time_seconds",
                             "Start time of the process since the Unix epoch, in seconds.",
                             KIND_GAUGE },
  [RC_METRIC_RELAY_GUESTS] = { "roomcast_relay_guests",
                               "Guests relayed between nodes of the cluster: remote (guests of "
                               "other nodes in rooms served here), relayed (guests connected here "
                               "whose room another node serves).",
                               KIND_GAUGE, "side", relay_sides },
  [RC_METRIC_JOIN_LATENCY] = { "roomcast_join_latency_seconds",
                               "From a join request to its initialState, and to the first audio "
                               "frame sent to the guest.",
                               KIND_HISTOGRAM, "until", join_ends, join_bounds,
                               G_N_ELEMENTS (join_bounds) },
  [RC_METRIC_SYNC_ERROR] = { "roomcast_sync_error_seconds",
                             "Absolute playout error guests report (syncReport), in seconds.",
                             KIND_HISTOGRAM, NULL, NULL, sync_bounds, G_N_ELEMENTS (sync_bounds) },
};

typedef struct
{
  double value;     /* counters and gauges */
  guint64 *buckets; /* histograms: n_bounds + 1, not cumulative */
  double sum;
} Series;

struct _RcMetrics
{
  gint ref_count;
  Series *series[RC_METRIC_COUNT];
  guint n_series[RC_METRIC_COUNT];
};

static guint
count_values (RcMetric metric)
{
  const Family *f = &families[metric];
  guint n = 0;

  if (f->label == NULL)
    return 1;
  if (f->values == NULL)
    {
      for (const RcErrorInfo *e = rc_error_table (); e->code != 0; e++)
        n++;
      return n;
    }
  while (f->values[n] != NULL)
    n++;
  return n;
}

/* The series' label value @i, written into @buf for the error codes. */
static const char *
value_name (RcMetric metric, guint i, char *buf, gsize size)
{
  if (families[metric].values != NULL)
    return families[metric].values[i];
  g_snprintf (buf, size, "%u", rc_error_table ()[i].code);
  return buf;
}

RcMetrics *
rc_metrics_new (void)
{
  RcMetrics *metrics = g_new0 (RcMetrics, 1);

  metrics->ref_count = 1;
  for (guint m = 0; m < RC_METRIC_COUNT; m++)
    {
      metrics->n_series[m] = count_values (m);
      metrics->series[m] = g_new0 (Series, metrics->n_series[m]);
      if (families[m].kind == KIND_HISTOGRAM)
        for (guint i = 0; i < metrics->n_series[m]; i++)
          metrics->series[m][i].buckets = g_new0 (guint64, families[m].n_bounds + 1);
    }
  return metrics;
}

RcMetrics *
rc_metrics_ref (RcMetrics *metrics)
{
  g_atomic_int_inc (&metrics->ref_count);
  return metrics;
}

void
rc_metrics_unref (RcMetrics *metrics)
{
  if (metrics == NULL || !g_atomic_int_dec_and_test (&metrics->ref_count))
    return;
  for (guint m = 0; m < RC_METRIC_COUNT; m++)
    {
      for (guint i = 0; i < metrics->n_series[m]; i++)
        g_free (metrics->series[m][i].buckets);
      g_free (metrics->series[m]);
    }
  g_free (metrics);
}

/* The series @label names, or NULL (a value not in the table). */
static Series *
find_series (RcMetrics *metrics, RcMetric metric, const char *label)
{
  char buf[16];

  if (metrics == NULL || metric >= RC_METRIC_COUNT)
    return NULL;
  if (families[metric].label == NULL)
    return metrics->series[metric];
  if (label == NULL)
    return NULL;
  for (guint i = 0; i < metrics->n_series[metric]; i++)
    if (strcmp (value_name (metric, i, buf, sizeof buf), label) == 0)
      return &metrics->series[metric][i];
  return NULL;
}

void
rc_metrics_add (RcMetrics *metrics, RcMetric metric, const char *label, guint64 n)
{
  Series *s = find_series (metrics, metric, label);

  if (s != NULL)
    s->value += (double) n;
}

void
rc_metrics_add_sent (RcMetrics *metrics, const char *transport, guint64 packets, guint64 bytes,
                     guint64 *counted_packets, guint64 *counted_bytes)
{
  rc_metrics_add (metrics, RC_METRIC_PACKETS_SENT, transport, packets - *counted_packets);
  rc_metrics_add (metrics, RC_METRIC_BYTES_SENT, transport, bytes - *counted_bytes);
  *counted_packets = packets;
  *counted_bytes = bytes;
}

void
rc_metrics_inc (RcMetrics *metrics, RcMetric metric)
{
  rc_metrics_add (metrics, metric, NULL, 1);
}

void
rc_metrics_inc_error (RcMetrics *metrics, int code)
{
  char label[16];

  g_snprintf (label, sizeof label, "%u", rc_error_info (code)->code);
  rc_metrics_add (metrics, RC_METRIC_ERRORS, label, 1);
}

void
rc_metrics_set (RcMetrics *metrics, RcMetric metric, const char *label, double value)
{
  Series *s = find_series (metrics, metric, label);

  if (s != NULL)
    s->value = value;
}

double
rc_metrics_get (RcMetrics *metrics, RcMetric metric, const char *label)
{
  Series *s = find_series (metrics, metric, label);

  return s != NULL ? s->value : 0;
}

void
rc_metrics_observe (RcMetrics *metrics, RcMetric metric, const char *label, double value)
{
  Series *s = find_series (metrics, metric, label);
  const Family *f = &families[metric];
  guint b = 0;

  if (s == NULL || s->buckets == NULL || !isfinite (value))
    return;
  while (b < f->n_bounds && value > f->bounds[b])
    b++;
  s->buckets[b]++;
  s->sum += value;
}

const double *
rc_metrics_get_bounds (RcMetric metric, guint *n_bounds)
{
  *n_bounds = families[metric].n_bounds;
  return families[metric].bounds;
}

void
rc_metrics_get_histogram (RcMetrics *metrics, RcMetric metric, const char *label,
                          guint64 *counts)
{
  Series *s = find_series (metrics, metric, label);
  guint64 total = 0;

  for (guint b = 0; b <= families[metric].n_bounds; b++)
    {
      total += (s != NULL && s->buckets != NULL) ? s->buckets[b] : 0;
      counts[b] = total;
    }
}

double
rc_metrics_quantile (const double *bounds, guint n_bounds, const guint64 *counts, double q)
{
  guint64 total = counts[n_bounds];
  double rank = q * (double) total;
  guint b = 0;
  double lower, below;

  if (total == 0)
    return 0;
  while (b < n_bounds && (double) counts[b] < rank)
    b++;
  if (b == n_bounds)
    return bounds[n_bounds - 1];
  lower = b == 0 ? 0 : bounds[b - 1];
  below = b == 0 ? 0 : (double) counts[b - 1];
  if (counts[b] == (guint64) below)
    return bounds[b];
  return lower + (bounds[b] - lower) * (rank - below) / ((double) counts[b] - below);
}

/* The shortest of %.15g and %.17g that reads back as @value: bucket
 * bounds read 0.005, not 0.0050000000000000001. */
static const char *
format_finite (char *buf, gsize size, double value)
{
  g_ascii_formatd (buf, size, "%.15g", value);
  if (g_ascii_strtod (buf, NULL) != value)
    g_ascii_formatd (buf, size, "%.17g", value);
  return buf;
}

static void
append_number (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    g_string_append (out, "NaN");
  else if (isinf (value))
    g_string_append (out, value > 0 ? "+Inf" : "-Inf");
  else
    g_string_append (out, format_finite (buf, sizeof buf, value));
}

/* A label value in the text format's escaping. */
static void
append_label_value (GString *out, const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
}

static void
append_header (GString *out, const char *name, const char *help, const char *type)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value",le="bound"} value */
static void
append_sample (GString *out, const char *name, const char *suffix, const char *label,
               const char *value_label, const char *le, double value)
{
  g_string_append (out, name);
  g_string_append (out, suffix);
  if (label != NULL || le != NULL)
    {
      g_string_append_c (out, '{');
      if (label != NULL)
        {
          g_string_append_printf (out, "%s=\"", label);
          append_label_value (out, value_label);
          g_string_append_c (out, '"');
        }
      if (le != NULL)
        g_string_append_printf (out, "%sle=\"%s\"", label != NULL ? "," : "", le);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ' ');
  append_number (out, value);
  g_string_append_c (out, '\n');
}

static void
append_histogram (GString *out, const Family *f, const char *value_label, const Series *s)
{
  char le[G_ASCII_DTOSTR_BUF_SIZE];
  guint64 total = 0;

  for (guint b = 0; b < f->n_bounds; b++)
    {
      total += s->buckets[b];
      format_finite (le, sizeof le, f->bounds[b]);
      append_sample (out, f->name, "_bucket", f->label, value_label, le, (double) total);
    }
  total += s->buckets[f->n_bounds];
  append_sample (out, f->name, "_bucket", f->label, value_label, "+Inf", (double) total);
  append_sample (out, f->name, "_sum", f->label, value_label, NULL, s->sum);
  append_sample (out, f->name, "_count", f->label, value_label, NULL, (double) total);
}

void
rc_metrics_write (RcMetrics *metrics, GString *out)
{
  static const char *const kinds[] = { "counter", "gauge", "histogram" };
  char buf[16];

  for (guint m = 0; m < RC_METRIC_COUNT; m++)
    {
      const Family *f = &families[m];

      append_header (out, f->name, f->help, kinds[f->kind]);
      for (guint i = 0; i < metrics->n_series[m]; i++)
        {
          const char *value_label = f->label != NULL ? value_name (m, i, buf, sizeof buf) : NULL;

          if (f->kind == KIND_HISTOGRAM)
            append_histogram (out, f, value_label, &metrics->series[m][i]);
          else
            append_sample (out, f->name, "", f->label, value_label, NULL,
                           metrics->series[m][i].value);
        }
    }
}

void
rc_metrics_write_gauge (GString *out, const char *name, const char *help, const char *label,
                        const char *const *labels, const double *values, guint n)
{
  append_header (out, name, help, "gauge");
  for (guint i = 0; i < n; i++)
    append_sample (out, name, "", label, labels[i], NULL, values[i]);
}

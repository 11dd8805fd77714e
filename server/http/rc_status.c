/* SPDX-License-Identifier: MIT */
/*
 * The status page's data: GET /api/status (the health of the store, rooms,
 * listeners, live hosts, the process, and the last hour of samples) and
 * /status (client-js/status.html, which plots them). Why it exists apart
 * from /metrics: an operator without Prometheus still wants to see the last
 * hour, so the server keeps it itself, one sample every 10 s in a ring of
 * 360 that never grows. A sample's sync error p95 is estimated from the
 * syncReports that arrived since the one before (the metrics' histogram).
 *
 * The ring lives as long as the SoupServer it was installed on (the RcServer
 * outlives both).
 */
#include "rc_build_config.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"
#include "server/core/rc_process_stats.h"
#include "server/http/rc_metrics_route.h"

#include <string.h>

#define SAMPLE_INTERVAL_S 10
#define SAMPLE_COUNT (3600 / SAMPLE_INTERVAL_S)
#define MAX_BUCKETS 16

typedef struct
{
  gint64 time_ms; /* since the epoch */
  guint rooms, guests, listeners, live_hosts;
  double sync_p95_s; /* < 0: no reports in the interval */
  double cpu;        /* cores busy, over the interval */
  guint64 resident_bytes;
} Sample;

typedef struct
{
  RcServer *server; /* borrowed: outlives us */
  guint timer_id;
  Sample ring[SAMPLE_COUNT];
  guint next, len;
  gint64 started_us;
  /* the previous sample's */
  gint64 last_us;
  double last_cpu_s;
  guint64 last_sync[MAX_BUCKETS];
} RcStatus;

static double
sync_p95_since (RcStatus *status, RcMetrics *metrics)
{
  guint n_bounds;
  const double *bounds = rc_metrics_get_bounds (RC_METRIC_SYNC_ERROR, &n_bounds);
  guint64 now[MAX_BUCKETS], delta[MAX_BUCKETS];

  g_assert (n_bounds < MAX_BUCKETS);
  rc_metrics_get_histogram (metrics, RC_METRIC_SYNC_ERROR, NULL, now);
  for (guint b = 0; b <= n_bounds; b++)
    delta[b] = now[b] - status->last_sync[b];
  memcpy (status->last_sync, now, sizeof now);
  if (delta[n_bounds] == 0)
    return -1;
  return rc_metrics_quantile (bounds, n_bounds, delta, 0.95);
}

static gboolean
take_sample (gpointer data)
{
  RcStatus *status = data;
  RcMetrics *metrics = rc_metrics_route_update (status->server);
  Sample *s = &status->ring[status->next];
  gint64 now_us = g_get_monotonic_time ();
  double cpu_s = rc_metrics_get (metrics, RC_METRIC_CPU_SECONDS, NULL);

  s->time_ms = g_get_real_time () / 1000;
  s->rooms = (guint) rc_metrics_get (metrics, RC_METRIC_ROOMS, NULL);
  s->listeners = (guint) (rc_metrics_get (metrics, RC_METRIC_GUESTS, "webrtc")
                          + rc_metrics_get (metrics, RC_METRIC_GUESTS, "ws"));
  s->guests = s->listeners + (guint) rc_metrics_get (metrics, RC_METRIC_GUESTS, "none");
  s->live_hosts = (guint) rc_metrics_get (metrics, RC_METRIC_LIVE_HOSTS, NULL);
  s->resident_bytes = (guint64) rc_metrics_get (metrics, RC_METRIC_RESIDENT_BYTES, NULL);
  s->sync_p95_s = sync_p95_since (status, metrics);
  s->cpu = now_us > status->last_us ? (cpu_s - status->last_cpu_s) * G_USEC_PER_SEC
                                          / (double) (now_us - status->last_us)
                                    : 0;
  status->last_us = now_us;
  status->last_cpu_s = cpu_s;
  status->next = (status->next + 1) % SAMPLE_COUNT;
  status->len = MIN (status->len + 1, SAMPLE_COUNT);
  return G_SOURCE_CONTINUE;
}

static void
status_free (gpointer data)
{
  RcStatus *status = data;

  g_clear_handle_id (&status->timer_id, g_source_remove);
  g_free (status);
}

static JsonNode *
sample_json (const Sample *s)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_init_object (json_node_alloc (), o);

  json_object_set_int_member (o, "time", s->time_ms);
  json_object_set_int_member (o, "rooms", s->rooms);
  json_object_set_int_member (o, "guests", s->guests);
  json_object_set_int_member (o, "listeners", s->listeners);
  json_object_set_int_member (o, "liveHosts", s->live_hosts);
  if (s->sync_p95_s >= 0)
    json_object_set_double_member (o, "syncErrorP95", s->sync_p95_s);
  else
    json_object_set_null_member (o, "syncErrorP95");
  json_object_set_double_member (o, "cpu", s->cpu);
  json_object_set_int_member (o, "residentBytes", (gint64) s->resident_bytes);
  json_object_unref (o);
  return node;
}

/* The figures now: the same as a sample, plus the store and the process. */
static void
set_now (JsonObject *o, RcStatus *status, RcMetrics *m)
{
  RcStore *store = rc_server_get_store (status->server);
  gboolean connected = rc_store_is_connected (store);
  JsonObject *st = json_object_new ();
  JsonObject *listeners = json_object_new ();
  JsonObject *process = json_object_new ();
  double webrtc = rc_metrics_get (m, RC_METRIC_GUESTS, "webrtc");
  double ws = rc_metrics_get (m, RC_METRIC_GUESTS, "ws");
  double none = rc_metrics_get (m, RC_METRIC_GUESTS, "none");

  json_object_set_string_member (o, "status", connected ? "ok" : "degraded");
  json_object_set_string_member (o, "version", ROOMCAST_VERSION);
  json_object_set_int_member (o, "uptimeSeconds",
                              (g_get_monotonic_time () - status->started_us) / G_USEC_PER_SEC);
  json_object_set_string_member (st, "backend", rc_store_get_backend_name (store));
  json_object_set_boolean_member (st, "connected", connected);
  json_object_set_int_member (st, "pendingWrites", rc_store_get_pending_writes (store));
  json_object_set_int_member (st, "reconnects", (gint64) rc_store_get_reconnects (store));
  json_object_set_object_member (o, "store", st);
  json_object_set_int_member (o, "rooms", (gint64) rc_metrics_get (m, RC_METRIC_ROOMS, NULL));
  json_object_set_int_member (o, "guests", (gint64) (webrtc + ws + none));
  json_object_set_int_member (listeners, "webrtc", (gint64) webrtc);
  json_object_set_int_member (listeners, "ws", (gint64) ws);
  json_object_set_object_member (o, "listeners", listeners);
  json_object_set_int_member (o, "liveHosts",
                              (gint64) rc_metrics_get (m, RC_METRIC_LIVE_HOSTS, NULL));
  json_object_set_int_member (process, "residentBytes",
                              (gint64) rc_metrics_get (m, RC_METRIC_RESIDENT_BYTES, NULL));
  json_object_set_double_member (process, "cpuSeconds",
                                 rc_metrics_get (m, RC_METRIC_CPU_SECONDS, NULL));
  json_object_set_int_member (process, "openFds",
                              (gint64) rc_metrics_get (m, RC_METRIC_OPEN_FDS, NULL));
  json_object_set_int_member (process, "threads",
                              (gint64) rc_metrics_get (m, RC_METRIC_THREADS, NULL));
  json_object_set_object_member (o, "process", process);
}

static void
on_api_status (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  RcStatus *status = user_data;
  RcMetrics *metrics;
  JsonObject *o;
  g_autoptr (JsonNode) body = NULL;
  JsonArray *samples;

  if (!rc_http_require_get (msg))
    return;
  metrics = rc_metrics_route_update (status->server);
  body = rc_json_message_new (NULL, &o);
  samples = json_array_sized_new (status->len);
  set_now (o, status, metrics);
  json_object_set_int_member (o, "sampleIntervalSeconds", SAMPLE_INTERVAL_S);
  for (guint i = 0; i < status->len; i++)
    {
      guint at = (status->next + SAMPLE_COUNT - status->len + i) % SAMPLE_COUNT;
      json_array_add_element (samples, sample_json (&status->ring[at]));
    }
  json_object_set_array_member (o, "samples", samples);
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

static void
on_status_page (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  RcStatus *status = user_data;

  rc_static_handle (rc_server_get_config (status->server)->client_dir, msg,
                    g_str_equal (path, "/status") ? "/status.html" : path);
}

void
rc_status_install (RcServer *server, SoupServer *soup)
{
  RcStatus *status = g_new0 (RcStatus, 1);
  RcProcessStats process;

  status->server = server;
  status->started_us = g_get_monotonic_time ();
  /* The first sample's CPU is the average since the process started. */
  rc_process_stats_read (&process);
  status->last_us =
    status->started_us
    - (gint64) ((double) g_get_real_time () - process.start_time_s * G_USEC_PER_SEC);
  /* The first sample at once, so the page never starts empty. */
  take_sample (status);
  status->timer_id = g_timeout_add_seconds (SAMPLE_INTERVAL_S, take_sample, status);
  g_object_set_data_full (G_OBJECT (soup), "rc-status", status, status_free);
  soup_server_add_handler (soup, "/api/status", on_api_status, status, NULL);
  soup_server_add_handler (soup, "/status", on_status_page, status, NULL);
}

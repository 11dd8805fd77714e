/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the Prometheus text format 0.0.4. Why it exists apart from
 * RcMetrics: the counters are counted where things happen, but some figures
 * are only worth reading when asked for (how many rooms and guests there are
 * now, the store's backlog, the process's memory): this is where the edge,
 * which sees every part, reads them into the registry before writing it out.
 */
#include "server/http/rc_metrics_route.h"
#include "server/core/rc_http.h"
#include "server/core/rc_process_stats.h"
#include "pipelines/rc_fanout.h"
#include "signalling/rc_session_relay.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void
update_rooms (RcMetrics *metrics, RcRegistry *registry)
{
  g_autoptr (GPtrArray) rooms = rc_registry_list (registry);
  guint webrtc = 0, ws = 0, none = 0, live = 0;

  for (guint i = 0; i < rooms->len; i++)
    {
      RcRoom *room = rooms->pdata[i];
      GPtrArray *guests = rc_room_get_guests (room);

      live += rc_room_has_publisher (room) ? 1 : 0;
      /* The writer thread's counts, up to this moment. */
      if (rc_room_get_sync (room) != NULL)
        rc_sync_count_ws (rc_room_get_sync (room));
      for (guint g = 0; g < guests->len; g++)
        {
          RcGuestMedia *media = rc_room_get_media (room, guests->pdata[g]);

          if (media == NULL)
            none++;
          /* WebSocket audio, from this node or from an edge */
          else if (rc_guest_media_get_transport (media) != RC_GUEST_MEDIA_WEBRTC)
            ws++;
          else
            webrtc++;
        }
    }
  rc_metrics_set (metrics, RC_METRIC_ROOMS, NULL, rooms->len);
  rc_metrics_set (metrics, RC_METRIC_GUESTS, "webrtc", webrtc);
  rc_metrics_set (metrics, RC_METRIC_GUESTS, "ws", ws);
  rc_metrics_set (metrics, RC_METRIC_GUESTS, "none", none);
  rc_metrics_set (metrics, RC_METRIC_LIVE_HOSTS, NULL, live);
}

/* The engine's figures are the process's (one port for every room). */
static void
update_webrtc_engine (RcMetrics *metrics, RcFanout *fanout)
{
  RcFanoutStats stats;

  if (fanout == NULL)
    return;
  rc_fanout_get_stats (fanout, &stats);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_DROPPED, "unknown_address", stats.dropped_unknown);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_DROPPED, "stun_refused", stats.dropped_stun);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_DROPPED, "malformed", stats.dropped_malformed);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_DROPPED, "dtls", stats.dropped_dtls);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_DROPPED, "srtp", stats.dropped_srtp);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_DROPPED, "timed_out", stats.guests_timed_out);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_SEND_FAILED, NULL, stats.send_failed);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_SEND_LATENCY, "0.5", stats.latency_p50_ms / 1000);
  rc_metrics_set (metrics, RC_METRIC_WEBRTC_SEND_LATENCY, "0.99", stats.latency_p99_ms / 1000);
}

RcMetrics *
rc_metrics_route_update (RcServer *server)
{
  RcRegistry *registry = rc_server_get_registry (server);
  RcMetrics *metrics = rc_registry_get_metrics (registry);
  RcStore *store = rc_server_get_store (server);
  RcProcessStats process;

  if (metrics == NULL)
    return NULL;
  update_rooms (metrics, registry);
  update_webrtc_engine (metrics, rc_registry_get_fanout (registry));
  rc_metrics_set (metrics, RC_METRIC_STORE_CONNECTED, NULL, rc_store_is_connected (store));
  rc_metrics_set (metrics, RC_METRIC_STORE_PENDING, NULL, rc_store_get_pending_writes (store));
  rc_metrics_set (metrics, RC_METRIC_STORE_RECONNECTS, NULL, rc_store_get_reconnects (store));
  rc_metrics_set (metrics, RC_METRIC_STORE_FENCED, NULL, rc_store_get_fenced_refused (store));
  if (rc_server_get_session_relay (server) != NULL)
    {
      RcSessionRelay *relay = rc_server_get_session_relay (server);

      rc_metrics_set (metrics, RC_METRIC_RELAY_REFUSED, NULL, rc_session_relay_get_refused (relay));
      rc_metrics_set (metrics, RC_METRIC_RELAY_GUESTS, "remote",
                      rc_session_relay_get_remote_count (relay));
      rc_metrics_set (metrics, RC_METRIC_RELAY_GUESTS, "relayed",
                      rc_session_relay_get_relayed_count (relay));
    }
  rc_process_stats_read (&process);
  rc_metrics_set (metrics, RC_METRIC_CPU_SECONDS, NULL, process.cpu_seconds);
  rc_metrics_set (metrics, RC_METRIC_OPEN_FDS, NULL, process.open_fds);
  rc_metrics_set (metrics, RC_METRIC_MAX_FDS, NULL, process.max_fds);
  rc_metrics_set (metrics, RC_METRIC_ACCEPT_RESTARTS, NULL, rc_server_get_accept_restarts (server));
  rc_metrics_set (metrics, RC_METRIC_RESIDENT_BYTES, NULL, process.resident_bytes);
  rc_metrics_set (metrics, RC_METRIC_THREADS, NULL, process.threads);
  rc_metrics_set (metrics, RC_METRIC_START_TIME, NULL, process.start_time_s);
  return metrics;
}

/* The playout delay of each room that has audio now: rooms are few, so a
 * label per room is affordable. */
static void
write_playout_delays (RcRegistry *registry, GString *out)
{
  g_autoptr (GPtrArray) rooms = rc_registry_list (registry);
  g_autofree const char **ids = g_new0 (const char *, rooms->len + 1);
  g_autofree double *delays = g_new0 (double, rooms->len + 1);
  guint n = 0;

  for (guint i = 0; i < rooms->len; i++)
    {
      RcRoom *room = rooms->pdata[i];

      if (rc_room_get_pipeline (room) == NULL || rc_room_get_sync (room) == NULL)
        continue;
      ids[n] = rc_room_get_id (room);
      delays[n++] = rc_sync_get_delay (rc_room_get_sync (room)) / 1000;
    }
  rc_metrics_write_gauge (out, "roomcast_playout_delay_seconds",
                          "The playout delay D of each room with audio, in seconds.", "room",
                          ids, delays, n);
}

void
rc_metrics_route_handle (SoupServer *soup, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer user_data)
{
  RcServer *server = user_data;
  RcMetrics *metrics;
  GString *out;
  gsize length;

  if (!rc_http_require_get (msg))
    return;
  metrics = rc_metrics_route_update (server);
  out = g_string_sized_new (16384);
  if (metrics != NULL)
    rc_metrics_write (metrics, out);
  write_playout_delays (rc_server_get_registry (server), out);
  length = out->len;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, CONTENT_TYPE, SOUP_MEMORY_TAKE,
                                    g_string_free (out, FALSE), length);
}

/* SPDX-License-Identifier: MIT */
/*
 * The composition root. Every part is made here and handed only what it
 * needs (RcLiveHost to the live transports, RcServerParts to the HTTP
 * edge), so no part reaches up into another. Ordering rules: the registry
 * finishes loading from the store before anything listens; on the way down
 * live hosts end first (they hold rooms' pipelines and pause players), then
 * the HTTP edge closes its sessions, then in a cluster the leases are
 * given back (after the guests' last writes, on the same Redis link), then
 * the rooms go.
 */
#include "server/http/rc_app.h"
#include "server/cluster/rc_cluster.h"
#include "server/cluster/rc_relay.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_http.h"
#include "server/core/rc_metrics.h"
#include "server/core/rc_rate_limit.h"
#include "server/http/rc_server.h"
#include "server/library/rc_library.h"
#include "server/library/rc_url_cache.h"
#include "server/live/rc_srt.h"
#include "server/live/rc_whip.h"
#include "server/telegram/rc_telegram_bot.h"
#include "server/rooms/rc_live.h"
#include "server/rooms/rc_registry.h"
#include "signalling/rc_session_relay.h"
#include "pipelines/rc_fanout.h"

#include <string.h>

struct _RcApp
{
  const RcConfig *config;
  RcStore *store;
  RcLibrary *library;
  RcUrlCache *url_cache; /* NULL: off (--cache-max-bytes 0) or its folder unusable */
  RcRegistry *registry;
  RcRateLimits *rest_limits;
  RcClock *clock;
  RcMetrics *metrics; /* what rooms and sessions count, for /metrics */
  RcFanout *fanout;   /* the WebRTC guests' engine; NULL with --webrtc-fanout webrtcbin */
  GError *fanout_error; /* why it could not start, reported by rc_app_start */
  RcLiveHost live_host;
  RcWhip *whip; /* live hosts over WHIP; ended before the registry goes */
  RcSrt *srt;   /* over SRT (--srt-port), likewise; NULL when off */
  RcTelegramHost telegram_host;
  RcTelegramBot *telegram; /* --telegram-token; NULL when off */
  RcCluster *cluster; /* --cluster; NULL: a lone node */
  RcRelay *relay;     /* --cluster: room events between the nodes; outlives the server */
  RcServer *server;
  RcWsWriter *writer; /* every WebSocket's bytes; outlives the server and the rooms */
};

/* The fan-out engine on the --host address, before any room exists (rooms
 * take it from their settings). */
static RcFanout *
make_fanout (const RcConfig *config, GError **error)
{
  g_autoptr (GInetAddress) addr = NULL;
  g_autofree char *address = NULL;
  RcFanoutOptions options = { 0 };

  if (g_strcmp0 (config->webrtc_fanout, "webrtcbin") == 0)
    return NULL;
  if (g_strcmp0 (config->webrtc_fanout, "engine") != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--webrtc-fanout must be \"engine\" or \"webrtcbin\", not \"%s\"",
                   config->webrtc_fanout);
      return NULL;
    }
  addr = rc_http_resolve_host (config->host, error);
  if (addr == NULL)
    return NULL;
  address = g_inet_address_to_string (addr);
  options.bind_address = address;
  options.port = (guint) config->webrtc_port;
  options.public_address = config->webrtc_public_ip;
  options.stale_ms = (guint) config->playout_delay_max;
  options.senders = (guint) config->webrtc_senders;
  return rc_fanout_new (&options, error);
}

/* The song cache, or NULL (URL songs then stream, as without a cache). */
static RcUrlCache *
make_url_cache (const RcConfig *config)
{
  g_autofree char *dir = config->cache_dir != NULL && *config->cache_dir != '\0'
                           ? g_strdup (config->cache_dir) : rc_url_cache_default_dir ();
  g_autoptr (GError) error = NULL;
  RcUrlCache *cache;

  if (config->cache_max_bytes <= 0)
    return NULL;
  cache = rc_url_cache_new (dir, (guint64) config->cache_max_bytes, &error);
  if (cache == NULL)
    g_warning ("No song cache (URL songs will stream): %s", error->message);
  return cache;
}

RcApp *
rc_app_new (const RcConfig *config, RcStore *store)
{
  RcApp *app = g_new0 (RcApp, 1);
  RcMetrics *metrics = rc_metrics_new ();
  RcUrlCache *url_cache = make_url_cache (config);
  RcRoomSettings settings = {
    .empty_pause_s = (guint) config->empty_room_pause,
    .delay_min_ms = (double) config->playout_delay_min,
    .delay_initial_ms = (double) config->playout_delay,
    .delay_max_ms = (double) config->playout_delay_max,
    .ws_bundle_from = (guint) config->ws_bundle_from,
    .ws_bundle_large_from = (guint) config->ws_bundle_large_from,
    .metrics = metrics,
    .url_cache = url_cache,
  };

  app->config = config;
  app->metrics = metrics;
  app->fanout = make_fanout (config, &app->fanout_error);
  settings.fanout = app->fanout;
  app->url_cache = url_cache;
  app->store = rc_store_ref (store);
  app->writer = rc_ws_writer_new ();
  app->library = rc_library_new (store, config->music_dir);
  app->registry = rc_registry_new (store, app->library, (guint) config->max_rooms,
                                   (guint) config->chat_history, &settings);
  app->rest_limits = rc_rate_limits_new (config->rate_limit, config->rate_burst);
  if (config->cluster != NULL && *config->cluster != '\0')
    {
      app->cluster = rc_cluster_new (store, (guint) config->cluster_lease_ms);
      rc_registry_set_cluster (app->registry, app->cluster);
      app->relay = rc_relay_new (store, rc_cluster_get_node_id (app->cluster));
    }
  app->live_host.config = config;
  app->live_host.registry = app->registry;
  app->live_host.rest_limits = app->rest_limits;
  return app;
}

void
rc_app_free (RcApp *app)
{
  if (app == NULL)
    return;
  rc_app_stop (app);
  g_clear_pointer (&app->server, rc_server_free);
  g_clear_pointer (&app->relay, rc_relay_free);
  g_clear_pointer (&app->clock, rc_clock_free);
  rc_registry_free (app->registry);
  g_clear_pointer (&app->cluster, rc_cluster_unref);
  g_clear_pointer (&app->fanout, rc_fanout_free); /* after the rooms and their guests */
  g_clear_error (&app->fanout_error);
  rc_url_cache_free (app->url_cache);
  rc_ws_writer_free (app->writer);
  rc_library_free (app->library);
  rc_rate_limits_free (app->rest_limits);
  rc_metrics_unref (app->metrics);
  rc_store_unref (app->store);
  g_free (app);
}

static void
on_loaded (RcRegistry *registry, const GError *error, gpointer user_data)
{
  GError **result = user_data;

  if (error != NULL)
    *result = g_error_copy (error);
  else
    *result = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NONE, "ok");
}

static gboolean
load_rooms (RcApp *app, GError **error)
{
  GError *result = NULL;

  rc_registry_load (app->registry, on_loaded, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (result->domain == G_IO_ERROR && result->code == G_IO_ERROR_NONE)
    {
      g_error_free (result);
      return TRUE;
    }
  g_propagate_prefixed_error (error, result, "Loading rooms from the store failed: ");
  return FALSE;
}

static void
ensure_demo_room (RcApp *app)
{
  const char *name = app->config->demo_room;
  g_autoptr (GError) error = NULL;

  if (name == NULL || *name == '\0' || rc_registry_find_by_name (app->registry, name))
    return;
  if (app->cluster != NULL)
    {
      /* Each node would make its own: a cluster's rooms are made over REST. */
      g_warning ("--demo-room is ignored with --cluster");
      return;
    }
  if (rc_registry_create_room (app->registry, name, NULL, NULL, &error) == NULL)
    g_warning ("Could not create the demo room: %s", error->message);
}

static void
cluster_load (RcClusterLoad *load, gpointer user_data)
{
  RcApp *app = user_data;

  RcSessionRelay *relay = app->server != NULL ? rc_server_get_session_relay (app->server) : NULL;

  load->rooms = rc_registry_get_room_count (app->registry);
  /* The guests of its rooms (other nodes' too: it runs their signalling)
   * and its own guests of rooms served elsewhere (it serves their audio as
   * an edge): what placement weighs. */
  load->guests = rc_registry_get_guest_count (app->registry)
                 + (relay != NULL ? rc_session_relay_get_relayed_count (relay) : 0);
}

static void
cluster_lost (RcCluster *cluster, const char *room_id, gpointer user_data)
{
  RcApp *app = user_data;

  rc_registry_forget_room (app->registry, room_id);
}

/* Registers the node under --node-url, or the address it listens on. */
static void
start_cluster (RcApp *app)
{
  const char *node_url = app->config->node_url;
  g_autofree char *url = node_url != NULL && *node_url != '\0' ? g_strdup (node_url)
                                                               : rc_server_get_url (app->server);
  gsize len = strlen (url);

  while (len > 0 && url[len - 1] == '/')
    url[--len] = '\0';
  rc_cluster_start (app->cluster, url, cluster_load, cluster_lost, app);
}

gboolean
rc_app_start (RcApp *app, GError **error)
{
  g_autoptr (GInetAddress) addr = NULL;
  g_autofree char *address = NULL;

  if (app->fanout_error != NULL)
    {
      g_propagate_prefixed_error (error, g_error_copy (app->fanout_error),
                                  "The WebRTC engine cannot start: ");
      return FALSE;
    }
  if (app->fanout != NULL)
    g_print ("WebRTC engine on UDP port %u\n", rc_fanout_get_port (app->fanout));
  if (!load_rooms (app, error))
    return FALSE;
  ensure_demo_room (app);
  rc_library_start (app->library);

  addr = rc_http_resolve_host (app->config->host, error);
  if (addr == NULL)
    return FALSE;
  address = g_inet_address_to_string (addr);
  app->clock = rc_clock_new (address, (guint) app->config->clock_port, error);
  if (app->clock == NULL)
    return FALSE;
  app->whip = rc_whip_new (&app->live_host, error);
  if (app->whip == NULL)
    return FALSE;
  if (app->config->srt_port > 0 && (app->srt = rc_srt_new (&app->live_host, error)) == NULL)
    return FALSE;
  if (app->config->telegram_token != NULL && *app->config->telegram_token != '\0')
    {
      app->telegram_host = (RcTelegramHost){ app->config, app->store, app->registry, app->library };
      app->telegram = rc_telegram_bot_new (&app->telegram_host);
      if (!rc_telegram_bot_start (app->telegram, error))
        return FALSE;
    }

  {
    RcServerParts parts = {
      .config = app->config,
      .store = app->store,
      .registry = app->registry,
      .library = app->library,
      .clock = app->clock,
      .rest_limits = app->rest_limits,
      .whip = app->whip,
      .writer = app->writer,
      .relay = app->relay,
    };

    app->server = rc_server_new (&parts);
  }
  if (!rc_server_start (app->server, error))
    return FALSE;
  if (app->cluster != NULL)
    start_cluster (app);
  return TRUE;
}

void
rc_app_stop (RcApp *app)
{
  g_clear_pointer (&app->telegram, rc_telegram_bot_free);
  g_clear_pointer (&app->srt, rc_srt_free);
  g_clear_pointer (&app->whip, rc_whip_free);
  if (app->server != NULL)
    rc_server_stop (app->server);
  /* After the guests' leaving writes, before the store's last flush: the
   * rooms can move at once. Anything the rooms write later is dropped. */
  if (app->cluster != NULL)
    rc_cluster_stop (app->cluster);
}

char *
rc_app_get_url (RcApp *app)
{
  return rc_server_get_url (app->server);
}

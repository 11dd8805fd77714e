/* SPDX-License-Identifier: MIT */
/*
 * HTTP routing and the WebSocket upgrade. The upgrade is done by hand rather
 * than with soup_server_add_websocket_handler so the connection's input can
 * be wrapped in an RcActivityStream before libsoup reads from it: that byte
 * counter is how dead peers (no pong) are found, since libsoup 3.2 does not
 * report pongs. Ordering rule: the registry finishes loading from the store
 * before the server listens, so no request ever sees a half-loaded registry.
 */
#include "rc_server.h"
#include "rc_build_config.h"
#include "rc_error.h"
#include "rc_http.h"
#include "rc_json.h"
#include "rc_rate_limit.h"
#include "rc_session.h"
#include "rc_api_user.h"
#include "rc_srt.h"
#include "rc_whip.h"

#include <string.h>

struct _RcServer
{
  const RcConfig *config;
  RcStore *store;
  RcRegistry *registry;
  RcLibrary *library;
  RcSessionHost host;
  RcClock *clock;
  RcWhip *whip; /* live hosts; ended before the registry goes */
  RcSrt *srt;   /* live hosts over SRT (--srt-port), likewise; NULL when off */
  SoupServer *soup;
  GHashTable *sessions;    /* RcSession* set (owned) */
  GHashTable *rest_limits; /* client ip -> RcRateLimit* */
  guint sweep_id;
  guint live_hosts;
  gint64 started_us;
  guint port;
};

static void
on_health (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  RcServer *server = user_data;
  JsonObject *o, *store;
  g_autoptr (JsonNode) body = rc_json_message_new (NULL, &o);
  gboolean connected = rc_store_is_connected (server->store);

  json_object_set_string_member (o, "status", connected ? "ok" : "degraded");
  json_object_set_string_member (o, "version", ROOMCAST_VERSION);
  json_object_set_int_member (o, "uptimeSeconds",
                              (g_get_monotonic_time () - server->started_us) / G_USEC_PER_SEC);
  json_object_set_int_member (o, "rooms", rc_registry_get_room_count (server->registry));
  json_object_set_int_member (o, "guests", rc_registry_get_guest_count (server->registry));
  json_object_set_int_member (o, "connections", g_hash_table_size (server->sessions));
  store = json_object_new ();
  json_object_set_string_member (store, "backend", rc_store_get_backend_name (server->store));
  json_object_set_boolean_member (store, "connected", connected);
  json_object_set_int_member (store, "pendingWrites", rc_store_get_pending_writes (server->store));
  json_object_set_object_member (o, "store", store);
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

static void
on_api (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  if (g_str_has_prefix (path, "/api/library") || g_str_has_prefix (path, "/api/search/"))
    rc_api_library_handle (user_data, msg, path, query);
  else if (g_str_has_prefix (path, "/api/lyrics/") || g_str_equal (path, "/api/playlist"))
    rc_api_user_handle (user_data, msg, path, query);
  else
    rc_api_rooms_handle (user_data, msg, path);
}

/* Refuse large REST bodies from their headers, before libsoup buffers them. */
static void
on_api_early (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer user_data)
{
  RcServer *server = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > (goffset) server->config->max_message_bytes)
    rc_http_send_error (msg, RC_ERROR_TOO_LARGE, NULL);
}

static void
on_whip (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  rc_whip_handle (((RcServer *) user_data)->whip, msg, path);
}

static void
on_whip_early (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  rc_whip_handle_early (((RcServer *) user_data)->whip, msg);
}

static void
on_static (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  RcServer *server = user_data;

  rc_static_handle (server->config->client_dir, msg, path);
}

gboolean
rc_server_allow_rest_write (RcServer *server, SoupServerMessage *msg)
{
  g_autofree char *ip = rc_http_peer (msg, FALSE);
  gint64 now = g_get_monotonic_time ();
  RcRateLimit *limit = g_hash_table_lookup (server->rest_limits, ip);

  if (limit == NULL)
    {
      limit = g_new0 (RcRateLimit, 1);
      rc_rate_limit_init (limit, server->config->rate_limit, server->config->rate_burst, now);
      g_hash_table_insert (server->rest_limits, g_strdup (ip), limit);
    }
  if (rc_rate_limit_take (limit, now))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                "1");
  rc_http_send_error (msg, RC_ERROR_RATE_LIMITED, NULL);
  return FALSE;
}

static void
on_session_closed (RcSession *session, gpointer user_data)
{
  RcServer *server = user_data;

  g_debug ("WebSocket %s closed", rc_session_get_peer (session));
  g_hash_table_remove (server->sessions, session);
}

static void
on_ws_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  RcServer *server = user_data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  g_autoptr (GIOStream) stolen = NULL;
  g_autoptr (GIOStream) wrapped = NULL;
  g_autoptr (RcActivityStream) activity = NULL;
  g_autoptr (SoupWebsocketConnection) conn = NULL;
  g_autofree char *peer = rc_http_peer (msg, TRUE);
  RcSession *session;

  stolen = soup_server_message_steal_connection (msg);
  wrapped = rc_activity_io_stream_new (stolen, &activity);
  conn = soup_websocket_connection_new (wrapped, soup_server_message_get_uri (msg),
                                        SOUP_WEBSOCKET_CONNECTION_SERVER,
                                        soup_message_headers_get_one (req, "Origin"), NULL, NULL);
  session = rc_session_new (&server->host, conn, activity, peer, on_session_closed, server);
  g_hash_table_add (server->sessions, session);
  g_debug ("WebSocket %s open", peer);
}

static void
on_ws (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
       gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      rc_http_send_error (msg, RC_ERROR_INVALID_MESSAGE, error->message);
      return;
    }
  /* The server outlives every message, so a plain connection is safe. */
  if (soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_ws_upgraded), user_data);
}

/* A snapshot of the sessions, safe to walk while sessions close. */
static GPtrArray *
sessions_snapshot (RcServer *server)
{
  GPtrArray *list = g_ptr_array_sized_new (g_hash_table_size (server->sessions));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, server->sessions);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (list, key);
  return list;
}

static gboolean
sweep (gpointer user_data)
{
  RcServer *server = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GPtrArray) sessions = sessions_snapshot (server);
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < sessions->len; i++)
    rc_session_check_idle (sessions->pdata[i], now);

  /* A client whose bucket has refilled holds no information; forget it. */
  g_hash_table_iter_init (&iter, server->rest_limits);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcRateLimit *limit = value;
      if (now - limit->last_us > 60 * G_USEC_PER_SEC)
        g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_CONTINUE;
}

RcServer *
rc_server_new (const RcConfig *config, RcStore *store)
{
  RcServer *server = g_new0 (RcServer, 1);

  server->config = config;
  server->store = rc_store_ref (store);
  server->library = rc_library_new (store, config->music_dir);
  {
    RcRoomSettings settings = {
      .empty_pause_s = (guint) config->empty_room_pause,
      .delay_min_ms = (double) config->playout_delay_min,
      .delay_initial_ms = (double) config->playout_delay,
      .delay_max_ms = (double) config->playout_delay_max,
    };

    server->registry = rc_registry_new (store, server->library, (guint) config->max_rooms,
                                        (guint) config->chat_history, &settings);
  }
  server->host.config = config;
  server->host.registry = server->registry;
  server->sessions = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) rc_session_free, NULL);
  server->rest_limits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  server->started_us = g_get_monotonic_time ();
  return server;
}

void
rc_server_free (RcServer *server)
{
  if (server == NULL)
    return;
  rc_server_stop (server);
  g_hash_table_unref (server->sessions);
  g_hash_table_unref (server->rest_limits);
  g_clear_object (&server->soup);
  g_clear_pointer (&server->clock, rc_clock_free);
  rc_registry_free (server->registry);
  rc_library_free (server->library);
  rc_store_unref (server->store);
  g_free (server);
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
load_rooms (RcServer *server, GError **error)
{
  GError *result = NULL;

  rc_registry_load (server->registry, on_loaded, &result);
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

static GInetAddress *
resolve_host (const char *host, GError **error)
{
  GInetAddress *addr = g_inet_address_new_from_string (host);
  g_autolist (GInetAddress) found = NULL;

  if (addr != NULL)
    return addr;
  found = g_resolver_lookup_by_name (g_resolver_get_default (), host, NULL, error);
  if (found == NULL)
    return NULL;
  return g_object_ref (found->data);
}

static void
ensure_demo_room (RcServer *server)
{
  const char *name = server->config->demo_room;
  g_autoptr (GError) error = NULL;

  if (name == NULL || *name == '\0' || rc_registry_find_by_name (server->registry, name))
    return;
  if (rc_registry_create_room (server->registry, name, NULL, NULL, &error) == NULL)
    g_warning ("Could not create the demo room: %s", error->message);
}

gboolean
rc_server_start (RcServer *server, GError **error)
{
  g_autoptr (GInetAddress) addr = NULL;
  g_autoptr (GSocketAddress) sockaddr = NULL;
  GSList *listeners;

  if (!load_rooms (server, error))
    return FALSE;
  ensure_demo_room (server);
  rc_library_start (server->library);

  addr = resolve_host (server->config->host, error);
  if (addr == NULL)
    return FALSE;
  sockaddr = g_inet_socket_address_new (addr, (guint16) server->config->port);
  {
    g_autofree char *address = g_inet_address_to_string (addr);

    server->clock = rc_clock_new (address, (guint) server->config->clock_port, error);
    if (server->clock == NULL)
      return FALSE;
    server->host.clock = server->clock;
  }
  server->whip = rc_whip_new (server, error);
  if (server->whip == NULL)
    return FALSE;
  if (server->config->srt_port > 0 && (server->srt = rc_srt_new (server, error)) == NULL)
    return FALSE;

  server->soup = soup_server_new ("server-header", "roomcast/" ROOMCAST_VERSION, NULL);
  soup_server_add_early_handler (server->soup, "/api", on_api_early, server, NULL);
  soup_server_add_handler (server->soup, "/api", on_api, server, NULL);
  soup_server_add_handler (server->soup, "/health", on_health, server, NULL);
  soup_server_add_handler (server->soup, "/ws", on_ws, server, NULL);
  soup_server_add_early_handler (server->soup, "/whip", on_whip_early, server, NULL);
  soup_server_add_handler (server->soup, "/whip", on_whip, server, NULL);
  soup_server_add_handler (server->soup, NULL, on_static, server, NULL);
  if (!soup_server_listen (server->soup, sockaddr, 0, error))
    {
      g_prefix_error (error, "Cannot listen on %s:%" G_GINT64_FORMAT ": ", server->config->host,
                      server->config->port);
      return FALSE;
    }
  listeners = soup_server_get_listeners (server->soup);
  if (listeners != NULL)
    {
      g_autoptr (GSocketAddress) local = g_socket_get_local_address (listeners->data, NULL);
      if (local != NULL)
        server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    }
  g_slist_free (listeners);
  server->sweep_id = g_timeout_add_seconds (1, sweep, server);
  return TRUE;
}

void
rc_server_stop (RcServer *server)
{
  g_autoptr (GPtrArray) sessions = NULL;

  g_clear_handle_id (&server->sweep_id, g_source_remove);
  /* Hosts first: they hold rooms' pipelines and pause their players. */
  g_clear_pointer (&server->srt, rc_srt_free);
  g_clear_pointer (&server->whip, rc_whip_free);
  sessions = sessions_snapshot (server);
  for (guint i = 0; i < sessions->len; i++)
    rc_session_close (sessions->pdata[i], SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
  if (server->soup != NULL)
    soup_server_disconnect (server->soup);
  g_hash_table_remove_all (server->sessions);
}

guint
rc_server_get_port (RcServer *server)
{
  return server->port;
}

char *
rc_server_get_url (RcServer *server)
{
  const char *host = server->config->host;

  /* A wildcard address is not something a browser can open. */
  if (g_str_equal (host, "0.0.0.0"))
    host = "127.0.0.1";
  else if (g_str_equal (host, "::"))
    host = "::1";
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("http://[%s]:%u/", host, server->port);
  return g_strdup_printf ("http://%s:%u/", host, server->port);
}

const RcConfig *
rc_server_get_config (RcServer *server)
{
  return server->config;
}

RcRegistry *
rc_server_get_registry (RcServer *server)
{
  return server->registry;
}

RcStore *
rc_server_get_store (RcServer *server)
{
  return server->store;
}

RcLibrary *
rc_server_get_library (RcServer *server)
{
  return server->library;
}

guint
rc_server_get_live_hosts (RcServer *server)
{
  return server->live_hosts;
}

void
rc_server_count_live_host (RcServer *server, int delta)
{
  g_return_if_fail (delta >= 0 || server->live_hosts >= (guint) -delta);
  server->live_hosts += delta;
}

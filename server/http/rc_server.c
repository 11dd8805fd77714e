/* SPDX-License-Identifier: MIT */
/*
 * HTTP routing and the WebSocket upgrade. The upgrade is done by hand rather
 * than with soup_server_add_websocket_handler so the connection's input can
 * be wrapped in an RcActivityStream before libsoup reads from it: that byte
 * counter is how dead peers (no pong) are found, since libsoup 3.2 does not
 * report pongs. Ordering rule: server/http/rc_app.c loads the registry from the
 * store before this listens, so no request sees a half-loaded registry.
 */
#include "server/http/rc_server.h"
#include "rc_build_config.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"
#include "server/core/rc_rate_limit.h"
#include "signalling/rc_session.h"
#include "signalling/rc_presence.h"
#include "signalling/rc_session_relay.h"
#include "server/http/rc_api_user.h"
#include "server/http/rc_http_guard.h"
#include "server/http/rc_http_listener.h"

#include <string.h>

struct _RcServer
{
  const RcConfig *config;
  RcStore *store;
  RcRegistry *registry;
  RcLibrary *library;
  RcRateLimits *rest_limits;
  RcWhip *whip;
  RcWsWriter *writer; /* borrowed: every WebSocket's bytes */
  RcSessionHost host;
  SoupServer *soup;
  RcHttpGuard *guard; /* timeouts and early 413s for every connection */
  RcHttpListener *listener;
  GHashTable *sessions; /* RcSession* set (owned) */
  guint sweep_id;
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
  else if (g_str_equal (path, "/api/nodes"))
    rc_api_nodes_handle (user_data, msg);
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
  return rc_http_allow_write (server->rest_limits, msg);
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
  g_autoptr (RcWsPeer) ws_peer = NULL;
  g_autoptr (GIOStream) written = NULL;
  g_autoptr (SoupWebsocketConnection) conn = NULL;
  g_autofree char *peer = rc_http_peer (msg, TRUE);
  g_autofree char *address = rc_http_peer (msg, FALSE);
  GSocket *sock = rc_http_socket_of (msg); /* before the steal */
  RcSession *session;

  stolen = soup_server_message_steal_connection (msg);
  wrapped = rc_activity_io_stream_new (stolen, &activity);
  /* The writer thread sends everything this socket carries; libsoup
   * still reads and frames on the main context. */
  written = rc_ws_writer_attach (server->writer, wrapped, sock, &ws_peer);
  conn = soup_websocket_connection_new (written, soup_server_message_get_uri (msg),
                                        SOUP_WEBSOCKET_CONNECTION_SERVER,
                                        soup_message_headers_get_one (req, "Origin"), NULL, NULL);
  session =
    rc_session_new (&server->host, conn, activity, ws_peer, peer, address, on_session_closed,
                    server);
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
    {
      /* libsoup appends "Connection: Upgrade" beside the guard's "close". */
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                    "Upgrade");
      g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_ws_upgraded), user_data);
    }
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

  for (guint i = 0; i < sessions->len; i++)
    rc_session_check_idle (sessions->pdata[i], now);
  rc_rate_limits_sweep (server->rest_limits, now);
  rc_rate_limits_sweep (server->host.password_limits, now);
  rc_rate_limits_sweep (server->host.password_address_limits, now);
  rc_http_guard_sweep (server->guard);
  return G_SOURCE_CONTINUE;
}

RcServer *
rc_server_new (const RcServerParts *parts)
{
  RcServer *server = g_new0 (RcServer, 1);

  server->config = parts->config;
  server->store = parts->store;
  server->registry = parts->registry;
  server->library = parts->library;
  server->rest_limits = parts->rest_limits;
  server->whip = parts->whip;
  server->writer = parts->writer;
  server->host.config = parts->config;
  server->host.registry = parts->registry;
  server->host.clock = parts->clock;
  server->host.password_limits =
    rc_rate_limits_new (RC_SESSION_PASSWORD_ATTEMPTS / 60.0, RC_SESSION_PASSWORD_ATTEMPTS);
  server->host.password_address_limits = rc_rate_limits_new (
    RC_SESSION_PASSWORD_ADDRESS_ATTEMPTS / 60.0, RC_SESSION_PASSWORD_ADDRESS_ATTEMPTS);
  server->host.presence = rc_presence_new ();
  if (parts->relay != NULL)
    server->host.relay = rc_session_relay_new (&server->host, parts->relay);
  server->sessions = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) rc_session_free, NULL);
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
  g_clear_pointer (&server->host.relay, rc_session_relay_free);
  rc_rate_limits_free (server->host.password_limits);
  rc_rate_limits_free (server->host.password_address_limits);
  rc_presence_free (server->host.presence);
  g_clear_pointer (&server->guard, rc_http_guard_free);
  g_clear_object (&server->soup);
  g_free (server);
}

gboolean
rc_server_start (RcServer *server, GError **error)
{
  g_autoptr (GInetAddress) addr = NULL;
  g_autoptr (GSocketAddress) sockaddr = NULL;
  RcHttpGuardLimits limits;

  addr = rc_http_resolve_host (server->config->host, error);
  if (addr == NULL)
    return FALSE;
  sockaddr = g_inet_socket_address_new (addr, (guint16) server->config->port);
  server->soup = soup_server_new ("server-header", "roomcast/" ROOMCAST_VERSION, NULL);
  limits.header_timeout_s = (guint) server->config->http_header_timeout;
  limits.body_timeout_s = (guint) server->config->http_body_timeout;
  limits.idle_timeout_s = (guint) server->config->http_idle_timeout;
  limits.max_body_bytes = MAX ((gsize) server->config->max_message_bytes, RC_HTTP_MAX_BODY_FLOOR);
  server->guard = rc_http_guard_new (server->soup, &limits);
  soup_server_add_early_handler (server->soup, "/api", on_api_early, server, NULL);
  soup_server_add_handler (server->soup, "/api", on_api, server, NULL);
  soup_server_add_handler (server->soup, "/health", on_health, server, NULL);
  soup_server_add_handler (server->soup, "/metrics", rc_metrics_route_handle, server, NULL);
  rc_status_install (server, server->soup); /* /status, /api/status */
  soup_server_add_handler (server->soup, "/ws", on_ws, server, NULL);
  soup_server_add_early_handler (server->soup, "/whip", on_whip_early, server, NULL);
  soup_server_add_handler (server->soup, "/whip", on_whip, server, NULL);
  soup_server_add_handler (server->soup, NULL, on_static, server, NULL);
  server->listener = rc_http_listener_new (server->soup, sockaddr, error);
  if (server->listener == NULL)
    {
      g_prefix_error (error, "Cannot listen on %s:%" G_GINT64_FORMAT ": ", server->config->host,
                      server->config->port);
      return FALSE;
    }
  server->port = rc_http_listener_get_port (server->listener);
  server->sweep_id = g_timeout_add_seconds (1, sweep, server);
  return TRUE;
}

void
rc_server_stop (RcServer *server)
{
  g_autoptr (GPtrArray) sessions = NULL;

  g_clear_handle_id (&server->sweep_id, g_source_remove);
  sessions = sessions_snapshot (server);
  for (guint i = 0; i < sessions->len; i++)
    rc_session_close (sessions->pdata[i], SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
  if (server->host.relay != NULL)
    rc_session_relay_stop (server->host.relay);
  g_clear_pointer (&server->listener, rc_http_listener_free);
  if (server->soup != NULL)
    soup_server_disconnect (server->soup);
  g_hash_table_remove_all (server->sessions);
}

guint
rc_server_get_accept_restarts (RcServer *server)
{
  return server->listener != NULL ? rc_http_listener_get_restarts (server->listener) : 0;
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

struct _RcSessionRelay *
rc_server_get_session_relay (RcServer *server)
{
  return server->host.relay;
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

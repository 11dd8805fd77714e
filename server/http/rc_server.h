/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>

#include "server/cluster/rc_relay.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_rate_limit.h"
#include "server/core/rc_ws_writer.h"
#include "server/live/rc_whip.h"
#include "server/library/rc_library.h"
#include "server/rc_config.h"
#include "server/rooms/rc_registry.h"
#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcServer is the HTTP edge: the routes (REST, /health, /whip, the static
 * client) and the /ws WebSocket sessions. The parts it serves are made and
 * owned by server/http/rc_app.c and handed in; nothing in it is global.
 */
typedef struct _RcServer RcServer;

/* Borrowed; every one outlives the server. */
typedef struct
{
  const RcConfig *config;
  RcStore *store;
  RcRegistry *registry;
  RcLibrary *library;
  RcClock *clock;
  RcRateLimits *rest_limits; /* per-client REST write budget */
  RcWhip *whip;
  RcWsWriter *writer; /* sends every WebSocket's bytes */
  RcRelay *relay;     /* a cluster's signalling between nodes; NULL: a lone node */
} RcServerParts;

RcServer *rc_server_new (const RcServerParts *parts);
void rc_server_free (RcServer *server);

/* Listens on --host:--port. */
gboolean rc_server_start (RcServer *server, GError **error);
/* Closes every WebSocket and stops listening. */
void rc_server_stop (RcServer *server);

guint rc_server_get_port (RcServer *server);
/* Times accepting paused at the open-file limit and resumed (rc_http_listener.h). */
guint rc_server_get_accept_restarts (RcServer *server);
char *rc_server_get_url (RcServer *server); /* "http://host:port/" */

const RcConfig *rc_server_get_config (RcServer *server);
/* A cluster's signalling between nodes (NULL: a lone node); borrowed. */
struct _RcSessionRelay *rc_server_get_session_relay (RcServer *server);
RcRegistry *rc_server_get_registry (RcServer *server);
RcStore *rc_server_get_store (RcServer *server);
RcLibrary *rc_server_get_library (RcServer *server);

/* Per-client budget for REST writes; FALSE (and a 429 sent) when spent. */
gboolean rc_server_allow_rest_write (RcServer *server, SoupServerMessage *msg);

/* Route handlers living in their own files. */
void rc_api_rooms_handle (RcServer *server, SoupServerMessage *msg, const char *path);
/* A room as REST shows it to a request carrying @bearer (NULL: none); in a
 * cluster with the node serving it. */
JsonNode *rc_api_room_json (RcServer *server, RcRoom *room, const char *bearer);

/* The REST API in a cluster (rc_api_cluster.c). */
typedef void (*RcApiCreateFunc) (RcServer *server, SoupServerMessage *msg);
void rc_api_nodes_handle (RcServer *server, SoupServerMessage *msg);
void rc_api_cluster_list_rooms (RcServer *server, SoupServerMessage *msg);
/* Room @id is not served here: take it over, or answer from the store or
 * with where it is. */
void rc_api_cluster_route_room (RcServer *server, SoupServerMessage *msg, const char *path,
                                const char *id);
/* POST /api/rooms on the least loaded node: @create_here makes it here. */
void rc_api_cluster_create_room (RcServer *server, SoupServerMessage *msg,
                                 RcApiCreateFunc create_here);
/* Sets @room's "node" ({id, url}, or null with no @owner_id). */
void rc_api_cluster_add_node (RcServer *server, JsonObject *room, const char *owner_id,
                              const char *owner_url);
void rc_api_library_handle (RcServer *server, SoupServerMessage *msg, const char *path,
                            GHashTable *query);
void rc_static_handle (const char *root, SoupServerMessage *msg, const char *path);
/* GET /metrics (rc_metrics_route.c); @server is the user data. */
void rc_metrics_route_handle (SoupServer *soup, SoupServerMessage *msg, const char *path,
                              GHashTable *query, gpointer server);
/* /status and /api/status (rc_status.c): samples the server every 10 s for
 * as long as @soup lives. */
void rc_status_install (RcServer *server, SoupServer *soup);

G_END_DECLS

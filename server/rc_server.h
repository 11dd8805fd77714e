/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>

#include "rc_config.h"
#include "rc_library.h"
#include "rc_registry.h"
#include "rc_store.h"

G_BEGIN_DECLS

/*
 * RcServer ties the parts together: the HTTP routes (REST, /health, static
 * client), the /ws WebSocket sessions, the room registry and the store.
 * Nothing in it is global; a test can run two servers in one process.
 */
typedef struct _RcServer RcServer;

/* @config is borrowed and must outlive the server; @store is referenced. */
RcServer *rc_server_new (const RcConfig *config, RcStore *store);
void rc_server_free (RcServer *server);

/* Loads rooms from the store (iterating the main context), then listens. */
gboolean rc_server_start (RcServer *server, GError **error);
/* Closes every WebSocket and stops listening. */
void rc_server_stop (RcServer *server);

guint rc_server_get_port (RcServer *server);
char *rc_server_get_url (RcServer *server); /* "http://host:port/" */

const RcConfig *rc_server_get_config (RcServer *server);
RcRegistry *rc_server_get_registry (RcServer *server);
RcStore *rc_server_get_store (RcServer *server);
RcLibrary *rc_server_get_library (RcServer *server);

/* Live hosts (server/rc_live.c) on or being set up, against --max-publishers. */
guint rc_server_get_live_hosts (RcServer *server);
void rc_server_count_live_host (RcServer *server, int delta);

/* Per-client budget for REST writes; FALSE (and a 429 sent) when spent. */
gboolean rc_server_allow_rest_write (RcServer *server, SoupServerMessage *msg);

/* Route handlers living in their own files. */
void rc_api_rooms_handle (RcServer *server, SoupServerMessage *msg, const char *path);
void rc_api_library_handle (RcServer *server, SoupServerMessage *msg, const char *path,
                            GHashTable *query);
void rc_static_handle (const char *root, SoupServerMessage *msg, const char *path);

G_END_DECLS

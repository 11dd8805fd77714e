/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/rc_config.h"
#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcApp is one running roomcast: it makes every part (library, rooms,
 * server clock, live transports, the HTTP edge), hands each the narrow
 * interface it needs, and takes them down in order. Nothing in it is
 * global; a test can run two in one process.
 */
typedef struct _RcApp RcApp;

/* @config is borrowed and must outlive the app; @store is referenced. */
RcApp *rc_app_new (const RcConfig *config, RcStore *store);
void rc_app_free (RcApp *app);

/* Loads rooms from the store (iterating the main context), starts the
 * clock and the live transports, then listens. */
gboolean rc_app_start (RcApp *app, GError **error);
/* Ends every live host, closes every WebSocket and stops listening. */
void rc_app_stop (RcApp *app);

char *rc_app_get_url (RcApp *app); /* "http://host:port/" */

G_END_DECLS

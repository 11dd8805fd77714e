/* SPDX-License-Identifier: MIT */
/*
 * The HTTP listening socket, handed to libsoup, and kept accepting.
 *
 * libsoup 3.2 stops watching its listening socket for good the first time
 * accept() fails (at the process's open-file limit, say): from then on no
 * connection is ever served again. The listener below owns the socket and
 * watches it too, one priority below libsoup's watch: libsoup's watch, while
 * it lives, always runs first when a connection waits, so the listener's own
 * watch only runs once libsoup's has ended. Then, as soon as the process
 * can open a file again, the same socket is handed to libsoup once more.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _RcHttpListener RcHttpListener;

/* Binds @address (backlog SOMAXCONN) and makes @soup accept on it. */
RcHttpListener *rc_http_listener_new (SoupServer *soup, GSocketAddress *address, GError **error);
/* The port bound (useful when @address asked for port 0). */
guint16 rc_http_listener_get_port (RcHttpListener *self);
/* How many times libsoup's watch ended and was set up again. */
guint rc_http_listener_get_restarts (RcHttpListener *self);
/* Stops watching; the socket itself is closed by soup_server_disconnect. */
void rc_http_listener_free (RcHttpListener *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcHttpListener, rc_http_listener_free)

G_END_DECLS

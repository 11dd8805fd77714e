/* SPDX-License-Identifier: MIT */
/*
 * The HTTP listening socket. roomcast accepts its connections itself and
 * hands each to libsoup as a stream (soup_server_accept_iostream), for two
 * defects of libsoup 3.2.3, Debian 12's:
 * - its listener keeps a reference to every socket it accepts, so each
 *   connection ever made stays ~340 bytes of memory (fixed upstream in 3.4);
 * - it stops watching its listening socket for good the first time accept()
 *   fails (at the process's open-file limit, say): no connection would ever
 *   be served again.
 * Here accepting pauses while no file descriptor is free and resumes as
 * soon as one is. A stream handed over this way has no GSocket in libsoup's
 * eyes (soup_server_message_get_socket gives NULL): rc_http_socket_of finds
 * it.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _RcHttpListener RcHttpListener;

/* Binds @address (backlog SOMAXCONN) and accepts on it for @soup. */
RcHttpListener *rc_http_listener_new (SoupServer *soup, GSocketAddress *address, GError **error);
/* The port bound (useful when @address asked for port 0). */
guint16 rc_http_listener_get_port (RcHttpListener *self);
/* How many times accepting resumed after the process ran out of files. */
guint rc_http_listener_get_restarts (RcHttpListener *self);
/* Stops accepting and closes the listening socket. */
void rc_http_listener_free (RcHttpListener *self);

/* The socket of @msg's connection (transfer none), or NULL. */
GSocket *rc_http_socket_of (SoupServerMessage *msg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcHttpListener, rc_http_listener_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
/*
 * The HTTP listening socket, kept accepting when libsoup's own watch on it
 * ends (see rc_http_listener.h for why that happens and how it is noticed).
 */
#include "server/http/rc_http_listener.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* How often to look for a free file descriptor while the process has none. */
#define RETRY_MS 100

struct _RcHttpListener
{
  SoupServer *soup; /* borrowed: it outlives the listener */
  GSocket *socket;
  GSource *sentinel; /* G_IO_IN one priority below libsoup's watch */
  guint retry_id;
  guint restarts;
  gboolean warned; /* once per episode */
};

static void arm_sentinel (RcHttpListener *self);

/* TRUE when the process can open one more file (so an accept can succeed). */
static gboolean
fd_available (RcHttpListener *self)
{
  int fd = dup (g_socket_get_fd (self->socket));

  if (fd < 0)
    return errno != EMFILE && errno != ENFILE;
  close (fd);
  return TRUE;
}

static gboolean
hand_to_soup (RcHttpListener *self)
{
  g_autoptr (GError) error = NULL;

  if (!fd_available (self))
    return FALSE;
  if (!soup_server_listen_socket (self->soup, self->socket, 0, &error))
    {
      g_warning ("HTTP listener: cannot accept again: %s", error->message);
      return FALSE;
    }
  self->restarts++;
  self->warned = FALSE;
  g_message ("HTTP listener: accepting connections again (restart %u)", self->restarts);
  arm_sentinel (self);
  return TRUE;
}

static gboolean
on_retry (gpointer data)
{
  RcHttpListener *self = data;

  if (!hand_to_soup (self))
    return G_SOURCE_CONTINUE;
  self->retry_id = 0;
  return G_SOURCE_REMOVE;
}

/* A connection waits and libsoup's watch did not take it: that watch ended. */
static gboolean
on_sentinel (GSocket *socket, GIOCondition condition, gpointer data)
{
  RcHttpListener *self = data;

  g_clear_pointer (&self->sentinel, g_source_unref);
  if (!self->warned)
    {
      g_warning ("HTTP listener: libsoup stopped accepting connections (an accept failed; "
                 "is the process at its open-file limit?); retrying every %d ms",
                 RETRY_MS);
      self->warned = TRUE;
    }
  if (!hand_to_soup (self))
    self->retry_id = g_timeout_add (RETRY_MS, on_retry, self);
  return G_SOURCE_REMOVE;
}

static void
arm_sentinel (RcHttpListener *self)
{
  self->sentinel = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_priority (self->sentinel, G_PRIORITY_DEFAULT + 1);
  g_source_set_callback (self->sentinel, G_SOURCE_FUNC (on_sentinel), self, NULL);
  g_source_attach (self->sentinel, NULL);
}

RcHttpListener *
rc_http_listener_new (SoupServer *soup, GSocketAddress *address, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  RcHttpListener *self;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  /* Joins come in bursts (an event starting): GLib's default backlog of 10
   * would drop them. The kernel caps this at net.core.somaxconn. */
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error)
      || !soup_server_listen_socket (soup, socket, 0, error))
    {
      g_socket_close (socket, NULL);
      return NULL;
    }
  self = g_new0 (RcHttpListener, 1);
  self->soup = soup;
  self->socket = g_steal_pointer (&socket);
  arm_sentinel (self);
  return self;
}

guint16
rc_http_listener_get_port (RcHttpListener *self)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (self->socket, NULL);

  return local != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

guint
rc_http_listener_get_restarts (RcHttpListener *self)
{
  return self->restarts;
}

void
rc_http_listener_free (RcHttpListener *self)
{
  if (self == NULL)
    return;
  if (self->sentinel != NULL)
    {
      g_source_destroy (self->sentinel);
      g_source_unref (self->sentinel);
    }
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_object_unref (self->socket);
  g_free (self);
}

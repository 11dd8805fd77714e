/* SPDX-License-Identifier: MIT */
/*
 * The HTTP listening socket, accepted by roomcast and handed to libsoup
 * connection by connection (rc_http_listener.h says why).
 */
#include "server/http/rc_http_listener.h"
#include "pipelines/rc_defer.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* How often to look for a free file descriptor while the process has none. */
#define RETRY_MS 100
/* Connections taken per wake-up before other sources get their turn. */
#define ACCEPT_BURST 64

struct _RcHttpListener
{
  SoupServer *soup; /* borrowed: it outlives the listener */
  GSocket *socket;
  GSource *watch; /* G_IO_IN on the listening socket; NULL while paused */
  guint retry_id;
  guint restarts;
};

/* The connection's socket rides on its remote address, the one object
 * libsoup keeps from what it was handed and gives back for each message. */
static GQuark
socket_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("rc-http-socket");
  return quark;
}

GSocket *
rc_http_socket_of (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL ? g_object_get_qdata (G_OBJECT (remote), socket_quark ()) : NULL;
}

static void arm (RcHttpListener *self);

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
on_retry (gpointer data)
{
  RcHttpListener *self = data;

  if (!fd_available (self))
    return G_SOURCE_CONTINUE;
  self->retry_id = 0;
  self->restarts++;
  g_message ("HTTP listener: accepting connections again (restart %u)", self->restarts);
  arm (self);
  return G_SOURCE_REMOVE;
}

/* No file descriptor is free: stop watching (the waiting connection would
 * wake the loop for ever) and look again every RETRY_MS. */
static void
pause_accepting (RcHttpListener *self)
{
  g_warning ("HTTP listener: the process is at its open-file limit; connections wait in the "
             "backlog, retrying every %d ms",
             RETRY_MS);
  rc_source_clear (&self->watch);
  self->retry_id = g_timeout_add (RETRY_MS, on_retry, self);
}

static void
hand_over (RcHttpListener *self, GSocket *client)
{
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (client, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (client, NULL);
  g_autoptr (GError) error = NULL;

  if (local == NULL || remote == NULL)
    {
      g_socket_close (client, NULL); /* gone before it was served */
      return;
    }
  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  g_object_set_qdata_full (G_OBJECT (remote), socket_quark (), g_object_ref (client),
                           g_object_unref);
  connection = g_socket_connection_factory_create_connection (client);
  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (connection), local, remote, &error))
    {
      g_debug ("HTTP listener: libsoup refused a connection: %s", error->message);
      g_socket_close (client, NULL);
    }
}

static gboolean
on_incoming (GSocket *socket, GIOCondition condition, gpointer data)
{
  RcHttpListener *self = data;

  for (guint i = 0; i < ACCEPT_BURST; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) client = g_socket_accept (self->socket, NULL, &error);

      if (client != NULL)
        {
          hand_over (self, client);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
        {
          pause_accepting (self);
          return G_SOURCE_REMOVE;
        }
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_debug ("HTTP listener: accept: %s", error->message); /* e.g. reset while queued */
      break;
    }
  return G_SOURCE_CONTINUE;
}

static void
arm (RcHttpListener *self)
{
  self->watch = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (on_incoming), self, NULL);
  g_source_set_static_name (self->watch, "rc-http-listener");
  g_source_attach (self->watch, NULL);
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
  g_socket_set_blocking (socket, FALSE);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    {
      g_socket_close (socket, NULL);
      return NULL;
    }
  self = g_new0 (RcHttpListener, 1);
  self->soup = soup;
  self->socket = g_steal_pointer (&socket);
  arm (self);
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
  rc_source_clear (&self->watch);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_free (self);
}

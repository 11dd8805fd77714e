/* SPDX-License-Identifier: MIT */
/*
 * The read side of the WebSocket writer's peers. Why it exists: libsoup
 * reads, parses and answers the control messages on the main context, and
 * a GLib main context polls every fd of every source on each iteration and
 * keeps its fds in a list sorted by number, which libsoup rebuilds on each
 * read (it drops its input source and makes a new one). With thousands of
 * connections in a room, every join, request and pong then cost a walk of
 * all of them, and a big room's joins grew with its size. Here a peer's
 * input source has no fd: one epoll set holds every socket (EPOLLONESHOT,
 * armed when libsoup starts to wait, level-triggered so nothing that came
 * meanwhile is missed) and one source on the main context polls that set,
 * then wakes the sources of the sockets that are readable.
 *
 * Everything here runs on the main context the writer was made on, which
 * is the peers' (rc_server.c attaches them there); a socket leaves the set
 * before its connection is closed, so a reused fd number is never armed
 * for the wrong peer.
 */
#include "server/core/rc_ws_writer-private.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

/* A peer's input source: no fd of its own; ready when the read watch says
 * the socket is readable. It calls its callback as a GPollableSource does. */
typedef struct
{
  GSource source;
  RcWsPeer *peer;  /* strong */
  GObject *stream; /* strong: the stream the callback is given */
} ReadSource;

static gboolean
read_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  ReadSource *rs = (ReadSource *) source;

  g_source_set_ready_time (source, -1);
  if (callback == NULL)
    return G_SOURCE_REMOVE;
  return ((GPollableSourceFunc) (void (*) (void)) callback) (rs->stream, user_data);
}

static void
read_source_finalize (GSource *source)
{
  ReadSource *rs = (ReadSource *) source;

  if (rs->peer->read_source == source)
    rs->peer->read_source = NULL;
  rc_ws_peer_unref (rs->peer);
  g_object_unref (rs->stream);
}

static GSourceFuncs read_source_funcs = {
  .dispatch = read_source_dispatch,
  .finalize = read_source_finalize,
};

/* Main context: wake @peer's source once its socket is readable (at once
 * if it is already: the registration is level-triggered). */
static void
arm_read (RcWsPeer *peer)
{
  RcWsWriter *writer = peer->writer;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = peer };
  gboolean known = g_hash_table_contains (writer->reading, peer);

  if (!peer->read_closed
      && epoll_ctl (writer->read_epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, peer->fd, &ev)
           == 0)
    {
      if (!known)
        g_hash_table_add (writer->reading, rc_ws_peer_ref (peer));
      return;
    }
  /* Closed, or epoll refused it: let libsoup read and meet the end. */
  if (peer->read_source != NULL)
    g_source_set_ready_time (peer->read_source, 0);
}

void
rc_ws_peer_input_disarm (RcWsPeer *peer)
{
  RcWsWriter *writer = peer->writer;

  if (peer->read_closed)
    return;
  peer->read_closed = TRUE;
  if (!g_hash_table_contains (writer->reading, peer))
    return;
  epoll_ctl (writer->read_epoll_fd, EPOLL_CTL_DEL, peer->fd, NULL);
  g_hash_table_remove (writer->reading, peer); /* drops its reference */
}

/* The one source on the main context for every socket's reads. */
typedef struct
{
  GSource source;
  RcWsWriter *writer;
} ReadWatch;

static gboolean
read_watch_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  RcWsWriter *writer = ((ReadWatch *) source)->writer;
  struct epoll_event events[256];
  int n = epoll_wait (writer->read_epoll_fd, events, G_N_ELEMENTS (events), 0);

  for (int i = 0; i < n; i++)
    {
      RcWsPeer *peer = events[i].data.ptr;

      if (peer->read_source != NULL && !g_source_is_destroyed (peer->read_source))
        g_source_set_ready_time (peer->read_source, 0);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs read_watch_funcs = {
  .dispatch = read_watch_dispatch,
};

#define RC_TYPE_WS_PEER_INPUT (rc_ws_peer_input_get_type ())
G_DECLARE_FINAL_TYPE (RcWsPeerInput, rc_ws_peer_input, RC, WS_PEER_INPUT, GInputStream)

/* Reads pass to the connection's own input (which counts them); only the
 * waiting is different. */
struct _RcWsPeerInput
{
  GInputStream parent;
  RcWsPeer *peer;     /* strong */
  GInputStream *base; /* strong: the connection's input, pollable */
};

static void rc_ws_peer_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RcWsPeerInput, rc_ws_peer_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      rc_ws_peer_input_pollable_init))

static gssize
input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
            GError **error)
{
  return g_input_stream_read (RC_WS_PEER_INPUT (stream)->base, buffer, count, cancellable, error);
}

/* The connection is closed by the peer's end (close_on_main). */
static gboolean
input_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static gboolean
input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static gboolean
input_is_readable (GPollableInputStream *stream)
{
  return g_pollable_input_stream_is_readable (
    G_POLLABLE_INPUT_STREAM (RC_WS_PEER_INPUT (stream)->base));
}

static gssize
input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  return g_pollable_input_stream_read_nonblocking (
    G_POLLABLE_INPUT_STREAM (RC_WS_PEER_INPUT (stream)->base), buffer, count, NULL, error);
}

/* libsoup waits for input: the socket is armed in the read set (unless
 * bytes wait already), and the source it gets has no fd in the main
 * context. */
static GSource *
input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  RcWsPeerInput *self = RC_WS_PEER_INPUT (stream);
  GSource *source = g_source_new (&read_source_funcs, sizeof (ReadSource));
  ReadSource *rs = (ReadSource *) source;

  g_source_set_static_name (source, "RcWsPeerInput");
  rs->peer = rc_ws_peer_ref (self->peer);
  rs->stream = g_object_ref (G_OBJECT (stream));
  if (cancellable != NULL)
    {
      g_autoptr (GSource) cancelled = g_cancellable_source_new (cancellable);

      g_source_set_dummy_callback (cancelled);
      g_source_add_child_source (source, cancelled);
    }
  self->peer->read_source = source;
  /* What libsoup's HTTP reading took ahead (a client's first frame sent
   * with its upgrade request) waits in a buffer no poll sees. */
  if (g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base)))
    g_source_set_ready_time (source, 0);
  else
    arm_read (self->peer);
  return source;
}

static void
rc_ws_peer_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = input_can_poll;
  iface->is_readable = input_is_readable;
  iface->create_source = input_create_source;
  iface->read_nonblocking = input_read_nonblocking;
}

static void
rc_ws_peer_input_finalize (GObject *object)
{
  RcWsPeerInput *self = RC_WS_PEER_INPUT (object);

  g_clear_object (&self->base);
  rc_ws_peer_unref (self->peer);
  G_OBJECT_CLASS (rc_ws_peer_input_parent_class)->finalize (object);
}

static void
rc_ws_peer_input_class_init (RcWsPeerInputClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = input_close;
  G_OBJECT_CLASS (klass)->finalize = rc_ws_peer_input_finalize;
}

static void
rc_ws_peer_input_init (RcWsPeerInput *self)
{
}

GInputStream *
rc_ws_peer_input_new (RcWsPeer *peer, GInputStream *base)
{
  RcWsPeerInput *self = g_object_new (RC_TYPE_WS_PEER_INPUT, NULL);

  self->peer = rc_ws_peer_ref (peer);
  self->base = g_object_ref (base);
  return G_INPUT_STREAM (self);
}

void
rc_ws_peer_input_watch_start (RcWsWriter *writer)
{
  writer->read_epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (writer->read_epoll_fd < 0)
    g_error ("WebSocket reads: cannot set up epoll: %s", g_strerror (errno));
  writer->reading = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) rc_ws_peer_unref, NULL);
  writer->read_watch = g_source_new (&read_watch_funcs, sizeof (ReadWatch));
  ((ReadWatch *) writer->read_watch)->writer = writer;
  g_source_set_static_name (writer->read_watch, "RcWsWriter reads");
  g_source_add_unix_fd (writer->read_watch, writer->read_epoll_fd, G_IO_IN);
  g_source_attach (writer->read_watch, g_main_context_get_thread_default ());
}

void
rc_ws_peer_input_watch_stop (RcWsWriter *writer)
{
  GHashTableIter iter;
  gpointer peer;

  /* A peer that outlives the writer never looks at it again. */
  g_hash_table_iter_init (&iter, writer->reading);
  while (g_hash_table_iter_next (&iter, &peer, NULL))
    ((RcWsPeer *) peer)->read_closed = TRUE;
  g_source_destroy (writer->read_watch);
  g_clear_pointer (&writer->read_watch, g_source_unref);
  g_clear_pointer (&writer->reading, g_hash_table_unref);
  close (writer->read_epoll_fd);
}

/* SPDX-License-Identifier: MIT */
/*
 * The WebSocket writer thread. Why it exists: the room's audio used to be
 * written from the main context, one libsoup message per frame per
 * listener, so a busy main loop (a join, a big broadcast) made every
 * listener's audio late, and thousands of listeners cost thousands of
 * copies and writes per frame on the one thread all signalling shares.
 * Here a frame is framed once and queued by reference for each listener,
 * and one thread sends each socket's queue with one non-blocking sendmsg.
 *
 * Locks, always taken in this order and never the other way: a group's
 * lock, then a peer's lock, then the writer's lock. The writer thread
 * takes a peer's lock or its own, one at a time. Only the writer thread
 * removes chunks from a queue or touches a socket, so it reads the queue's
 * chunks without the lock while it writes them.
 *
 * Closing: libsoup closes its stream after its close frame; the peer sends
 * what is queued (for at most RC_WS_STALL_MS), stops using the socket and
 * then closes the connection on the main context it came from, so the
 * socket is never closed under a thread that uses it.
 *
 * Reading stays libsoup's, on the main context, through the peer's input
 * (rc_ws_peer_input.c), which keeps the sockets out of the main loop's poll.
 */
#include "server/core/rc_ws_writer-private.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  GBytes *bytes;
  gboolean media;
} Chunk;

struct _RcWsGroup
{
  gint ref_count;
  RcWsWriter *writer;
  GMainContext *context;
  RcWsGroupFunc func;
  gpointer user_data;
  gboolean alive; /* main context */
  GMutex lock;
  GPtrArray *peers; /* RcWsPeer* (a reference each); protected by lock */
  guint64 messages, bytes; /* protected by lock */
};

static RcWsGroup *group_ref (RcWsGroup *group);
static void group_unref (RcWsGroup *group);

static void
chunk_free (Chunk *c)
{
  g_bytes_unref (c->bytes);
  g_free (c);
}

RcWsPeer *
rc_ws_peer_ref (RcWsPeer *peer)
{
  g_atomic_int_inc (&peer->ref_count);
  return peer;
}

void
rc_ws_peer_unref (RcWsPeer *peer)
{
  if (peer == NULL || !g_atomic_int_dec_and_test (&peer->ref_count))
    return;
  g_queue_clear_full (&peer->chunks, (GDestroyNotify) chunk_free);
  g_mutex_clear (&peer->lock);
  g_clear_object (&peer->connection);
  g_main_context_unref (peer->context);
  g_free (peer);
}

RcWsWriter *
rc_ws_peer_get_writer (RcWsPeer *peer)
{
  return peer->writer;
}

static void
wake (RcWsWriter *writer)
{
  guint64 one = 1;

  if (write (writer->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
    g_warning ("WebSocket writer: cannot wake the thread: %s", g_strerror (errno));
}

/* Puts each of @peers on the dirty list under one turn of the writer's
 * lock (a frame for thousands of listeners); TRUE when the thread must be
 * woken. The caller holds references to them. */
static gboolean
mark_dirty_all (RcWsWriter *writer, GPtrArray *peers)
{
  gboolean first;

  g_mutex_lock (&writer->lock);
  first = writer->dirty->len == 0;
  for (guint i = 0; i < peers->len; i++)
    {
      RcWsPeer *peer = peers->pdata[i];

      if (peer->dirty)
        continue;
      peer->dirty = TRUE;
      g_ptr_array_add (writer->dirty, rc_ws_peer_ref (peer));
    }
  first = first && writer->dirty->len > 0;
  g_mutex_unlock (&writer->lock);
  return first;
}

/* Puts @peer on the dirty list; TRUE when the thread must be woken. */
static gboolean
mark_dirty (RcWsPeer *peer)
{
  RcWsWriter *writer = peer->writer;
  gboolean first;

  g_mutex_lock (&writer->lock);
  if (peer->dirty)
    {
      g_mutex_unlock (&writer->lock);
      return FALSE;
    }
  peer->dirty = TRUE;
  first = writer->dirty->len == 0;
  g_ptr_array_add (writer->dirty, rc_ws_peer_ref (peer));
  g_mutex_unlock (&writer->lock);
  return first;
}

/* Queues @bytes; FALSE when the peer takes nothing more (of this kind). */
static gboolean
peer_queue (RcWsPeer *peer, GBytes *bytes, gboolean media, gboolean *first_frame)
{
  Chunk *c;

  g_mutex_lock (&peer->lock);
  if (peer->finished || (peer->closing && media) || (media && peer->media_off))
    {
      g_mutex_unlock (&peer->lock);
      return FALSE;
    }
  c = g_new (Chunk, 1);
  c->bytes = g_bytes_ref (bytes);
  c->media = media;
  g_queue_push_tail (&peer->chunks, c);
  peer->queued_bytes += g_bytes_get_size (bytes);
  if (media)
    {
      peer->queued_media += g_bytes_get_size (bytes);
      if (first_frame != NULL)
        *first_frame = !peer->had_frame;
      peer->had_frame = TRUE;
    }
  g_mutex_unlock (&peer->lock);
  return TRUE;
}

/* ---- the output stream libsoup writes to ---------------------------------- */

#define RC_TYPE_WS_PEER_STREAM (rc_ws_peer_stream_get_type ())
G_DECLARE_FINAL_TYPE (RcWsPeerStream, rc_ws_peer_stream, RC, WS_PEER_STREAM, GOutputStream)

struct _RcWsPeerStream
{
  GOutputStream parent;
  RcWsPeer *peer; /* strong */
};

static void rc_ws_peer_stream_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RcWsPeerStream, rc_ws_peer_stream, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      rc_ws_peer_stream_pollable_init))

/* Everything is taken at once, so each of libsoup's frames is one chunk and
 * media never lands inside one. A finished peer swallows it. */
static gssize
peer_stream_write (RcWsPeerStream *self, const void *buffer, gsize count)
{
  g_autoptr (GBytes) bytes = NULL;

  if (count == 0)
    return 0;
  bytes = g_bytes_new (buffer, count);
  if (peer_queue (self->peer, bytes, FALSE, NULL) && mark_dirty (self->peer))
    wake (self->peer->writer);
  return (gssize) count;
}

static gssize
stream_write_fn (GOutputStream *stream, const void *buffer, gsize count,
                 GCancellable *cancellable, GError **error)
{
  return peer_stream_write (RC_WS_PEER_STREAM (stream), buffer, count);
}

static gssize
stream_write_nonblocking (GPollableOutputStream *stream, const void *buffer, gsize count,
                          GError **error)
{
  return peer_stream_write (RC_WS_PEER_STREAM (stream), buffer, count);
}

static gboolean
stream_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static gboolean
stream_is_writable (GPollableOutputStream *stream)
{
  return TRUE;
}

static GSource *
stream_create_source (GPollableOutputStream *stream, GCancellable *cancellable)
{
  g_autoptr (GSource) ready = g_idle_source_new ();

  return g_pollable_source_new_full (stream, ready, cancellable);
}

static void
rc_ws_peer_stream_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = stream_can_poll;
  iface->is_writable = stream_is_writable;
  iface->create_source = stream_create_source;
  iface->write_nonblocking = stream_write_nonblocking;
}

static void
rc_ws_peer_stream_finalize (GObject *object)
{
  rc_ws_peer_unref (RC_WS_PEER_STREAM (object)->peer);
  G_OBJECT_CLASS (rc_ws_peer_stream_parent_class)->finalize (object);
}

static void
rc_ws_peer_stream_class_init (RcWsPeerStreamClass *klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = stream_write_fn;
  G_OBJECT_CLASS (klass)->finalize = rc_ws_peer_stream_finalize;
}

static void
rc_ws_peer_stream_init (RcWsPeerStream *self)
{
}

void
rc_ws_peer_ping (RcWsPeer *peer)
{
  static const guint8 ping[] = { 0x89, 0x00 }; /* FIN, ping, no payload */
  g_autoptr (GBytes) bytes = g_bytes_new_static (ping, sizeof ping);

  rc_ws_peer_send_frame (peer, bytes);
}

/* ---- the stream pair ------------------------------------------------------- */

#define RC_TYPE_WS_PEER_IO (rc_ws_peer_io_get_type ())
G_DECLARE_FINAL_TYPE (RcWsPeerIO, rc_ws_peer_io, RC, WS_PEER_IO, GIOStream)

struct _RcWsPeerIO
{
  GIOStream parent;
  RcWsPeer *peer;      /* strong */
  GInputStream *in;    /* strong: RcWsPeerInput */
  GOutputStream *out;  /* strong: RcWsPeerStream */
};

G_DEFINE_FINAL_TYPE (RcWsPeerIO, rc_ws_peer_io, G_TYPE_IO_STREAM)

static GInputStream *
io_get_input_stream (GIOStream *stream)
{
  return RC_WS_PEER_IO (stream)->in;
}

static GOutputStream *
io_get_output_stream (GIOStream *stream)
{
  return RC_WS_PEER_IO (stream)->out;
}

/* Asks the writer to send what is queued and then close the connection. */
static void
peer_close (RcWsPeer *peer)
{
  g_mutex_lock (&peer->lock);
  if (peer->closing)
    {
      g_mutex_unlock (&peer->lock);
      return;
    }
  peer->closing = TRUE;
  g_mutex_unlock (&peer->lock);
  if (mark_dirty (peer))
    wake (peer->writer);
}

static gboolean
io_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  peer_close (RC_WS_PEER_IO (stream)->peer);
  return TRUE;
}

/* Done in place: the real close happens later, on the writer's word. */
static void
io_close_async (GIOStream *stream, int io_priority, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, io_close_async);
  peer_close (RC_WS_PEER_IO (stream)->peer);
  g_task_return_boolean (task, TRUE);
}

static gboolean
io_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
rc_ws_peer_io_finalize (GObject *object)
{
  RcWsPeerIO *self = RC_WS_PEER_IO (object);

  /* Dropped without a close (a session freed at shutdown): close anyway. */
  peer_close (self->peer);
  g_clear_object (&self->in);
  g_clear_object (&self->out);
  rc_ws_peer_unref (self->peer);
  G_OBJECT_CLASS (rc_ws_peer_io_parent_class)->finalize (object);
}

static void
rc_ws_peer_io_class_init (RcWsPeerIOClass *klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  io_class->get_input_stream = io_get_input_stream;
  io_class->get_output_stream = io_get_output_stream;
  io_class->close_fn = io_close;
  io_class->close_async = io_close_async;
  io_class->close_finish = io_close_finish;
  G_OBJECT_CLASS (klass)->finalize = rc_ws_peer_io_finalize;
}

static void
rc_ws_peer_io_init (RcWsPeerIO *self)
{
}

GIOStream *
rc_ws_writer_attach (RcWsWriter *writer, GIOStream *connection, GSocket *socket,
                     RcWsPeer **peer_out)
{
  RcWsPeer *peer = g_new0 (RcWsPeer, 1);
  RcWsPeerIO *io = g_object_new (RC_TYPE_WS_PEER_IO, NULL);
  RcWsPeerStream *out = g_object_new (RC_TYPE_WS_PEER_STREAM, NULL);
  int sndbuf = RC_WS_SNDBUF;

  peer->ref_count = 1;
  peer->writer = writer;
  peer->fd = g_socket_get_fd (socket);
  peer->connection = g_object_ref (connection);
  peer->context = g_main_context_ref_thread_default ();
  g_mutex_init (&peer->lock);
  g_queue_init (&peer->chunks);
  /* A fixed kernel buffer bounds what a stalled reader can hide there:
   * autotuning would let it grow to megabytes (minutes of audio). */
  if (setsockopt (peer->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
    g_debug ("WebSocket writer: SO_SNDBUF: %s", g_strerror (errno));
  out->peer = rc_ws_peer_ref (peer);
  io->in = rc_ws_peer_input_new (peer, g_io_stream_get_input_stream (connection));
  io->out = G_OUTPUT_STREAM (out);
  io->peer = rc_ws_peer_ref (peer);
  *peer_out = peer;
  return G_IO_STREAM (io);
}

/* ---- the thread ------------------------------------------------------------ */

static gboolean
close_on_main (gpointer data)
{
  RcWsPeer *peer = data;

  rc_ws_peer_input_disarm (peer);
  g_io_stream_close (peer->connection, NULL, NULL);
  return G_SOURCE_REMOVE;
}

/* Writer thread: the socket is not used any more; hand the close over. */
static void
peer_finish (RcWsPeer *peer)
{
  RcWsWriter *writer = peer->writer;

  g_mutex_lock (&peer->lock);
  peer->finished = TRUE;
  g_queue_clear_full (&peer->chunks, (GDestroyNotify) chunk_free);
  peer->queued_bytes = peer->queued_media = 0;
  g_mutex_unlock (&peer->lock);
  if (peer->registered)
    epoll_ctl (writer->epoll_fd, EPOLL_CTL_DEL, peer->fd, NULL);
  peer->registered = peer->armed = FALSE;
  if (g_ptr_array_remove_fast (writer->blocked, peer))
    rc_ws_peer_unref (peer);
  g_main_context_invoke_full (peer->context, G_PRIORITY_DEFAULT, close_on_main,
                              rc_ws_peer_ref (peer), (GDestroyNotify) rc_ws_peer_unref);
}

typedef struct
{
  RcWsGroup *group;
  RcWsPeer *peer;
  RcWsGroupEvent event;
} GroupEvent;

static gboolean
group_event_on_main (gpointer data)
{
  GroupEvent *e = data;
  gboolean member;

  g_mutex_lock (&e->peer->lock);
  member = e->peer->group == e->group;
  g_mutex_unlock (&e->peer->lock);
  if (e->group->alive && member)
    e->group->func (e->peer, e->event, e->group->user_data);
  return G_SOURCE_REMOVE;
}

static void
group_event_free (gpointer data)
{
  GroupEvent *e = data;

  group_unref (e->group);
  rc_ws_peer_unref (e->peer);
  g_free (e);
}

static void
post_group_event (RcWsGroup *group, RcWsPeer *peer, RcWsGroupEvent event)
{
  GroupEvent *e = g_new (GroupEvent, 1);

  e->group = group_ref (group);
  e->peer = rc_ws_peer_ref (peer);
  e->event = event;
  g_main_context_invoke_full (group->context, G_PRIORITY_DEFAULT, group_event_on_main, e,
                              group_event_free);
}

/* Writer thread, peer locked: the peer cannot keep up. Media chunks not yet
 * started are dropped (the head one, if partly written, must finish: the
 * framing would break). */
static void
drop_media_locked (RcWsPeer *peer)
{
  GList *l = g_queue_peek_head_link (&peer->chunks);

  peer->media_off = TRUE;
  if (l != NULL && peer->head_sent > 0)
    l = l->next;
  while (l != NULL)
    {
      GList *next = l->next;
      Chunk *c = l->data;

      if (c->media)
        {
          peer->queued_bytes -= g_bytes_get_size (c->bytes);
          peer->queued_media -= g_bytes_get_size (c->bytes);
          chunk_free (c);
          g_queue_delete_link (&peer->chunks, l);
        }
      l = next;
    }
}

static void
arm (RcWsWriter *writer, RcWsPeer *peer)
{
  struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT, .data.ptr = peer };

  if (peer->armed)
    return;
  if (epoll_ctl (writer->epoll_fd, peer->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, peer->fd,
                 &ev) == 0)
    {
      peer->registered = peer->armed = TRUE;
      g_ptr_array_add (writer->blocked, rc_ws_peer_ref (peer));
    }
}

/* Sends the head of @peer's queue, as much as the socket takes. Returns
 * FALSE when the socket refused bytes (or failed). *@empty_out: nothing is
 * left queued; *@finished_out: the peer is finished (nothing was sent).
 * Two turns of the peer's lock a call: it is taken per listener and
 * message, thousands of times a frame. */
static gboolean
send_some (RcWsPeer *peer, gboolean *error_out, gboolean *empty_out, gboolean *finished_out)
{
  struct iovec iov[RC_WS_WRITER_IOV];
  struct msghdr msg = { .msg_iov = iov };
  gsize total = 0, left;
  gssize n;
  GList *l;

  g_mutex_lock (&peer->lock);
  *finished_out = peer->finished;
  l = peer->finished ? NULL : g_queue_peek_head_link (&peer->chunks);
  for (; l != NULL && msg.msg_iovlen < RC_WS_WRITER_IOV; l = l->next)
    {
      Chunk *c = l->data;
      gsize size;
      const guint8 *data = g_bytes_get_data (c->bytes, &size);
      gsize skip = msg.msg_iovlen == 0 ? peer->head_sent : 0;

      iov[msg.msg_iovlen].iov_base = (void *) (data + skip);
      iov[msg.msg_iovlen].iov_len = size - skip;
      total += size - skip;
      msg.msg_iovlen++;
    }
  g_mutex_unlock (&peer->lock);
  *empty_out = total == 0;
  if (total == 0)
    return TRUE;
  n = sendmsg (peer->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0)
    {
      *error_out = errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
      return FALSE;
    }
  left = (gsize) n;
  g_mutex_lock (&peer->lock);
  while (left > 0)
    {
      Chunk *c = g_queue_peek_head (&peer->chunks);
      gsize rest = g_bytes_get_size (c->bytes) - peer->head_sent;

      if (left < rest)
        {
          peer->head_sent += left;
          peer->queued_bytes -= left;
          if (c->media)
            peer->queued_media -= left;
          break;
        }
      left -= rest;
      peer->queued_bytes -= rest;
      if (c->media)
        peer->queued_media -= rest;
      peer->head_sent = 0;
      chunk_free (g_queue_pop_head (&peer->chunks));
    }
  *empty_out = g_queue_is_empty (&peer->chunks);
  g_mutex_unlock (&peer->lock);
  return (gsize) n == total;
}

/* Writer thread: writes what @peer has queued; decides its fate. */
static void
flush_peer (RcWsWriter *writer, RcWsPeer *peer, gint64 now)
{
  gboolean error = FALSE, all, empty = FALSE, closing, finished = FALSE;
  gboolean slow = FALSE;
  RcWsGroup *group = NULL;

  do
    all = send_some (peer, &error, &empty, &finished);
  while (all && !empty && !finished);
  if (finished)
    return;
  g_mutex_lock (&peer->lock);
  empty = g_queue_is_empty (&peer->chunks);
  closing = peer->closing;
  if (!all && !error && peer->stalled_since == 0)
    peer->stalled_since = now;
  if (empty)
    peer->stalled_since = 0;
  if (closing && peer->closing_since == 0)
    peer->closing_since = now;
  if (!peer->media_off && peer->queued_media > 0
      && (peer->queued_media > RC_WS_MAX_MEDIA_BACKLOG
          || (peer->stalled_since != 0
              && now - peer->stalled_since > RC_WS_STALL_MS * G_TIME_SPAN_MILLISECOND)))
    {
      drop_media_locked (peer);
      slow = TRUE;
      group = peer->group != NULL ? group_ref (peer->group) : NULL;
    }
  g_mutex_unlock (&peer->lock);
  if (slow && group != NULL)
    {
      post_group_event (group, peer, RC_WS_GROUP_DROPPED);
      group_unref (group);
    }
  if (error || (closing && empty)
      || (closing && now - peer->closing_since > RC_WS_STALL_MS * G_TIME_SPAN_MILLISECOND))
    peer_finish (peer);
  else if (!empty)
    arm (writer, peer);
}

static void
take_dirty (RcWsWriter *writer, GPtrArray *work, gboolean *stop)
{
  g_mutex_lock (&writer->lock);
  for (guint i = 0; i < writer->dirty->len; i++)
    {
      RcWsPeer *peer = writer->dirty->pdata[i];

      peer->dirty = FALSE;
      g_ptr_array_add (work, peer); /* the list's reference moves to @work */
    }
  g_ptr_array_set_size (writer->dirty, 0);
  *stop = writer->stop;
  g_mutex_unlock (&writer->lock);
}

/* The stalled and the closing get looked at even when their sockets stay
 * shut, so that their timeouts run. */
static void
check_blocked (RcWsWriter *writer, GPtrArray *work)
{
  for (guint i = 0; i < writer->blocked->len; i++)
    g_ptr_array_add (work, rc_ws_peer_ref (writer->blocked->pdata[i]));
}

static gpointer
writer_main (gpointer data)
{
  RcWsWriter *writer = data;
  g_autoptr (GPtrArray) work = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_ws_peer_unref);
  struct epoll_event events[64];
  gint64 last_check = 0;
  gboolean stop = FALSE;

  while (!stop)
    {
      int n = epoll_wait (writer->epoll_fd, events, G_N_ELEMENTS (events), 100);
      gint64 now = g_get_monotonic_time ();

      for (int i = 0; i < n; i++)
        {
          RcWsPeer *peer = events[i].data.ptr;
          guint64 count;

          if (peer == NULL)
            {
              if (read (writer->wake_fd, &count, sizeof count) < 0)
                g_debug ("WebSocket writer: wake-up: %s", g_strerror (errno));
              continue;
            }
          peer->armed = FALSE;
          if (g_ptr_array_remove_fast (writer->blocked, peer))
            g_ptr_array_add (work, peer); /* the blocked list's reference */
        }
      take_dirty (writer, work, &stop);
      if (now - last_check >= 100 * G_TIME_SPAN_MILLISECOND)
        {
          last_check = now;
          check_blocked (writer, work);
        }
      for (guint i = 0; i < work->len; i++)
        flush_peer (writer, work->pdata[i], now);
      g_ptr_array_set_size (work, 0);
    }
  return NULL;
}

RcWsWriter *
rc_ws_writer_new (void)
{
  RcWsWriter *writer = g_new0 (RcWsWriter, 1);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

  writer->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  writer->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (writer->epoll_fd < 0 || writer->wake_fd < 0
      || epoll_ctl (writer->epoll_fd, EPOLL_CTL_ADD, writer->wake_fd, &ev) < 0)
    g_error ("WebSocket writer: cannot set up epoll: %s", g_strerror (errno));
  g_mutex_init (&writer->lock);
  writer->dirty = g_ptr_array_new ();
  writer->blocked = g_ptr_array_new ();
  rc_ws_peer_input_watch_start (writer);
  writer->thread = g_thread_new ("ws-writer", writer_main, writer);
  return writer;
}

void
rc_ws_writer_free (RcWsWriter *writer)
{
  if (writer == NULL)
    return;
  g_mutex_lock (&writer->lock);
  writer->stop = TRUE;
  g_mutex_unlock (&writer->lock);
  wake (writer);
  g_thread_join (writer->thread);
  g_ptr_array_set_free_func (writer->dirty, (GDestroyNotify) rc_ws_peer_unref);
  g_ptr_array_set_free_func (writer->blocked, (GDestroyNotify) rc_ws_peer_unref);
  g_ptr_array_unref (writer->dirty);
  g_ptr_array_unref (writer->blocked);
  g_mutex_clear (&writer->lock);
  rc_ws_peer_input_watch_stop (writer);
  close (writer->epoll_fd);
  close (writer->wake_fd);
  g_free (writer);
}

/* ---- groups ------------------------------------------------------------------ */

static RcWsGroup *
group_ref (RcWsGroup *group)
{
  g_atomic_int_inc (&group->ref_count);
  return group;
}

static void
group_unref (RcWsGroup *group)
{
  if (!g_atomic_int_dec_and_test (&group->ref_count))
    return;
  g_ptr_array_unref (group->peers);
  g_mutex_clear (&group->lock);
  g_main_context_unref (group->context);
  g_free (group);
}

RcWsGroup *
rc_ws_group_new (RcWsWriter *writer, RcWsGroupFunc func, gpointer user_data)
{
  RcWsGroup *group = g_new0 (RcWsGroup, 1);

  group->ref_count = 1;
  group->writer = writer;
  group->context = g_main_context_ref_thread_default ();
  group->func = func;
  group->user_data = user_data;
  group->alive = TRUE;
  g_mutex_init (&group->lock);
  group->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_ws_peer_unref);
  return group;
}

static void
set_peer_group (RcWsPeer *peer, RcWsGroup *group)
{
  g_mutex_lock (&peer->lock);
  peer->group = group;
  g_mutex_unlock (&peer->lock);
}

void
rc_ws_group_free (RcWsGroup *group)
{
  if (group == NULL)
    return;
  group->alive = FALSE;
  g_mutex_lock (&group->lock);
  for (guint i = 0; i < group->peers->len; i++)
    set_peer_group (group->peers->pdata[i], NULL);
  g_ptr_array_set_size (group->peers, 0);
  g_mutex_unlock (&group->lock);
  group_unref (group);
}

/* Membership is the peer's own group pointer and its index in the group's
 * array, so that adding or removing one listener of thousands costs the
 * same as of one (a big room's joins never walk its listeners). */
void
rc_ws_group_add (RcWsGroup *group, RcWsPeer *peer)
{
  g_mutex_lock (&group->lock);
  g_mutex_lock (&peer->lock);
  if (peer->group != group)
    {
      g_warn_if_fail (peer->group == NULL);
      peer->group = group;
      peer->group_index = group->peers->len;
      peer->media_off = FALSE; /* a new session starts with a clean slate */
      peer->had_frame = FALSE;
      g_ptr_array_add (group->peers, rc_ws_peer_ref (peer));
    }
  g_mutex_unlock (&peer->lock);
  g_mutex_unlock (&group->lock);
}

void
rc_ws_group_remove (RcWsGroup *group, RcWsPeer *peer)
{
  RcWsPeer *removed = NULL;

  g_mutex_lock (&group->lock);
  g_mutex_lock (&peer->lock);
  if (peer->group == group)
    {
      guint index = peer->group_index;

      peer->group = NULL;
      /* The last peer takes its place. */
      removed = g_ptr_array_steal_index_fast (group->peers, index);
      if (index < group->peers->len)
        ((RcWsPeer *) group->peers->pdata[index])->group_index = index;
    }
  g_mutex_unlock (&peer->lock);
  g_mutex_unlock (&group->lock);
  rc_ws_peer_unref (removed);
}

/* One message on the wire, as a server sends it (unmasked, one frame). */
static GBytes *
frame_message (guint8 opcode, const guint8 *data, gsize length)
{
  gsize header = length < 126 ? 2 : length <= G_MAXUINT16 ? 4 : 10;
  guint8 *out = g_malloc (header + length);

  out[0] = 0x80 | opcode; /* FIN */
  if (header == 2)
    out[1] = (guint8) length;
  else if (header == 4)
    {
      out[1] = 126;
      out[2] = (guint8) (length >> 8);
      out[3] = (guint8) length;
    }
  else
    {
      out[1] = 127;
      for (int i = 0; i < 8; i++)
        out[2 + i] = (guint8) ((guint64) length >> (56 - 8 * i));
    }
  memcpy (out + header, data, length);
  return g_bytes_new_take (out, header + length);
}

GBytes *
rc_ws_frame_text (const char *text, gsize length)
{
  return frame_message (0x1, (const guint8 *) text, length);
}

void
rc_ws_peer_send_frame (RcWsPeer *peer, GBytes *frame)
{
  if (peer_queue (peer, frame, FALSE, NULL) && mark_dirty (peer))
    wake (peer->writer);
}

void
rc_ws_group_send (RcWsGroup *group, GBytes *payload)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (payload, &length);
  g_autoptr (GBytes) message = frame_message (0x2, data, length);
  g_autoptr (GPtrArray) queued = NULL;
  gboolean need_wake;

  g_mutex_lock (&group->lock);
  queued = g_ptr_array_sized_new (group->peers->len);
  for (guint i = 0; i < group->peers->len; i++)
    {
      RcWsPeer *peer = group->peers->pdata[i];
      gboolean first = FALSE;

      if (!peer_queue (peer, message, TRUE, &first))
        continue;
      group->messages++;
      group->bytes += g_bytes_get_size (message);
      g_ptr_array_add (queued, peer); /* the group's reference holds while it is locked */
      if (first)
        post_group_event (group, peer, RC_WS_GROUP_FIRST_FRAME);
    }
  need_wake = mark_dirty_all (group->writer, queued);
  g_mutex_unlock (&group->lock);
  if (need_wake)
    wake (group->writer);
}

void
rc_ws_group_get_sent (RcWsGroup *group, guint64 *messages, guint64 *bytes)
{
  g_mutex_lock (&group->lock);
  *messages = group->messages;
  *bytes = group->bytes;
  g_mutex_unlock (&group->lock);
}

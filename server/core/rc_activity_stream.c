/* SPDX-License-Identifier: MIT */
/*
 * Byte-counting pass-through input stream. It must stay pollable because
 * SoupWebsocketConnection reads with g_pollable_input_stream_read_nonblocking
 * and waits on a pollable source; every read path here forwards to the base.
 */
#include "server/core/rc_activity_stream.h"

struct _RcActivityStream
{
  GFilterInputStream parent;
  guint64 bytes_read;
  guint64 bytes_written; /* by the companion output stream */
};

static void rc_activity_stream_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RcActivityStream, rc_activity_stream, G_TYPE_FILTER_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      rc_activity_stream_pollable_init))

static GInputStream *
base_of (gpointer self)
{
  return g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (self));
}

static gssize
activity_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
               GError **error)
{
  RcActivityStream *self = RC_ACTIVITY_STREAM (stream);
  gssize n = g_input_stream_read (base_of (self), buffer, count, cancellable, error);

  if (n > 0)
    self->bytes_read += (guint64) n;
  return n;
}

static gboolean
activity_can_poll (GPollableInputStream *stream)
{
  GInputStream *base = base_of (stream);

  return G_IS_POLLABLE_INPUT_STREAM (base)
         && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (base));
}

static gboolean
activity_is_readable (GPollableInputStream *stream)
{
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (base_of (stream)));
}

static GSource *
activity_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  g_autoptr (GSource) base_source =
    g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (base_of (stream)), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
activity_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count,
                           GError **error)
{
  RcActivityStream *self = RC_ACTIVITY_STREAM (stream);
  gssize n = g_pollable_input_stream_read_nonblocking (
    G_POLLABLE_INPUT_STREAM (base_of (self)), buffer, count, NULL, error);

  if (n > 0)
    self->bytes_read += (guint64) n;
  return n;
}

static void
rc_activity_stream_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = activity_can_poll;
  iface->is_readable = activity_is_readable;
  iface->create_source = activity_create_source;
  iface->read_nonblocking = activity_read_nonblocking;
}

static void
rc_activity_stream_class_init (RcActivityStreamClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = activity_read;
}

static void
rc_activity_stream_init (RcActivityStream *self)
{
}

GInputStream *
rc_activity_stream_new (GInputStream *base)
{
  return g_object_new (RC_TYPE_ACTIVITY_STREAM, "base-stream", base, "close-base-stream", TRUE,
                       NULL);
}

guint64
rc_activity_stream_get_bytes_read (RcActivityStream *self)
{
  return self->bytes_read;
}

guint64
rc_activity_stream_get_bytes_written (RcActivityStream *self)
{
  return self->bytes_written;
}

/*
 * The output side: a pass-through that adds what it writes to the input
 * stream's bytes_written. Pollable for the same reason as the input side
 * (SoupWebsocketConnection writes with write_nonblocking).
 */
#define RC_TYPE_WRITE_COUNTER (rc_write_counter_get_type ())
G_DECLARE_FINAL_TYPE (RcWriteCounter, rc_write_counter, RC, WRITE_COUNTER, GFilterOutputStream)

struct _RcWriteCounter
{
  GFilterOutputStream parent;
  RcActivityStream *counter; /* strong */
};

static void rc_write_counter_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RcWriteCounter, rc_write_counter, G_TYPE_FILTER_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      rc_write_counter_pollable_init))

static GOutputStream *
out_base_of (gpointer self)
{
  return g_filter_output_stream_get_base_stream (G_FILTER_OUTPUT_STREAM (self));
}

static gssize
counter_write (GOutputStream *stream, const void *buffer, gsize count, GCancellable *cancellable,
               GError **error)
{
  RcWriteCounter *self = RC_WRITE_COUNTER (stream);
  gssize n = g_output_stream_write (out_base_of (self), buffer, count, cancellable, error);

  if (n > 0)
    self->counter->bytes_written += (guint64) n;
  return n;
}

static gboolean
counter_flush (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  return g_output_stream_flush (out_base_of (stream), cancellable, error);
}

static gboolean
counter_can_poll (GPollableOutputStream *stream)
{
  GOutputStream *base = out_base_of (stream);

  return G_IS_POLLABLE_OUTPUT_STREAM (base)
         && g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (base));
}

static gboolean
counter_is_writable (GPollableOutputStream *stream)
{
  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (out_base_of (stream)));
}

static GSource *
counter_create_source (GPollableOutputStream *stream, GCancellable *cancellable)
{
  g_autoptr (GSource) base_source =
    g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (out_base_of (stream)), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
counter_write_nonblocking (GPollableOutputStream *stream, const void *buffer, gsize count,
                           GError **error)
{
  RcWriteCounter *self = RC_WRITE_COUNTER (stream);
  gssize n = g_pollable_output_stream_write_nonblocking (
    G_POLLABLE_OUTPUT_STREAM (out_base_of (self)), buffer, count, NULL, error);

  if (n > 0)
    self->counter->bytes_written += (guint64) n;
  return n;
}

static void
rc_write_counter_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = counter_can_poll;
  iface->is_writable = counter_is_writable;
  iface->create_source = counter_create_source;
  iface->write_nonblocking = counter_write_nonblocking;
}

static void
rc_write_counter_finalize (GObject *object)
{
  g_clear_object (&RC_WRITE_COUNTER (object)->counter);
  G_OBJECT_CLASS (rc_write_counter_parent_class)->finalize (object);
}

static void
rc_write_counter_class_init (RcWriteCounterClass *klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = counter_write;
  G_OUTPUT_STREAM_CLASS (klass)->flush = counter_flush;
  G_OBJECT_CLASS (klass)->finalize = rc_write_counter_finalize;
}

static void
rc_write_counter_init (RcWriteCounter *self)
{
}

/*
 * The pair as one GIOStream. Closing it closes the connection underneath:
 * closing only the two filter streams would leave the socket open (a
 * GSocketConnection's halves do not own the socket), and every WebSocket
 * would stay in CLOSE-WAIT until the last reference went.
 */
#define RC_TYPE_ACTIVITY_IO_STREAM (rc_activity_io_stream_get_type ())
G_DECLARE_FINAL_TYPE (RcActivityIOStream, rc_activity_io_stream, RC, ACTIVITY_IO_STREAM, GIOStream)

struct _RcActivityIOStream
{
  GIOStream parent;
  GIOStream *base;      /* strong: the stolen connection */
  GInputStream *in;     /* strong: RcActivityStream over base's input */
  GOutputStream *out;   /* strong: RcWriteCounter over base's output */
};

G_DEFINE_FINAL_TYPE (RcActivityIOStream, rc_activity_io_stream, G_TYPE_IO_STREAM)

static GInputStream *
io_get_input_stream (GIOStream *stream)
{
  return RC_ACTIVITY_IO_STREAM (stream)->in;
}

static GOutputStream *
io_get_output_stream (GIOStream *stream)
{
  return RC_ACTIVITY_IO_STREAM (stream)->out;
}

static gboolean
io_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  RcActivityIOStream *self = RC_ACTIVITY_IO_STREAM (stream);

  /* The filters are closed first so nothing is left buffered in them; the
   * base's own close is what releases the socket, so it always runs. */
  g_output_stream_close (self->out, cancellable, NULL);
  g_input_stream_close (self->in, cancellable, NULL);
  return g_io_stream_close (self->base, cancellable, error);
}

/* Closing a socket does not block: done in place rather than on the worker
 * thread GIOStream's default would use, so the socket is never closed while
 * the main context polls it. */
static void
io_close_async (GIOStream *stream, int io_priority, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, io_close_async);
  if (io_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
io_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
rc_activity_io_stream_finalize (GObject *object)
{
  RcActivityIOStream *self = RC_ACTIVITY_IO_STREAM (object);

  g_clear_object (&self->in);
  g_clear_object (&self->out);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (rc_activity_io_stream_parent_class)->finalize (object);
}

static void
rc_activity_io_stream_class_init (RcActivityIOStreamClass *klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  io_class->get_input_stream = io_get_input_stream;
  io_class->get_output_stream = io_get_output_stream;
  io_class->close_fn = io_close;
  io_class->close_async = io_close_async;
  io_class->close_finish = io_close_finish;
  G_OBJECT_CLASS (klass)->finalize = rc_activity_io_stream_finalize;
}

static void
rc_activity_io_stream_init (RcActivityIOStream *self)
{
}

GIOStream *
rc_activity_io_stream_new (GIOStream *stream, RcActivityStream **counter_out)
{
  RcActivityIOStream *self = g_object_new (RC_TYPE_ACTIVITY_IO_STREAM, NULL);
  RcWriteCounter *out =
    g_object_new (RC_TYPE_WRITE_COUNTER, "base-stream", g_io_stream_get_output_stream (stream),
                  "close-base-stream", TRUE, NULL);

  self->base = g_object_ref (stream);
  self->in = rc_activity_stream_new (g_io_stream_get_input_stream (stream));
  out->counter = RC_ACTIVITY_STREAM (g_object_ref (self->in));
  self->out = G_OUTPUT_STREAM (out);
  if (counter_out != NULL)
    *counter_out = RC_ACTIVITY_STREAM (g_object_ref (self->in));
  return G_IO_STREAM (self);
}

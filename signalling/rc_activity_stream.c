/* SPDX-License-Identifier: MIT */
/*
 * Byte-counting pass-through input stream. It must stay pollable because
 * SoupWebsocketConnection reads with g_pollable_input_stream_read_nonblocking
 * and waits on a pollable source; every read path here forwards to the base.
 */
#include "rc_activity_stream.h"

struct _RcActivityStream
{
  GFilterInputStream parent;
  guint64 bytes_read;
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

GIOStream *
rc_activity_io_stream_new (GIOStream *stream, RcActivityStream **counter_out)
{
  g_autoptr (GInputStream) in = rc_activity_stream_new (g_io_stream_get_input_stream (stream));
  GIOStream *wrapped = g_simple_io_stream_new (in, g_io_stream_get_output_stream (stream));

  /* The wrapper must keep the original stream (and its socket) alive. */
  g_object_set_data_full (G_OBJECT (wrapped), "rc-base-io-stream", g_object_ref (stream),
                          g_object_unref);
  if (counter_out != NULL)
    *counter_out = RC_ACTIVITY_STREAM (g_object_ref (in));
  return wrapped;
}

/* SPDX-License-Identifier: MIT */
/*
 * WebSocket audio. The appsink runs on the RTP tee's streaming thread (the
 * mixer's: no queue, no thread of its own); it
 * builds each frame there (the header needs the packet's running time and
 * the pipeline's base time), bundles frames when asked, and hands each
 * message to the owner on that same thread: the owner's writer sends it
 * without the main context (server/core/rc_ws_writer.c). The state shared
 * with the streaming thread is reference-counted and locked, so that once
 * rc_ws_branch_free returns no callback runs, whatever the probe's timing.
 */
#include "pipelines/rc_ws_branch.h"

#include <gst/app/gstappsink.h>
#include <math.h>
#include <gst/rtp/gstrtpbuffer.h>

typedef struct
{
  gint ref_count;
  GMutex lock;          /* held while the callback runs */
  gboolean alive;       /* protected by lock */
  RcWsMessageFunc func;
  gpointer user_data;
  GstElement *pipeline; /* for the base time; weak (the branch dies first) */
  guint frames_per_message; /* atomic */
  guint32 sequence;     /* streaming thread only */
  GBytes *pending[RC_WS_BUNDLE_MAX]; /* streaming thread only: frames not yet sent */
  guint n_pending;
} Shared;

struct _RcWsBranch
{
  RcRoomPipeline *pipeline;
  GstElement *bin;
  Shared *shared;
};

static Shared *
shared_ref (Shared *s)
{
  g_atomic_int_inc (&s->ref_count);
  return s;
}

static void
shared_unref (Shared *s)
{
  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;
  for (guint i = 0; i < s->n_pending; i++)
    g_bytes_unref (s->pending[i]);
  g_mutex_clear (&s->lock);
  g_free (s);
}

static void
deliver (Shared *s, GBytes *message)
{
  g_mutex_lock (&s->lock);
  if (s->alive)
    s->func (message, s->user_data);
  g_mutex_unlock (&s->lock);
}

/* The frames waiting, as one bundle (or one frame alone). */
static void
flush_pending (Shared *s)
{
  gsize size = RC_WS_BUNDLE_HEADER;
  guint8 *out, *p;
  g_autoptr (GBytes) bundle = NULL;

  if (s->n_pending == 0)
    return;
  if (s->n_pending == 1)
    {
      deliver (s, s->pending[0]);
      g_clear_pointer (&s->pending[0], g_bytes_unref);
      s->n_pending = 0;
      return;
    }
  for (guint i = 0; i < s->n_pending; i++)
    size += 2 + g_bytes_get_size (s->pending[i]);
  out = p = g_malloc (size);
  p[0] = RC_WS_BUNDLE_VERSION;
  p[1] = (guint8) s->n_pending;
  GST_WRITE_UINT16_BE (p + 2, RC_WS_BUNDLE_HEADER);
  p += RC_WS_BUNDLE_HEADER;
  for (guint i = 0; i < s->n_pending; i++)
    {
      gsize length;
      const guint8 *frame = g_bytes_get_data (s->pending[i], &length);

      /* Entries start at any address: byte by byte, not GST_WRITE_*. */
      p[0] = (guint8) (length >> 8);
      p[1] = (guint8) length;
      memcpy (p + 2, frame, length);
      p += 2 + length;
      g_clear_pointer (&s->pending[i], g_bytes_unref);
    }
  s->n_pending = 0;
  bundle = g_bytes_new_take (out, size);
  deliver (s, bundle);
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer data)
{
  Shared *s = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstClockTime c = sample != NULL ? rc_room_pipeline_sample_time (s->pipeline, sample)
                                  : GST_CLOCK_TIME_NONE;
  GstBuffer *buffer = sample != NULL ? gst_sample_get_buffer (sample) : NULL;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint8 *frame;
  guint payload_length;
  guint want = g_atomic_int_get (&s->frames_per_message);

  if (!GST_CLOCK_TIME_IS_VALID (c) || buffer == NULL
      || !gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return GST_FLOW_OK;
  payload_length = gst_rtp_buffer_get_payload_len (&rtp);
  frame = g_malloc (RC_WS_FRAME_HEADER + payload_length);
  frame[0] = RC_WS_FRAME_VERSION;
  frame[1] = 0;
  GST_WRITE_UINT16_BE (frame + 2, RC_WS_FRAME_HEADER);
  GST_WRITE_UINT32_BE (frame + 4, gst_rtp_buffer_get_timestamp (&rtp));
  GST_WRITE_DOUBLE_BE (frame + 8, (double) c / GST_MSECOND);
  GST_WRITE_UINT32_BE (frame + 16, s->sequence++);
  memcpy (frame + RC_WS_FRAME_HEADER, gst_rtp_buffer_get_payload (&rtp), payload_length);
  gst_rtp_buffer_unmap (&rtp);

  s->pending[s->n_pending++] = g_bytes_new_take (frame, RC_WS_FRAME_HEADER + payload_length);
  if (s->n_pending >= CLAMP (want, 1, RC_WS_BUNDLE_MAX))
    flush_pending (s);
  return GST_FLOW_OK;
}

RcWsBranch *
rc_ws_branch_new (RcRoomPipeline *pipeline, RcWsMessageFunc func, gpointer user_data)
{
  RcWsBranch *self = g_new0 (RcWsBranch, 1);
  GstElement *sink = gst_element_factory_make ("appsink", NULL);
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  Shared *s = g_new0 (Shared, 1);

  s->ref_count = 1;
  s->alive = TRUE;
  g_mutex_init (&s->lock);
  s->func = func;
  s->user_data = user_data;
  s->frames_per_message = 1;
  s->pipeline = GST_ELEMENT (rc_room_pipeline_get_gst (pipeline));

  /* No queue (and no thread) in front: the appsink neither syncs nor
   * prerolls, and the owner only queues each message for the writer thread
   * (rc_ws_group_send never waits on a socket), so the mixer's own thread
   * frames and hands over every packet without waiting on anyone. */
  g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 50, "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, shared_ref (s),
                              (GDestroyNotify) shared_unref);

  self->pipeline = pipeline;
  self->shared = s;
  self->bin = gst_object_ref_sink (sink);
  rc_room_pipeline_add_branch (pipeline, self->bin);
  return self;
}

void
rc_ws_branch_free (RcWsBranch *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->shared->lock);
  self->shared->alive = FALSE;
  g_mutex_unlock (&self->shared->lock);
  rc_room_pipeline_remove_branch (self->pipeline, self->bin);
  gst_object_unref (self->bin);
  shared_unref (self->shared);
  g_free (self);
}

/* Big-endian reads at any address: a frame inside a bundle is not aligned,
 * and GStreamer's GST_READ_* load whole words (undefined there). */
static guint64
read_be (const guint8 *data, guint bytes)
{
  guint64 value = 0;

  for (guint i = 0; i < bytes; i++)
    value = (value << 8) | data[i];
  return value;
}

static double
read_double_be (const guint8 *data)
{
  guint64 bits = read_be (data, 8);
  double value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

void
rc_ws_branch_set_frames_per_message (RcWsBranch *self, guint frames)
{
  g_atomic_int_set (&self->shared->frames_per_message, CLAMP (frames, 1, RC_WS_BUNDLE_MAX));
}

gboolean
rc_ws_message_next (const guint8 *data, gsize length, gsize *offset, const guint8 **frame,
                    gsize *frame_length)
{
  gsize header, entry;

  if (*offset >= length || length < 1)
    return FALSE;
  if (data[0] == RC_WS_FRAME_VERSION)
    {
      /* A lone frame is the whole message. */
      if (*offset != 0)
        return FALSE;
      *frame = data;
      *frame_length = length;
      *offset = length;
      return TRUE;
    }
  if (data[0] != RC_WS_BUNDLE_VERSION || length < RC_WS_BUNDLE_HEADER)
    return FALSE;
  header = (gsize) read_be (data + 2, 2);
  if (header < RC_WS_BUNDLE_HEADER || header > length)
    return FALSE;
  if (*offset == 0)
    *offset = header;
  if (*offset + 2 > length)
    return FALSE;
  entry = (gsize) read_be (data + *offset, 2);
  if (entry == 0 || entry > length - *offset - 2)
    {
      *offset = length;
      return FALSE;
    }
  *frame = data + *offset + 2;
  *frame_length = entry;
  *offset += 2 + entry;
  return TRUE;
}

gboolean
rc_ws_frame_parse (const guint8 *data, gsize length, guint32 *rtp_timestamp,
                   double *server_time_ms, guint32 *sequence, const guint8 **payload,
                   gsize *payload_length)
{
  guint header;
  double c;

  if (length < RC_WS_FRAME_HEADER || data[0] != RC_WS_FRAME_VERSION)
    return FALSE;
  header = (guint) read_be (data + 2, 2);
  if (header < RC_WS_FRAME_HEADER || header > length)
    return FALSE;
  /* A C that is not a time (NaN, infinite) cannot be scheduled. */
  c = read_double_be (data + 8);
  if (!isfinite (c))
    return FALSE;
  *rtp_timestamp = (guint32) read_be (data + 4, 4);
  *server_time_ms = c;
  *sequence = (guint32) read_be (data + 16, 4);
  *payload = data + header;
  *payload_length = length - header;
  return TRUE;
}

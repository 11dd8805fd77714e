/* SPDX-License-Identifier: MIT */
/*
 * WebSocket audio. The appsink runs on the RTP tee's streaming thread; it
 * builds each frame there (the header needs the packet's running time and
 * the pipeline's base time) and hands it to the main context, where the
 * room's media sessions send it. A shared, reference-counted state lets a
 * hand-off that is still queued find out the branch is gone.
 */
#include "pipelines/rc_ws_branch.h"
#include "pipelines/rc_defer.h"

#include <gst/app/gstappsink.h>
#include <math.h>
#include <gst/rtp/gstrtpbuffer.h>

typedef struct
{
  gint ref_count;
  gboolean alive; /* main context only */
  RcWsFrameFunc func;
  gpointer user_data;
  GMainContext *context;
  GstElement *pipeline; /* for the base time; weak (the branch dies first) */
  guint32 sequence;     /* streaming thread only */
} Shared;

struct _RcWsBranch
{
  RcRoomPipeline *pipeline;
  GstElement *bin;
  Shared *shared;
};

typedef struct
{
  Shared *shared;
  GBytes *frame;
} Delivery;

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
  g_main_context_unref (s->context);
  g_free (s);
}

static gboolean
deliver_on_main (gpointer data)
{
  Delivery *d = data;

  if (d->shared->alive)
    d->shared->func (d->frame, d->shared->user_data);
  return G_SOURCE_REMOVE;
}

static void
delivery_free (gpointer data)
{
  Delivery *d = data;

  g_bytes_unref (d->frame);
  shared_unref (d->shared);
  g_free (d);
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer data)
{
  Shared *s = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buffer = sample ? gst_sample_get_buffer (sample) : NULL;
  const GstSegment *segment = sample ? gst_sample_get_segment (sample) : NULL;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  GstClockTime running;
  guint8 *frame;
  guint payload_length;
  Delivery *d;

  if (buffer == NULL || segment == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_FLOW_OK;
  running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (!GST_CLOCK_TIME_IS_VALID (running) || !gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return GST_FLOW_OK;
  payload_length = gst_rtp_buffer_get_payload_len (&rtp);
  frame = g_malloc (RC_WS_FRAME_HEADER + payload_length);
  frame[0] = RC_WS_FRAME_VERSION;
  frame[1] = 0;
  GST_WRITE_UINT16_BE (frame + 2, RC_WS_FRAME_HEADER);
  GST_WRITE_UINT32_BE (frame + 4, gst_rtp_buffer_get_timestamp (&rtp));
  GST_WRITE_DOUBLE_BE (frame + 8,
                       (double) (gst_element_get_base_time (s->pipeline) + running) / GST_MSECOND);
  GST_WRITE_UINT32_BE (frame + 16, s->sequence++);
  memcpy (frame + RC_WS_FRAME_HEADER, gst_rtp_buffer_get_payload (&rtp), payload_length);
  gst_rtp_buffer_unmap (&rtp);

  d = g_new0 (Delivery, 1);
  d->shared = shared_ref (s);
  d->frame = g_bytes_new_take (frame, RC_WS_FRAME_HEADER + payload_length);
  rc_defer (s->context, G_PRIORITY_HIGH, deliver_on_main, d, delivery_free);
  return GST_FLOW_OK;
}

RcWsBranch *
rc_ws_branch_new (RcRoomPipeline *pipeline, RcWsFrameFunc func, gpointer user_data)
{
  RcWsBranch *self = g_new0 (RcWsBranch, 1);
  GstElement *queue = gst_element_factory_make ("queue", NULL);
  GstElement *sink = gst_element_factory_make ("appsink", NULL);
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  g_autoptr (GstPad) pad = NULL;
  Shared *s = g_new0 (Shared, 1);

  s->ref_count = 1;
  s->alive = TRUE;
  s->func = func;
  s->user_data = user_data;
  s->context = g_main_context_ref_thread_default ();
  s->pipeline = GST_ELEMENT (rc_room_pipeline_get_gst (pipeline));

  /* A main context that falls behind loses old packets, never stalls the tee. */
  g_object_set (queue, "leaky", 2 /* downstream */, "max-size-time", 200 * GST_MSECOND,
                "max-size-buffers", 0, "max-size-bytes", 0, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 50, "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, shared_ref (s),
                              (GDestroyNotify) shared_unref);

  self->pipeline = pipeline;
  self->shared = s;
  self->bin = gst_bin_new (NULL);
  gst_bin_add_many (GST_BIN (self->bin), queue, sink, NULL);
  gst_element_link (queue, sink);
  pad = gst_element_get_static_pad (queue, "sink");
  gst_element_add_pad (self->bin, gst_ghost_pad_new ("sink", pad));
  rc_room_pipeline_add_branch (pipeline, self->bin);
  return self;
}

void
rc_ws_branch_free (RcWsBranch *self)
{
  if (self == NULL)
    return;
  self->shared->alive = FALSE;
  rc_room_pipeline_remove_branch (self->pipeline, self->bin);
  shared_unref (self->shared);
  g_free (self);
}

gboolean
rc_ws_frame_parse (const guint8 *data, gsize length, guint32 *rtp_timestamp,
                   double *server_time_ms, guint32 *sequence, const guint8 **payload,
                   gsize *payload_length)
{
  guint header;

  if (length < RC_WS_FRAME_HEADER || data[0] != RC_WS_FRAME_VERSION)
    return FALSE;
  header = GST_READ_UINT16_BE (data + 2);
  if (header < RC_WS_FRAME_HEADER || header > length)
    return FALSE;
  /* A C that is not a time (NaN, infinite) cannot be scheduled. */
  if (!isfinite (GST_READ_DOUBLE_BE (data + 8)))
    return FALSE;
  *rtp_timestamp = GST_READ_UINT32_BE (data + 4);
  *server_time_ms = GST_READ_DOUBLE_BE (data + 8);
  *sequence = GST_READ_UINT32_BE (data + 16);
  *payload = data + header;
  *payload_length = length - header;
  return TRUE;
}

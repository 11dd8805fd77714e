/* SPDX-License-Identifier: MIT */
/*
 * RcMixer (see rc_mixer.h): why a subclass. The room's mixer is paced by
 * its own thread on the clock, with no source thread feeding it silence,
 * through a pad that is never ready (the pacer). GstAggregator waits for
 * a frame until start + latency, and lets a pad queue up to latency of
 * data: with
 * latency 0 a frame leaves at its start, but a pad holds only two buffers,
 * and a frame that needs a third (a live input's 10 ms buffers, a Vorbis
 * stream's short blocks) races the thread that pushes it, and loses
 * audio when it is late. GstAggregatorClass::get_next_time is the start;
 * moving it back by the latency (and the frame audioaggregator adds to it)
 * keeps both: the deadline at the start, RC_MIXER_AHEAD of queue.
 *
 * Buffers of several frames (rc_mixer_set_frames) need a pad to hold that
 * much more ahead at a buffer's start, or the mixer finds a track's next
 * buffer not yet queued (its thread only just woken) and mixes a hole:
 * the latency property, which is also the queue's bound, grows by the
 * extra frames. That extra is nobody's latency: the deadline stays at each
 * buffer's start (get_next_time moves back by the whole property) and the
 * latency the mixer reports downstream leaves it out (src_query), so the
 * pipeline's latency, which a syncing sink (a webrtcbin's nicesink) adds
 * to every packet, does not change with the buffer's size.
 *
 * audiomixer's type is the plugin's, not public API: it is subclassed
 * through the type system (GTypeQuery gives its sizes), overriding only
 * those two documented virtual functions.
 */
#include "pipelines/rc_mixer.h"

#include <gst/base/gstaggregator.h>

static GstAggregatorClass *rc_mixer_parent_class;

/* The latency property: RC_MIXER_AHEAD, plus a frame for each extra frame
 * in a buffer. */
static GstClockTime
rc_mixer_queue (GstAggregator *aggregator)
{
  guint64 latency = RC_MIXER_AHEAD;

  g_object_get (aggregator, "latency", &latency, NULL);
  return latency;
}

static GstClockTime
rc_mixer_get_next_time (GstAggregator *aggregator)
{
  GstClockTime start = gst_aggregator_simple_get_next_time (aggregator);

  /* audioaggregator adds a frame's duration to the latency it waits for
   * (its own latency, as it fills a frame: rc_mixer_set_frames keeps it
   * one frame) on top of the property. */
  GstClockTime back = rc_mixer_queue (aggregator) + RC_MIXER_FRAME;

  if (!GST_CLOCK_TIME_IS_VALID (start))
    return start;
  return start > back ? start - back : 0;
}

static gboolean
rc_mixer_src_query (GstAggregator *aggregator, GstQuery *query)
{
  GstClockTime extra, min, max;
  gboolean live;

  if (!rc_mixer_parent_class->src_query (aggregator, query))
    return FALSE;
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return TRUE;
  extra = rc_mixer_queue (aggregator) - RC_MIXER_AHEAD;
  gst_query_parse_latency (query, &live, &min, &max);
  min = min > extra ? min - extra : 0;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max = max > extra ? max - extra : 0;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static void
rc_mixer_class_init (gpointer klass, gpointer data)
{
  rc_mixer_parent_class = g_type_class_peek_parent (klass);
  GST_AGGREGATOR_CLASS (klass)->get_next_time = rc_mixer_get_next_time;
  GST_AGGREGATOR_CLASS (klass)->src_query = rc_mixer_src_query;
}

static GType
rc_mixer_get_type (void)
{
  static gsize once = 0;
  static GType type = G_TYPE_INVALID;

  if (g_once_init_enter (&once))
    {
      g_autoptr (GstElementFactory) factory = gst_element_factory_find ("audiomixer");
      g_autoptr (GstPluginFeature) loaded = NULL;
      GType parent = G_TYPE_INVALID, made = G_TYPE_INVALID;
      GTypeQuery query;

      if (factory != NULL)
        loaded = gst_plugin_feature_load (GST_PLUGIN_FEATURE (factory));
      if (loaded != NULL)
        parent = gst_element_factory_get_element_type (GST_ELEMENT_FACTORY (loaded));
      if (parent != G_TYPE_INVALID && g_type_is_a (parent, GST_TYPE_AGGREGATOR))
        {
          GTypeInfo info = { 0 };

          g_type_query (parent, &query);
          info.class_size = query.class_size;
          info.class_init = rc_mixer_class_init;
          info.instance_size = query.instance_size;
          made = g_type_register_static (parent, "RcMixer", &info, 0);
        }
      type = made;
      g_once_init_leave (&once, 1);
    }
  return type;
}

GstElement *
rc_mixer_new (const char *name)
{
  GType type = rc_mixer_get_type ();
  GstElement *mixer;
  GstPad *pacer;

  if (type == G_TYPE_INVALID)
    return NULL;
  mixer = g_object_new (type, "name", name, "force-live", TRUE, "latency",
                        (guint64) RC_MIXER_AHEAD, "output-buffer-duration",
                        (guint64) RC_MIXER_FRAME, NULL);
  /* The pacer: the mixer's own pad, released with it. */
  pacer = gst_element_request_pad_simple (mixer, "sink_%u");
  gst_object_unref (pacer);
  return mixer;
}

void
rc_mixer_set_queue (GstElement *mixer, guint frames)
{
  g_object_set (mixer, "latency",
                (guint64) RC_MIXER_AHEAD + (guint64) (MAX (frames, 1) - 1) * RC_MIXER_FRAME, NULL);
}

void
rc_mixer_set_frames (GstElement *mixer, guint frames)
{
  g_object_set (mixer, "output-buffer-duration", (guint64) MAX (frames, 1) * RC_MIXER_FRAME,
                NULL);
  /* audioaggregator takes its buffer's duration as its own latency, which
   * the aggregator adds to every deadline: keep it one frame, the deadline
   * at each buffer's start (rc_mixer_get_next_time) and the latency the
   * pipeline reports unchanged, whatever the buffer's size. */
  gst_aggregator_set_latency (GST_AGGREGATOR (mixer), RC_MIXER_FRAME, RC_MIXER_FRAME);
}

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
 * audiomixer's type is the plugin's, not public API: it is subclassed
 * through the type system (GTypeQuery gives its sizes), overriding only
 * that documented virtual function.
 */
#include "pipelines/rc_mixer.h"

#include <gst/base/gstaggregator.h>

static GstClockTime
rc_mixer_get_next_time (GstAggregator *aggregator)
{
  GstClockTime start = gst_aggregator_simple_get_next_time (aggregator);

  /* audioaggregator adds a frame's duration to the latency it waits for
   * (its own latency, as it fills a frame) on top of the property. */
  GstClockTime back = RC_MIXER_AHEAD + RC_MIXER_FRAME;

  if (!GST_CLOCK_TIME_IS_VALID (start))
    return start;
  return start > back ? start - back : 0;
}

static void
rc_mixer_class_init (gpointer klass, gpointer data)
{
  GST_AGGREGATOR_CLASS (klass)->get_next_time = rc_mixer_get_next_time;
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

/* SPDX-License-Identifier: MIT */
/*
 * RcTrackBin: the bin a room's track decodes in. GstBin treats an ERROR
 * from a child as a failure of any asynchronous state change in progress,
 * which would strand a guest branch that is still prerolling; a bad file
 * must only skip itself, so its ERRORs reach the pipeline's bus as element
 * messages instead.
 */
#include "pipelines/rc_track_bin.h"

struct _RcTrackBin
{
  GstBin parent;
};

G_DEFINE_FINAL_TYPE (RcTrackBin, rc_track_bin, GST_TYPE_BIN)

static void
rc_track_bin_handle_message (GstBin *bin, GstMessage *message)
{
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      GstStructure *s;

      gst_message_parse_error (message, &error, &debug);
      s = gst_structure_new (RC_TRACK_BIN_ERROR, "error", G_TYPE_ERROR, error, "debug",
                             G_TYPE_STRING, debug, NULL);
      gst_message_unref (message);
      message = gst_message_new_element (GST_OBJECT (bin), s);
    }
  GST_BIN_CLASS (rc_track_bin_parent_class)->handle_message (bin, message);
}

static void
rc_track_bin_class_init (RcTrackBinClass *klass)
{
  GST_BIN_CLASS (klass)->handle_message = rc_track_bin_handle_message;
}

static void
rc_track_bin_init (RcTrackBin *self)
{
}

GstElement *
rc_track_bin_new (const char *name)
{
  return g_object_new (RC_TYPE_TRACK_BIN, "name", name, NULL);
}

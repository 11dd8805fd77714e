/* SPDX-License-Identifier: MIT */
#include "pipelines/rc_contained_bin.h"

#define RC_TYPE_CONTAINED_BIN (rc_contained_bin_get_type ())
G_DECLARE_FINAL_TYPE (RcContainedBin, rc_contained_bin, RC, CONTAINED_BIN, GstBin)

struct _RcContainedBin
{
  GstBin parent;
  GMutex lock; /* the handler: errors come on streaming threads */
  RcContainedErrorFunc func;
  gpointer data;
};

G_DEFINE_FINAL_TYPE (RcContainedBin, rc_contained_bin, GST_TYPE_BIN)

static void
rc_contained_bin_handle_message (GstBin *bin, GstMessage *message)
{
  RcContainedBin *self = RC_CONTAINED_BIN (bin);

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      g_autofree char *what = NULL;

      gst_message_parse_error (message, &error, &debug);
      GST_WARNING_OBJECT (bin, "%s: %s (%s)", GST_MESSAGE_SRC_NAME (message), error->message,
                          debug);
      what = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (message), error->message);
      g_mutex_lock (&self->lock);
      if (self->func != NULL)
        self->func (what, self->data);
      g_mutex_unlock (&self->lock);
      gst_message_unref (message);
      return;
    }
  GST_BIN_CLASS (rc_contained_bin_parent_class)->handle_message (bin, message);
}

static void
rc_contained_bin_finalize (GObject *object)
{
  g_mutex_clear (&RC_CONTAINED_BIN (object)->lock);
  G_OBJECT_CLASS (rc_contained_bin_parent_class)->finalize (object);
}

static void
rc_contained_bin_class_init (RcContainedBinClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rc_contained_bin_finalize;
  GST_BIN_CLASS (klass)->handle_message = rc_contained_bin_handle_message;
}

static void
rc_contained_bin_init (RcContainedBin *self)
{
  g_mutex_init (&self->lock);
}

GstElement *
rc_contained_bin_new (const char *name)
{
  return g_object_new (RC_TYPE_CONTAINED_BIN, "name", name, NULL);
}

void
rc_contained_bin_set_handler (GstElement *bin, RcContainedErrorFunc func, gpointer data)
{
  RcContainedBin *self = RC_CONTAINED_BIN (bin);

  g_mutex_lock (&self->lock);
  self->func = func;
  self->data = data;
  g_mutex_unlock (&self->lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * The one way roomcast hands work to a main context from another thread or
 * from a place where running it now is not safe (see rc_defer.h).
 */
#include "pipelines/rc_defer.h"

void
rc_defer (GMainContext *context, int priority, GSourceFunc func, gpointer data,
          GDestroyNotify destroy)
{
  g_autoptr (GSource) source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, destroy);
  g_source_attach (source, context);
}

void
rc_source_clear (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

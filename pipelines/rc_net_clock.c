/* SPDX-License-Identifier: MIT */
/*
 * Network clocks that are never finalized. GStreamer 1.22's
 * GstNetClientClock shares an internal clock per address whose thread
 * signals each public clock; a public clock finalized while that thread is
 * signalling it was used after it was freed ("instance with invalid (NULL)
 * class pointer", about one run in 25 of test_sync's network clock under
 * load). An edge that comes and goes, and the tests, would each make and
 * drop one; instead every user of an address shares one clock that lives
 * as long as the process (one small object per origin node).
 */
#include "pipelines/rc_net_clock.h"

#include <gst/net/net.h>

static GMutex clocks_lock;
static GHashTable *clocks; /* "host:port" → GstClock*, never freed */

GstClock *
rc_net_clock_obtain (const char *host, guint port)
{
  g_autofree char *key = g_strdup_printf ("%s:%u", host, port);
  GstClock *clock;

  g_mutex_lock (&clocks_lock);
  if (clocks == NULL)
    clocks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, gst_object_unref);
  clock = g_hash_table_lookup (clocks, key);
  if (clock == NULL)
    {
      clock = gst_net_client_clock_new ("server-clock", host, (gint) port, 0);
      g_hash_table_insert (clocks, g_steal_pointer (&key), clock);
    }
  gst_object_ref (clock);
  g_mutex_unlock (&clocks_lock);
  return clock;
}

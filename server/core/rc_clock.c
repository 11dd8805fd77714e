/* SPDX-License-Identifier: MIT */
/*
 * One clock for the whole server. Room pipelines already use the system
 * clock (monotonic), so publishing that same clock makes every room's
 * timeline readable by guests: a native guest slaves a GstNetClientClock to
 * the provider's UDP port, a browser estimates the offset from timeSync
 * exchanges over its WebSocket.
 */
#include "server/core/rc_clock.h"

#include <gio/gio.h>
#include <gst/net/gstnettimeprovider.h>

struct _RcClock
{
  GstNetTimeProvider *provider;
  guint port;
};

static GstClock *
system_clock (void)
{
  static GstClock *clock;

  if (g_once_init_enter (&clock))
    {
      GstClock *c = gst_system_clock_obtain ();

      /* The pipelines' default; said again so both agree by construction. */
      g_object_set (c, "clock-type", GST_CLOCK_TYPE_MONOTONIC, NULL);
      g_once_init_leave (&clock, c);
    }
  return clock;
}

RcClock *
rc_clock_new (const char *address, guint port, GError **error)
{
  RcClock *self;
  GstNetTimeProvider *provider;

  provider = gst_net_time_provider_new (system_clock (), address, (gint) port);
  if (provider == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot publish the server clock on UDP %s:%u", address, port);
      return NULL;
    }
  self = g_new0 (RcClock, 1);
  self->provider = provider;
  g_object_get (provider, "port", &self->port, NULL);
  return self;
}

void
rc_clock_free (RcClock *self)
{
  if (self == NULL)
    return;
  gst_object_unref (self->provider);
  g_free (self);
}

guint
rc_clock_get_port (RcClock *self)
{
  return self->port;
}

GstClockTime
rc_clock_now (void)
{
  return gst_clock_get_time (system_clock ());
}

double
rc_clock_now_ms (void)
{
  return (double) rc_clock_now () / GST_MSECOND;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* A clock slaved to the GstNetTimeProvider at @host:@port (transfer full).
 * One per address for the life of the process: see rc_net_clock.c. */
GstClock *rc_net_clock_obtain (const char *host, guint port);

G_END_DECLS

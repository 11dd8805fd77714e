/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcClock: the server clock every room pipeline runs on (GStreamer's
 * monotonic system clock), published to native guests by a
 * GstNetTimeProvider on a UDP port, and read by the /ws timeSync exchange
 * for browsers. "Server time" everywhere in the protocol is this clock, in
 * milliseconds.
 */
typedef struct _RcClock RcClock;

/* Listens on @address:@port (0: any free port). */
RcClock *rc_clock_new (const char *address, guint port, GError **error);
void rc_clock_free (RcClock *clock);

guint rc_clock_get_port (RcClock *clock);

/* The server clock now, in ns and in ms. Any thread. */
GstClockTime rc_clock_now (void);
double rc_clock_now_ms (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcClock, rc_clock_free)

G_END_DECLS

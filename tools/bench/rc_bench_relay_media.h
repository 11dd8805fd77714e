/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * bench-relay --media: what the origin → edge media relay costs the origin
 * per edge, against what one listener of the fan-out engine costs it, and
 * what one edge sees (its clock's offset from the origin's, the relay's
 * transit, losses). In this process, on 127.0.0.1: an origin room pipeline
 * (silence, encoded as a room always is) with its RcRelaySink, one real
 * edge (RcRelaySource and an edge room pipeline on a GstNetClientClock of
 * the origin's published clock), and up to the largest of @levels edges as
 * plain UDP sockets drained by one receiver thread. Each level is measured
 * for @window_s seconds: the process's CPU less the receiver thread's is
 * the origin's. @listener_us is one listener's cost per packet to compare
 * with. Returns the exit status.
 */
int rc_bench_relay_media_run (const char *levels, guint window_s, double listener_us);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_bench_server.h"

G_BEGIN_DECLS

/*
 * bench-relay --skew: how closely native guests on the room's node (the
 * origin) and on another node (an edge it feeds) render the same sample.
 * The nodes run with --music-dir @dir (holding the click track) and the
 * room @room_id is served by @origin. @pairs roomcast-guest processes
 * listen over the WebSocket on each node, recording what they render;
 * after @seconds of recording, every pair's skew (cross-correlation around
 * each click, tools/native-guest/rc_recording.h) is printed: origin against
 * edge, and origin against origin (the one-node reference). Returns the
 * exit status.
 */
int rc_bench_relay_skew_run (RcBenchServer *origin, RcBenchServer *edge, const char *room_id,
                             const char *owner_token, const char *guest_program, const char *dir,
                             guint pairs, double seconds);

G_END_DECLS

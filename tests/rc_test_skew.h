/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_test_server.h"
#include "rc_test_ws.h"
#include "tools/native-guest/rc_native_guest.h"
#include "tools/native-guest/rc_recording.h"

G_BEGIN_DECLS

/*
 * Two native guests in step, read from their recordings of the click track
 * (tools/native-guest/rc_recording.h): the bounds the sync tests hold them
 * to, between the two and of each from the ideal (the frames as the server
 * sent them, rendered at C + D). Why these bounds: tests/test_native_sync.c.
 */
#define RC_TEST_MAX_SKEW_P50_MS 1.0
#define RC_TEST_MAX_SKEW_MS 2.0
#define RC_TEST_MIN_SHARE_WITHIN 0.8
#define RC_TEST_FAULT_MS 25.0

/* A control guest of @room_id on @server (whose library holds the click
 * track and nothing else) that queues the track and listens over the
 * WebSocket: the frames as sent, the reference. *@timeline (may be NULL)
 * gets its first timeline. */
RcTestWs *rc_test_skew_control (RcTestServer *server, const char *room_id, JsonObject **timeline);
/* A native guest of @room_id through @server that renders at C + D over
 * @transport and records what it rendered to @record. */
RcNativeGuest *rc_test_skew_guest_new (RcTestServer *server, const char *room_id, const char *name,
                                       const char *transport, const char *record);
/* It has rendered half a second (or failed: check its failure). */
gboolean rc_test_skew_rendering (RcNativeGuest *guest);

/* The WebSocket frames @frames (GBytes*, as the server sent them), decoded
 * and placed at C + @delay_ms: what every guest should have rendered. */
RcRecording *rc_test_skew_ideal (GQueue *frames, double delay_ms);
/* Skews of @b against @a for the clicks @a has in [@from, @to) (host
 * clock, ms), with a message; *@within is the share of them under
 * RC_TEST_MAX_SKEW_MS. */
void rc_test_skew_measure (RcRecording *a, RcRecording *b, double from, double to,
                           RcSkewStats *stats, double *within);
/* Fails the test unless @a and @b are in step with each other and with
 * @ideal over [@from, @to): medians under RC_TEST_MAX_SKEW_P50_MS, four
 * clicks in five under RC_TEST_MAX_SKEW_MS between the two, none over
 * RC_TEST_FAULT_MS. */
void rc_test_skew_check_in_step (RcRecording *a, RcRecording *b, RcRecording *ideal, double from,
                                 double to);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcMixer: GStreamer's audiomixer, live by itself (force-live) and paced by
 * its own thread on the clock: every output frame is due at its start, as
 * when a live silence source (a thread of its own) paced the room's mixer,
 * while each input pad may still queue RC_MIXER_AHEAD of data.
 *
 * - The pacer: one requested pad that nothing is linked to and no data
 *   ever reaches. A live aggregator mixes as soon as every pad has data,
 *   and a track decodes ahead of its time: without a pad that is never
 *   ready the mixer would run as fast as the decoder; with it, every frame
 *   waits for its deadline on the clock.
 * - The deadline: a stock live aggregator's is start + latency, and its
 *   latency is also how much a pad may queue; RcMixer moves it back by its
 *   latency, so frames leave at their start and tracks stay decoded ahead.
 *   A pad's data that comes after the deadline is late (the frame is mixed
 *   without it, and it is dropped as it comes), where the room's mixer
 *   waited up to 50 ms for it before.
 *
 * NULL if audiomixer is not installed. Other requested pads, properties and
 * signals are audiomixer's.
 */
#define RC_MIXER_AHEAD (50 * GST_MSECOND)
/* Its output frames: one Opus frame each (audiomixer's default is 10 ms,
 * twice the wake-ups and buffers for nothing). */
#define RC_MIXER_FRAME (20 * GST_MSECOND)

GstElement *rc_mixer_new (const char *name);

G_END_DECLS

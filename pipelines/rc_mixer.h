/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcMixer: GStreamer's audiomixer, live by itself (force-live), whose every
 * output frame is due at its start on the clock, while each input pad may
 * still queue RC_MIXER_AHEAD of data. A stock live aggregator is due at
 * start + latency, and its latency is also how much a pad may queue: a room
 * needs frames to leave at their start (as when a live silence source paced
 * the mixer) and tracks decoded ahead, so RcMixer moves its deadline back by
 * its latency. A pad's data that comes after the deadline is late (mixed
 * without it, then dropped as it comes).
 *
 * NULL if audiomixer is not installed. Requested pads, properties and
 * signals are audiomixer's.
 */
#define RC_MIXER_AHEAD (50 * GST_MSECOND)
/* Its output frames: one Opus frame each (audiomixer's default is 10 ms,
 * twice the wake-ups and buffers for nothing). */
#define RC_MIXER_FRAME (20 * GST_MSECOND)

GstElement *rc_mixer_new (const char *name);

G_END_DECLS

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

/*
 * Output buffers of @frames RC_MIXER_FRAMEs (1 at first). A buffer of
 * several frames still leaves at its start, so its first frame is as early
 * as a single frame would be and the others are earlier; the encoder still
 * cuts it into 20 ms Opus frames. Fewer, larger buffers cost fewer
 * wake-ups of the mixer, the track's thread and the WebSocket writer, but
 * anything placed on the timeline must land in a buffer that has not left
 * (a live input's data comes in real time: one frame a buffer then).
 * The new size applies from the next buffer the mixer starts. Let the pads
 * queue for it first (rc_mixer_set_queue), long enough before for a track's
 * thread to fill the room.
 */
void rc_mixer_set_frames (GstElement *mixer, guint frames);

/*
 * Lets each input pad queue RC_MIXER_AHEAD plus the extra frames of a
 * buffer of @frames (1 at first), so that a buffer's start finds all of it
 * queued. That room is not latency: neither the deadlines nor the latency
 * the mixer reports change with it. A deeper queue makes a track's pad
 * take its data (and a pad probe see it) that much sooner.
 */
void rc_mixer_set_queue (GstElement *mixer, guint frames);

G_END_DECLS

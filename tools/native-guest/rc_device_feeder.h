/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_pcm_timeline.h"

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcDeviceFeeder: plays an RcPcmTimeline through a real audio sink
 * (pulsesink, alsasink, the one autoaudiosink picks: any GstAudioBaseSink)
 * so that timeline position p leaves the device at server time p / 48 kHz.
 *
 * The sink runs with sync=false, written as fast as the device takes data;
 * before each chunk the feeder reads the device's delay (the ring buffer's
 * delay: PulseAudio's stream latency, ALSA's snd_pcm_delay) and the server
 * clock, so it knows when the chunk's first frame will leave, and picks
 * the frames of that time, inserting or dropping single frames to follow
 * (see the .c for the rules and why).
 */
typedef struct _RcDeviceFeeder RcDeviceFeeder;

/* Low among real-time audio threads (PipeWire's data loop asks 88). */
#define RC_DEVICE_FEEDER_PRIORITY 10

typedef struct
{
  guint frames;       /* frames in the chunk */
  guint audio_frames; /* of them, taken from written timeline (not silence) */
  gboolean measured;  /* the device's delay is known: error_ms is meaningful */
  double error_ms;    /* when the chunk leaves minus when it should, ms, + = late */
  double delay_ms;    /* the device's delay read for this chunk */
} RcDeviceChunk;

/* Called on the feeder's streaming thread for every chunk written. */
typedef void (*RcDeviceChunkFunc) (const RcDeviceChunk *chunk, gpointer user_data);

typedef struct
{
  guint64 chunks;
  guint64 steps;    /* the output moved at once (start, stalls, above the step threshold) */
  guint64 inserted; /* single frames inserted (output was early) */
  guint64 dropped;  /* single frames dropped (output was late) */
  double delay_ms;  /* the device's delay last read */
  char *sink_name;  /* the audio sink in use (factory name) */
} RcDeviceFeederStats;

/* @sink: a gst-launch description of the sink. Fails with G_IO_ERROR_NOT_SUPPORTED
 * when it holds no GstAudioBaseSink (then the caller renders by clock). */
RcDeviceFeeder *rc_device_feeder_new (const char *name, const char *sink, GstClock *clock,
                                      RcPcmTimeline *timeline, RcDeviceChunkFunc func,
                                      gpointer user_data, GError **error);
void rc_device_feeder_free (RcDeviceFeeder *feeder);
/* The output pipeline's bus (transfer full), for the owner's error watch. */
GstBus *rc_device_feeder_get_bus (RcDeviceFeeder *feeder);
/* @realtime: also raise the device's own client thread (PulseAudio's main
 * loop) to SCHED_FIFO RC_DEVICE_FEEDER_PRIORITY, silently not if refused. */
gboolean rc_device_feeder_start (RcDeviceFeeder *feeder, gboolean realtime, GError **error);
/* Fills @stats; free stats->sink_name. */
void rc_device_feeder_get_stats (RcDeviceFeeder *feeder, RcDeviceFeederStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcDeviceFeeder, rc_device_feeder_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcNativePlayout: the native guest's clocked output. It renders the room's
 * packet of server time C at C + D on the server's clock:
 *
 * - a GstNetClientClock on the server's clock port (initialState.clock.port)
 *   is the playout pipeline's clock, with base time 0 and no start time, so
 *   the pipeline's running time is the server clock's time;
 * - each Opus packet is stamped PTS = C + D − L (L: the latency offset, the
 *   output latency after the sink that the user compensates for, as in the
 *   browser client) and decoded: appsrc ─ opusdec ─ audioconvert ─
 *   audioresample ─ S16LE 48 kHz stereo ─ a clocked sink;
 * - the sink is the sound card (autoaudiosink, or any sink description) or,
 *   to measure, an appsink with sync=true: the moment it hands over a
 *   buffer, read on the same net clock, is that buffer's render time. A
 *   sound card (any GstAudioBaseSink) is not clocked but fed at its demand
 *   by the device's delay read at every write (RcDeviceFeeder), so the
 *   sample leaves the device itself at C + D − L.
 *
 * Packets come with their C (WebSocket frames) or their RTP timestamp
 * (WebRTC; mapped to C with the room's timeline message). Packets that come
 * after their render time are dropped and counted as underruns; anything
 * before the clock is synced and the timeline known is dropped too. A change
 * of D is a hard resync: the next packet starts a discontinuity at its new
 * time (silence or overlap of the difference).
 *
 * With a record path, what the appsink rendered is written to a WAV file
 * (S16LE 48 kHz stereo), each buffer at the sample position of its render
 * time on the net clock, silence where nothing was rendered; a JSON sidecar
 * "<path>.json" says the server time of the first sample and how this
 * machine's monotonic clock compared (see docs/architecture.md).
 *
 * Thread safety: push and set_timeline may be called from any thread; the
 * rest from the thread that made it. The position sampling of sinks other
 * than the appsink runs on that thread's default main context.
 */
typedef struct _RcNativePlayout RcNativePlayout;

typedef struct
{
  const char *name;
  const char *clock_address; /* host of the server's network clock */
  guint clock_port;          /* initialState.clock.port */
  double latency_offset_ms;  /* renders this much earlier (an output delay after the sink) */
  /* NULL: an appsink (sync=true) when recording or keeping PCM, else
   * autoaudiosink. Otherwise a gst-launch description of the sink. */
  const char *sink;
  const char *record_path;   /* WAV of what was rendered, placed by render time; may be NULL */
  gboolean keep_pcm;         /* keep what was rendered in memory, in render order */
  const char *transport;     /* "webrtc" or "ws": written into the recording's sidecar */
  /* Run the streaming thread that waits on the clock and hands buffers to
   * the sink at SCHED_FIFO priority, as audio clients do (silently not, if
   * the system refuses). */
  gboolean realtime;
} RcNativePlayoutOptions;

/* One report period (since the last rc_native_playout_take_report). */
typedef struct
{
  guint rendered;    /* buffers rendered (or sink positions sampled) */
  double error;      /* ms, median of rendered − (C + D), positive = late */
  double error_max;  /* ms, largest |error| */
  guint received;    /* packets received */
  double arrival;    /* ms, 99th percentile of receive time − C */
  double jitter;     /* ms, interarrival jitter (RFC 3550 estimator) */
  guint64 underruns; /* packets that came after their C + D */
} RcNativeSyncReport;

typedef struct
{
  gboolean clock_synced;
  double delay_ms;           /* D in use; -1 before a timeline */
  guint64 received;          /* packets offered to the playout */
  guint64 pushed;            /* packets sent to the decoder */
  guint64 underruns;         /* came after their C + D (dropped) */
  guint64 early_drops;       /* came before the clock was synced or the timeline known */
  guint64 resyncs;           /* changes of D taken */
  /* A real audio device (rc_device_feeder.c); 0 and -1 without one: */
  guint64 output_steps;      /* its output moved at once (the start, stalls) */
  guint64 output_corrections; /* single frames inserted or dropped to follow it */
  double device_delay_ms;    /* its delay, last read */
  guint64 discontinuities;   /* gaps in C (lost or late packets, resyncs) */
  guint64 rendered_buffers;
  guint64 rendered_frames;
  gint64 first_render_us;    /* g_get_monotonic_time() of the first render, 0 before */
  gboolean realtime;         /* the streaming thread runs at SCHED_FIFO */
  double error_p50;          /* |render error| over the whole run, ms */
  double error_p95;
  double error_max;
} RcNativePlayoutStats;

RcNativePlayout *rc_native_playout_new (const RcNativePlayoutOptions *options, GError **error);
/* Stops rendering; finishes the WAV file (header sizes) and writes its sidecar. */
void rc_native_playout_free (RcNativePlayout *playout);

/* The room's `timeline` message. A new playout delay announced for heard
 * time @delay_at_ms (with the D before it, @previous_delay_ms) is taken at
 * that time, between two packets, as by every other guest; unannounced
 * (either NAN) it is a hard resync. */
void rc_native_playout_set_timeline (RcNativePlayout *playout, guint32 rtp_timestamp,
                                     double server_time_ms, guint clock_rate,
                                     double playout_delay_ms, double previous_delay_ms,
                                     double delay_at_ms);
/* The D a packet of time @c_ms is heard with while a change from
 * @before_ms to @delay_ms is announced for heard time @at_ms (0: none), or
 * -1 when a fall of D skips it: the old D places what comes before H (H − old
 * D is a packet boundary, so no packet straddles it), the new one the rest,
 * and after a fall the packets the new D would place before H are skipped.
 * The same rule as every other player's. */
double rc_native_playout_delay_for (double c_ms, double delay_ms, double before_ms, double at_ms);
/* An Opus packet whose first sample has server time @server_time_ms (C). */
void rc_native_playout_push (RcNativePlayout *playout, double server_time_ms,
                             const guint8 *payload, gsize length);
/* An Opus packet by its RTP timestamp (C from the timeline). */
void rc_native_playout_push_rtp (RcNativePlayout *playout, guint32 rtp_timestamp,
                                 const guint8 *payload, gsize length);

/* The figures of the period since the last call; a new period starts. */
void rc_native_playout_take_report (RcNativePlayout *playout, RcNativeSyncReport *report);
void rc_native_playout_get_stats (RcNativePlayout *playout, RcNativePlayoutStats *stats);
/* With keep_pcm: the last @ms ms rendered (interleaved S16 stereo). */
gint16 *rc_native_playout_get_recent_pcm (RcNativePlayout *playout, guint ms, gsize *n_frames);
/* Set when the pipeline failed; NULL while all is well. */
const char *rc_native_playout_get_failure (RcNativePlayout *playout);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcNativePlayout, rc_native_playout_free)

G_END_DECLS

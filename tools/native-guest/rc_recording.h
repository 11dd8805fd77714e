/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcRecording: what a guest rendered, placed in server time, and the
 * measurement that compares two of them: for every sharp transient (a
 * click) of one recording, the cross-correlation with the other around the
 * same server time says how much later the other rendered it. This is the
 * project's skew measurement: it reads what was rendered, not what the
 * guests say about themselves.
 *
 * A recording is a native guest's WAV file with its sidecar "<wav>.json"
 * (written by RcNativePlayout), or samples from elsewhere (a browser's
 * capture, a stream decoded at its server times) with the server time of
 * their first sample.
 *
 * Two clocks place a recording:
 * - RC_RECORDING_GUEST: the guest's own reading of the server clock (its
 *   network clock). Skew by this clock is the difference in rendering only.
 * - RC_RECORDING_HOST: this machine's monotonic clock, which *is* the
 *   server clock when guests and server share the machine (benchmarks,
 *   tests). The sidecar's clock offsets remove each guest's network-clock
 *   error, so skew by this clock is what a listener with both devices in one
 *   room would hear. Recordings without such offsets use their own stamps.
 */
typedef struct _RcRecording RcRecording;

typedef enum
{
  RC_RECORDING_GUEST,
  RC_RECORDING_HOST,
} RcRecordingClock;

/* A WAV (16-bit PCM; the first channel is used) and its sidecar. */
RcRecording *rc_recording_load (const char *wav_path, GError **error);
/* @samples (full scale 1) at @rate, the first at server time @server_time_ms. */
RcRecording *rc_recording_new (const char *name, const float *samples, gsize n, guint rate,
                               double server_time_ms);
/* Same, for an output clock that is not quite @rate: sample i is at
 * @server_time_ms + i × @ms_per_sample (a browser engine's measured rate). */
RcRecording *rc_recording_new_timed (const char *name, const float *samples, gsize n, guint rate,
                                     double server_time_ms, double ms_per_sample);
void rc_recording_free (RcRecording *recording);

const char *rc_recording_get_name (RcRecording *recording);
const char *rc_recording_get_transport (RcRecording *recording); /* NULL when unknown */
gsize rc_recording_get_length (RcRecording *recording);
guint rc_recording_get_rate (RcRecording *recording);
/* The loudest sample's magnitude (full scale 1). */
double rc_recording_get_peak (RcRecording *recording);
/* The sidecar's first playout delay (ms), or -1. */
double rc_recording_get_delay (RcRecording *recording);
/* The sidecar's playout delays: double pairs (server time it was taken, ms;
 * D, ms), oldest first; borrowed, empty without a sidecar. */
GArray *rc_recording_get_delays (RcRecording *recording);
/* The sidecar's events (ms on this machine's monotonic clock), or -1. */
double rc_recording_get_event (RcRecording *recording, const char *name);

/* Server time (ms) of sample @index, and back. */
double rc_recording_time_of (RcRecording *recording, double index, RcRecordingClock clock);
double rc_recording_index_of (RcRecording *recording, double time_ms, RcRecordingClock clock);

/* Sample indexes (double) where |x| first reaches @threshold after at least
 * @quiet_ms below it. */
GArray *rc_recording_find_onsets (RcRecording *recording, double threshold, double quiet_ms);

typedef struct
{
  double time;  /* server time of the transient in A, ms */
  double skew;  /* ms: when B rendered it minus when A did (positive: B later) */
  double score; /* normalised cross-correlation at the best lag, 0-1 */
} RcSkew;

/*
 * For each transient of @a over @threshold: the lag within ±@max_lag_ms at
 * which @b's samples around the same server time correlate best with @a's
 * (a window of 2 ms before to 8 ms after the onset), refined to a fraction
 * of a sample. Transients whose best score is under @min_score, or whose
 * window is outside @b, are left out. Returns a GArray of RcSkew.
 */
GArray *rc_recording_compare (RcRecording *a, RcRecording *b, RcRecordingClock clock,
                              double threshold, double max_lag_ms, double min_score);

typedef struct
{
  guint n;
  double mean;   /* signed, ms */
  double p50;    /* of |skew|, ms */
  double p95;
  double max;
} RcSkewStats;

/* Over the skews with @from_ms ≤ time < @to_ms (use -INFINITY/INFINITY for all). */
void rc_skew_stats (GArray *skews, double from_ms, double to_ms, RcSkewStats *stats);

/*
 * The signal the measurement is made for: a WAV file (S16LE 48 kHz stereo,
 * both channels alike) of silence with a click every 250-370 ms, each click
 * 2 ms of its own white noise under a Hann window at 0.7 full scale, the
 * first at 100 ms. Irregular spacing and distinct clicks mean no lag can
 * match the wrong click.
 */
gboolean rc_click_track_write (const char *path, guint seconds, GError **error);

/* WAV files. Reading: the first channel of 16-bit PCM as floats (full
 * scale 1), and its rate. Writing: S16LE stereo, @frames frames
 * interleaved after RC_WAV_HEADER_SAMPLES samples of room at the start of
 * @pcm, where the header is written. */
#define RC_WAV_HEADER_SAMPLES 22 /* 44 bytes */
gboolean rc_wav_read (const char *path, float **samples, gsize *n, guint *rate, GError **error);
gboolean rc_wav_write_stereo (const char *path, gint16 *pcm, gsize frames, guint rate,
                              GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRecording, rc_recording_free)

G_END_DECLS

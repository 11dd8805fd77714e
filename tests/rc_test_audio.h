/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * Listening to what a guest would hear, for tests. An RcTestEar collects
 * decoded audio (float, mono, 48 kHz) from an appsink and the RTP packets
 * (sequence numbers and arrival times) seen by a pad probe, from streaming
 * threads; the checks read them on the main thread.
 *
 * Pitch is measured by zero crossings over the last 200 ms: the test tones
 * are pure sines, so this is exact to a few Hz and needs no FFT.
 */
typedef struct
{
  GMutex lock;
  GArray *pcm;      /* float mono 48 kHz, as decoded */
  GArray *seqs;     /* guint16 RTP sequence numbers, as received */
  GArray *arrivals; /* gint64 g_get_monotonic_time() of each RTP packet */
} RcTestEar;

RcTestEar *rc_test_ear_new (void);
void rc_test_ear_free (RcTestEar *ear);

/* For an appsink (emit-signals=true) whose caps are
 * audio/x-raw,format=F32LE,channels=1,rate=48000: connect to "new-sample". */
GstFlowReturn rc_test_ear_on_sample (GstElement *appsink, RcTestEar *ear);
/* The decoding chain that feeds an ear, as a parse-launch fragment that
 * takes RTP Opus in and ends in an appsink named "sink". */
#define RC_TEST_EAR_DECODER                                                                        \
  "rtpopusdepay name=depay ! opusdec ! audioconvert ! audioresample "                            \
  "! audio/x-raw,format=F32LE,channels=1,rate=48000 "                                            \
  "! appsink name=sink emit-signals=true sync=false"
/* Records every RTP buffer passing @pad (sequence number, arrival time). */
void rc_test_ear_watch_rtp (RcTestEar *ear, GstPad *pad);
/* A branch for a room pipeline's RTP tee (one "sink" pad): a queue and
 * RC_TEST_EAR_DECODER, its decoded audio and its RTP packets into @ear. */
GstElement *rc_test_ear_branch (RcTestEar *ear);

guint rc_test_ear_pcm_len (RcTestEar *ear);
guint rc_test_ear_packets (RcTestEar *ear);
/* Pitch (Hz, by zero crossings) and RMS (full scale 1) of the last @ms heard. */
void rc_test_ear_analyse (RcTestEar *ear, guint ms, double *freq, double *rms);
/* The last 200 ms are a clear tone of @hz (within 8 Hz). */
gboolean rc_test_ear_hears (RcTestEar *ear, double hz);
/* More than 200 ms arrived and the last 200 ms are silent. */
gboolean rc_test_ear_hears_silence (RcTestEar *ear);
/* The longest time between two RTP packets that arrived after @since_us
 * (a g_get_monotonic_time() value), in µs; 0 with fewer than two. */
gint64 rc_test_ear_max_gap_us (RcTestEar *ear, gint64 since_us);
/* RTP sequence numbers missing from what arrived after @since_us. */
guint rc_test_ear_lost (RcTestEar *ear, gint64 since_us);

/* WebSocket audio frames (GBytes* as the server sent them, see
 * pipelines/rc_ws_branch.h) decoded and placed by their server time C:
 * mono float samples at 48 kHz, the first at *@c0_ms (server clock, ms).
 * Fails the test when no frame parses. */
GArray *rc_test_audio_decode_ws_frames (GQueue *frames, double *c0_ms);

/* The same measures on plain buffers. */
void rc_test_audio_analyse_float (const float *x, gsize n, double *freq, double *rms);
/* Left channel of interleaved S16 stereo. */
void rc_test_audio_analyse_s16 (const gint16 *x, gsize n_frames, double *freq, double *rms);
gboolean rc_test_audio_is_tone (double freq, double rms, double want_hz);
/* The RMS (full scale 1) of the @hz component of the left channel of
 * interleaved S16 stereo (Goertzel over the whole buffer, Hann window):
 * one tone's level in a mix of several. */
double rc_test_audio_tone_level_s16 (const gint16 *x, gsize n_frames, double hz);

/*
 * "Another guest leaving leaves no gap over 60 ms": guests [0, n) listen;
 * the last one leaves while the others' packets are timed. The windows just
 * before and after tell a gap the leaving caused (a calm machine on both
 * sides) from a machine too busy to keep time (two cores shared with
 * whatever else runs). Up to @attempts guests leave in turn, until one
 * leaving is timed cleanly (the test passes). The test fails when every
 * attempt had a calm machine around it and a gap or a loss while the guest
 * left; it is skipped, with the figures as messages, when the machine was
 * never calm enough to judge.
 */
typedef struct
{
  /* Starts a new gap window for guests [0, n). */
  void (*reset_gaps) (gpointer data, guint n);
  /* The longest gap (µs) since the reset across guests [0, n), and the
   * packets they lost in all. */
  gint64 (*worst_gap) (gpointer data, guint n, guint64 *lost);
  /* Guest @index leaves (its branch, socket, everything). */
  void (*leave) (gpointer data, guint index);
} RcTestLeaving;

void rc_test_audio_time_leaving (const RcTestLeaving *ops, gpointer data, guint n,
                                 guint attempts);

G_END_DECLS

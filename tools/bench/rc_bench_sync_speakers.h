/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_bench_server.h"
#include "tools/native-guest/rc_recording.h"

#include <glib.h>

G_BEGIN_DECLS

/*
 * bench-sync's measurement at the speaker (rc_bench_sync_speakers.c): native
 * guests playing through pulsesink, and with --peer snapcast two Snapcast
 * clients fed the same click track, each into its own sink of a private
 * PulseAudio (rc_bench_pulse.c), and sinks for the caller's browser pages
 * (each its own Chromium, PULSE_SERVER/PULSE_SINK), all recorded on one sample clock. Per
 * click: the skew of every pair of a kind, and each roomcast player against
 * the ideal C + D beside its belief (the error it reports to the room).
 */
typedef struct _RcBenchSpeakers RcBenchSpeakers;

typedef struct
{
  const char *dir;         /* the run's temporary folder */
  const char *guest;       /* roomcast-guest */
  RcBenchServer *server;
  const char *room_id;
  const char *click_track; /* the WAV the room plays (fed to Snapcast too) */
  guint natives;           /* native guests through real sinks */
  gboolean snapcast;       /* --peer snapcast: snapserver and two snapclients */
  guint browsers;          /* sinks for browser pages "browser-1"…, started by the caller */
  gboolean no_realtime;
} RcBenchSpeakersOptions;

/* Starts the audio server, the guests and the peers; they play until freed. */
RcBenchSpeakers *rc_bench_speakers_start (const RcBenchSpeakersOptions *options, GError **error);
/* For the caller's browser page i (0-based): the PulseAudio server and its sink. */
const char *rc_bench_speakers_get_server (RcBenchSpeakers *speakers);
const char *rc_bench_speakers_get_browser_sink (RcBenchSpeakers *speakers, guint index);
/* All of them output sound (or failed); for rc_bench_wait. */
gboolean rc_bench_speakers_ready (gpointer speakers);
/* The measured window: the recording runs, the beliefs are polled (1/s). */
void rc_bench_speakers_record (RcBenchSpeakers *speakers);
void rc_bench_speakers_poll_beliefs (RcBenchSpeakers *speakers);
/* Stops the recording and everything it started. */
void rc_bench_speakers_stop (RcBenchSpeakers *speakers);
/* Markdown: the "at the speaker" tables. @ideal may be NULL (no truth
 * against C + D then), placed on this machine's monotonic clock. */
void rc_bench_speakers_report (RcBenchSpeakers *speakers, RcRecording *ideal, double start,
                               double end, GString *out);
/* With --keep: each click's truth and each belief read, over time (TSV). */
gboolean rc_bench_speakers_write_series (RcBenchSpeakers *speakers, RcRecording *ideal,
                                         const char *path, GError **error);
void rc_bench_speakers_free (RcBenchSpeakers *speakers);

G_END_DECLS

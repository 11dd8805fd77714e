/* SPDX-License-Identifier: MIT */
#pragma once

#include "tools/native-guest/rc_recording.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RcBenchPulse: a private PulseAudio server in which every player has its
 * own sink, and one recording of all the sinks on one sample clock: what
 * the players' real audio sinks output, on one timeline. bench-sync and
 * test_speaker_sync measure sync at the speaker with it.
 *
 * - The server is started here (`pulseaudio --daemonize=no -n -F script`)
 *   with HOME, PULSE_RUNTIME_PATH and PULSE_STATE_PATH in a folder of its
 *   own, its only protocol a unix socket in that folder (anonymous), no
 *   system service touched; it dies with this process (PR_SET_PDEATHSIG)
 *   and rc_bench_pulse_free stops it and removes the folder.
 * - One null sink "rc_speakers" with a channel per player (aux0, aux1, …);
 *   player i's sink "rc_player_<i+1>" is a mono remap sink onto channel i.
 *   A player sees a sink of its own (its latency, its stream), and every
 *   sample it outputs lands in one channel of the same frames of the one
 *   null sink: the channels of a frame are mixed in one pass of that sink's
 *   thread, so their clocks are one by construction, not by alignment.
 * - The recording is that sink's monitor through one pulsesrc, on this
 *   machine's monotonic clock (the server clock of a roomcast on this
 *   machine): sample k of every channel is at first + k / 48 kHz.
 *   Between channels (players) the skew is exact to the sample; the
 *   placement of the whole against the server clock is pulsesrc's
 *   timestamping (within a millisecond or so, the same for every player).
 *
 * At most RC_BENCH_PULSE_MAX_SINKS players. Runs on the thread-default
 * main context of the thread that made it.
 */
#define RC_BENCH_PULSE_MAX_SINKS 32

typedef struct _RcBenchPulse RcBenchPulse;

/* pulseaudio and pactl are installed. */
gboolean rc_bench_pulse_available (void);
/* Starts the server with @n_sinks player sinks under @parent_dir (a folder
 * of its own is made there); waits until it answers. */
RcBenchPulse *rc_bench_pulse_start (const char *parent_dir, guint n_sinks, GError **error);
/* Stops the recording and the server, removes its folder. */
void rc_bench_pulse_free (RcBenchPulse *pulse);

/* "unix:/…/native": PULSE_SERVER for its clients. */
const char *rc_bench_pulse_get_server (RcBenchPulse *pulse);
/* Player @index's sink name ("rc_player_<index+1>"). */
const char *rc_bench_pulse_get_sink (RcBenchPulse *pulse, guint index);
/* PULSE_SERVER (and, with @index >= 0, PULSE_SINK) for a child's launcher. */
void rc_bench_pulse_setenv (RcBenchPulse *pulse, GSubprocessLauncher *launcher, int index);
/* "pulsesink server=… device=rc_player_<index+1>": a native guest's sink. */
char *rc_bench_pulse_sink_description (RcBenchPulse *pulse, guint index);

/* Starts recording every sink. */
gboolean rc_bench_pulse_record (RcBenchPulse *pulse, GError **error);
/* Stops the recording (keeps what it has); then take what each sink output. */
void rc_bench_pulse_stop_recording (RcBenchPulse *pulse);
/* Player @index's output as a recording named @name, placed on this
 * machine's monotonic clock (ms); NULL when nothing was recorded. */
RcRecording *rc_bench_pulse_take (RcBenchPulse *pulse, guint index, const char *name);
/* Prints the server's log and the recorder's to stderr: why a recording
 * holds nothing a player output. */
void rc_bench_pulse_print_logs (RcBenchPulse *pulse);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchPulse, rc_bench_pulse_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
/*
 * Sync at the speaker: two native guests, each playing into a real audio
 * sink of its own, output the same click at the same instant.
 *
 * test_native_sync measures what the guests' appsinks rendered (rendering
 * only); here each guest plays through a real audio sink into its own sink
 * of a private PulseAudio that the test starts (tools/bench/rc_bench_pulse.c:
 * no system service, nothing left running), and all sinks are recorded on
 * one sample clock, so the recording holds what each sink really output,
 * after the sink's own buffering and latency. Cross-correlating the two
 * players' channels around each click over 10 s gives their skew. The
 * guests feed their devices by the devices' delay (RcDeviceFeeder); the
 * first case has two pulsesinks, the second (opt-in, RC_SPEAKER_SYNC_ALSA=1)
 * a pulsesink and an alsasink through ALSA's PulseAudio plugin (a real ALSA
 * PCM, so snd_pcm_delay and GstAudioSink's ring buffer: the path a sound
 * card takes).
 *
 * The bound is looser than bench-sync's targets (p95 ≤ 0.5 ms on a quiet
 * machine): the median under 2 ms and four clicks in five under 2 ms, none
 * over 25 ms. The suite shares two cores with whatever else runs, and a
 * stalled PulseAudio or sink thread moves a click or two; a real fault (a
 * sink's latency not accounted for, a start that lands a buffer off, a
 * packet misplaced) moves every click, by several ms to 20 ms. On a machine
 * loaded far beyond its cores (load average 60 on two) PulseAudio's own
 * timing drifts by a few ms per stream and the bound fails, as it did
 * before the feeder (docs/benchmarks.md, "Sync at the speaker"). Without
 * pulseaudio installed (tools/dev installs it) the test is skipped.
 */
#include "tools/bench/rc_bench_pulse.h"
#include "tools/native-guest/rc_native_guest.h"
#include "tools/native-guest/rc_recording.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <glib/gstdio.h>
#include <math.h>

#define MEASURE_MS 10000
#define MAX_SKEW_MS 2.0
#define MIN_SHARE_WITHIN 0.8
#define FAULT_MS 25.0
#define CLICK_THRESHOLD 0.1

static gboolean
library_has_track (RcTestServer *server)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);

  return status == 200 && json_object_get_int_member (json_node_get_object (body), "total") == 1;
}

static gboolean
plays (RcNativeGuest *guest)
{
  RcNativePlayoutStats s;

  return rc_native_guest_get_failure (guest) != NULL
         || (rc_native_guest_get_playout_stats (guest, &s) && s.rendered_frames > 48000);
}

typedef struct
{
  double delay_ms;
  gint64 since;
} Steady;

/* D has not changed for two seconds. */
static gboolean
delay_steady (RcNativeGuest *guest, Steady *steady)
{
  RcNativePlayoutStats s;

  if (!rc_native_guest_get_playout_stats (guest, &s))
    return FALSE;
  if (s.delay_ms != steady->delay_ms)
    {
      steady->delay_ms = s.delay_ms;
      steady->since = g_get_monotonic_time ();
    }
  return g_get_monotonic_time () - steady->since > 2 * G_USEC_PER_SEC;
}

static RcNativeGuest *
player_new (RcTestServer *server, const char *room_id, const char *name, const char *transport,
            const char *sink)
{
  RcNativeGuestOptions options = {
    .server_url = server->base_url,
    .room_id = room_id,
    .name = name,
    .playout = TRUE,
    .transport = transport,
    .sink = sink,
    .report_interval_ms = 1000,
    .realtime = TRUE,
  };

  return rc_native_guest_new (&options);
}

/* Why few clicks matched: what each sink output (its length, its loudest
 * sample, its clicks) and where the clicks lie when the window is 1 s
 * wide: a silent sink, a garbled one and one far off read differently. */
static void
describe_unmatched (RcRecording *a, RcRecording *b)
{
  RcRecording *both[2] = { a, b };
  g_autoptr (GArray) wide = rc_recording_compare (a, b, RC_RECORDING_HOST, CLICK_THRESHOLD, 500, 0.5);
  RcSkewStats stats;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (GArray) onsets = rc_recording_find_onsets (both[i], CLICK_THRESHOLD, 100);

      g_printerr ("%s recorded %.1f s, peak %.3f, %u clicks over %.1f\n",
                  rc_recording_get_name (both[i]),
                  rc_recording_get_length (both[i]) / (double) rc_recording_get_rate (both[i]),
                  rc_recording_get_peak (both[i]), onsets->len, CLICK_THRESHOLD);
    }
  rc_skew_stats (wide, -INFINITY, INFINITY, &stats);
  g_printerr ("within +-500 ms at a looser match: %u clicks, mean %+.3f ms, |skew| p50 %.3f "
              "max %.3f ms\n", stats.n, stats.mean, stats.p50, stats.max);
}

/* Why the recording cannot judge the guests, or NULL: a sink recorded
 * without a click above the threshold while its guest wrote more than a
 * second of the room's audio (the click track) to it. */
static char *
silent_sink (RcRecording *a, RcRecording *b, RcNativeGuest **guests)
{
  RcRecording *both[2] = { a, b };

  for (guint i = 0; i < 2; i++)
    {
      RcNativePlayoutStats p;

      if (rc_recording_get_peak (both[i]) >= CLICK_THRESHOLD
          || !rc_native_guest_get_playout_stats (guests[i], &p) || p.rendered_frames < 48000)
        continue;
      return g_strdup_printf ("%s wrote %.1f s of the room's audio to its PulseAudio sink, and "
                              "the recording of that sink peaks at %.4f: the private "
                              "PulseAudio did not deliver it (its log is printed above)",
                              rc_recording_get_name (both[i]), p.rendered_frames / 48000.0,
                              rc_recording_get_peak (both[i]));
    }
  return NULL;
}

/* The second player's sink: pulsesink, or alsasink through ALSA's PulseAudio
 * plugin (libasound2-plugins), which is a real ALSA PCM: snd_pcm_delay and
 * GstAudioSink's ring buffer, the path a sound card takes. */
typedef enum
{
  SECOND_PULSE,
  SECOND_ALSA,
} SecondSink;

static void
two_sinks_in_step (SecondSink second)
{
  g_autofree char *dir = g_dir_make_tmp ("rc-speaker-sync-XXXXXX", NULL);
  g_autofree char *music = g_build_filename (dir, "music", NULL);
  g_autofree char *track = g_build_filename (music, "clicks.wav", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcBenchPulse) pulse = NULL;
  g_autoptr (JsonObject) room = NULL, added = NULL;
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (RcRecording) a = NULL, b = NULL;
  g_autoptr (GArray) skews = NULL;
  g_autofree char *sink_a = NULL, *sink_b = NULL, *silent = NULL;
  RcNativeGuest *guests[2];
  RcTestServer *server;
  RcTestWs *control;
  RcSkewStats stats;
  Steady steady = { .delay_ms = -1 };
  guint status = 0, within = 0;
  gint64 until;

  if (!rc_bench_pulse_available ())
    {
      g_test_skip ("pulseaudio and pactl are not installed (tools/dev installs them)");
      return;
    }
  if (second == SECOND_ALSA)
    {
      g_autoptr (GstElementFactory) alsa = gst_element_factory_find ("alsasink");

      /* Opt-in: through ALSA's PulseAudio plugin the guests landed 3-10 ms
       * apart, an offset per start not yet understood (docs/benchmarks.md,
       * "Sync at the speaker"); the case proves the path plays in step. */
      if (g_getenv ("RC_SPEAKER_SYNC_ALSA") == NULL)
        {
          g_test_skip ("the ALSA case runs with RC_SPEAKER_SYNC_ALSA=1");
          return;
        }
      if (alsa == NULL || !g_file_test ("/usr/share/alsa/alsa.conf.d/pulse.conf", G_FILE_TEST_EXISTS))
        {
          g_test_skip ("alsasink or ALSA's PulseAudio plugin is not installed (tools/dev installs "
                       "gstreamer1.0-alsa and libasound2-plugins)");
          return;
        }
    }
  pulse = rc_bench_pulse_start (dir, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (music, 0700), ==, 0);
  g_assert_true (rc_click_track_write (track, 60, &error));
  server = rc_test_server_start ((const char *const[]){ "--music-dir", music, NULL });
  g_assert_true (RC_WAIT_UNTIL (library_has_track (server), 30000));
  room = rc_test_create_room (server, "Speakers", NULL);
  control = rc_test_ws_join (server, rc_test_str (room, "id"), "Control", NULL, NULL, NULL);
  body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);
  rc_test_ws_sendf (control, "{\"type\":\"addSong\",\"id\":1,\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (
                                   json_object_get_array_member (json_node_get_object (body),
                                                                 "songs"),
                                   0),
                                 "id"));
  added = rc_test_ws_expect (control, "queueUpdated", 5000);

  sink_a = rc_bench_pulse_sink_description (pulse, 0);
  if (second == SECOND_ALSA)
    {
      /* The plugin takes its server and sink from the environment. */
      g_setenv ("PULSE_SERVER", rc_bench_pulse_get_server (pulse), TRUE);
      g_setenv ("PULSE_SINK", rc_bench_pulse_get_sink (pulse, 1), TRUE);
      sink_b = g_strdup ("alsasink device=pulse");
    }
  else
    sink_b = rc_bench_pulse_sink_description (pulse, 1);
  guests[0] = player_new (server, rc_test_str (room, "id"), "Left", "webrtc", sink_a);
  guests[1] = player_new (server, rc_test_str (room, "id"), "Right", "ws", sink_b);
  g_assert_true (RC_WAIT_UNTIL (plays (guests[0]) && plays (guests[1]), 30000));
  g_assert_null (rc_native_guest_get_failure (guests[0]));
  g_assert_null (rc_native_guest_get_failure (guests[1]));
  /* The guests' first reports raise D to cover their devices' lead; each
   * change re-places the audio. Measure once D has held for two seconds
   * (or after 15 s whatever it does), the devices' latency accounted for. */
  RC_WAIT_UNTIL (delay_steady (guests[0], &steady), 15000);

  g_assert_true (rc_bench_pulse_record (pulse, &error));
  until = g_get_monotonic_time () + MEASURE_MS * 1000;
  RC_WAIT_UNTIL (g_get_monotonic_time () > until, MEASURE_MS + 5000);
  rc_bench_pulse_stop_recording (pulse);
  g_assert_null (rc_native_guest_get_failure (guests[0]));
  g_assert_null (rc_native_guest_get_failure (guests[1]));

  for (guint i = 0; i < 2; i++)
    {
      RcNativePlayoutStats p;

      if (rc_native_guest_get_playout_stats (guests[i], &p))
        /* stderr as well as TAP: meson prints a failed test's stderr. */
        g_printerr ("%s: belief |error| p50 %.3f p95 %.3f ms, device delay %.1f ms, "
                    "%" G_GUINT64_FORMAT " steps, %" G_GUINT64_FORMAT " frames corrected, "
                    "%" G_GUINT64_FORMAT " underruns, %" G_GUINT64_FORMAT " frames rendered\n",
                    i == 0 ? "Left" : "Right", p.error_p50, p.error_p95, p.device_delay_ms,
                    p.output_steps, p.output_corrections, p.underruns, p.rendered_frames);
    }
  a = rc_bench_pulse_take (pulse, 0, "Left");
  b = rc_bench_pulse_take (pulse, 1, "Right");
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  silent = silent_sink (a, b, guests);
  skews = rc_recording_compare (a, b, RC_RECORDING_HOST, CLICK_THRESHOLD, 30, 0.8);
  rc_skew_stats (skews, -INFINITY, INFINITY, &stats);
  {
    /* Every click, so a failure shows whether the guests drifted apart,
     * jumped, or started apart. */
    g_autoptr (GString) line = g_string_new (NULL);

    for (guint i = 0; i < skews->len; i++)
      g_string_append_printf (line, " %+.2f", g_array_index (skews, RcSkew, i).skew);
    g_printerr ("skew per click, ms:%s\n", line->str);
  }
  if (stats.n < 20 || silent != NULL)
    {
      describe_unmatched (a, b);
      rc_bench_pulse_print_logs (pulse);
    }
  for (guint i = 0; i < skews->len; i++)
    if (fabs (g_array_index (skews, RcSkew, i).skew) < MAX_SKEW_MS)
      within++;
  g_printerr ("at the speakers, Left vs Right: %u clicks, mean %+.3f ms, |skew| p50 %.3f "
              "p95 %.3f max %.3f ms, %u under %.0f ms\n",
                  stats.n, stats.mean, stats.p50, stats.p95, stats.max, within, MAX_SKEW_MS);
  if (silent != NULL)
    /* The guest wrote the room's audio to its sink and the recording of
     * that sink holds none: the instrument failed, not the guest; the logs
     * above say why. A guest that outputs silence, a wrong sample or a
     * late one still fails below. */
    g_test_skip (silent);
  else
    {
      /* Clicks every 250-370 ms: 10 s hold some thirty. */
      g_assert_cmpuint (stats.n, >=, 20);
      g_assert_cmpfloat (stats.p50, <, MAX_SKEW_MS);
      g_assert_cmpfloat ((double) within / stats.n, >=, MIN_SHARE_WITHIN);
      g_assert_cmpfloat (stats.max, <, FAULT_MS);
    }

  rc_native_guest_free (guests[0]);
  rc_native_guest_free (guests[1]);
  rc_test_ws_free (control);
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
  rc_test_server_free (server);
  g_clear_pointer (&pulse, rc_bench_pulse_free);
  g_unsetenv ("PULSE_SERVER");
  g_unsetenv ("PULSE_SINK");
  g_unlink (track);
  g_rmdir (music);
  g_rmdir (dir);
}

static void
test_two_sinks_in_step (void)
{
  two_sinks_in_step (SECOND_PULSE);
}

static void
test_pulse_and_alsa_in_step (void)
{
  two_sinks_in_step (SECOND_ALSA);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add_func ("/speaker-sync/two-sinks-in-step", test_two_sinks_in_step);
  g_test_add_func ("/speaker-sync/pulse-and-alsa-in-step", test_pulse_and_alsa_in_step);
  return g_test_run ();
}

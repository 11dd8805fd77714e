/* SPDX-License-Identifier: MIT */
/*
 * Going live over SRT, heard by a guest. A room plays a 440 Hz song from
 * its queue; a real GStreamer caller (gst-launch-1.0 ... ! mpegtsmux !
 * srtsink, as OBS sends: MPEG-TS over SRT, the room and publish key in the
 * stream id) sends a 660 Hz tone in AAC, then in Opus. A native guest hears
 * the queue give way to the host and come back when the host is killed
 * (within 3 s) or stops. Timed ticks in the host's audio show that its
 * delay does not grow. Callers the server must refuse are refused in the
 * handshake with SRT's rejection reason (a libsrt caller reads it), and
 * callers that send garbage, a TS without audio, or nothing are ended
 * while the room's host plays on.
 */
#include "tools/native-guest/rc_native_guest.h"
#include "server/live/rc_srt.h"
#include "rc_test_audio.h"
#include "rc_test_live.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <arpa/inet.h>
#include <math.h>
#include <signal.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>

#define SONG_HZ 440.0
#define HOST_HZ 660.0
#define TICK_HZ 1320.0
#define TICK_INTERVAL_MS 500
#define RATE 48000

typedef struct
{
  RcTestLiveRoom live;
  guint srt_port;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *port = NULL;
  const char *args[] = { "--srt-port", NULL, "--max-publishers", "3", NULL };

  f->srt_port = rc_test_free_udp_port ();
  port = g_strdup_printf ("%u", f->srt_port);
  args[1] = port;
  rc_test_live_room_start (&f->live, SONG_HZ, args);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rc_test_live_room_stop (&f->live);
}

/* The amplitude (full scale 1) of the @hz component of the left channel. */
static double
amplitude_at (const gint16 *x, gsize frames, double hz)
{
  return G_SQRT2 * rc_test_audio_tone_level_s16 (x, frames, hz);
}

/* The guest comes to hear a clear tone of @hz within @timeout_ms; if not,
 * what it heard is said. */
static gboolean
comes_to_hear (RcNativeGuest *guest, double hz, guint timeout_ms)
{
  double freq = 0, rms = 0;

  if (RC_WAIT_UNTIL (rc_test_guest_hears (guest, hz), timeout_ms))
    return TRUE;
  rc_test_guest_heard (guest, &freq, &rms);
  g_test_message ("after %u ms: %.1f Hz at %.3f, wanted %.0f Hz", timeout_ms, freq, rms, hz);
  return FALSE;
}

/* The last 200 ms hold @hz at a clear level and not @other_hz: a mix (the
 * host's tone with its ticks) is not one pitch. */
static gboolean
hears_in_mix (RcNativeGuest *guest, double hz, double other_hz)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);

  return frames >= RATE / 5 - 960 && amplitude_at (pcm, frames, hz) > 0.1
         && amplitude_at (pcm, frames, other_hz) < 0.02;
}

/* ---- callers ------------------------------------------------------------- */

/* A caller that dies with the test. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* gst-launch-1.0 sending @chain's audio (it ends in an encoder), in
 * MPEG-TS over SRT to the server with @stream_id; @extra: more branches. */
static GSubprocess *
publish (Fixture *f, const char *chain, const char *extra, const char *stream_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autofree char *line = g_strdup_printf (
    "gst-launch-1.0 -q -e %s ! mpegtsmux ! srtsink uri=\"srt://127.0.0.1:%u?streamid=%s\" %s",
    chain, f->srt_port, stream_id, extra != NULL ? extra : "");
  g_auto (GStrv) argv = NULL;
  GSubprocess *process;

  g_test_message ("publisher: %s", line);
  g_assert_true (g_shell_parse_argv (line, NULL, &argv, &error));
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv, &error);
  g_assert_no_error (error);
  return process;
}

#define AAC_TONE "audiotestsrc is-live=true freq=660 ! audioconvert ! avenc_aac ! aacparse"
#define OPUS_TONE "audiotestsrc is-live=true freq=660 ! audioconvert ! opusenc"
/* The tone with a 100 ms tick of 1320 Hz every 500 ms, mixed before AAC. */
#define AAC_TICKS                                                                                \
  "audiotestsrc is-live=true freq=660 volume=0.3 ! audiomixer name=mix ! audioconvert "           \
  "! avenc_aac ! aacparse"
#define TICKS_BRANCH                                                                             \
  "audiotestsrc is-live=true wave=ticks freq=1320 sine-periods-per-tick=132 "                     \
  "tick-interval=500000000 volume=0.5 ! mix."
#define MP3_TONE "audiotestsrc is-live=true freq=660 ! audioconvert ! lamemp3enc ! mpegaudioparse"
#define VIDEO_ONLY                                                                               \
  "videotestsrc is-live=true ! video/x-raw,width=64,height=64,framerate=10/1 "                   \
  "! x264enc tune=zerolatency speed-preset=ultrafast"

static char *
stream_id (Fixture *f, const char *key)
{
  return g_strdup_printf ("%s/%s", f->live.room_id, key);
}

/* Waits for @process to exit; its status, or -1 when it did not in time. */
static int
wait_exit (GSubprocess *process, guint timeout_ms)
{
  if (!RC_WAIT_UNTIL (g_subprocess_get_identifier (process) == NULL, timeout_ms))
    return -1;
  g_subprocess_wait (process, NULL, NULL);
  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -2;
}

static void
stop_publisher (GSubprocess *process, int sig)
{
  if (g_subprocess_get_identifier (process) != NULL)
    g_subprocess_send_signal (process, sig);
  g_subprocess_wait (process, NULL, NULL);
}

/* A libsrt caller: 0 and the connected socket, or the server's rejection
 * reason (srt_getrejectreason). */
static int
srt_call (Fixture *f, const char *id, SRTSOCKET *out)
{
  SRTSOCKET sock = srt_create_socket ();
  struct sockaddr_in sa = { 0 };
  int reason;

  g_assert_cmpint (sock, !=, SRT_INVALID_SOCK);
  sa.sin_family = AF_INET;
  sa.sin_port = htons ((guint16) f->srt_port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (srt_setsockflag (sock, SRTO_STREAMID, id, (int) strlen (id)), !=, SRT_ERROR);
  if (srt_connect (sock, (struct sockaddr *) &sa, sizeof sa) != SRT_ERROR)
    {
      if (out != NULL)
        *out = sock;
      else
        srt_close (sock);
      return 0;
    }
  reason = srt_getrejectreason (sock);
  g_test_message ("caller \"%s\" refused: %d (%s)", id, reason, srt_rejectreason_str (reason));
  srt_close (sock);
  return reason;
}

static gboolean
is_over (SRTSOCKET sock)
{
  return srt_getsockstate (sock) >= SRTS_BROKEN;
}

/* Sends random bytes every 10 ms while it stays connected. */
static gboolean
send_garbage (gpointer data)
{
  SRTSOCKET sock = GPOINTER_TO_INT (data);
  char bytes[1316];

  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = (char) g_random_int_range (0, 256);
  /* Once the server has closed it, sending fails: nothing more to do. */
  srt_sendmsg (sock, bytes, sizeof bytes, -1, 0);
  return G_SOURCE_CONTINUE;
}

/* A caller whose MPEG-TS comes from a pipeline in this process (to see
 * its own connection accepted, then ended). */
typedef struct
{
  GstElement *pipeline;
  SRTSOCKET sock;
} TsCaller;

static GstFlowReturn
on_ts (GstElement *sink, gpointer data)
{
  TsCaller *caller = data;
  g_autoptr (GstSample) sample = NULL;
  GstMapInfo map;

  g_signal_emit_by_name (sink, "pull-sample", &sample);
  if (sample == NULL || !gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ))
    return GST_FLOW_OK;
  for (gsize at = 0; at < map.size; at += 1316)
    srt_sendmsg (caller->sock, (const char *) map.data + at, (int) MIN (1316, map.size - at), -1,
                 0);
  gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
  return GST_FLOW_OK;
}

/* Connects with @id (the server must let it in) and sends @chain's TS. */
static TsCaller *
ts_caller_new (Fixture *f, const char *chain, const char *id)
{
  TsCaller *caller = g_new0 (TsCaller, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_strdup_printf (
    "%s ! mpegtsmux alignment=7 ! appsink name=out emit-signals=true sync=false", chain);
  g_autoptr (GstElement) out = NULL;

  g_assert_cmpint (srt_call (f, id, &caller->sock), ==, 0);
  caller->pipeline = gst_parse_launch (line, &error);
  g_assert_no_error (error);
  out = gst_bin_get_by_name (GST_BIN (caller->pipeline), "out");
  g_signal_connect (out, "new-sample", G_CALLBACK (on_ts), caller);
  gst_element_set_state (caller->pipeline, GST_STATE_PLAYING);
  return caller;
}

static void
ts_caller_free (TsCaller *caller)
{
  gst_element_set_state (caller->pipeline, GST_STATE_NULL);
  gst_object_unref (caller->pipeline);
  srt_close (caller->sock);
  g_free (caller);
}

/* ---- the host's timing ---------------------------------------------------- */

/* Onsets of the host's ticks as the guest hears them. */
typedef struct
{
  guint64 scanned;   /* frames already scanned */
  gboolean in_tick;
  guint64 last_onset; /* frame of the latest onset */
  guint glitches;    /* onsets inside a tick (a dropout in it) */
  GArray *heard_us;  /* gint64: when each onset reached the guest */
  guint windows;     /* 200 ms windows checked for the tone */
  guint tone_windows;
  gint64 next_window_us;
} Ticks;

#define BLOCK 240 /* 5 ms */

static void
scan_ticks (RcNativeGuest *guest, Ticks *t)
{
  RcNativeGuestStats before = { 0 }, after = { 0 };
  gsize n = 0;
  g_autofree gint16 *pcm = NULL;
  gint64 now;
  guint64 first;

  rc_native_guest_get_stats (guest, &before);
  pcm = rc_native_guest_get_recent_pcm (guest, 400, &n);
  rc_native_guest_get_stats (guest, &after);
  now = g_get_monotonic_time ();
  if (before.frames != after.frames || n < BLOCK || after.frames < n)
    return; /* audio arrived between the calls: next time */
  first = after.frames - n;
  /* From the newest audio on: older audio's arrival time is a guess. */
  if (t->scanned == 0)
    t->scanned = after.frames / BLOCK * BLOCK;
  if (t->scanned < first)
    t->scanned = (first + BLOCK - 1) / BLOCK * BLOCK;
  for (; t->scanned + BLOCK <= after.frames; t->scanned += BLOCK)
    {
      double level = amplitude_at (pcm + 2 * (t->scanned - first), BLOCK, TICK_HZ);

      if (!t->in_tick && level > 0.12)
        {
          gint64 at = now - (gint64) ((after.frames - t->scanned) * G_USEC_PER_SEC / RATE);

          t->in_tick = TRUE;
          /* A tick lasts 100 ms and the next is 500 ms later: an onset
           * soon after another is a dropout inside a tick. */
          if (t->heard_us->len > 0 && t->scanned - t->last_onset < RATE / 4)
            t->glitches++;
          else
            {
              g_array_append_val (t->heard_us, at);
              t->last_onset = t->scanned;
            }
        }
      else if (t->in_tick && level < 0.04)
        t->in_tick = FALSE;
    }
  if (now >= t->next_window_us)
    {
      gsize frames = MIN (n, (gsize) RATE / 5);

      t->next_window_us = now + 200000;
      t->windows++;
      if (amplitude_at (pcm + 2 * (n - frames), frames, HOST_HZ) > 0.08)
        t->tone_windows++;
    }
}

static double
minimum (const double *values, guint n)
{
  double m = G_MAXDOUBLE;

  for (guint i = 0; i < n; i++)
    m = MIN (m, values[i]);
  return m;
}

/* For @seconds: the host's tone in every window (a few may be off on a
 * loaded machine), and its ticks reach the guest every TICK_INTERVAL_MS
 * with no growing delay: each tick's arrival, less its place in the
 * sequence, is where the first ticks were. An arrival is only ever seen
 * late (a late poll, a late packet), so each third of the run is judged
 * by its earliest. */
static void
check_timing (RcNativeGuest *guest, guint seconds)
{
  /* A tick already under way when listening starts is not an onset. */
  Ticks t = { .heard_us = g_array_new (FALSE, FALSE, sizeof (gint64)), .in_tick = TRUE };
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  g_autofree double *residual = NULL;
  double early, late, spread_min = G_MAXDOUBLE, spread_max = -G_MAXDOUBLE;
  guint n, expected = seconds * 1000 / TICK_INTERVAL_MS;
  gint64 first;

  while (g_get_monotonic_time () < end)
    {
      rc_test_iterate (5);
      scan_ticks (guest, &t);
    }
  n = t.heard_us->len;
  g_test_message ("%u ticks heard in %u s (%u expected, %u dropouts inside one); tone in %u of "
                  "%u windows",
                  n, seconds, expected, t.glitches, t.tone_windows, t.windows);
  g_assert_cmpuint (t.tone_windows, >=, t.windows * 9 / 10);
  g_assert_cmpuint (n, >=, expected - 1);
  g_assert_cmpuint (n, <=, expected + 1);
  first = g_array_index (t.heard_us, gint64, 0);
  residual = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      double since = (g_array_index (t.heard_us, gint64, i) - first) / 1000.0;
      double k = round (since / TICK_INTERVAL_MS);

      residual[i] = since - k * TICK_INTERVAL_MS;
      spread_min = MIN (spread_min, residual[i]);
      spread_max = MAX (spread_max, residual[i]);
    }
  early = minimum (residual, n / 3);
  late = minimum (residual + n - n / 3, n / 3);
  g_test_message ("tick arrival vs. the first: first third %+.1f ms, last third %+.1f ms "
                  "(all within %+.1f..%+.1f ms)",
                  early, late, spread_min, spread_max);
  g_assert_cmpfloat (fabs (late - early), <, 20);
  g_array_unref (t.heard_us);
}

/* ---- tests ----------------------------------------------------------------- */

static void
test_stream_id (void)
{
  struct
  {
    const char *text;
    int reason;
    const char *room, *key;
  } cases[] = {
    { "Room1/rk_abc-_DEF", 0, "Room1", "rk_abc-_DEF" },
    { "#!::r=Room1,s=rk_abc", 0, "Room1", "rk_abc" },
    { "#!::s=rk_abc,r=Room1,m=publish,u=obs,t=stream", 0, "Room1", "rk_abc" },
    { "#!::r=Room1,s=rk_abc,m=request", RC_SRT_REJECT_BAD_MODE, NULL, NULL },
    { "#!::r=Room1,s=rk_abc,m=bidirectional", RC_SRT_REJECT_BAD_MODE, NULL, NULL },
    { "#!::r=Room1", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "#!::r=Room1,r=Room2,s=k", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "#!::r=Room1,s=k,oops", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "#!:{r=Room1,s=k}", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "Room1", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "Room1/", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "/rk_abc", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "Room-1/rk_abc", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "Room1/rk/abc", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "Room1/rk abc", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
    { "Room1/rk\xc3\xa9", RC_SRT_REJECT_BAD_REQUEST, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *room = NULL, *key = NULL;
      int reason = rc_srt_parse_stream_id (cases[i].text, &room, &key);

      g_test_message ("\"%s\" -> %d", cases[i].text, reason);
      g_assert_cmpint (reason, ==, cases[i].reason);
      g_assert_cmpstr (room, ==, cases[i].room);
      g_assert_cmpstr (key, ==, cases[i].key);
    }
  {
    g_autofree char *room = NULL, *key = NULL;
    g_autofree char *long_key = g_strnfill (600, 'k');
    g_autofree char *text = g_strdup_printf ("Room1/%s", long_key);

    g_assert_cmpint (rc_srt_parse_stream_id (text, &room, &key), ==, RC_SRT_REJECT_BAD_REQUEST);
    g_assert_cmpint (rc_srt_parse_stream_id (NULL, &room, &key), ==, RC_SRT_REJECT_BAD_REQUEST);
  }
}

/* OBS's way (AAC in MPEG-TS) with takeover: the song gives way to the
 * host, whose tone plays on with its ticks on time for 12 s; the host is
 * killed and the song is back within 3 s. Then Opus in MPEG-TS, which
 * stops cleanly. */
static void
test_aac_and_opus (Fixture *f, gconstpointer data)
{
  g_autofree char *key = rc_test_live_room_make_key (&f->live, NULL, NULL, NULL);
  g_autofree char *id = stream_id (f, key);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (GSubprocess) host = NULL;
  gint64 killed_us, back_us, started_us;

  rc_test_live_room_play_song (&f->live);
  guest = rc_test_live_room_listen (&f->live);
  g_assert_true (comes_to_hear (guest, SONG_HZ, 5000));

  started_us = g_get_monotonic_time ();
  host = publish (f, AAC_TICKS, TICKS_BRANCH, id);
  back_us = rc_test_live_room_expect_change (&f->live, "Host is live", FALSE, 10000);
  g_test_message ("on air %.2f s after the caller started",
                  (back_us - started_us) / (double) G_USEC_PER_SEC);
  g_assert_true (RC_WAIT_UNTIL (hears_in_mix (guest, HOST_HZ, SONG_HZ), 5000));
  check_timing (guest, 12);

  /* The guests' figures are SRT's own. */
  {
    g_autoptr (JsonObject) stats = rc_test_live_room_broadcast_stats (&f->live, TRUE);
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", f->live.room_id);
    g_autoptr (JsonNode) rest = NULL;
    guint status = 0;

    g_test_message ("broadcastStats: packets %" G_GINT64_FORMAT ", bitrate %" G_GINT64_FORMAT
                    ", lost %" G_GINT64_FORMAT ", rtt %.2f ms, delay %.1f ms",
                    json_object_get_int_member (stats, "packets"),
                    json_object_get_int_member (stats, "bitrate"),
                    json_object_get_int_member (stats, "lost"),
                    json_object_get_double_member (stats, "rttMs"),
                    json_object_get_double_member (stats, "delayMs"));
    g_assert_cmpstr (rc_test_str (stats, "protocol"), ==, "srt");
    g_assert_cmpint (json_object_get_int_member (stats, "packets"), >, 500);
    g_assert_cmpint (json_object_get_int_member (stats, "bitrate"), >, 64000);
    g_assert_cmpint (json_object_get_int_member (stats, "bitrate"), <, 1000000);
    g_assert_cmpint (json_object_get_int_member (stats, "lost"), >=, 0);
    g_assert_cmpfloat (json_object_get_double_member (stats, "rttMs"), >=, 0);
    /* SRT's 120 ms, the wait at the mixer, half the round trip. */
    g_assert_cmpfloat (json_object_get_double_member (stats, "delayMs"), >=, 120 + 40);
    g_assert_cmpfloat (json_object_get_double_member (stats, "delayMs"), <, 400);
    rest = rc_test_http (f->live.server, "GET", path, NULL, NULL, &status);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpstr (rc_test_str (json_object_get_object_member (json_node_get_object (rest),
                                                                 "broadcast"),
                                  "protocol"),
                     ==, "srt");
  }

  /* Killed: no goodbye, the connection just stops. */
  g_subprocess_send_signal (host, SIGKILL);
  killed_us = g_get_monotonic_time ();
  back_us = rc_test_live_room_expect_change (&f->live, "Host has left", TRUE, 6000);
  g_test_message ("the room noticed the host was gone after %.2f s",
                  (back_us - killed_us) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (back_us - killed_us, <, 3 * G_USEC_PER_SEC);
  g_assert_true (comes_to_hear (guest, SONG_HZ, 3000));
  g_assert_true (rc_test_guest_keeps_hearing (guest, SONG_HZ, HOST_HZ));
  g_subprocess_wait (host, NULL, NULL);
  g_clear_object (&host);

  /* Opus in MPEG-TS; the host stops (EOS, the socket closed). */
  host = publish (f, OPUS_TONE, NULL, id);
  rc_test_live_room_expect_change (&f->live, "Host is live", FALSE, 10000);
  g_assert_true (comes_to_hear (guest, HOST_HZ, 5000));
  g_assert_true (rc_test_guest_keeps_hearing (guest, HOST_HZ, SONG_HZ));
  stop_publisher (host, SIGINT);
  rc_test_live_room_expect_change (&f->live, "Host has left", TRUE, 3000);
  g_assert_true (comes_to_hear (guest, SONG_HZ, 3000));
  g_assert_null (rc_native_guest_get_failure (guest));
}

/* Refused in the handshake, with the reason: a wrong key (libsrt and
 * srtsink alike), no such room, an unreadable stream id, another mode, a
 * second host in the room, more hosts than --max-publishers. Garbage, a
 * TS without audio and a caller that sends nothing are ended (and their
 * rooms free again), while the room's host plays on for its guest. */
static void
test_refusals_and_garbage (Fixture *f, gconstpointer data)
{
  g_autofree char *key_id = NULL;
  g_autofree char *key = rc_test_live_room_make_key (&f->live, NULL, NULL, &key_id);
  g_autofree char *second = rc_test_live_room_make_key (&f->live, NULL, NULL, NULL);
  g_autofree char *revoke = g_strdup_printf ("/api/rooms/%s/keys/%s", f->live.room_id, key_id);
  g_autofree char *id = stream_id (f, key);
  g_autofree char *wrong = g_strdup_printf ("%s/rk_not-a-key", f->live.room_id);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (GSubprocess) host = NULL;
  g_autoptr (GSubprocess) refused = NULL;
  g_autoptr (JsonNode) revoked = NULL;
  guint status = 0;
  JsonObject *rooms[3];
  char *keys[3];
  SRTSOCKET garbage = SRT_INVALID_SOCK, silent = SRT_INVALID_SOCK, again = SRT_INVALID_SOCK;
  gint64 connected_us;
  guint source;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("Room %u", i);

      rooms[i] = rc_test_create_room (f->live.server, name, NULL);
      keys[i] = rc_test_live_room_make_key (&f->live, rc_test_str (rooms[i], "id"), rc_test_str (rooms[i], "ownerToken"),
                          NULL);
    }
  rc_test_live_room_play_song (&f->live);
  guest = rc_test_live_room_listen (&f->live);
  g_assert_true (comes_to_hear (guest, SONG_HZ, 5000));

  /* Nobody gets in with a wrong key: srtsink fails, libsrt reads why. */
  refused = publish (f, AAC_TONE, NULL, wrong);
  g_assert_cmpint (wait_exit (refused, 10000), >, 0);
  g_assert_cmpint (srt_call (f, wrong, NULL), ==, SRT_REJX_UNAUTHORIZED);
  {
    g_autofree char *other = g_strdup_printf ("%s/%s", rc_test_str (rooms[0], "id"), key);
    g_autofree char *none = g_strdup_printf ("NoSuchRoom/%s", key);
    g_autofree char *mode = g_strdup_printf ("#!::r=%s,s=%s,m=request", f->live.room_id, key);

    g_assert_cmpint (srt_call (f, other, NULL), ==, SRT_REJX_UNAUTHORIZED);
    g_assert_cmpint (srt_call (f, none, NULL), ==, SRT_REJX_NOTFOUND);
    g_assert_cmpint (srt_call (f, "hello", NULL), ==, SRT_REJX_BAD_REQUEST);
    g_assert_cmpint (srt_call (f, mode, NULL), ==, SRT_REJX_BAD_MODE);
  }
  g_assert_true (rc_test_guest_keeps_hearing (guest, SONG_HZ, HOST_HZ));

  /* The host is on; a second one in the room is refused. */
  host = publish (f, AAC_TONE, NULL, id);
  rc_test_live_room_expect_change (&f->live, "Host is live", FALSE, 10000);
  g_assert_true (comes_to_hear (guest, HOST_HZ, 5000));
  {
    g_autofree char *other = g_strdup_printf ("#!::r=%s,s=%s,m=publish", f->live.room_id, second);

    g_assert_cmpint (srt_call (f, other, NULL), ==, SRT_REJX_CONFLICT);
  }

  /* Two more rooms' callers fill --max-publishers 3: one sends garbage,
   * one nothing. A fourth room's is refused. */
  {
    g_autofree char *a = g_strdup_printf ("#!::r=%s,s=%s", rc_test_str (rooms[0], "id"), keys[0]);
    g_autofree char *b = g_strdup_printf ("%s/%s", rc_test_str (rooms[1], "id"), keys[1]);
    g_autofree char *c = g_strdup_printf ("%s/%s", rc_test_str (rooms[2], "id"), keys[2]);

    g_assert_cmpint (srt_call (f, a, &garbage), ==, 0);
    source = g_timeout_add (10, send_garbage, GINT_TO_POINTER (garbage));
    g_assert_cmpint (srt_call (f, b, &silent), ==, 0);
    connected_us = g_get_monotonic_time ();
    g_assert_cmpint (srt_call (f, c, NULL), ==, SRT_REJX_OVERLOAD);

    /* Nothing for 2 s ends the silent one; the garbage goes after 5 s
     * without audio. The room's host was heard all along. */
    g_assert_true (RC_WAIT_UNTIL (is_over (silent), 5000));
    g_test_message ("the silent caller was dropped after %.2f s",
                    (g_get_monotonic_time () - connected_us) / (double) G_USEC_PER_SEC);
    g_assert_cmpint (g_get_monotonic_time () - connected_us, >, 1500000);
    g_assert_true (rc_test_guest_keeps_hearing (guest, HOST_HZ, SONG_HZ));
    g_assert_true (RC_WAIT_UNTIL (is_over (garbage), 8000));
    g_test_message ("the garbage was dropped after %.2f s",
                    (g_get_monotonic_time () - connected_us) / (double) G_USEC_PER_SEC);
    g_source_remove (source);
    srt_close (garbage);
    srt_close (silent);

    /* Their rooms are free again. A TS with only video, and one with MP3
     * audio, are ended as soon as their streams are known. */
    g_assert_cmpint (srt_call (f, b, &again), ==, 0);
    srt_close (again);
    {
      TsCaller *video = ts_caller_new (f, VIDEO_ONLY, c);
      TsCaller *mp3 = ts_caller_new (f, MP3_TONE, a);

      connected_us = g_get_monotonic_time ();
      g_assert_true (RC_WAIT_UNTIL (is_over (video->sock) && is_over (mp3->sock), 4000));
      g_test_message ("video only and MP3 were dropped within %.2f s",
                      (g_get_monotonic_time () - connected_us) / (double) G_USEC_PER_SEC);
      ts_caller_free (video);
      ts_caller_free (mp3);
    }
  }
  g_assert_true (rc_test_guest_keeps_hearing (guest, HOST_HZ, SONG_HZ));

  /* The owner revokes the host's key: it is cut off (and refused when it
   * calls again, as srtsink does), the song is back. */
  revoked = rc_test_http (f->live.server, "DELETE", revoke, NULL, f->live.owner_token, &status);
  g_assert_cmpuint (status, ==, 200);
  rc_test_live_room_expect_change (&f->live, "Host has left", TRUE, 3000);
  g_assert_cmpint (srt_call (f, id, NULL), ==, SRT_REJX_UNAUTHORIZED);
  stop_publisher (host, SIGKILL);
  g_assert_true (comes_to_hear (guest, SONG_HZ, 3000));
  g_assert_null (rc_native_guest_get_failure (guest));

  /* The server stops cleanly with a host live. */
  g_clear_object (&host);
  {
    g_autofree char *other = stream_id (f, second);

    host = publish (f, OPUS_TONE, NULL, other);
  }
  rc_test_live_room_expect_change (&f->live, "Host is live", FALSE, 10000);
  g_assert_cmpint (rc_test_server_stop (f->live.server), ==, 0);
  stop_publisher (host, SIGKILL);
  for (guint i = 0; i < 3; i++)
    {
      json_object_unref (rooms[i]);
      g_free (keys[i]);
    }
}

/* A --srt-port already in use keeps the server from starting, saying so. */
static void
test_port_in_use (void)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *port = NULL;
  g_autofree char *output = NULL;
  const char *args[] = { "--host", "127.0.0.1", "--port", "0", "--srt-port", NULL, NULL };

  g_assert_true (g_socket_bind (socket, addr, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  port = g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  args[5] = port;
  g_assert_cmpint (rc_test_run_roomcast (args, NULL, &output), ==, 1);
  g_assert_nonnull (strstr (output, "--srt-port"));
  g_assert_nonnull (strstr (output, port));
}

int
main (int argc, char **argv)
{
  int status;

  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  srt_startup ();
  srt_setloglevel (LOG_CRIT);
  g_test_add_func ("/srt/stream-id", test_stream_id);
  g_test_add_func ("/srt/port-in-use", test_port_in_use);
  g_test_add ("/srt/aac-and-opus", Fixture, NULL, fixture_setup, test_aac_and_opus,
              fixture_teardown);
  g_test_add ("/srt/refusals-and-garbage", Fixture, NULL, fixture_setup,
              test_refusals_and_garbage, fixture_teardown);
  status = g_test_run ();
  srt_cleanup ();
  return status;
}

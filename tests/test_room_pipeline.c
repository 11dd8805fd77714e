/* SPDX-License-Identifier: MIT */
/*
 * The room pipeline heard from a branch on its RTP tee: the Opus is decoded
 * back to PCM and the test checks what a guest would hear (a track's pitch,
 * silence after stop, the position after a seek) and that the RTP stream
 * itself never breaks while tracks change or other branches leave.
 *
 * Talk-over is heard the same way: the track and a host's input play tones
 * of different pitches, and the level of each pitch in what the room sends
 * is read with a Goertzel filter, in 100 ms blocks found from the host's
 * tone itself (so a busy machine, which delays what the test hears but not
 * the room's timeline, cannot shift the windows).
 */
#include "pipelines/rc_room_pipeline.h"
#include "pipelines/rc_stats.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_util.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

/* One listening branch's ear plus what the room told it. */
typedef struct
{
  RcTestEar *ear;
  guint ended;
  guint failed;
} Ear;

static char *tmpdir;

/* A Vorbis tone file in the temp dir; returns its file:// URI. */
static char *
make_tone (const char *name, int freq, double seconds)
{
  g_autofree char *path = g_build_filename (tmpdir, name, NULL);

  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, freq, (guint) (seconds * 1000), NULL, NULL,
                       NULL, NULL);
  return gst_filename_to_uri (path, NULL);
}

/* Decodes the room's RTP back to PCM for @ear. */
static GstElement *
listening_branch (Ear *ear)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description ("queue ! " RC_TEST_EAR_DECODER, TRUE, &error);
  g_autoptr (GstElement) sink = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  g_signal_connect (sink, "new-sample", G_CALLBACK (rc_test_ear_on_sample), ear->ear);
  return bin;
}

/* Only records the room's RTP packets for @ear. */
static GstElement *
rtp_branch (Ear *ear)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description ("queue ! fakesink name=sink sync=false",
                                                    TRUE, &error);
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstPad) pad = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  rc_test_ear_watch_rtp (ear->ear, pad);
  return bin;
}

static guint
pcm_len (Ear *ear)
{
  return rc_test_ear_pcm_len (ear->ear);
}

static gboolean
hears (Ear *ear, double want_hz)
{
  return rc_test_ear_hears (ear->ear, want_hz);
}

static gboolean
hears_silence (Ear *ear)
{
  return rc_test_ear_hears_silence (ear->ear);
}

static void
on_ended (RcRoomPipeline *p, gpointer data)
{
  ((Ear *) data)->ended++;
}

static void
on_failed (RcRoomPipeline *p, const GError *error, gpointer data)
{
  ((Ear *) data)->failed++;
}

static const RcRoomPipelineCallbacks callbacks = { on_ended, on_failed, NULL };

static Ear *
ear_new (void)
{
  Ear *ear = g_new0 (Ear, 1);

  ear->ear = rc_test_ear_new ();
  return ear;
}

static void
ear_free (Ear *ear)
{
  rc_test_ear_free (ear->ear);
  g_free (ear);
}

static void
test_tracks_pitch_silence_and_continuity (void)
{
  g_autofree char *a = make_tone ("a440.ogg", 440, 6);
  g_autofree char *b = make_tone ("b660.ogg", 660, 6);
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t1", &callbacks, ear, &error);
  guint before;
  gint64 t0;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));
  /* Silence first: the timeline runs without a track. */
  g_assert_true (RC_WAIT_UNTIL (hears_silence (ear), 3000));

  rc_room_pipeline_play (p, a, 0);
  g_assert_true (RC_WAIT_UNTIL (hears (ear, 440), 3000));
  rc_room_pipeline_play (p, b, 0); /* a skip */
  g_assert_true (RC_WAIT_UNTIL (hears (ear, 660), 3000));
  rc_room_pipeline_stop_track (p); /* a pause */
  g_assert_true (RC_WAIT_UNTIL (hears_silence (ear), 2000));
  g_assert_cmpint (rc_room_pipeline_get_position_ms (p), ==, -1);

  /* The timeline never stopped: samples keep coming at the real rate
   * through a burst of track changes. */
  before = pcm_len (ear);
  t0 = g_get_monotonic_time ();
  for (int i = 0; i < 4; i++)
    {
      rc_room_pipeline_play (p, i % 2 ? a : b, 1000 * i);
      rc_test_run_for (400);
    }
  rc_room_pipeline_stop_track (p);
  rc_test_run_for (400);
  {
    double seconds = (g_get_monotonic_time () - t0) / 1e6;
    double got = (pcm_len (ear) - before) / 48000.0;
    g_assert_cmpfloat (fabs (got - seconds), <, 0.15);
  }
  g_assert_cmpuint (ear->failed, ==, 0);
  rc_room_pipeline_free (p);
  ear_free (ear);
}

/* Every format the library plays decodes in a track (a local file goes
 * through parsebin and a decoder of its own choosing, not decodebin), from
 * its start and after a seek. */
static void
test_every_format (void)
{
  static const struct
  {
    const char *name;
    RcTestMusicFormat format;
    int freq;
  } formats[] = {
    { "f.ogg", RC_TEST_MUSIC_VORBIS, 330 }, { "f.opus", RC_TEST_MUSIC_OPUS, 440 },
    { "f.mp3", RC_TEST_MUSIC_MP3, 550 },    { "f.flac", RC_TEST_MUSIC_FLAC, 660 },
    { "f.wav", RC_TEST_MUSIC_WAV, 770 },    { "f.m4a", RC_TEST_MUSIC_AAC, 880 },
  };
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("formats", &callbacks, ear, &error);

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));
  g_assert_true (RC_WAIT_UNTIL (hears_silence (ear), 3000));
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *path = g_build_filename (tmpdir, formats[i].name, NULL);
      g_autofree char *uri = gst_filename_to_uri (path, NULL);

      rc_test_music_write (path, formats[i].format, formats[i].freq, 4000, NULL, NULL, NULL,
                           NULL);

      g_test_message ("%s", formats[i].name);
      rc_room_pipeline_play (p, uri, 0);
      g_assert_true (RC_WAIT_UNTIL (hears (ear, formats[i].freq), 3000));
      rc_room_pipeline_play (p, uri, 2000); /* a seek */
      rc_test_run_for (300);
      g_assert_true (RC_WAIT_UNTIL (hears (ear, formats[i].freq), 3000));
      g_assert_cmpint (rc_room_pipeline_get_position_ms (p), >=, 2000);
      rc_room_pipeline_stop_track (p);
      g_assert_true (RC_WAIT_UNTIL (hears_silence (ear), 2000));
    }
  g_assert_cmpuint (ear->failed, ==, 0);
  rc_room_pipeline_free (p);
  ear_free (ear);
}

static void
test_seek_position_and_end (void)
{
  g_autofree char *a = make_tone ("a440-long.ogg", 440, 8);
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t2", &callbacks, ear, &error);
  gint64 asked, started, pos, later;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));
  asked = g_get_monotonic_time ();
  rc_room_pipeline_play (p, a, 5000);
  g_assert_true (RC_WAIT_UNTIL (hears (ear, 440), 3000));
  /* It starts at 5 s, and is no further on than the time since it was
   * asked for (the ear needs 200 ms of tone, more on a busy machine, so
   * the bound is that time, not a fixed one). */
  started = g_get_monotonic_time ();
  pos = rc_room_pipeline_get_position_ms (p);
  g_assert_cmpint (pos, >=, 5000);
  g_assert_cmpint (pos, <=, 5000 + (started - asked) / 1000 + 100);
  /* It moves with the clock. */
  rc_test_run_for (1000);
  later = rc_room_pipeline_get_position_ms (p);
  g_assert_cmpint (ABS ((later - pos) - (g_get_monotonic_time () - started) / 1000), <, 150);
  /* Under three seconds were left: the end comes then (with room for a
   * busy machine's late EOS), not five seconds later at eight. */
  g_assert_true (RC_WAIT_UNTIL (ear->ended == 1, 5000));
  g_assert_cmpint (g_get_monotonic_time () - started, <, (8000 - pos + 1500) * G_TIME_SPAN_MILLISECOND);
  g_assert_false (rc_room_pipeline_has_track (p));
  g_assert_true (RC_WAIT_UNTIL (hears_silence (ear), 2000));
  rc_room_pipeline_free (p);
  ear_free (ear);
}

static void
test_bad_track_skips_and_room_lives (void)
{
  g_autofree char *a = make_tone ("a440-short.ogg", 440, 4);
  g_autofree char *junk_path = g_build_filename (tmpdir, "junk.mp3", NULL);
  g_autofree char *junk = NULL;
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t3", &callbacks, ear, &error);
  guint before;

  g_assert_no_error (error);
  g_file_set_contents (junk_path, "\xff\xfb this is not an mp3 at all, sorry", -1, &error);
  g_assert_no_error (error);
  junk = gst_filename_to_uri (junk_path, NULL);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));

  /* Straight away, before anything was heard: a room's first command may be. */
  rc_room_pipeline_play (p, "file:///nonexistent/nothing.ogg", 0);
  g_assert_true (RC_WAIT_UNTIL (ear->failed == 1, 3000));
  rc_room_pipeline_play (p, junk, 0);
  g_assert_true (RC_WAIT_UNTIL (ear->failed == 2, 3000));
  /* The room still plays: output kept flowing and the next track is heard. */
  before = pcm_len (ear);
  rc_room_pipeline_play (p, a, 0);
  g_assert_true (RC_WAIT_UNTIL (hears (ear, 440), 3000));
  g_assert_cmpuint (pcm_len (ear) - before, >, 48 * 100);
  rc_room_pipeline_free (p);
  ear_free (ear);
}

static void
test_branch_leaving_leaves_no_gap (void)
{
  g_autofree char *a = make_tone ("a440-b.ogg", 440, 6);
  Ear *stay = ear_new (), *go = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t4", NULL, NULL, &error);
  GstElement *leaving;
  guint16 prev;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, rtp_branch (stay)));
  leaving = listening_branch (go);
  g_assert_true (rc_room_pipeline_add_branch (p, leaving));
  rc_room_pipeline_play (p, a, 0);
  g_assert_true (RC_WAIT_UNTIL (hears (go, 440), 3000));
  rc_room_pipeline_remove_branch (p, leaving);
  rc_test_run_for (1000);

  /* The staying branch got every packet, in order, across the removal. */
  g_mutex_lock (&stay->ear->lock);
  g_assert_cmpuint (stay->ear->seqs->len, >, 50);
  prev = g_array_index (stay->ear->seqs, guint16, 0);
  for (guint i = 1; i < stay->ear->seqs->len; i++)
    {
      guint16 s = g_array_index (stay->ear->seqs, guint16, i);
      g_assert_cmpuint ((guint16) (s - prev), ==, 1);
      prev = s;
    }
  g_mutex_unlock (&stay->ear->lock);
  rc_room_pipeline_free (p);
  ear_free (stay);
  ear_free (go);
}

/* ---- talk-over ------------------------------------------------------------ */

#define TRACK_HZ 440
#define NEXT_TRACK_HZ 660
#define HOST_HZ 1000
/* The host's tone, amplitude 0.15: with the track's 0.8 it never clips. */
#define HOST_VOLUME 0.15
/* 100 ms at 48 kHz: a whole number of periods of every tone here, so none
 * leaks into another's Goertzel bin. */
#define BLOCK 4800
/* A host's tone is there (its amplitude is -16.5 dB). */
#define HOST_HEARD_DB (-30.0)

/* A host's stream for the room: a live tone on the pipeline's clock, S16LE
 * 48 kHz stereo, silent until @tone's volume is raised. */
static GstElement *
host_input (GstElement **tone)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description (
    "audiotestsrc name=tone is-live=true freq=1000 volume=0 samplesperbuffer=480 "
    "! capsfilter caps=audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2",
    TRUE, &error);

  g_assert_no_error (error);
  *tone = gst_bin_get_by_name (GST_BIN (bin), "tone");
  return bin;
}

static void
host_talks (GstElement *tone, gboolean talking)
{
  g_object_set (tone, "volume", talking ? HOST_VOLUME : 0.0, NULL);
}

/* Amplitude of the @hz component of @x in dB (a full-scale sine is 0 dB),
 * by a Goertzel filter. */
static double
tone_db (const float *x, gsize n, double hz)
{
  double coeff = 2.0 * cos (2.0 * G_PI * hz / 48000.0);
  double s1 = 0, s2 = 0, power;

  for (gsize i = 0; i < n; i++)
    {
      double s0 = x[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
  power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 10.0 * log10 (MAX (power, 1e-20)) - 20.0 * log10 (n / 2.0);
}

/* The level of @hz in each whole block heard from sample @from on. */
static GArray *
block_levels (Ear *ear, guint from, double hz)
{
  GArray *levels = g_array_new (FALSE, FALSE, sizeof (double));

  g_mutex_lock (&ear->ear->lock);
  for (guint i = from; i + BLOCK <= ear->ear->pcm->len; i += BLOCK)
    {
      double db = tone_db (&g_array_index (ear->ear->pcm, float, i), BLOCK, hz);
      g_array_append_val (levels, db);
    }
  g_mutex_unlock (&ear->ear->lock);
  return levels;
}

/* The median of blocks [@first, @last] of @levels: a block the machine was
 * too busy to fill (a late track buffer left out of the mix) moves it not. */
static double
median (GArray *levels, int first, int last)
{
  g_autoptr (GArray) part = g_array_new (FALSE, FALSE, sizeof (double));

  g_assert_cmpint (first, >=, 0);
  g_assert_cmpint (last, <, (int) levels->len);
  g_assert_cmpint (first, <=, last);
  g_array_append_vals (part, &g_array_index (levels, double, first), last - first + 1);
  return rc_percentile (part, 0.5);
}

/* The level of @hz over the last half second heard. */
static double
recent_level (Ear *ear, double hz)
{
  guint len = pcm_len (ear);
  g_autoptr (GArray) levels = block_levels (ear, len - MIN (len, 5 * BLOCK), hz);

  return median (levels, 0, levels->len - 1);
}

typedef struct
{
  double before, during, after;      /* the track's level, dB */
  double gain_during, level_during;  /* the getters while the host talked */
  double gain_after;
} Burst;

/*
 * Heard from sample @from on: the track alone (a second at least), the host
 * talking for 1.5 s, then 2.2 s of the track alone again. The track's level
 * is taken before (0.8 s to 0.2 s before the host is heard), during (from
 * 0.4 s in to 0.2 s before the end, well after the attack) and after (1.2 s
 * to 1.6 s after the host stops, past the default hold and release).
 */
static void
burst (RcRoomPipeline *p, Ear *ear, GstElement *tone, guint from, Burst *b)
{
  g_autoptr (GArray) track = NULL;
  g_autoptr (GArray) host = NULL;
  int onset = -1, end = -1;

  host_talks (tone, TRUE);
  rc_test_run_for (1000);
  b->gain_during = rc_room_pipeline_get_duck_gain_db (p);
  b->level_during = rc_room_pipeline_get_input_level_db (p);
  rc_test_run_for (500);
  host_talks (tone, FALSE);
  rc_test_run_for (2200);
  b->gain_after = rc_room_pipeline_get_duck_gain_db (p);

  track = block_levels (ear, from, TRACK_HZ);
  host = block_levels (ear, from, HOST_HZ);
  for (guint i = 0; i < host->len; i++)
    if (g_array_index (host, double, i) > HOST_HEARD_DB)
      {
        if (onset < 0)
          onset = i;
        end = i;
      }
  g_test_message ("host heard in blocks %d..%d of %u", onset, end, host->len);
  g_assert_cmpint (onset, >=, 9);
  g_assert_cmpint (end - onset, >=, 12); /* 1.5 s, give or take the main loop's timing */
  b->before = median (track, onset - 8, onset - 2);
  b->during = median (track, onset + 4, end - 2);
  b->after = median (track, end + 12, end + 16);
  g_test_message ("track %.2f dB before, %.2f while the host talks, %.2f after; "
                  "gain %.2f dB, host %.2f dBFS",
                  b->before, b->during, b->after, b->gain_during, b->level_during);
}

static void
test_talkover_ducks_the_track (void)
{
  g_autofree char *a = make_tone ("duck440.ogg", TRACK_HZ, 20);
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t5", &callbacks, ear, &error);
  const RcDuckingParams ducking = RC_DUCKING_DEFAULT;
  g_autoptr (GstElement) tone = NULL;
  GstElement *input = gst_object_ref (host_input (&tone));
  /* A sine's RMS is 3 dB under its amplitude. */
  double host_dbfs = 20.0 * log10 (HOST_VOLUME) - 10.0 * log10 (2.0);
  Burst b;
  guint from;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));
  rc_room_pipeline_play (p, a, 0);
  g_assert_true (rc_room_pipeline_add_input (p, input, 20 * GST_MSECOND));
  /* Set before the input reaches the mixer, as a host's may be. */
  g_assert_false (rc_room_pipeline_input_is_linked (p, input));
  rc_room_pipeline_set_ducking (p, input, &ducking);
  g_assert_true (RC_WAIT_UNTIL (
    hears (ear, TRACK_HZ) && rc_room_pipeline_input_is_linked (p, input), 5000));
  from = pcm_len (ear);
  rc_test_run_for (1000);
  /* A silent host ducks nothing. */
  g_assert_cmpfloat (rc_room_pipeline_get_duck_gain_db (p), ==, 0.0);
  g_assert_cmpfloat (rc_room_pipeline_get_input_level_db (p), <, -90.0);

  /* The host talks: the track goes 12 dB down, and comes back after. */
  burst (p, ear, tone, from, &b);
  g_assert_cmpfloat (b.before, >, -6.0); /* the track was heard */
  g_assert_cmpfloat (b.during - b.before, >, -14.0);
  g_assert_cmpfloat (b.during - b.before, <, -10.0);
  g_assert_cmpfloat (fabs (b.after - b.before), <, 1.0);
  g_assert_cmpfloat (fabs (b.gain_during - ducking.duck_db), <, 0.5);
  g_assert_cmpfloat (fabs (b.level_during - host_dbfs), <, 1.5);
  g_assert_cmpfloat (b.gain_after, ==, 0.0);

  /* Ducking off: the host talks over the track, which stays as it was. */
  rc_room_pipeline_set_ducking (p, NULL, NULL);
  from = pcm_len (ear);
  rc_test_run_for (1000);
  burst (p, ear, tone, from, &b);
  g_assert_cmpfloat (b.before, >, -6.0);
  g_assert_cmpfloat (fabs (b.during - b.before), <, 1.0);
  g_assert_cmpfloat (fabs (b.after - b.before), <, 1.0);
  g_assert_cmpfloat (b.gain_during, ==, 0.0);
  g_assert_cmpfloat (b.level_during, <, -90.0);
  g_assert_cmpuint (ear->failed, ==, 0);

  rc_room_pipeline_free (p);
  gst_object_unref (input);
  ear_free (ear);
}

/* The gain getter stays at the duck for @ms; returns the highest it read. */
static double
highest_gain_for (RcRoomPipeline *p, guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;
  double highest = -G_MAXDOUBLE;

  while (g_get_monotonic_time () < deadline)
    {
      highest = MAX (highest, rc_room_pipeline_get_duck_gain_db (p));
      rc_test_iterate (10);
    }
  return highest;
}

static void
test_talkover_next_track_and_host_leaving (void)
{
  g_autofree char *a = make_tone ("duck440-b.ogg", TRACK_HZ, 20);
  g_autofree char *next = make_tone ("duck660.ogg", NEXT_TRACK_HZ, 20);
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t6", &callbacks, ear, &error);
  const RcDuckingParams ducking = RC_DUCKING_DEFAULT;
  g_autoptr (GstElement) tone = NULL;
  g_autoptr (GstElement) tone2 = NULL;
  GstElement *input = gst_object_ref (host_input (&tone));
  GstElement *input2;
  double full, ducked, back;
  guint change;
  g_autoptr (GArray) levels = NULL;
  int onset = -1;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));
  rc_room_pipeline_play (p, a, 0);
  g_assert_true (rc_room_pipeline_add_input (p, input, 20 * GST_MSECOND));
  g_assert_true (RC_WAIT_UNTIL (
    hears (ear, TRACK_HZ) && rc_room_pipeline_input_is_linked (p, input), 5000));
  rc_room_pipeline_set_ducking (p, input, &ducking);
  rc_test_run_for (600);
  full = recent_level (ear, TRACK_HZ);
  g_assert_cmpfloat (full, >, -6.0);

  /* The next song starts while the host talks: it comes in ducked, never
   * at full level for a moment. */
  host_talks (tone, TRUE);
  g_assert_true (RC_WAIT_UNTIL (rc_room_pipeline_get_duck_gain_db (p) < ducking.duck_db + 0.1,
                                3000));
  change = pcm_len (ear);
  rc_room_pipeline_play (p, next, 0);
  g_assert_cmpfloat (highest_gain_for (p, 1200), <, ducking.duck_db + 0.5);
  levels = block_levels (ear, change, NEXT_TRACK_HZ);
  for (guint i = 0; i < levels->len && onset < 0; i++)
    if (g_array_index (levels, double, i) > full - 30.0)
      onset = i;
  g_assert_cmpint (onset, >=, 0);
  g_assert_cmpint (onset + 2, <, (int) levels->len);
  g_test_message ("next track's first blocks: %.2f %.2f %.2f dB (full level %.2f)",
                  g_array_index (levels, double, onset), g_array_index (levels, double, onset + 1),
                  g_array_index (levels, double, onset + 2), full);
  for (int i = onset; i <= onset + 2; i++)
    g_assert_cmpfloat (g_array_index (levels, double, i), <, full - 10.5);
  ducked = recent_level (ear, NEXT_TRACK_HZ);
  g_test_message ("next track %.2f dB under the host", ducked);
  g_assert_cmpfloat (ducked - full, >, -14.0);
  g_assert_cmpfloat (ducked - full, <, -10.0);

  /* The host's input goes while it talks: ducking stops, the track comes
   * back up. */
  rc_room_pipeline_remove_input (p, input);
  g_assert_cmpfloat (rc_room_pipeline_get_input_level_db (p), <, -90.0);
  g_assert_true (RC_WAIT_UNTIL (rc_room_pipeline_get_duck_gain_db (p) == 0.0, 2000));
  rc_test_run_for (800);
  back = recent_level (ear, NEXT_TRACK_HZ);
  g_test_message ("next track %.2f dB once the host left", back);
  g_assert_cmpfloat (fabs (back - full), <, 1.0);
  g_assert_null (GST_OBJECT_PARENT (input));

  /* The room goes while a host talks over its ducked track. */
  input2 = host_input (&tone2);
  g_assert_true (rc_room_pipeline_add_input (p, input2, 20 * GST_MSECOND));
  rc_room_pipeline_set_ducking (p, input2, &ducking);
  host_talks (tone2, TRUE);
  g_assert_true (RC_WAIT_UNTIL (rc_room_pipeline_get_duck_gain_db (p) < ducking.duck_db + 0.1,
                                3000));
  g_assert_cmpuint (ear->failed, ==, 0);
  rc_room_pipeline_free (p);
  gst_object_unref (input);
  ear_free (ear);
}

/* A web server whose first request for the song never gets an answer (a
 * stalled origin, or a decoder that never starts): later requests get the
 * song. */
typedef struct
{
  char *body;
  gsize length;
  guint requests;
  GPtrArray *held; /* SoupServerMessage*, never answered */
} StallingServer;

static void
on_stalling_request (SoupServer *server, SoupServerMessage *msg, const char *path,
                     GHashTable *query, gpointer data)
{
  StallingServer *s = data;

  if (++s->requests == 1)
    {
      g_ptr_array_add (s->held, g_object_ref (msg));
      soup_server_message_pause (msg);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "audio/ogg", SOUP_MEMORY_COPY, s->body, s->length);
}

/* A track that gives no audio is started again by the room: the song is
 * heard, in place on the timeline, instead of silence until the next one. */
static void
test_stalled_track_starts_again (void)
{
  g_autofree char *a = make_tone ("a440-stall.ogg", 440, 20);
  g_autofree char *path = g_filename_from_uri (a, NULL, NULL);
  StallingServer s = { .held = g_ptr_array_new_with_free_func (g_object_unref) };
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  GSList *listeners;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  Ear *ear = ear_new ();
  RcRoomPipeline *p = rc_room_pipeline_new ("t-stall", &callbacks, ear, &error);
  gint64 started;

  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &s.body, &s.length, &error));
  soup_server_add_handler (server, "/song.ogg", on_stalling_request, &s, NULL);
  /* Not soup_server_listen_local: it leaks its listener's address (libsoup
   * 3.2.3, as test_url_cache says). */
  g_assert_true (soup_server_listen (server, address, 0, &error));
  g_assert_no_error (error);
  listeners = soup_server_get_listeners (server);
  local = g_socket_get_local_address (listeners->data, &error);
  g_slist_free (listeners);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u/song.ogg",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));

  started = g_get_monotonic_time ();
  rc_room_pipeline_play (p, url, 0);
  g_assert_true (RC_WAIT_UNTIL (hears (ear, 440), 10000));
  g_test_message ("heard after %.1f s, %u requests",
                  (g_get_monotonic_time () - started) / 1e6, s.requests);
  g_assert_cmpuint (s.held->len, ==, 1); /* the stalled one; the restart asked again */
  g_assert_cmpuint (s.requests, >=, 2);
  g_assert_cmpuint (ear->failed, ==, 0);
  rc_room_pipeline_free (p);
  ear_free (ear);
  for (guint i = 0; i < s.held->len; i++)
    soup_server_message_unpause (s.held->pdata[i]);
  soup_server_disconnect (server);
  g_ptr_array_unref (s.held);
  g_free (s.body);
}

int
main (int argc, char **argv)
{
  int status;

  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  tmpdir = g_dir_make_tmp ("roomcast-pipeline-XXXXXX", NULL);
  g_test_add_func ("/room-pipeline/tracks-pitch-silence-continuity",
                   test_tracks_pitch_silence_and_continuity);
  g_test_add_func ("/room-pipeline/seek-position-end", test_seek_position_and_end);
  g_test_add_func ("/room-pipeline/every-format", test_every_format);
  g_test_add_func ("/room-pipeline/bad-track", test_bad_track_skips_and_room_lives);
  g_test_add_func ("/room-pipeline/stalled-track-starts-again", test_stalled_track_starts_again);
  g_test_add_func ("/room-pipeline/branch-leaving", test_branch_leaving_leaves_no_gap);
  g_test_add_func ("/room-pipeline/talkover-ducks-the-track", test_talkover_ducks_the_track);
  g_test_add_func ("/room-pipeline/talkover-next-track-and-host-leaving",
                   test_talkover_next_track_and_host_leaving);
  status = g_test_run ();
  {
    g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name (dir)))
      {
        g_autofree char *f = g_build_filename (tmpdir, name, NULL);
        g_remove (f);
      }
    g_rmdir (tmpdir);
  }
  return status;
}

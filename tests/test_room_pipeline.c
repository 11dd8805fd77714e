/* SPDX-License-Identifier: MIT */
/*
 * The room pipeline heard from a branch on its RTP tee: the Opus is decoded
 * back to PCM and the test checks what a guest would hear (a track's pitch,
 * silence after stop, the position after a seek) and that the RTP stream
 * itself never breaks while tracks change or other branches leave.
 */
#include "rc_room_pipeline.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_util.h"

#include <glib/gstdio.h>
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

static void
test_seek_position_and_end (void)
{
  g_autofree char *a = make_tone ("a440-long.ogg", 440, 8);
  Ear *ear = ear_new ();
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *p = rc_room_pipeline_new ("t2", &callbacks, ear, &error);
  gint64 started, pos;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (p, listening_branch (ear)));
  rc_room_pipeline_play (p, a, 5000);
  g_assert_true (RC_WAIT_UNTIL (hears (ear, 440), 3000));
  started = g_get_monotonic_time ();
  pos = rc_room_pipeline_get_position_ms (p);
  g_assert_cmpint (pos, >=, 5000);
  g_assert_cmpint (pos, <, 5500);
  rc_test_run_for (1000);
  pos = rc_room_pipeline_get_position_ms (p);
  g_assert_cmpint (pos, >=, 5900);
  g_assert_cmpint (pos, <, 6600);
  /* Three seconds were left: the end comes then, not at eight. */
  g_assert_true (RC_WAIT_UNTIL (ear->ended == 1, 4000));
  g_assert_cmpint (g_get_monotonic_time () - started, <, 3 * G_USEC_PER_SEC);
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
  g_test_add_func ("/room-pipeline/bad-track", test_bad_track_skips_and_room_lives);
  g_test_add_func ("/room-pipeline/branch-leaving", test_branch_leaving_leaves_no_gap);
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

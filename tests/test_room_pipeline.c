/* SPDX-License-Identifier: MIT */
/*
 * The room pipeline heard from a branch on its RTP tee: the Opus is decoded
 * back to PCM and the test checks what a guest would hear (a track's pitch,
 * silence after stop, the position after a seek) and that the RTP stream
 * itself never breaks while tracks change or other branches leave.
 */
#include "rc_room_pipeline.h"
#include "rc_test_music.h"
#include "rc_test_util.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <math.h>
#include <string.h>

typedef struct
{
  GMutex lock;
  GArray *pcm;    /* float mono 48 kHz, as decoded */
  GArray *seqs;   /* guint16 RTP sequence numbers, as received */
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

static GstFlowReturn
on_pcm (GstAppSink *sink, gpointer data)
{
  Ear *ear = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;

  if (gst_buffer_map (buf, &map, GST_MAP_READ))
    {
      g_mutex_lock (&ear->lock);
      g_array_append_vals (ear->pcm, map.data, map.size / sizeof (float));
      g_mutex_unlock (&ear->lock);
      gst_buffer_unmap (buf, &map);
    }
  return GST_FLOW_OK;
}

static GstFlowReturn
on_rtp (GstAppSink *sink, gpointer data)
{
  Ear *ear = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  if (gst_rtp_buffer_map (gst_sample_get_buffer (sample), GST_MAP_READ, &rtp))
    {
      guint16 seq = gst_rtp_buffer_get_seq (&rtp);
      g_mutex_lock (&ear->lock);
      g_array_append_val (ear->seqs, seq);
      g_mutex_unlock (&ear->lock);
      gst_rtp_buffer_unmap (&rtp);
    }
  return GST_FLOW_OK;
}

static GstElement *
make_branch (const char *description, GCallback on_sample, Ear *ear)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description (description, TRUE, &error);
  g_autoptr (GstElement) sink = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  g_signal_connect (sink, "new-sample", on_sample, ear);
  return bin;
}

static GstElement *
listening_branch (Ear *ear)
{
  return make_branch ("queue ! rtpopusdepay ! opusdec ! audioconvert ! audioresample "
                      "! audio/x-raw,format=F32LE,channels=1,rate=48000 "
                      "! appsink name=sink emit-signals=true sync=false",
                      G_CALLBACK (on_pcm), ear);
}

static guint
pcm_len (Ear *ear)
{
  guint n;

  g_mutex_lock (&ear->lock);
  n = ear->pcm->len;
  g_mutex_unlock (&ear->lock);
  return n;
}

/* Pitch by zero crossings and RMS over the last @ms of what was heard. */
static void
analyse (Ear *ear, guint ms, double *freq, double *rms)
{
  guint n = 48 * ms, crossings = 0;
  double sum = 0;

  g_mutex_lock (&ear->lock);
  if (ear->pcm->len < n)
    {
      *freq = *rms = 0;
      g_mutex_unlock (&ear->lock);
      return;
    }
  {
    const float *x = &g_array_index (ear->pcm, float, ear->pcm->len - n);
    for (guint i = 0; i < n; i++)
      {
        sum += x[i] * x[i];
        if (i > 0 && ((x[i - 1] < 0) != (x[i] < 0)))
          crossings++;
      }
  }
  g_mutex_unlock (&ear->lock);
  *freq = crossings / 2.0 / (ms / 1000.0);
  *rms = sqrt (sum / n);
}

static gboolean
hears (Ear *ear, double want_hz)
{
  double f, rms;

  analyse (ear, 200, &f, &rms);
  return rms > 0.1 && fabs (f - want_hz) < 8;
}

static gboolean
hears_silence (Ear *ear)
{
  double f, rms;

  analyse (ear, 200, &f, &rms);
  return pcm_len (ear) > 48 * 200 && rms < 0.005;
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

  g_mutex_init (&ear->lock);
  ear->pcm = g_array_new (FALSE, FALSE, sizeof (float));
  ear->seqs = g_array_new (FALSE, FALSE, sizeof (guint16));
  return ear;
}

static void
ear_free (Ear *ear)
{
  g_array_unref (ear->pcm);
  g_array_unref (ear->seqs);
  g_mutex_clear (&ear->lock);
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
  rc_room_pipeline_add_branch (p, listening_branch (ear));
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
  rc_room_pipeline_add_branch (p, listening_branch (ear));
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
  rc_room_pipeline_add_branch (p, listening_branch (ear));

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
  rc_room_pipeline_add_branch (p, make_branch ("queue ! appsink name=sink emit-signals=true sync=false",
                                               G_CALLBACK (on_rtp), stay));
  leaving = listening_branch (go);
  rc_room_pipeline_add_branch (p, leaving);
  rc_room_pipeline_play (p, a, 0);
  g_assert_true (RC_WAIT_UNTIL (hears (go, 440), 3000));
  rc_room_pipeline_remove_branch (p, leaving);
  rc_test_run_for (1000);

  /* The staying branch got every packet, in order, across the removal. */
  g_mutex_lock (&stay->lock);
  g_assert_cmpuint (stay->seqs->len, >, 50);
  prev = g_array_index (stay->seqs, guint16, 0);
  for (guint i = 1; i < stay->seqs->len; i++)
    {
      guint16 s = g_array_index (stay->seqs, guint16, i);
      g_assert_cmpuint ((guint16) (s - prev), ==, 1);
      prev = s;
    }
  g_mutex_unlock (&stay->lock);
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

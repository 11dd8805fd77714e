/* SPDX-License-Identifier: MIT */
/*
 * What a guest hears, measured: decoded PCM for pitch and level, RTP arrival
 * for continuity. Shared by the pipeline, branch and end-to-end tests so
 * that "hears 440 Hz" means the same thing in each.
 */
#include "rc_test_audio.h"
#include "rc_test_util.h"

#include "pipelines/rc_ws_branch.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <math.h>
#include <string.h>

RcTestEar *
rc_test_ear_new (void)
{
  RcTestEar *ear = g_new0 (RcTestEar, 1);

  g_mutex_init (&ear->lock);
  ear->pcm = g_array_new (FALSE, FALSE, sizeof (float));
  ear->seqs = g_array_new (FALSE, FALSE, sizeof (guint16));
  ear->arrivals = g_array_new (FALSE, FALSE, sizeof (gint64));
  return ear;
}

void
rc_test_ear_free (RcTestEar *ear)
{
  if (ear == NULL)
    return;
  g_array_unref (ear->pcm);
  g_array_unref (ear->seqs);
  g_array_unref (ear->arrivals);
  g_mutex_clear (&ear->lock);
  g_free (ear);
}

GstFlowReturn
rc_test_ear_on_sample (GstElement *appsink, RcTestEar *ear)
{
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (GST_APP_SINK (appsink));
  GstBuffer *buf;
  GstMapInfo map;

  if (sample == NULL)
    return GST_FLOW_EOS;
  buf = gst_sample_get_buffer (sample);
  if (gst_buffer_map (buf, &map, GST_MAP_READ))
    {
      g_mutex_lock (&ear->lock);
      g_array_append_vals (ear->pcm, map.data, map.size / sizeof (float));
      g_mutex_unlock (&ear->lock);
      gst_buffer_unmap (buf, &map);
    }
  return GST_FLOW_OK;
}

static void
note_packet (RcTestEar *ear, GstBuffer *buf, gint64 now)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint16 seq;

  if (!gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    return;
  seq = gst_rtp_buffer_get_seq (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  g_mutex_lock (&ear->lock);
  g_array_append_val (ear->seqs, seq);
  g_array_append_val (ear->arrivals, now);
  g_mutex_unlock (&ear->lock);
}

static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    note_packet (data, GST_PAD_PROBE_INFO_BUFFER (info), now);
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        note_packet (data, gst_buffer_list_get (list, i), now);
    }
  return GST_PAD_PROBE_OK;
}

void
rc_test_ear_watch_rtp (RcTestEar *ear, GstPad *pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp, ear,
                     NULL);
}

GstElement *
rc_test_ear_branch (RcTestEar *ear)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description ("queue ! " RC_TEST_EAR_DECODER, TRUE, &error);
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstElement) depay = NULL;
  g_autoptr (GstPad) rtp = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  depay = gst_bin_get_by_name (GST_BIN (bin), "depay");
  rtp = gst_element_get_static_pad (depay, "sink");
  g_signal_connect (sink, "new-sample", G_CALLBACK (rc_test_ear_on_sample), ear);
  rc_test_ear_watch_rtp (ear, rtp);
  return bin;
}

guint
rc_test_ear_pcm_len (RcTestEar *ear)
{
  guint n;

  g_mutex_lock (&ear->lock);
  n = ear->pcm->len;
  g_mutex_unlock (&ear->lock);
  return n;
}

guint
rc_test_ear_packets (RcTestEar *ear)
{
  guint n;

  g_mutex_lock (&ear->lock);
  n = ear->seqs->len;
  g_mutex_unlock (&ear->lock);
  return n;
}

void
rc_test_audio_analyse_float (const float *x, gsize n, double *freq, double *rms)
{
  guint crossings = 0;
  double sum = 0;

  if (n == 0)
    {
      *freq = *rms = 0;
      return;
    }
  for (gsize i = 0; i < n; i++)
    {
      sum += x[i] * x[i];
      if (i > 0 && ((x[i - 1] < 0) != (x[i] < 0)))
        crossings++;
    }
  *freq = crossings / 2.0 / (n / 48000.0);
  *rms = sqrt (sum / n);
}

void
rc_test_audio_analyse_s16 (const gint16 *x, gsize n_frames, double *freq, double *rms)
{
  g_autofree float *left = g_new (float, MAX (n_frames, 1));

  for (gsize i = 0; i < n_frames; i++)
    left[i] = x[2 * i] / 32768.0f;
  rc_test_audio_analyse_float (left, n_frames, freq, rms);
}

double
rc_test_audio_tone_level_s16 (const gint16 *x, gsize n_frames, double hz)
{
  double w = 2 * G_PI * hz / 48000.0, coeff = 2 * cos (w);
  double s1 = 0, s2 = 0, window_sum = 0, power;

  if (n_frames < 2)
    return 0;
  for (gsize i = 0; i < n_frames; i++)
    {
      double window = 0.5 - 0.5 * cos (2 * G_PI * i / (n_frames - 1));
      double s0 = x[2 * i] / 32768.0 * window + coeff * s1 - s2;

      window_sum += window;
      s2 = s1;
      s1 = s0;
    }
  power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  /* |X| = A * sum(window) / 2 for a sine of amplitude A; its RMS is A/√2. */
  return sqrt (MAX (power, 0)) * 2 / window_sum / G_SQRT2;
}

gboolean
rc_test_audio_is_tone (double freq, double rms, double want_hz)
{
  return rms > 0.1 && fabs (freq - want_hz) < 8;
}

void
rc_test_ear_analyse (RcTestEar *ear, guint ms, double *freq, double *rms)
{
  guint n = 48 * ms;

  g_mutex_lock (&ear->lock);
  if (ear->pcm->len < n)
    *freq = *rms = 0;
  else
    rc_test_audio_analyse_float (&g_array_index (ear->pcm, float, ear->pcm->len - n), n, freq,
                                 rms);
  g_mutex_unlock (&ear->lock);
}

gboolean
rc_test_ear_hears (RcTestEar *ear, double hz)
{
  double f, rms;

  rc_test_ear_analyse (ear, 200, &f, &rms);
  return rc_test_audio_is_tone (f, rms, hz);
}

gboolean
rc_test_ear_hears_silence (RcTestEar *ear)
{
  double f, rms;

  rc_test_ear_analyse (ear, 200, &f, &rms);
  return rc_test_ear_pcm_len (ear) > 48 * 200 && rms < 0.005;
}

gint64
rc_test_ear_max_gap_us (RcTestEar *ear, gint64 since_us)
{
  gint64 max = 0, prev = -1;

  g_mutex_lock (&ear->lock);
  for (guint i = 0; i < ear->arrivals->len; i++)
    {
      gint64 t = g_array_index (ear->arrivals, gint64, i);

      if (t < since_us)
        continue;
      if (prev >= 0)
        max = MAX (max, t - prev);
      prev = t;
    }
  g_mutex_unlock (&ear->lock);
  return max;
}

guint
rc_test_ear_lost (RcTestEar *ear, gint64 since_us)
{
  guint lost = 0;
  gboolean have_prev = FALSE;
  guint16 prev = 0;

  g_mutex_lock (&ear->lock);
  for (guint i = 0; i < ear->seqs->len; i++)
    {
      guint16 s = g_array_index (ear->seqs, guint16, i);

      if (g_array_index (ear->arrivals, gint64, i) < since_us)
        continue;
      if (have_prev && (guint16) (s - prev) > 1 && (guint16) (s - prev) < 0x8000)
        lost += (guint16) (s - prev) - 1;
      prev = s;
      have_prev = TRUE;
    }
  g_mutex_unlock (&ear->lock);
  return lost;
}

/* Packets come every 20 ms; on a machine with time to spare no gap between
 * two of them reaches this. Above it, 60 ms cannot be judged fairly. */
#define CALM_GAP_US (40 * 1000)
#define MAX_GAP_US (60 * 1000)

void
rc_test_audio_time_leaving (const RcTestLeaving *ops, gpointer data, guint n, guint attempts)
{
  guint suspect = 0, busy = 0;

  g_assert_cmpuint (attempts, <, n);
  for (guint attempt = 0; attempt < attempts; attempt++)
    {
      guint stay = n - 1 - attempt; /* guests [0, stay) stay */
      guint64 lost_start, lost_before, lost_during, lost_after;
      gint64 before, during, after;

      ops->worst_gap (data, stay, &lost_start);
      ops->reset_gaps (data, stay);
      rc_test_run_for (1000);
      before = ops->worst_gap (data, stay, &lost_before);

      ops->reset_gaps (data, stay);
      ops->leave (data, stay);
      rc_test_run_for (1500);
      during = ops->worst_gap (data, stay, &lost_during);

      ops->reset_gaps (data, stay);
      rc_test_run_for (1000);
      after = ops->worst_gap (data, stay, &lost_after);

      g_test_message ("%u guests stay; longest gap before %.1f ms, while one left %.1f ms "
                      "(%" G_GUINT64_FORMAT " lost), after %.1f ms",
                      stay, before / 1000.0, during / 1000.0, lost_during - lost_before,
                      after / 1000.0);
      if (during < MAX_GAP_US && lost_during == lost_before)
        return;
      if (before < CALM_GAP_US && after < CALM_GAP_US && lost_before == lost_start
          && lost_after == lost_during)
        suspect++;
      else
        busy++;
    }
  if (busy == 0)
    {
      /* Every time, on a calm machine: the leaving did it. */
      g_test_fail_printf ("another guest leaving cost the others their packets %u times of %u",
                          suspect, attempts);
      return;
    }
  g_test_skip ("the machine was too busy to time 60 ms gaps (see the messages above)");
}

GArray *
rc_test_audio_decode_ws_frames (GQueue *frames, double *c0_out)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (
    "appsrc name=src format=time caps=\"audio/x-opus,rate=48000,channels=2,"
    "channel-mapping-family=0,stream-count=1,coupled-count=1\" ! opusdec ! audioconvert "
    "! audio/x-raw,format=F32LE,channels=1,rate=48000,layout=interleaved "
    "! appsink name=sink sync=false",
    NULL);
  g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GArray *x = g_array_new (FALSE, TRUE, sizeof (float));
  double c0 = -1;
  GstSample *sample;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (GList *l = frames->head; l != NULL; l = l->next)
    {
      gsize size, length, offset = 0, frame_length;
      const guint8 *data = g_bytes_get_data (l->data, &size), *payload, *frame;
      guint32 rtp, seq;
      double c;

      /* A message is one frame or a bundle of them, each with its C. */
      while (rc_ws_message_next (data, size, &offset, &frame, &frame_length))
        {
          GstBuffer *buffer;

          if (!rc_ws_frame_parse (frame, frame_length, &rtp, &c, &seq, &payload, &length)
              || length == 0)
            continue;
          if (c0 < 0)
            c0 = c;
          buffer = gst_buffer_new_memdup (payload, length);
          GST_BUFFER_PTS (buffer) = (GstClockTime) llround ((c - c0) * GST_MSECOND);
          GST_BUFFER_DURATION (buffer) = 20 * GST_MSECOND;
          gst_app_src_push_buffer (GST_APP_SRC (src), buffer);
        }
    }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    {
      GstBuffer *buffer = gst_sample_get_buffer (sample);
      GstMapInfo map;
      gsize at = (gsize) llround ((double) GST_BUFFER_PTS (buffer) * 48000 / GST_SECOND);

      if (gst_buffer_map (buffer, &map, GST_MAP_READ))
        {
          gsize n = map.size / sizeof (float);

          if (x->len < at + n)
            g_array_set_size (x, at + n);
          memcpy (&g_array_index (x, float, at), map.data, map.size);
          gst_buffer_unmap (buffer, &map);
        }
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_assert_cmpfloat (c0, >, 0);
  *c0_out = c0;
  return x;
}

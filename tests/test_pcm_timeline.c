/* SPDX-License-Identifier: MIT */
/*
 * RcPcmTimeline, the native guest's decoded audio kept by the time it is to
 * be heard: what a device feeder reads is what was written for that time,
 * across blocks and the ring's wrap; a time nothing was written for (a lost
 * packet, a gap after a resync, audio from a lap of the ring ago) is
 * silence, never stale audio; audio written after its time was taken is
 * counted as late.
 */
#include "tools/native-guest/rc_pcm_timeline.h"
#include "rc_test_util.h"

#define RATE RC_PCM_TIMELINE_RATE
#define RING ((gint64) RC_PCM_TIMELINE_SECONDS * RATE)

/* @n stereo frames whose left sample is @first + i, right −(first + i). */
static gint16 *
ramp (gint first, guint n)
{
  gint16 *frames = g_new (gint16, n * 2);

  for (guint i = 0; i < n; i++)
    {
      frames[2 * i] = (gint16) (first + (gint) i);
      frames[2 * i + 1] = (gint16) -(first + (gint) i);
    }
  return frames;
}

static void
assert_ramp (const gint16 *frames, gint first, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (frames[2 * i], ==, first + (gint) i);
      g_assert_cmpint (frames[2 * i + 1], ==, -(first + (gint) i));
    }
}

static void
assert_silent (const gint16 *frames, guint n)
{
  for (guint i = 0; i < 2 * n; i++)
    g_assert_cmpint (frames[i], ==, 0);
}

static void
test_reads_what_was_written (void)
{
  g_autoptr (RcPcmTimeline) t = rc_pcm_timeline_new ();
  /* A 20 ms packet across block boundaries, just before the ring wraps. */
  gint64 at = 3 * RING - 500;
  g_autofree gint16 *in = ramp (1, 960);
  g_autofree gint16 *out = g_new (gint16, 960 * 2);

  g_assert_cmpuint (rc_pcm_timeline_write (t, at, in, 960), ==, 0);
  g_assert_cmpuint (rc_pcm_timeline_read (t, at, out, 960), ==, 960);
  assert_ramp (out, 1, 960);
  /* Any stretch of it, from any frame. */
  g_assert_cmpuint (rc_pcm_timeline_read (t, at + 333, out, 480), ==, 480);
  assert_ramp (out, 334, 480);
}

static void
test_unwritten_is_silence (void)
{
  g_autoptr (RcPcmTimeline) t = rc_pcm_timeline_new ();
  g_autofree gint16 *in = ramp (100, 960);
  g_autofree gint16 *out = g_new (gint16, 960 * 2);
  gint64 at = 48000;

  /* Never written. */
  g_assert_cmpuint (rc_pcm_timeline_read (t, at, out, 960), ==, 0);
  assert_silent (out, 960);
  /* Written a lap of the ring ago: the same slots, another time. */
  rc_pcm_timeline_write (t, at, in, 960);
  g_assert_cmpuint (rc_pcm_timeline_read (t, at + RING, out, 960), ==, 0);
  assert_silent (out, 960);
  /* A gap between two packets (one lost) reads as silence between them. */
  rc_pcm_timeline_write (t, at + 2 * RING, in, 960);
  rc_pcm_timeline_write (t, at + 2 * RING + 1920, in, 960);
  g_assert_cmpuint (rc_pcm_timeline_read (t, at + 2 * RING + 960, out, 960), <, 960);
  assert_silent (out, 960);
}

static void
test_late_is_counted (void)
{
  g_autoptr (RcPcmTimeline) t = rc_pcm_timeline_new ();
  g_autofree gint16 *in = ramp (1, 960);
  g_autofree gint16 *out = g_new (gint16, 960 * 2);

  /* The device took up to 10 ms past the packet's start. */
  rc_pcm_timeline_read (t, 48000 - 480, out, 960);
  g_assert_cmpuint (rc_pcm_timeline_write (t, 48000, in, 960), ==, 480);
  g_assert_cmpuint (rc_pcm_timeline_write (t, 48960, in, 960), ==, 0);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/pcm-timeline/reads-what-was-written", test_reads_what_was_written);
  g_test_add_func ("/pcm-timeline/unwritten-is-silence", test_unwritten_is_silence);
  g_test_add_func ("/pcm-timeline/late-is-counted", test_late_is_counted);
  return g_test_run ();
}

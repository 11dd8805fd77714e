/* SPDX-License-Identifier: MIT */
/*
 * Talk-over ducking, apart from the room pipeline that hosts it. Why it
 * lives in pad probes, not in elements: the input's level is read where it
 * leaves the input (a probe on its src pad, which works whether or not it
 * is linked yet). The track's gain is applied where the track enters the
 * mixer (a probe on its mixer pad: live inputs never pass there, and a
 * buffer a seek flushes away before the track is linked never moves the
 * ramp), sample by sample, moving linearly in dB: a ramp covers the duck's
 * depth in attack_ms going down and in release_ms going up. Which way it
 * goes is decided per buffer on the monotonic clock: down while the input
 * was loud less than hold_ms ago, up otherwise.
 *
 * The ramp belongs to the room, not to a track: the next track (a skip, a
 * seek) starts at the gain the last one ended with. It moves with the
 * current track's samples; a track on its way out gets the gain as it
 * stands without moving it, and after a pause in the samples of over
 * 200 ms (no track, a seek) the ramp catches up by the pause's length.
 * Every probe runs whether or not ducking is on: with the gain at 0 dB and
 * nowhere to go, a buffer is left untouched.
 *
 * Ordering rule: the state below the lock is shared by the input's
 * streaming thread (which writes the level), the track's (which moves the
 * gain) and the main context (which sets it up and reads it); input_pad and
 * input_probe are the main context's alone.
 */
#include "pipelines/rc_ducking.h"

#include <math.h>

GST_DEBUG_CATEGORY_STATIC (rc_ducking_debug);
#define GST_CAT_DEFAULT rc_ducking_debug

#define DUCK_RATE 48000
#define DUCK_CHANNELS 2
#define DUCK_GAP_US (200 * G_TIME_SPAN_MILLISECOND)
/* A duck deeper than this is silence in 16 bits anyway. */
#define DUCK_MIN_DB (-96.0)

struct _RcDucking
{
  char *room_id;
  GstPad *input_pad;  /* main context: the input ducking listens to (strong) */
  char *input_name;   /* main context: its element's name, for logs */
  gulong input_probe; /* main context: its level probe */

  GMutex lock;
  gboolean on;
  RcDuckingParams params;
  double down_per_sample; /* ramp slopes, dB per sample */
  double up_per_sample;
  guint input_serial;   /* the level probe that counts (older ones are ignored) */
  guint track_serial;   /* the track whose samples move the ramp */
  double level_db;      /* the input's latest level */
  gint64 loud_until_us; /* monotonic end of its latest buffer above the threshold, 0: none */
  double gain_db;       /* the gain the track's latest sample got */
  gint64 gain_us;       /* when that sample passed */
};

typedef struct
{
  RcDucking *owner; /* strong */
  guint serial;     /* the track's, or the input's level probe's */
} DuckProbe;

static void
ducking_clear (gpointer data)
{
  RcDucking *d = data;

  g_warn_if_fail (d->input_pad == NULL);
  g_mutex_clear (&d->lock);
  g_free (d->input_name);
  g_free (d->room_id);
}

RcDucking *
rc_ducking_new (const char *room_id)
{
  RcDucking *d = g_atomic_rc_box_new0 (RcDucking);

  if (rc_ducking_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (rc_ducking_debug, "rc-ducking", 0, "talk-over ducking");
  d->room_id = g_strdup (room_id);
  g_mutex_init (&d->lock);
  d->level_db = -INFINITY;
  d->gain_us = g_get_monotonic_time ();
  return d;
}

RcDucking *
rc_ducking_ref (RcDucking *d)
{
  return g_atomic_rc_box_acquire (d);
}

void
rc_ducking_unref (RcDucking *d)
{
  g_atomic_rc_box_release_full (d, ducking_clear);
}

static DuckProbe *
duck_probe_new (RcDucking *d, guint serial)
{
  DuckProbe *p = g_new0 (DuckProbe, 1);

  p->owner = rc_ducking_ref (d);
  p->serial = serial;
  return p;
}

static void
duck_probe_free (gpointer data)
{
  DuckProbe *p = data;

  rc_ducking_unref (p->owner);
  g_free (p);
}

/* @from moved toward @to by at most @step (reaching it exactly). */
static double
approach (double from, double to, double step)
{
  if (fabs (to - from) <= step)
    return to;
  return to > from ? from + step : from - step;
}

/* Where the gain is heading at @now. Locked. */
static double
duck_target (RcDucking *d, gint64 now)
{
  if (d->on && d->loud_until_us != 0
      && now < d->loud_until_us + (gint64) d->params.hold_ms * G_TIME_SPAN_MILLISECOND)
    return d->params.duck_db;
  return 0.0;
}

static double
duck_slope (RcDucking *d, double gain, double target)
{
  return target < gain ? d->down_per_sample : d->up_per_sample;
}

/* The gain at @now: the latest sample's, caught up over a pause in the
 * track's samples. Locked. */
static double
duck_gain_at (RcDucking *d, gint64 now, double target)
{
  gint64 pause = now - d->gain_us;

  if (pause <= DUCK_GAP_US)
    return d->gain_db;
  return approach (d->gain_db, target,
                   duck_slope (d, d->gain_db, target) * (double) pause * DUCK_RATE
                     / G_USEC_PER_SEC);
}

static gint16
scale_sample (gint16 sample, double factor)
{
  double v = sample * factor;

  v += v >= 0 ? 0.5 : -0.5;
  return (gint16) CLAMP (v, G_MININT16, G_MAXINT16);
}

/* Applies @gain to @buffer (S16 interleaved stereo, writable), moving it
 * toward @target by @slope each sample; returns the gain after the last. */
static double
duck_samples (GstBuffer *buffer, double gain, double target, double slope)
{
  GstMapInfo map;
  gint16 *s;
  gsize frames;
  double factor = pow (10.0, gain / 20.0);

  if (!gst_buffer_map (buffer, &map, GST_MAP_READWRITE))
    return gain;
  s = (gint16 *) map.data;
  frames = map.size / (DUCK_CHANNELS * sizeof (gint16));
  for (gsize i = 0; i < frames; i++)
    {
      if (gain != target)
        {
          gain = approach (gain, target, slope);
          factor = pow (10.0, gain / 20.0);
        }
      for (guint c = 0; c < DUCK_CHANNELS; c++)
        s[i * DUCK_CHANNELS + c] = scale_sample (s[i * DUCK_CHANNELS + c], factor);
    }
  gst_buffer_unmap (buffer, &map);
  return gain;
}

/* The track's streaming thread: its samples on their way into the mixer. */
static GstPadProbeReturn
on_track_samples (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DuckProbe *p = data;
  RcDucking *d = p->owner;
  gint64 now = g_get_monotonic_time ();
  gboolean current;
  double gain, target, slope;

  /* Held throughout: a buffer's worth of samples is a few microseconds of
   * work, and the ramp must not move twice for one stretch of time. */
  g_mutex_lock (&d->lock);
  current = p->serial == d->track_serial;
  target = duck_target (d, now);
  gain = current ? duck_gain_at (d, now, target) : d->gain_db;
  slope = current ? duck_slope (d, gain, target) : 0.0;
  if (gain != 0.0 || (target != 0.0 && slope > 0.0))
    {
      if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
        {
          GstBuffer *buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));

          GST_PAD_PROBE_INFO_DATA (info) = buffer;
          gain = duck_samples (buffer, gain, current ? target : gain, slope);
        }
      else
        {
          GstBufferList *list;

          list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));

          GST_PAD_PROBE_INFO_DATA (info) = list;
          for (guint i = 0; i < gst_buffer_list_length (list); i++)
            gain = duck_samples (gst_buffer_list_get_writable (list, i), gain,
                                 current ? target : gain, slope);
        }
    }
  if (current)
    {
      d->gain_db = gain;
      d->gain_us = now;
    }
  g_mutex_unlock (&d->lock);
  return GST_PAD_PROBE_OK;
}

/* The input's streaming thread: one buffer's level. */
static void
duck_hear (RcDucking *d, guint serial, GstBuffer *buffer)
{
  GstMapInfo map;
  const gint16 *s;
  gsize n;
  double sum = 0.0, level;
  gint64 now;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return;
  s = (const gint16 *) map.data;
  n = map.size / sizeof (gint16);
  for (gsize i = 0; i < n; i++)
    sum += (double) s[i] * s[i];
  gst_buffer_unmap (buffer, &map);
  level = sum > 0.0 ? 10.0 * log10 (sum / n / (32768.0 * 32768.0)) : -INFINITY;
  now = g_get_monotonic_time ();
  g_mutex_lock (&d->lock);
  if (d->on && serial == d->input_serial)
    {
      d->level_db = level;
      /* Loud until the buffer's last sample is out. */
      if (level > d->params.threshold_db)
        d->loud_until_us = now + (gint64) (n / DUCK_CHANNELS) * G_USEC_PER_SEC / DUCK_RATE;
    }
  g_mutex_unlock (&d->lock);
}

static GstPadProbeReturn
on_input_samples (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DuckProbe *p = data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    duck_hear (p->owner, p->serial, GST_PAD_PROBE_INFO_BUFFER (info));
  else
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        duck_hear (p->owner, p->serial, gst_buffer_list_get (list, i));
    }
  return GST_PAD_PROBE_OK;
}

void
rc_ducking_watch_track (RcDucking *d, GstPad *mixer_pad, guint serial)
{
  gst_pad_add_probe (mixer_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_track_samples, duck_probe_new (d, serial), duck_probe_free);
}

void
rc_ducking_follow_track (RcDucking *d, guint serial)
{
  g_mutex_lock (&d->lock);
  d->track_serial = serial;
  g_mutex_unlock (&d->lock);
}

void
rc_ducking_forget (RcDucking *d, GstPad *input_pad)
{
  if (input_pad == NULL || input_pad != d->input_pad)
    return;
  GST_INFO ("room %s: ducking off (input %s)", d->room_id, d->input_name);
  g_mutex_lock (&d->lock);
  d->on = FALSE;
  d->input_serial++; /* a level probe still running is ignored */
  d->level_db = -INFINITY;
  d->loud_until_us = 0;
  g_mutex_unlock (&d->lock);
  if (d->input_probe != 0)
    gst_pad_remove_probe (d->input_pad, d->input_probe);
  d->input_probe = 0;
  gst_clear_object (&d->input_pad);
  g_clear_pointer (&d->input_name, g_free);
}

void
rc_ducking_set (RcDucking *d, GstPad *input_pad, const char *input_name,
                const RcDuckingParams *params)
{
  if (params == NULL)
    input_pad = NULL;
  if (input_pad != d->input_pad)
    rc_ducking_forget (d, d->input_pad);
  if (input_pad == NULL)
    {
      g_mutex_lock (&d->lock);
      d->on = FALSE;
      g_mutex_unlock (&d->lock);
      return;
    }
  g_mutex_lock (&d->lock);
  d->params = *params;
  d->params.duck_db = isfinite (params->duck_db) ? CLAMP (params->duck_db, DUCK_MIN_DB, 0.0)
                                                 : 0.0;
  {
    /* A ramp covers the duck's depth, or the way back from a deeper one. */
    double span = MAX (-d->params.duck_db, -d->gain_db);

    d->down_per_sample = span / MAX ((double) d->params.attack_ms * DUCK_RATE / 1000, 1.0);
    d->up_per_sample = span / MAX ((double) d->params.release_ms * DUCK_RATE / 1000, 1.0);
  }
  d->on = TRUE;
  if (d->input_pad == NULL)
    {
      d->input_serial++;
      d->level_db = -INFINITY;
      d->loud_until_us = 0;
    }
  g_mutex_unlock (&d->lock);
  if (d->input_pad == NULL)
    {
      GST_INFO ("room %s: ducking %.1f dB under %s above %.1f dBFS", d->room_id,
                d->params.duck_db, input_name, d->params.threshold_db);
      d->input_pad = gst_object_ref (input_pad);
      d->input_name = g_strdup (input_name);
      d->input_probe = gst_pad_add_probe (input_pad,
                                          GST_PAD_PROBE_TYPE_BUFFER
                                            | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                          on_input_samples, duck_probe_new (d, d->input_serial),
                                          duck_probe_free);
    }
}

double
rc_ducking_get_gain_db (RcDucking *d)
{
  gint64 now = g_get_monotonic_time ();
  double gain;

  g_mutex_lock (&d->lock);
  gain = duck_gain_at (d, now, duck_target (d, now));
  g_mutex_unlock (&d->lock);
  return gain;
}

double
rc_ducking_get_input_level_db (RcDucking *d)
{
  double level;

  g_mutex_lock (&d->lock);
  level = d->on ? d->level_db : -INFINITY;
  g_mutex_unlock (&d->lock);
  return level;
}

/* SPDX-License-Identifier: MIT */
/*
 * Timed tone bursts for latency measurements (bench-latency's WHIP host):
 * written into a live source's buffers by a probe, by their running time.
 * With the pipeline on the system clock the moment each burst starts is
 * known exactly on the machine's monotonic clock. A live source pushes
 * each buffer when the clock reaches its first sample, and bursts start on
 * a buffer's first sample, so a burst leaves the source at its onset, as a
 * capture of no length would.
 */
#include "tools/whip-host/rc_bursts.h"

#include <math.h>

double
rc_bursts_length_ms (const RcBursts *bursts, guint64 k)
{
  return bursts->burst_ms + 10.0 * (double) (k % 4);
}

/* The first sample of burst @k at @rate. */
static gint64
burst_onset (const RcBursts *bursts, gint64 k, gint rate)
{
  return llround ((double) k * bursts->period_ms * rate / 1000.0);
}

/* Streaming thread: the buffer's samples become silence and bursts, by
 * the running time of its first sample. */
static GstPadProbeReturn
on_burst_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  const RcBursts *bursts = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  g_autoptr (GstEvent) segment_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  const GstStructure *s;
  const GstSegment *segment;
  gint rate = 0, channels = 0;
  GstClockTime running;
  GstMapInfo map;
  gint64 first, k;
  gsize frames;

  if (caps == NULL || segment_event == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_PAD_PROBE_OK;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_get_int (s, "rate", &rate) || !gst_structure_get_int (s, "channels", &channels)
      || rate <= 0 || channels <= 0)
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment (segment_event, &segment);
  running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (!GST_CLOCK_TIME_IS_VALID (running))
    return GST_PAD_PROBE_OK;
  buffer = gst_buffer_make_writable (buffer);
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  /* audiotestsrc marks its silence as a gap, which converters skip. */
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_GAP);
  if (!gst_buffer_map (buffer, &map, GST_MAP_WRITE))
    return GST_PAD_PROBE_OK;
  first = (gint64) gst_util_uint64_scale_round (running, rate, GST_SECOND);
  frames = map.size / (sizeof (gint16) * channels);
  k = (gint64) floor ((double) first * 1000.0 / (bursts->period_ms * rate));
  for (gsize i = 0; i < frames; i++)
    {
      gint64 n = first + (gint64) i;
      gint64 at, length;
      double v = 0;

      while (burst_onset (bursts, k + 1, rate) <= n)
        k++;
      while (k > 0 && burst_onset (bursts, k, rate) > n)
        k--;
      at = n - burst_onset (bursts, k, rate);
      length = llround (rc_bursts_length_ms (bursts, (guint64) k) * rate / 1000.0);
      if (at >= 0 && at < length)
        v = bursts->amplitude * sin (2 * G_PI * bursts->freq * (double) at / rate);
      for (gint c = 0; c < channels; c++)
        ((gint16 *) map.data)[i * channels + c] = (gint16) lrint (CLAMP (v, -1.0, 1.0) * 32767);
    }
  gst_buffer_unmap (buffer, &map);
  return GST_PAD_PROBE_OK;
}

void
rc_bursts_attach (GstPad *pad, const RcBursts *bursts)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_burst_buffer,
                     g_memdup2 (bursts, sizeof *bursts), g_free);
}


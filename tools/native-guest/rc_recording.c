/* SPDX-License-Identifier: MIT */
/*
 * Skew from recordings. Why cross-correlation around transients, and not
 * over the whole recording: a click track has one sharp event every few
 * hundred ms, so each click gives one independent measurement (the spread
 * over clicks is the figure worth having, not only a mean), and a window of
 * a few ms is far shorter than the distance between clicks, so a lag can
 * never lock onto the wrong click. The clicks are noise bursts, each
 * different, so even a lag larger than their spacing would not match a
 * neighbour. The peak is refined by a parabola through the scores around
 * it: Opus's band limit makes the correlation peak smooth, and a fraction
 * of a sample (21 µs) matters for native guests.
 *
 * Recordings are placed by the server time of their first sample; within a
 * recording sample i is i / rate later. A native guest's recording was
 * already written by render time, so this is exact for it; a browser's
 * capture assumes its output clock runs at the rate its engine measured.
 */
#include "rc_recording.h"
#include "pipelines/rc_stats.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define WINDOW_BEFORE_MS 2.0
#define WINDOW_AFTER_MS 8.0

struct _RcRecording
{
  char *name;
  char *transport;
  float *x;
  gsize n;
  guint rate;
  double server_time; /* ms, sample 0 by the guest's clock */
  double ms_per_sample;
  double delay;       /* first playout delay, or -1 */
  GArray *offsets;    /* double pairs: guest server time ms, guest − host ms */
  GArray *delays;     /* double pairs: server time ms, D ms */
  JsonObject *events;
};

RcRecording *
rc_recording_new (const char *name, const float *samples, gsize n, guint rate,
                  double server_time_ms)
{
  return rc_recording_new_timed (name, samples, n, rate, server_time_ms, 1000.0 / rate);
}

RcRecording *
rc_recording_new_timed (const char *name, const float *samples, gsize n, guint rate,
                        double server_time_ms, double ms_per_sample)
{
  RcRecording *self = g_new0 (RcRecording, 1);

  self->ms_per_sample = ms_per_sample;
  self->name = g_strdup (name);
  self->x = g_memdup2 (samples, n * sizeof (float));
  self->n = n;
  self->rate = rate;
  self->server_time = server_time_ms;
  self->delay = -1;
  self->offsets = g_array_new (FALSE, FALSE, sizeof (double));
  self->delays = g_array_new (FALSE, FALSE, sizeof (double));
  return self;
}

void
rc_recording_free (RcRecording *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  g_free (self->transport);
  g_free (self->x);
  g_array_unref (self->offsets);
  if (self->delays != NULL)
    g_array_unref (self->delays);
  if (self->events != NULL)
    json_object_unref (self->events);
  g_free (self);
}

gboolean
rc_wav_read (const char *path, float **x, gsize *n, guint *rate, GError **error)
{
  g_autofree guint8 *data = NULL;
  gsize size, pos = 12;
  guint channels = 0, bits = 0;
  const guint8 *pcm = NULL;
  gsize pcm_bytes = 0;

  if (!g_file_get_contents (path, (char **) &data, &size, error))
    return FALSE;
  if (size < 12 || memcmp (data, "RIFF", 4) != 0 || memcmp (data + 8, "WAVE", 4) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is not a WAV file", path);
      return FALSE;
    }
  while (pos + 8 <= size)
    {
      guint32 len = GST_READ_UINT32_LE (data + pos + 4);
      const guint8 *body = data + pos + 8;
      gsize avail = MIN ((gsize) len, size - pos - 8);

      if (memcmp (data + pos, "fmt ", 4) == 0 && avail >= 16)
        {
          channels = GST_READ_UINT16_LE (body + 2);
          *rate = GST_READ_UINT32_LE (body + 4);
          bits = GST_READ_UINT16_LE (body + 14);
        }
      else if (memcmp (data + pos, "data", 4) == 0)
        {
          pcm = body;
          pcm_bytes = avail;
          break;
        }
      pos += 8 + (gsize) len + (len & 1);
    }
  if (pcm == NULL || channels == 0 || bits != 16 || *rate == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: not 16-bit PCM with a data chunk", path);
      return FALSE;
    }
  *n = pcm_bytes / (2 * channels);
  *x = g_new (float, MAX (*n, 1));
  for (gsize i = 0; i < *n; i++)
    (*x)[i] = (gint16) GST_READ_UINT16_LE (pcm + i * 2 * channels) / 32768.0f;
  return TRUE;
}

static void
read_pairs (JsonObject *o, const char *name, GArray *out)
{
  JsonArray *a;

  if (!json_object_has_member (o, name) || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, name)))
    return;
  a = json_object_get_array_member (o, name);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonArray *pair = json_array_get_array_element (a, i);
      double v[2];

      if (pair == NULL || json_array_get_length (pair) != 2)
        continue;
      v[0] = json_array_get_double_element (pair, 0);
      v[1] = json_array_get_double_element (pair, 1);
      g_array_append_vals (out, v, 2);
    }
}

static double
number_or (JsonObject *o, const char *name, double fallback)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  return json_node_get_double (node);
}

RcRecording *
rc_recording_load (const char *wav_path, GError **error)
{
  g_autofree char *sidecar = g_strconcat (wav_path, ".json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (RcRecording) self = g_new0 (RcRecording, 1);
  JsonObject *o;
  double local;

  self->offsets = g_array_new (FALSE, FALSE, sizeof (double));
  self->delays = g_array_new (FALSE, FALSE, sizeof (double));
  self->delay = -1;
  if (!rc_wav_read (wav_path, &self->x, &self->n, &self->rate, error))
    return NULL;
  self->ms_per_sample = 1000.0 / self->rate;
  if (!json_parser_load_from_file (parser, sidecar, error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is not a JSON object", sidecar);
      return NULL;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  self->server_time = number_or (o, "serverTime", NAN);
  if (isnan (self->server_time))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: no serverTime (nothing was rendered)", sidecar);
      return NULL;
    }
  self->name = g_strdup (json_object_get_string_member_with_default (o, "name", wav_path));
  self->transport = g_strdup (json_object_get_string_member_with_default (o, "transport", NULL));
  read_pairs (o, "clockOffsets", self->offsets);
  read_pairs (o, "delays", self->delays);
  if (self->delays->len >= 2)
    self->delay = g_array_index (self->delays, double, 1);
  /* Without a series, the one offset of the first sample. */
  local = number_or (o, "localTime", NAN);
  if (self->offsets->len == 0 && !isnan (local))
    {
      double pair[2] = { self->server_time, self->server_time - local };

      g_array_append_vals (self->offsets, pair, 2);
    }
  if (json_object_has_member (o, "events")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "events")))
    self->events = json_object_ref (json_object_get_object_member (o, "events"));
  return g_steal_pointer (&self);
}

const char *
rc_recording_get_name (RcRecording *self)
{
  return self->name;
}

const char *
rc_recording_get_transport (RcRecording *self)
{
  return self->transport;
}

gsize
rc_recording_get_length (RcRecording *self)
{
  return self->n;
}

guint
rc_recording_get_rate (RcRecording *self)
{
  return self->rate;
}

double
rc_recording_get_peak (RcRecording *self)
{
  double peak = 0;

  for (gsize i = 0; i < self->n; i++)
    peak = MAX (peak, fabs (self->x[i]));
  return peak;
}

double
rc_recording_get_delay (RcRecording *self)
{
  return self->delay;
}

GArray *
rc_recording_get_delays (RcRecording *self)
{
  return self->delays;
}

double
rc_recording_get_event (RcRecording *self, const char *name)
{
  if (self->events == NULL)
    return -1;
  return number_or (self->events, name, -1);
}

/* Guest clock minus host clock (ms) at guest server time @t, interpolated. */
static double
offset_at (RcRecording *self, double t)
{
  guint pairs = self->offsets->len / 2;
  const double *p = (const double *) self->offsets->data;

  if (pairs == 0)
    return 0;
  if (t <= p[0])
    return p[1];
  for (guint i = 1; i < pairs; i++)
    if (t <= p[2 * i])
      {
        double f = (t - p[2 * i - 2]) / (p[2 * i] - p[2 * i - 2]);

        return p[2 * i - 1] + f * (p[2 * i + 1] - p[2 * i - 1]);
      }
  return p[2 * pairs - 1];
}

double
rc_recording_time_of (RcRecording *self, double index, RcRecordingClock clock)
{
  double t = self->server_time + index * self->ms_per_sample;

  return clock == RC_RECORDING_HOST ? t - offset_at (self, t) : t;
}

double
rc_recording_index_of (RcRecording *self, double time_ms, RcRecordingClock clock)
{
  double t = time_ms;

  /* Host → guest: the offset moves by µs per second, two rounds settle it. */
  if (clock == RC_RECORDING_HOST)
    for (int i = 0; i < 3; i++)
      t = time_ms + offset_at (self, t);
  return (t - self->server_time) / self->ms_per_sample;
}

GArray *
rc_recording_find_onsets (RcRecording *self, double threshold, double quiet_ms)
{
  GArray *onsets = g_array_new (FALSE, FALSE, sizeof (double));
  gsize quiet = (gsize) (quiet_ms * self->rate / 1000.0);
  gsize last_loud = 0;
  gboolean any = FALSE;

  for (gsize i = 0; i < self->n; i++)
    {
      if (fabsf (self->x[i]) < threshold)
        continue;
      if ((!any && i >= quiet) || (any && i - last_loud >= quiet))
        {
          double at = (double) i;

          g_array_append_val (onsets, at);
        }
      any = TRUE;
      last_loud = i;
    }
  return onsets;
}

/* Normalised correlation of a[0..len) with b[start..start+len), given Σa². */
static double
score_at (const float *a, double ea, const float *b, gsize len)
{
  double dot = 0, eb = 0;

  for (gsize k = 0; k < len; k++)
    {
      dot += (double) a[k] * b[k];
      eb += (double) b[k] * b[k];
    }
  return ea > 0 && eb > 0 ? dot / sqrt (ea * eb) : 0;
}

GArray *
rc_recording_compare (RcRecording *a, RcRecording *b, RcRecordingClock clock, double threshold,
                      double max_lag_ms, double min_score)
{
  g_autoptr (GArray) onsets = rc_recording_find_onsets (a, threshold, 100);
  GArray *skews = g_array_new (FALSE, FALSE, sizeof (RcSkew));
  gssize before = (gssize) (WINDOW_BEFORE_MS * a->rate / 1000.0);
  gsize len = (gsize) ((WINDOW_BEFORE_MS + WINDOW_AFTER_MS) * a->rate / 1000.0);
  gssize max_lag = (gssize) (max_lag_ms * b->rate / 1000.0);
  g_autofree double *scores = g_new (double, 2 * max_lag + 1);

  g_return_val_if_fail (a->rate == b->rate, skews);
  for (guint k = 0; k < onsets->len; k++)
    {
      gssize ia = (gssize) g_array_index (onsets, double, k) - before;
      double t = rc_recording_time_of (a, ia + before, clock);
      gssize ib = (gssize) floor (rc_recording_index_of (b, t, clock) + 0.5) - before;
      double ea = 0, best = -2, delta = 0;
      gssize best_lag = 0;
      RcSkew s;

      if (ia < 0 || ia + (gssize) len > (gssize) a->n || ib - max_lag < 0
          || ib + max_lag + (gssize) len > (gssize) b->n)
        continue;
      for (gsize i = 0; i < len; i++)
        ea += (double) a->x[ia + i] * a->x[ia + i];
      for (gssize lag = -max_lag; lag <= max_lag; lag++)
        {
          double sc = score_at (a->x + ia, ea, b->x + ib + lag, len);

          scores[lag + max_lag] = sc;
          if (sc > best)
            {
              best = sc;
              best_lag = lag;
            }
        }
      if (best < min_score)
        continue;
      if (best_lag > -max_lag && best_lag < max_lag)
        {
          double l = scores[best_lag + max_lag - 1], c = best, r = scores[best_lag + max_lag + 1];
          double den = l - 2 * c + r;

          if (den < 0)
            delta = CLAMP (0.5 * (l - r) / den, -0.5, 0.5);
        }
      s.time = t;
      s.skew = rc_recording_time_of (b, ib + before + best_lag + delta, clock) - t;
      s.score = best;
      g_array_append_val (skews, s);
    }
  return skews;
}

void
rc_skew_stats (GArray *skews, double from_ms, double to_ms, RcSkewStats *stats)
{
  g_autoptr (GArray) mags = g_array_new (FALSE, FALSE, sizeof (double));
  double sum = 0;

  memset (stats, 0, sizeof *stats);
  for (guint i = 0; i < skews->len; i++)
    {
      const RcSkew *s = &g_array_index (skews, RcSkew, i);
      double m = fabs (s->skew);

      if (s->time < from_ms || s->time >= to_ms)
        continue;
      sum += s->skew;
      g_array_append_val (mags, m);
    }
  stats->n = mags->len;
  if (mags->len == 0)
    return;
  stats->mean = sum / mags->len;
  stats->p50 = rc_percentile (mags, 0.50);
  stats->p95 = rc_percentile (mags, 0.95);
  stats->max = rc_percentile (mags, 1.0);
}

gboolean
rc_wav_write_stereo (const char *path, gint16 *pcm, gsize frames, guint rate, GError **error)
{
  guint8 *h = (guint8 *) pcm; /* the 44-byte header goes first */

  memcpy (h, "RIFF", 4);
  GST_WRITE_UINT32_LE (h + 4, (guint32) (36 + frames * 4));
  memcpy (h + 8, "WAVEfmt ", 8);
  GST_WRITE_UINT32_LE (h + 16, 16);
  GST_WRITE_UINT16_LE (h + 20, 1);
  GST_WRITE_UINT16_LE (h + 22, 2);
  GST_WRITE_UINT32_LE (h + 24, rate);
  GST_WRITE_UINT32_LE (h + 28, rate * 4);
  GST_WRITE_UINT16_LE (h + 32, 4);
  GST_WRITE_UINT16_LE (h + 34, 16);
  memcpy (h + 36, "data", 4);
  GST_WRITE_UINT32_LE (h + 40, (guint32) (frames * 4));
  return g_file_set_contents (path, (const char *) pcm, (gssize) (44 + frames * 4), error);
}

gboolean
rc_click_track_write (const char *path, guint seconds, GError **error)
{
  const guint rate = 48000, click = 96;
  gsize frames = (gsize) seconds * rate;
  g_autofree gint16 *pcm = g_new0 (gint16, frames * 2 + RC_WAV_HEADER_SAMPLES);
  gint16 *x = pcm + RC_WAV_HEADER_SAMPLES;
  guint32 seed = 0x2545f491u;
  guint k = 0;

  for (gsize at = rate / 10; at + click < frames; k++)
    {
      for (guint i = 0; i < click; i++)
        {
          double w = 0.5 - 0.5 * cos (2 * G_PI * (i + 0.5) / click);
          double noise;

          seed = seed * 1664525u + 1013904223u;
          noise = (double) (seed >> 8) / (1 << 24) * 2 - 1;
          x[2 * (at + i)] = x[2 * (at + i) + 1] = GINT16_TO_LE ((gint16) (0.7 * 32767 * w * noise));
        }
      at += rate / 1000 * (250 + (k * 53) % 121);
    }
  return rc_wav_write_stereo (path, pcm, frames, rate, error);
}

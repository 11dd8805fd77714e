/* SPDX-License-Identifier: MIT */
/*
 * The native guest's output to a real audio device, in step with the
 * server clock at the speaker, the way Snapcast's players do it.
 *
 *   appsrc (fed here, at the sink's demand) ─ audioconvert ─ audioresample
 *     ─ the audio sink (sync=false)
 *
 * Why not a clocked sink: a GstAudioBaseSink with sync=true maps buffer
 * times to its ring buffer through its own clock, which for pulsesink is
 * PulseAudio's interpolated stream time; slaving that clock to the server
 * (skew, or a custom slaving callback) moves the output in steps, each
 * audible and each triggered by a reading that wanders by several ms on a
 * busy machine (p95 29 ms at the speaker, where Snapcast kept 0.6 ms in the
 * same run: docs/benchmarks.md, "Sync at the speaker").
 *
 * What is done instead:
 * - The sink runs with sync=false: it writes each buffer right after the
 *   last, blocking until the device has room. appsrc asks for a chunk
 *   (need-data, on its streaming thread) only when its queue is empty,
 *   i.e. after the previous chunk was written to the device, so at every
 *   request everything pushed so far is in the device's buffer.
 * - Per chunk, the device's delay is read (gst_audio_ring_buffer_delay:
 *   pulsesink asks pa_stream_get_latency, alsasink snd_pcm_delay; a sink
 *   built on GstAudioSink also holds its ring buffer's unwritten segments
 *   before the device, which are added) together with the server clock: the
 *   next frame written leaves at now + delay. Written frames are appended, so
 *   this does not depend on when the write happens, only on the reading.
 * - Each reading gives the anchor A = leaves − (frames written) / rate: the
 *   server time at which output frame 0 would have left. A does not move
 *   when we correct (the cursor does), so its median over a window is a
 *   clean estimate: the device clock's drift against the server's, plus the
 *   reading's noise, which the median removes (PulseAudio's interpolation
 *   jitters by ms under load). The error is A minus where the cursor puts
 *   the output, known exactly.
 * - Small errors are corrected by dropping (late) or inserting (early)
 *   single frames spread over the chunk, at a rate proportional to the
 *   error (time constant SLEW_SECONDS, at most two frames per 10 ms chunk:
 *   4 ms of correction per second, a 0.4 % speed change while it lasts): a
 *   single 21 µs frame cannot be heard in music, where a step of the output
 *   can. Under DEADBAND nothing is done.
 * - The output is stepped only at the start (the first reading, then for
 *   SETTLE_CHUNKS while PulseAudio's timing settles, whenever the short
 *   median is off by over SETTLE_TOLERANCE_MS) and when the short median is
 *   off by over STEP_MS (5 ms, Snapcast's threshold on its short median
 *   too): an underrun of the device or a stall of the machine makes the
 *   output late by its length, and slewing that at the inaudible rate would
 *   keep a listener out of step for seconds. Under that, the 0.5 s median
 *   rides out the reading's own wander (PulseAudio's interpolation: a
 *   sawtooth of a few ms on a busy machine). Faster following (2 s window,
 *   1 s, 5 ms) and slower (3 s, 2 s, 10 ms) could not be told apart on the
 *   loaded test machine (docs/benchmarks.md); underruns there are frequent
 *   and real, so the faster is kept.
 * - The belief (RcDeviceChunk.error_ms, reported in syncReport) is the
 *   same filtered reading that the correction follows.
 *
 * Limits: frames held in audioconvert/audioresample (none when the sink
 * takes 48 kHz S16 stereo, as pulsesink does) are not counted. ALSA is
 * served by the same code path (alsasink is a GstAudioSink); the test
 * machine has no ALSA device, only ALSA's PulseAudio plugin (an opt-in case
 * of test_speaker_sync, which lands 3-10 ms off per start, not understood).
 *
 * Threads: need-data runs on appsrc's streaming thread, which alone touches
 * the controller's state; `lock` guards the stats the owner reads.
 */
#include "rc_device_feeder.h"

#include <gio/gio.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/gstaudiobasesink.h>
#include <gst/audio/gstaudioclock.h>
#include <gst/audio/gstaudiosink.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (rc_device_feeder_debug);
#define GST_CAT_DEFAULT rc_device_feeder_debug

#define RATE RC_PCM_TIMELINE_RATE
#define CHANNELS RC_PCM_TIMELINE_CHANNELS
#define PCM_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"
/* 10 ms: pulsesink's and alsasink's default segment (latency-time). */
#define CHUNK_FRAMES 480
/* The device buffer we ask for instead of GstAudioBaseSink's 200 ms (a
 * description's own buffer-time is kept): the feeder reads the timeline
 * this far ahead, which the guest adds to its reported arrival so that D
 * covers it. 100 ms, as Snapcast's PulseAudio player asks: with 40 ms the
 * stream underran every few hundred ms on the busy test machine. */
#define BUFFER_TIME_US G_GINT64_CONSTANT (100000)
#define DEFAULT_BUFFER_TIME_US G_GINT64_CONSTANT (200000)
/* Readings: the long window (2 s) steers the slew, the short one (0.5 s)
 * decides steps; while settling, a step waits for SETTLE_READINGS readings
 * since the last (0.4 s). */
#define LONG_WINDOW 200
#define SHORT_WINDOW 50
#define MIN_READINGS 10
#define SETTLE_CHUNKS 150
#define SETTLE_TOLERANCE_MS 2.0
#define SETTLE_READINGS 40
#define STEP_MS 5.0
#define DEADBAND_MS 0.05
#define MAX_READING_WAIT (GST_MSECOND / 2)
#define SLEW_SECONDS 1.0
#define MAX_CORRECTION_PER_CHUNK 2.0

struct _RcDeviceFeeder
{
  char *name;
  GstClock *clock;
  RcPcmTimeline *timeline; /* not owned */
  RcDeviceChunkFunc func;
  gpointer user_data;
  GstElement *pipeline;
  GstElement *src;
  GstAudioBaseSink *sink;
  gboolean queued_in_sink; /* a GstAudioSink: its ring buffer's segments lie before the device */

  /* appsrc's streaming thread only */
  gboolean started;
  gint64 cursor;        /* timeline position of the next frame out */
  guint64 out_frames;   /* frames written to the sink */
  guint64 settle_left;  /* chunks of settling still to go */
  double anchors[LONG_WINDOW]; /* ms, the last readings of A, a ring */
  guint n_anchors;
  guint next_anchor;
  double owed;          /* frames of correction owed, + = to drop */
  double last_delay_ms; /* the device's delay last read */
  gint16 scratch[(CHUNK_FRAMES + (guint) MAX_CORRECTION_PER_CHUNK + 1) * CHANNELS];

  GMutex lock; /* protects stats */
  RcDeviceFeederStats stats;
};

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The median of the last @n readings (n ≤ n_anchors). */
static double
anchor_median (RcDeviceFeeder *self, guint n)
{
  double sorted[LONG_WINDOW];

  for (guint i = 0; i < n; i++)
    sorted[i] = self->anchors[(self->next_anchor + LONG_WINDOW - 1 - i) % LONG_WINDOW];
  qsort (sorted, n, sizeof sorted[0], compare_double);
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static void
add_anchor (RcDeviceFeeder *self, double anchor)
{
  self->anchors[self->next_anchor] = anchor;
  self->next_anchor = (self->next_anchor + 1) % LONG_WINDOW;
  self->n_anchors = MIN (self->n_anchors + 1, LONG_WINDOW);
}

/*
 * Frames the device holds before the next frame written, on a GstAudioSink
 * (alsasink): what the device reports (snd_pcm_delay) plus the ring
 * buffer's segments its thread has not yet handed to the device.
 */
static gboolean
ring_buffer_delay (RcDeviceFeeder *self, GstAudioRingBuffer *rb, gint rate, double *delay_ms)
{
  guint64 frames = gst_audio_ring_buffer_delay (rb);
  gint64 played = ((gint64) g_atomic_int_get (&rb->segdone) - rb->segbase)
                  * (gint64) rb->samples_per_seg;
  gint64 next = (gint64) self->sink->next_sample;

  /* A playing device always holds something: 0 is "no timing yet". */
  if (frames == 0)
    return FALSE;
  if (self->sink->next_sample != (guint64) -1 && next > played)
    frames += (guint64) (next - played);
  *delay_ms = (double) frames * 1000.0 / rate;
  return TRUE;
}

/*
 * The same for a sink that writes straight into its device's own buffer
 * (pulsesink: sample n is written at byte n × bpf of the PulseAudio stream)
 * and whose clock is the device's playback position (pulsesink's is
 * pa_stream_get_time: the read index less the sink's latency, the reading
 * pa_stream_get_latency is made of): the next frame's index less that
 * position. Negative after an underrun (the device went on without data).
 */
static gboolean
clock_delay (RcDeviceFeeder *self, gint rate, double *delay_ms)
{
  GstClock *device = self->sink->provided_clock;
  GstClockTime played;

  if (device == NULL || !GST_IS_AUDIO_CLOCK (device) || self->sink->next_sample == (guint64) -1)
    return FALSE;
  played = gst_audio_clock_get_time (GST_AUDIO_CLOCK (device));
  /* 0 until the device plays (pulsesink starts corked). */
  if (!GST_CLOCK_TIME_IS_VALID (played) || played == 0)
    return FALSE;
  *delay_ms = (double) self->sink->next_sample * 1000.0 / rate - (double) played / GST_MSECOND;
  return TRUE;
}

/*
 * When the next frame written will leave the device, on the server clock
 * (ms), and the device's delay; FALSE while the device cannot say (not
 * started, no timing yet).
 */
static gboolean
read_device (RcDeviceFeeder *self, double *leaves_ms, double *delay_ms)
{
  GstAudioRingBuffer *rb = self->sink->ringbuffer;
  GstClockTime before, after;
  gboolean known;
  gint rate;

  if (rb == NULL || !gst_audio_ring_buffer_is_acquired (rb)
      || g_atomic_int_get (&rb->state) != GST_AUDIO_RING_BUFFER_STATE_STARTED
      || !gst_clock_is_synced (self->clock))
    return FALSE;
  rate = GST_AUDIO_INFO_RATE (&rb->spec.info);
  if (rate <= 0)
    return FALSE;
  before = gst_clock_get_time (self->clock);
  known = self->queued_in_sink ? ring_buffer_delay (self, rb, rate, delay_ms)
                               : clock_delay (self, rate, delay_ms);
  after = gst_clock_get_time (self->clock);
  /* Both readings take the device's lock (PulseAudio's main loop) and then
   * read its clock: the reading is of the end of the call. A call that
   * waited long on the lock is dropped, its moment too uncertain. */
  if (!known || after - before > MAX_READING_WAIT)
    return FALSE;
  *leaves_ms = (double) after / GST_MSECOND + *delay_ms;
  return TRUE;
}

/* Where the cursor puts the output against the anchor @anchor: + = late. */
static double
error_of (RcDeviceFeeder *self, double anchor)
{
  return anchor - (double) (self->cursor - (gint64) self->out_frames) * 1000.0 / RATE;
}

static void
step (RcDeviceFeeder *self, double error_ms, const char *why)
{
  gint64 frames = (gint64) llround (error_ms * RATE / 1000.0);

  self->cursor += frames;
  self->owed = 0;
  g_mutex_lock (&self->lock);
  self->stats.steps++;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self->sink, "%s: output stepped by %+.3f ms (%s)", self->name, error_ms, why);
}

/*
 * Takes a reading and decides the correction of this chunk: frames to
 * take from the timeline for CHUNK_FRAMES out (CHUNK_FRAMES ± up to
 * MAX_CORRECTION_PER_CHUNK).
 * Fills @chunk's measurement.
 */
static guint
control (RcDeviceFeeder *self, RcDeviceChunk *chunk)
{
  double leaves_ms, delay_ms, error_ms, long_error;
  gboolean measured = read_device (self, &leaves_ms, &delay_ms);

  if (!measured && !self->started)
    return CHUNK_FRAMES;
  if (measured)
    {
      add_anchor (self, leaves_ms - (double) self->out_frames * 1000.0 / RATE);
      GST_TRACE_OBJECT (self->sink, "%s: reading: anchor %.3f ms, delay %.3f ms", self->name,
                        leaves_ms - (double) self->out_frames * 1000.0 / RATE, delay_ms);
      g_mutex_lock (&self->lock);
      self->stats.delay_ms = delay_ms;
      g_mutex_unlock (&self->lock);
      self->last_delay_ms = delay_ms;
    }
  chunk->delay_ms = self->last_delay_ms;
  if (!self->started)
    {
      /* The first reading: play from where the device is. */
      self->started = TRUE;
      self->settle_left = SETTLE_CHUNKS;
      self->cursor = (gint64) llround (leaves_ms * RATE / 1000.0);
      g_mutex_lock (&self->lock);
      self->stats.steps++;
      g_mutex_unlock (&self->lock);
      return CHUNK_FRAMES;
    }
  if (self->n_anchors < MIN_READINGS)
    return CHUNK_FRAMES;
  error_ms = error_of (self, anchor_median (self, MIN (self->n_anchors, SHORT_WINDOW)));
  /* Settling steps wait for the readings since the last one. */
  if (fabs (error_ms) > STEP_MS
      || (self->settle_left > 0 && self->n_anchors >= SETTLE_READINGS
          && fabs (error_ms) > SETTLE_TOLERANCE_MS))
    {
      step (self, error_ms, self->settle_left > 0 ? "settling" : "beyond the step threshold");
      /* The readings before an underrun or a stall say nothing of the
       * device after it; only the latest stays. */
      self->anchors[0] = self->anchors[(self->next_anchor + LONG_WINDOW - 1) % LONG_WINDOW];
      self->n_anchors = 1;
      self->next_anchor = 1;
      error_ms = 0;
    }
  if (self->settle_left > 0)
    self->settle_left--;
  long_error = self->n_anchors >= MIN_READINGS
                 ? error_of (self, anchor_median (self, self->n_anchors))
                 : error_ms;
  chunk->measured = TRUE;
  chunk->error_ms = long_error;
  GST_LOG_OBJECT (self->sink, "%s: delay %.3f ms, error %+.3f ms (short %+.3f), owed %+.2f",
                  self->name, chunk->delay_ms, long_error, error_ms, self->owed);
  if (fabs (long_error) <= DEADBAND_MS)
    {
      self->owed = 0;
      return CHUNK_FRAMES;
    }
  {
    double rate = long_error * RATE / 1000.0 * CHUNK_FRAMES / (SLEW_SECONDS * RATE);

    rate = CLAMP (rate, -MAX_CORRECTION_PER_CHUNK, MAX_CORRECTION_PER_CHUNK);
    if ((self->owed > 0) != (rate > 0))
      self->owed = 0;
    self->owed += rate;
  }
  {
    /* Whole frames now, the fraction carried to the next chunk. */
    gint whole = (gint) trunc (self->owed);

    self->owed -= whole;
    return (guint) ((gint) CHUNK_FRAMES + whole);
  }
}

/* @taken frames of scratch into CHUNK_FRAMES at @out: the difference
 * dropped, or inserted (each the mean of its neighbours), one frame at a
 * time at points spread evenly over the chunk. */
static void
fit (const gint16 *in, guint taken, gint16 *out)
{
  const gint k = (gint) taken - CHUNK_FRAMES;
  const guint n = (guint) ABS (k);
  const gsize frame = CHANNELS * sizeof (gint16);
  guint i = 0, o = 0;

  for (guint segment = 0; segment <= n; segment++)
    {
      guint end = (segment + 1) * CHUNK_FRAMES / (n + 1);

      memcpy (out + o * CHANNELS, in + i * CHANNELS, (end - o) * frame);
      i += end - o;
      o = end;
      if (segment == n)
        break;
      if (k > 0)
        i++;
      else
        {
          for (guint c = 0; c < CHANNELS; c++)
            out[o * CHANNELS + c] =
              (gint16) (((gint32) in[(i - 1) * CHANNELS + c] + in[i * CHANNELS + c]) / 2);
          o++;
        }
    }
}

/* appsrc's streaming thread, its queue empty: everything before is written. */
static void
on_need_data (GstAppSrc *src, guint length, gpointer data)
{
  RcDeviceFeeder *self = data;
  RcDeviceChunk chunk = { .frames = CHUNK_FRAMES };
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, CHUNK_FRAMES * CHANNELS * sizeof (gint16),
                                               NULL);
  GstMapInfo map;
  guint taken = control (self, &chunk);

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  if (self->started)
    {
      chunk.audio_frames = rc_pcm_timeline_read (self->timeline, self->cursor, self->scratch, taken);
      fit (self->scratch, taken, (gint16 *) map.data);
      self->cursor += taken;
    }
  else
    memset (map.data, 0, map.size);
  gst_buffer_unmap (buffer, &map);
  GST_BUFFER_PTS (buffer) = gst_util_uint64_scale_int (self->out_frames, GST_SECOND, RATE);
  GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale_int (CHUNK_FRAMES, GST_SECOND, RATE);
  self->out_frames += CHUNK_FRAMES;
  g_mutex_lock (&self->lock);
  self->stats.chunks++;
  if (taken > CHUNK_FRAMES)
    self->stats.dropped += taken - CHUNK_FRAMES;
  else
    self->stats.inserted += CHUNK_FRAMES - taken;
  g_mutex_unlock (&self->lock);
  if (self->func != NULL)
    self->func (&chunk, self->user_data);
  gst_app_src_push_buffer (src, buffer);
}

/* The audio sink inside @bin (itself, or deep inside, e.g. autoaudiosink's). */
static GstAudioBaseSink *
find_audio_sink (GstElement *element)
{
  GstIterator *it;
  GValue item = G_VALUE_INIT;
  GstAudioBaseSink *found = NULL;

  if (GST_IS_AUDIO_BASE_SINK (element))
    return g_object_ref (GST_AUDIO_BASE_SINK (element));
  if (!GST_IS_BIN (element))
    return NULL;
  it = gst_bin_iterate_recurse (GST_BIN (element));
  while (found == NULL && gst_iterator_next (it, &item) == GST_ITERATOR_OK)
    {
      GstElement *child = g_value_get_object (&item);

      if (GST_IS_AUDIO_BASE_SINK (child))
        found = g_object_ref (GST_AUDIO_BASE_SINK (child));
      g_value_reset (&item);
    }
  g_value_unset (&item);
  gst_iterator_free (it);
  return found;
}

static void
configure_sink (RcDeviceFeeder *self)
{
  gint64 buffer_time = 0;

  g_object_get (self->sink, "buffer-time", &buffer_time, NULL);
  /* A description that chose its own buffer keeps it. */
  if (buffer_time == DEFAULT_BUFFER_TIME_US)
    g_object_set (self->sink, "buffer-time", (gint64) BUFFER_TIME_US, NULL);
  g_object_set (self->sink, "sync", FALSE, NULL);
  self->queued_in_sink = GST_IS_AUDIO_SINK (self->sink);
  self->stats.sink_name =
    g_strdup (GST_OBJECT_NAME (gst_element_get_factory (GST_ELEMENT (self->sink))));
}

RcDeviceFeeder *
rc_device_feeder_new (const char *name, const char *sink, GstClock *clock,
                      RcPcmTimeline *timeline, RcDeviceChunkFunc func, gpointer user_data,
                      GError **error)
{
  g_autoptr (RcDeviceFeeder) self = g_new0 (RcDeviceFeeder, 1);
  g_autofree char *description = NULL;
  GstAppSrcCallbacks callbacks = { .need_data = on_need_data };

  GST_DEBUG_CATEGORY_INIT (rc_device_feeder_debug, "rc-device-feeder", 0,
                           "native guest: a device fed by its delay");
  g_mutex_init (&self->lock);
  self->name = g_strdup (name);
  self->clock = gst_object_ref (clock);
  self->timeline = timeline;
  self->func = func;
  self->user_data = user_data;
  description = g_strdup_printf ("appsrc name=feed format=time is-live=false caps=\"" PCM_CAPS
                                 "\" ! audioconvert ! audioresample ! %s",
                                 sink);
  self->pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (self->pipeline == NULL)
    return NULL;
  self->src = gst_bin_get_by_name (GST_BIN (self->pipeline), "feed");
  /* autoaudiosink makes its sink on the way to READY. */
  if (gst_element_set_state (self->pipeline, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                   "The audio output (%s) would not open", sink);
      return NULL;
    }
  self->sink = find_audio_sink (self->pipeline);
  if (self->sink == NULL || self->src == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s is no audio sink", sink);
      return NULL;
    }
  configure_sink (self);
  gst_app_src_set_callbacks (GST_APP_SRC (self->src), &callbacks, self, NULL);
  gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), clock);
  return g_steal_pointer (&self);
}

GstBus *
rc_device_feeder_get_bus (RcDeviceFeeder *self)
{
  return gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
}

/*
 * pulsesink writes only when its PulseAudio main loop thread (libpulse's
 * "threaded-ml", one per process, made when the first pulsesink opens)
 * signals that the server asked for data: on a busy machine that thread at
 * normal priority is late, the stream underruns and every underrun delays
 * the output by its length. It gets the feeder's real-time priority (here,
 * with 2 busy cores: 74 underruns in 20 s before, 18 after).
 */
static void
raise_device_threads (RcDeviceFeeder *self)
{
#ifdef __linux__
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  struct sched_param param = { .sched_priority = RC_DEVICE_FEEDER_PRIORITY };
  const char *tid;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", tid, "comm", NULL);
      g_autofree char *comm = NULL;

      if (!g_file_get_contents (path, &comm, NULL, NULL) || !g_str_has_prefix (comm, "threaded-ml"))
        continue;
      if (sched_setscheduler ((pid_t) g_ascii_strtoll (tid, NULL, 10), SCHED_FIFO, &param) == 0)
        GST_INFO_OBJECT (self->sink, "%s: PulseAudio's thread %s made real-time", self->name, tid);
    }
#endif
}

gboolean
rc_device_feeder_start (RcDeviceFeeder *self, gboolean realtime, GError **error)
{
  if (realtime)
    raise_device_threads (self);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                   "The audio output (%s) would not start", self->stats.sink_name);
      return FALSE;
    }
  return TRUE;
}

void
rc_device_feeder_get_stats (RcDeviceFeeder *self, RcDeviceFeederStats *stats)
{
  g_mutex_lock (&self->lock);
  *stats = self->stats;
  stats->sink_name = g_strdup (self->stats.sink_name);
  g_mutex_unlock (&self->lock);
}

void
rc_device_feeder_free (RcDeviceFeeder *self)
{
  if (self == NULL)
    return;
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  gst_clear_object (&self->sink);
  gst_clear_object (&self->src);
  gst_clear_object (&self->pipeline);
  gst_clear_object (&self->clock);
  g_mutex_clear (&self->lock);
  g_free (self->stats.sink_name);
  g_free (self->name);
  g_free (self);
}

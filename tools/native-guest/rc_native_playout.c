/* SPDX-License-Identifier: MIT */
/*
 * Rendering sample C at server time C + D on a native guest.
 *
 * Two ways, by the sink:
 *
 * - Measuring (appsink, "rendering only"; also any sink that is no audio
 *   device, e.g. fakesink sync=true): one clocked pipeline,
 *     appsrc (Opus, PTS = C + D − L) ─ opusdec ─ audioconvert ─ audioresample
 *       ─ S16LE 48 kHz stereo ─ queue ─ appsink sync=true | any sink
 * - A real audio device (pulsesink, alsasink, autoaudiosink's choice):
 *     appsrc (Opus, PTS = C + D − L) ─ opusdec ─ … ─ appsink sync=false
 *       → RcPcmTimeline (PCM by the time it is to be heard)
 *       → RcDeviceFeeder: the sink, sync=false, fed at its demand with the
 *         frames its device will play next, by the device's delay read at
 *         every write (rc_device_feeder.c says why: a clocked audio sink
 *         slaved to the server wandered by tens of ms at the speaker).
 *
 * Why it is built this way:
 * - The clock is a GstNetClientClock on the server's clock port. In the
 *   clocked pipeline it is the pipeline's clock, its base time 0 and its
 *   start time NONE (GStreamer leaves both alone), so running time is
 *   server time and a buffer stamped C + D is rendered when the server
 *   clock reads C + D; the feeder reads it beside the device's delay.
 *   Nothing is pushed before the clock reports itself synced.
 * - opusdec keeps each packet's timestamp (GstAudioDecoder resyncs to every
 *   input timestamp at its default tolerance 0), so a lost packet or a new D
 *   is just a buffer flagged DISCONT at its own time (or a gap in the
 *   timeline: silence).
 * - The measurement is the sink's, not the stamp's: the appsink hands a
 *   buffer over when its clock wait returns, and that moment, read on the
 *   same net clock, is the render time. The recording puts each buffer at
 *   the position of that time, so it shows what was late and by how much;
 *   nothing is aligned after the fact. Other clocked sinks are sampled by
 *   position query; a device's error is the feeder's reading.
 * - Decoding runs ahead of rendering (appsrc's thread, up to the queue);
 *   the queue's thread only waits on the clock and hands over, so waking
 *   at C + D costs microseconds even when many guests share the machine
 *   and all wake at the same instant. The streaming threads may run at
 *   SCHED_FIFO, as audio clients' threads do, so a busy machine delays them
 *   less; each asks on the STREAM_STATUS "enter" message it posts itself.
 * - The recording's sidecar also keeps, every second, the net clock minus
 *   this machine's monotonic clock: on the server's own machine the server
 *   clock *is* the monotonic clock, so a benchmark can see the network
 *   clock's own error, which the guest cannot see from inside.
 *
 * Locking: `lock` covers the timeline and every figure; it is taken by the
 * pushing thread (main context or webrtcbin's), the sink's streaming thread
 * and the owner. The WAV file is written only from the sink's thread and
 * closed after the pipeline is down.
 */
#include "rc_native_playout.h"
#include "rc_device_feeder.h"
#include "rc_pcm_timeline.h"
#include "pipelines/rc_stats.h"

#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/gstaudiobasesink.h>
#include <gst/net/gstnetclientclock.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define RATE 48000
#define BYTES_PER_FRAME 4
#define PACKET_MS 20.0
#define OPUS_CAPS                                                                                  \
  "audio/x-opus,rate=48000,channels=2,channel-mapping-family=0,stream-count=1,coupled-count=1"
#define PCM_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"
#define WAV_HEADER 44
/* How often a sink other than the appsink is asked where it is. */
#define POSITION_SAMPLE_MS 100
#define CLOCK_OFFSET_EVERY (GST_SECOND)
/* Arrivals in the first second of packets are not reported: they include
 * what the server queued while the connection was being made (its WebRTC
 * branch holds up to 200 ms before DTLS is up), which says nothing of the
 * path and would raise the room's D for everyone. */
#define ARRIVAL_WARMUP_US (G_USEC_PER_SEC)

struct _RcNativePlayout
{
  char *name;
  char *transport;
  char *record_path;
  double latency_offset_ms;
  GMainContext *context;
  GstClock *clock;
  GstElement *pipeline;
  GstElement *src;
  GstElement *sink;
  gboolean app_sink;
  RcPcmTimeline *timeline; /* with a feeder: what the decoder wrote, by time */
  RcDeviceFeeder *feeder;  /* NULL: the pipeline renders by clock */
  guint bus_watch;
  guint feeder_bus_watch;
  GSource *position_source;
  char *failure; /* owner's thread */
  gint64 created_local_us;
  gboolean started; /* the pipeline was built and set going */
  gboolean want_realtime;
  gint realtime; /* atomic: the streaming thread got SCHED_FIFO */

  GMutex lock; /* protects everything below */
  gboolean have_timeline;
  guint32 rtp0;
  double server0_ms;
  guint clock_rate;
  double delay_ms;
  double delay_before_ms;    /* D until delay_change_at_ms (heard time, server ms) */
  double delay_change_at_ms; /* 0: no change pending */
  double delay_used_ms;      /* the D the last packet was placed with; -1 none */
  gboolean discont_next;
  double last_c_ms; /* C of the last packet taken or dropped late; -1 none */
  double last_transit_ms;
  gboolean have_transit;
  double jitter_ms;
  double device_lead_ms; /* with a feeder: how far ahead of its time the device takes a sample */
  gint64 synced_local_us;
  gint64 first_packet_local_us;
  gint64 last_push_local_us;
  GArray *delays; /* double pairs: server time ms when taken, D ms */

  guint64 received, pushed, underruns, early_drops, resyncs, discontinuities;
  guint64 rendered_buffers, rendered_frames;
  gint64 first_render_us;
  GArray *all_errors;      /* double |error| ms, whole run */
  GArray *period_errors;   /* double ms */
  GArray *period_arrivals; /* double ms */
  guint64 period_underruns;
  guint period_received;

  /* recording (sink thread while running) */
  FILE *wav;
  gboolean rec_started;
  GstClockTime rec_t0;       /* net clock at the first rendered sample */
  GstClockTime rec_t0_local; /* the monotonic clock at the same instant */
  guint64 rec_frames;        /* end of the furthest data written */
  GArray *clock_offsets;     /* double pairs: server time ms, net − local ms */
  GstClockTime last_offset_at;
  GByteArray *pcm;
};

static double
ns_to_ms (GstClockTimeDiff ns)
{
  return (double) ns / GST_MSECOND;
}

/* CLOCK_MONOTONIC, as GStreamer's system clock reads it. */
static GstClockTime
local_now (void)
{
  return gst_util_get_timestamp ();
}

static void
write_wav_header (FILE *f, guint64 data_bytes)
{
  guint32 data = (guint32) MIN (data_bytes, G_MAXUINT32 - 36);
  guint8 h[WAV_HEADER];

  memcpy (h, "RIFF", 4);
  GST_WRITE_UINT32_LE (h + 4, 36 + data);
  memcpy (h + 8, "WAVEfmt ", 8);
  GST_WRITE_UINT32_LE (h + 16, 16);
  GST_WRITE_UINT16_LE (h + 20, 1);
  GST_WRITE_UINT16_LE (h + 22, 2);
  GST_WRITE_UINT32_LE (h + 24, RATE);
  GST_WRITE_UINT32_LE (h + 28, RATE * BYTES_PER_FRAME);
  GST_WRITE_UINT16_LE (h + 32, BYTES_PER_FRAME);
  GST_WRITE_UINT16_LE (h + 34, 16);
  memcpy (h + 36, "data", 4);
  GST_WRITE_UINT32_LE (h + 40, data);
  fwrite (h, 1, sizeof h, f);
}

/* A render error measured (ms, positive = late); under the lock. */
static void
note_error (RcNativePlayout *self, double error_ms)
{
  double magnitude = fabs (error_ms);

  g_array_append_val (self->period_errors, error_ms);
  g_array_append_val (self->all_errors, magnitude);
}

/* Writes @frames rendered frames at their render time; sink thread. */
static void
record (RcNativePlayout *self, const guint8 *data, gsize bytes, GstClockTime now,
        GstClockTime local)
{
  gint64 pos;

  if (!self->rec_started)
    {
      self->rec_started = TRUE;
      self->rec_t0 = now;
      self->rec_t0_local = local;
    }
  if (now - self->last_offset_at >= CLOCK_OFFSET_EVERY || self->clock_offsets->len == 0)
    {
      double pair[2] = { ns_to_ms ((GstClockTimeDiff) now),
                         ns_to_ms (GST_CLOCK_DIFF (local, now)) };

      g_array_append_vals (self->clock_offsets, pair, 2);
      self->last_offset_at = now;
    }
  if (self->wav == NULL)
    return;
  pos = (gint64) llround ((double) GST_CLOCK_DIFF (self->rec_t0, now) * RATE / GST_SECOND);
  if (pos < 0)
    pos = 0;
  if (fseeko (self->wav, WAV_HEADER + (off_t) pos * BYTES_PER_FRAME, SEEK_SET) != 0
      || fwrite (data, 1, bytes, self->wav) != bytes)
    return;
  self->rec_frames = MAX (self->rec_frames, (guint64) pos + bytes / BYTES_PER_FRAME);
}

/* An appsink's next sample, its buffer mapped for reading and its PTS;
 * FALSE (and *@flow to return) when there is none or it has no time. */
static gboolean
pull_mapped (GstAppSink *sink, GstSample **sample, GstMapInfo *map, GstClockTime *pts,
             GstFlowReturn *flow)
{
  GstBuffer *buffer;

  *sample = gst_app_sink_pull_sample (sink);
  *flow = *sample == NULL ? GST_FLOW_EOS : GST_FLOW_OK;
  if (*sample == NULL)
    return FALSE;
  buffer = gst_sample_get_buffer (*sample);
  *pts = GST_BUFFER_PTS (buffer);
  return GST_CLOCK_TIME_IS_VALID (*pts) && gst_buffer_map (buffer, map, GST_MAP_READ);
}

/* The appsink's streaming thread, right after its clock wait for the buffer. */
static GstFlowReturn
on_rendered (GstAppSink *sink, gpointer data)
{
  RcNativePlayout *self = data;
  GstClockTime l1 = local_now ();
  GstClockTime now = gst_clock_get_time (self->clock);
  GstClockTime l2 = local_now ();
  g_autoptr (GstSample) sample = NULL;
  GstBuffer *buffer;
  GstMapInfo map;
  GstClockTime pts;
  GstFlowReturn flow;

  if (!pull_mapped (sink, &sample, &map, &pts, &flow))
    return flow;
  buffer = gst_sample_get_buffer (sample);
  g_mutex_lock (&self->lock);
  if (self->first_render_us == 0)
    self->first_render_us = g_get_monotonic_time ();
  self->rendered_buffers++;
  self->rendered_frames += map.size / BYTES_PER_FRAME;
  note_error (self, ns_to_ms (GST_CLOCK_DIFF (pts, now)));
  record (self, map.data, map.size - map.size % BYTES_PER_FRAME, now, l1 + (l2 - l1) / 2);
  if (self->pcm != NULL)
    g_byte_array_append (self->pcm, map.data, map.size);
  g_mutex_unlock (&self->lock);
  gst_buffer_unmap (buffer, &map);
  return GST_FLOW_OK;
}

/* Sinks that render on their own: what reaches them (their render is theirs). */
static GstPadProbeReturn
on_sink_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RcNativePlayout *self = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  g_mutex_lock (&self->lock);
  self->rendered_frames += gst_buffer_get_size (buffer) / BYTES_PER_FRAME;
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_OK;
}

/* Sinks that render on their own but are no GstAudioBaseSink: where they
 * say they are (their position query against the clock). */
static gboolean
sample_position (gpointer data)
{
  RcNativePlayout *self = data;
  gint64 position = -1;
  GstClockTime now;
  gboolean flowing;

  if (GST_STATE (self->pipeline) != GST_STATE_PLAYING
      || !gst_element_query_position (self->sink, GST_FORMAT_TIME, &position) || position <= 0)
    return G_SOURCE_CONTINUE;
  now = gst_clock_get_time (self->clock);
  g_mutex_lock (&self->lock);
  /* Only while packets flow: a sink out of data stands still. */
  flowing = self->last_push_local_us > 0
            && g_get_monotonic_time () - self->last_push_local_us < 200 * 1000;
  if (flowing)
    {
      if (self->first_render_us == 0)
        self->first_render_us = g_get_monotonic_time ();
      self->rendered_buffers++;
      note_error (self, ns_to_ms (GST_CLOCK_DIFF ((GstClockTime) position, now)));
      record (self, NULL, 0, now, local_now ());
    }
  g_mutex_unlock (&self->lock);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_bus (GstBus *bus, GstMessage *message, gpointer data)
{
  RcNativePlayout *self = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR && self->failure == NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;

      gst_message_parse_error (message, &error, &debug);
      g_debug ("%s: playout: %s (%s)", self->name, error->message, debug);
      self->failure = g_strdup_printf ("playout: %s: %s", GST_MESSAGE_SRC_NAME (message),
                                       error->message);
    }
  return G_SOURCE_CONTINUE;
}

/* Posted by a streaming thread as it starts: raise that thread. */
static GstBusSyncReply
on_bus_sync (GstBus *bus, GstMessage *message, gpointer data)
{
  RcNativePlayout *self = data;
  GstStreamStatusType type;
  GstElement *owner = NULL;
  struct sched_param param = { .sched_priority = RC_DEVICE_FEEDER_PRIORITY };

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_STREAM_STATUS || !self->want_realtime)
    return GST_BUS_PASS;
  gst_message_parse_stream_status (message, &type, &owner);
  if (type != GST_STREAM_STATUS_TYPE_ENTER)
    return GST_BUS_PASS;
  if (pthread_setschedparam (pthread_self (), SCHED_FIFO, &param) == 0)
    g_atomic_int_set (&self->realtime, 1);
  else
    g_debug ("%s: no real-time priority for %s's thread", self->name, GST_ELEMENT_NAME (owner));
  return GST_BUS_PASS;
}

/* With a feeder: the decoder's thread, a buffer decoded; into the timeline. */
static GstFlowReturn
on_decoded (GstAppSink *sink, gpointer data)
{
  RcNativePlayout *self = data;
  g_autoptr (GstSample) sample = NULL;
  GstMapInfo map;
  GstClockTime pts;
  GstFlowReturn flow;
  guint late;

  if (!pull_mapped (sink, &sample, &map, &pts, &flow))
    return flow;
  late = rc_pcm_timeline_write (self->timeline,
                                (gint64) gst_util_uint64_scale_int_round (pts, RATE, GST_SECOND),
                                (const gint16 *) map.data, (guint) (map.size / BYTES_PER_FRAME));
  gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
  if (late > 0)
    {
      /* Decoded after its device had taken its place: not heard. */
      g_mutex_lock (&self->lock);
      self->underruns++;
      self->period_underruns++;
      g_mutex_unlock (&self->lock);
    }
  return GST_FLOW_OK;
}

/* The feeder's thread, a chunk written to the device. */
static void
on_device_chunk (const RcDeviceChunk *chunk, gpointer data)
{
  RcNativePlayout *self = data;

  if (chunk->audio_frames == 0)
    return;
  g_mutex_lock (&self->lock);
  if (self->first_render_us == 0)
    self->first_render_us = g_get_monotonic_time ();
  self->rendered_buffers++;
  self->rendered_frames += chunk->audio_frames;
  if (chunk->measured)
    {
      note_error (self, chunk->error_ms);
      self->device_lead_ms = MAX (chunk->delay_ms, 0);
    }
  g_mutex_unlock (&self->lock);
}

/* Bus watches of a pipeline: errors, and real-time streaming threads. */
static guint
watch_bus (RcNativePlayout *self, GstBus *bus)
{
  gst_bus_set_sync_handler (bus, on_bus_sync, self, NULL);
  return gst_bus_add_watch (bus, on_bus, self);
}

/* Opens @sink through a device feeder; FALSE with no error when @sink is
 * no audio device (it is then run on the clock). */
static gboolean
build_feeder (RcNativePlayout *self, const char *sink, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GstBus) bus = NULL;

  self->timeline = rc_pcm_timeline_new ();
  self->feeder = rc_device_feeder_new (self->name, sink, self->clock, self->timeline,
                                       on_device_chunk, self, &local);
  if (self->feeder == NULL)
    {
      g_clear_pointer (&self->timeline, rc_pcm_timeline_free);
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        return FALSE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  bus = rc_device_feeder_get_bus (self->feeder);
  self->feeder_bus_watch = watch_bus (self, bus);
  return TRUE;
}

static gboolean
build (RcNativePlayout *self, const RcNativePlayoutOptions *options, GError **error)
{
  g_autofree char *description = NULL;
  const char *sink = options->sink;
  g_autoptr (GstBus) bus = NULL;

  self->want_realtime = options->realtime;
  self->app_sink = sink == NULL && (options->record_path != NULL || options->keep_pcm);
  if (self->app_sink)
    sink = "appsink name=sink sync=true max-buffers=0 drop=false qos=false";
  else
    {
      if (!build_feeder (self, sink != NULL ? sink : "autoaudiosink", error)
          && error != NULL && *error != NULL)
        return FALSE;
      if (self->feeder != NULL)
        sink = "appsink name=sink sync=false max-buffers=0 drop=false qos=false";
      else if (sink == NULL)
        sink = "autoaudiosink name=sink"; /* found no device: it falls back to a fakesink */
    }
  /* The queue (unbounded: it holds up to D of PCM) decodes ahead in its own
   * thread, so the thread that wakes at C + D only hands over. */
  description = g_strdup_printf ("appsrc name=src format=time is-live=false caps=\"" OPUS_CAPS
                                 "\" ! opusdec ! audioconvert ! audioresample ! " PCM_CAPS
                                 "%s ! %s",
                                 self->feeder != NULL
                                   ? ""
                                   : " ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0",
                                 sink);
  self->pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (self->pipeline == NULL)
    return FALSE;
  self->src = gst_bin_get_by_name (GST_BIN (self->pipeline), "src");
  self->sink = gst_bin_get_by_name (GST_BIN (self->pipeline), "sink");
  if (self->sink == NULL)
    {
      /* A description of its own: the last element is the sink. */
      GstIterator *it = gst_bin_iterate_sinks (GST_BIN (self->pipeline));
      GValue item = G_VALUE_INIT;

      if (gst_iterator_next (it, &item) == GST_ITERATOR_OK)
        self->sink = g_value_dup_object (&item);
      g_value_unset (&item);
      gst_iterator_free (it);
    }
  if (self->src == NULL || self->sink == NULL)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                           "The playout pipeline has no source or sink");
      return FALSE;
    }
  if (self->app_sink || self->feeder != NULL)
    {
      GstAppSinkCallbacks callbacks = { .new_sample = self->app_sink ? on_rendered : on_decoded };

      gst_app_sink_set_callbacks (GST_APP_SINK (self->sink), &callbacks, self, NULL);
    }
  else
    {
      g_autoptr (GstPad) pad = gst_element_get_static_pad (self->sink, "sink");

      if (pad != NULL)
        gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, self, NULL);
      self->position_source = g_timeout_source_new (POSITION_SAMPLE_MS);
      g_source_set_callback (self->position_source, sample_position, self, NULL);
      g_source_attach (self->position_source, self->context);
    }

  /* Running time is server time. */
  gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), self->clock);
  gst_element_set_start_time (self->pipeline, GST_CLOCK_TIME_NONE);
  gst_element_set_base_time (self->pipeline, 0);
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = watch_bus (self, bus);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                   "The playout pipeline (%s) would not start", sink);
      return FALSE;
    }
  if (self->feeder != NULL && !rc_device_feeder_start (self->feeder, self->want_realtime, error))
    return FALSE;
  self->started = TRUE;
  return TRUE;
}

RcNativePlayout *
rc_native_playout_new (const RcNativePlayoutOptions *options, GError **error)
{
  g_autoptr (RcNativePlayout) self = g_new0 (RcNativePlayout, 1);

  self->name = g_strdup (options->name != NULL ? options->name : "guest");
  self->transport = g_strdup (options->transport != NULL ? options->transport : "webrtc");
  self->record_path = g_strdup (options->record_path);
  self->latency_offset_ms = options->latency_offset_ms;
  self->context = g_main_context_ref_thread_default ();
  self->created_local_us = g_get_monotonic_time ();
  g_mutex_init (&self->lock);
  self->delay_ms = -1;
  self->delay_used_ms = -1;
  self->last_c_ms = -1;
  self->delays = g_array_new (FALSE, FALSE, sizeof (double));
  self->all_errors = g_array_new (FALSE, FALSE, sizeof (double));
  self->period_errors = g_array_new (FALSE, FALSE, sizeof (double));
  self->period_arrivals = g_array_new (FALSE, FALSE, sizeof (double));
  self->clock_offsets = g_array_new (FALSE, FALSE, sizeof (double));
  if (options->keep_pcm)
    self->pcm = g_byte_array_new ();

  if (options->clock_address == NULL || options->clock_port == 0 || options->clock_port > 65535)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                           "The server gave no clock port");
      return NULL;
    }
  self->clock = gst_net_client_clock_new ("server-clock", options->clock_address,
                                          (gint) options->clock_port, 0);
  if (self->clock == NULL)
    {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                   "Cannot follow the server clock at %s:%u", options->clock_address,
                   options->clock_port);
      return NULL;
    }
  if (options->record_path != NULL && options->sink != NULL)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                           "A recording is made by the measuring appsink: no sink of your own");
      return NULL;
    }
  if (options->record_path != NULL)
    {
      self->wav = fopen (options->record_path, "w+b");
      if (self->wav == NULL)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Cannot write %s: %s",
                       options->record_path, g_strerror (errno));
          return NULL;
        }
      write_wav_header (self->wav, 0);
    }
  if (!build (self, options, error))
    return NULL;
  return g_steal_pointer (&self);
}

static void
add_pairs (JsonBuilder *b, const char *name, GArray *pairs)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i + 1 < pairs->len; i += 2)
    {
      json_builder_begin_array (b);
      json_builder_add_double_value (b, g_array_index (pairs, double, i));
      json_builder_add_double_value (b, g_array_index (pairs, double, i + 1));
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static void
add_event (JsonBuilder *b, const char *name, gint64 local_us)
{
  json_builder_set_member_name (b, name);
  if (local_us > 0)
    json_builder_add_double_value (b, local_us / 1000.0);
  else
    json_builder_add_null_value (b);
}

/* "<wav>.json": where the recording sits in server time. */
static void
write_sidecar (RcNativePlayout *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GArray) errors = g_array_copy (self->all_errors);
  g_autofree char *path = g_strconcat (self->record_path, ".json", NULL);
  g_autoptr (GError) error = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "roomcast-native-recording");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, self->name);
  json_builder_set_member_name (b, "transport");
  json_builder_add_string_value (b, self->transport);
  json_builder_set_member_name (b, "rate");
  json_builder_add_int_value (b, RATE);
  json_builder_set_member_name (b, "channels");
  json_builder_add_int_value (b, 2);
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, (gint64) self->rec_frames);
  json_builder_set_member_name (b, "serverTime");
  if (self->rec_started)
    json_builder_add_double_value (b, ns_to_ms ((GstClockTimeDiff) self->rec_t0));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "localTime");
  if (self->rec_started)
    json_builder_add_double_value (b, ns_to_ms ((GstClockTimeDiff) self->rec_t0_local));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "placement");
  json_builder_add_string_value (b, "render time on the server clock (net client clock)");
  json_builder_set_member_name (b, "latencyOffset");
  json_builder_add_double_value (b, self->latency_offset_ms);
  json_builder_set_member_name (b, "realtime");
  json_builder_add_boolean_value (b, g_atomic_int_get (&self->realtime));
  add_pairs (b, "clockOffsets", self->clock_offsets);
  add_pairs (b, "delays", self->delays);
  json_builder_set_member_name (b, "render");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "buffers");
  json_builder_add_int_value (b, (gint64) self->rendered_buffers);
  json_builder_set_member_name (b, "errorP50");
  json_builder_add_double_value (b, rc_percentile (errors, 0.5));
  json_builder_set_member_name (b, "errorP95");
  json_builder_add_double_value (b, rc_percentile (errors, 0.95));
  json_builder_set_member_name (b, "errorMax");
  json_builder_add_double_value (b, rc_percentile (errors, 1.0));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "underruns");
  json_builder_add_int_value (b, (gint64) self->underruns);
  json_builder_set_member_name (b, "resyncs");
  json_builder_add_int_value (b, (gint64) self->resyncs);
  json_builder_set_member_name (b, "events");
  json_builder_begin_object (b);
  add_event (b, "created", self->created_local_us);
  add_event (b, "clockSynced", self->synced_local_us);
  add_event (b, "firstPacket", self->first_packet_local_us);
  add_event (b, "firstRender", self->first_render_us);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  if (!json_generator_to_file (gen, path, &error))
    g_warning ("%s: cannot write %s: %s", self->name, path, error->message);
}

void
rc_native_playout_free (RcNativePlayout *self)
{
  if (self == NULL)
    return;
  if (self->position_source != NULL)
    {
      g_source_destroy (self->position_source);
      g_source_unref (self->position_source);
    }
  if (self->feeder != NULL)
    {
      g_clear_handle_id (&self->feeder_bus_watch, g_source_remove);
      g_clear_pointer (&self->feeder, rc_device_feeder_free);
    }
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      g_clear_handle_id (&self->bus_watch, g_source_remove);
    }
  gst_clear_object (&self->src);
  gst_clear_object (&self->sink);
  gst_clear_object (&self->pipeline);
  if (self->wav != NULL)
    {
      if (fseeko (self->wav, 0, SEEK_SET) == 0)
        write_wav_header (self->wav, self->rec_frames * BYTES_PER_FRAME);
      fclose (self->wav);
      self->wav = NULL;
    }
  if (self->record_path != NULL && self->started)
    write_sidecar (self);
  g_clear_pointer (&self->timeline, rc_pcm_timeline_free);
  gst_clear_object (&self->clock);
  g_mutex_clear (&self->lock);
  g_array_unref (self->delays);
  g_array_unref (self->all_errors);
  g_array_unref (self->period_errors);
  g_array_unref (self->period_arrivals);
  g_array_unref (self->clock_offsets);
  if (self->pcm != NULL)
    g_byte_array_unref (self->pcm);
  g_main_context_unref (self->context);
  g_free (self->failure);
  g_free (self->name);
  g_free (self->transport);
  g_free (self->record_path);
  g_free (self);
}

void
rc_native_playout_set_timeline (RcNativePlayout *self, guint32 rtp_timestamp,
                                double server_time_ms, guint clock_rate, double playout_delay_ms,
                                double previous_delay_ms, double delay_at_ms)
{
  gboolean scheduled = isfinite (previous_delay_ms) && isfinite (delay_at_ms) && delay_at_ms > 0;

  g_mutex_lock (&self->lock);
  if (!scheduled && self->have_timeline && fabs (playout_delay_ms - self->delay_ms) >= 0.01)
    {
      /* Unannounced: a hard resync, the next packet starts over at its new time. */
      self->resyncs++;
      self->discont_next = TRUE;
    }
  if (!self->have_timeline || fabs (playout_delay_ms - self->delay_ms) >= 0.01)
    {
      /* When it holds from, on the server clock (the anchor until synced). */
      double pair[2] = { scheduled ? delay_at_ms
                         : gst_clock_is_synced (self->clock)
                           ? ns_to_ms ((GstClockTimeDiff) gst_clock_get_time (self->clock))
                           : server_time_ms,
                         playout_delay_ms };

      g_array_append_vals (self->delays, pair, 2);
      g_debug ("%s: playout delay %.1f ms", self->name, playout_delay_ms);
    }
  self->have_timeline = TRUE;
  self->rtp0 = rtp_timestamp;
  self->server0_ms = server_time_ms;
  self->clock_rate = clock_rate > 0 ? clock_rate : RATE;
  self->delay_ms = playout_delay_ms;
  self->delay_before_ms = scheduled ? previous_delay_ms : playout_delay_ms;
  self->delay_change_at_ms = scheduled ? delay_at_ms : 0;
  g_mutex_unlock (&self->lock);
}

double
rc_native_playout_delay_for (double c_ms, double delay_ms, double before_ms, double at_ms)
{
  if (at_ms <= 0)
    return delay_ms;
  if (c_ms + before_ms < at_ms - 0.5)
    return before_ms;
  if (c_ms + delay_ms < at_ms - 0.5)
    return -1;
  return delay_ms;
}

/* Under the lock: the arrival figures of a packet of time @c_ms received at @now_ms. */
static void
note_arrival (RcNativePlayout *self, double c_ms, double now_ms)
{
  /* A device fed ahead of time needs the packet that much sooner. */
  double transit = now_ms - c_ms + self->device_lead_ms;

  self->period_received++;
  if (g_get_monotonic_time () - self->first_packet_local_us < ARRIVAL_WARMUP_US)
    return;
  g_array_append_val (self->period_arrivals, transit);
  if (self->have_transit)
    self->jitter_ms += (fabs (transit - self->last_transit_ms) - self->jitter_ms) / 16;
  self->last_transit_ms = transit;
  self->have_transit = TRUE;
}

/* Under the lock; FALSE when the packet goes nowhere. Sets *@pts and *@discont. */
static gboolean
schedule (RcNativePlayout *self, double c_ms, GstClockTime *pts, gboolean *discont)
{
  GstClockTime now;
  double target_ms, delay_ms;

  self->received++;
  if (!gst_clock_is_synced (self->clock) || !self->have_timeline)
    {
      self->early_drops++;
      return FALSE;
    }
  now = gst_clock_get_time (self->clock);
  if (self->synced_local_us == 0)
    self->synced_local_us = g_get_monotonic_time ();
  if (self->first_packet_local_us == 0)
    self->first_packet_local_us = g_get_monotonic_time ();
  self->last_push_local_us = g_get_monotonic_time ();
  note_arrival (self, c_ms, ns_to_ms ((GstClockTimeDiff) now));
  /* A packet from before the last one (a duplicate, or reordered past its
   * turn) has no place left. */
  if (self->last_c_ms >= 0 && c_ms < self->last_c_ms + PACKET_MS / 2)
    return FALSE;
  delay_ms = rc_native_playout_delay_for (c_ms, self->delay_ms, self->delay_before_ms,
                                          self->delay_change_at_ms);
  if (delay_ms < 0)
    {
      /* Skipped by a fall of D, as every other guest skips it. */
      self->last_c_ms = c_ms;
      self->discont_next = TRUE;
      return FALSE;
    }
  if (self->delay_used_ms >= 0 && fabs (delay_ms - self->delay_used_ms) >= 0.01)
    self->discont_next = TRUE; /* the decoder's times jump with D */
  self->delay_used_ms = delay_ms;
  target_ms = c_ms + delay_ms - self->latency_offset_ms;
  if (target_ms <= 0 || (double) now / GST_MSECOND > target_ms)
    {
      self->underruns++;
      self->period_underruns++;
      self->discont_next = TRUE;
      self->last_c_ms = c_ms;
      return FALSE;
    }
  *discont = self->discont_next
             || (self->last_c_ms >= 0 && fabs (c_ms - self->last_c_ms - PACKET_MS) > 0.5);
  if (*discont)
    self->discontinuities++;
  self->discont_next = FALSE;
  self->last_c_ms = c_ms;
  self->pushed++;
  *pts = (GstClockTime) llround (target_ms * GST_MSECOND);
  return TRUE;
}

void
rc_native_playout_push (RcNativePlayout *self, double server_time_ms, const guint8 *payload,
                        gsize length)
{
  GstClockTime pts = 0;
  gboolean discont = FALSE, take;
  GstBuffer *buffer;

  if (length == 0)
    return;
  g_mutex_lock (&self->lock);
  take = schedule (self, server_time_ms, &pts, &discont);
  g_mutex_unlock (&self->lock);
  if (!take)
    return;
  buffer = gst_buffer_new_memdup (payload, length);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = (GstClockTime) (PACKET_MS * GST_MSECOND);
  if (discont)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  gst_app_src_push_buffer (GST_APP_SRC (self->src), buffer);
}

void
rc_native_playout_push_rtp (RcNativePlayout *self, guint32 rtp_timestamp, const guint8 *payload,
                            gsize length)
{
  double c_ms;

  g_mutex_lock (&self->lock);
  if (!self->have_timeline)
    {
      self->received++;
      self->early_drops++;
      g_mutex_unlock (&self->lock);
      return;
    }
  c_ms = self->server0_ms
         + (double) (gint32) (rtp_timestamp - self->rtp0) * 1000.0 / self->clock_rate;
  g_mutex_unlock (&self->lock);
  rc_native_playout_push (self, c_ms, payload, length);
}

void
rc_native_playout_take_report (RcNativePlayout *self, RcNativeSyncReport *report)
{
  memset (report, 0, sizeof *report);
  g_mutex_lock (&self->lock);
  report->rendered = self->period_errors->len;
  report->error = rc_percentile (self->period_errors, 0.5);
  for (guint i = 0; i < self->period_errors->len; i++)
    report->error_max = MAX (report->error_max, fabs (g_array_index (self->period_errors, double, i)));
  report->received = self->period_received;
  report->arrival = rc_percentile (self->period_arrivals, 0.99);
  report->jitter = self->jitter_ms;
  report->underruns = self->period_underruns;
  g_array_set_size (self->period_errors, 0);
  g_array_set_size (self->period_arrivals, 0);
  self->period_underruns = 0;
  self->period_received = 0;
  g_mutex_unlock (&self->lock);
}

void
rc_native_playout_get_stats (RcNativePlayout *self, RcNativePlayoutStats *stats)
{
  g_autoptr (GArray) errors = NULL;

  memset (stats, 0, sizeof *stats);
  stats->clock_synced = gst_clock_is_synced (self->clock);
  stats->realtime = g_atomic_int_get (&self->realtime);
  g_mutex_lock (&self->lock);
  errors = g_array_copy (self->all_errors);
  stats->delay_ms = self->have_timeline ? self->delay_ms : -1;
  stats->received = self->received;
  stats->pushed = self->pushed;
  stats->underruns = self->underruns;
  stats->early_drops = self->early_drops;
  stats->resyncs = self->resyncs;
  stats->discontinuities = self->discontinuities;
  stats->rendered_buffers = self->rendered_buffers;
  stats->rendered_frames = self->rendered_frames;
  stats->first_render_us = self->first_render_us;
  g_mutex_unlock (&self->lock);
  stats->device_delay_ms = -1;
  if (self->feeder != NULL)
    {
      RcDeviceFeederStats f;

      rc_device_feeder_get_stats (self->feeder, &f);
      stats->output_steps = f.steps;
      stats->output_corrections = f.inserted + f.dropped;
      stats->device_delay_ms = f.delay_ms;
      g_free (f.sink_name);
    }
  stats->error_p50 = rc_percentile (errors, 0.5);
  stats->error_p95 = rc_percentile (errors, 0.95);
  stats->error_max = rc_percentile (errors, 1.0);
}

gint16 *
rc_native_playout_get_recent_pcm (RcNativePlayout *self, guint ms, gsize *n_frames)
{
  gint16 *out = NULL;
  gsize frames = 0;

  g_mutex_lock (&self->lock);
  if (self->pcm != NULL)
    {
      frames = MIN ((gsize) ms * (RATE / 1000), self->pcm->len / BYTES_PER_FRAME);
      out = g_memdup2 (self->pcm->data + self->pcm->len - frames * BYTES_PER_FRAME,
                       frames * BYTES_PER_FRAME);
    }
  g_mutex_unlock (&self->lock);
  *n_frames = frames;
  return out;
}

const char *
rc_native_playout_get_failure (RcNativePlayout *self)
{
  return self->failure;
}

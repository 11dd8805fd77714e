/* SPDX-License-Identifier: MIT */
/*
 * A live host's MPEG-TS, into the room's mixer. Why it is built this way:
 *
 * - The bytes come from the SRT connection's reader thread (server/rc_srt.c)
 *   through an appsrc, each push stamped with the pipeline's running time
 *   at that moment. SRT's receiver already paces delivery (TSBPD: every
 *   packet is released its latency after the sender sent it), so these
 *   arrival times are the sender's own rhythm, a fixed delay later.
 * - tsdemux, seeing a live upstream with timestamps, maps the stream's PCR
 *   onto those arrival times with its skew estimator: the demuxed audio
 *   keeps the server's clock, whatever the host's clock does, so the delay
 *   cannot grow over a long broadcast. (tsdemux's latency property only
 *   answers latency queries, which the room pipeline does not forward.)
 * - Audio PTS run ahead of PCR by the sender's mux delay (tens of ms for
 *   GStreamer's mpegtsmux, up to 700 ms for some muxers): tsdemux's output
 *   is that much early. Held at the mixer it would only delay the host, so
 *   the first PLACE_WINDOW of decoded audio is measured (and not played)
 *   and every later buffer is moved earlier by the least earliness seen,
 *   less PLACE_MARGIN: over its first seconds tsdemux's skew estimate
 *   settles and the earliness shrinks, by up to ~100 ms (measured with
 *   mpegtsmux, AAC and Opus; with AAC over SRT on loopback since on_parsed,
 *   from 120-140 ms in the first second to 20-55 ms from the second on,
 *   while the first decoded buffer comes ~60 ms less early than the next,
 *   so the move stays 0 there). Too little moved costs latency; too much
 *   would make audio late at the mixer, which drops it. INPUT_LEAD covers
 *   what is left.
 * - aacparse is told, after every frame it hands out, that it needs no
 *   more than a byte to look for the next one (on_parsed). Left alone it
 *   keeps the minimum frame size it set while gaining sync (the second
 *   frame's size plus a header, some 300-400 bytes at 128 kb/s) and waits
 *   for that many bytes before parsing: every frame waited for the next
 *   one, and frames of quiet audio (13 bytes of silence) waited for 20-30
 *   more: decoded audio came out 300-400 ms after its timestamps, and the
 *   host was placed that much later (bench-latency: 650 ms over D before,
 *   350 after). In sync it needs only the frame's own header; when it loses
 *   sync it sets its own minimum again until the next frame.
 * - One audio stream is decoded: the first AAC (ADTS or LATM) or Opus one.
 *   Video (OBS always sends some), data and further audio streams go to
 *   fakesinks, so tsdemux never stops on not-linked.
 * - The end is detected here: no bytes for the silence timeout, no decoded
 *   audio for the setup timeout (garbage that never parses, a program
 *   change), a program without AAC or Opus audio (at once, when tsdemux
 *   has exposed all of its streams: no-more-pads), or an ERROR inside the
 *   bin (an RcContainedBin hands it to us, never to the room).
 *
 * Ordering rule: pad-added and the probes run on streaming threads; they
 * only queue an event (holding a reference) for the main context, where
 * all state lives and callbacks run, never synchronously. The figures are
 * under a mutex; rc_srt_ingest_push may be called from any thread.
 */
#include "pipelines/rc_srt_ingest.h"
#include "pipelines/rc_defer.h"
#include "pipelines/rc_contained_bin.h"
#include "pipelines/rc_media_error.h"

#include <gst/app/gstappsrc.h>
#include <gst/base/gstbaseparse.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (rc_srt_ingest_debug);
#define GST_CAT_DEFAULT rc_srt_ingest_debug

#define TS_CAPS "video/mpegts,systemstream=(boolean)true,packetsize=(int)188"
#define MIX_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"
/* Ahead of the burstiest decoded audio (AAC frames come in TS bursts). */
#define INPUT_LEAD (40 * GST_MSECOND)
/* How much decoded audio is measured for its placement before any plays,
 * and how much of the least earliness seen then is kept. */
#define PLACE_WINDOW (500 * GST_MSECOND)
#define PLACE_MARGIN (100 * GST_MSECOND)
/* More than this waiting in the appsrc (seconds of a video stream) and the
 * oldest bytes go: the ingest never holds the reader thread. */
#define MAX_QUEUED_BYTES (4 * 1024 * 1024)
#define WATCHDOG_MS 100

typedef enum
{
  CODEC_NONE,
  CODEC_AAC,
  CODEC_AAC_LATM,
  CODEC_OPUS,
} Codec;

static const char *const codec_names[] = { NULL, "aac", "aac-latm", "opus" };

struct _RcSrtIngest
{
  gint ref_count; /* the owner's, each queued event, each signal and probe */
  RcRoomPipeline *pipeline; /* borrowed */
  char *name;
  RcSrtIngestOptions options;
  RcSrtIngestCallbacks callbacks;
  gpointer user_data;
  GMainContext *context;
  GSource *watchdog;

  GstElement *bin;     /* strong */
  GstElement *appsrc;  /* strong */
  GstElement *demux;   /* strong */
  GstElement *convert; /* strong: the decoded audio's way in */
  GstPad *audio_pad;   /* the decoded audio's probe (strong), under lock */
  gulong audio_probe;

  gint disposed;     /* atomic: freed by its owner */
  gint audio_linked; /* atomic: an audio stream feeds convert */
  gboolean in_pipeline;
  gboolean live;
  gboolean ended;
  gint64 created_us;

  GMutex lock;
  guint64 bytes;
  guint64 messages;
  gint64 last_data_us;
  gint64 last_audio_us;
  Codec codec;
  char *refused_codec; /* an audio stream it cannot decode (its codec's name) */
  /* Placement (streaming thread, under lock for the figures). */
  GstClockTime place_started; /* running time of the first decoded buffer */
  GstClockTimeDiff min_early;
  GstClockTime shift;
  gboolean placed;
};

static RcSrtIngest *
ingest_ref (RcSrtIngest *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
ingest_unref (RcSrtIngest *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  GST_DEBUG ("host %s: SRT ingest finalized", self->name);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  gst_clear_object (&self->audio_pad);
  gst_clear_object (&self->appsrc);
  gst_clear_object (&self->demux);
  gst_clear_object (&self->convert);
  gst_clear_object (&self->bin);
  g_free (self->refused_codec);
  g_free (self->name);
  g_free (self);
}

static void
ingest_unref_closure (gpointer data, GClosure *closure)
{
  ingest_unref (data);
}

/* ---- events for the main context ---------------------------------------- */

typedef struct
{
  RcSrtIngest *ingest; /* strong */
  char *reason;        /* the failure, or NULL for "no more pads" */
} Event;

static void
event_free (gpointer data)
{
  Event *ev = data;

  ingest_unref (ev->ingest);
  g_free (ev->reason);
  g_free (ev);
}

static void end (RcSrtIngest *self, const char *reason);

static gboolean
dispatch_event (gpointer data)
{
  Event *ev = data;
  RcSrtIngest *self = ev->ingest;
  g_autofree char *refused = NULL;

  if (g_atomic_int_get (&self->disposed) || self->ended)
    return G_SOURCE_REMOVE;
  if (ev->reason != NULL)
    {
      end (self, ev->reason);
      return G_SOURCE_REMOVE;
    }
  /* No more pads: is there audio it can take? */
  if (g_atomic_int_get (&self->audio_linked))
    return G_SOURCE_REMOVE;
  g_mutex_lock (&self->lock);
  refused = g_strdup (self->refused_codec);
  g_mutex_unlock (&self->lock);
  {
    g_autofree char *reason = refused != NULL
                                ? g_strdup_printf ("The stream's audio is %s; roomcast takes "
                                                   "AAC or Opus in MPEG-TS",
                                                   refused)
                                : g_strdup ("The stream has no audio; roomcast takes AAC or "
                                            "Opus in MPEG-TS");
    end (self, reason);
  }
  return G_SOURCE_REMOVE;
}

/* Any thread: queues an event for the main context; never runs it now. */
static void
post (RcSrtIngest *self, char *reason)
{
  Event *ev = g_new0 (Event, 1);

  ev->ingest = ingest_ref (self);
  ev->reason = reason;
  rc_defer (self->context, G_PRIORITY_DEFAULT, dispatch_event, ev, event_free);
}

/* Main context: it is over; tell the owner once. */
static void
end (RcSrtIngest *self, const char *reason)
{
  g_autoptr (GError) error = NULL;

  if (g_atomic_int_get (&self->disposed) || self->ended)
    return;
  self->ended = TRUE;
  GST_INFO_OBJECT (self->bin, "host %s: %s", self->name, reason);
  error = g_error_new_literal (RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED, reason);
  if (self->callbacks.ended != NULL)
    self->callbacks.ended (self, error, self->user_data);
}

/* Any thread: an ERROR inside the ingest's bin (a decoder, tsdemux) ends
 * the ingest. */
static void
on_bin_error (const char *what, gpointer data)
{
  post (data, g_strdup (what));
}

/* ---- streaming threads --------------------------------------------------- */

/* The running time of @element's clock now, or NONE before it runs. */
static GstClockTime
running_time_now (GstElement *element)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (element);
  GstClockTime now, base;

  if (clock == NULL)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (element);
  return now >= base ? now - base : GST_CLOCK_TIME_NONE;
}

/*
 * Streaming thread: decoded audio on its way to the mixer. The first
 * PLACE_WINDOW is measured and dropped; then this pad's offset moves every
 * later buffer earlier by the least earliness seen less PLACE_MARGIN (see
 * the header comment). An offset, not new timestamps: the segment moves with it, so
 * nothing falls before its start.
 */
static GstPadProbeReturn
on_audio (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RcSrtIngest *self = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  g_autoptr (GstEvent) segment_event = NULL;
  const GstSegment *segment;
  GstClockTime now, running;
  GstClockTimeDiff early;
  gboolean placed;

  if (!GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_PAD_PROBE_DROP;
  g_mutex_lock (&self->lock);
  self->last_audio_us = g_get_monotonic_time ();
  placed = self->placed;
  g_mutex_unlock (&self->lock);
  if (placed && gst_debug_category_get_threshold (GST_CAT_DEFAULT) < GST_LEVEL_DEBUG)
    return GST_PAD_PROBE_OK;
  segment_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  now = running_time_now (self->bin);
  if (segment_event == NULL || !GST_CLOCK_TIME_IS_VALID (now))
    return placed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  gst_event_parse_segment (segment_event, &segment);
  running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (!GST_CLOCK_TIME_IS_VALID (running))
    return placed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  early = GST_CLOCK_DIFF (now, running);
  if (placed)
    {
      /* Debugging the placement: how early each buffer comes, less the shift. */
      GST_DEBUG_OBJECT (self->bin, "host %s: decoded audio %" GST_STIME_FORMAT " early",
                        self->name, GST_STIME_ARGS (early - (GstClockTimeDiff) self->shift));
      return GST_PAD_PROBE_OK;
    }
  g_mutex_lock (&self->lock);
  if (!GST_CLOCK_TIME_IS_VALID (self->place_started))
    {
      self->place_started = now;
      self->min_early = early;
    }
  self->min_early = MIN (self->min_early, early);
  if (now - self->place_started >= PLACE_WINDOW)
    {
      self->placed = TRUE;
      self->shift = (GstClockTime) MAX (self->min_early - (GstClockTimeDiff) PLACE_MARGIN, 0);
      GST_INFO_OBJECT (self->bin,
                       "host %s: decoded audio comes %" GST_STIME_FORMAT
                       " early at least; moved earlier by %" GST_TIME_FORMAT,
                       self->name, GST_STIME_ARGS (self->min_early), GST_TIME_ARGS (self->shift));
      /* The segment is sent again, with the offset, before the next buffer. */
      gst_pad_set_offset (pad, -(gint64) self->shift);
    }
  g_mutex_unlock (&self->lock);
  /* This buffer too is measured only: the next one is the first to play. */
  return GST_PAD_PROBE_DROP;
}

/* Streaming thread: a stream nobody decodes is swallowed. */
static void
discard_pad (RcSrtIngest *self, GstPad *pad)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) sink_pad = NULL;

  if (sink == NULL)
    return;
  g_object_set (sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
  gst_bin_add (GST_BIN (self->bin), sink);
  gst_element_sync_state_with_parent (sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sink_pad);
  GST_DEBUG_OBJECT (self->bin, "host %s: discarding stream %s", self->name, GST_PAD_NAME (pad));
}

/* A codec it does not decode, named for the host's log. */
static char *
describe_codec (const GstStructure *s)
{
  const char *name = gst_structure_get_name (s);
  int version = 0;

  if (g_str_equal (name, "audio/mpeg") && gst_structure_get_int (s, "mpegversion", &version)
      && version == 1)
    return g_strdup ("MPEG-1 audio (MP2 or MP3)");
  if (g_str_equal (name, "audio/x-ac3"))
    return g_strdup ("AC-3");
  if (g_str_equal (name, "audio/x-eac3"))
    return g_strdup ("E-AC-3");
  return g_strdup (name);
}

static Codec
codec_of (const GstStructure *s)
{
  const char *name = gst_structure_get_name (s);
  int version = 0;

  if (g_str_equal (name, "audio/x-opus"))
    return CODEC_OPUS;
  if (g_str_equal (name, "audio/mpeg") && gst_structure_get_int (s, "mpegversion", &version)
      && (version == 2 || version == 4))
    return g_strcmp0 (gst_structure_get_string (s, "stream-format"), "loas") == 0
             ? CODEC_AAC_LATM
             : CODEC_AAC;
  return CODEC_NONE;
}

/* Streaming thread, aacparse's: a frame is out, so aacparse is in sync;
 * its minimum frame size goes back to the least (see the header comment). */
static GstPadProbeReturn
on_parsed (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  gst_base_parse_set_min_frame_size (GST_BASE_PARSE (data), 1);
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: parser and decoder for @codec, linked from @pad to
 * convert. FALSE when an element is missing or will not link. */
static gboolean
decode_pad (RcSrtIngest *self, GstPad *pad, Codec codec)
{
  const char *names[3] = { NULL };
  GstElement *chain[3] = { NULL };
  guint n = 0;
  g_autoptr (GstPad) first_sink = NULL;

  switch (codec)
    {
    case CODEC_AAC:
      names[0] = "aacparse";
      names[1] = "avdec_aac";
      n = 2;
      break;
    case CODEC_AAC_LATM:
      names[0] = "aacparse";
      names[1] = "avdec_aac_latm";
      n = 2;
      break;
    case CODEC_OPUS:
      names[0] = "opusdec";
      n = 1;
      break;
    case CODEC_NONE:
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    if ((chain[i] = gst_element_factory_make (names[i], NULL)) == NULL)
      {
        GST_WARNING_OBJECT (self->bin, "host %s: %s is missing", self->name, names[i]);
        for (guint j = 0; j < i; j++)
          gst_object_unref (gst_object_ref_sink (chain[j]));
        return FALSE;
      }
  for (guint i = 0; i < n; i++)
    gst_bin_add (GST_BIN (self->bin), chain[i]);
  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (chain[i], chain[i + 1]))
      return FALSE;
  if (!gst_element_link (chain[n - 1], self->convert))
    return FALSE;
  if (GST_IS_BASE_PARSE (chain[0]))
    {
      g_autoptr (GstPad) parsed = gst_element_get_static_pad (chain[0], "src");

      gst_pad_add_probe (parsed, GST_PAD_PROBE_TYPE_BUFFER, on_parsed, chain[0], NULL);
    }
  for (guint i = n; i > 0; i--)
    gst_element_sync_state_with_parent (chain[i - 1]);
  first_sink = gst_element_get_static_pad (chain[0], "sink");
  return gst_pad_link (pad, first_sink) == GST_PAD_LINK_OK;
}

/* Streaming thread: tsdemux found a stream. */
static void
on_pad_added (GstElement *demux, GstPad *pad, gpointer data)
{
  RcSrtIngest *self = data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  const GstStructure *s;
  Codec codec;

  if (g_atomic_int_get (&self->disposed) || caps == NULL || gst_caps_is_empty (caps))
    {
      discard_pad (self, pad);
      return;
    }
  s = gst_caps_get_structure (caps, 0);
  codec = codec_of (s);
  GST_INFO_OBJECT (self->bin, "host %s: stream %s: %" GST_PTR_FORMAT, self->name,
                   GST_PAD_NAME (pad), caps);
  if (codec == CODEC_NONE || !g_atomic_int_compare_and_exchange (&self->audio_linked, 0, 1))
    {
      if (codec == CODEC_NONE && g_str_has_prefix (gst_structure_get_name (s), "audio/"))
        {
          g_mutex_lock (&self->lock);
          if (self->refused_codec == NULL)
            self->refused_codec = describe_codec (s);
          g_mutex_unlock (&self->lock);
        }
      discard_pad (self, pad);
      return;
    }
  g_mutex_lock (&self->lock);
  self->codec = codec;
  g_mutex_unlock (&self->lock);
  if (!decode_pad (self, pad, codec))
    post (self, g_strdup_printf ("Could not decode the host's %s audio", codec_names[codec]));
}

static void
on_no_more_pads (GstElement *demux, gpointer data)
{
  RcSrtIngest *self = data;

  if (!g_atomic_int_get (&self->audio_linked))
    post (self, NULL);
}

/* ---- main context ------------------------------------------------------- */

/* Main context, every WATCHDOG_MS: on air yet, and the timeouts. */
static gboolean
on_watchdog (gpointer data)
{
  RcSrtIngest *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 last_data, last_audio;

  if (g_atomic_int_get (&self->disposed) || self->ended)
    return G_SOURCE_CONTINUE;
  if (!self->live && rc_room_pipeline_input_is_linked (self->pipeline, self->bin))
    {
      gboolean gone;

      self->live = TRUE;
      GST_INFO_OBJECT (self->bin, "host %s: audio reaches the mixer", self->name);
      /* The owner may free the ingest from its callback. */
      ingest_ref (self);
      if (self->callbacks.live != NULL)
        self->callbacks.live (self, self->user_data);
      gone = g_atomic_int_get (&self->disposed) || self->ended;
      ingest_unref (self);
      if (gone)
        return G_SOURCE_CONTINUE;
    }
  g_mutex_lock (&self->lock);
  last_data = self->last_data_us;
  last_audio = self->last_audio_us;
  g_mutex_unlock (&self->lock);
  /* end () is the last thing done here: the owner may free the ingest. */
  if (now - MAX (last_data, self->created_us) > (gint64) self->options.silence_timeout_ms * 1000)
    {
      g_autofree char *reason = g_strdup_printf ("No data from the host for %u ms",
                                                 self->options.silence_timeout_ms);
      end (self, reason);
    }
  else if (now - MAX (last_audio, self->created_us)
           > (gint64) self->options.setup_timeout_ms * 1000)
    {
      g_autofree char *reason = g_strdup_printf (
        last_audio == 0 ? "No AAC or Opus audio in the stream within %u s"
                        : "No audio in the stream for %u s",
        self->options.setup_timeout_ms / 1000);
      end (self, reason);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
build (RcSrtIngest *self, GError **error)
{
  static gint serial;
  g_autofree char *bin_name = NULL;
  g_autoptr (GstCaps) ts_caps = gst_caps_from_string (TS_CAPS);
  g_autoptr (GstCaps) mix_caps = gst_caps_from_string (MIX_CAPS);
  GstElement *resample, *filter;
  g_autoptr (GstPad) filter_src = NULL;
  GstPad *ghost;

  self->appsrc = gst_element_factory_make ("appsrc", "source");
  self->demux = gst_element_factory_make ("tsdemux", "demux");
  self->convert = gst_element_factory_make ("audioconvert", "convert");
  if (self->appsrc != NULL)
    gst_object_ref_sink (self->appsrc);
  if (self->demux != NULL)
    gst_object_ref_sink (self->demux);
  if (self->convert != NULL)
    gst_object_ref_sink (self->convert);
  resample = gst_element_factory_make ("audioresample", NULL);
  filter = gst_element_factory_make ("capsfilter", NULL);
  if (self->appsrc == NULL || self->demux == NULL || self->convert == NULL || resample == NULL
      || filter == NULL)
    {
      if (resample != NULL)
        gst_object_unref (gst_object_ref_sink (resample));
      if (filter != NULL)
        gst_object_unref (gst_object_ref_sink (filter));
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "appsrc, tsdemux or the audio converters are missing");
      return FALSE;
    }
  bin_name = g_strdup_printf ("srt-%s-%d", self->name, g_atomic_int_add (&serial, 1));
  self->bin = gst_object_ref_sink (rc_contained_bin_new (bin_name));
  rc_contained_bin_set_handler (self->bin, on_bin_error, self);

  g_object_set (self->appsrc, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", FALSE,
                "caps", ts_caps, "max-bytes", (guint64) MAX_QUEUED_BYTES, "max-buffers",
                (guint64) 0, "max-time", (guint64) 0, "leaky-type", GST_APP_LEAKY_TYPE_DOWNSTREAM,
                "block", FALSE, NULL);
  g_object_set (filter, "caps", mix_caps, NULL);
  gst_bin_add_many (GST_BIN (self->bin), self->appsrc, self->demux, self->convert, resample,
                    filter, NULL);
  if (!gst_element_link (self->appsrc, self->demux)
      || !gst_element_link_many (self->convert, resample, filter, NULL))
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "Could not link the host's demuxer and converters");
      return FALSE;
    }
  filter_src = gst_element_get_static_pad (filter, "src");
  self->audio_pad = gst_object_ref (filter_src);
  self->audio_probe = gst_pad_add_probe (filter_src, GST_PAD_PROBE_TYPE_BUFFER, on_audio,
                                         ingest_ref (self), (GDestroyNotify) ingest_unref);
  ghost = gst_ghost_pad_new ("src", filter_src);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (self->bin, ghost);
  g_signal_connect_data (self->demux, "pad-added", G_CALLBACK (on_pad_added), ingest_ref (self),
                         ingest_unref_closure, 0);
  g_signal_connect_data (self->demux, "no-more-pads", G_CALLBACK (on_no_more_pads),
                         ingest_ref (self), ingest_unref_closure, 0);
  return TRUE;
}

RcSrtIngest *
rc_srt_ingest_new (RcRoomPipeline *pipeline, const char *name, const RcSrtIngestOptions *options,
                   const RcSrtIngestCallbacks *callbacks, gpointer user_data, GError **error)
{
  RcSrtIngest *self = g_new0 (RcSrtIngest, 1);

  if (rc_srt_ingest_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (rc_srt_ingest_debug, "rc-srt-ingest", 0, "live host ingest (SRT)");
  self->ref_count = 1;
  self->pipeline = pipeline;
  self->name = g_strdup (name);
  if (options != NULL)
    self->options = *options;
  if (self->options.silence_timeout_ms == 0)
    self->options.silence_timeout_ms = RC_SRT_INGEST_DEFAULT_SILENCE_TIMEOUT_MS;
  if (self->options.setup_timeout_ms == 0)
    self->options.setup_timeout_ms = RC_SRT_INGEST_DEFAULT_SETUP_TIMEOUT_MS;
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  self->created_us = g_get_monotonic_time ();
  self->place_started = GST_CLOCK_TIME_NONE;
  g_mutex_init (&self->lock);

  if (!build (self, error))
    {
      rc_srt_ingest_free (self);
      return NULL;
    }
  if (!rc_room_pipeline_add_input (pipeline, self->bin, INPUT_LEAD))
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED, "Could not start the ingest of %s",
                   name);
      rc_srt_ingest_free (self);
      return NULL;
    }
  self->in_pipeline = TRUE;
  self->watchdog = g_timeout_source_new (WATCHDOG_MS);
  g_source_set_callback (self->watchdog, on_watchdog, self, NULL);
  g_source_attach (self->watchdog, self->context);
  GST_INFO_OBJECT (self->bin, "host %s: SRT ingest added", name);
  return self;
}

void
rc_srt_ingest_free (RcSrtIngest *self)
{
  if (self == NULL)
    return;
  g_atomic_int_set (&self->disposed, 1);
  if (self->watchdog != NULL)
    {
      g_source_destroy (self->watchdog);
      g_clear_pointer (&self->watchdog, g_source_unref);
    }
  /* The signal handlers' and the probe's references would keep the ingest,
   * and so its elements, alive. */
  if (self->demux != NULL)
    g_signal_handlers_disconnect_by_data (self->demux, self);
  if (self->audio_pad != NULL)
    gst_pad_remove_probe (self->audio_pad, self->audio_probe);
  if (self->bin != NULL)
    {
      rc_contained_bin_set_handler (self->bin, NULL, NULL);
      /* Unlinks in an IDLE probe and stops the bin later, on the main context. */
      if (self->in_pipeline)
        rc_room_pipeline_remove_input (self->pipeline, self->bin);
    }
  ingest_unref (self);
}

void
rc_srt_ingest_push (RcSrtIngest *self, const guint8 *data, gsize size)
{
  GstClockTime now;
  GstBuffer *buffer;

  if (size == 0 || g_atomic_int_get (&self->disposed))
    return;
  g_mutex_lock (&self->lock);
  self->bytes += size;
  self->messages++;
  self->last_data_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
  now = running_time_now (self->appsrc);
  if (!GST_CLOCK_TIME_IS_VALID (now))
    return; /* not running (yet, or any more) */
  buffer = gst_buffer_new_memdup (data, size);
  GST_BUFFER_PTS (buffer) = now;
  gst_app_src_push_buffer (GST_APP_SRC (self->appsrc), buffer);
}

GstElement *
rc_srt_ingest_get_element (RcSrtIngest *self)
{
  return self->bin;
}

void
rc_srt_ingest_get_stats (RcSrtIngest *self, RcSrtIngestStats *stats)
{
  memset (stats, 0, sizeof *stats);
  stats->live = self->live;
  g_mutex_lock (&self->lock);
  stats->bytes = self->bytes;
  stats->messages = self->messages;
  stats->last_data_us = self->last_data_us;
  stats->codec = codec_names[self->codec];
  stats->placement_ms = self->placed ? self->shift / (double) GST_MSECOND : 0;
  {
    GstClockTime offset = self->in_pipeline
                            ? rc_room_pipeline_get_input_offset (self->pipeline, self->bin)
                            : GST_CLOCK_TIME_NONE;

    stats->mix_offset_ms = GST_CLOCK_TIME_IS_VALID (offset) ? offset / (double) GST_MSECOND : 0;
  }
  g_mutex_unlock (&self->lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * The room pipeline. Why it is built this way:
 *
 * - The timeline belongs to the mixer, live by itself and paced by its own
 *   thread on the clock (rc_mixer.h), so it runs from start to teardown
 *   without a gap: guests' RTP timestamps and sequence numbers never jump
 *   when the music changes. A heard room has two threads: the mixer's
 *   (mix, encode, payload, the WebSocket frames) and its track's.
 * - A track is a short-lived decode bin. To start one at position P it is
 *   added unlinked with a blocking probe on its output; when the first
 *   buffer blocks, a flushing seek to P is sent (if P > 0), and when data
 *   from P blocks, the bin is linked to a fresh mixer pad with a pad offset
 *   equal to the pipeline's running time now (plus a small lead). Seeking,
 *   pausing and skipping all reduce to "remove this bin, maybe add another".
 * - Removal happens in an IDLE probe (never unlink while a buffer is in
 *   flight) and the bin is set to NULL on the main context.
 * - Track EOS is caught on the bin's output and never reaches the mixer, so
 *   the mixer stays live; errors from a track bin skip that track only.
 * - Live inputs (a host over WHIP) are mixed in the same way, but their data
 *   already carries running times: their pad offset is how late their first
 *   buffer arrives, plus a lead (see rc_room_pipeline_input.c).
 * - Talk-over ducking (rc_ducking.c) lives in pad probes the pipeline
 *   places: on a track's mixer pad as it is linked, on a live input's
 *   output while ducking listens to it.
 *
 * Ordering rule: streaming-thread callbacks only hand work to the main
 * context (g_main_context_invoke_full, holding a reference); all state below
 * is touched on the main context only, except the timeline, behind its own
 * lock, and the ducking state, behind its.
 */
#include "pipelines/rc_room_pipeline.h"
#include "pipelines/rc_room_pipeline-private.h"
#include "pipelines/rc_defer.h"

#include "pipelines/rc_mixer.h"
#include "pipelines/rc_track_bin.h"

#include <gst/rtp/gstrtpbuffer.h>

GST_DEBUG_CATEGORY (rc_room_pipeline_debug);
/* The largest RTP packet the tap copies out (an Opus frame is far smaller). */
#define RTP_TAP_MAX 1500
#define GST_CAT_DEFAULT rc_room_pipeline_debug

#define MIX_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"
/* How far ahead of "now" a new track is placed on the timeline, once its
 * first buffer is decoded: the time that buffer may take from the link to
 * the mixer on a busy machine. The mixer waits for no pad past a frame's
 * start (rc_mixer.h) and the frame it lands in may start up to 20 ms before
 * it, so this is 20 ms of frame plus 20 ms of margin (the mixer's 50 ms
 * latency was the margin when a silence source paced it). What a skip or a
 * seek costs a listener beyond D. */
#define TRACK_LEAD (40 * GST_MSECOND)
/* A track that joins a timeline already running (rc_room_pipeline_play_at)
 * seeks this far beyond where the timeline is when its decoder is ready:
 * room for the seek, the decode and the hop to the main context before its
 * data is due. Data that still comes late is clipped by the mixer, so the
 * track is heard in place either way. */
#define TRACK_CATCH_UP_MS 250
/* A track whose decoder has given no buffer this long after it started is
 * started again, at most TRACK_STARTS times in all. Under load GStreamer
 * 1.22's Ogg demuxer was seen (gdb) with its pull task paused before its
 * first buffer and no error: the room stayed silent until the next song
 * (test_whip: about one start in 25 with both cores busy). A local file's
 * first buffer takes tens of ms, even on a busy machine; a web song's
 * waits for its server, so it is given longer. */
#define TRACK_STALL_FILE_MS 1000
#define TRACK_STALL_WEB_MS 4000
#define TRACK_STARTS 3
/* The encoder's complexity, chosen by measurement (see build ()). */
#define RC_ROOM_OPUS_COMPLEXITY 4

typedef struct _Track Track;

struct _Track
{
  gint ref_count;        /* one for being alive, one per pending main-context call */
  RcRoomPipeline *owner; /* strong */
  GstElement *bin;
  GstPad *ghost;
  GstPad *mixer_pad;
  gulong block_probe;
  guint serial; /* as in its name, track-N */
  gint64 start_ms;
  GstClockTime start_running_time;
  /* play_at: the clock time at which start_ms is due, or NONE (the track
   * starts whenever its data is ready). */
  GstClockTime due_at;
  gboolean seek_sent; /* streaming thread only */
  gboolean linked;
  char *uri;
  guint starts;            /* this one included */
  gint first_buffer;       /* atomic: its first buffer reached the block */
  GSource *stall_check;    /* main context */
};

RcRoomPipeline *
rc_room_pipeline_ref (RcRoomPipeline *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
rc_room_pipeline_unref (RcRoomPipeline *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_main_context_unref (self->context);
  g_mutex_clear (&self->timeline_lock);
  g_mutex_clear (&self->release_lock);
  g_ptr_array_unref (self->pads_to_release);
  rc_ducking_unref (self->ducking);
  g_ptr_array_unref (self->inputs);
  g_free (self->room_id);
  g_free (self);
}

static Track *
track_ref (Track *t)
{
  g_atomic_int_inc (&t->ref_count);
  return t;
}

static void
track_unref (Track *t)
{
  if (!g_atomic_int_dec_and_test (&t->ref_count))
    return;
  g_free (t->uri);
  gst_clear_object (&t->mixer_pad);
  gst_clear_object (&t->ghost);
  gst_clear_object (&t->bin);
  rc_room_pipeline_unref (t->owner);
  g_free (t);
}

/* Runs @func(@t) on the main context, holding a reference to the track. */
static void
invoke_on_main (Track *t, GSourceFunc func)
{
  rc_defer (t->owner->context, G_PRIORITY_DEFAULT, func, track_ref (t), (GDestroyNotify) track_unref);
}

static GstClockTime
running_time_now (RcRoomPipeline *self)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (self->pipeline);

  if (clock == NULL)
    return 0;
  return gst_clock_get_time (clock) - gst_element_get_base_time (self->pipeline);
}

/*
 * Releasing mixer pads. GStreamer 1.22's audioaggregator mixes each pad with
 * neither its own lock nor the pad's held and without a reference to the
 * pad: one released by another thread in that window is freed under it (a
 * crash in the mixer's thread, "invalid unclassed pointer in cast to
 * GstAudioMixerPad", seen under ASan in test_webrtc_branch's churn of
 * skips). So a pad that leaves the mixer, once unlinked, is handed to the
 * mixer's own thread, which releases it as it pushes an output buffer: then
 * no mixing is under way. A pipeline that is not streaming releases what is
 * left when it is freed.
 */
void
rc_room_pipeline_release_mixer_pad (RcRoomPipeline *self, GstPad *pad)
{
  g_mutex_lock (&self->release_lock);
  g_ptr_array_add (self->pads_to_release, pad);
  g_mutex_unlock (&self->release_lock);
}

static void
release_waiting_pads (RcRoomPipeline *self)
{
  g_autoptr (GPtrArray) pads = NULL;

  g_mutex_lock (&self->release_lock);
  if (self->pads_to_release->len > 0)
    {
      pads = self->pads_to_release;
      self->pads_to_release = g_ptr_array_new_with_free_func (gst_object_unref);
    }
  g_mutex_unlock (&self->release_lock);
  for (guint i = 0; pads != NULL && i < pads->len; i++)
    gst_element_release_request_pad (self->mixer, g_ptr_array_index (pads, i));
}

/* The mixer's thread, between two rounds of mixing. */
static GstPadProbeReturn
on_mixer_output (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  release_waiting_pads (data);
  return GST_PAD_PROBE_OK;
}

/* The pipeline's clock now (the server clock: every room uses the system one). */
static GstClockTime
clock_now (RcRoomPipeline *self)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (self->pipeline);

  return clock != NULL ? gst_clock_get_time (clock) : GST_CLOCK_TIME_NONE;
}

static void
set_null (const GValue *item, gpointer user_data)
{
  gst_element_set_state (g_value_get_object (item), GST_STATE_NULL);
}

/* The element goes down as a whole first, under its state lock. A track
 * still prerolling has an asynchronous change to PLAYING under way, which
 * GstBin finishes on a thread of its own by setting every child to the
 * state due: children taken down one by one before their bin were started
 * again behind our back, and parsebin, torn down while it autoplugged the
 * file anew, used a chain it had freed (a crash seen under ASan in
 * test_webrtc_branch's churn of skips). Changing the bin's state makes a
 * continuation scheduled before it give up; one already running holds the
 * lock until it is done. Then whatever a failed start left above NULL (a
 * broken child can fail the bin's change, or the bin be NULL already with
 * children READY) goes down element by element. */
gboolean
rc_room_pipeline_take_down (GstElement *element)
{
  gboolean clean;

  GST_STATE_LOCK (element);
  clean = gst_element_set_state (element, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE;
  if (GST_IS_BIN (element))
    {
      g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (element));

      while (gst_iterator_foreach (it, set_null, NULL) == GST_ITERATOR_RESYNC)
        gst_iterator_resync (it);
    }
  GST_STATE_UNLOCK (element);
  return clean;
}

static void
finish_removal (Track *t)
{
  RcRoomPipeline *self = t->owner;

  if (t->stall_check != NULL)
    {
      g_source_destroy (t->stall_check);
      g_clear_pointer (&t->stall_check, g_source_unref);
    }
  /* A streaming thread may be parked in a probe on the bin's output (the
   * block before linking, or the IDLE probe that keeps the pad blocked),
   * holding the stream locks of every pad upstream of it. Flushing the
   * output wakes it, so taking elements down cannot wait on those locks. */
  gst_pad_set_active (t->ghost, FALSE);
  if (!rc_room_pipeline_take_down (t->bin))
    GST_WARNING ("room %s: %s would not stop cleanly", self->room_id, GST_OBJECT_NAME (t->bin));
  if (GST_OBJECT_PARENT (t->bin) == GST_OBJECT (self->pipeline))
    gst_bin_remove (GST_BIN (self->pipeline), t->bin);
  track_unref (t);
}

static gboolean
finish_removal_on_main (gpointer data)
{
  finish_removal (data);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
on_idle_unlink (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Track *t = data;
  /* Runs once, though the probe may be called again while the pad stays
   * blocked, and from two threads at once: the main context's add_probe
   * finding the pad idle and a streaming thread leaving it. Whoever takes
   * the pad does the work; a plain test-then-clear let both release it
   * (GStreamer's "does not belong to element mixer", seen under ASan in
   * test_webrtc_branch's churn of skips). */
  GstPad *mixer_pad = g_atomic_pointer_exchange (&t->mixer_pad, NULL);

  if (mixer_pad == NULL)
    return GST_PAD_PROBE_OK;
  gst_pad_unlink (t->ghost, mixer_pad);
  rc_room_pipeline_release_mixer_pad (t->owner, mixer_pad);
  invoke_on_main (t, finish_removal_on_main);
  /* Keep the pad blocked: the bin is about to be shut down. */
  return GST_PAD_PROBE_OK;
}

/* Takes @t away from the mixer and destroys it. Main context only. */
static void
remove_track (Track *t)
{
  if (t->linked && t->mixer_pad != NULL)
    gst_pad_add_probe (t->ghost, GST_PAD_PROBE_TYPE_IDLE, on_idle_unlink, t, NULL);
  else
    finish_removal (t);
}

static gboolean
link_track_on_main (gpointer data)
{
  Track *t = data;
  RcRoomPipeline *self = t->owner;
  GstClockTime offset;

  if (self->disposed || self->track != t || t->linked)
    return G_SOURCE_REMOVE;
  t->mixer_pad = gst_element_request_pad_simple (self->mixer, "sink_%u");
  offset = running_time_now (self) + TRACK_LEAD;
  /* A track joining a running timeline goes where its start is due; if
   * that has passed, the mixer drops what is late and it is heard in step. */
  if (GST_CLOCK_TIME_IS_VALID (t->due_at))
    offset = t->due_at > gst_element_get_base_time (self->pipeline)
               ? t->due_at - gst_element_get_base_time (self->pipeline) : 0;
  gst_pad_set_offset (t->ghost, (gint64) offset);
  rc_ducking_watch_track (self->ducking, t->mixer_pad, t->serial);
  if (gst_pad_link (t->ghost, t->mixer_pad) != GST_PAD_LINK_OK)
    {
      g_autoptr (GError) error = g_error_new (GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                                              "Could not link the track to the mixer");
      self->track = NULL;
      gst_element_release_request_pad (self->mixer, t->mixer_pad);
      gst_clear_object (&t->mixer_pad);
      finish_removal (t);
      if (self->callbacks.track_failed)
        self->callbacks.track_failed (self, error, self->user_data);
      return G_SOURCE_REMOVE;
    }
  t->linked = TRUE;
  t->start_running_time = offset;
  GST_INFO ("room %s: track linked at %" GST_TIME_FORMAT " from %" G_GINT64_FORMAT " ms",
            self->room_id, GST_TIME_ARGS (offset), t->start_ms);
  gst_pad_remove_probe (t->ghost, t->block_probe);
  t->block_probe = 0;
  rc_track_bin_end_idle_threads (t->bin);
  return G_SOURCE_REMOVE;
}

static gboolean
seek_track_on_main (gpointer data)
{
  Track *t = data;

  if (t->owner->disposed || t->owner->track != t)
    return G_SOURCE_REMOVE;
  if (GST_CLOCK_TIME_IS_VALID (t->due_at))
    {
      /* Seek to where the timeline will be a moment from now. */
      GstClockTime now = clock_now (t->owner);
      gint64 ahead_ms = TRACK_CATCH_UP_MS;

      if (GST_CLOCK_TIME_IS_VALID (now) && now > t->due_at)
        ahead_ms += (gint64) ((now - t->due_at) / GST_MSECOND);
      t->start_ms += ahead_ms;
      t->due_at += ahead_ms * GST_MSECOND;
    }
  GST_DEBUG ("room %s: track-%u seeks to %" G_GINT64_FORMAT " ms", t->owner->room_id, t->serial,
             t->start_ms);
  if (!gst_pad_send_event (t->ghost,
                           gst_event_new_seek (1.0, GST_FORMAT_TIME,
                                               GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE,
                                               GST_SEEK_TYPE_SET, t->start_ms * GST_MSECOND,
                                               GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE)))
    {
      /* Not seekable (e.g. some streams): play from where it is. */
      GST_WARNING ("room %s: seek to %" G_GINT64_FORMAT " ms refused", t->owner->room_id,
                   t->start_ms);
      t->start_ms = 0;
      t->due_at = GST_CLOCK_TIME_NONE;
      return link_track_on_main (data);
    }
  return G_SOURCE_REMOVE;
}

/* Streaming thread: the track's first data is waiting at the bin's output. */
static GstPadProbeReturn
on_track_blocked (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Track *t = data;

  GST_LOG ("room %s: track-%u's first buffer waits (seek sent: %d)", t->owner->room_id,
           t->serial, t->seek_sent);
  g_atomic_int_set (&t->first_buffer, 1);
  if ((t->start_ms > 0 || GST_CLOCK_TIME_IS_VALID (t->due_at)) && !t->seek_sent)
    {
      t->seek_sent = TRUE;
      invoke_on_main (t, seek_track_on_main);
    }
  else
    invoke_on_main (t, link_track_on_main);
  return GST_PAD_PROBE_OK;
}

static gboolean
track_ended_on_main (gpointer data)
{
  Track *t = data;
  RcRoomPipeline *self = t->owner;

  if (self->disposed || self->track != t)
    return G_SOURCE_REMOVE;
  self->track = NULL;
  remove_track (t);
  if (self->callbacks.track_ended)
    self->callbacks.track_ended (self, self->user_data);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
on_track_event (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Track *t = data;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  invoke_on_main (t, track_ended_on_main);
  return GST_PAD_PROBE_DROP;
}

static Track *
make_track (RcRoomPipeline *self, const char *uri, gint64 position_ms)
{
  Track *t = g_new0 (Track, 1);
  g_autofree char *name = NULL;
  GstElement *convert = gst_element_factory_make ("audioconvert", NULL);
  GstElement *resample = gst_element_factory_make ("audioresample", NULL);
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  GstElement *volume = gst_element_factory_make ("volume", "volume");
  g_autoptr (GstCaps) caps = gst_caps_from_string (MIX_CAPS);
  g_autoptr (GstPad) src = NULL;

  t->ref_count = 1;
  t->owner = rc_room_pipeline_ref (self);
  t->serial = ++self->track_serial;
  name = g_strdup_printf ("track-%u", t->serial);
  t->start_ms = MAX (position_ms, 0);
  t->due_at = GST_CLOCK_TIME_NONE;
  t->bin = gst_object_ref_sink (rc_track_bin_new (name));
  g_object_set (filter, "caps", caps, NULL);
  /* Float decoders (Vorbis, Opus, AAC) to the mixer's 16 bits without
   * dither: half the cost of conversion and resampling (measured), and the
   * truncation noise (-96 dBFS) is far below what Opus adds at 128 kb/s. */
  g_object_set (convert, "dithering", 0 /* GST_AUDIO_DITHER_NONE */, NULL);
  gst_bin_add_many (GST_BIN (t->bin), convert, resample, filter, volume, NULL);
  gst_element_link_many (convert, resample, filter, volume, NULL);
  /* Only an install without GStreamer's base plugins (uridecodebin) fails
   * here; the track then stays silent. */
  if (!rc_track_bin_add_decoder (t->bin, uri, convert))
    GST_ERROR ("room %s: no element can read %s", self->room_id, uri);

  src = gst_element_get_static_pad (volume, "src");
  t->ghost = gst_object_ref (gst_ghost_pad_new ("src", src));
  gst_pad_set_active (t->ghost, TRUE);
  gst_element_add_pad (t->bin, t->ghost);
  t->block_probe = gst_pad_add_probe (t->ghost,
                                      GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER
                                        | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                      on_track_blocked, t, NULL);
  gst_pad_add_probe (t->ghost, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_track_event, t, NULL);
  return t;
}

static void start_track (RcRoomPipeline *self, const char *uri, gint64 position_ms,
                         GstClockTime due_at, guint starts);

/* Main context: a track still without its first buffer starts again. */
static gboolean
on_stall_check (gpointer data)
{
  Track *t = data;
  RcRoomPipeline *self = t->owner;
  g_autofree char *uri = NULL;
  GstClockTime due_at;

  g_clear_pointer (&t->stall_check, g_source_unref);
  if (self->disposed || self->track != t || t->linked || g_atomic_int_get (&t->first_buffer))
    return G_SOURCE_REMOVE;
  /* A track placed on a running timeline keeps its place (it seeks, as
   * play_at does); one that starts when it is ready starts from its
   * position again: a seek ahead could wait for ever on a web server that
   * serves no ranges (seen in /room-pipeline/stalled-track-starts-again),
   * and the player reads such a track's position from the pipeline. */
  due_at = t->due_at;
  GST_WARNING ("room %s: track-%u gave no audio; starting it again (start %u of %d)",
               self->room_id, t->serial, t->starts + 1, TRACK_STARTS);
  uri = g_strdup (t->uri);
  start_track (self, uri, t->start_ms, due_at, t->starts + 1);
  return G_SOURCE_REMOVE;
}

static void
start_track (RcRoomPipeline *self, const char *uri, gint64 position_ms, GstClockTime due_at,
             guint starts)
{
  Track *t;

  g_return_if_fail (self->mixer != NULL); /* an edge's pipeline plays no tracks */
  rc_room_pipeline_stop_track (self);
  t = make_track (self, uri, position_ms);
  t->due_at = due_at;
  t->uri = g_strdup (uri);
  t->starts = starts;
  if (starts < TRACK_STARTS)
    {
      t->stall_check = g_timeout_source_new (gst_uri_has_protocol (uri, "file")
                                               ? TRACK_STALL_FILE_MS : TRACK_STALL_WEB_MS);
      g_source_set_callback (t->stall_check, on_stall_check, track_ref (t),
                             (GDestroyNotify) track_unref);
      g_source_attach (t->stall_check, self->context);
    }
  self->track = t;
  GST_DEBUG ("room %s: track-%u starts %s at %" G_GINT64_FORMAT " ms, due at %" GST_TIME_FORMAT,
             self->room_id, t->serial, uri, t->start_ms, GST_TIME_ARGS (due_at));
  rc_ducking_follow_track (self->ducking, t->serial);
  /* A track runs its own state: a file that fails to open must not drag the
   * pipeline (and guest branches mid-way through their own state change)
   * into a failed state change. Its error arrives on the bus as a skip. */
  gst_element_set_locked_state (t->bin, TRUE);
  gst_bin_add (GST_BIN (self->pipeline), t->bin);
  if (gst_element_set_state (t->bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    GST_INFO ("room %s: track bin failed to start; its error will skip it", self->room_id);
}

void
rc_room_pipeline_play (RcRoomPipeline *self, const char *uri, gint64 position_ms)
{
  start_track (self, uri, position_ms, GST_CLOCK_TIME_NONE, 1);
}

void
rc_room_pipeline_play_at (RcRoomPipeline *self, const char *uri, gint64 position_ms,
                          GstClockTime due_at)
{
  start_track (self, uri, position_ms, due_at, 1);
}

void
rc_room_pipeline_stop_track (RcRoomPipeline *self)
{
  Track *t = g_steal_pointer (&self->track);

  if (t != NULL)
    remove_track (t);
}

gint64
rc_room_pipeline_get_position_ms (RcRoomPipeline *self)
{
  Track *t = self->track;
  GstClockTime now;

  if (t == NULL)
    return -1;
  if (!t->linked && GST_CLOCK_TIME_IS_VALID (t->due_at))
    {
      /* Joining a running timeline: where that timeline is. */
      GstClockTime at = clock_now (self);

      if (!GST_CLOCK_TIME_IS_VALID (at))
        at = t->due_at;
      return at > t->due_at ? t->start_ms + (gint64) ((at - t->due_at) / GST_MSECOND)
                            : t->start_ms - (gint64) ((t->due_at - at) / GST_MSECOND);
    }
  if (!t->linked)
    return t->start_ms;
  now = running_time_now (self);
  if (now <= t->start_running_time && GST_CLOCK_TIME_IS_VALID (t->due_at))
    return MAX (t->start_ms - (gint64) ((t->start_running_time - now) / GST_MSECOND), 0);
  if (now <= t->start_running_time)
    return t->start_ms;
  return t->start_ms + (gint64) ((now - t->start_running_time) / GST_MSECOND);
}

gboolean
rc_room_pipeline_has_track (RcRoomPipeline *self)
{
  return self->track != NULL;
}

/* Is @element inside the current track's bin? */
static gboolean
from_current_track (RcRoomPipeline *self, GstObject *element)
{
  return self->track != NULL && element != NULL
         && (element == GST_OBJECT (self->track->bin)
             || gst_object_has_as_ancestor (element, GST_OBJECT (self->track->bin)));
}

/* From a track bin, or from an element no longer in the pipeline at all
 * (a removed track's decoder drops its source on failure)? The mixer, encoder
 * and tee are never removed, so neither case is a room-wide fault. */
static gboolean
from_any_track (RcRoomPipeline *self, GstObject *element)
{
  for (GstObject *o = element; o != NULL; o = GST_OBJECT_PARENT (o))
    if (GST_IS_BIN (o) && g_str_has_prefix (GST_OBJECT_NAME (o), "track-"))
      return TRUE;
  return element != NULL && !gst_object_has_as_ancestor (element, GST_OBJECT (self->pipeline));
}

static void
handle_error (RcRoomPipeline *self, GstMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, &debug);
  else
    gst_structure_get (gst_message_get_structure (msg), "error", G_TYPE_ERROR, &error, "debug",
                       G_TYPE_STRING, &debug, NULL);
  if (error == NULL)
    return;
  if (from_current_track (self, GST_MESSAGE_SRC (msg)))
    {
      GST_WARNING ("room %s: track failed: %s (%s)", self->room_id, error->message, debug);
      rc_room_pipeline_stop_track (self);
      if (self->callbacks.track_failed)
        self->callbacks.track_failed (self, error, self->user_data);
    }
  else if (from_any_track (self, GST_MESSAGE_SRC (msg)))
    GST_DEBUG ("room %s: error from a track being removed: %s", self->room_id, error->message);
  else
    {
      GST_ERROR ("room %s: pipeline error: %s (%s)", self->room_id, error->message, debug);
      GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS (GST_BIN (self->pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                         "roomcast-error");
    }
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  RcRoomPipeline *self = data;

  switch (GST_MESSAGE_TYPE (msg))
    {
    case GST_MESSAGE_ERROR:
      handle_error (self, msg);
      break;
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, RC_TRACK_BIN_ERROR))
        handle_error (self, msg);
      break;
    case GST_MESSAGE_TAG:
      if (from_current_track (self, GST_MESSAGE_SRC (msg)) && self->callbacks.track_tags)
        {
          g_autoptr (GstTagList) tags = NULL;
          gst_message_parse_tag (msg, &tags);
          self->callbacks.track_tags (self, tags, self->user_data);
        }
      break;
    case GST_MESSAGE_WARNING:
      {
        g_autoptr (GError) error = NULL;
        gst_message_parse_warning (msg, &error, NULL);
        GST_WARNING ("room %s: %s", self->room_id, error->message);
      }
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/* Streaming thread: every RTP packet entering the tee. Its server time C is
 * the clock time of its first sample on the mixer's timeline. */
static GstPadProbeReturn
on_rtp_packet (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RcRoomPipeline *self = data;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  GstBuffer *buffer;
  GstClockTime running;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    {
      GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

      if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
        {
          g_mutex_lock (&self->timeline_lock);
          gst_event_copy_segment (event, &self->rtp_segment);
          g_mutex_unlock (&self->timeline_lock);
        }
      return GST_PAD_PROBE_OK;
    }
  buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  if (!GST_BUFFER_PTS_IS_VALID (buffer) || !gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&self->timeline_lock);
  running = gst_segment_to_running_time (&self->rtp_segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (GST_CLOCK_TIME_IS_VALID (running))
    {
      self->timeline_rtp = gst_rtp_buffer_get_timestamp (&rtp);
      self->timeline_time = gst_element_get_base_time (self->pipeline) + running;
      self->timeline_valid = TRUE;
    }
  if (self->tap != NULL)
    {
      guint8 packet[RTP_TAP_MAX];
      gsize size = gst_buffer_extract (buffer, 0, packet, sizeof packet);

      if (size < sizeof packet)
        self->tap (packet, size, self->tap_data);
    }
  g_mutex_unlock (&self->timeline_lock);
  gst_rtp_buffer_unmap (&rtp);
  return GST_PAD_PROBE_OK;
}

void
rc_room_pipeline_set_rtp_tap (RcRoomPipeline *self, RcRtpTap tap, gpointer user_data,
                              GDestroyNotify destroy)
{
  gpointer old_data;
  GDestroyNotify old_destroy;

  g_mutex_lock (&self->timeline_lock);
  old_data = self->tap_data;
  old_destroy = self->tap_destroy;
  self->tap = tap;
  self->tap_data = user_data;
  self->tap_destroy = destroy;
  g_mutex_unlock (&self->timeline_lock);
  if (old_destroy != NULL)
    old_destroy (old_data);
}

gpointer
rc_room_pipeline_get_rtp_tap_data (RcRoomPipeline *self)
{
  gpointer data;

  g_mutex_lock (&self->timeline_lock);
  data = self->tap_data;
  g_mutex_unlock (&self->timeline_lock);
  return data;
}

gboolean
rc_room_pipeline_get_timeline (RcRoomPipeline *self, guint32 *rtp_timestamp,
                               GstClockTime *server_time)
{
  gboolean valid;

  g_mutex_lock (&self->timeline_lock);
  valid = self->timeline_valid;
  *rtp_timestamp = self->timeline_rtp;
  *server_time = self->timeline_time;
  g_mutex_unlock (&self->timeline_lock);
  return valid;
}

GstClockTime
rc_room_pipeline_sample_time (GstElement *gst_pipeline, GstSample *sample)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  const GstSegment *segment = gst_sample_get_segment (sample);
  GstClockTime running;

  if (buffer == NULL || segment == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_CLOCK_TIME_NONE;
  running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (!GST_CLOCK_TIME_IS_VALID (running))
    return GST_CLOCK_TIME_NONE;
  return gst_element_get_base_time (gst_pipeline) + running;
}

static gboolean
build (RcRoomPipeline *self, GError **error)
{
  g_autofree char *name = g_strdup_printf ("room-%s", self->room_id);
  g_autoptr (GstCaps) caps = gst_caps_from_string (MIX_CAPS);
  GstElement *mix_caps, *encoder, *payloader, *keepalive;
  g_autoptr (GstBus) bus = NULL;

  self->pipeline = gst_pipeline_new (name);
  /* Live by itself: the mixer's own thread waits on the clock for each
   * frame, with no source thread feeding it silence (rc_mixer.h). */
  self->mixer = rc_mixer_new ("mixer");
  mix_caps = gst_element_factory_make ("capsfilter", NULL);
  encoder = gst_element_factory_make ("opusenc", "encoder");
  payloader = gst_element_factory_make ("rtpopuspay", "payloader");
  self->tee = gst_element_factory_make ("tee", "rtp");
  keepalive = gst_element_factory_make ("fakesink", NULL);
  if (!self->mixer || !encoder || !payloader || !self->tee || !keepalive)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                           "GStreamer elements are missing (base, good plugins and opus)");
      gst_clear_object (&self->pipeline);
      return FALSE;
    }
  g_object_set (mix_caps, "caps", caps, NULL);
  /* Complexity 4 of 10: measured at 128 kb/s stereo, 23 % fewer encoder
   * instructions than 6 (callgrind, 10 s of audio: 377 M against 491 M),
   * which took 40 % less than the default 10 for 0.4 dB less SNR; what 4
   * leaves out is CELT's pitch pre-filter (5 and up), which helps strongly
   * periodic sounds at low bitrates (docs/benchmarks.md, "A room's CPU"). */
  g_object_set (encoder, "bitrate", 128000, "frame-size", 20, "complexity", RC_ROOM_OPUS_COMPLEXITY,
                NULL);
  g_object_set (self->tee, "allow-not-linked", TRUE, NULL);
  g_object_set (keepalive, "sync", FALSE, "async", FALSE, NULL);

  gst_bin_add_many (GST_BIN (self->pipeline), self->mixer, mix_caps, encoder, payloader,
                    self->tee, keepalive, NULL);
  if (!gst_element_link_many (self->mixer, mix_caps, encoder, payloader, self->tee, keepalive,
                              NULL))
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                           "Could not link the room pipeline");
      gst_clear_object (&self->pipeline);
      return FALSE;
    }
  {
    g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (self->tee, "sink");
    g_autoptr (GstPad) mixer_src = gst_element_get_static_pad (self->mixer, "src");

    gst_segment_init (&self->rtp_segment, GST_FORMAT_TIME);
    gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                       on_rtp_packet, self, NULL);
    gst_pad_add_probe (mixer_src, GST_PAD_PROBE_TYPE_BUFFER, on_mixer_output, self, NULL);
  }
  /* Every room runs on the monotonic system clock (shared by all rooms). */
  {
    g_autoptr (GstClock) clock = gst_system_clock_obtain ();
    gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), clock);
  }
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus, self);
  return TRUE;
}

/*
 * An edge's pipeline: the origin's RTP from @source straight into the tee
 * (no silence, mixer, encoder or tracks), on @clock with base time 0 and
 * no start time, as the native guest runs, so a packet's running time is
 * its C (pipelines/rc_relay_source.c stamps it so) and the tee's probe
 * finds the origin's C again.
 */
static gboolean
build_relayed (RcRoomPipeline *self, GstElement *source, GstClock *clock, GError **error)
{
  g_autofree char *name = g_strdup_printf ("room-%s", self->room_id);
  g_autoptr (GstPad) tee_sink = NULL;
  g_autoptr (GstBus) bus = NULL;
  GstElement *keepalive;

  self->pipeline = gst_pipeline_new (name);
  self->tee = gst_element_factory_make ("tee", "rtp");
  keepalive = gst_element_factory_make ("fakesink", NULL);
  g_object_set (self->tee, "allow-not-linked", TRUE, NULL);
  g_object_set (keepalive, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (self->pipeline), source, self->tee, keepalive, NULL);
  if (!gst_element_link_many (source, self->tee, keepalive, NULL))
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                           "Could not link the edge's room pipeline");
      gst_clear_object (&self->pipeline);
      return FALSE;
    }
  tee_sink = gst_element_get_static_pad (self->tee, "sink");
  gst_segment_init (&self->rtp_segment, GST_FORMAT_TIME);
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                     on_rtp_packet, self, NULL);
  gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), clock);
  gst_element_set_start_time (self->pipeline, GST_CLOCK_TIME_NONE);
  gst_element_set_base_time (self->pipeline, 0);
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus, self);
  return TRUE;
}

static RcRoomPipeline *
pipeline_new (const char *room_id, GstElement *source, GstClock *clock,
              const RcRoomPipelineCallbacks *callbacks, gpointer user_data, GError **error)
{
  RcRoomPipeline *self = g_new0 (RcRoomPipeline, 1);

  if (rc_room_pipeline_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (rc_room_pipeline_debug, "rc-room-pipeline", 0, "room pipeline");
  self->ref_count = 1;
  self->inputs = g_ptr_array_new ();
  g_mutex_init (&self->timeline_lock);
  g_mutex_init (&self->release_lock);
  self->pads_to_release = g_ptr_array_new_with_free_func (gst_object_unref);
  self->ducking = rc_ducking_new (room_id);
  self->room_id = g_strdup (room_id);
  if (callbacks != NULL)
    self->callbacks = *callbacks;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  if (source != NULL ? !build_relayed (self, source, clock, error) : !build (self, error))
    {
      rc_room_pipeline_unref (self);
      return NULL;
    }
  /* Tracks are placed on the timeline by the pipeline's running time, so
   * return only once it runs (a live pipeline reaches PLAYING quickly). */
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE
      || gst_element_get_state (self->pipeline, NULL, NULL, 5 * GST_SECOND)
           == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                           "The room pipeline would not start");
      rc_room_pipeline_free (self);
      return NULL;
    }
  return self;
}

RcRoomPipeline *
rc_room_pipeline_new (const char *room_id, const RcRoomPipelineCallbacks *callbacks,
                      gpointer user_data, GError **error)
{
  return pipeline_new (room_id, NULL, NULL, callbacks, user_data, error);
}

RcRoomPipeline *
rc_room_pipeline_new_relayed (const char *room_id, GstElement *source, GstClock *clock,
                              const RcRoomPipelineCallbacks *callbacks, gpointer user_data,
                              GError **error)
{
  g_return_val_if_fail (GST_IS_ELEMENT (source) && GST_IS_CLOCK (clock), NULL);
  return pipeline_new (room_id, source, clock, callbacks, user_data, error);
}

void
rc_room_pipeline_free (RcRoomPipeline *self)
{
  Track *t;

  if (self == NULL)
    return;
  self->disposed = TRUE;
  t = g_steal_pointer (&self->track);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  rc_room_pipeline_set_rtp_tap (self, NULL, NULL, NULL);
  if (t != NULL)
    finish_removal (t);
  rc_room_pipeline_drop_inputs (self);
  release_waiting_pads (self); /* nothing streams now */
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  gst_clear_object (&self->pipeline);
  rc_room_pipeline_unref (self);
}

/*
 * Guest branches. A branch joins the tee only once it has reached the
 * pipeline's state (a webrtcbin gets there at once; a branch that must
 * preroll, ending in a plain sink, can only get there with data, so it is
 * linked while on its way). It leaves in an IDLE probe on its tee pad:
 * unlinked between two buffers, so the other branches never miss one, and
 * stopped later on the main context, where taking a webrtcbin down may
 * take a while without holding up the stream.
 */
typedef struct
{
  RcRoomPipeline *owner; /* strong */
  GstElement *branch;    /* strong */
  GstPad *teepad;        /* owned request pad */
  gint done;             /* taken once, atomically */
} BranchRemoval;

static void
branch_removal_free (gpointer data)
{
  BranchRemoval *r = data;

  gst_object_unref (r->teepad);
  gst_object_unref (r->branch);
  rc_room_pipeline_unref (r->owner);
  g_free (r);
}

/*
 * Takes the branch out of the pipeline, then stops it. Not the other way
 * round: a state change of the pipeline may be under way on a GstBin thread
 * (a track that prerolls makes the pipeline lose PLAYING, and a thread of
 * GStreamer's takes it back when the track is ready) and walks the children,
 * setting each to PLAYING. A branch stopped before it left would be set
 * going again and disposed while PLAYING, its queue's thread never stopped
 * (the main context then hangs on that thread's stream lock). Under the
 * pipeline's state lock no such walk is in progress, and once the branch is
 * out (its state locked too) none can reach it.
 */
static void
stop_branch (GstElement *branch)
{
  GstObject *parent = gst_object_get_parent (GST_OBJECT (branch));

  if (parent != NULL)
    {
      GST_STATE_LOCK (parent);
      gst_element_set_locked_state (branch, TRUE);
      gst_bin_remove (GST_BIN (parent), branch);
      GST_STATE_UNLOCK (parent);
      gst_object_unref (parent);
    }
  gst_element_set_state (branch, GST_STATE_NULL);
}

static gboolean
stop_branch_on_main (gpointer data)
{
  stop_branch (data);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
on_idle_unlink_branch (GstPad *teepad, GstPadProbeInfo *info, gpointer data)
{
  BranchRemoval *r = data;
  GstElement *tee;
  GstPad *peer;

  /* Runs once, though two threads may call it at the same moment: the main
   * context's add_probe finding the pad idle and a streaming thread leaving
   * it (as on_idle_unlink above). Whoever takes the flag does the work; a
   * plain test-then-set let both unlink and release the pad. */
  if (!g_atomic_int_compare_and_exchange (&r->done, FALSE, TRUE))
    return GST_PAD_PROBE_REMOVE;
  peer = gst_pad_get_peer (teepad);
  if (peer != NULL)
    {
      gst_pad_unlink (teepad, peer);
      gst_object_unref (peer);
    }
  tee = gst_pad_get_parent_element (teepad);
  if (tee != NULL)
    {
      gst_element_release_request_pad (tee, teepad);
      gst_object_unref (tee);
    }
  rc_defer (r->owner->context, G_PRIORITY_DEFAULT, stop_branch_on_main,
            gst_object_ref (r->branch), gst_object_unref);
  return GST_PAD_PROBE_REMOVE;
}

gboolean
rc_room_pipeline_add_branch (RcRoomPipeline *self, GstElement *branch)
{
  g_autoptr (GstPad) sink = gst_element_get_static_pad (branch, "sink");
  GstPad *teepad;

  if (sink == NULL)
    {
      GST_ERROR ("room %s: branch %s has no sink pad", self->room_id, GST_OBJECT_NAME (branch));
      return FALSE;
    }
  gst_object_ref_sink (branch);
  if (!gst_bin_add (GST_BIN (self->pipeline), branch))
    {
      gst_object_unref (branch);
      return FALSE;
    }
  if (gst_element_sync_state_with_parent (branch) == GST_STATE_CHANGE_FAILURE)
    {
      GST_ERROR ("room %s: branch %s would not start", self->room_id, GST_OBJECT_NAME (branch));
      stop_branch (branch);
      gst_object_unref (branch);
      return FALSE;
    }
  teepad = gst_element_request_pad_simple (self->tee, "src_%u");
  if (gst_pad_link (teepad, sink) != GST_PAD_LINK_OK)
    {
      GST_ERROR ("room %s: could not link branch %s", self->room_id, GST_OBJECT_NAME (branch));
      gst_element_release_request_pad (self->tee, teepad);
      gst_object_unref (teepad);
      stop_branch (branch);
      gst_object_unref (branch);
      return FALSE;
    }
  g_object_set_data_full (G_OBJECT (branch), "rc-tee-pad", teepad, gst_object_unref);
  gst_object_unref (branch);
  return TRUE;
}

void
rc_room_pipeline_remove_branch (RcRoomPipeline *self, GstElement *branch)
{
  GstPad *teepad = g_object_steal_data (G_OBJECT (branch), "rc-tee-pad");
  BranchRemoval *r;

  if (teepad == NULL)
    {
      /* Never linked: nothing flows into it. */
      if (GST_OBJECT_PARENT (branch) == GST_OBJECT (self->pipeline))
        stop_branch (branch);
      return;
    }
  r = g_new0 (BranchRemoval, 1);
  r->owner = rc_room_pipeline_ref (self);
  r->branch = gst_object_ref (branch);
  r->teepad = teepad;
  gst_pad_add_probe (teepad, GST_PAD_PROBE_TYPE_IDLE, on_idle_unlink_branch, r,
                     branch_removal_free);
}

GstPipeline *
rc_room_pipeline_get_gst (RcRoomPipeline *self)
{
  return GST_PIPELINE (self->pipeline);
}

/* SPDX-License-Identifier: MIT */
/*
 * A room pipeline's live inputs (a host over WHIP or SRT) and the talk-over
 * ducking that listens to them, split from rc_room_pipeline.c, which keeps
 * the mixer, the tracks and the guest branches. The state is the
 * pipeline's (rc_room_pipeline-private.h).
 *
 * Ordering rule, as for the whole pipeline: streaming-thread probes only
 * hand work to the main context (rc_defer, holding a reference to the
 * input); the input list and each input's state are touched on the main
 * context only, except the fields marked for the streaming thread.
 */
#include "pipelines/rc_room_pipeline.h"
#include "pipelines/rc_room_pipeline-private.h"
#include "pipelines/rc_defer.h"

#define GST_CAT_DEFAULT rc_room_pipeline_debug

typedef struct _Input Input;

/* Added to every input's lead. The mixer waits for no pad past a frame's
 * start (pipelines/rc_mixer.h); when a live silence source paced
 * it, it waited up to its 50 ms latency for a late input. An input placed
 * this much later has that much room for its streaming thread's lateness
 * (network jitter is the input's own lead: a WHIP host's jitter buffer
 * latency), at this much more delay for the host's audio. 20 ms put a WHIP
 * host at D + 57 ms (bench-latency, quiet), but on a busy machine the
 * host's decoding thread fell behind it and the mixer mixed silence in its
 * place: test_whip's guest heard 0.6-1.2 s of silence after a takeover in 3
 * runs of 8 with both cores hogged, and in two fresh-clone CI runs. 50 ms
 * held 8 of 8 under the same load, for a host heard at D + 87.5 ms (past
 * issue 5's D + 60; docs/benchmarks.md, bench-latency). A host that drops
 * out is worse than one heard 30 ms later. */
#define INPUT_WAIT (50 * GST_MSECOND)

/*
 * Live inputs. Like a track, an input reaches the mixer through a blocking
 * probe on its output, but its data is already stamped with the pipeline's
 * running time (a jitter buffer releases each packet `latency` after it
 * arrived), so the pad offset is not "now" but how late the first buffer
 * came out, plus a lead. The mixer is told the input is not live: its
 * deadline stays the room's, whatever the input's jitter buffer holds.
 */
struct _Input
{
  gint ref_count;        /* the pipeline's list, each pending main-context call */
  RcRoomPipeline *owner; /* strong */
  GstElement *element;   /* strong */
  GstPad *src;           /* the input's output */
  GstPad *mixer_pad;
  GstClockTime lead;
  gulong block_probe;
  gulong idle_probe;
  /* Written by the streaming thread before it hands over to the main
   * context (attaching the source orders the write before the read). */
  GstClockTimeDiff lateness;
  GstClockTime offset; /* main context: its pad offset once linked */
  gboolean linked;   /* main context */
  gboolean removed;  /* main context: being taken out */
  gboolean stopped;  /* main context: out, and off the pipeline's list */
  RcRoomPipelineInputFunc on_linked; /* main context; cleared when stopped */
  gpointer on_linked_data;
  gint unlinked; /* atomic: set by the one call of the IDLE probe that unlinks */
};

static Input *
input_ref (Input *in)
{
  g_atomic_int_inc (&in->ref_count);
  return in;
}

static void
input_unref (Input *in)
{
  if (!g_atomic_int_dec_and_test (&in->ref_count))
    return;
  gst_clear_object (&in->mixer_pad);
  gst_clear_object (&in->src);
  gst_clear_object (&in->element);
  rc_room_pipeline_unref (in->owner);
  g_free (in);
}

static Input *
find_input (RcRoomPipeline *self, GstElement *element)
{
  for (guint i = 0; i < self->inputs->len; i++)
    {
      Input *in = self->inputs->pdata[i];

      if (in->element == element && !in->removed)
        return in;
    }
  return NULL;
}

/* Takes @in down and drops the pipeline's reference to it. Main context. */
static void
stop_input (Input *in)
{
  RcRoomPipeline *self = in->owner;
  GstObject *parent;

  if (in->stopped)
    return;
  in->stopped = TRUE;
  in->removed = TRUE;
  in->on_linked = NULL;
  rc_ducking_forget (self->ducking, in->src);
  GST_DEBUG ("room %s: stopping input %s", self->room_id, GST_OBJECT_NAME (in->element));
  /* Wakes a streaming thread parked in the block or the IDLE probe, which
   * holds the stream locks upstream; then the probes (and the references
   * they hold) can go. */
  gst_pad_set_active (in->src, FALSE);
  if (in->block_probe != 0)
    gst_pad_remove_probe (in->src, in->block_probe);
  if (in->idle_probe != 0)
    gst_pad_remove_probe (in->src, in->idle_probe);
  in->block_probe = in->idle_probe = 0;
  if (!rc_room_pipeline_take_down (in->element))
    GST_WARNING ("room %s: input %s would not stop cleanly", self->room_id,
                 GST_OBJECT_NAME (in->element));
  parent = gst_object_get_parent (GST_OBJECT (in->element));
  if (parent != NULL)
    {
      gst_bin_remove (GST_BIN (parent), in->element);
      gst_object_unref (parent);
    }
  if (g_ptr_array_remove (self->inputs, in))
    input_unref (in);
}

static gboolean
stop_input_on_main (gpointer data)
{
  stop_input (data);
  return G_SOURCE_REMOVE;
}

static void
input_invoke_on_main (Input *in, GSourceFunc func)
{
  rc_defer (in->owner->context, G_PRIORITY_DEFAULT, func, input_ref (in), (GDestroyNotify) input_unref);
}

static gboolean
link_input_on_main (gpointer data)
{
  Input *in = data;
  RcRoomPipeline *self = in->owner;
  GstClockTime offset;

  if (self->disposed || in->removed || in->linked)
    return G_SOURCE_REMOVE;
  offset = (GstClockTime) MAX (in->lateness, 0) + in->lead;
  in->mixer_pad = gst_element_request_pad_simple (self->mixer, "sink_%u");
  gst_pad_set_offset (in->src, (gint64) offset);
  in->offset = offset;
  if (gst_pad_link (in->src, in->mixer_pad) != GST_PAD_LINK_OK)
    {
      GST_ERROR ("room %s: could not link input %s to the mixer", self->room_id,
                 GST_OBJECT_NAME (in->element));
      gst_element_release_request_pad (self->mixer, in->mixer_pad);
      gst_clear_object (&in->mixer_pad);
      return G_SOURCE_REMOVE; /* stays blocked: silent until removed */
    }
  in->linked = TRUE;
  GST_INFO ("room %s: input %s linked, %" GST_STIME_FORMAT " late, offset %" GST_TIME_FORMAT,
            self->room_id, GST_OBJECT_NAME (in->element), GST_STIME_ARGS (in->lateness),
            GST_TIME_ARGS (offset));
  gst_pad_remove_probe (in->src, in->block_probe);
  in->block_probe = 0;
  if (in->on_linked != NULL)
    in->on_linked (in->element, in->on_linked_data);
  return G_SOURCE_REMOVE;
}

/* Streaming thread: the input's first buffer waits at its output. */
static GstPadProbeReturn
on_input_blocked (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Input *in = data;
  GstBuffer *buffer = NULL;
  g_autoptr (GstEvent) segment_event = NULL;
  g_autoptr (GstClock) clock = NULL;
  const GstSegment *segment;
  GstClockTime running;

  if (in->linked)
    return GST_PAD_PROBE_OK;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  else if (gst_buffer_list_length (GST_PAD_PROBE_INFO_BUFFER_LIST (info)) > 0)
    buffer = gst_buffer_list_get (GST_PAD_PROBE_INFO_BUFFER_LIST (info), 0);
  segment_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  clock = gst_element_get_clock (in->element);
  if (buffer == NULL || segment_event == NULL || clock == NULL
      || !GST_BUFFER_PTS_IS_VALID (buffer))
    {
      /* Nothing to place it by: drop it and wait for a buffer that is. */
      return GST_PAD_PROBE_DROP;
    }
  gst_event_parse_segment (segment_event, &segment);
  running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (!GST_CLOCK_TIME_IS_VALID (running))
    return GST_PAD_PROBE_DROP;
  in->lateness = GST_CLOCK_DIFF (running, gst_clock_get_time (clock)
                                            - gst_element_get_base_time (in->element));
  input_invoke_on_main (in, link_input_on_main);
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: EOS from a host would end the mixer pad for good. */
static GstPadProbeReturn
on_input_event (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  return GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS ? GST_PAD_PROBE_DROP
                                                                          : GST_PAD_PROBE_OK;
}

/* The mixer asks its inputs for their latency: this one is placed by its
 * pad offset, so it answers as a file would (not live, none). */
static GstPadProbeReturn
on_input_query (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_PAD_PROBE_OK;
  gst_query_set_latency (query, FALSE, 0, GST_CLOCK_TIME_NONE);
  return GST_PAD_PROBE_HANDLED;
}

gboolean
rc_room_pipeline_add_input (RcRoomPipeline *self, GstElement *input, GstClockTime lead)
{
  return rc_room_pipeline_add_input_full (self, input, lead, NULL, NULL);
}

gboolean
rc_room_pipeline_add_input_full (RcRoomPipeline *self, GstElement *input, GstClockTime lead,
                                 RcRoomPipelineInputFunc linked, gpointer user_data)
{
  g_autoptr (GstPad) src = NULL;
  Input *in;

  g_return_val_if_fail (self->mixer != NULL, FALSE); /* an edge's pipeline mixes nothing */
  src = gst_element_get_static_pad (input, "src");
  if (src == NULL)
    {
      GST_ERROR ("room %s: input %s has no src pad", self->room_id, GST_OBJECT_NAME (input));
      return FALSE;
    }
  gst_object_ref_sink (input);
  /* An input runs its own state, as a track does: the pipeline's own state
   * changes (an asynchronous one finishing on another thread, as a guest
   * branch prerolls) must never start it again while it is being stopped. */
  gst_element_set_locked_state (input, TRUE);
  if (!gst_bin_add (GST_BIN (self->pipeline), input))
    {
      gst_object_unref (input);
      return FALSE;
    }
  in = g_new0 (Input, 1);
  in->ref_count = 1;
  in->owner = rc_room_pipeline_ref (self);
  in->element = input; /* the reference taken above */
  in->src = gst_object_ref (src);
  in->lead = lead + INPUT_WAIT;
  in->on_linked = linked;
  in->on_linked_data = user_data;
  in->block_probe = gst_pad_add_probe (src,
                                       GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER
                                         | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                       on_input_blocked, input_ref (in),
                                       (GDestroyNotify) input_unref);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_input_event, NULL, NULL);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_QUERY_UPSTREAM | GST_PAD_PROBE_TYPE_PUSH,
                     on_input_query, NULL, NULL);
  g_ptr_array_add (self->inputs, in);
  if (gst_element_set_state (input, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      GST_ERROR ("room %s: input %s would not start", self->room_id, GST_OBJECT_NAME (input));
      stop_input (in);
      return FALSE;
    }
  GST_INFO ("room %s: input %s added", self->room_id, GST_OBJECT_NAME (input));
  return TRUE;
}

static GstPadProbeReturn
on_idle_unlink_input (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Input *in = data;

  /* Runs once, though the probe may be called again while the pad stays
   * blocked (until the input is stopped), and from the main context and a
   * streaming thread at once: the first to set the flag unlinks. */
  if (!g_atomic_int_compare_and_exchange (&in->unlinked, FALSE, TRUE))
    return GST_PAD_PROBE_OK;
  GST_DEBUG ("room %s: input %s unlinked", in->owner->room_id, GST_OBJECT_NAME (in->element));
  gst_pad_unlink (in->src, in->mixer_pad);
  rc_room_pipeline_release_mixer_pad (in->owner, gst_object_ref (in->mixer_pad));
  input_invoke_on_main (in, stop_input_on_main);
  return GST_PAD_PROBE_OK;
}

void
rc_room_pipeline_remove_input (RcRoomPipeline *self, GstElement *input)
{
  Input *in = find_input (self, input);

  if (in == NULL)
    return;
  GST_DEBUG ("room %s: removing input %s (linked: %d)", self->room_id, GST_OBJECT_NAME (input),
             in->linked);
  in->removed = TRUE;
  in->on_linked = NULL;
  rc_ducking_forget (self->ducking, in->src);
  if (in->linked)
    in->idle_probe = gst_pad_add_probe (in->src, GST_PAD_PROBE_TYPE_IDLE, on_idle_unlink_input,
                                        input_ref (in), (GDestroyNotify) input_unref);
  else
    stop_input (in);
}

gboolean
rc_room_pipeline_input_is_linked (RcRoomPipeline *self, GstElement *input)
{
  Input *in = find_input (self, input);

  return in != NULL && in->linked;
}

GstClockTime
rc_room_pipeline_get_input_offset (RcRoomPipeline *self, GstElement *input)
{
  Input *in = find_input (self, input);

  return in != NULL && in->linked ? in->offset : GST_CLOCK_TIME_NONE;
}

void
rc_room_pipeline_drop_inputs (RcRoomPipeline *self)
{
  while (self->inputs->len > 0)
    stop_input (self->inputs->pdata[self->inputs->len - 1]);
}

/* Talk-over: the ducking listens to @input's output (see rc_ducking.c). */
void
rc_room_pipeline_set_ducking (RcRoomPipeline *self, GstElement *input,
                              const RcDuckingParams *ducking)
{
  Input *in = NULL;

  if (input != NULL && ducking != NULL)
    {
      in = find_input (self, input);
      if (in == NULL)
        GST_WARNING ("room %s: %s is not an input of this room: ducking off", self->room_id,
                     GST_OBJECT_NAME (input));
    }
  rc_ducking_set (self->ducking, in != NULL ? in->src : NULL,
                  in != NULL ? GST_OBJECT_NAME (in->element) : NULL, ducking);
}

double
rc_room_pipeline_get_duck_gain_db (RcRoomPipeline *self)
{
  return rc_ducking_get_gain_db (self->ducking);
}

double
rc_room_pipeline_get_input_level_db (RcRoomPipeline *self)
{
  return rc_ducking_get_input_level_db (self->ducking);
}

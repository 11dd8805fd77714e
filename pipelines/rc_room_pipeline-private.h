/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * The room pipeline's private state, shared by rc_room_pipeline.c (the
 * mixer, tracks, guest branches and the RTP tap) and
 * rc_room_pipeline_input.c (live inputs and talk-over). Touched on the main
 * context only, except the timeline and the tap (timeline_lock) and the
 * ducking (its own lock).
 */
GST_DEBUG_CATEGORY_EXTERN (rc_room_pipeline_debug);

struct _RcRoomPipeline
{
  gint ref_count;
  char *room_id;
  RcRoomPipelineCallbacks callbacks;
  gpointer user_data;
  GMainContext *context;
  gboolean disposed;

  GstElement *pipeline;
  GstElement *mixer;
  GstElement *tee;
  guint bus_watch;
  guint track_serial;

  struct _Track *track; /* the current track, or NULL (silence) */
  GPtrArray *inputs; /* struct _Input*, live inputs (hosts) being mixed in */

  /* The latest RTP packet's timestamp and server time (streaming thread
   * writes, main context reads). */
  GMutex timeline_lock;
  GstSegment rtp_segment;
  guint32 timeline_rtp;
  GstClockTime timeline_time;
  gboolean timeline_valid;
  /* The RTP tap (the fan-out engine's stream), under timeline_lock. */
  RcRtpTap tap;
  gpointer tap_data;
  GDestroyNotify tap_destroy;

  RcDucking *ducking; /* talk-over: its own lock, its probes hold references */
  /* Mixer pads unlinked and waiting for the mixer's own thread to release
   * them (rc_room_pipeline_release_mixer_pad), under release_lock. */
  GMutex release_lock;
  GPtrArray *pads_to_release; /* GstPad*, owned */
};

/* rc_room_pipeline.c: the references tracks, inputs and branch removals
 * hold on the pipeline's state, so it outlives rc_room_pipeline_free while
 * a probe or a main-context call still needs it. */
RcRoomPipeline *rc_room_pipeline_ref (RcRoomPipeline *self);
void rc_room_pipeline_unref (RcRoomPipeline *self);

/* rc_room_pipeline.c: gives the mixer back @pad (transfer full), already
 * unlinked from its source. Any thread. */
void rc_room_pipeline_release_mixer_pad (RcRoomPipeline *self, GstPad *pad);

/* rc_room_pipeline.c: takes @element (a track's or an input's bin, whose
 * state is its own) to NULL with everything in it, even when its start
 * failed half-way or an asynchronous change of its state is under way;
 * FALSE if it would not stop cleanly. Main context. */
gboolean rc_room_pipeline_take_down (GstElement *element);

/* rc_room_pipeline_input.c: the pipeline is going: its inputs go down with
 * it, removed or not. Main context. */
void rc_room_pipeline_drop_inputs (RcRoomPipeline *self);

G_END_DECLS

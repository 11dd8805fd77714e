/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

#include "pipelines/rc_ducking.h"

G_BEGIN_DECLS

/*
 * RcRoomPipeline: one room's GStreamer pipeline. A live silence source keeps
 * the mixer's timeline running from the moment the pipeline starts; the
 * current track is a decode bin mixed in at an offset. Playing, pausing,
 * seeking or changing track adds or removes a decode bin and never touches
 * the timeline, the encoder or the guests' branches.
 *
 *   audiotestsrc(silence, live) ─┐
 *   uridecodebin ─ convert ─ vol ┼─ audiomixer ─ opusenc ─ rtpopuspay ─ tee ─ branches
 *   live inputs (hosts) ─────────┘
 *
 * All calls are made on the main context; callbacks arrive there too.
 */
typedef struct _RcRoomPipeline RcRoomPipeline;

typedef struct
{
  /* The current track played to its end. */
  void (*track_ended) (RcRoomPipeline *pipeline, gpointer user_data);
  /* The current track failed (unreadable, 404, decode error); it is gone. */
  void (*track_failed) (RcRoomPipeline *pipeline, const GError *error, gpointer user_data);
  /* Tags of the current track (title, artist...) as they arrive. */
  void (*track_tags) (RcRoomPipeline *pipeline, const GstTagList *tags, gpointer user_data);
} RcRoomPipelineCallbacks;

RcRoomPipeline *rc_room_pipeline_new (const char *room_id, const RcRoomPipelineCallbacks *callbacks,
                                      gpointer user_data, GError **error);
/*
 * An edge's room pipeline (the origin → edge media relay): no mixer,
 * encoder or tracks; the origin's RTP comes from @source (an
 * RcRelaySource's element, stamped with each packet's C) straight into the
 * tee, and branches, the RTP tap and the timeline work as on the origin,
 * with the origin's C. It runs on @clock (the origin's clock, a
 * GstNetClientClock on its clock port) with base time 0. Tracks and live
 * inputs are not for it. @callbacks may be NULL.
 */
RcRoomPipeline *rc_room_pipeline_new_relayed (const char *room_id, GstElement *source,
                                              GstClock *clock,
                                              const RcRoomPipelineCallbacks *callbacks,
                                              gpointer user_data, GError **error);
void rc_room_pipeline_free (RcRoomPipeline *pipeline);

/* Plays @uri from @position_ms, replacing whatever played. */
void rc_room_pipeline_play (RcRoomPipeline *pipeline, const char *uri, gint64 position_ms);
/*
 * Plays @uri so that its sample at @position_ms is mixed at clock time
 * @due_at (the pipeline's clock, the server clock), replacing whatever
 * played: a room whose timeline ran without a pipeline joins it in step.
 * The track seeks a little beyond where the timeline is when its decoder
 * is ready; data that is still late is dropped by the mixer, never played
 * late. Unseekable streams start from where they are.
 */
void rc_room_pipeline_play_at (RcRoomPipeline *pipeline, const char *uri, gint64 position_ms,
                               GstClockTime due_at);
/* Removes the current track: the room goes silent, the timeline runs on. */
void rc_room_pipeline_stop_track (RcRoomPipeline *pipeline);

/* Where the current track is, in ms (or -1 without a track). */
gint64 rc_room_pipeline_get_position_ms (RcRoomPipeline *pipeline);
gboolean rc_room_pipeline_has_track (RcRoomPipeline *pipeline);

/*
 * Guest branches hang off the RTP tee. @branch must have one always sink
 * pad; it is added, brought to the pipeline's state and only then linked
 * (FALSE, and @branch is gone from the pipeline, when it cannot start).
 * Removal unlinks inside an IDLE probe so the other branches never see a
 * gap, and stops the branch later on the main context.
 */
gboolean rc_room_pipeline_add_branch (RcRoomPipeline *pipeline, GstElement *branch);
void rc_room_pipeline_remove_branch (RcRoomPipeline *pipeline, GstElement *branch);

/*
 * Live inputs (a host's stream) are mixed in beside the track. @input has
 * one always "src" pad giving S16LE 48 kHz stereo stamped with the
 * pipeline's running time, as live sources are (a jitter buffer's output);
 * its ERRORs must stay its own (catch them in its bin). It is added and
 * started at once and linked to a new mixer pad when its first buffer comes
 * out, with a pad offset of how late that buffer was plus @lead plus 50 ms
 * (the room the mixer gives its jitter: it waits for no pad past a frame's
 * start): later buffers arrive as late, so all reach the mixer before its
 * deadline. Its
 * latency is not reported to the mixer, so a host with a deep jitter buffer
 * never delays the room; its EOS never reaches the mixer. FALSE (and @input
 * is gone from the pipeline) when it cannot start.
 *
 * Removal unlinks in an IDLE probe and stops @input later on the main
 * context, as for branches.
 */
gboolean rc_room_pipeline_add_input (RcRoomPipeline *pipeline, GstElement *input,
                                     GstClockTime lead);
/* Told on the main context when @input's first audio is linked into the
 * mix: what guests hear from then on is the input. */
typedef void (*RcRoomPipelineInputFunc) (GstElement *input, gpointer user_data);
/* As rc_room_pipeline_add_input, and @linked(@input, @user_data) once it is
 * linked; never after rc_room_pipeline_remove_input. */
gboolean rc_room_pipeline_add_input_full (RcRoomPipeline *pipeline, GstElement *input,
                                          GstClockTime lead, RcRoomPipelineInputFunc linked,
                                          gpointer user_data);
void rc_room_pipeline_remove_input (RcRoomPipeline *pipeline, GstElement *input);
/* Whether @input's first buffer has reached the mixer. */
gboolean rc_room_pipeline_input_is_linked (RcRoomPipeline *pipeline, GstElement *input);
/* How much later than its own timestamps @input is mixed (how late its
 * first buffer came plus @lead and the 50 ms): how long its audio waits at the server
 * beyond its own path. GST_CLOCK_TIME_NONE until it is linked. */
GstClockTime rc_room_pipeline_get_input_offset (RcRoomPipeline *pipeline, GstElement *input);

/*
 * Talk-over (see pipelines/rc_ducking.h): the track is ducked under
 * @input. @input must have been added (it need not be linked yet). Calling
 * again with the same @input only changes the settings; another input
 * replaces it. @input NULL (or @ducking NULL) turns ducking off, ramping
 * back up over @release_ms, as removing @input does.
 */
void rc_room_pipeline_set_ducking (RcRoomPipeline *pipeline, GstElement *input,
                                   const RcDuckingParams *ducking);
/* The track's gain now, in dB (0 when not ducked; it moves with the
 * track's samples, and catches up when none flow), and @input's latest
 * level in dBFS (-inf without ducking, or before its first buffer); for
 * stats and tests. */
double rc_room_pipeline_get_duck_gain_db (RcRoomPipeline *pipeline);
double rc_room_pipeline_get_input_level_db (RcRoomPipeline *pipeline);

GstPipeline *rc_room_pipeline_get_gst (RcRoomPipeline *pipeline);

/*
 * The room's timeline: the RTP timestamp and the server time (clock time of
 * its first sample, see server/rc_clock.h) of the latest packet. RTP time is
 * linear in server time at 48 kHz, so one pair maps every packet. FALSE
 * until the first packet.
 */
#define RC_ROOM_PIPELINE_CLOCK_RATE 48000

/*
 * One tap on the room's RTP, for the WebRTC fan-out engine: @tap gets a
 * copy of every packet entering the tee, on the streaming thread (keep it
 * short: queue and return). Replaces an earlier tap (its @destroy runs);
 * removed, and @destroy run, when the pipeline is freed. NULL removes it.
 */
typedef void (*RcRtpTap) (const guint8 *rtp, gsize length, gpointer user_data);
void rc_room_pipeline_set_rtp_tap (RcRoomPipeline *pipeline, RcRtpTap tap, gpointer user_data,
                                   GDestroyNotify destroy);
/* The current tap's @user_data, or NULL. */
gpointer rc_room_pipeline_get_rtp_tap_data (RcRoomPipeline *pipeline);
gboolean rc_room_pipeline_get_timeline (RcRoomPipeline *pipeline, guint32 *rtp_timestamp,
                                        GstClockTime *server_time);
/* The server time C of @sample, an RTP packet a branch's appsink took from
 * the tee of @gst_pipeline (rc_room_pipeline_get_gst): the base time plus
 * its running time, as the tee's probe counts it. GST_CLOCK_TIME_NONE
 * when it has none. Any thread. */
GstClockTime rc_room_pipeline_sample_time (GstElement *gst_pipeline, GstSample *sample);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRoomPipeline, rc_room_pipeline_free)

G_END_DECLS

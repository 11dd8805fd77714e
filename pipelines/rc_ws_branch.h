/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * RcWsBranch: the room's RTP stream turned into WebSocket audio messages
 * (see docs/protocol.md, "Audio over the WebSocket"). One per room, shared
 * by all of its WebSocket guests: an appsink on the RTP tee, run by the
 * mixer's thread (no queue: the owner's function must not wait).
 * Each packet becomes one frame (version, header length, RTP timestamp,
 * server time C, sequence number, Opus payload); a message is one frame,
 * or a bundle of 2-RC_WS_BUNDLE_MAX frames when the room asks for it
 * (rc_ws_branch_set_frames_per_message), each frame keeping its own C.
 * Messages are delivered on the streaming thread.
 */
typedef struct _RcWsBranch RcWsBranch;

#define RC_WS_FRAME_VERSION 1
#define RC_WS_FRAME_HEADER 20
#define RC_WS_BUNDLE_VERSION 2
#define RC_WS_BUNDLE_HEADER 4
#define RC_WS_BUNDLE_MAX 5

/* @message is borrowed; called on the pipeline's streaming thread. */
typedef void (*RcWsMessageFunc) (GBytes *message, gpointer user_data);

RcWsBranch *rc_ws_branch_new (RcRoomPipeline *pipeline, RcWsMessageFunc func, gpointer user_data);
/* Leaves the pipeline (IDLE probe, no gap for others); once it returns, no
 * callback runs or will run. */
void rc_ws_branch_free (RcWsBranch *branch);
/* 1 (every frame its own message) to RC_WS_BUNDLE_MAX; any thread. */
void rc_ws_branch_set_frames_per_message (RcWsBranch *branch, guint frames);

/* Walks the frames of a message made here: @offset starts at 0; each call
 * gives the next frame (check it with rc_ws_frame_parse). FALSE at the end,
 * or when the message is not one (then nothing more is given). */
gboolean rc_ws_message_next (const guint8 *data, gsize length, gsize *offset,
                             const guint8 **frame, gsize *frame_length);

/* Parses a frame made here (tests, the native guest): FALSE if it is not one. */
gboolean rc_ws_frame_parse (const guint8 *data, gsize length, guint32 *rtp_timestamp,
                            double *server_time_ms, guint32 *sequence, const guint8 **payload,
                            gsize *payload_length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWsBranch, rc_ws_branch_free)

G_END_DECLS

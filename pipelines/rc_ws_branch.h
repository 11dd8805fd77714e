/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * RcWsBranch: the room's RTP stream turned into WebSocket audio frames (see
 * docs/protocol.md, "Audio over the WebSocket"). One per room, shared by all
 * of its WebSocket guests: leaky queue ─ appsink on the RTP tee. Each packet
 * becomes one frame (version, header length, RTP timestamp, server time C,
 * sequence number, Opus payload), delivered on the main context.
 */
typedef struct _RcWsBranch RcWsBranch;

#define RC_WS_FRAME_VERSION 1
#define RC_WS_FRAME_HEADER 20

/* @frame is borrowed; called on the main context, never from inside a call. */
typedef void (*RcWsFrameFunc) (GBytes *frame, gpointer user_data);

RcWsBranch *rc_ws_branch_new (RcRoomPipeline *pipeline, RcWsFrameFunc func, gpointer user_data);
/* Leaves the pipeline (IDLE probe, no gap for others); no callback after this. */
void rc_ws_branch_free (RcWsBranch *branch);

/* Parses a frame made here (tests, the native guest): FALSE if it is not one. */
gboolean rc_ws_frame_parse (const guint8 *data, gsize length, guint32 *rtp_timestamp,
                            double *server_time_ms, guint32 *sequence, const guint8 **payload,
                            gsize *payload_length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWsBranch, rc_ws_branch_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_fanout.h"
#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * A room pipeline's stream in the WebRTC fan-out engine: made by its first
 * WebRTC guest on the pipeline's RTP tap (rc_room_pipeline_set_rtp_tap),
 * named @name, and gone with the pipeline (and its last guest, which holds
 * a reference). An origin's pipeline and an edge's relayed one are fed the
 * same way. Main context.
 */
RcFanoutStream *rc_fanout_tap_stream (RcFanout *fanout, RcRoomPipeline *pipeline, const char *name);

G_END_DECLS

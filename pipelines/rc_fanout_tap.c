/* SPDX-License-Identifier: MIT */
/*
 * Why this file exists: the fan-out engine is fed from a room pipeline's
 * RTP tap, whoever's pipeline it is (the room's node's, which encodes, or
 * an edge's, which relays the origin's packets): the stream is hung on the
 * tap once, here, and both the room's guests and an edge's take it.
 */
#include "pipelines/rc_fanout_tap.h"

static void
tap_rtp (const guint8 *rtp, gsize length, gpointer stream)
{
  rc_fanout_stream_push (stream, rtp, length);
}

RcFanoutStream *
rc_fanout_tap_stream (RcFanout *fanout, RcRoomPipeline *pipeline, const char *name)
{
  RcFanoutStream *stream = rc_room_pipeline_get_rtp_tap_data (pipeline);

  if (stream == NULL)
    {
      stream = rc_fanout_stream_new (fanout, name);
      rc_room_pipeline_set_rtp_tap (pipeline, tap_rtp, stream,
                                    (GDestroyNotify)rc_fanout_stream_unref);
    }
  return stream;
}

/* SPDX-License-Identifier: MIT */
/*
 * Splitting a binary WebSocket message into its media frames (see
 * rc_lg_media.h): the load generator reads both forms because a room
 * switches between them as its listeners come and go.
 */
#include "rc_lg_media.h"

#include "pipelines/rc_ws_branch.h"

#include <math.h>

gboolean
rc_lg_media_split (const guint8 *data, gsize length, RcLgMediaFrameFunc func, gpointer user_data)
{
  gsize offset = 0, before = 0;
  guint frames = 0;
  const guint8 *frame;
  gsize frame_length;

  /* The frames are walked by the server's own reader; a bundle must hold
   * exactly the frames its header counts and end at its last one. */
  while (before = offset, rc_ws_message_next (data, length, &offset, &frame, &frame_length))
    {
      frames++;
      if (!func (frame, frame_length, user_data))
        return FALSE;
    }
  if (frames == 0 || before != length)
    return FALSE;
  return data[0] != RC_WS_BUNDLE_VERSION || frames == data[1];
}

double
rc_lg_media_last_c (const guint8 *data, gsize length)
{
  gsize offset = 0, frame_length, payload_length;
  const guint8 *frame, *payload;
  double c_ms = NAN, c;
  guint32 rtp, seq;

  while (rc_ws_message_next (data, length, &offset, &frame, &frame_length))
    if (rc_ws_frame_parse (frame, frame_length, &rtp, &c, &seq, &payload, &payload_length))
      c_ms = c;
  return c_ms;
}

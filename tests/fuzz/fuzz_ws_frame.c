/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a binary WebSocket audio message as the native guest
 * reads it: rc_ws_message_next walks a lone frame or a bundle of them
 * (pipelines/rc_ws_branch.h), then rc_ws_frame_parse reads each frame's
 * 20-byte header and the Opus payload behind it. Every frame handed out
 * must lie inside the message, the walk must end, and an accepted frame's
 * C must be a time the guest can schedule (finite, as
 * rc_native_playout_push turns it into a buffer time).
 */
#include "pipelines/rc_ws_branch.h"

#include <math.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  gsize offset = 0, frame_length = 0, previous = 0;
  const guint8 *frame = NULL;
  guint frames = 0;

  while (rc_ws_message_next (data, size, &offset, &frame, &frame_length))
    {
      guint32 rtp = 0, sequence = 0;
      double server_time = 0;
      const guint8 *payload = NULL;
      gsize length = 0;

      g_assert (frame >= data && frame + frame_length <= data + size);
      g_assert (offset > previous && offset <= size);
      previous = offset;
      g_assert (++frames <= size);
      if (!rc_ws_frame_parse (frame, frame_length, &rtp, &server_time, &sequence, &payload,
                              &length))
        continue;
      g_assert (payload >= frame && payload + length == frame + frame_length);
      g_assert (isfinite (server_time));
      /* The guest copies the payload into its decoder's buffer. */
      g_free (g_memdup2 (payload, length));
    }
  return 0;
}

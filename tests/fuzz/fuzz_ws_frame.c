/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a WebSocket audio frame as the native guest reads it
 * (rc_ws_frame_parse, the 20-byte header of pipelines/rc_ws_branch.h, then
 * the Opus payload behind it): a frame it accepts must point inside the
 * input, and its C must be a time the guest can schedule (finite, as
 * rc_native_playout_push turns it into a buffer time).
 */
#include "pipelines/rc_ws_branch.h"

#include <math.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  guint32 rtp = 0, sequence = 0;
  double server_time = 0;
  const guint8 *payload = NULL;
  gsize length = 0;

  if (!rc_ws_frame_parse (data, size, &rtp, &server_time, &sequence, &payload, &length))
    return 0;
  g_assert (payload >= data && payload + length == data + size);
  g_assert (isfinite (server_time));
  /* The guest copies the payload into its decoder's buffer. */
  g_free (g_memdup2 (payload, length));
  return 0;
}

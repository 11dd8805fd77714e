/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a WebSocket audio frame as the native guest reads it
 * (rc_ws_frame_parse, the 20-byte header of pipelines/rc_ws_branch.h, then
 * the Opus payload behind it): a frame it accepts must point inside the
 * input, and whatever it reads must be safe to hand to the decoder.
 */
#include "pipelines/rc_ws_branch.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  guint32 rtp = 0, sequence = 0;
  double server_time = 0;
  const guint8 *payload = NULL;
  gsize length = 0;
  volatile guint8 sum = 0;

  if (!rc_ws_frame_parse (data, size, &rtp, &server_time, &sequence, &payload, &length))
    return 0;
  g_assert (payload >= data && payload + length == data + size);
  for (gsize i = 0; i < length; i++)
    sum ^= payload[i];
  return 0;
}

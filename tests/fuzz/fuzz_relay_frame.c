/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a datagram on an edge's media relay socket
 * (rc_relay_frame_parse, as RcRelaySource reads every one). Anyone who can
 * reach the port can send one: any bytes are either refused with an error
 * or give a frame whose RTP packet lies inside the datagram, is an RTP
 * version 2 packet of a size the edge passes on, and whose header written
 * again from its token and C is the datagram's own.
 */
#include "pipelines/rc_relay_frame.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  guint8 header[RC_RELAY_FRAME_HEADER];
  RcRelayFrame frame;

  if (!rc_relay_frame_parse (data, size, &frame, &error))
    {
      g_assert (error != NULL && error->message != NULL);
      return 0;
    }
  g_assert (frame.rtp == data + RC_RELAY_FRAME_HEADER);
  g_assert (frame.rtp_length + RC_RELAY_FRAME_HEADER == size);
  g_assert (frame.rtp_length >= 12 && frame.rtp_length <= RC_RELAY_FRAME_MAX_RTP);
  g_assert ((frame.rtp[0] >> 6) == 2);
  rc_relay_frame_write_header (header, frame.token, frame.server_time);
  g_assert (memcmp (header, data, RC_RELAY_FRAME_HEADER) == 0);
  return 0;
}

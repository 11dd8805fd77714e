/* SPDX-License-Identifier: MIT */
/*
 * The framing of the origin → edge media relay. Why it exists apart: the
 * origin writes it and the edge reads it, and the edge's reader faces the
 * network (tests/fuzz/fuzz_relay_frame.c). The RTP packet travels
 * unchanged behind the header, so an edge's guests get the origin's own
 * sequence numbers, timestamps and SSRC, and the origin's `timeline`
 * message maps them.
 */
#include "pipelines/rc_relay_frame.h"
#include "pipelines/rc_media_error.h"

#include <string.h>

static const guint8 magic[4] = { 'R', 'C', 'R', 'L' };
#define VERSION 1

void
rc_relay_frame_write_header (guint8 header[RC_RELAY_FRAME_HEADER], guint64 token,
                             guint64 server_time)
{
  guint64 be_token = GUINT64_TO_BE (token), be_time = GUINT64_TO_BE (server_time);

  memcpy (header, magic, 4);
  header[4] = VERSION;
  header[5] = 0;
  header[6] = header[7] = 0;
  memcpy (header + 8, &be_token, 8);
  memcpy (header + 16, &be_time, 8);
}

gboolean
rc_relay_frame_parse (const guint8 *data, gsize length, RcRelayFrame *frame, GError **error)
{
  guint64 be_token, be_time;
  gsize rtp_length;

  if (length < RC_RELAY_FRAME_HEADER || memcmp (data, magic, 4) != 0)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, "Not a relay frame");
      return FALSE;
    }
  if (data[4] != VERSION || data[5] != 0 || data[6] != 0 || data[7] != 0)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                   "Relay frame of version %u, flags %u: not understood", data[4], data[5]);
      return FALSE;
    }
  rtp_length = length - RC_RELAY_FRAME_HEADER;
  if (rtp_length < 12 || rtp_length > RC_RELAY_FRAME_MAX_RTP
      || (data[RC_RELAY_FRAME_HEADER] & 0xc0) != 0x80)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                   "Relay frame without an RTP packet (%" G_GSIZE_FORMAT " bytes)", rtp_length);
      return FALSE;
    }
  memcpy (&be_token, data + 8, 8);
  memcpy (&be_time, data + 16, 8);
  frame->token = GUINT64_FROM_BE (be_token);
  frame->server_time = GUINT64_FROM_BE (be_time);
  if (frame->server_time == G_MAXUINT64)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                           "Relay frame without a server time");
      return FALSE;
    }
  frame->rtp = data + RC_RELAY_FRAME_HEADER;
  frame->rtp_length = rtp_length;
  return TRUE;
}

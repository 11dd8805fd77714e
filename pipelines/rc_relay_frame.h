/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * One datagram of the origin → edge relay (docs/protocol.md, "The media
 * relay between nodes"): a 24-byte header, then the room's RTP packet
 * exactly as the origin's payloader made it.
 *
 *   0  "RCRL"   magic
 *   4  1        version
 *   5  0        flags (none yet; a receiver refuses others)
 *   6  0 0      reserved
 *   8  token    64 bits, big-endian: the edge's attachment, echoed
 *  16  C        64 bits, big-endian: the packet's server time on the
 *               origin's clock, in ns
 *  24  RTP      version 2, 12 to RC_RELAY_FRAME_MAX_RTP bytes
 */
#define RC_RELAY_FRAME_HEADER 24
#define RC_RELAY_FRAME_MAX_RTP 1400
#define RC_RELAY_FRAME_MAX (RC_RELAY_FRAME_HEADER + RC_RELAY_FRAME_MAX_RTP)

typedef struct
{
  guint64 token;
  guint64 server_time; /* C, ns, the origin's clock */
  const guint8 *rtp;   /* points into the datagram */
  gsize rtp_length;
} RcRelayFrame;

/* Writes the header for @token and @server_time into @header. */
void rc_relay_frame_write_header (guint8 header[RC_RELAY_FRAME_HEADER], guint64 token,
                                  guint64 server_time);
/* Reads one datagram (it comes from the network: any bytes are refused
 * with an RC_MEDIA_ERROR_INVALID, never a crash). */
gboolean rc_relay_frame_parse (const guint8 *data, gsize length, RcRelayFrame *frame,
                               GError **error);

G_END_DECLS

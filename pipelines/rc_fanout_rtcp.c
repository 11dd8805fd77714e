/* SPDX-License-Identifier: MIT */
/*
 * RTCP for the fan-out engine. Why a file of its own: the engine writes
 * Sender Reports on its sender thread and reads guests' reports on its
 * control thread, and the reader is a parser facing the network (fuzzed
 * through the engine's demultiplexer, tests/fuzz/fuzz_fanout_demux.c).
 */
#include "pipelines/rc_fanout_rtcp.h"

#include <string.h>

#define RTCP_SR 200
#define RTCP_RR 201
/* Seconds from 1900 (NTP) to 1970 (Unix). */
#define NTP_UNIX_OFFSET G_GUINT64_CONSTANT (2208988800)

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

void
rc_rtcp_write_sr (guint8 *out, guint32 ssrc, guint64 ntp, guint32 rtp_timestamp,
                  guint32 packets, guint32 octets)
{
  out[0] = 0x80; /* V=2, no padding, no report block */
  out[1] = RTCP_SR;
  out[2] = 0;
  out[3] = RC_RTCP_SR_LEN / 4 - 1;
  put32 (out + 4, ssrc);
  put32 (out + 8, (guint32) (ntp >> 32));
  put32 (out + 12, (guint32) ntp);
  put32 (out + 16, rtp_timestamp);
  put32 (out + 20, packets);
  put32 (out + 24, octets);
}

guint64
rc_rtcp_ntp_now (void)
{
  gint64 us = g_get_real_time ();
  guint64 seconds = (guint64) (us / G_USEC_PER_SEC) + NTP_UNIX_OFFSET;
  guint64 fraction = ((guint64) (us % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC;

  return seconds << 32 | fraction;
}

static void
read_block (const guint8 *p, RcRtcpReportBlock *block)
{
  guint32 lost = (guint32) p[5] << 16 | (guint32) p[6] << 8 | p[7];

  block->fraction_lost = p[4];
  block->cumulative_lost = (lost & 0x800000) ? (gint32) (lost | 0xff000000) : (gint32) lost;
  block->highest_seq = get32 (p + 8);
  block->jitter = get32 (p + 12);
  block->last_sr = get32 (p + 16);
  block->delay_since_sr = get32 (p + 20);
}

gboolean
rc_rtcp_find_report (const guint8 *data, gsize length, guint32 ssrc, RcRtcpReportBlock *block)
{
  gsize offset = 0;

  while (offset + 4 <= length)
    {
      const guint8 *p = data + offset;
      gsize size = ((gsize) p[2] << 8 | p[3]) * 4 + 4;
      guint count = p[0] & 0x1f, type = p[1];
      gsize first;

      if ((p[0] >> 6) != 2 || size > length - offset)
        return FALSE;
      first = type == RTCP_SR ? 28 : type == RTCP_RR ? 8 : size;
      for (guint i = 0; (type == RTCP_SR || type == RTCP_RR) && i < count; i++)
        {
          gsize at = first + (gsize) i * 24;

          if (at + 24 > size)
            return FALSE;
          if (get32 (p + at) == ssrc)
            {
              read_block (p + at, block);
              return TRUE;
            }
        }
      offset += size;
    }
  return FALSE;
}

double
rc_rtcp_rtt_ms (const RcRtcpReportBlock *block, guint64 ntp_now)
{
  guint32 now = (guint32) (ntp_now >> 16);
  guint32 rtt;

  if (block->last_sr == 0)
    return -1;
  rtt = now - block->last_sr - block->delay_since_sr;
  if (rtt > 0x7fffffff)
    return 0;
  return rtt * 1000.0 / 65536.0;
}

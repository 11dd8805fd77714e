/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The little RTCP the fan-out engine speaks (RFC 3550): a Sender Report
 * per guest, and the report block about our stream out of whatever
 * compound packet a guest sends (SR, RR, SDES, feedback...). The reader
 * faces the network (after SRTCP's check) and reads within bounds only.
 */
#define RC_RTCP_SR_LEN 28

/* Writes a Sender Report without report blocks into @out (RC_RTCP_SR_LEN
 * bytes). @ntp is the NTP timestamp (seconds since 1900 in 32.32). */
void rc_rtcp_write_sr (guint8 *out, guint32 ssrc, guint64 ntp, guint32 rtp_timestamp,
                       guint32 packets, guint32 octets);

/* The wall clock now as an NTP 32.32 timestamp. */
guint64 rc_rtcp_ntp_now (void);

typedef struct
{
  guint8 fraction_lost;    /* of 256 */
  gint32 cumulative_lost;  /* 24-bit signed */
  guint32 highest_seq;
  guint32 jitter;          /* RTP timestamp units */
  guint32 last_sr;         /* middle 32 bits of the SR's NTP time, 0: none */
  guint32 delay_since_sr;  /* 1/65536 s */
} RcRtcpReportBlock;

/* Finds the report block about @ssrc in the compound packet @data. FALSE
 * when there is none or the packet does not parse. */
gboolean rc_rtcp_find_report (const guint8 *data, gsize length, guint32 ssrc,
                              RcRtcpReportBlock *block);

/* Round trip in ms from a block (RFC 3550 §6.4.1), or -1 without an SR. */
double rc_rtcp_rtt_ms (const RcRtcpReportBlock *block, guint64 ntp_now);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * RcBenchGuest: the light guest of tools/bench-fanout. It speaks the same
 * protocol as RcNativeGuest (join, startMedia, offer/answer, trickled ICE
 * over /ws) and receives with a recvonly webrtcbin, but does not decode:
 * the RTP ends in a fakesink (or, with `decode`, in opusdec ! fakesink).
 * Many of them share two cores with the server they measure.
 *
 * What it counts, on the RTP as it enters webrtcbin's rtpbin (after ICE,
 * DTLS and SRTP, before the jitter buffer, so the receiver's own jitter
 * buffer neither hides nor adds delay):
 * - packets, and lost packets (forward sequence gaps);
 * - late packets: a packet's transit is its arrival time minus its RTP
 *   time; the guest's best transit so far is the reference, and a packet
 *   whose transit exceeds it by more than `late_us` arrived late for its
 *   20 ms slot. Arrival is the receiver thread's clock, so a starved
 *   receiver also looks late: the benchmark reports receiver CPU beside it;
 * - the longest time between two packets.
 *
 * Main context of the creating thread only; `changed` is called there.
 */
typedef struct _RcBenchGuest RcBenchGuest;

typedef enum
{
  RC_BENCH_GUEST_CONNECTING,
  RC_BENCH_GUEST_NEGOTIATING,  /* joined, startMedia sent */
  RC_BENCH_GUEST_RECEIVING,    /* the first RTP packet arrived */
  RC_BENCH_GUEST_FAILED,
} RcBenchGuestState;

typedef struct
{
  const char *ws_url;   /* ws://127.0.0.1:PORT/ws */
  const char *room_id;
  const char *name;
  SoupSession *session; /* shared by the guests of a process */
  gboolean decode;      /* decode the Opus too, as a player would */
  gint64 late_us;
  void (*changed) (RcBenchGuest *guest, gpointer user_data);
  gpointer user_data;
} RcBenchGuestOptions;

typedef struct
{
  RcBenchGuestState state;
  guint64 packets;
  guint64 lost;
  guint64 late;
  gint64 max_gap_us;   /* since the last rc_bench_guest_reset_max() */
  gint64 max_late_us;  /* likewise: the worst transit above the best */
  gint64 created_us;
  gint64 first_packet_us; /* 0 until one arrives */
} RcBenchGuestStats;

RcBenchGuest *rc_bench_guest_new (const RcBenchGuestOptions *options);
/* Sends stopMedia and leave, closes the socket, stops the pipeline. */
void rc_bench_guest_free (RcBenchGuest *guest);

void rc_bench_guest_get_stats (RcBenchGuest *guest, RcBenchGuestStats *stats);
void rc_bench_guest_reset_max (RcBenchGuest *guest);
const char *rc_bench_guest_get_failure (RcBenchGuest *guest);

G_END_DECLS

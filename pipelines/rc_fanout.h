/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcFanout: the WebRTC fan-out engine. One UDP port serves every WebRTC
 * guest of the process (ICE-lite, DTLS-SRTP, SRTP), one sender thread
 * protects each room packet for each guest and sends them in sendmmsg
 * batches; a control thread answers STUN, runs the DTLS handshakes, reads
 * RTCP and drops guests silent for 30 s. No thread, element or queue per
 * guest.
 *
 *   room pipeline's RTP (one SSRC per room)
 *     └─ rc_fanout_stream_push (streaming thread: a copy into the queue)
 *          └─ sender thread: for each connected guest: copy, SRTP, batch ─ sendmmsg
 *   UDP port ─ control thread: STUN (rc_ice_lite) │ DTLS (rc_dtls) │ SRTCP (RR in)
 *
 * RcFanout, RcFanoutStream and RcFanoutGuest are made and freed on one main
 * context (the one current where rc_fanout_new is called); guests'
 * callbacks arrive there, never from inside a call into this API.
 */
typedef struct _RcFanout RcFanout;
typedef struct _RcFanoutStream RcFanoutStream;
typedef struct _RcFanoutGuest RcFanoutGuest;

typedef struct
{
  const char *bind_address;   /* an IP literal; "0.0.0.0" for every IPv4 address */
  guint port;                 /* 0: any free port */
  const char *public_address; /* the candidate's address; NULL: the bound one
                                 (127.0.0.1 when bound to every address) */
  guint senders;              /* sender threads (one per core at most is the
                                 sense of it), each serving its share of every
                                 room's guests; 0: 1 */
  guint stale_ms;             /* a room packet that waited longer for the sender
                                 is dropped for all (no guest could play it: the
                                 largest playout delay); 0: 1000 */
} RcFanoutOptions;

RcFanout *rc_fanout_new (const RcFanoutOptions *options, GError **error);
void rc_fanout_free (RcFanout *fanout);
guint rc_fanout_get_port (RcFanout *fanout);

/* Engine-wide counters: what was sent, and every datagram dropped, by why. */
typedef struct
{
  guint guests;           /* connected (SRTP flowing) */
  guint64 packets_sent;   /* SRTP and SRTCP datagrams handed to the kernel */
  guint64 bytes_sent;
  guint64 send_failed;    /* datagrams not sent: the kernel refused them (full
                             buffer, bad route), or the sender thread was
                             2 s behind and the packet was never queued */
  guint64 batches;        /* sendmmsg calls */
  guint64 dropped_unknown;      /* from an address no guest has proven with STUN */
  guint64 dropped_stun;         /* STUN with an unknown username or wrong integrity */
  guint64 dropped_malformed;    /* truncated, not STUN/DTLS/RTP, unreadable STUN */
  guint64 dropped_dtls;         /* DTLS a handshake did not take, or after it failed */
  guint64 dropped_srtp;         /* SRTCP that is not authentic, RTP from a guest */
  guint64 guests_timed_out;     /* dropped after 30 s without a word */
  double latency_p50_ms, latency_p99_ms; /* RTP tap → sendmmsg, recent batches */
  /* RTP tap → the sender starting the packet (its wait in the queue and
   * for the CPU), recent packets: the rest of the latency is the serial
   * protect-and-send of the guests before. */
  double wait_p50_ms, wait_p99_ms;
  guint64 stale_packets; /* room packets dropped for waiting past stale_ms */
} RcFanoutStats;

void rc_fanout_get_stats (RcFanout *fanout, RcFanoutStats *stats);

/* One room's RTP stream: one SSRC, one payload type, as the room's
 * payloader makes them. Reference-counted: the room pipeline's tap and
 * each guest hold one. */
RcFanoutStream *rc_fanout_stream_new (RcFanout *fanout, const char *name);
RcFanoutStream *rc_fanout_stream_ref (RcFanoutStream *stream);
void rc_fanout_stream_unref (RcFanoutStream *stream);
/* Any thread: one RTP packet of the room, queued for the sender thread. */
void rc_fanout_stream_push (RcFanoutStream *stream, const guint8 *rtp, gsize length);

typedef struct
{
  /* The offer, once (the stream's first packet gave its payload type and
   * SSRC): send it to the guest. */
  void (*offer) (RcFanoutGuest *guest, const char *sdp, gpointer user_data);
  /* The guest could not connect, or went silent for 30 s, or its DTLS
   * failed; it may be freed from here. */
  void (*failed) (RcFanoutGuest *guest, const char *reason, gpointer user_data);
} RcFanoutGuestCallbacks;

RcFanoutGuest *rc_fanout_guest_new (RcFanoutStream *stream, const char *name,
                                    const RcFanoutGuestCallbacks *callbacks, gpointer user_data);
/* The guest stops receiving at once; its state goes when the sender thread
 * is done with it. */
void rc_fanout_guest_free (RcFanoutGuest *guest);
/* The guest's answer (RC_MEDIA_ERROR_INVALID if unusable, early or twice). */
gboolean rc_fanout_guest_set_answer (RcFanoutGuest *guest, const char *sdp, GError **error);
/* A remote candidate: checked and otherwise unused (a lite agent learns
 * the guest's address from its checks). */
gboolean rc_fanout_guest_add_ice (RcFanoutGuest *guest, guint mline_index, const char *candidate,
                                  GError **error);

typedef struct
{
  gboolean connected;
  guint64 packets_sent, bytes_sent;
  guint64 reports;       /* Receiver Reports read */
  double fraction_lost;  /* of the latest report, 0..1 */
  gint64 cumulative_lost;
  double jitter_ms;
  double rtt_ms;         /* -1 until a report answers a Sender Report */
} RcFanoutGuestStats;

/* Any time on the main context. */
void rc_fanout_guest_get_stats (RcFanoutGuest *guest, RcFanoutGuestStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcFanout, rc_fanout_free)

G_END_DECLS

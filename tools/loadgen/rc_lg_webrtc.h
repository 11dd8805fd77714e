/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_loadgen_private.h"

G_BEGIN_DECLS

/*
 * RcLgRtc: the media side of a WebRTC guest of the load generator (issue 13,
 * deliverable 2). The guest's WebSocket (rc_lg_conn.c) carries the offer,
 * the answer made here and the candidates; this side owns one UDP socket:
 * ICE connectivity checks as the controlling agent (libnice's STUN library,
 * with the largest tie-breaker so a full agent yields the role), answers to
 * the server's checks, the DTLS client (pipelines/rc_dtls, GnuTLS), then
 * every RTP packet counted by its header (sequence, and its timestamp's C
 * through the room's timeline) without decrypting.
 */
typedef struct _RcLgRtc RcLgRtc;

RcLgRtc *rc_lg_rtc_new (RcLoadgen *lg, RcLgConn *conn, char **failure);
/* Closes its socket and leaves the loop; freed later by rc_lg_rtc_free
 * (with its connection, after the loop's batch of events). */
void rc_lg_rtc_close (RcLoadgen *lg, RcLgRtc *rtc);
void rc_lg_rtc_free (RcLgRtc *rtc);

/* The server's offer: fills @answer (the answer's SDP) and @candidate (our
 * one host candidate, an `ice` message's value). FALSE with @failure. */
gboolean rc_lg_rtc_take_offer (RcLoadgen *lg, RcLgRtc *rtc, const char *sdp, char **answer,
                               char **candidate, char **failure);
/* A candidate the server trickled. */
void rc_lg_rtc_add_candidate (RcLgRtc *rtc, const char *candidate);
/* The room's timeline: C of an RTP timestamp. */
void rc_lg_rtc_set_timeline (RcLgRtc *rtc, guint32 rtp, double server_ms, double clock_rate);

/* The socket is readable. FALSE: the guest failed (@failure). */
gboolean rc_lg_rtc_readable (RcLoadgen *lg, RcLgRtc *rtc, char **failure);
/* Each turn of the loop: checks, retransmissions, consent. FALSE: failed. */
gboolean rc_lg_rtc_turn (RcLoadgen *lg, RcLgRtc *rtc, gint64 now_us, char **failure);
RcLgConn *rc_lg_rtc_get_conn (RcLgRtc *rtc);

/* What every WebRTC guest of a load generator shares (the STUN agent, the
 * DTLS certificate); freed with it. */
void rc_lg_rtc_shared_free (gpointer shared);

G_END_DECLS

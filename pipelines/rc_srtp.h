/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcSrtp: one direction of one SRTP session (RFC 3711), profile
 * AES_CM_128_HMAC_SHA1_80, its cryptography done by OpenSSL (why not
 * libsrtp2: rc_srtp.c). Outbound contexts protect every SSRC they meet (RTP
 * and RTCP); inbound ones check and strip, refusing replays (a window of
 * 64 packets per SSRC). One thread at a time per context; contexts are
 * independent, so a sender thread and a control thread each own theirs.
 */
typedef struct _RcSrtp RcSrtp;

typedef enum
{
  RC_SRTP_OUTBOUND,
  RC_SRTP_INBOUND,
} RcSrtpDirection;

/* The buffer handed to a protect call must have this much room past the
 * packet: the 10-byte tag, and for SRTCP the 4-byte index before it. */
#define RC_SRTP_MAX_TRAILER 14

/* @key 16 bytes, @salt 14 (as rc_dtls_get_srtp_keys gives them). NULL with
 * @error (RC_MEDIA_ERROR_FAILED) when OpenSSL cannot make an outbound
 * context's RTP keys; the others are made with their first packet (an
 * inbound context that cannot make them finds no packet authentic). */
RcSrtp *rc_srtp_new (const guint8 *key, const guint8 *salt, RcSrtpDirection direction,
                     GError **error);
void rc_srtp_free (RcSrtp *srtp);

/* Protect in place: @length in, the SRTP(C) packet's length out.
 * @capacity must be at least *@length + RC_SRTP_MAX_TRAILER. */
gboolean rc_srtp_protect (RcSrtp *srtp, guint8 *packet, gsize *length, gsize capacity);
/* Hints the cache that @srtp (may be NULL) is about to protect: a sender
 * going round thousands of contexts calls it a few contexts ahead. */
void rc_srtp_prefetch (const RcSrtp *srtp);
gboolean rc_srtp_protect_rtcp (RcSrtp *srtp, guint8 *packet, gsize *length, gsize capacity);
/* Check and strip in place; FALSE when the packet is not authentic (or
 * replayed, or cannot be read). */
gboolean rc_srtp_unprotect (RcSrtp *srtp, guint8 *packet, gsize *length);
gboolean rc_srtp_unprotect_rtcp (RcSrtp *srtp, guint8 *packet, gsize *length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSrtp, rc_srtp_free)

G_END_DECLS

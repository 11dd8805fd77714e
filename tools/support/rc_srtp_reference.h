/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcSrtpReference: libsrtp2 (Debian's, on NSS) for the one profile WebRTC
 * uses, AES_CM_128_HMAC_SHA1_80: the reference the suite checks
 * pipelines/rc_srtp against (tests/test_srtp.c) and bench-srtp times.
 * Same calling shape as RcSrtp; @outbound or inbound, any SSRC.
 */
typedef struct _RcSrtpReference RcSrtpReference;

RcSrtpReference *rc_srtp_reference_new (const guint8 *key, const guint8 *salt, gboolean outbound);
void rc_srtp_reference_free (RcSrtpReference *ref);

/* In place; @capacity must leave 148 bytes past the packet (libsrtp2 may
 * write that far). FALSE when libsrtp2 refuses. */
gboolean rc_srtp_reference_protect (RcSrtpReference *ref, guint8 *packet, gsize *length,
                                    gsize capacity, gboolean rtcp);
gboolean rc_srtp_reference_unprotect (RcSrtpReference *ref, guint8 *packet, gsize *length,
                                      gboolean rtcp);

#define RC_SRTP_REFERENCE_TRAILER 148

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSrtpReference, rc_srtp_reference_free)

G_END_DECLS

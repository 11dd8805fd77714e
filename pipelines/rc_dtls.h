/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * DTLS-SRTP (RFC 5764) without a socket: datagrams are pushed in with
 * rc_dtls_receive and the ones to send come out through a callback, so one
 * UDP port can carry any number of handshakes (the fan-out engine's) and a
 * load generator can play the client side of thousands.
 *
 * RcDtlsCert is the process's one identity: an ECDSA P-256 key and a
 * self-signed certificate, made once (a millisecond, not an RSA key's
 * hundreds), whose SHA-256 fingerprint goes into every SDP.
 *
 * RcDtls is one association, client or server. Its owner calls
 * rc_dtls_start (a client sends its ClientHello), hands it every DTLS
 * datagram from the peer, and calls rc_dtls_tick when
 * rc_dtls_get_timeout_ms says a retransmission is due. Once the state is
 * RC_DTLS_CONNECTED the peer's certificate has matched the fingerprint it
 * announced and the SRTP keys can be read. One thread at a time per RcDtls
 * (no locks inside); the certificate may be shared by every thread.
 */

typedef struct _RcDtlsCert RcDtlsCert;

/* Makes a new key and certificate. NULL with @error (RC_MEDIA_ERROR_FAILED). */
RcDtlsCert *rc_dtls_cert_new (GError **error);
RcDtlsCert *rc_dtls_cert_ref (RcDtlsCert *cert);
void rc_dtls_cert_unref (RcDtlsCert *cert);
/* "sha-256 AB:CD:…", the a=fingerprint value for this certificate. */
const char *rc_dtls_cert_get_fingerprint (RcDtlsCert *cert);

typedef enum
{
  RC_DTLS_CLIENT, /* a=setup:active: sends the ClientHello */
  RC_DTLS_SERVER, /* a=setup:passive (or the answerer of actpass's offerer) */
} RcDtlsRole;

typedef enum
{
  RC_DTLS_HANDSHAKING,
  RC_DTLS_CONNECTED, /* keys ready, peer's certificate checked */
  RC_DTLS_FAILED,    /* for good: handshake refused, wrong certificate, alert */
  RC_DTLS_CLOSED,    /* the peer sent close_notify */
} RcDtlsState;

/* The negotiated profile is always SRTP_AES128_CM_HMAC_SHA1_80. */
#define RC_DTLS_SRTP_KEY_LEN 16
#define RC_DTLS_SRTP_SALT_LEN 14

typedef struct
{
  guint8 local_key[RC_DTLS_SRTP_KEY_LEN]; /* protect what we send */
  guint8 local_salt[RC_DTLS_SRTP_SALT_LEN];
  guint8 remote_key[RC_DTLS_SRTP_KEY_LEN]; /* unprotect what the peer sends */
  guint8 remote_salt[RC_DTLS_SRTP_SALT_LEN];
} RcDtlsSrtpKeys;

/* Called (on the caller's thread, inside rc_dtls_start/receive/tick) with
 * each datagram to send to the peer. */
typedef void (*RcDtlsSendFunc) (const guint8 *data, gsize length, gpointer user_data);

typedef struct _RcDtls RcDtls;

/* @remote_fingerprint: the peer's a=fingerprint value ("sha-256 AB:…");
 * only sha-256 is accepted. NULL with @error (RC_MEDIA_ERROR_INVALID for a
 * fingerprint that cannot be read). */
RcDtls *rc_dtls_new (RcDtlsCert *cert, RcDtlsRole role, const char *remote_fingerprint,
                     RcDtlsSendFunc send, gpointer user_data, GError **error);
void rc_dtls_free (RcDtls *dtls);

/* Starts the handshake (the client's first flight goes out). */
RcDtlsState rc_dtls_start (RcDtls *dtls);
/* One datagram from the peer (first byte 20..63). Anything that does not
 * parse is dropped by GnuTLS and changes nothing. */
RcDtlsState rc_dtls_receive (RcDtls *dtls, const guint8 *data, gsize length);
/* Retransmits when due; call when rc_dtls_get_timeout_ms has passed. */
RcDtlsState rc_dtls_tick (RcDtls *dtls);
/* Milliseconds until rc_dtls_tick is due while handshaking, -1 otherwise. */
int rc_dtls_get_timeout_ms (RcDtls *dtls);
RcDtlsState rc_dtls_get_state (RcDtls *dtls);
/* Why it failed (for the log), or NULL. */
const char *rc_dtls_get_error (RcDtls *dtls);
/* The SRTP keys, seen from this side; FALSE unless connected. */
gboolean rc_dtls_get_srtp_keys (RcDtls *dtls, RcDtlsSrtpKeys *keys);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcDtlsCert, rc_dtls_cert_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcDtls, rc_dtls_free)

G_END_DECLS

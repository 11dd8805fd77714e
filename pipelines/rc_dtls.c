/* SPDX-License-Identifier: MIT */
/*
 * DTLS-SRTP on GnuTLS with a memory transport. Why it exists: the fan-out
 * engine serves every guest from one UDP socket, so no DTLS association may
 * own a socket (as the dtls elements do); and a load generator must play
 * the client of thousands of them. GnuTLS reads the one datagram handed to
 * rc_dtls_receive through the pull function and writes through the push
 * function into the owner's callback; it runs non-blocking, so a missing
 * datagram is EAGAIN and rc_dtls_tick drives its retransmissions.
 *
 * The peer's certificate is self-signed, as WebRTC's are: it is trusted
 * only because its SHA-256 digest is the fingerprint its SDP announced,
 * checked when the handshake completes, before the keys can be read.
 */
#include "pipelines/rc_dtls.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "pipelines/rc_media_error.h"

/* Under the smallest path MTU WebRTC stacks assume. */
#define DTLS_MTU 1200
#define SHA256_LEN 32
#define CERT_DAYS 30

struct _RcDtlsCert
{
  gatomicrefcount ref;
  gnutls_certificate_credentials_t credentials;
  /* GnuTLS's default priorities, parsed once: every association of the
   * process shares them (gnutls_set_default_priority parsed the string for
   * each, a join's cost). The cert outlives its associations. */
  gnutls_priority_t priority;
  char *fingerprint;
};

struct _RcDtls
{
  RcDtlsCert *cert;
  RcDtlsRole role;
  gnutls_session_t session;
  guint8 remote_digest[SHA256_LEN];
  RcDtlsSendFunc send;
  gpointer user_data;
  const guint8 *pending; /* the datagram being read, during rc_dtls_receive */
  gsize pending_length;
  RcDtlsState state;
  char *error;
  RcDtlsSrtpKeys keys;
};

static char *
format_fingerprint (const guint8 *digest, gsize length)
{
  GString *s = g_string_new ("sha-256 ");

  for (gsize i = 0; i < length; i++)
    g_string_append_printf (s, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (s, FALSE);
}

/* "sha-256 AB:CD:…" (hash name in any case) → 32 bytes. */
static gboolean
parse_fingerprint (const char *text, guint8 *digest)
{
  const char *p;

  if (text == NULL || g_ascii_strncasecmp (text, "sha-256", 7) != 0 || text[7] != ' ')
    return FALSE;
  p = text + 8;
  while (*p == ' ')
    p++;
  for (guint i = 0; i < SHA256_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (p[0]), lo = hi < 0 ? -1 : g_ascii_xdigit_value (p[1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      digest[i] = (guint8) (hi << 4 | lo);
      p += 2;
      if (i + 1 < SHA256_LEN && *p++ != ':')
        return FALSE;
    }
  while (*p == ' ' || *p == '\r' || *p == '\n')
    p++;
  return *p == '\0';
}

static gboolean
set_gnutls_error (GError **error, int ret, const char *what)
{
  g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED, "%s: %s", what,
               gnutls_strerror (ret));
  return FALSE;
}

static gboolean
make_certificate (gnutls_x509_privkey_t key, gnutls_x509_crt_t crt, GError **error)
{
  guint8 serial[8];
  time_t now = time (NULL);
  int ret;

  ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                      GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0);
  if (ret < 0)
    return set_gnutls_error (error, ret, "Cannot make the DTLS key");
  gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f; /* a positive serial */
  if ((ret = gnutls_x509_crt_set_version (crt, 3)) < 0
      || (ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0
      || (ret = gnutls_x509_crt_set_activation_time (crt, now - 24 * 3600)) < 0
      || (ret = gnutls_x509_crt_set_expiration_time (crt, now + CERT_DAYS * 24 * 3600)) < 0
      || (ret = gnutls_x509_crt_set_dn (crt, "CN=roomcast", NULL)) < 0
      || (ret = gnutls_x509_crt_set_key (crt, key)) < 0
      || (ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
    return set_gnutls_error (error, ret, "Cannot make the DTLS certificate");
  return TRUE;
}

RcDtlsCert *
rc_dtls_cert_new (GError **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  RcDtlsCert *cert = g_new0 (RcDtlsCert, 1);
  guint8 digest[SHA256_LEN];
  size_t size = sizeof digest;
  gboolean ok = FALSE;
  int ret;

  g_atomic_ref_count_init (&cert->ref);
  if ((ret = gnutls_x509_privkey_init (&key)) < 0 || (ret = gnutls_x509_crt_init (&crt)) < 0)
    set_gnutls_error (error, ret, "Cannot make the DTLS certificate");
  else if (make_certificate (key, crt, error))
    {
      if ((ret = gnutls_x509_crt_get_fingerprint (crt, GNUTLS_DIG_SHA256, digest, &size)) < 0
          || (ret = gnutls_certificate_allocate_credentials (&cert->credentials)) < 0
          || (ret = gnutls_certificate_set_x509_key (cert->credentials, &crt, 1, key)) < 0
          || (ret = gnutls_priority_init (&cert->priority, NULL, NULL)) < 0)
        set_gnutls_error (error, ret, "Cannot use the DTLS certificate");
      else
        ok = TRUE;
    }
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  if (!ok)
    {
      rc_dtls_cert_unref (cert);
      return NULL;
    }
  cert->fingerprint = format_fingerprint (digest, size);
  return cert;
}

RcDtlsCert *
rc_dtls_cert_ref (RcDtlsCert *cert)
{
  g_atomic_ref_count_inc (&cert->ref);
  return cert;
}

void
rc_dtls_cert_unref (RcDtlsCert *cert)
{
  if (cert == NULL || !g_atomic_ref_count_dec (&cert->ref))
    return;
  if (cert->credentials != NULL)
    gnutls_certificate_free_credentials (cert->credentials);
  if (cert->priority != NULL)
    gnutls_priority_deinit (cert->priority);
  g_free (cert->fingerprint);
  g_free (cert);
}

const char *
rc_dtls_cert_get_fingerprint (RcDtlsCert *cert)
{
  return cert->fingerprint;
}

static ssize_t
on_push (gnutls_transport_ptr_t ptr, const void *data, size_t size)
{
  RcDtls *dtls = ptr;

  dtls->send (data, size, dtls->user_data);
  return (ssize_t) size;
}

static ssize_t
on_pull (gnutls_transport_ptr_t ptr, void *data, size_t size)
{
  RcDtls *dtls = ptr;
  gsize n;

  if (dtls->pending == NULL)
    {
      gnutls_transport_set_errno (dtls->session, EAGAIN);
      return -1;
    }
  n = MIN (size, dtls->pending_length);
  memcpy (data, dtls->pending, n);
  dtls->pending = NULL;
  dtls->pending_length = 0;
  return (ssize_t) n;
}

static int
on_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  RcDtls *dtls = ptr;

  return dtls->pending != NULL ? 1 : 0;
}

RcDtls *
rc_dtls_new (RcDtlsCert *cert, RcDtlsRole role, const char *remote_fingerprint,
             RcDtlsSendFunc send, gpointer user_data, GError **error)
{
  RcDtls *dtls;
  guint8 digest[SHA256_LEN];
  unsigned flags = GNUTLS_DATAGRAM | GNUTLS_NONBLOCK;
  int ret;

  if (!parse_fingerprint (remote_fingerprint, digest))
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                           "The DTLS fingerprint must be \"sha-256\" and 32 hex bytes");
      return NULL;
    }
  dtls = g_new0 (RcDtls, 1);
  dtls->cert = rc_dtls_cert_ref (cert);
  dtls->role = role;
  memcpy (dtls->remote_digest, digest, sizeof digest);
  dtls->send = send;
  dtls->user_data = user_data;
  flags |= role == RC_DTLS_SERVER ? GNUTLS_SERVER : GNUTLS_CLIENT;
  if ((ret = gnutls_init (&dtls->session, flags)) < 0
      || (ret = gnutls_priority_set (dtls->session, cert->priority)) < 0
      || (ret = gnutls_credentials_set (dtls->session, GNUTLS_CRD_CERTIFICATE,
                                        cert->credentials)) < 0
      || (ret = gnutls_srtp_set_profile (dtls->session, GNUTLS_SRTP_AES128_CM_HMAC_SHA1_80)) < 0)
    {
      set_gnutls_error (error, ret, "Cannot start DTLS");
      rc_dtls_free (dtls);
      return NULL;
    }
  if (role == RC_DTLS_SERVER)
    gnutls_certificate_server_set_request (dtls->session, GNUTLS_CERT_REQUIRE);
  gnutls_dtls_set_mtu (dtls->session, DTLS_MTU);
  gnutls_dtls_set_timeouts (dtls->session, 1000, 30000);
  gnutls_transport_set_ptr (dtls->session, dtls);
  gnutls_transport_set_push_function (dtls->session, on_push);
  gnutls_transport_set_pull_function (dtls->session, on_pull);
  gnutls_transport_set_pull_timeout_function (dtls->session, on_pull_timeout);
  dtls->state = RC_DTLS_HANDSHAKING;
  return dtls;
}

void
rc_dtls_free (RcDtls *dtls)
{
  if (dtls == NULL)
    return;
  if (dtls->session != NULL)
    gnutls_deinit (dtls->session);
  rc_dtls_cert_unref (dtls->cert);
  g_free (dtls->error);
  g_free (dtls);
}

static RcDtlsState
fail (RcDtls *dtls, const char *why)
{
  if (dtls->error == NULL)
    dtls->error = g_strdup (why);
  dtls->state = RC_DTLS_FAILED;
  return dtls->state;
}

/* The peer's certificate is the one its SDP named; the keys come out. */
static RcDtlsState
finish (RcDtls *dtls)
{
  const gnutls_datum_t *peers;
  unsigned n = 0;
  guint8 digest[SHA256_LEN], material[2 * (RC_DTLS_SRTP_KEY_LEN + RC_DTLS_SRTP_SALT_LEN)];
  gnutls_datum_t client_key, client_salt, server_key, server_salt;
  gnutls_srtp_profile_t profile = 0;
  gboolean client = dtls->role == RC_DTLS_CLIENT;

  peers = gnutls_certificate_get_peers (dtls->session, &n);
  if (peers == NULL || n == 0)
    return fail (dtls, "the peer sent no certificate");
  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, peers[0].data, peers[0].size, digest) < 0
      || memcmp (digest, dtls->remote_digest, SHA256_LEN) != 0)
    return fail (dtls, "the peer's certificate is not the one its fingerprint names");
  if (gnutls_srtp_get_selected_profile (dtls->session, &profile) < 0
      || profile != GNUTLS_SRTP_AES128_CM_HMAC_SHA1_80
      || gnutls_srtp_get_keys (dtls->session, material, sizeof material, &client_key,
                               &client_salt, &server_key, &server_salt)
             < 0)
    return fail (dtls, "no SRTP profile was agreed");
  memcpy (dtls->keys.local_key, (client ? client_key : server_key).data, RC_DTLS_SRTP_KEY_LEN);
  memcpy (dtls->keys.local_salt, (client ? client_salt : server_salt).data,
          RC_DTLS_SRTP_SALT_LEN);
  memcpy (dtls->keys.remote_key, (client ? server_key : client_key).data, RC_DTLS_SRTP_KEY_LEN);
  memcpy (dtls->keys.remote_salt, (client ? server_salt : client_salt).data,
          RC_DTLS_SRTP_SALT_LEN);
  dtls->state = RC_DTLS_CONNECTED;
  return dtls->state;
}

static RcDtlsState
handshake (RcDtls *dtls)
{
  int ret = gnutls_handshake (dtls->session);

  if (ret == GNUTLS_E_SUCCESS)
    return finish (dtls);
  if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal (ret))
    return dtls->state;
  return fail (dtls, gnutls_strerror (ret));
}

RcDtlsState
rc_dtls_start (RcDtls *dtls)
{
  if (dtls->state != RC_DTLS_HANDSHAKING || dtls->role == RC_DTLS_SERVER)
    return dtls->state;
  return handshake (dtls);
}

/* After the handshake: application data is not expected (dropped);
 * close_notify or a fatal alert ends the association. */
static RcDtlsState
read_records (RcDtls *dtls)
{
  guint8 buffer[DTLS_MTU + 512];

  for (;;)
    {
      ssize_t ret = gnutls_record_recv (dtls->session, buffer, sizeof buffer);

      if (ret > 0)
        continue;
      if (ret == 0)
        {
          dtls->state = RC_DTLS_CLOSED;
          return dtls->state;
        }
      if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal ((int) ret))
        return dtls->state;
      return fail (dtls, gnutls_strerror ((int) ret));
    }
}

#define RECORD_HEADER 13
#define HANDSHAKE_HEADER 12
#define RECORD_MAX (16384 + 2048)
#define HANDSHAKE_MAX 65536

static guint32
get24 (const guint8 *p)
{
  return (guint32) p[0] << 16 | (guint32) p[1] << 8 | p[2];
}

/* The plaintext handshake fragments of one record (epoch 0). */
static gboolean
check_handshake (const guint8 *p, gsize length)
{
  while (length > 0)
    {
      guint32 total, offset, fragment;

      if (length < HANDSHAKE_HEADER)
        return FALSE;
      total = get24 (p + 1);
      offset = get24 (p + 6);
      fragment = get24 (p + 9);
      if (total > HANDSHAKE_MAX || offset > total || fragment > total - offset
          || fragment > length - HANDSHAKE_HEADER)
        return FALSE;
      p += HANDSHAKE_HEADER + fragment;
      length -= HANDSHAKE_HEADER + fragment;
    }
  return TRUE;
}

gboolean
rc_dtls_check_datagram (const guint8 *data, gsize length)
{
  if (length == 0)
    return FALSE;
  while (length > 0)
    {
      guint type, epoch;
      gsize size;

      if (length < RECORD_HEADER)
        return FALSE;
      type = data[0];
      epoch = (guint) data[3] << 8 | data[4];
      size = (gsize) data[11] << 8 | data[12];
      /* change_cipher_spec, alert, handshake, application_data; DTLS 1.x. */
      if (type < 20 || type > 23 || data[1] != 0xfe || size > RECORD_MAX
          || size > length - RECORD_HEADER)
        return FALSE;
      if (type == 22 && epoch == 0 && !check_handshake (data + RECORD_HEADER, size))
        return FALSE;
      data += RECORD_HEADER + size;
      length -= RECORD_HEADER + size;
    }
  return TRUE;
}

RcDtlsState
rc_dtls_receive (RcDtls *dtls, const guint8 *data, gsize length)
{
  RcDtlsState state;

  if (!rc_dtls_check_datagram (data, length)
      || (dtls->state != RC_DTLS_HANDSHAKING && dtls->state != RC_DTLS_CONNECTED))
    return dtls->state;
  dtls->pending = data;
  dtls->pending_length = length;
  state = dtls->state == RC_DTLS_HANDSHAKING ? handshake (dtls) : read_records (dtls);
  dtls->pending = NULL;
  dtls->pending_length = 0;
  return state;
}

RcDtlsState
rc_dtls_tick (RcDtls *dtls)
{
  if (dtls->state != RC_DTLS_HANDSHAKING)
    return dtls->state;
  return handshake (dtls);
}

int
rc_dtls_get_timeout_ms (RcDtls *dtls)
{
  if (dtls->state != RC_DTLS_HANDSHAKING)
    return -1;
  return (int) gnutls_dtls_get_timeout (dtls->session);
}

RcDtlsState
rc_dtls_get_state (RcDtls *dtls)
{
  return dtls->state;
}

const char *
rc_dtls_get_error (RcDtls *dtls)
{
  return dtls->error;
}

gboolean
rc_dtls_get_srtp_keys (RcDtls *dtls, RcDtlsSrtpKeys *keys)
{
  if (dtls->state != RC_DTLS_CONNECTED)
    return FALSE;
  *keys = dtls->keys;
  return TRUE;
}

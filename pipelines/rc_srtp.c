/* SPDX-License-Identifier: MIT */
/*
 * SRTP on libsrtp2. Why it exists: the fan-out engine protects each room
 * packet once per guest, and the load generator unprotects a sample of
 * them; both want a context per direction with nothing of libsrtp2's API
 * in their code. libsrtp2 needs one srtp_init per process before any
 * context is made: done once here, never undone (srtp_shutdown is not
 * needed for a process that ends).
 *
 * Debian's libsrtp2 does its AES through NSS; docs/benchmarks.md (the SRTP
 * micro-benchmark, tools/bench/bench_srtp.c) compares it with OpenSSL.
 */
#include "pipelines/rc_srtp.h"

#include <srtp2/srtp.h>
#include <string.h>

#include "pipelines/rc_media_error.h"

struct _RcSrtp
{
  srtp_t session;
};

static gboolean
ensure_init (void)
{
  static gsize done = 0;
  static gboolean ok;

  if (g_once_init_enter (&done))
    {
      ok = srtp_init () == srtp_err_status_ok;
      g_once_init_leave (&done, 1);
    }
  return ok;
}

RcSrtp *
rc_srtp_new (const guint8 *key, const guint8 *salt, RcSrtpDirection direction, GError **error)
{
  srtp_policy_t policy;
  guint8 master[SRTP_AES_ICM_128_KEY_LEN_WSALT];
  RcSrtp *srtp;
  srtp_err_status_t status;

  if (!ensure_init ())
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED, "libsrtp2 did not start");
      return NULL;
    }
  memcpy (master, key, 16);
  memcpy (master + 16, salt, 14);
  memset (&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtcp);
  policy.ssrc.type = direction == RC_SRTP_OUTBOUND ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = master;
  policy.window_size = 1024;
  policy.allow_repeat_tx = 1; /* a retransmitted DTLS-era packet is harmless */
  srtp = g_new0 (RcSrtp, 1);
  status = srtp_create (&srtp->session, &policy);
  memset (master, 0, sizeof master);
  if (status != srtp_err_status_ok)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                   "libsrtp2 refused the keys (status %d)", (int) status);
      g_free (srtp);
      return NULL;
    }
  return srtp;
}

void
rc_srtp_free (RcSrtp *srtp)
{
  if (srtp == NULL)
    return;
  srtp_dealloc (srtp->session);
  g_free (srtp);
}

static gboolean
run (srtp_err_status_t (*fn) (srtp_t, void *, int *), RcSrtp *srtp, guint8 *packet,
     gsize *length)
{
  int n = (int) *length;

  if (*length > G_MAXINT / 2 || fn (srtp->session, packet, &n) != srtp_err_status_ok)
    return FALSE;
  *length = (gsize) n;
  return TRUE;
}

gboolean
rc_srtp_protect (RcSrtp *srtp, guint8 *packet, gsize *length, gsize capacity)
{
  return capacity >= *length + RC_SRTP_MAX_TRAILER && *length >= 12
         && run (srtp_protect, srtp, packet, length);
}

gboolean
rc_srtp_protect_rtcp (RcSrtp *srtp, guint8 *packet, gsize *length, gsize capacity)
{
  return capacity >= *length + RC_SRTP_MAX_TRAILER && *length >= 8
         && run (srtp_protect_rtcp, srtp, packet, length);
}

gboolean
rc_srtp_unprotect (RcSrtp *srtp, guint8 *packet, gsize *length)
{
  return *length >= 12 && run (srtp_unprotect, srtp, packet, length);
}

gboolean
rc_srtp_unprotect_rtcp (RcSrtp *srtp, guint8 *packet, gsize *length)
{
  return *length >= 8 && run (srtp_unprotect_rtcp, srtp, packet, length);
}

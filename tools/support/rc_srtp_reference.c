/* SPDX-License-Identifier: MIT */
/*
 * libsrtp2 as a reference for rc_srtp (OpenSSL): why it exists, a test and
 * a benchmark both compare against it, with libsrtp2's API kept here.
 */
#include "tools/support/rc_srtp_reference.h"

#include <srtp2/srtp.h>
#include <string.h>

struct _RcSrtpReference
{
  srtp_t session;
};

RcSrtpReference *
rc_srtp_reference_new (const guint8 *key, const guint8 *salt, gboolean outbound)
{
  static gsize started = 0;
  srtp_policy_t policy;
  guint8 master[SRTP_AES_ICM_128_KEY_LEN_WSALT];
  RcSrtpReference *ref = g_new0 (RcSrtpReference, 1);

  if (g_once_init_enter (&started))
    {
      srtp_init ();
      g_once_init_leave (&started, 1);
    }
  memcpy (master, key, 16);
  memcpy (master + 16, salt, 14);
  memset (&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtcp);
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = master;
  policy.window_size = 128;
  if (srtp_create (&ref->session, &policy) != srtp_err_status_ok)
    {
      g_free (ref);
      return NULL;
    }
  return ref;
}

void
rc_srtp_reference_free (RcSrtpReference *ref)
{
  if (ref == NULL)
    return;
  srtp_dealloc (ref->session);
  g_free (ref);
}

gboolean
rc_srtp_reference_protect (RcSrtpReference *ref, guint8 *packet, gsize *length, gsize capacity,
                           gboolean rtcp)
{
  int n = (int) *length;
  srtp_err_status_t status;

  if (capacity < *length + RC_SRTP_REFERENCE_TRAILER)
    return FALSE;
  status = rtcp ? srtp_protect_rtcp (ref->session, packet, &n) : srtp_protect (ref->session, packet, &n);
  *length = (gsize) n;
  return status == srtp_err_status_ok;
}

gboolean
rc_srtp_reference_unprotect (RcSrtpReference *ref, guint8 *packet, gsize *length, gboolean rtcp)
{
  int n = (int) *length;
  srtp_err_status_t status;

  status = rtcp ? srtp_unprotect_rtcp (ref->session, packet, &n)
                : srtp_unprotect (ref->session, packet, &n);
  *length = (gsize) n;
  return status == srtp_err_status_ok;
}

/* SPDX-License-Identifier: MIT */
/*
 * The fan-out engine's SRTP (pipelines/rc_srtp.c, on OpenSSL) against
 * libsrtp2, the reference a browser's stack agrees with: what one protects
 * the other accepts and reads back, in both directions, for RTP (across a
 * sequence-number wrap, with CSRCs and a header extension) and RTCP;
 * replays, forged tags and wrong keys are refused; broken packets are
 * refused without reading past them.
 */
#include <string.h>

#include "pipelines/rc_srtp.h"
#include "tools/support/rc_srtp_reference.h"

#define BUFFER_LEN 512

static const guint8 key[16] = { 0x7c, 0x11, 0x02, 0x9e, 0x40, 0xb3, 0x58, 0x6a,
                                0x2f, 0xd0, 0x91, 0x0c, 0xee, 0x35, 0x47, 0x88 };
static const guint8 salt[14] = { 0x31, 0x9a, 0x0b, 0x5c, 0xd2, 0x6e, 0x70,
                                 0x14, 0x8f, 0xa1, 0x23, 0xc4, 0x56, 0xe7 };

/* An RTP packet: @csrcs CSRCs, a header extension when @extension, a
 * payload of @payload bytes that depends on @seq. Returns its length. */
static gsize
make_rtp (guint8 *p, guint16 seq, guint csrcs, gboolean extension, gsize payload)
{
  gsize n = 12;

  memset (p, 0, BUFFER_LEN);
  p[0] = (guint8) (0x80 | (extension ? 0x10 : 0) | csrcs);
  p[1] = 111;
  p[2] = (guint8) (seq >> 8);
  p[3] = (guint8) seq;
  p[7] = (guint8) (seq * 3);
  p[8] = 0xca;
  p[9] = 0xfe;
  p[10] = 0x0b;
  p[11] = 0x0e;
  for (guint i = 0; i < csrcs; i++, n += 4)
    p[n + 3] = (guint8) (i + 1);
  if (extension)
    {
      p[n] = 0xbe;
      p[n + 1] = 0xde;
      p[n + 3] = 1; /* one 32-bit word follows */
      p[n + 4] = 0x10;
      p[n + 5] = 0x7f;
      n += 8;
    }
  for (gsize i = 0; i < payload; i++)
    p[n + i] = (guint8) (seq + i * 13);
  return n + payload;
}

/* A Receiver Report with one report block, from SSRC 0x01020304. */
static gsize
make_rtcp (guint8 *p, guint8 fraction_lost)
{
  memset (p, 0, BUFFER_LEN);
  p[0] = 0x81;
  p[1] = 201;
  p[3] = 7; /* 8 words */
  p[4] = 1;
  p[5] = 2;
  p[6] = 3;
  p[7] = 4;
  p[8] = 0xca;
  p[9] = 0xfe;
  p[10] = 0x0b;
  p[11] = 0x0e;
  p[12] = fraction_lost;
  return 32;
}

static void
test_rtp_to_reference (void)
{
  g_autoptr (RcSrtp) out = rc_srtp_new (key, salt, RC_SRTP_OUTBOUND, NULL);
  g_autoptr (RcSrtpReference) in = rc_srtp_reference_new (key, salt, FALSE);

  g_assert_nonnull (out);
  g_assert_nonnull (in);
  /* 300 packets from 65400: the rollover counter goes to 1 on the way. */
  for (guint i = 0; i < 300; i++)
    {
      guint8 packet[BUFFER_LEN], original[BUFFER_LEN];
      guint16 seq = (guint16) (65400 + i);
      gsize length = make_rtp (packet, seq, i % 3, i % 2 == 0, 160);
      gsize plain = length;

      memcpy (original, packet, length);
      g_assert_true (rc_srtp_protect (out, packet, &length, sizeof packet));
      g_assert_cmpuint (length, ==, plain + 10);
      g_assert_true (memcmp (packet + plain - 160, original + plain - 160, 160) != 0);
      g_assert_true (rc_srtp_reference_unprotect (in, packet, &length, FALSE));
      g_assert_cmpuint (length, ==, plain);
      g_assert_cmpmem (packet, length, original, plain);
    }
}

static void
test_rtp_from_reference (void)
{
  g_autoptr (RcSrtpReference) out = rc_srtp_reference_new (key, salt, TRUE);
  g_autoptr (RcSrtp) in = rc_srtp_new (key, salt, RC_SRTP_INBOUND, NULL);
  guint8 kept[BUFFER_LEN], late[BUFFER_LEN];
  gsize kept_len = 0, late_len = 0;

  for (guint i = 0; i < 300; i++)
    {
      guint8 packet[BUFFER_LEN + RC_SRTP_REFERENCE_TRAILER], original[BUFFER_LEN];
      guint16 seq = (guint16) (65400 + i);
      gsize length = make_rtp (packet, seq, i % 3, i % 2 == 1, 100 + i % 60);
      gsize plain = length;

      memcpy (original, packet, length);
      g_assert_true (rc_srtp_reference_protect (out, packet, &length, sizeof packet, FALSE));
      if (i == 150)
        {
          /* Held back: it arrives after two later ones (reordered). */
          memcpy (late, packet, length);
          late_len = length;
          continue;
        }
      if (i == 140)
        {
          memcpy (kept, packet, length);
          kept_len = length;
        }
      g_assert_true (rc_srtp_unprotect (in, packet, &length));
      g_assert_cmpmem (packet, length, original, plain);
      if (i == 152)
        {
          guint8 expect[BUFFER_LEN];
          gsize expect_len = make_rtp (expect, (guint16) (65400 + 150), 150 % 3, FALSE, 100 + 150 % 60);

          g_assert_true (rc_srtp_unprotect (in, late, &late_len));
          g_assert_cmpmem (late, late_len, expect, expect_len);
        }
    }
  /* The same packet again is a replay. */
  g_assert_false (rc_srtp_unprotect (in, kept, &kept_len));
}

static void
test_refusals (void)
{
  guint8 other_key[16];
  g_autoptr (RcSrtp) out = rc_srtp_new (key, salt, RC_SRTP_OUTBOUND, NULL);
  g_autoptr (RcSrtp) in = rc_srtp_new (key, salt, RC_SRTP_INBOUND, NULL);
  g_autoptr (RcSrtp) wrong = NULL;
  guint8 packet[BUFFER_LEN], copy[BUFFER_LEN];
  gsize length = make_rtp (packet, 7, 0, FALSE, 160), copy_len;

  memcpy (other_key, key, sizeof key);
  other_key[5] ^= 0x40;
  wrong = rc_srtp_new (other_key, salt, RC_SRTP_INBOUND, NULL);
  g_assert_true (rc_srtp_protect (out, packet, &length, sizeof packet));

  /* Another key, a bit flipped anywhere, a cut tag: refused, untouched. */
  memcpy (copy, packet, length);
  copy_len = length;
  g_assert_false (rc_srtp_unprotect (wrong, copy, &copy_len));
  g_assert_cmpmem (copy, copy_len, packet, length);
  for (gsize at = 0; at < length; at += 37)
    {
      memcpy (copy, packet, length);
      copy_len = length;
      copy[at] ^= 0x01;
      g_assert_false (rc_srtp_unprotect (in, copy, &copy_len));
    }
  copy_len = length - 1;
  memcpy (copy, packet, length);
  g_assert_false (rc_srtp_unprotect (in, copy, &copy_len));

  /* Broken headers: too short, version 1, CSRCs or an extension past the end. */
  for (gsize n = 0; n < 22; n++)
    {
      copy_len = n;
      g_assert_false (rc_srtp_unprotect (in, copy, &copy_len));
    }
  memcpy (copy, packet, length);
  copy[0] = 0x40;
  copy_len = length;
  g_assert_false (rc_srtp_unprotect (in, copy, &copy_len));
  copy[0] = 0x9f; /* 15 CSRCs: 72 bytes of header in a 22-byte packet */
  copy_len = 22;
  g_assert_false (rc_srtp_unprotect (in, copy, &copy_len));
  copy[0] = 0x90;
  copy[12] = 0xbe;
  copy[13] = 0xde;
  copy[14] = 0xff;
  copy[15] = 0xff;
  copy_len = 40;
  g_assert_false (rc_srtp_unprotect (in, copy, &copy_len));
  /* A protect call without room for the tag, or on an inbound context. */
  length = make_rtp (packet, 8, 0, FALSE, 160);
  g_assert_false (rc_srtp_protect (out, packet, &length, length + 9));
  g_assert_false (rc_srtp_protect (in, packet, &length, sizeof packet));

  /* A good packet still passes after all that. */
  length = make_rtp (packet, 9, 0, FALSE, 160);
  g_assert_true (rc_srtp_protect (out, packet, &length, sizeof packet));
  g_assert_true (rc_srtp_unprotect (in, packet, &length));
}

static void
test_rtcp_both_ways (void)
{
  g_autoptr (RcSrtp) out = rc_srtp_new (key, salt, RC_SRTP_OUTBOUND, NULL);
  g_autoptr (RcSrtp) in = rc_srtp_new (key, salt, RC_SRTP_INBOUND, NULL);
  g_autoptr (RcSrtpReference) ref_in = rc_srtp_reference_new (key, salt, FALSE);
  g_autoptr (RcSrtpReference) ref_out = rc_srtp_reference_new (key, salt, TRUE);
  guint8 kept[BUFFER_LEN];
  gsize kept_len = 0;

  for (guint i = 0; i < 20; i++)
    {
      guint8 packet[BUFFER_LEN + RC_SRTP_REFERENCE_TRAILER], original[BUFFER_LEN];
      gsize length = make_rtcp (packet, (guint8) i), plain = length;

      memcpy (original, packet, length);
      /* Ours out, libsrtp2 in: encrypted past the first 8 bytes. */
      g_assert_true (rc_srtp_protect_rtcp (out, packet, &length, sizeof packet));
      g_assert_cmpuint (length, ==, plain + 14);
      g_assert_true (memcmp (packet + 8, original + 8, plain - 8) != 0);
      g_assert_true (rc_srtp_reference_unprotect (ref_in, packet, &length, TRUE));
      g_assert_cmpmem (packet, length, original, plain);

      /* libsrtp2 out, ours in. */
      g_assert_true (rc_srtp_reference_protect (ref_out, packet, &length, sizeof packet, TRUE));
      if (i == 3)
        {
          memcpy (kept, packet, length);
          kept_len = length;
        }
      g_assert_true (rc_srtp_unprotect_rtcp (in, packet, &length));
      g_assert_cmpmem (packet, length, original, plain);
    }
  /* A replayed report, a forged one, a cut one: refused. */
  g_assert_false (rc_srtp_unprotect_rtcp (in, kept, &kept_len));
  kept[10] ^= 0x80;
  g_assert_false (rc_srtp_unprotect_rtcp (in, kept, &kept_len));
  for (gsize n = 0; n < 22; n++)
    {
      gsize length = n;

      g_assert_false (rc_srtp_unprotect_rtcp (in, kept, &length));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/srtp/rtp-read-by-libsrtp2", test_rtp_to_reference);
  g_test_add_func ("/srtp/rtp-from-libsrtp2", test_rtp_from_reference);
  g_test_add_func ("/srtp/refusals", test_refusals);
  g_test_add_func ("/srtp/rtcp-both-ways", test_rtcp_both_ways);
  return g_test_run ();
}

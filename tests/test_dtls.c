/* SPDX-License-Identifier: MIT */
/*
 * DTLS-SRTP and SRTP without sockets (pipelines/rc_dtls.c, rc_srtp.c): a
 * client and a server association in one process, their datagrams carried
 * by hand, some of them lost, agree on keys that protect RTP one way and
 * unprotect it the other; a certificate that is not the announced one
 * fails the handshake, garbage changes nothing, a tampered packet is
 * refused.
 */
#include "pipelines/rc_dtls.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_srtp.h"
#include "rc_test_util.h"

#include <string.h>

/* GnuTLS sends one handshake message per datagram, so a flight is up to
 * five datagrams: losing every third forever would lose every flight. The
 * loss is in the first flights of each side, as on a real path's start. */
#define LOSSY_DATAGRAMS 12

typedef struct
{
  GQueue to_client, to_server; /* GBytes */
  guint drop_every;            /* lose every Nth datagram (0: none) */
  guint count;
} Wire;

typedef struct
{
  Wire *wire;
  gboolean from_client;
} End;

static void
on_send (const guint8 *data, gsize length, gpointer user_data)
{
  End *end = user_data;
  Wire *wire = end->wire;

  wire->count++;
  if (wire->drop_every > 0 && wire->count <= LOSSY_DATAGRAMS && wire->count % wire->drop_every == 0)
    return;
  g_queue_push_tail (end->from_client ? &wire->to_server : &wire->to_client,
                     g_bytes_new (data, length));
}

static gboolean
deliver (GQueue *queue, RcDtls *to)
{
  gboolean any = FALSE;
  GBytes *b;

  while ((b = g_queue_pop_head (queue)) != NULL)
    {
      gsize n;
      const guint8 *d = g_bytes_get_data (b, &n);

      rc_dtls_receive (to, d, n);
      g_bytes_unref (b);
      any = TRUE;
    }
  return any;
}

/* Carries datagrams until both sides settle; ticks (retransmits) when
 * nothing is in flight. */
static void
run_handshake (Wire *wire, RcDtls *client, RcDtls *server)
{
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  rc_dtls_start (client);
  rc_dtls_start (server);
  while (g_get_monotonic_time () < end
         && (rc_dtls_get_state (client) == RC_DTLS_HANDSHAKING
             || rc_dtls_get_state (server) == RC_DTLS_HANDSHAKING))
    {
      gboolean moved = deliver (&wire->to_server, server);

      moved |= deliver (&wire->to_client, client);
      if (!moved)
        {
          g_usleep (10 * 1000);
          rc_dtls_tick (client);
          rc_dtls_tick (server);
        }
    }
  deliver (&wire->to_server, server);
  deliver (&wire->to_client, client);
}

static void
clear_wire (Wire *wire)
{
  g_queue_clear_full (&wire->to_client, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&wire->to_server, (GDestroyNotify) g_bytes_unref);
}

static void
check_srtp (const RcDtlsSrtpKeys *sender, const RcDtlsSrtpKeys *receiver)
{
  g_autoptr (RcSrtp) out = NULL, in = NULL;
  guint8 packet[172 + RC_SRTP_MAX_TRAILER], original[172];
  gsize length = 172;

  out = rc_srtp_new (sender->local_key, sender->local_salt, RC_SRTP_OUTBOUND, NULL);
  in = rc_srtp_new (receiver->remote_key, receiver->remote_salt, RC_SRTP_INBOUND, NULL);
  g_assert_nonnull (out);
  g_assert_nonnull (in);
  memset (packet, 0x5a, sizeof packet);
  packet[0] = 0x80;
  packet[1] = 111;
  memcpy (original, packet, sizeof original);
  g_assert_true (rc_srtp_protect (out, packet, &length, sizeof packet));
  g_assert_cmpuint (length, ==, 172 + 10);
  g_assert_true (memcmp (packet + 12, original + 12, 160) != 0);
  g_assert_true (rc_srtp_unprotect (in, packet, &length));
  g_assert_cmpuint (length, ==, 172);
  g_assert_cmpmem (packet, length, original, sizeof original);
  /* The same packet again is a replay; a flipped bit is not authentic. */
  length = 172;
  g_assert_true (rc_srtp_protect (out, packet, &length, sizeof packet));
  packet[40] ^= 1;
  g_assert_false (rc_srtp_unprotect (in, packet, &length));
}

static void
handshake_with_loss (guint drop_every)
{
  g_autoptr (RcDtlsCert) client_cert = rc_dtls_cert_new (NULL);
  g_autoptr (RcDtlsCert) server_cert = rc_dtls_cert_new (NULL);
  Wire wire = { G_QUEUE_INIT, G_QUEUE_INIT, drop_every, 0 };
  End from_client = { &wire, TRUE }, from_server = { &wire, FALSE };
  g_autoptr (RcDtls) client = NULL, server = NULL;
  RcDtlsSrtpKeys ck, sk;

  g_assert_nonnull (client_cert);
  g_assert_true (g_str_has_prefix (rc_dtls_cert_get_fingerprint (client_cert), "sha-256 "));
  g_assert_cmpuint (strlen (rc_dtls_cert_get_fingerprint (client_cert)), ==, 8 + 32 * 3 - 1);
  client = rc_dtls_new (client_cert, RC_DTLS_CLIENT, rc_dtls_cert_get_fingerprint (server_cert),
                        on_send, &from_client, NULL);
  server = rc_dtls_new (server_cert, RC_DTLS_SERVER, rc_dtls_cert_get_fingerprint (client_cert),
                        on_send, &from_server, NULL);
  g_assert_false (rc_dtls_get_srtp_keys (server, &sk));
  run_handshake (&wire, client, server);
  g_assert_cmpstr (rc_dtls_get_error (client), ==, NULL);
  g_assert_cmpstr (rc_dtls_get_error (server), ==, NULL);
  g_assert_cmpint (rc_dtls_get_state (client), ==, RC_DTLS_CONNECTED);
  g_assert_cmpint (rc_dtls_get_state (server), ==, RC_DTLS_CONNECTED);
  g_assert_cmpint (rc_dtls_get_timeout_ms (server), ==, -1);
  g_assert_true (rc_dtls_get_srtp_keys (client, &ck));
  g_assert_true (rc_dtls_get_srtp_keys (server, &sk));
  g_assert_cmpmem (ck.local_key, 16, sk.remote_key, 16);
  g_assert_cmpmem (sk.local_salt, 14, ck.remote_salt, 14);
  check_srtp (&sk, &ck);
  check_srtp (&ck, &sk);
  clear_wire (&wire);
}

static void
test_handshake (void)
{
  handshake_with_loss (0);
}

static void
test_handshake_loss (void)
{
  /* Every third of the first datagrams lost (the ClientHello's answer,
   * the client's certificate flight): retransmissions bring it through. */
  handshake_with_loss (3);
}

static void
test_wrong_certificate (void)
{
  g_autoptr (RcDtlsCert) client_cert = rc_dtls_cert_new (NULL);
  g_autoptr (RcDtlsCert) server_cert = rc_dtls_cert_new (NULL);
  g_autoptr (RcDtlsCert) other = rc_dtls_cert_new (NULL);
  Wire wire = { G_QUEUE_INIT, G_QUEUE_INIT, 0, 0 };
  End from_client = { &wire, TRUE }, from_server = { &wire, FALSE };
  g_autoptr (RcDtls) client = NULL, server = NULL;
  RcDtlsSrtpKeys keys;

  client = rc_dtls_new (client_cert, RC_DTLS_CLIENT, rc_dtls_cert_get_fingerprint (server_cert),
                        on_send, &from_client, NULL);
  /* The server was told another certificate's fingerprint. */
  server = rc_dtls_new (server_cert, RC_DTLS_SERVER, rc_dtls_cert_get_fingerprint (other),
                        on_send, &from_server, NULL);
  run_handshake (&wire, client, server);
  g_assert_cmpint (rc_dtls_get_state (server), ==, RC_DTLS_FAILED);
  g_assert_nonnull (rc_dtls_get_error (server));
  g_assert_false (rc_dtls_get_srtp_keys (server, &keys));
  clear_wire (&wire);
}

static void
test_bad_input (void)
{
  g_autoptr (RcDtlsCert) cert = rc_dtls_cert_new (NULL);
  Wire wire = { G_QUEUE_INIT, G_QUEUE_INIT, 0, 0 };
  End from_server = { &wire, FALSE };
  g_autoptr (RcDtls) server = NULL;
  g_autoptr (GError) error = NULL;
  guint8 junk[300];

  g_assert_null (rc_dtls_new (cert, RC_DTLS_SERVER, "sha-1 AB:CD", on_send, &from_server, &error));
  g_assert_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID);
  g_assert_null (rc_dtls_new (cert, RC_DTLS_SERVER, NULL, on_send, &from_server, NULL));
  server = rc_dtls_new (cert, RC_DTLS_SERVER, rc_dtls_cert_get_fingerprint (cert), on_send,
                        &from_server, NULL);
  for (guint i = 0; i < 200; i++)
    {
      gsize n = (gsize) g_random_int_range (1, sizeof junk);

      for (gsize j = 0; j < n; j++)
        junk[j] = (guint8) g_random_int ();
      junk[0] = (guint8) g_random_int_range (20, 64);
      rc_dtls_receive (server, junk, n);
    }
  /* Garbage never connects; the association is handshaking or failed. */
  g_assert_cmpint (rc_dtls_get_state (server), !=, RC_DTLS_CONNECTED);
  clear_wire (&wire);
}

/* The framing check in front of GnuTLS (fuzz_fanout_demux found GnuTLS
 * 3.7.9 reading far past its buffer on a handshake fragment whose lengths
 * do not hold together). */
static void
test_framing (void)
{
  /* A record (handshake, epoch 0) holding one whole 4-byte message. */
  guint8 good[13 + 12 + 4] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 16,
                               1, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 9, 9, 9, 9 };
  guint8 bad[sizeof good];

  g_assert_true (rc_dtls_check_datagram (good, sizeof good));
  g_assert_false (rc_dtls_check_datagram (good, 0));
  g_assert_false (rc_dtls_check_datagram (good, 12));          /* a cut record header */
  g_assert_false (rc_dtls_check_datagram (good, sizeof good - 1)); /* record past the datagram */
  memcpy (bad, good, sizeof bad);
  bad[1] = 0x03; /* TLS, not DTLS */
  g_assert_false (rc_dtls_check_datagram (bad, sizeof bad));
  memcpy (bad, good, sizeof bad);
  bad[0] = 24; /* heartbeat */
  g_assert_false (rc_dtls_check_datagram (bad, sizeof bad));
  memcpy (bad, good, sizeof bad);
  bad[14] = 0xfd; /* message length 16 MiB */
  g_assert_false (rc_dtls_check_datagram (bad, sizeof bad));
  memcpy (bad, good, sizeof bad);
  bad[21] = 2; /* fragment offset 2 + length 4 past the 4-byte message */
  g_assert_false (rc_dtls_check_datagram (bad, sizeof bad));
  memcpy (bad, good, sizeof bad);
  bad[24] = 5; /* a fragment longer than its record */
  g_assert_false (rc_dtls_check_datagram (bad, sizeof bad));
  memcpy (bad, good, sizeof bad);
  bad[4] = 1; /* epoch 1: encrypted, its inside is GnuTLS's to authenticate */
  bad[14] = 0xfd;
  g_assert_true (rc_dtls_check_datagram (bad, sizeof bad));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtls/handshake", test_handshake);
  g_test_add_func ("/dtls/handshake-loss", test_handshake_loss);
  g_test_add_func ("/dtls/wrong-certificate", test_wrong_certificate);
  g_test_add_func ("/dtls/bad-input", test_bad_input);
  g_test_add_func ("/dtls/framing", test_framing);
  return g_test_run ();
}

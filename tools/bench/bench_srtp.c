/* SPDX-License-Identifier: MIT */
/*
 * bench-srtp: what one SRTP protection of a room packet costs, the fan-out
 * engine's per-guest work.
 *
 *   bench-srtp [--packets N]
 *
 * A 172-byte RTP packet (12-byte header, 160 bytes of Opus) is protected N
 * times (sequence numbers running, as a guest's stream does) with the
 * profile WebRTC uses, AES_CM_128_HMAC_SHA1_80:
 * - by libsrtp2 through pipelines/rc_srtp.c (Debian's libsrtp2 does its AES
 *   and HMAC through NSS);
 * - by the same transform written on OpenSSL's EVP (AES-128-CTR with the
 *   RFC 3711 IV, HMAC-SHA1 over the packet and ROC, 80-bit tag), with the
 *   session keys derived from the same master key by the RFC 3711 key
 *   derivation. Its first packets are compared byte for byte with
 *   libsrtp2's, so the two do the same work.
 * It also makes 2,000 guests' worth of contexts with each (libsrtp2: an
 * outbound session that has protected a packet and an inbound one, as the
 * engine keeps per guest; OpenSSL: a cipher and an HMAC context per
 * direction) and prints the RSS each costs per guest.
 * It prints ns per packet for each, by the thread's CPU time (what the
 * sender thread would spend) and by the wall clock, and the load average
 * beside them: on a busy machine the CPU figure still holds, the wall one
 * does not.
 */
#include "pipelines/rc_srtp.h"

#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PACKET_LEN 172
#define TAG_LEN 10

static const guint8 master_key[16] = { 0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                       0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39 };
static const guint8 master_salt[14] = { 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                        0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6 };

typedef struct
{
  EVP_CIPHER_CTX *cipher;
  EVP_MAC_CTX *mac;
  guint8 enc_key[16], auth_key[20], salt[14];
} OpensslSrtp;

/* RFC 3711 §4.3.1 with key derivation rate 0: AES-CM keyed by the master
 * key over (master salt XOR label at byte 7) · 2^16. */
static void
derive (guint8 label, guint8 *out, gsize length)
{
  guint8 iv[16] = { 0 }, zeros[32] = { 0 };
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0;

  memcpy (iv, master_salt, 14);
  iv[7] ^= label;
  EVP_EncryptInit_ex (ctx, EVP_aes_128_ctr (), NULL, master_key, iv);
  EVP_EncryptUpdate (ctx, out, &n, zeros, (int) length);
  EVP_CIPHER_CTX_free (ctx);
}

static void
openssl_init (OpensslSrtp *s)
{
  EVP_MAC *hmac = EVP_MAC_fetch (NULL, "HMAC", NULL);
  OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string ("digest", (char *) "SHA1", 0),
                          OSSL_PARAM_construct_end () };

  derive (0, s->enc_key, sizeof s->enc_key);
  derive (1, s->auth_key, sizeof s->auth_key);
  derive (2, s->salt, sizeof s->salt);
  s->cipher = EVP_CIPHER_CTX_new ();
  EVP_EncryptInit_ex (s->cipher, EVP_aes_128_ctr (), NULL, s->enc_key, NULL);
  s->mac = EVP_MAC_CTX_new (hmac);
  EVP_MAC_init (s->mac, s->auth_key, sizeof s->auth_key, params);
  EVP_MAC_free (hmac);
}

static void
openssl_clear (OpensslSrtp *s)
{
  EVP_CIPHER_CTX_free (s->cipher);
  EVP_MAC_CTX_free (s->mac);
}

/* Protects @packet (PACKET_LEN bytes, room for the tag) for packet index
 * @index (ROC · 2^16 + SEQ); returns the SRTP length. */
static gsize
openssl_protect (OpensslSrtp *s, guint8 *packet, guint64 index)
{
  guint8 iv[16] = { 0 }, tag[EVP_MAX_MD_SIZE], roc[4];
  guint32 ssrc = (guint32) packet[8] << 24 | (guint32) packet[9] << 16 | packet[10] << 8 | packet[11];
  int n = 0;
  size_t tag_len = 0;

  memcpy (iv, s->salt, 14);
  for (int i = 0; i < 4; i++)
    iv[4 + i] ^= (guint8) (ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; i++)
    iv[8 + i] ^= (guint8) (index >> (40 - 8 * i));
  EVP_EncryptInit_ex (s->cipher, NULL, NULL, NULL, iv);
  EVP_EncryptUpdate (s->cipher, packet + 12, &n, packet + 12, PACKET_LEN - 12);
  for (int i = 0; i < 4; i++)
    roc[i] = (guint8) ((index >> 16) >> (24 - 8 * i));
  EVP_MAC_init (s->mac, NULL, 0, NULL);
  EVP_MAC_update (s->mac, packet, PACKET_LEN);
  EVP_MAC_update (s->mac, roc, sizeof roc);
  EVP_MAC_final (s->mac, tag, &tag_len, sizeof tag);
  memcpy (packet + PACKET_LEN, tag, TAG_LEN);
  return PACKET_LEN + TAG_LEN;
}

static double
cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void
make_packet (guint8 *packet, guint16 seq)
{
  for (int i = 12; i < PACKET_LEN; i++)
    packet[i] = (guint8) (i * 7);
  packet[0] = 0x80;
  packet[1] = 111;
  packet[2] = (guint8) (seq >> 8);
  packet[3] = (guint8) seq;
  packet[4] = packet[5] = packet[6] = 0;
  packet[7] = (guint8) seq;
  packet[8] = 0x12;
  packet[9] = 0x34;
  packet[10] = 0x56;
  packet[11] = 0x78;
}

static long
rss_kib (void)
{
  g_autofree char *statm = NULL;
  long pages = 0;

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    {
      g_auto (GStrv) fields = g_strsplit (statm, " ", 3);

      if (fields[0] != NULL && fields[1] != NULL)
        pages = atol (fields[1]);
    }
  return pages * 4;
}

#define MEMORY_GUESTS 2000

/* RSS per guest of what each library keeps for one guest (both directions). */
static void
measure_memory (double *lib_kib, double *ssl_kib)
{
  RcSrtp **lib = g_new0 (RcSrtp *, 2 * MEMORY_GUESTS);
  OpensslSrtp *ssl = g_new0 (OpensslSrtp, 2 * MEMORY_GUESTS);
  guint8 packet[PACKET_LEN + RC_SRTP_MAX_TRAILER];
  long before = rss_kib ();

  for (guint i = 0; i < MEMORY_GUESTS; i++)
    {
      gsize length = PACKET_LEN;

      lib[2 * i] = rc_srtp_new (master_key, master_salt, RC_SRTP_OUTBOUND, NULL);
      lib[2 * i + 1] = rc_srtp_new (master_key, master_salt, RC_SRTP_INBOUND, NULL);
      make_packet (packet, 1);
      rc_srtp_protect (lib[2 * i], packet, &length, sizeof packet);
    }
  *lib_kib = (double) (rss_kib () - before) / MEMORY_GUESTS;
  before = rss_kib ();
  for (guint i = 0; i < 2 * MEMORY_GUESTS; i++)
    openssl_init (&ssl[i]);
  *ssl_kib = (double) (rss_kib () - before) / MEMORY_GUESTS;
  for (guint i = 0; i < 2 * MEMORY_GUESTS; i++)
    {
      rc_srtp_free (lib[i]);
      openssl_clear (&ssl[i]);
    }
  g_free (lib);
  g_free (ssl);
}

static gboolean
same_output (RcSrtp *lib, OpensslSrtp *ssl)
{
  for (guint16 seq = 1; seq <= 8; seq++)
    {
      guint8 a[PACKET_LEN + RC_SRTP_MAX_TRAILER], b[PACKET_LEN + RC_SRTP_MAX_TRAILER];
      gsize la = PACKET_LEN, lb;

      make_packet (a, seq);
      make_packet (b, seq);
      if (!rc_srtp_protect (lib, a, &la, sizeof a))
        return FALSE;
      lb = openssl_protect (ssl, b, seq);
      if (la != lb || memcmp (a, b, la) != 0)
        return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint packets = 1000000;
  GOptionEntry entries[] = {
    { "packets", 'n', 0, G_OPTION_ARG_INT, &packets, "Packets per library (default 1000000)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- SRTP protection cost");
  g_autoptr (GError) error = NULL;
  g_autoptr (RcSrtp) check = NULL, lib = NULL;
  g_autofree char *loadavg = NULL;
  guint8 buffer[PACKET_LEN + RC_SRTP_MAX_TRAILER];
  OpensslSrtp ssl, ssl_check;
  gint64 start;
  double cpu_start, lib_ns, ssl_ns, lib_cpu, ssl_cpu, lib_kib, ssl_kib;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || packets <= 0)
    {
      g_printerr ("bench-srtp: %s\n", error != NULL ? error->message : "--packets must be > 0");
      return 2;
    }
  check = rc_srtp_new (master_key, master_salt, RC_SRTP_OUTBOUND, &error);
  lib = rc_srtp_new (master_key, master_salt, RC_SRTP_OUTBOUND, &error);
  if (check == NULL || lib == NULL)
    {
      g_printerr ("bench-srtp: %s\n", error->message);
      return 1;
    }
  openssl_init (&ssl_check);
  if (!same_output (check, &ssl_check))
    {
      g_printerr ("bench-srtp: the OpenSSL transform does not match libsrtp2's output\n");
      return 1;
    }
  openssl_clear (&ssl_check);
  g_print ("OpenSSL's output matches libsrtp2's (8 packets, byte for byte)\n");

  start = g_get_monotonic_time ();
  cpu_start = cpu_ns ();
  for (gint i = 0; i < packets; i++)
    {
      gsize length = PACKET_LEN;

      make_packet (buffer, (guint16) i);
      rc_srtp_protect (lib, buffer, &length, sizeof buffer);
    }
  lib_cpu = (cpu_ns () - cpu_start) / packets;
  lib_ns = (g_get_monotonic_time () - start) * 1000.0 / packets;

  openssl_init (&ssl);
  start = g_get_monotonic_time ();
  cpu_start = cpu_ns ();
  for (gint i = 0; i < packets; i++)
    {
      make_packet (buffer, (guint16) i);
      openssl_protect (&ssl, buffer, (guint64) (guint16) i);
    }
  ssl_cpu = (cpu_ns () - cpu_start) / packets;
  ssl_ns = (g_get_monotonic_time () - start) * 1000.0 / packets;
  openssl_clear (&ssl);

  measure_memory (&lib_kib, &ssl_kib);
  g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL);
  g_print ("packets: %d of %d bytes, AES_CM_128_HMAC_SHA1_80\n", packets, PACKET_LEN);
  g_print ("libsrtp2 (Debian, NSS):  %.0f ns/packet CPU (%.0f wall)\n", lib_cpu, lib_ns);
  g_print ("OpenSSL EVP:             %.0f ns/packet CPU (%.0f wall)\n", ssl_cpu, ssl_ns);
  g_print ("libsrtp2 / OpenSSL:      %.1f\n", lib_cpu / ssl_cpu);
  g_print ("RSS per guest (both directions, %d guests): libsrtp2 %.1f KiB, OpenSSL %.1f KiB\n",
           MEMORY_GUESTS, lib_kib, ssl_kib);
  g_print ("load average: %s", loadavg != NULL ? loadavg : "?\n");
  return 0;
}

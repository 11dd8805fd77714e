/* SPDX-License-Identifier: MIT */
/*
 * bench-srtp: what one SRTP protection of a room packet costs, the fan-out
 * engine's per-guest work, as done by the engine (pipelines/rc_srtp.c, on
 * OpenSSL) and by Debian's libsrtp2 (on NSS), the library the engine used
 * first.
 *
 *   bench-srtp [--packets N] [--sessions 1,100,1000,3000] [--engine-only]
 *
 * A 172-byte RTP packet (12-byte header, 160 bytes of Opus) is protected
 * with the profile WebRTC uses, AES_CM_128_HMAC_SHA1_80. First the two are
 * checked to give the same bytes. Then, for each count of live sessions S
 * (each with its own keys, as the engine keeps one per guest), N packets
 * are protected going round the sessions, as the sender thread goes round
 * the guests; and 2,000 guests' worth of contexts are made with each (an
 * outbound one that protected a packet and an inbound one) for the RSS per
 * guest. It prints ns per packet by the thread's CPU time (what the sender
 * thread spends) and by the wall clock, and the load average beside them:
 * on a busy machine the CPU figure still holds, the wall one does not.
 */
#include "pipelines/rc_srtp.h"
#include "tools/support/rc_srtp_reference.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PACKET_LEN 172
#define BUFFER_LEN (PACKET_LEN + RC_SRTP_REFERENCE_TRAILER)
#define MEMORY_GUESTS 2000

static const guint8 master_key[16] = { 0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                       0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39 };
static const guint8 master_salt[14] = { 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                        0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6 };

/* One implementation, behind the shape both share. */
typedef struct
{
  const char *name;
  gpointer (*make) (guint salt_variant);
  void (*destroy) (gpointer ctx);
  gboolean (*protect) (gpointer ctx, guint8 *packet, gsize *length);
} Impl;

static void
vary_salt (guint8 *salt, guint variant)
{
  memcpy (salt, master_salt, sizeof master_salt);
  salt[0] ^= (guint8) variant;
  salt[1] ^= (guint8) (variant >> 8);
}

static gpointer
engine_make (guint variant)
{
  guint8 salt[14];

  vary_salt (salt, variant);
  return rc_srtp_new (master_key, salt, RC_SRTP_OUTBOUND, NULL);
}

static gboolean
engine_protect (gpointer ctx, guint8 *packet, gsize *length)
{
  return rc_srtp_protect (ctx, packet, length, BUFFER_LEN);
}

static gpointer
reference_make (guint variant)
{
  guint8 salt[14];

  vary_salt (salt, variant);
  return rc_srtp_reference_new (master_key, salt, TRUE);
}

static gboolean
reference_protect (gpointer ctx, guint8 *packet, gsize *length)
{
  return rc_srtp_reference_protect (ctx, packet, length, BUFFER_LEN, FALSE);
}

static const Impl impls[] = {
  { "roomcast (OpenSSL)", engine_make, (void (*) (gpointer)) rc_srtp_free, engine_protect },
  { "libsrtp2 (Debian, NSS)", reference_make, (void (*) (gpointer)) rc_srtp_reference_free,
    reference_protect },
};

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

/* The same 8 packets (a sequence wrap among them) from both, byte for byte. */
static gboolean
same_output (void)
{
  gpointer a = impls[0].make (0), b = impls[1].make (0);
  gboolean same = a != NULL && b != NULL;

  for (guint i = 0; i < 8 && same; i++)
    {
      guint8 pa[BUFFER_LEN], pb[BUFFER_LEN];
      gsize la = PACKET_LEN, lb = PACKET_LEN;
      guint16 seq = (guint16) (65532 + i);

      make_packet (pa, seq);
      make_packet (pb, seq);
      same = impls[0].protect (a, pa, &la) && impls[1].protect (b, pb, &lb) && la == lb
             && memcmp (pa, pb, la) == 0;
    }
  if (a != NULL)
    impls[0].destroy (a);
  if (b != NULL)
    impls[1].destroy (b);
  return same;
}

/* ns per packet (CPU, wall) protecting @packets packets round @sessions
 * sessions. FALSE when a context could not be made or a protection failed. */
static gboolean
time_protect (const Impl *impl, guint sessions, guint packets, double *cpu, double *wall)
{
  gpointer *ctx = g_new0 (gpointer, sessions);
  guint8 buffer[BUFFER_LEN];
  gboolean ok = TRUE;
  double cpu_start;
  gint64 start;

  for (guint s = 0; s < sessions && ok; s++)
    ok = (ctx[s] = impl->make (s)) != NULL;
  start = g_get_monotonic_time ();
  cpu_start = cpu_ns ();
  for (guint i = 0; i < packets && ok; i++)
    {
      gsize length = PACKET_LEN;

      make_packet (buffer, (guint16) (i / sessions));
      ok = impl->protect (ctx[i % sessions], buffer, &length);
    }
  *cpu = (cpu_ns () - cpu_start) / packets;
  *wall = (g_get_monotonic_time () - start) * 1000.0 / packets;
  for (guint s = 0; s < sessions; s++)
    if (ctx[s] != NULL)
      impl->destroy (ctx[s]);
  g_free (ctx);
  return ok;
}

/* RSS per guest of an outbound context that protected a packet and an
 * inbound one; they are kept in *@kept (freed by the caller after every
 * measurement, so that no measurement reuses another's freed memory). */
static double
memory_per_guest (const Impl *impl, gpointer **kept)
{
  gpointer *ctx = g_new0 (gpointer, 2 * MEMORY_GUESTS);
  guint8 buffer[BUFFER_LEN];
  long before = rss_kib ();

  for (guint i = 0; i < MEMORY_GUESTS; i++)
    {
      gsize length = PACKET_LEN;

      ctx[2 * i] = impl->make (i);
      ctx[2 * i + 1] = impl == &impls[0]
                         ? (gpointer) rc_srtp_new (master_key, master_salt, RC_SRTP_INBOUND, NULL)
                         : (gpointer) rc_srtp_reference_new (master_key, master_salt, FALSE);
      make_packet (buffer, 1);
      if (ctx[2 * i] != NULL)
        impl->protect (ctx[2 * i], buffer, &length);
    }
  *kept = ctx;
  return (double) (rss_kib () - before) / MEMORY_GUESTS;
}

static void
free_kept (const Impl *impl, gpointer *ctx)
{
  for (guint i = 0; i < 2 * MEMORY_GUESTS; i++)
    if (ctx[i] != NULL)
      impl->destroy (ctx[i]);
  g_free (ctx);
}

int
main (int argc, char **argv)
{
  gint packets = 1000000;
  gboolean engine_only = FALSE;
  g_autofree char *sessions_arg = NULL;
  GOptionEntry entries[] = {
    { "packets", 'n', 0, G_OPTION_ARG_INT, &packets,
      "Packets per implementation and session count (default 1000000)", "N" },
    { "sessions", 's', 0, G_OPTION_ARG_STRING, &sessions_arg,
      "Live sessions the packets go round (default 1,100,1000,3000)", "N,N,..." },
    { "engine-only", 0, 0, G_OPTION_ARG_NONE, &engine_only,
      "Time roomcast's only (libsrtp2's column shows 0): quick A/B runs of rc_srtp", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- SRTP protection cost");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) counts = NULL;
  g_autofree char *loadavg = NULL;
  gpointer *kept[2];
  double kib[2];

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || packets <= 0)
    {
      g_printerr ("bench-srtp: %s\n", error != NULL ? error->message : "--packets must be > 0");
      return 2;
    }
  if (!same_output ())
    {
      g_printerr ("bench-srtp: roomcast's SRTP does not match libsrtp2's output\n");
      return 1;
    }
  g_print ("roomcast's SRTP matches libsrtp2's (8 packets across a sequence wrap, byte for byte)\n");
  /* Memory first, in a fresh heap. */
  kib[0] = memory_per_guest (&impls[0], &kept[0]);
  kib[1] = memory_per_guest (&impls[1], &kept[1]);
  free_kept (&impls[0], kept[0]);
  free_kept (&impls[1], kept[1]);
  g_print ("packets: %d of %d bytes per row, AES_CM_128_HMAC_SHA1_80\n\n", packets, PACKET_LEN);
  g_print ("| sessions | %s ns/packet CPU (wall) | %s ns/packet CPU (wall) | ratio |\n",
           impls[0].name, impls[1].name);
  g_print ("|---:|---:|---:|---:|\n");
  counts = g_strsplit (sessions_arg != NULL ? sessions_arg : "1,100,1000,3000", ",", -1);
  for (guint i = 0; counts[i] != NULL; i++)
    {
      guint sessions = (guint) g_ascii_strtoull (counts[i], NULL, 10);
      double cpu[2] = { 0, 0 }, wall[2] = { 0, 0 };

      if (sessions == 0)
        continue;
      for (guint k = 0; k < (engine_only ? 1u : 2u); k++)
        if (!time_protect (&impls[k], sessions, (guint) packets, &cpu[k], &wall[k]))
          {
            g_printerr ("bench-srtp: %s failed with %u sessions\n", impls[k].name, sessions);
            return 1;
          }
      g_print ("| %u | %.0f (%.0f) | %.0f (%.0f) | %.1f |\n", sessions, cpu[0], wall[0], cpu[1],
               wall[1], cpu[1] / cpu[0]);
    }
  g_print ("\nRSS per guest (an outbound and an inbound context, %d guests): %s %.1f KiB, %s %.1f KiB\n",
           MEMORY_GUESTS, impls[0].name, kib[0], impls[1].name, kib[1]);
  g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL);
  g_print ("load average: %s", loadavg != NULL ? loadavg : "?\n");
  return 0;
}

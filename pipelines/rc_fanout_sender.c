/* SPDX-License-Identifier: MIT */
/*
 * The fan-out engine's sender threads (see rc_fanout.c for the engine). Why
 * a file of its own: it is the hot path, the one loop that runs per packet
 * and per guest: copy, SRTP, batch, sendmmsg, nothing else. It reads each
 * stream's guest list as a snapshot and owns every active guest's outbound
 * SRTP context, address and Sender Report counters; it never waits for a
 * guest (MSG_DONTWAIT: a full socket buffer loses the batch's rest, counted).
 */
#define _GNU_SOURCE /* sendmmsg */
#include "pipelines/rc_fanout-internal.h"

#include <errno.h>
#include <string.h>

#include "pipelines/rc_thread_priority.h"

/* How many guests ahead the sender prefetches. */
#define RC_FANOUT_PREFETCH 4

RcFanoutPacket *const RC_FANOUT_STOP = (RcFanoutPacket *) &RC_FANOUT_STOP;

/* ------------------------------------------------------------------ */
/* The sender thread */

typedef struct
{
  struct mmsghdr messages[RC_FANOUT_BATCH];
  struct iovec iov[RC_FANOUT_BATCH];
  guint8 slots[RC_FANOUT_BATCH][RC_FANOUT_SLOT_SIZE];
  guint n;
  gint64 tap_us;
} RcFanoutBatch;

/* Under stats_lock: @ms into a ring of @size samples. */
static void
record (double *ring, guint *n, guint *next, guint size, double ms)
{
  ring[*next] = ms;
  *next = (*next + 1) % size;
  *n = MIN (*n + 1, size);
}

static void
flush (RcFanout *fanout, RcFanoutBatch *batch)
{
  guint done = 0, failed = 0;
  guint64 bytes = 0;

  while (done + failed < batch->n)
    {
      int sent = sendmmsg (fanout->fd, batch->messages + done + failed, batch->n - done - failed,
                           MSG_DONTWAIT);

      if (sent < 0 && errno == EINTR)
        continue;
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          failed = batch->n - done; /* the buffer is full: the rest is lost, never waited for */
          break;
        }
      if (sent <= 0)
        failed++; /* this datagram's route failed: skip it */
      else
        done += (guint) sent;
    }
  for (guint i = 0; i < batch->n; i++)
    bytes += batch->iov[i].iov_len;
  g_mutex_lock (&fanout->stats_lock);
  fanout->packets_sent += done;
  fanout->bytes_sent += bytes;
  fanout->send_failed += failed;
  fanout->batches++;
  record (fanout->latencies, &fanout->n_latencies, &fanout->next_latency, RC_FANOUT_LATENCY_SAMPLES,
          (g_get_monotonic_time () - batch->tap_us) / 1000.0);
  g_mutex_unlock (&fanout->stats_lock);
  batch->n = 0;
}

static guint8 *
batch_slot (RcFanout *fanout, RcFanoutBatch *batch, RcFanoutGuest *guest)
{
  if (batch->n == RC_FANOUT_BATCH)
    flush (fanout, batch);
  batch->messages[batch->n].msg_hdr.msg_name = &guest->send_addr.addr;
  batch->messages[batch->n].msg_hdr.msg_namelen = guest->send_addr.length;
  return batch->slots[batch->n];
}

static void
batch_add (RcFanoutBatch *batch, gsize length)
{
  batch->iov[batch->n].iov_len = length;
  batch->n++;
}

static void
send_sender_report (RcFanout *fanout, RcFanoutBatch *batch, RcFanoutGuest *guest, const RcFanoutPacket *packet,
                    gint64 now)
{
  guint8 *slot = batch_slot (fanout, batch, guest);
  gsize length = RC_RTCP_SR_LEN;
  guint32 ts = (guint32) packet->data[4] << 24 | (guint32) packet->data[5] << 16
               | (guint32) packet->data[6] << 8 | packet->data[7];

  guest->next_sr_us = now + RC_FANOUT_SR_INTERVAL_US;
  /* NTP now against the RTP time of the packet going out now: the
   * browser's RTP → NTP mapping (the sync engine uses the timeline
   * message, not this). */
  rc_rtcp_write_sr (slot, packet->stream->ssrc, rc_rtcp_ntp_now (), ts, guest->sr_packets,
                    guest->sr_octets);
  if (rc_srtp_protect_rtcp (guest->srtp_out, slot, &length, RC_FANOUT_SLOT_SIZE))
    batch_add (batch, length);
}

static void
fan_out (RcFanout *fanout, guint sender, RcFanoutBatch *batch, RcFanoutPacket *packet)
{
  RcFanoutGuestList *list = rc_fanout_stream_snapshot (packet->stream, sender);
  gint64 now = g_get_monotonic_time ();
  gboolean sent = FALSE;

  batch->tap_us = packet->tap_us;
  for (guint i = 0; i < list->n; i++)
    {
      RcFanoutGuest *guest = list->guests[i];
      guint8 *slot;
      gsize length = packet->length;

      /* A few guests ahead: their fields (in their first lines) and, one
       * step nearer, their SRTP context, so that the misses overlap. */
      if (i + RC_FANOUT_PREFETCH < list->n)
        {
          const guint8 *ahead = (const guint8 *) list->guests[i + RC_FANOUT_PREFETCH];

          __builtin_prefetch (ahead);
          __builtin_prefetch (ahead + 64);
        }
      if (i + RC_FANOUT_PREFETCH / 2 < list->n)
        rc_srtp_prefetch (list->guests[i + RC_FANOUT_PREFETCH / 2]->srtp_out);
      if (!g_atomic_int_get (&guest->active))
        continue;
      slot = batch_slot (fanout, batch, guest);
      memcpy (slot, packet->data, packet->length);
      if (!rc_srtp_protect (guest->srtp_out, slot, &length, RC_FANOUT_SLOT_SIZE))
        continue;
      batch_add (batch, length);
      sent = TRUE;
      __atomic_store_n (&guest->packets_sent, guest->packets_sent + 1, __ATOMIC_RELAXED);
      __atomic_store_n (&guest->bytes_sent, guest->bytes_sent + length, __ATOMIC_RELAXED);
      guest->sr_packets++;
      guest->sr_octets += (guint32) packet->length - 12;
      if (now >= guest->next_sr_us)
        send_sender_report (fanout, batch, guest, packet, now);
    }
  if (batch->n > 0)
    flush (fanout, batch);
  rc_fanout_guest_list_unref (list);
  /* Only a packet that went out: its batches are in the latency ring too. */
  if (sent)
    {
      g_mutex_lock (&fanout->stats_lock);
      record (fanout->waits, &fanout->n_waits, &fanout->next_wait, RC_FANOUT_WAIT_SAMPLES,
              (now - packet->tap_us) / 1000.0);
      g_mutex_unlock (&fanout->stats_lock);
    }
}

gpointer
rc_fanout_sender_main (gpointer data)
{
  RcFanoutSender *sender = data;
  RcFanout *fanout = sender->fanout;
  RcFanoutBatch *batch = g_new0 (RcFanoutBatch, 1);

  /* Above the main loop's joins and the control thread's handshakes. */
  rc_thread_raise_for_media ("fan-out sender");
  for (guint i = 0; i < RC_FANOUT_BATCH; i++)
    {
      batch->iov[i].iov_base = batch->slots[i];
      batch->messages[i].msg_hdr.msg_iov = &batch->iov[i];
      batch->messages[i].msg_hdr.msg_iovlen = 1;
    }
  for (;;)
    {
      RcFanoutPacket *packet = g_async_queue_pop (sender->packets);

      if (packet == RC_FANOUT_STOP)
        break;
      /* Behind by more than any guest's playout delay (the core was taken
       * from the sender): nobody could play it, and sending it would make
       * the packets behind it later still. Dropping it is how the sender
       * catches up after an overload instead of staying seconds late. */
      if (g_get_monotonic_time () - packet->tap_us > fanout->stale_us)
        {
          g_mutex_lock (&fanout->stats_lock);
          fanout->stale_packets++;
          g_mutex_unlock (&fanout->stats_lock);
        }
      else
        fan_out (fanout, sender->index, batch, packet);
      rc_fanout_packet_unref (packet);
    }
  g_free (batch);
  return NULL;
}


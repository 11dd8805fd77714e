/* SPDX-License-Identifier: MIT */
/*
 * The WebRTC fan-out engine. Why it exists: a webrtcbin per guest costs
 * seven threads, a megabyte and a sendmsg of its own per packet; here a
 * guest is a few hundred bytes of state and one SRTP protection per
 * packet, and every guest of the process shares one UDP port.
 *
 * Threads and who owns what:
 * - The main context (the owner's) makes and frees streams and guests and
 *   gets their callbacks. It talks to the control thread only through the
 *   command queue, and to the sender thread only through each stream's
 *   guest list (copy-on-write: a new array on every join or leave, swapped
 *   under the stream's lock, so the sender walks a snapshot without a lock).
 * - The control thread owns the socket's input: STUN (rc_ice_lite), DTLS
 *   (rc_dtls), SRTCP in, the address → guest and ufrag → guest maps, the
 *   handshake timers and the 30 s silence rule (heard: an authenticated
 *   check or authentic SRTCP; anything else can be forged from its address). When a handshake completes
 *   it makes the guest's outbound SRTP context and its address, then sets
 *   `active` (release); from then on only the sender touches them.
 * - A sender thread (one, or --webrtc-senders: each with its own queue and
 *   its own share of every stream's guests, dealt when they join, so one
 *   guest's SRTP context is only ever one thread's) pops each room packet,
 *   and for every active guest of its stream it serves copies, protects
 *   (the guest's own SRTP context) and batches it, with a Sender Report
 *   every SR_INTERVAL, and hands each batch to sendmmsg on the
 *   non-blocking socket: a full socket buffer drops and counts, it never
 *   waits, so one slow guest costs the others nothing.
 * - Guests are reference-counted: the main context's handle, the control
 *   thread's maps and every snapshot hold one, so a guest freed while the
 *   sender is in the middle of a batch is only gone after it.
 * Ordering rule: callbacks reach the main context through rc_defer only.
 */
#define _GNU_SOURCE
#include "pipelines/rc_fanout-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pipelines/rc_defer.h"
#include "pipelines/rc_fanout-private.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_stats.h"

/* ------------------------------------------------------------------ */
/* Addresses */

static guint
address_hash (gconstpointer key)
{
  const RcFanoutAddress *a = key;

  if (a->addr.ss_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) &a->addr;

      return in->sin_addr.s_addr ^ ((guint) in->sin_port << 7);
    }
  else
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &a->addr;
      guint h = in6->sin6_port;

      for (guint i = 0; i < 16; i++)
        h = h * 31 + in6->sin6_addr.s6_addr[i];
      return h;
    }
}

static gboolean
address_equal (gconstpointer x, gconstpointer y)
{
  const RcFanoutAddress *a = x, *b = y;

  if (a->addr.ss_family != b->addr.ss_family)
    return FALSE;
  if (a->addr.ss_family == AF_INET)
    {
      const struct sockaddr_in *p = (const void *) &a->addr, *q = (const void *) &b->addr;

      return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
    }
  else
    {
      const struct sockaddr_in6 *p = (const void *) &a->addr, *q = (const void *) &b->addr;

      return p->sin6_port == q->sin6_port
             && memcmp (&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
    }
}

static void
send_to (RcFanout *fanout, const RcFanoutAddress *to, const guint8 *data, gsize length)
{
  if (sendto (fanout->fd, data, length, MSG_DONTWAIT, (const struct sockaddr *) &to->addr,
              to->length)
      < 0)
    {
      g_mutex_lock (&fanout->stats_lock);
      fanout->send_failed++;
      g_mutex_unlock (&fanout->stats_lock);
    }
}

/* Control thread: @from has passed a check for @guest; DTLS and SRTCP from
 * it now reach the guest. */
static void
learn_address (RcFanout *fanout, RcFanoutGuest *guest, const RcFanoutAddress *from)
{
  RcFanoutAddress *key;
  RcFanoutGuest *owner = g_hash_table_lookup (fanout->by_address, from);

  if (owner == guest || guest->n_addresses == RC_FANOUT_MAX_ADDRESSES)
    return;
  if (owner != NULL)
    return; /* another guest's address: the first to prove it keeps it */
  key = g_memdup2 (from, sizeof *from);
  guest->addresses[guest->n_addresses++] = key;
  g_hash_table_insert (fanout->by_address, key, guest);
}

static void
forget_guest (RcFanout *fanout, RcFanoutGuest *guest)
{
  for (guint i = 0; i < guest->n_addresses; i++)
    g_hash_table_remove (fanout->by_address, guest->addresses[i]); /* frees the key */
  guest->n_addresses = 0;
  if (g_hash_table_lookup (fanout->by_ufrag, guest->ufrag) == guest)
    g_hash_table_remove (fanout->by_ufrag, guest->ufrag); /* drops the map's reference */
}

/* ------------------------------------------------------------------ */
/* Reporting to the main context */

typedef struct
{
  RcFanoutGuest *guest; /* strong */
  char *reason;
} RcFanoutFailure;

static void
failure_free (gpointer data)
{
  RcFanoutFailure *f = data;

  rc_fanout_guest_unref (f->guest);
  g_free (f->reason);
  g_free (f);
}

static gboolean
report_failure (gpointer data)
{
  RcFanoutFailure *f = data;

  if (!f->guest->freed && f->guest->callbacks.failed != NULL)
    f->guest->callbacks.failed (f->guest, f->reason, f->guest->user_data);
  return G_SOURCE_REMOVE;
}

/* Control thread: the guest is over; the main context hears why. */
static void
fail_guest (RcFanout *fanout, RcFanoutGuest *guest, const char *reason)
{
  RcFanoutFailure *f;

  if (guest->failed)
    return;
  guest->failed = TRUE;
  if (g_atomic_int_get (&guest->active))
    {
      g_atomic_int_set (&guest->active, FALSE);
      g_mutex_lock (&fanout->stats_lock);
      fanout->connected--;
      g_mutex_unlock (&fanout->stats_lock);
    }
  f = g_new0 (RcFanoutFailure, 1);
  f->guest = rc_fanout_guest_ref (guest);
  f->reason = g_strdup (reason);
  rc_defer (fanout->context, G_PRIORITY_DEFAULT, report_failure, f, failure_free);
}

/* ------------------------------------------------------------------ */
/* The control thread: DTLS */

static void
on_dtls_send (const guint8 *data, gsize length, gpointer user_data)
{
  RcFanoutGuest *guest = user_data;

  send_to (guest->fanout, &guest->dtls_addr, data, length);
}

static void
activate (RcFanout *fanout, RcFanoutGuest *guest)
{
  RcDtlsSrtpKeys keys;
  g_autoptr (GError) error = NULL;

  if (!rc_dtls_get_srtp_keys (guest->dtls, &keys)
      || (guest->srtp_out = rc_srtp_new (keys.local_key, keys.local_salt, RC_SRTP_OUTBOUND,
                                         &error))
             == NULL
      || (guest->srtp_in = rc_srtp_new (keys.remote_key, keys.remote_salt, RC_SRTP_INBOUND,
                                        &error))
             == NULL)
    {
      fail_guest (fanout, guest, error != NULL ? error->message : "no SRTP keys");
      return;
    }
  memset (&keys, 0, sizeof keys);
  /* The nominated pair's address, else the one DTLS came from. */
  guest->send_addr = guest->has_checked_addr ? guest->checked_addr : guest->dtls_addr;
  guest->next_sr_us = g_get_monotonic_time () + G_USEC_PER_SEC;
  guest->dtls_release_us = g_get_monotonic_time () + RC_FANOUT_DTLS_KEEP_US;
  g_mutex_lock (&fanout->stats_lock);
  fanout->connected++;
  g_mutex_unlock (&fanout->stats_lock);
  g_atomic_int_set (&guest->active, TRUE);
}

static void
dtls_after (RcFanout *fanout, RcFanoutGuest *guest, RcDtlsState before, RcDtlsState state)
{
  if (state == before)
    return;
  if (state == RC_DTLS_CONNECTED)
    activate (fanout, guest);
  else if (state == RC_DTLS_FAILED)
    fail_guest (fanout, guest, rc_dtls_get_error (guest->dtls));
  else if (state == RC_DTLS_CLOSED)
    fail_guest (fanout, guest, "the guest closed DTLS");
}

/* Once answered and proven by a check: a DTLS client guest will send its
 * ClientHello; a passive one gets ours. */
static void
ensure_dtls (RcFanout *fanout, RcFanoutGuest *guest, const RcFanoutAddress *from)
{
  g_autoptr (GError) error = NULL;

  if (guest->dtls != NULL || guest->dtls_done || !guest->answered || guest->failed)
    return;
  guest->dtls_addr = *from;
  guest->has_dtls_addr = TRUE;
  guest->dtls = rc_dtls_new (fanout->cert, guest->remote_dtls_client ? RC_DTLS_SERVER : RC_DTLS_CLIENT,
                             guest->remote_fingerprint, on_dtls_send, guest, &error);
  if (guest->dtls == NULL)
    {
      fail_guest (fanout, guest, error->message);
      return;
    }
  dtls_after (fanout, guest, RC_DTLS_HANDSHAKING, rc_dtls_start (guest->dtls));
}

/* ------------------------------------------------------------------ */
/* The control thread: datagrams in */

static void
count (RcFanout *fanout, guint64 *counter)
{
  g_mutex_lock (&fanout->stats_lock);
  (*counter)++;
  g_mutex_unlock (&fanout->stats_lock);
}

static gpointer
lookup_ufrag (const char *local_ufrag, const char *remote_ufrag, const char **password,
              gpointer user_data)
{
  RcFanout *fanout = user_data;
  RcFanoutGuest *guest = g_hash_table_lookup (fanout->by_ufrag, local_ufrag);

  if (guest == NULL || guest->failed
      || (guest->remote_ufrag != NULL && g_strcmp0 (guest->remote_ufrag, remote_ufrag) != 0))
    return NULL;
  *password = guest->pwd;
  return guest;
}

static void
receive_stun (RcFanout *fanout, const guint8 *data, gsize length, const RcFanoutAddress *from)
{
  guint8 reply[RC_ICE_LITE_REPLY_MAX];
  gsize reply_length;
  gpointer found;
  gboolean nominated;
  RcFanoutGuest *guest;

  switch (rc_ice_lite_handle (fanout->ice, data, length, &from->addr, from->length, lookup_ufrag,
                              fanout, reply, &reply_length, &found, &nominated))
    {
    case RC_ICE_LITE_REPLY:
      break;
    case RC_ICE_LITE_ROLE_CONFLICT:
      send_to (fanout, from, reply, reply_length);
      return;
    case RC_ICE_LITE_IGNORED:
      return;
    case RC_ICE_LITE_UNAUTHORIZED:
      count (fanout, &fanout->dropped_stun);
      return;
    case RC_ICE_LITE_MALFORMED:
    default:
      count (fanout, &fanout->dropped_malformed);
      return;
    }
  guest = found;
  send_to (fanout, from, reply, reply_length);
  guest->last_heard_us = g_get_monotonic_time ();
  learn_address (fanout, guest, from);
  if (nominated || !guest->has_checked_addr)
    {
      guest->checked_addr = *from;
      guest->has_checked_addr = TRUE;
    }
  if (!guest->remote_dtls_client)
    ensure_dtls (fanout, guest, from);
}

static void
receive_dtls (RcFanout *fanout, RcFanoutGuest *guest, const guint8 *data, gsize length,
              const RcFanoutAddress *from)
{
  RcDtlsState before;

  if (!rc_dtls_check_datagram (data, length))
    {
      count (fanout, &fanout->dropped_dtls);
      return;
    }
  ensure_dtls (fanout, guest, from);
  if (guest->dtls == NULL || guest->failed)
    {
      count (fanout, &fanout->dropped_dtls);
      return;
    }
  guest->dtls_addr = *from;
  before = rc_dtls_get_state (guest->dtls);
  dtls_after (fanout, guest, before, rc_dtls_receive (guest->dtls, data, length));
}

static void
receive_rtcp (RcFanout *fanout, RcFanoutGuest *guest, const guint8 *data, gsize length)
{
  guint8 packet[RC_FANOUT_SLOT_SIZE];
  gsize n = length;
  RcRtcpReportBlock block;
  guint32 ssrc = guest->stream->ssrc;

  if (guest->srtp_in == NULL || length > sizeof packet)
    {
      count (fanout, &fanout->dropped_srtp);
      return;
    }
  memcpy (packet, data, length);
  if (!rc_srtp_unprotect_rtcp (guest->srtp_in, packet, &n))
    {
      count (fanout, &fanout->dropped_srtp);
      return;
    }
  guest->last_heard_us = g_get_monotonic_time (); /* authentic: the guest is there */
  if (!rc_rtcp_find_report (packet, n, ssrc, &block))
    return;
  g_mutex_lock (&fanout->stats_lock);
  guest->reports++;
  guest->last_report = block;
  if (block.last_sr != 0)
    guest->rtt_ms = rc_rtcp_rtt_ms (&block, rc_rtcp_ntp_now ());
  g_mutex_unlock (&fanout->stats_lock);
}

void
rc_fanout_receive (RcFanout *fanout, const guint8 *data, gsize length,
                   const struct sockaddr_storage *from_addr, socklen_t from_length)
{
  RcFanoutAddress from = { 0 };
  RcFanoutGuest *guest;
  guint8 first;

  if (length == 0 || from_length > sizeof from.addr)
    {
      count (fanout, &fanout->dropped_malformed);
      return;
    }
  memcpy (&from.addr, from_addr, from_length);
  from.length = from_length;
  first = data[0];
  /* RFC 7983: the first byte tells STUN, DTLS and RTP/RTCP apart. */
  if (first <= 3)
    {
      receive_stun (fanout, data, length, &from);
      return;
    }
  if (!((first >= 20 && first <= 63) || (first >= 128 && first <= 191)))
    {
      count (fanout, &fanout->dropped_malformed);
      return;
    }
  guest = g_hash_table_lookup (fanout->by_address, &from);
  if (guest == NULL)
    {
      count (fanout, &fanout->dropped_unknown);
      return;
    }
  if (first <= 63)
    receive_dtls (fanout, guest, data, length, &from);
  else if (length >= 8 && data[1] >= 192 && data[1] <= 223)
    receive_rtcp (fanout, guest, data, length); /* RTCP types 192..223 with rtcp-mux */
  else
    count (fanout, length < 12 ? &fanout->dropped_malformed : &fanout->dropped_srtp);
}

/* ------------------------------------------------------------------ */
/* The control thread: commands, timers, the loop */

static void
run_command (RcFanout *fanout, RcFanoutCommandItem *command)
{
  RcFanoutGuest *guest = command->guest;

  switch (command->type)
    {
    case RC_FANOUT_ADD:
      guest->last_heard_us = g_get_monotonic_time ();
      if (g_hash_table_contains (fanout->by_ufrag, guest->ufrag))
        fail_guest (fanout, guest, "its ICE username is another guest's");
      else
        g_hash_table_insert (fanout->by_ufrag, guest->ufrag, rc_fanout_guest_ref (guest));
      break;
    case RC_FANOUT_ANSWER:
      guest->answered = TRUE;
      /* A guest that is DTLS server waits for our ClientHello once its
       * address is known; it may be known already. */
      if (!guest->remote_dtls_client && guest->has_checked_addr)
        ensure_dtls (fanout, guest, &guest->checked_addr);
      break;
    case RC_FANOUT_REMOVE:
      if (g_atomic_int_get (&guest->active))
        {
          g_atomic_int_set (&guest->active, FALSE);
          g_mutex_lock (&fanout->stats_lock);
          fanout->connected--;
          g_mutex_unlock (&fanout->stats_lock);
        }
      guest->failed = TRUE;
      forget_guest (fanout, guest);
      break;
    }
  rc_fanout_guest_unref (guest);
  g_free (command);
}

static void
run_commands (RcFanout *fanout)
{
  GQueue queue = G_QUEUE_INIT;
  RcFanoutCommandItem *command;
  guint64 value;

  if (read (fanout->wake_fd, &value, sizeof value) < 0 && errno != EAGAIN)
    g_warning ("Fan-out: cannot read its wake-up counter: %s", g_strerror (errno));
  g_mutex_lock (&fanout->lock);
  queue = fanout->commands;
  g_queue_init (&fanout->commands);
  g_mutex_unlock (&fanout->lock);
  while ((command = g_queue_pop_head (&queue)) != NULL)
    run_command (fanout, command);
}

void
rc_fanout_post (RcFanout *fanout, RcFanoutCommand type, RcFanoutGuest *guest)
{
  RcFanoutCommandItem *command = g_new0 (RcFanoutCommandItem, 1);
  guint64 one = 1;

  command->type = type;
  command->guest = rc_fanout_guest_ref (guest);
  g_mutex_lock (&fanout->lock);
  g_queue_push_tail (&fanout->commands, command);
  g_mutex_unlock (&fanout->lock);
  if (fanout->control_thread == NULL)
    run_commands (fanout); /* detached (fuzzing): no thread to wake */
  else if (write (fanout->wake_fd, &one, sizeof one) < 0)
    g_warning ("Fan-out: cannot wake its control thread: %s", g_strerror (errno));
}

/* A DTLS handshake's buffers are freed between longer-lived allocations
 * (the guests' SRTP contexts, the signalling's objects), and the holes they
 * leave stay in the process's RSS: ~6 KiB a guest at 1,000 guests
 * (docs/benchmarks.md). Once associations were let go, the free pages go
 * back to the kernel, at most every RC_FANOUT_TRIM_US. */
static void
give_back_memory (RcFanout *fanout, gint64 now)
{
  if (now < fanout->next_trim_us)
    return;
  fanout->next_trim_us = now + RC_FANOUT_TRIM_US;
#ifdef __GLIBC__
  malloc_trim (0);
#endif
}

static void
sweep (RcFanout *fanout, gint64 now)
{
  GHashTableIter iter;
  gpointer value;
  GPtrArray *silent = g_ptr_array_new ();
  guint released = 0;

  g_hash_table_iter_init (&iter, fanout->by_ufrag);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcFanoutGuest *guest = value;

      if (guest->failed)
        continue;
      if (now - guest->last_heard_us > RC_FANOUT_SILENCE_US)
        g_ptr_array_add (silent, guest);
      else if (guest->dtls == NULL)
        continue;
      else if (rc_dtls_get_state (guest->dtls) == RC_DTLS_HANDSHAKING
               && rc_dtls_get_timeout_ms (guest->dtls) == 0)
        dtls_after (fanout, guest, RC_DTLS_HANDSHAKING, rc_dtls_tick (guest->dtls));
      else if (rc_dtls_get_state (guest->dtls) == RC_DTLS_CONNECTED
               && now >= guest->dtls_release_us)
        {
          g_clear_pointer (&guest->dtls, rc_dtls_free);
          guest->dtls_done = TRUE; /* later DTLS from it is dropped */
          released++;
        }
    }
  if (released > 0)
    give_back_memory (fanout, now);
  for (guint i = 0; i < silent->len; i++)
    {
      RcFanoutGuest *guest = silent->pdata[i];

      count (fanout, &fanout->timed_out);
      fail_guest (fanout, guest,
                  g_atomic_int_get (&guest->active) ? "the guest went silent for 30 s"
                                                    : "nothing connected within 30 s");
    }
  g_ptr_array_free (silent, TRUE);
}

static void
read_socket (RcFanout *fanout)
{
  guint8 buffer[2048];

  for (guint i = 0; i < 256; i++)
    {
      struct sockaddr_storage from;
      socklen_t from_length = sizeof from;
      ssize_t n = recvfrom (fanout->fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC,
                            (struct sockaddr *) &from, &from_length);

      if (n < 0)
        return;
      if ((gsize) n > sizeof buffer)
        {
          count (fanout, &fanout->dropped_malformed);
          continue;
        }
      rc_fanout_receive (fanout, buffer, (gsize) n, &from, from_length);
    }
}

static gpointer
control_main (gpointer data)
{
  RcFanout *fanout = data;

  /* Level with the main loop, whose joins lead to these handshakes: below
   * it (tried: 10 nice steps down) 500 joins a second starved the
   * handshakes and no guest of 1,000 got audio (pipelines/rc_thread_priority.c). */
  while (!g_atomic_int_get (&fanout->stopping))
    {
      struct pollfd fds[2] = { { fanout->fd, POLLIN, 0 }, { fanout->wake_fd, POLLIN, 0 } };
      gint64 now;

      if (poll (fds, 2, RC_FANOUT_SWEEP_MS) < 0 && errno != EINTR)
        break;
      if (fds[1].revents & POLLIN)
        run_commands (fanout);
      if (fds[0].revents & POLLIN)
        read_socket (fanout);
      now = g_get_monotonic_time ();
      if (now >= fanout->next_sweep_us)
        {
          sweep (fanout, now);
          fanout->next_sweep_us = now + RC_FANOUT_SWEEP_MS * 1000;
        }
    }
  run_commands (fanout);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* The engine */

static gboolean
open_socket (RcFanout *fanout, const RcFanoutOptions *options, GError **error)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (
    options->bind_address != NULL ? options->bind_address : "0.0.0.0");
  g_autoptr (GSocketAddress) socket_address = NULL;
  struct sockaddr_storage native;
  socklen_t length = sizeof native;
  int size = RC_FANOUT_SEND_BUFFER;

  if (address == NULL)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                   "The WebRTC address \"%s\" is not an IP address", options->bind_address);
      return FALSE;
    }
  socket_address = g_inet_socket_address_new (address, (guint16) options->port);
  g_socket_address_to_native (socket_address, &native, sizeof native, NULL);
  fanout->fd = socket (native.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fanout->fd < 0
      || bind (fanout->fd, (struct sockaddr *) &native,
               (socklen_t) g_socket_address_get_native_size (socket_address))
             < 0
      || getsockname (fanout->fd, (struct sockaddr *) &native, &length) < 0)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                   "Cannot open the WebRTC UDP port %u: %s", options->port, g_strerror (errno));
      return FALSE;
    }
  setsockopt (fanout->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt (fanout->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  fanout->port = ntohs (native.ss_family == AF_INET ? ((struct sockaddr_in *) &native)->sin_port
                                                    : ((struct sockaddr_in6 *) &native)->sin6_port);
  if (options->public_address != NULL && *options->public_address != '\0')
    fanout->advertised = g_strdup (options->public_address);
  else if (g_inet_address_get_is_any (address))
    fanout->advertised = g_strdup (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
                                     ? "::1"
                                     : "127.0.0.1");
  else
    fanout->advertised = g_inet_address_to_string (address);
  return TRUE;
}

static RcFanout *
fanout_new (const RcFanoutOptions *options, GError **error)
{
  RcFanout *fanout = g_new0 (RcFanout, 1);

  fanout->fd = fanout->wake_fd = -1;
  g_mutex_init (&fanout->lock);
  g_mutex_init (&fanout->stats_lock);
  g_queue_init (&fanout->commands);
  fanout->context = g_main_context_ref_thread_default ();
  fanout->by_address = g_hash_table_new_full (address_hash, address_equal, g_free, NULL);
  fanout->by_ufrag = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) rc_fanout_guest_unref);
  fanout->stale_us = (gint64) (options->stale_ms > 0 ? options->stale_ms : 1000) * 1000;
  fanout->ice = rc_ice_lite_new ();
  fanout->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!open_socket (fanout, options, error)
      || (fanout->cert = rc_dtls_cert_new (error)) == NULL)
    {
      rc_fanout_free (fanout);
      return NULL;
    }
  return fanout;
}

RcFanout *
rc_fanout_new_detached (const RcFanoutOptions *options, GError **error)
{
  return fanout_new (options, error);
}

RcFanout *
rc_fanout_new (const RcFanoutOptions *options, GError **error)
{
  RcFanout *fanout = fanout_new (options, error);

  if (fanout == NULL)
    return NULL;
  fanout->control_thread = g_thread_new ("rc-fanout-ctl", control_main, fanout);
  fanout->n_senders = CLAMP (options->senders, 1, RC_FANOUT_MAX_SENDERS);
  for (guint i = 0; i < fanout->n_senders; i++)
    {
      RcFanoutSender *sender = g_new0 (RcFanoutSender, 1);
      g_autofree char *name
        = i == 0 ? g_strdup ("rc-fanout-send") : g_strdup_printf ("rc-fanout-send%u", i);

      sender->fanout = fanout;
      sender->index = i;
      sender->packets = g_async_queue_new ();
      fanout->senders[i] = sender;
      sender->thread = g_thread_new (name, rc_fanout_sender_main, sender);
    }
  return fanout;
}

void
rc_fanout_free (RcFanout *fanout)
{
  if (fanout == NULL)
    return;
  g_atomic_int_set (&fanout->stopping, TRUE);
  if (fanout->control_thread != NULL)
    {
      guint64 one = 1;

      if (write (fanout->wake_fd, &one, sizeof one) < 0)
        g_warning ("Fan-out: cannot wake its control thread: %s", g_strerror (errno));
      g_thread_join (fanout->control_thread);
    }
  for (guint i = 0; i < fanout->n_senders; i++)
    {
      RcFanoutSender *sender = fanout->senders[i];

      g_async_queue_push (sender->packets, RC_FANOUT_STOP);
      g_thread_join (sender->thread);
      for (RcFanoutPacket *p; (p = g_async_queue_try_pop (sender->packets)) != NULL;)
        if (p != RC_FANOUT_STOP)
          rc_fanout_packet_unref (p);
      g_async_queue_unref (sender->packets);
      g_free (sender);
    }
  run_commands (fanout);
  g_hash_table_destroy (fanout->by_address);
  g_hash_table_destroy (fanout->by_ufrag);
  rc_ice_lite_free (fanout->ice);
  rc_dtls_cert_unref (fanout->cert);
  if (fanout->fd >= 0)
    close (fanout->fd);
  if (fanout->wake_fd >= 0)
    close (fanout->wake_fd);
  g_main_context_unref (fanout->context);
  g_mutex_clear (&fanout->lock);
  g_mutex_clear (&fanout->stats_lock);
  g_free (fanout->advertised);
  g_free (fanout);
}

guint
rc_fanout_get_port (RcFanout *fanout)
{
  return fanout->port;
}

void
rc_fanout_get_stats (RcFanout *fanout, RcFanoutStats *stats)
{
  g_autoptr (GArray) latencies = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) waits = g_array_new (FALSE, FALSE, sizeof (double));

  memset (stats, 0, sizeof *stats);
  g_mutex_lock (&fanout->stats_lock);
  stats->guests = fanout->connected;
  stats->packets_sent = fanout->packets_sent;
  stats->bytes_sent = fanout->bytes_sent;
  stats->send_failed = fanout->send_failed;
  stats->stale_packets = fanout->stale_packets;
  stats->batches = fanout->batches;
  stats->dropped_unknown = fanout->dropped_unknown;
  stats->dropped_stun = fanout->dropped_stun;
  stats->dropped_malformed = fanout->dropped_malformed;
  stats->dropped_dtls = fanout->dropped_dtls;
  stats->dropped_srtp = fanout->dropped_srtp;
  stats->guests_timed_out = fanout->timed_out;
  g_array_append_vals (latencies, fanout->latencies, fanout->n_latencies);
  g_array_append_vals (waits, fanout->waits, fanout->n_waits);
  g_mutex_unlock (&fanout->stats_lock);
  stats->latency_p50_ms = rc_percentile (latencies, 0.5);
  stats->latency_p99_ms = rc_percentile (latencies, 0.99);
  stats->wait_p50_ms = rc_percentile (waits, 0.5);
  stats->wait_p99_ms = rc_percentile (waits, 0.99);
}


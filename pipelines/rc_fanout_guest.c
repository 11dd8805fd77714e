/* SPDX-License-Identifier: MIT */
/*
 * The fan-out engine's streams and guests, the main context's side (see
 * rc_fanout.c for the engine). Why a file of its own: this is the API the
 * room drives (join, offer, answer, leave, figures), and the one place that
 * changes a stream's guest list: a new array on each join or leave, swapped
 * under the stream's lock, which is what lets the sender walk its snapshot
 * without one. Ordering rule: a guest is in the control thread's maps
 * (RC_FANOUT_ADD) before it is in the stream's list, and out of the list
 * before RC_FANOUT_REMOVE; its callbacks come through sources on the
 * engine's context, never from inside a call.
 */
#include "pipelines/rc_fanout-internal.h"

#include <string.h>

#include "pipelines/rc_fanout-private.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"

/* ------------------------------------------------------------------ */
/* Guests and their lists */

RcFanoutGuest *
rc_fanout_guest_ref (RcFanoutGuest *guest)
{
  g_atomic_ref_count_inc (&guest->ref);
  return guest;
}

void
rc_fanout_guest_unref (RcFanoutGuest *guest)
{
  if (!g_atomic_ref_count_dec (&guest->ref))
    return;
  rc_dtls_free (guest->dtls);
  rc_srtp_free (guest->srtp_in);
  rc_srtp_free (guest->srtp_out);
  rc_fanout_stream_unref (guest->stream);
  g_free (guest->remote_ufrag);
  g_free (guest->remote_fingerprint);
  g_free (guest->name);
  g_free (guest);
}

static RcFanoutGuestList *
guest_list_new (guint n)
{
  RcFanoutGuestList *list = g_malloc0 (sizeof (RcFanoutGuestList) + n * sizeof (RcFanoutGuest *));

  g_atomic_ref_count_init (&list->ref);
  list->n = n;
  return list;
}

void
rc_fanout_guest_list_unref (RcFanoutGuestList *list)
{
  if (list == NULL || !g_atomic_ref_count_dec (&list->ref))
    return;
  for (guint i = 0; i < list->n; i++)
    rc_fanout_guest_unref (list->guests[i]);
  g_free (list);
}

RcFanoutGuestList *
rc_fanout_stream_snapshot (RcFanoutStream *stream, guint sender)
{
  RcFanoutGuestList *list;

  g_mutex_lock (&stream->lock);
  list = stream->guests[sender];
  g_atomic_ref_count_inc (&list->ref);
  g_mutex_unlock (&stream->lock);
  return list;
}

/* Main context: a new list with @add (given the next sender, in turn), or
 * without @remove, for the sender the guest is served by. */
static void
stream_change (RcFanoutStream *stream, RcFanoutGuest *add, RcFanoutGuest *remove)
{
  RcFanoutGuestList *old, *list;
  guint n = 0, sender;

  g_mutex_lock (&stream->lock);
  if (add != NULL)
    add->sender = stream->next_sender++ % MAX (stream->fanout->n_senders, 1);
  sender = add != NULL ? add->sender : remove->sender;
  old = stream->guests[sender];
  list = guest_list_new (old->n + (add != NULL ? 1 : 0));
  for (guint i = 0; i < old->n; i++)
    if (old->guests[i] != remove)
      list->guests[n++] = rc_fanout_guest_ref (old->guests[i]);
  if (add != NULL)
    list->guests[n++] = rc_fanout_guest_ref (add);
  list->n = n;
  stream->guests[sender] = list;
  g_atomic_int_add (&stream->n_guests, (gint) n - (gint) old->n);
  g_mutex_unlock (&stream->lock);
  rc_fanout_guest_list_unref (old);
}

/* ------------------------------------------------------------------ */
/* Streams */

RcFanoutStream *
rc_fanout_stream_new (RcFanout *fanout, const char *name)
{
  RcFanoutStream *stream = g_new0 (RcFanoutStream, 1);

  g_atomic_ref_count_init (&stream->ref);
  stream->fanout = fanout;
  stream->name = g_strdup (name);
  g_mutex_init (&stream->lock);
  for (guint i = 0; i < RC_FANOUT_MAX_SENDERS; i++)
    stream->guests[i] = guest_list_new (0);
  stream->payload_type = -1;
  return stream;
}

RcFanoutStream *
rc_fanout_stream_ref (RcFanoutStream *stream)
{
  g_atomic_ref_count_inc (&stream->ref);
  return stream;
}

void
rc_fanout_stream_unref (RcFanoutStream *stream)
{
  if (stream == NULL || !g_atomic_ref_count_dec (&stream->ref))
    return;
  for (guint i = 0; i < RC_FANOUT_MAX_SENDERS; i++)
    rc_fanout_guest_list_unref (stream->guests[i]);
  g_mutex_clear (&stream->lock);
  g_free (stream->name);
  g_free (stream);
}

void
rc_fanout_stream_push (RcFanoutStream *stream, const guint8 *rtp, gsize length)
{
  RcFanout *fanout = stream->fanout;
  RcFanoutPacket *packet;

  if (length < 12 || length > RC_FANOUT_MAX_RTP || (rtp[0] >> 6) != 2)
    return;
  if (g_atomic_int_get (&stream->payload_type) < 0)
    {
      stream->ssrc = (guint32) rtp[8] << 24 | (guint32) rtp[9] << 16 | (guint32) rtp[10] << 8
                     | rtp[11];
      g_atomic_int_set (&stream->payload_type, rtp[1] & 0x7f);
    }
  if (g_atomic_int_get (&stream->n_guests) == 0 || fanout->n_senders == 0)
    return;
  if (g_async_queue_length (fanout->senders[0]->packets) >= RC_FANOUT_QUEUE_MAX)
    {
      /* The sender is starved: losing packets beats growing without end. */
      g_mutex_lock (&fanout->stats_lock);
      fanout->send_failed += (guint64) g_atomic_int_get (&stream->n_guests);
      g_mutex_unlock (&fanout->stats_lock);
      return;
    }
  packet = g_malloc (sizeof (RcFanoutPacket) + length);
  g_atomic_ref_count_init (&packet->ref);
  packet->stream = rc_fanout_stream_ref (stream);
  packet->tap_us = g_get_monotonic_time ();
  packet->length = length;
  memcpy (packet->data, rtp, length);
  /* Each sender protects the same packet for its own guests. */
  for (guint i = 1; i < fanout->n_senders; i++)
    g_atomic_ref_count_inc (&packet->ref);
  for (guint i = 0; i < fanout->n_senders; i++)
    g_async_queue_push (fanout->senders[i]->packets, packet);
}

void
rc_fanout_packet_unref (RcFanoutPacket *packet)
{
  if (!g_atomic_ref_count_dec (&packet->ref))
    return;
  rc_fanout_stream_unref (packet->stream);
  g_free (packet);
}

/* ------------------------------------------------------------------ */
/* Guests, on the main context */

static gboolean
try_offer (gpointer data)
{
  RcFanoutGuest *guest = data;
  RcFanoutStream *stream = guest->stream;
  gint pt = g_atomic_int_get (&stream->payload_type);
  g_autofree char *cname = NULL, *sdp = NULL;
  RcSdpLiteOffer offer = { 0 };

  guest->offer_source = 0;
  if (pt < 0)
    {
      /* No packet yet: the payload type and SSRC are the payloader's. */
      GSource *source = g_timeout_source_new (RC_FANOUT_OFFER_RETRY_MS);

      g_source_set_callback (source, try_offer, guest, NULL);
      guest->offer_source = g_source_attach (source, guest->fanout->context);
      g_source_unref (source);
      return G_SOURCE_REMOVE;
    }
  cname = g_strdup_printf ("roomcast-%s", stream->name);
  offer.address = guest->fanout->advertised;
  offer.port = guest->fanout->port;
  offer.ice_ufrag = guest->ufrag;
  offer.ice_pwd = guest->pwd;
  offer.fingerprint = rc_dtls_cert_get_fingerprint (guest->fanout->cert);
  offer.payload_type = (guint) pt;
  offer.ssrc = stream->ssrc;
  offer.cname = cname;
  sdp = rc_sdp_make_lite_offer (&offer);
  guest->offer_sent = TRUE;
  if (guest->callbacks.offer != NULL)
    guest->callbacks.offer (guest, sdp, guest->user_data);
  return G_SOURCE_REMOVE;
}

static RcFanoutGuest *
guest_new (RcFanoutStream *stream, const char *name, const char *ufrag, const char *pwd,
           const RcFanoutGuestCallbacks *callbacks, gpointer user_data)
{
  RcFanoutGuest *guest = g_new0 (RcFanoutGuest, 1);
  RcFanout *fanout = stream->fanout;

  g_atomic_ref_count_init (&guest->ref);
  guest->fanout = fanout;
  guest->stream = rc_fanout_stream_ref (stream);
  guest->name = g_strdup (name);
  guest->callbacks = *callbacks;
  guest->user_data = user_data;
  guest->rtt_ms = -1;
  if (ufrag != NULL)
    {
      g_strlcpy (guest->ufrag, ufrag, sizeof guest->ufrag);
      g_strlcpy (guest->pwd, pwd, sizeof guest->pwd);
    }
  else
    rc_ice_lite_make_credentials (guest->ufrag, guest->pwd); /* 48 random bits: unique */
  rc_fanout_post (fanout, RC_FANOUT_ADD, guest);
  stream_change (stream, guest, NULL);
  {
    GSource *source = g_idle_source_new ();

    g_source_set_callback (source, try_offer, guest, NULL);
    guest->offer_source = g_source_attach (source, fanout->context);
    g_source_unref (source);
  }
  return guest;
}

RcFanoutGuest *
rc_fanout_guest_new (RcFanoutStream *stream, const char *name,
                     const RcFanoutGuestCallbacks *callbacks, gpointer user_data)
{
  return guest_new (stream, name, NULL, NULL, callbacks, user_data);
}

RcFanoutGuest *
rc_fanout_guest_new_with_credentials (RcFanoutStream *stream, const char *name, const char *ufrag,
                                      const char *pwd, const RcFanoutGuestCallbacks *callbacks,
                                      gpointer user_data)
{
  return guest_new (stream, name, ufrag, pwd, callbacks, user_data);
}

void
rc_fanout_guest_free (RcFanoutGuest *guest)
{
  if (guest == NULL)
    return;
  guest->freed = TRUE;
  if (guest->offer_source != 0)
    {
      GSource *source = g_main_context_find_source_by_id (guest->fanout->context,
                                                          guest->offer_source);

      if (source != NULL)
        g_source_destroy (source);
      guest->offer_source = 0;
    }
  /* Out of the list: the sender skips it from its next packet. `active`
   * is the control thread's to clear (it counts the connected guests). */
  stream_change (guest->stream, NULL, guest);
  rc_fanout_post (guest->fanout, RC_FANOUT_REMOVE, guest);
  rc_fanout_guest_unref (guest);
}

gboolean
rc_fanout_guest_set_answer (RcFanoutGuest *guest, const char *sdp, GError **error)
{
  RcSdpLiteAnswer answer;

  if (!rc_sdp_check_answer_turn (guest->offer_sent, guest->answer_given, error))
    return FALSE;
  if (!rc_sdp_read_lite_answer (sdp, &answer, error))
    return FALSE;
  guest->answer_given = TRUE;
  /* Written before the command is queued: the control thread reads them
   * only after taking the command (the queue's lock orders the two). */
  guest->remote_ufrag = g_steal_pointer (&answer.ice_ufrag);
  guest->remote_fingerprint = g_steal_pointer (&answer.fingerprint);
  guest->remote_dtls_client = answer.dtls_client;
  rc_sdp_lite_answer_clear (&answer);
  rc_fanout_post (guest->fanout, RC_FANOUT_ANSWER, guest);
  return TRUE;
}

gboolean
rc_fanout_guest_add_ice (RcFanoutGuest *guest, guint mline_index, const char *candidate,
                         GError **error)
{
  const char *value;

  /* Checked, and otherwise unused: the guest's checks tell its address. */
  return rc_sdp_read_trickled (candidate, &value, error);
}

void
rc_fanout_guest_get_stats (RcFanoutGuest *guest, RcFanoutGuestStats *stats)
{
  RcFanout *fanout = guest->fanout;

  memset (stats, 0, sizeof *stats);
  stats->connected = g_atomic_int_get (&guest->active);
  stats->packets_sent = __atomic_load_n (&guest->packets_sent, __ATOMIC_RELAXED);
  stats->bytes_sent = __atomic_load_n (&guest->bytes_sent, __ATOMIC_RELAXED);
  g_mutex_lock (&fanout->stats_lock);
  stats->reports = guest->reports;
  stats->fraction_lost = guest->last_report.fraction_lost / 256.0;
  stats->cumulative_lost = guest->last_report.cumulative_lost;
  stats->jitter_ms = guest->last_report.jitter / 48.0; /* Opus: 48 kHz RTP clock */
  stats->rtt_ms = guest->rtt_ms;
  g_mutex_unlock (&fanout->stats_lock);
}


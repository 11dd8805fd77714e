/* SPDX-License-Identifier: MIT */
/*
 * The edge's side of the media relay between nodes. Why it is built this
 * way: the edge has no mixer or encoder; its room pipeline's tee must see
 * the origin's packets exactly as the origin's tee saw them, with the same
 * C, so that everything hung on the tee (the fan-out engine's RTP tap, the
 * WebSocket frames, the `timeline`) works as on the origin. The udpsrc
 * reads the socket on its own streaming thread; a probe on its output
 * checks each frame (a datagram from the network: rc_relay_frame_parse),
 * its token, strips the header and sets the packet's PTS to C less the
 * pipeline's base time, so C comes back out of running time + base time.
 * The edge's pipeline runs with base time 0 on the origin's clock
 * (rc_room_pipeline_new_relayed), so a packet's running time is its C and
 * its arrival on that clock less C is the relay's transit.
 *
 * Ordering rule: the probe's state is reference-counted (the probe holds
 * one), so the source can be freed before or after its pipeline.
 */
#include "pipelines/rc_relay_source.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_relay_frame.h"
#include "pipelines/rc_stats.h"

#include <gio/gio.h>
#include <gst/rtp/gstrtpbuffer.h>

/* Transits kept for the percentiles. */
#define TRANSITS 500

typedef struct
{
  gint ref_count;
  guint64 token;
  guint64 received, refused, wrong_token, lost; /* atomic (__atomic, relaxed) */
  gint32 last_seq;                              /* streaming thread only; -1 before the first */
  GMutex lock;
  double transits[TRANSITS]; /* ms; protected by lock */
  guint n_transits;          /* protected by lock: how many were ever written */
} Shared;

struct _RcRelaySource
{
  GSocket *socket;
  GstElement *element; /* strong */
  Shared *shared;
};

static void
shared_unref (gpointer data)
{
  Shared *s = data;

  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;
  g_mutex_clear (&s->lock);
  g_free (s);
}

static void
count_sequence (Shared *s, GstBuffer *buffer)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint16 seq;

  if (!gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return;
  seq = gst_rtp_buffer_get_seq (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  if (s->last_seq >= 0)
    {
      guint16 gap = (guint16)(seq - (guint16)s->last_seq - 1);

      /* A gap of thousands is a new stream (an origin restarted), not loss;
       * a packet behind the last is late, counted as lost already. */
      if (gap < 1000)
        __atomic_fetch_add (&s->lost, gap, __ATOMIC_RELAXED);
      else if (gap > 65000)
        return;
    }
  s->last_seq = seq;
}

static void
note_transit (Shared *s, GstElement *element, GstClockTime c)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (element);
  GstClockTime now;

  if (clock == NULL)
    return;
  now = gst_clock_get_time (clock);
  g_mutex_lock (&s->lock);
  s->transits[s->n_transits++ % TRANSITS] = ((double)now - (double)c) / GST_MSECOND;
  g_mutex_unlock (&s->lock);
}

/* The udpsrc's streaming thread: one datagram. */
static GstPadProbeReturn
on_datagram (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Shared *s = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  GstElement *element = GST_ELEMENT (GST_PAD_PARENT (pad));
  GstClockTime base_time = gst_element_get_base_time (element);
  RcRelayFrame frame;
  GstMapInfo map;
  gboolean ok;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_PAD_PROBE_DROP;
  ok = rc_relay_frame_parse (map.data, map.size, &frame, NULL);
  gst_buffer_unmap (buffer, &map);
  if (!ok)
    {
      __atomic_fetch_add (&s->refused, 1, __ATOMIC_RELAXED);
      return GST_PAD_PROBE_DROP;
    }
  if (frame.token != s->token)
    {
      __atomic_fetch_add (&s->wrong_token, 1, __ATOMIC_RELAXED);
      return GST_PAD_PROBE_DROP;
    }
  /* A packet from before the pipeline's base time cannot be placed (with
   * base time 0, as rc_room_pipeline_new_relayed runs it, none is). */
  if (frame.server_time < base_time)
    return GST_PAD_PROBE_DROP;
  buffer = gst_buffer_make_writable (buffer);
  gst_buffer_resize (buffer, RC_RELAY_FRAME_HEADER, -1);
  GST_BUFFER_PTS (buffer) = frame.server_time - base_time;
  GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buffer) = GST_CLOCK_TIME_NONE;
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  count_sequence (s, buffer);
  note_transit (s, element, frame.server_time);
  __atomic_fetch_add (&s->received, 1, __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

static GSocket *
bind_socket (const char *address, guint port, GError **error)
{
  g_autoptr (GInetAddress) inet = address != NULL ? g_inet_address_new_from_string (address)
                                                  : g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  g_autoptr (GSocketAddress) where = NULL;
  g_autoptr (GSocket) socket = NULL;

  if (inet == NULL || port > 65535)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                   "Not an address to take relayed media on: %s port %u", address, port);
      return NULL;
    }
  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  where = g_inet_socket_address_new (inet, (guint16)port);
  if (socket == NULL || !g_socket_bind (socket, where, FALSE, error))
    {
      g_prefix_error (error, "The media relay's socket: ");
      return NULL;
    }
  return g_steal_pointer (&socket);
}

RcRelaySource *
rc_relay_source_new (const char *address, guint port, guint64 token, GError **error)
{
  g_autoptr (GSocket) socket = bind_socket (address, port, error);
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstPad) pad = NULL;
  RcRelaySource *self;
  Shared *s;

  if (socket == NULL)
    return NULL;
  self = g_new0 (RcRelaySource, 1);
  self->element = gst_element_factory_make ("udpsrc", "relay-in");
  if (self->element == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "GStreamer's udpsrc is missing (good plugins)");
      g_free (self);
      return NULL;
    }
  gst_object_ref_sink (self->element);
  self->socket = g_steal_pointer (&socket);
  caps = gst_caps_from_string (RC_RELAY_RTP_CAPS);
  g_object_set (self->element, "socket", self->socket, "close-socket", FALSE, "caps", caps, NULL);

  s = g_new0 (Shared, 1);
  s->ref_count = 2; /* ours and the probe's */
  s->token = token;
  s->last_seq = -1;
  g_mutex_init (&s->lock);
  self->shared = s;
  pad = gst_element_get_static_pad (self->element, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_datagram, s, shared_unref);
  return self;
}

void
rc_relay_source_free (RcRelaySource *self)
{
  if (self == NULL)
    return;
  gst_object_unref (self->element);
  shared_unref (self->shared);
  g_object_unref (self->socket);
  g_free (self);
}

guint
rc_relay_source_get_port (RcRelaySource *self)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (self->socket, NULL);

  return local != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

guint64
rc_relay_source_get_token (RcRelaySource *self)
{
  return self->shared->token;
}

GstElement *
rc_relay_source_get_element (RcRelaySource *self)
{
  return self->element;
}

void
rc_relay_source_get_stats (RcRelaySource *self, RcRelaySourceStats *stats)
{
  Shared *s = self->shared;
  g_autoptr (GArray) transits = g_array_new (FALSE, FALSE, sizeof (double));

  stats->received = __atomic_load_n (&s->received, __ATOMIC_RELAXED);
  stats->refused = __atomic_load_n (&s->refused, __ATOMIC_RELAXED);
  stats->wrong_token = __atomic_load_n (&s->wrong_token, __ATOMIC_RELAXED);
  stats->lost = __atomic_load_n (&s->lost, __ATOMIC_RELAXED);
  g_mutex_lock (&s->lock);
  g_array_append_vals (transits, s->transits, MIN (s->n_transits, TRANSITS));
  g_mutex_unlock (&s->lock);
  stats->transit_count = transits->len;
  stats->transit_p50_ms = transits->len > 0 ? rc_percentile (transits, 0.5) : 0;
  stats->transit_p95_ms = transits->len > 0 ? rc_percentile (transits, 0.95) : 0;
}

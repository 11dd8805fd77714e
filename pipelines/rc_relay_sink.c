/* SPDX-License-Identifier: MIT */
/*
 * The origin's side of the media relay between nodes. Why it is built this
 * way: an edge must cost the origin about what a listener costs, so an edge
 * is an address and a token in an array, not an element, a socket or a
 * thread. The branch is one appsink on the RTP tee, with no queue: its
 * callback runs on the tee's streaming thread, writes the 24-byte header of
 * each edge (its token, the packet's C) beside the one packet and hands
 * them all to the kernel in one sendmmsg, MSG_DONTWAIT.
 *
 * Ordering rule: the edge list is copy-on-write (a new array on each add or
 * remove, swapped under the lock), so the streaming thread walks a
 * snapshot without holding the lock while it sends; the state it uses is
 * reference-counted, so rc_relay_sink_free never waits for it.
 */
#define _GNU_SOURCE /* sendmmsg */
#include "pipelines/rc_relay_sink.h"
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_relay_frame.h"

#include <errno.h>
#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Edges sent to per sendmmsg call. */
#define BATCH 64

typedef struct
{
  guint64 token;
  struct sockaddr_in6 address; /* IPv4 edges as v4-mapped addresses */
} Edge;

typedef struct
{
  gint ref_count;
  int fd; /* dual-stack UDP, non-blocking */
  GMutex lock;
  GArray *edges;                           /* Edge, copy-on-write; protected by lock */
  gboolean alive;                          /* protected by lock */
  GstElement *pipeline;                    /* for the base time; weak (the branch goes first) */
  guint64 packets, datagrams, send_failed; /* atomic (__atomic, relaxed) */
} Shared;

struct _RcRelaySink
{
  RcRoomPipeline *pipeline;
  GstElement *sink;
  Shared *shared;
};

static Shared *
shared_ref (Shared *s)
{
  g_atomic_int_inc (&s->ref_count);
  return s;
}

static void
shared_unref (Shared *s)
{
  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;
  g_array_unref (s->edges);
  close (s->fd);
  g_mutex_clear (&s->lock);
  g_free (s);
}

static void
send_to_edges (Shared *s, GArray *edges, guint64 c, const guint8 *rtp, gsize length)
{
  guint8 headers[BATCH][RC_RELAY_FRAME_HEADER];
  struct iovec iov[BATCH][2];
  struct mmsghdr msgs[BATCH];

  for (guint first = 0; first < edges->len; first += BATCH)
    {
      guint n = MIN (BATCH, edges->len - first);
      int sent;

      memset (msgs, 0, sizeof (struct mmsghdr) * n);
      for (guint i = 0; i < n; i++)
        {
          Edge *e = &g_array_index (edges, Edge, first + i);

          rc_relay_frame_write_header (headers[i], e->token, c);
          iov[i][0].iov_base = headers[i];
          iov[i][0].iov_len = RC_RELAY_FRAME_HEADER;
          iov[i][1].iov_base = (void *)rtp;
          iov[i][1].iov_len = length;
          msgs[i].msg_hdr.msg_name = &e->address;
          msgs[i].msg_hdr.msg_namelen = sizeof e->address;
          msgs[i].msg_hdr.msg_iov = iov[i];
          msgs[i].msg_hdr.msg_iovlen = 2;
        }
      /* A datagram the kernel refuses (an edge gone: ICMP unreachable) is
       * skipped; a full buffer drops the rest of the batch. */
      for (guint done = 0; done < n;)
        {
          sent = sendmmsg (s->fd, msgs + done, n - done, MSG_DONTWAIT);
          if (sent > 0)
            {
              __atomic_fetch_add (&s->datagrams, sent, __ATOMIC_RELAXED);
              done += sent;
            }
          else if (sent < 0 && errno == EINTR)
            continue;
          else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            {
              __atomic_fetch_add (&s->send_failed, n - done, __ATOMIC_RELAXED);
              break;
            }
          else
            {
              __atomic_fetch_add (&s->send_failed, 1, __ATOMIC_RELAXED);
              done++;
            }
        }
    }
}

static GstFlowReturn
on_new_sample (GstAppSink *appsink, gpointer data)
{
  Shared *s = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (appsink);
  GstClockTime c
      = sample != NULL ? rc_room_pipeline_sample_time (s->pipeline, sample) : GST_CLOCK_TIME_NONE;
  GstBuffer *buffer = sample != NULL ? gst_sample_get_buffer (sample) : NULL;
  g_autoptr (GArray) edges = NULL;
  GstMapInfo map;

  if (!GST_CLOCK_TIME_IS_VALID (c) || buffer == NULL)
    return GST_FLOW_OK;
  __atomic_fetch_add (&s->packets, 1, __ATOMIC_RELAXED);
  g_mutex_lock (&s->lock);
  if (s->alive && s->edges->len > 0)
    edges = g_array_ref (s->edges);
  g_mutex_unlock (&s->lock);
  if (edges == NULL || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  if (map.size >= 12 && map.size <= RC_RELAY_FRAME_MAX_RTP)
    send_to_edges (s, edges, c, map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  return GST_FLOW_OK;
}

static int
open_socket (GError **error)
{
  int fd = socket (AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int off = 0;

  if (fd < 0 || setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                   "No UDP socket for the media relay: %s", g_strerror (saved));
      return -1;
    }
  return fd;
}

RcRelaySink *
rc_relay_sink_new (RcRoomPipeline *pipeline, GError **error)
{
  RcRelaySink *self;
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  Shared *s;
  int fd = open_socket (error);

  if (fd < 0)
    return NULL;
  s = g_new0 (Shared, 1);
  s->ref_count = 1;
  s->fd = fd;
  s->alive = TRUE;
  g_mutex_init (&s->lock);
  s->edges = g_array_new (FALSE, FALSE, sizeof (Edge));
  s->pipeline = GST_ELEMENT (rc_room_pipeline_get_gst (pipeline));

  self = g_new0 (RcRelaySink, 1);
  self->pipeline = pipeline;
  self->shared = s;
  self->sink = gst_element_factory_make ("appsink", NULL);
  g_object_set (self->sink, "sync", FALSE, "async", FALSE, "max-buffers", 50, "drop", TRUE,
                "enable-last-sample", FALSE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (self->sink), &callbacks, shared_ref (s),
                              (GDestroyNotify)shared_unref);
  if (!rc_room_pipeline_add_branch (pipeline, self->sink))
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "The media relay's branch would not start");
      shared_unref (s);
      g_free (self);
      return NULL;
    }
  return self;
}

void
rc_relay_sink_free (RcRelaySink *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->shared->lock);
  self->shared->alive = FALSE;
  g_mutex_unlock (&self->shared->lock);
  rc_room_pipeline_remove_branch (self->pipeline, self->sink);
  shared_unref (self->shared);
  g_free (self);
}

static gboolean
parse_address (const char *address, guint port, struct sockaddr_in6 *out, GError **error)
{
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);

  memset (out, 0, sizeof *out);
  out->sin6_family = AF_INET6;
  out->sin6_port = g_htons ((guint16)port);
  if (inet == NULL || port == 0 || port > 65535)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                   "Not an edge's address: %s port %u", address, port);
      return FALSE;
    }
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4)
    {
      out->sin6_addr.s6_addr[10] = 0xff;
      out->sin6_addr.s6_addr[11] = 0xff;
      memcpy (out->sin6_addr.s6_addr + 12, g_inet_address_to_bytes (inet), 4);
    }
  else
    memcpy (out->sin6_addr.s6_addr, g_inet_address_to_bytes (inet), 16);
  return TRUE;
}

/* A new array: @edges without @token, plus @add if given. Under the lock. */
static gboolean
replace_edges (Shared *s, guint64 token, const Edge *add)
{
  GArray *next = g_array_new (FALSE, FALSE, sizeof (Edge));
  gboolean found = FALSE;

  for (guint i = 0; i < s->edges->len; i++)
    {
      Edge *e = &g_array_index (s->edges, Edge, i);

      if (e->token == token)
        found = TRUE;
      else
        g_array_append_val (next, *e);
    }
  if (add != NULL)
    g_array_append_val (next, *add);
  g_array_unref (s->edges);
  s->edges = next;
  return found;
}

gboolean
rc_relay_sink_add_edge (RcRelaySink *self, const char *address, guint port, guint64 token,
                        GError **error)
{
  Edge edge = { .token = token };

  if (!parse_address (address, port, &edge.address, error))
    return FALSE;
  g_mutex_lock (&self->shared->lock);
  replace_edges (self->shared, token, &edge);
  g_mutex_unlock (&self->shared->lock);
  return TRUE;
}

gboolean
rc_relay_sink_remove_edge (RcRelaySink *self, guint64 token)
{
  gboolean found;

  g_mutex_lock (&self->shared->lock);
  found = replace_edges (self->shared, token, NULL);
  g_mutex_unlock (&self->shared->lock);
  return found;
}

void
rc_relay_sink_get_stats (RcRelaySink *self, RcRelaySinkStats *stats)
{
  Shared *s = self->shared;

  g_mutex_lock (&s->lock);
  stats->edges = s->edges->len;
  g_mutex_unlock (&s->lock);
  stats->packets = __atomic_load_n (&s->packets, __ATOMIC_RELAXED);
  stats->datagrams = __atomic_load_n (&s->datagrams, __ATOMIC_RELAXED);
  stats->send_failed = __atomic_load_n (&s->send_failed, __ATOMIC_RELAXED);
}

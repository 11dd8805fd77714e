/* SPDX-License-Identifier: MIT */
/*
 * Injected jitter for one guest of bench-sync. Why a relay and not netem:
 * this machine's kernel has no sch_netem (CONFIG_NET_SCH_NETEM is not set),
 * and a relay on the WebSocket's TCP path delays exactly that guest's
 * audio without touching anyone else's loopback traffic. Why the delay is
 * per read and order-keeping: that is how a jittery network looks through
 * TCP (a late segment holds back those behind it), and the guest must not
 * see frames out of order, which TCP never shows it.
 *
 * Threads: an accept thread; per connection, one thread copies guest →
 * server at once, one reads server → guest and queues chunks with their
 * release time, and one writes them out when due. Sockets are blocking;
 * closing them from free() unblocks everything.
 */
#include "rc_bench_delay_proxy.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define CHUNK 16384

typedef struct
{
  GBytes *data; /* NULL: the end */
  gint64 release_us;
} Chunk;

typedef struct
{
  RcBenchDelayProxy *proxy;
  GSocket *guest;
  GSocket *server;
  GAsyncQueue *chunks;
  GThread *up, *down, *writer;
} Link;

struct _RcBenchDelayProxy
{
  double jitter_ms;
  guint upstream_port;
  GSocket *listener;
  guint port;
  GThread *acceptor;
  gboolean closing;

  GMutex lock; /* protects links, rand, the figures */
  GPtrArray *links;
  GRand *rand;
  guint64 chunks;
  double delay_sum_ms;
  double delay_max_ms;
};

static void
chunk_free (gpointer data)
{
  Chunk *c = data;

  if (c->data != NULL)
    g_bytes_unref (c->data);
  g_free (c);
}

static gboolean
send_all (GSocket *socket, const guint8 *data, gsize size)
{
  while (size > 0)
    {
      gssize n = g_socket_send (socket, (const char *) data, size, NULL, NULL);

      if (n <= 0)
        return FALSE;
      data += n;
      size -= (gsize) n;
    }
  return TRUE;
}

/* guest → server, as it comes. */
static gpointer
copy_up (gpointer data)
{
  Link *l = data;
  guint8 buf[CHUNK];
  gssize n;

  while ((n = g_socket_receive (l->guest, (char *) buf, sizeof buf, NULL, NULL)) > 0)
    if (!send_all (l->server, buf, (gsize) n))
      break;
  g_socket_shutdown (l->server, FALSE, TRUE, NULL);
  return NULL;
}

/* server → queue, each chunk with its release time. */
static gpointer
read_down (gpointer data)
{
  Link *l = data;
  RcBenchDelayProxy *p = l->proxy;
  guint8 buf[CHUNK];
  gssize n;
  gint64 last_release = 0;

  while ((n = g_socket_receive (l->server, (char *) buf, sizeof buf, NULL, NULL)) > 0)
    {
      Chunk *c = g_new0 (Chunk, 1);
      gint64 now = g_get_monotonic_time ();
      double delay;

      g_mutex_lock (&p->lock);
      delay = g_rand_double_range (p->rand, 0, p->jitter_ms);
      c->release_us = MAX (now + (gint64) (delay * 1000), last_release);
      p->chunks++;
      p->delay_sum_ms += (c->release_us - now) / 1000.0;
      p->delay_max_ms = MAX (p->delay_max_ms, (c->release_us - now) / 1000.0);
      g_mutex_unlock (&p->lock);
      last_release = c->release_us;
      c->data = g_bytes_new (buf, (gsize) n);
      g_async_queue_push (l->chunks, c);
    }
  g_async_queue_push (l->chunks, g_new0 (Chunk, 1));
  return NULL;
}

/* queue → guest, when due. */
static gpointer
write_down (gpointer data)
{
  Link *l = data;

  for (;;)
    {
      Chunk *c = g_async_queue_pop (l->chunks);
      gint64 wait;

      if (c->data == NULL)
        {
          chunk_free (c);
          break;
        }
      wait = c->release_us - g_get_monotonic_time ();
      if (wait > 0)
        g_usleep ((gulong) wait);
      if (!send_all (l->guest, g_bytes_get_data (c->data, NULL), g_bytes_get_size (c->data)))
        {
          chunk_free (c);
          break;
        }
      chunk_free (c);
    }
  g_socket_shutdown (l->guest, FALSE, TRUE, NULL);
  return NULL;
}

static GSocket *
connect_upstream (guint port, GError **error)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, (guint16) port);
  g_autoptr (GSocket) socket =
    g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);

  if (socket == NULL || !g_socket_connect (socket, address, NULL, error))
    return NULL;
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  return g_steal_pointer (&socket);
}

static gpointer
accept_loop (gpointer data)
{
  RcBenchDelayProxy *p = data;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      GSocket *guest = g_socket_accept (p->listener, NULL, &error);
      Link *l;

      if (guest == NULL)
        break; /* closed by free() */
      l = g_new0 (Link, 1);
      l->proxy = p;
      l->guest = guest;
      g_socket_set_option (guest, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      l->server = connect_upstream (p->upstream_port, &error);
      if (l->server == NULL)
        {
          g_warning ("delay proxy: cannot reach the server: %s", error->message);
          g_object_unref (l->guest);
          g_free (l);
          continue;
        }
      l->chunks = g_async_queue_new_full (chunk_free);
      g_mutex_lock (&p->lock);
      if (p->closing)
        {
          g_mutex_unlock (&p->lock);
          g_socket_close (l->guest, NULL);
          g_socket_close (l->server, NULL);
          g_object_unref (l->guest);
          g_object_unref (l->server);
          g_async_queue_unref (l->chunks);
          g_free (l);
          break;
        }
      g_ptr_array_add (p->links, l);
      l->up = g_thread_new ("delay-up", copy_up, l);
      l->down = g_thread_new ("delay-read", read_down, l);
      l->writer = g_thread_new ("delay-write", write_down, l);
      g_mutex_unlock (&p->lock);
    }
  return NULL;
}

RcBenchDelayProxy *
rc_bench_delay_proxy_new (guint upstream_port, double jitter_ms, GError **error)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  RcBenchDelayProxy *p;
  GSocket *listener;

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                           error);
  if (listener == NULL)
    return NULL;
  if (!g_socket_bind (listener, any, TRUE, error) || !g_socket_listen (listener, error)
      || (bound = g_socket_get_local_address (listener, error)) == NULL)
    {
      g_object_unref (listener);
      return NULL;
    }
  p = g_new0 (RcBenchDelayProxy, 1);
  p->jitter_ms = MAX (jitter_ms, 0);
  p->upstream_port = upstream_port;
  p->listener = listener;
  p->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  p->links = g_ptr_array_new ();
  p->rand = g_rand_new ();
  g_mutex_init (&p->lock);
  p->acceptor = g_thread_new ("delay-accept", accept_loop, p);
  return p;
}

guint
rc_bench_delay_proxy_get_port (RcBenchDelayProxy *p)
{
  return p->port;
}

void
rc_bench_delay_proxy_get_stats (RcBenchDelayProxy *p, guint64 *chunks, double *mean_ms,
                                double *max_ms)
{
  g_mutex_lock (&p->lock);
  *chunks = p->chunks;
  *mean_ms = p->chunks > 0 ? p->delay_sum_ms / p->chunks : 0;
  *max_ms = p->delay_max_ms;
  g_mutex_unlock (&p->lock);
}

void
rc_bench_delay_proxy_free (RcBenchDelayProxy *p)
{
  if (p == NULL)
    return;
  g_mutex_lock (&p->lock);
  p->closing = TRUE;
  g_mutex_unlock (&p->lock);
  /* shutdown() wakes a thread blocked in accept() or recv(); close alone does not. */
  g_socket_shutdown (p->listener, TRUE, TRUE, NULL);
  g_socket_close (p->listener, NULL);
  g_thread_join (p->acceptor);
  for (guint i = 0; i < p->links->len; i++)
    {
      Link *l = p->links->pdata[i];

      g_socket_shutdown (l->guest, TRUE, TRUE, NULL);
      g_socket_shutdown (l->server, TRUE, TRUE, NULL);
      g_thread_join (l->up);
      g_thread_join (l->down);
      g_thread_join (l->writer);
      g_socket_close (l->guest, NULL);
      g_socket_close (l->server, NULL);
      g_object_unref (l->guest);
      g_object_unref (l->server);
      g_async_queue_unref (l->chunks);
      g_free (l);
    }
  g_ptr_array_unref (p->links);
  g_object_unref (p->listener);
  g_rand_free (p->rand);
  g_mutex_clear (&p->lock);
  g_free (p);
}

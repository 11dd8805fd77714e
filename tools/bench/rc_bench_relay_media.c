/* SPDX-License-Identifier: MIT */
/*
 * bench-relay --media: the origin's cost per edge of the media relay
 * (docs/benchmarks.md, "The media relay between nodes"). Why in one
 * process rather than two roomcast nodes: the cost to measure is the
 * origin's branch (one sendmmsg per packet for every edge), and no node
 * attaches as an edge yet (issue 16 part 3's placement); so the origin is
 * a room pipeline as roomcast builds it, the edges are UDP sockets, and
 * one of them a real edge pipeline whose clock and transit are read.
 */
#define _GNU_SOURCE /* recvmmsg */
#include "rc_bench_relay_media.h"
#include "rc_bench_proc.h"
#include "rc_bench_server.h"
#include "pipelines/rc_net_clock.h"
#include "pipelines/rc_relay_sink.h"
#include "pipelines/rc_relay_source.h"
#include "pipelines/rc_room_pipeline.h"
#include "pipelines/rc_relay_frame.h"

#include <errno.h>
#include <gio/gio.h>
#include <gst/net/gstnet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct
{
  GArray *fds; /* int; the edges' sockets, added before the thread sees them */
  int epoll_fd;
  gboolean stop;     /* atomic */
  guint64 datagrams; /* atomic (__atomic) */
  guint64 cpu_ns;    /* atomic (__atomic): the receiver thread's CPU time */
} Receivers;

static guint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64)ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + (guint64)ts.tv_nsec;
}

static gpointer
receive_loop (gpointer data)
{
  Receivers *r = data;
  struct epoll_event events[64];
  static guint8 buffers[32][RC_RELAY_FRAME_MAX];
  struct iovec iov[32];
  struct mmsghdr msgs[32];

  for (guint i = 0; i < 32; i++)
    {
      iov[i].iov_base = buffers[i];
      iov[i].iov_len = sizeof buffers[i];
    }
  while (!g_atomic_int_get (&r->stop))
    {
      int n = epoll_wait (r->epoll_fd, events, 64, 100);

      for (int e = 0; e < n; e++)
        for (;;)
          {
            int got;

            memset (msgs, 0, sizeof msgs);
            for (guint i = 0; i < 32; i++)
              {
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
              }
            got = recvmmsg (events[e].data.fd, msgs, 32, MSG_DONTWAIT, NULL);
            if (got <= 0)
              break;
            __atomic_fetch_add (&r->datagrams, (guint64)got, __ATOMIC_RELAXED);
          }
      __atomic_store_n (&r->cpu_ns, thread_cpu_ns (), __ATOMIC_RELAXED);
    }
  return NULL;
}

/* A drained edge socket on 127.0.0.1; its port, 0 on failure. */
static guint
add_receiver (Receivers *r)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  struct epoll_event ev = { .events = EPOLLIN };

  if (fd < 0)
    return 0;
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0
      || getsockname (fd, (struct sockaddr *)&addr, &len) < 0)
    {
      close (fd);
      return 0;
    }
  ev.data.fd = fd;
  epoll_ctl (r->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  g_array_append_val (r->fds, fd);
  return ntohs (addr.sin_port);
}

typedef struct
{
  guint edges;
  double seconds;
  double origin_cpu_s; /* the process less the receiver thread */
  guint64 packets, datagrams, send_failed, received;
} Window;

static void
measure (RcRelaySink *sink, Receivers *r, guint edges, guint window_s, Window *w)
{
  RcBenchProc p0, p1;
  RcRelaySinkStats s0, s1;
  guint64 rcpu0, rcpu1, got0, got1;
  gint64 t0, t1;

  rc_bench_wait (NULL, NULL, 2000); /* settle */
  rc_bench_proc_read (getpid (), &p0);
  rcpu0 = __atomic_load_n (&r->cpu_ns, __ATOMIC_RELAXED);
  got0 = __atomic_load_n (&r->datagrams, __ATOMIC_RELAXED);
  rc_relay_sink_get_stats (sink, &s0);
  t0 = g_get_monotonic_time ();
  rc_bench_wait (NULL, NULL, window_s * 1000.0);
  t1 = g_get_monotonic_time ();
  rc_bench_proc_read (getpid (), &p1);
  rcpu1 = __atomic_load_n (&r->cpu_ns, __ATOMIC_RELAXED);
  got1 = __atomic_load_n (&r->datagrams, __ATOMIC_RELAXED);
  rc_relay_sink_get_stats (sink, &s1);

  w->edges = edges;
  w->seconds = (t1 - t0) / 1e6;
  w->origin_cpu_s = rc_bench_ticks_to_s (p1.cpu_ticks - p0.cpu_ticks) - (rcpu1 - rcpu0) / 1e9;
  w->packets = s1.packets - s0.packets;
  w->datagrams = s1.datagrams - s0.datagrams;
  w->send_failed = s1.send_failed - s0.send_failed;
  w->received = got1 - got0;
}

static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

/* The real edge: its pipeline on the origin's published clock. */
typedef struct
{
  GstNetTimeProvider *provider;
  GstClock *clock;
  RcRelaySource *source;
  RcRoomPipeline *pipeline;
} Edge;

static gboolean
edge_start (Edge *e, RcRelaySink *sink, GError **error)
{
  g_autoptr (GstClock) system_clock = gst_system_clock_obtain ();
  gint port = 0;

  e->provider = gst_net_time_provider_new (system_clock, "127.0.0.1", 0);
  if (e->provider == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no clock provider");
      return FALSE;
    }
  g_object_get (e->provider, "port", &port, NULL);
  e->clock = rc_net_clock_obtain ("127.0.0.1", (guint) port);
  if (!gst_clock_wait_for_sync (e->clock, 10 * GST_SECOND))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "the edge's clock did not sync");
      return FALSE;
    }
  e->source = rc_relay_source_new ("127.0.0.1", 0, 1, error);
  if (e->source == NULL)
    return FALSE;
  e->pipeline = rc_room_pipeline_new_relayed ("bench-edge", rc_relay_source_get_element (e->source),
                                              e->clock, NULL, NULL, error);
  return e->pipeline != NULL
         && rc_relay_sink_add_edge (sink, "127.0.0.1", rc_relay_source_get_port (e->source), 1,
                                    error);
}

static void
edge_stop (Edge *e)
{
  g_clear_pointer (&e->pipeline, rc_room_pipeline_free);
  g_clear_pointer (&e->source, rc_relay_source_free);
  gst_clear_object (&e->clock);
  gst_clear_object (&e->provider);
}

static void
print_report (GArray *windows, double listener_us, Edge *edge)
{
  g_autofree char *machine = rc_bench_machine_describe ();
  g_autofree char *load = rc_bench_loadavg ();
  Window *base = &g_array_index (windows, Window, 0);
  double base_pct = 100.0 * base->origin_cpu_s / base->seconds;
  RcRelaySourceStats stats;
  double offset_ms;
  g_autoptr (GstClock) system_clock = gst_system_clock_obtain ();

  printf ("bench-relay --media: one origin room pipeline, N edges on 127.0.0.1; %s; "
          "load average %s\n",
          machine, load);
  printf ("%6s %9s %11s %11s %9s %11s %12s %11s %8s\n", "edges", "packets/s", "datagrams/s",
          "received/s", "origin %", "+% of core", "µs/edge/pkt", "× listener", "dropped");
  for (guint i = 0; i < windows->len; i++)
    {
      Window *w = &g_array_index (windows, Window, i);
      double pct = 100.0 * w->origin_cpu_s / w->seconds;
      double pps = w->packets / w->seconds;
      double per_edge_us = w->edges > base->edges && pps > 0
                               ? (pct - base_pct) / 100.0 * 1e6 / (pps * (w->edges - base->edges))
                               : 0;

      printf ("%6u %9.1f %11.0f %11.0f %9.2f %11.2f %12.2f %11.2f %8" G_GUINT64_FORMAT "\n",
              w->edges, pps, w->datagrams / w->seconds, w->received / w->seconds, pct,
              pct - base_pct, per_edge_us, listener_us > 0 ? per_edge_us / listener_us : 0,
              w->send_failed);
    }
  rc_relay_source_get_stats (edge->source, &stats);
  offset_ms = ((double)gst_clock_get_time (edge->clock) - (double)gst_clock_get_time (system_clock))
              / GST_MSECOND;
  printf ("the real edge: clock − origin's clock %.3f ms; transit p50 %.3f ms, p95 %.3f ms "
          "(last %u packets); received %" G_GUINT64_FORMAT ", lost %" G_GUINT64_FORMAT
          ", refused %" G_GUINT64_FORMAT "\n",
          offset_ms, stats.transit_p50_ms, stats.transit_p95_ms, stats.transit_count,
          stats.received, stats.lost, stats.refused + stats.wrong_token);
  printf ("one listener of the fan-out engine, to compare: %.2f µs per packet (--listener-us)\n",
          listener_us);
}

static GArray *
parse_levels (const char *text)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  GArray *levels = g_array_new (FALSE, FALSE, sizeof (guint));
  guint last = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 n;

      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, 20000, &n, NULL)
          || (guint)n <= last)
        {
          g_array_unref (levels);
          return NULL;
        }
      last = (guint)n;
      g_array_append_val (levels, last);
    }
  return levels;
}

int
rc_bench_relay_media_run (const char *levels_text, guint window_s, double listener_us)
{
  g_autoptr (GArray) levels = parse_levels (levels_text);
  g_autoptr (GArray) windows = g_array_new (FALSE, FALSE, sizeof (Window));
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *origin = NULL;
  RcRelaySink *sink = NULL;
  Receivers r = { 0 };
  GThread *thread = NULL;
  Edge edge = { 0 };
  guint edges = 1; /* the real edge */
  int status = 1;

  if (levels == NULL || window_s < 1)
    {
      g_printerr ("bench-relay: --levels wants rising counts of edges, 1 to 20000\n");
      return 2;
    }
  gst_init (NULL, NULL);
  raise_fd_limit ();
  rc_bench_catch_signals ();
  origin = rc_room_pipeline_new ("bench-relay", NULL, NULL, &error);
  if (origin == NULL || (sink = rc_relay_sink_new (origin, &error)) == NULL
      || !edge_start (&edge, sink, &error))
    {
      g_printerr ("bench-relay: %s\n", error->message);
      goto out;
    }
  r.fds = g_array_new (FALSE, FALSE, sizeof (int));
  r.epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  thread = g_thread_new ("relay-receivers", receive_loop, &r);

  rc_bench_progress ("the origin with one edge, %u s", window_s);
  {
    Window base;

    measure (sink, &r, edges, window_s, &base);
    g_array_append_val (windows, base);
  }
  for (guint i = 0; i < levels->len && !rc_bench_interrupted (); i++)
    {
      guint want = g_array_index (levels, guint, i);
      Window w;

      for (; edges < want; edges++)
        {
          guint port = add_receiver (&r);

          if (port == 0 || !rc_relay_sink_add_edge (sink, "127.0.0.1", port, edges + 1, &error))
            {
              g_printerr ("bench-relay: edge %u: %s\n", edges,
                          error ? error->message : g_strerror (errno));
              goto out;
            }
        }
      rc_bench_progress ("%u edges, %u s", edges, window_s);
      measure (sink, &r, edges, window_s, &w);
      g_array_append_val (windows, w);
    }
  print_report (windows, listener_us, &edge);
  status = 0;

out:
  if (thread != NULL)
    {
      g_atomic_int_set (&r.stop, TRUE);
      g_thread_join (thread);
    }
  g_clear_pointer (&sink, rc_relay_sink_free);
  edge_stop (&edge);
  g_clear_pointer (&origin, rc_room_pipeline_free);
  if (r.fds != NULL)
    {
      for (guint i = 0; i < r.fds->len; i++)
        close (g_array_index (r.fds, int, i));
      g_array_unref (r.fds);
      close (r.epoll_fd);
    }
  return status;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcBenchDelayProxy: a TCP relay on 127.0.0.1 that delays what the server
 * sends (HTTP responses, WebSocket frames) by a random 0..@jitter_ms per
 * read, keeping the byte order as TCP would: a chunk leaves at the later of
 * its own random time and the previous chunk's. What the guest sends goes
 * through at once. It stands in for `tc netem` on kernels without
 * sch_netem (bench-sync's one "jittered" guest connects through it).
 *
 * Each connection has two threads doing blocking I/O; nothing runs on a
 * main context. Freeing closes the listener and every connection.
 */
typedef struct _RcBenchDelayProxy RcBenchDelayProxy;

/* Listens on a free port of 127.0.0.1 and relays to @upstream_port there. */
RcBenchDelayProxy *rc_bench_delay_proxy_new (guint upstream_port, double jitter_ms,
                                             GError **error);
guint rc_bench_delay_proxy_get_port (RcBenchDelayProxy *proxy);
/* Chunks delayed so far, and their mean added delay (ms). */
void rc_bench_delay_proxy_get_stats (RcBenchDelayProxy *proxy, guint64 *chunks, double *mean_ms,
                                     double *max_ms);
void rc_bench_delay_proxy_free (RcBenchDelayProxy *proxy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchDelayProxy, rc_bench_delay_proxy_free)

G_END_DECLS

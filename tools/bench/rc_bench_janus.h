/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RcBenchJanus: Debian's janus for bench-fanout's WebRTC side-by-side run
 * (issue 13). Started by the benchmark with a config folder of its own (no
 * system service): only the HTTP transport (a free 127.0.0.1 port) and the
 * Streaming plugin, ice_lite, IPv4 only, no session timeout (the load
 * generator keeps a long poll open per viewer anyway), and one RTP
 * mountpoint (id 1, Opus, pt 111) fed by an in-process GStreamer sender of
 * the benchmark's sound (rc_bench_opus_tone_source). The process dies with
 * the benchmark (PR_SET_PDEATHSIG) and is stopped with SIGTERM.
 */
typedef struct _RcBenchJanus RcBenchJanus;

typedef struct
{
  const char *program;   /* janus (NULL: found on PATH) */
  const char *dir;       /* its config, plugin links and log go here */
  /* In the child before exec (CPU pinning, fd limit); may be NULL. */
  GSpawnChildSetupFunc child_setup;
  gpointer child_setup_data;
} RcBenchJanusOptions;

#define RC_BENCH_JANUS_MOUNTPOINT 1

/* Janus's streaming plugin and HTTP transport are installed. */
gboolean rc_bench_janus_available (void);
/* Starts it and the mountpoint's sender; waits up to 20 s for its API. */
RcBenchJanus *rc_bench_janus_start (const RcBenchJanusOptions *options, GError **error);
/* http://127.0.0.1:PORT/janus */
const char *rc_bench_janus_get_url (RcBenchJanus *janus);
GPid rc_bench_janus_get_pid (RcBenchJanus *janus);
/* Stops the sender and the server, frees. */
void rc_bench_janus_free (RcBenchJanus *janus);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchJanus, rc_bench_janus_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RcBenchIcecast: Debian's icecast2 for bench-fanout's side-by-side run,
 * started on a free 127.0.0.1 port with a config generated in a folder of
 * the caller's (no system service, no burst on connect: a listener gets
 * the stream from now, so its pages are placed against their own timeline),
 * and one Ogg/Opus mount fed by an in-process GStreamer source (the
 * benchmark track's sound: a 440 Hz tone over pink noise, Opus 128 kb/s in
 * 20 ms frames, as a roomcast room encodes it) through shout2send.
 * The process dies with the benchmark (PR_SET_PDEATHSIG) and is stopped
 * with SIGTERM; nothing is left running.
 */
typedef struct _RcBenchIcecast RcBenchIcecast;

typedef struct
{
  const char *program;   /* icecast2 (NULL: found on PATH) */
  const char *dir;       /* its config and logs go here */
  guint max_listeners;
  /* In the child before exec (CPU pinning, fd limit); may be NULL. */
  GSpawnChildSetupFunc child_setup;
  gpointer child_setup_data;
} RcBenchIcecastOptions;

/* Starts it and its source; waits up to 20 s for the mount to play. */
RcBenchIcecast *rc_bench_icecast_start (const RcBenchIcecastOptions *options, GError **error);
/* http://127.0.0.1:PORT/roomcast.opus */
const char *rc_bench_icecast_get_mount_url (RcBenchIcecast *icecast);
GPid rc_bench_icecast_get_pid (RcBenchIcecast *icecast);
gboolean rc_bench_icecast_has_exited (RcBenchIcecast *icecast);
/* Stops the source and the server, frees. */
void rc_bench_icecast_free (RcBenchIcecast *icecast);

/* The benchmark's sound as a gst-launch description ending in its Opus
 * encoder (a 440 Hz tone over pink noise, 128 kb/s, 20 ms frames): what
 * the Icecast mount and the Janus mountpoint are fed. */
const char *rc_bench_opus_tone_source (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchIcecast, rc_bench_icecast_free)

G_END_DECLS

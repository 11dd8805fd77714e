/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the kernel says about this process (Linux /proc/self). */
typedef struct
{
  guint open_fds;
  guint max_fds;          /* the soft RLIMIT_NOFILE */
  guint threads;
  guint64 resident_bytes;
  double cpu_seconds;     /* user + system since start */
  double start_time_s;    /* since the Unix epoch */
} RcProcessStats;

/* FALSE (and @stats zeroed) when /proc cannot be read. */
gboolean rc_process_stats_read (RcProcessStats *stats);

G_END_DECLS

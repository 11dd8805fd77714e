/* SPDX-License-Identifier: MIT */
/*
 * The process's own figures (fds, threads, memory, CPU) for /metrics and the
 * status page, read from /proc/self. Why it exists: both need the same
 * numbers, and /proc/self/stat's field order is worth writing down once.
 */
#include "server/core/rc_process_stats.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static guint
count_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n > 0 ? n - 1 : 0; /* the directory's own fd */
}

/* The boot time (btime of /proc/stat), in seconds since the epoch. */
static double
boot_time (void)
{
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL))
    return 0;
  line = strstr (text, "\nbtime ");
  return line != NULL ? g_ascii_strtod (line + 7, NULL) : 0;
}

gboolean
rc_process_stats_read (RcProcessStats *stats)
{
  g_autofree char *text = NULL;
  const char *fields;
  unsigned long utime, stime;
  long threads, rss;
  unsigned long long start;
  double ticks = (double) sysconf (_SC_CLK_TCK);
  struct rlimit limit;

  *stats = (RcProcessStats) { 0 };
  if (!g_file_get_contents ("/proc/self/stat", &text, NULL, NULL))
    return FALSE;
  /* After "pid (comm) ": state is field 3; utime 14, stime 15,
   * num_threads 20, starttime 22, rss 24 (in pages). */
  fields = strrchr (text, ')');
  if (fields == NULL
      || sscanf (fields + 2,
                 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d "
                 "%llu %*u %ld",
                 &utime, &stime, &threads, &start, &rss)
           != 5)
    return FALSE;
  stats->cpu_seconds = (double) (utime + stime) / ticks;
  stats->threads = (guint) threads;
  stats->resident_bytes = (guint64) rss * (guint64) sysconf (_SC_PAGESIZE);
  stats->start_time_s = boot_time () + (double) start / ticks;
  stats->open_fds = count_fds ();
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
    stats->max_fds = (guint) MIN (limit.rlim_cur, (rlim_t) G_MAXUINT);
  return TRUE;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * What the fan-out benchmark reads from /proc: a process's CPU time (all its
 * threads, utime + stime), resident memory and thread count, the CPU time of
 * each of its threads by name, and the whole machine's busy time. Figures
 * are kernel clock ticks (sysconf (_SC_CLK_TCK), 100 per second here) so
 * windows subtract exactly; rc_bench_ticks_to_s() converts.
 */
typedef struct
{
  gboolean ok;         /* FALSE when the process is gone */
  guint64 cpu_ticks;   /* utime + stime of every thread, live and exited */
  guint64 rss_kib;     /* VmRSS */
  guint threads;       /* Threads */
} RcBenchProc;

gboolean rc_bench_proc_read (GPid pid, RcBenchProc *out);

/* CPU time of one thread of @pid (its main thread when @tid is @pid), in
 * nanoseconds: /proc/PID/task/TID/schedstat's run time, or utime + stime
 * of its stat file (tick resolution) where schedstat is missing; 0 when
 * the thread is gone. A server's main context runs on its main thread, so
 * this is what signalling, joins and presence cost it. */
guint64 rc_bench_thread_cpu_ns (GPid pid, GPid tid);

/* Every thread of @pid: tid (GINT_TO_POINTER) → RcBenchThread. */
typedef struct
{
  char name[32];     /* comm, digits folded to '#' so "queue12:src" groups with its kind */
  guint64 cpu_ticks;
} RcBenchThread;

GHashTable *rc_bench_threads_read (GPid pid);

/* Groups the CPU spent between two thread readings by name; returns a
 * GPtrArray of RcBenchThreadGroup, busiest first. Threads that started
 * inside the window count from zero; threads that ended are not seen. */
typedef struct
{
  char name[32];
  guint threads;
  guint64 cpu_ticks;
} RcBenchThreadGroup;

GPtrArray *rc_bench_threads_diff (GHashTable *before, GHashTable *after);

/* Busy and total ticks of all CPUs together (/proc/stat "cpu" line). */
gboolean rc_bench_machine_read (guint64 *busy, guint64 *total);

/* The kernel's UDP counters (/proc/net/snmp), for the whole network
 * namespace: every socket on the machine, ours and others'. */
typedef struct
{
  guint64 in_datagrams;
  guint64 out_datagrams;
  guint64 no_ports;
  guint64 in_errors;
  guint64 rcvbuf_errors; /* dropped: a receiving socket's buffer was full */
  guint64 sndbuf_errors; /* dropped: a sending socket's buffer was full */
} RcBenchUdp;

gboolean rc_bench_udp_read (RcBenchUdp *out);

double rc_bench_ticks_to_s (guint64 ticks);

/* "2 CPUs (model name), Linux release", for a report's machine line. */
char *rc_bench_machine_describe (void);
/* The same with ", 7.7 GiB RAM" after the CPUs when @with_memory, and
 * ", @software" at the end when it is not NULL. */
char *rc_bench_machine_describe_full (gboolean with_memory, const char *software);
/* The 1, 5 and 15 minute load averages, "1.90 1.96 3.90" ("?" unknown). */
char *rc_bench_loadavg (void);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
/*
 * The media above the control plane. Why it exists: on a full core the
 * kernel shares the CPU evenly between runnable threads, so a burst of
 * joins (the main loop's signalling, the fan-out's DTLS handshakes, each
 * a ms or more) took the fan-out sender's share and every listener's
 * packets fell behind (docs/benchmarks.md, the churn row). The engine's
 * control thread lowers itself (anyone may); the sender raises itself
 * where the process is allowed to (root, CAP_SYS_NICE, RLIMIT_NICE), which
 * also puts it above the main loop, which cannot be lowered: the threads
 * it makes later (GStreamer's streaming threads) would inherit it and an
 * unprivileged thread cannot come back up.
 */
#define _GNU_SOURCE /* gettid */
#include "pipelines/rc_thread_priority.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static gboolean
get_nice (pid_t tid, int *nice_value)
{
  errno = 0;
  *nice_value = getpriority (PRIO_PROCESS, (id_t) tid);
  return !(*nice_value == -1 && errno != 0);
}

gboolean
rc_thread_raise_for_media (const char *what)
{
  pid_t tid = gettid ();
  int now;

  if (!get_nice (tid, &now))
    return FALSE;
  /* The kernel refuses a step beyond what the process may do: try the
   * whole way first, then less. */
  for (int steps = RC_THREAD_PRIORITY_STEPS; steps > 0; steps--)
    if (now - steps >= -20 && setpriority (PRIO_PROCESS, (id_t) tid, now - steps) == 0)
      return TRUE;
  g_message ("The %s thread runs at the process's priority, level with the signalling: "
             "give the process CAP_SYS_NICE or an RLIMIT_NICE (systemd LimitNICE=-10) to "
             "keep its listeners on time while the core is full",
             what);
  return FALSE;
}

gboolean
rc_thread_lower_to_control_plane (const char *what)
{
  pid_t tid = gettid ();
  int now;

  if (!get_nice (tid, &now))
    return FALSE;
  /* Never SCHED_IDLE (tried): on a core other processes keep busy an idle
   * thread never runs, and the guests' checks and handshakes went
   * unanswered until every join failed. */
  if (now >= 19
      || setpriority (PRIO_PROCESS, (id_t) tid, MIN (now + RC_THREAD_PRIORITY_STEPS, 19)) == 0)
    return TRUE;
  g_warning ("The %s thread stays at the media's priority: %s", what, g_strerror (errno));
  return FALSE;
}

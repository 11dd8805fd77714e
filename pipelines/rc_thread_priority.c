/* SPDX-License-Identifier: MIT */
/*
 * The media above the control plane. Why it exists: on a full core the
 * kernel shares the CPU evenly between runnable threads, so a burst of
 * joins (the main loop's signalling, the fan-out's DTLS handshakes, each
 * a ms or more) took the fan-out sender's share and every listener's
 * packets fell behind (docs/benchmarks.md, the churn row). The sender
 * raises itself where the process is allowed to (root, CAP_SYS_NICE,
 * RLIMIT_NICE), which puts it above the main loop, which cannot be
 * lowered: the threads it makes later (GStreamer's streaming threads)
 * would inherit it and an unprivileged thread cannot come back up.
 *
 * The engine's control thread (ICE, DTLS) once lowered itself 10 steps
 * too. It must not go below the main loop: the main loop's joins are what
 * send guests to it, so while joins keep the main loop busy (500 a second,
 * ~1 ms each) a lowered control thread got about a tenth of the core's
 * remainder, the handshakes waited past the guests' 30 s of silence, and
 * none of 1,000 guests got audio (2026-12-07; level with the main loop,
 * all 1,000 did). It runs at the process's priority.
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

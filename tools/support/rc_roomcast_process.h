/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Starting a roomcast for a test or a benchmark, in one place.
 *
 * - Children made here die with this process (PR_SET_PDEATHSIG, SIGKILL),
 *   however it ends: an aborted test or an interrupted benchmark leaves no
 *   server behind holding its ports.
 * - RcRoomcastProcess: a roomcast on 127.0.0.1 with a port it picked
 *   itself (--host 127.0.0.1 --port 0 before the caller's arguments), read
 *   back from the "listening on http://127.0.0.1:PORT" line it prints, as a
 *   user reads it. Its output lines and its exit are served by the
 *   thread-default main context of the thread that started it, which the
 *   caller spins (its own way: a test's RC_WAIT_UNTIL, a benchmark's
 *   interruptible wait).
 */
typedef struct _RcRoomcastProcess RcRoomcastProcess;

/* The exit status of a child built with sanitizers (ASan, UBSan, LSan) that
 * printed a report: both launchers here set it in the child's
 * ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS. */
#define RC_ROOMCAST_SANITIZER_EXIT 86

/* A launcher whose children die with this process. */
GSubprocessLauncher *rc_roomcast_launcher_new (GSubprocessFlags flags);

/* SIGTERM, then SIGKILL after @grace_s, spinning the thread-default main
 * context meanwhile; TRUE when @proc ended before the SIGKILL (or had
 * ended already). */
gboolean rc_roomcast_child_stop (GSubprocess *proc, double grace_s);

/* A port of 127.0.0.1 (@type: G_SOCKET_TYPE_STREAM for TCP,
 * G_SOCKET_TYPE_DATAGRAM for UDP) that was free a moment ago; 0 on failure. */
guint rc_roomcast_free_port (GSocketType type);

typedef void (*RcRoomcastLineFunc) (const char *line, gpointer user_data);

typedef struct
{
  const char *program;        /* the roomcast binary */
  const char *const *args;    /* after --host and --port; NULL-ended, may be NULL */
  gboolean merge_stderr;      /* its stderr into the lines too (else inherited) */
  /* Run in the child before exec, after PR_SET_PDEATHSIG (nice, CPU
   * pinning); may be NULL. */
  GSpawnChildSetupFunc child_setup;
  gpointer child_setup_data;
  /* Every line it prints, on the main context; may be NULL. */
  RcRoomcastLineFunc on_line;
  gpointer user_data;
} RcRoomcastOptions;

/* Starts it; it runs while the caller's main context turns. */
RcRoomcastProcess *rc_roomcast_process_spawn (const RcRoomcastOptions *options, GError **error);
/* "http://127.0.0.1:PORT" once it printed it (no trailing slash), else NULL. */
const char *rc_roomcast_process_get_url (RcRoomcastProcess *self);
/* Its port, 0 before it printed its URL. */
guint rc_roomcast_process_get_port (RcRoomcastProcess *self);
/* Its process id, 0 once it has been reaped. */
GPid rc_roomcast_process_get_pid (RcRoomcastProcess *self);
/* Its output ended, or it was reaped. */
gboolean rc_roomcast_process_has_exited (RcRoomcastProcess *self);
/* It was reaped before rc_roomcast_process_stop() asked it to end. */
gboolean rc_roomcast_process_died (RcRoomcastProcess *self);
/* Its exit status, or minus the signal that ended it (0 while it runs). */
int rc_roomcast_process_get_status (RcRoomcastProcess *self);
/* SIGTERM, SIGKILL after @grace_s (rc_roomcast_child_stop); FALSE when it
 * had to be killed. */
gboolean rc_roomcast_process_stop (RcRoomcastProcess *self, double grace_s);
/* Kills it if it still runs (SIGKILL) and frees. */
void rc_roomcast_process_free (RcRoomcastProcess *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRoomcastProcess, rc_roomcast_process_free)

G_END_DECLS

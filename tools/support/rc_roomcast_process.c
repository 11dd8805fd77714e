/* SPDX-License-Identifier: MIT */
/*
 * A roomcast process for the tests and the benchmarks (rc_roomcast_process.h):
 * both start the real server on free ports, wait for it to listen, read its
 * output and stop it, and did so with two copies of this code. What stays
 * theirs: the tests' assertions and REST client, the benchmarks' log file,
 * pinning, interruptible waits and printing.
 *
 * Ordering rule: the output lines and the exit are read asynchronously on
 * the starting thread's main context, each with the object's cancellable;
 * freeing cancels it, and a callback that sees the cancellation returns
 * without touching the object (GTask reports a cancellation even for a
 * read that completed just before), so freeing never waits for them. The
 * exit status is read from the GSubprocess, which has it as soon as the
 * child is reaped (on GLib's worker thread), before the wait callback.
 */
#include "tools/support/rc_roomcast_process.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define LISTENING "listening on http://127.0.0.1:"

/* ---- children ---- */

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* A child built with sanitizers that reports a finding exits with
 * RC_ROOMCAST_SANITIZER_EXIT (leaks found at exit included), whatever
 * options the caller's environment gives; other builds ignore these. */
static void
set_sanitizer_exit (GSubprocessLauncher *launcher)
{
  static const char *const names[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *given = g_getenv (names[i]);
      g_autofree char *value =
        g_strdup_printf ("%s%sexitcode=%d", given ? given : "", given && *given ? ":" : "",
                         RC_ROOMCAST_SANITIZER_EXIT);

      g_subprocess_launcher_setenv (launcher, names[i], value, TRUE);
    }
}

GSubprocessLauncher *
rc_roomcast_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  set_sanitizer_exit (launcher);
  return launcher;
}

gboolean
rc_roomcast_child_stop (GSubprocess *proc, double grace_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (grace_s * G_USEC_PER_SEC);
  GMainContext *context = g_main_context_get_thread_default ();

  if (proc == NULL || g_subprocess_get_identifier (proc) == NULL)
    return TRUE;
  g_subprocess_send_signal (proc, SIGTERM);
  while (g_subprocess_get_identifier (proc) != NULL && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (5000);
  if (g_subprocess_get_identifier (proc) == NULL)
    return TRUE;
  g_subprocess_force_exit (proc);
  g_subprocess_wait (proc, NULL, NULL);
  return FALSE;
}

guint
rc_roomcast_free_port (GSocketType type)
{
  GSocketProtocol protocol =
    type == G_SOCKET_TYPE_STREAM ? G_SOCKET_PROTOCOL_TCP : G_SOCKET_PROTOCOL_UDP;
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, protocol, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, any, type == G_SOCKET_TYPE_STREAM, NULL))
    return 0;
  bound = g_socket_get_local_address (socket, NULL);
  return bound != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

/* ---- the server ---- */

struct _RcRoomcastProcess
{
  GSubprocess *proc;
  GDataInputStream *out;
  GCancellable *cancellable;
  char *url;
  guint port;
  gboolean exited;   /* its output ended, or it was reaped */
  gboolean stopping; /* we sent SIGTERM: an exit now is no crash */
  gboolean died;     /* it was reaped before we stopped it */
  GSpawnChildSetupFunc child_setup;
  gpointer child_setup_data;
  RcRoomcastLineFunc on_line;
  gpointer user_data;
};

/* In the child, before exec: die with us, then the caller's setup. */
static void
process_child_setup (gpointer data)
{
  RcRoomcastProcess *self = data;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (self->child_setup != NULL)
    self->child_setup (self->child_setup_data);
}

static void
on_process_exit (GObject *source, GAsyncResult *result, gpointer data)
{
  RcRoomcastProcess *self = data;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    return; /* cancelled: freed */
  self->exited = TRUE;
  self->died = !self->stopping;
}

/* The URL in its "listening on" line, which may say more after it. */
static void
read_url (RcRoomcastProcess *self, const char *line)
{
  const char *at = strstr (line, LISTENING);
  const char *start;

  if (at == NULL || self->url != NULL)
    return;
  start = at + strlen ("listening on ");
  self->url = g_strndup (start, strspn (start, "htp:/.0123456789"));
  if (g_str_has_suffix (self->url, "/"))
    self->url[strlen (self->url) - 1] = '\0';
  self->port = (guint) g_ascii_strtoull (at + strlen (LISTENING), NULL, 10);
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  RcRoomcastProcess *self = data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* freed */
  if (line == NULL)
    {
      self->exited = TRUE;
      return;
    }
  read_url (self, line);
  if (self->on_line != NULL)
    self->on_line (line, self->user_data);
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable, on_line,
                                       self);
}

RcRoomcastProcess *
rc_roomcast_process_spawn (const RcRoomcastOptions *options, GError **error)
{
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE
                           | (options->merge_stderr ? G_SUBPROCESS_FLAGS_STDERR_MERGE : 0);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *fixed[] = { options->program, "--host", "127.0.0.1", "--port", "0" };
  g_autoptr (RcRoomcastProcess) self = g_new0 (RcRoomcastProcess, 1);

  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, (gpointer) fixed[i]);
  for (guint i = 0; options->args != NULL && options->args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) options->args[i]);
  g_ptr_array_add (argv, NULL);

  self->child_setup = options->child_setup;
  self->child_setup_data = options->child_setup_data;
  self->on_line = options->on_line;
  self->user_data = options->user_data;
  self->cancellable = g_cancellable_new ();
  g_subprocess_launcher_set_child_setup (launcher, process_child_setup, self, NULL);
  set_sanitizer_exit (launcher);
  self->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (self->proc == NULL)
    return NULL;
  self->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->proc));
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable, on_line,
                                       self);
  g_subprocess_wait_async (self->proc, self->cancellable, on_process_exit, self);
  return g_steal_pointer (&self);
}

const char *
rc_roomcast_process_get_url (RcRoomcastProcess *self)
{
  return self->url;
}

guint
rc_roomcast_process_get_port (RcRoomcastProcess *self)
{
  return self->port;
}

GPid
rc_roomcast_process_get_pid (RcRoomcastProcess *self)
{
  const char *id = g_subprocess_get_identifier (self->proc);

  return id != NULL ? (GPid) atoi (id) : 0;
}

gboolean
rc_roomcast_process_has_exited (RcRoomcastProcess *self)
{
  return self->exited || g_subprocess_get_identifier (self->proc) == NULL;
}

gboolean
rc_roomcast_process_died (RcRoomcastProcess *self)
{
  return self->died;
}

int
rc_roomcast_process_get_status (RcRoomcastProcess *self)
{
  if (g_subprocess_get_identifier (self->proc) != NULL)
    return 0;
  if (g_subprocess_get_if_signaled (self->proc))
    return -g_subprocess_get_term_sig (self->proc);
  return g_subprocess_get_exit_status (self->proc);
}

gboolean
rc_roomcast_process_stop (RcRoomcastProcess *self, double grace_s)
{
  if (g_subprocess_get_identifier (self->proc) == NULL)
    return TRUE;
  self->stopping = TRUE;
  return rc_roomcast_child_stop (self->proc, grace_s);
}

void
rc_roomcast_process_free (RcRoomcastProcess *self)
{
  if (self == NULL)
    return;
  if (self->proc != NULL && g_subprocess_get_identifier (self->proc) != NULL)
    {
      g_subprocess_force_exit (self->proc);
      g_subprocess_wait (self->proc, NULL, NULL);
    }
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->proc);
  g_clear_object (&self->out);
  g_clear_object (&self->cancellable);
  g_free (self->url);
  g_free (self);
}

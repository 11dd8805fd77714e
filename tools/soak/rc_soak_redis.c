/* SPDX-License-Identifier: MIT */
/*
 * The soak's redis-server (rc_soak_redis.h). It is a child made by the
 * shared launcher (tools/support), so it dies with the soak however the
 * soak ends; readiness is a PING answered on its port, asked over a plain
 * socket so the soak needs no Redis client of its own.
 */
#include "rc_soak_redis.h"

#include "tools/support/rc_roomcast_process.h"

#include <gio/gio.h>
#include <string.h>

struct _RcSoakRedis
{
  char *dir;
  char *uri;
  guint port;
  GSubprocess *proc;
};

static gboolean
answers_ping (guint port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  char reply[16] = { 0 };
  gsize got = 0;

  g_socket_client_set_timeout (client, 1);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", (guint16) port, NULL, NULL);
  if (connection == NULL)
    return FALSE;
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                  "PING\r\n", 6, NULL, NULL, NULL))
    return FALSE;
  if (!g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)), reply, 7,
                                &got, NULL, NULL))
    return FALSE;
  return got == 7 && memcmp (reply, "+PONG\r\n", 7) == 0;
}

static gboolean
spawn (RcSoakRedis *self, gboolean wait, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree char *port = g_strdup_printf ("%u", self->port);
  g_autofree char *log = g_build_filename (self->dir, "redis.log", NULL);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_autofree char *proc_dir = NULL;

  g_subprocess_launcher_set_cwd (launcher, self->dir);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_clear_object (&self->proc);
  self->proc = g_subprocess_launcher_spawn (launcher, error, "redis-server", "--port", port,
                                            "--bind", "127.0.0.1", "--dir", self->dir,
                                            "--daemonize", "no", "--save", "", "--appendonly",
                                            "yes", "--appendfsync", "everysec", NULL);
  if (self->proc == NULL || !wait)
    return self->proc != NULL;
  proc_dir = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (self->proc));
  while (!answers_ping (self->port))
    {
      if (g_get_monotonic_time () > deadline || !g_file_test (proc_dir, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "redis-server on port %u did not answer PING (see %s)", self->port, log);
          return FALSE;
        }
      g_usleep (20 * 1000);
    }
  return TRUE;
}

RcSoakRedis *
rc_soak_redis_start (const char *dir, GError **error)
{
  g_autoptr (RcSoakRedis) self = g_new0 (RcSoakRedis, 1);

  self->dir = g_strdup (dir);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make %s", dir);
      return NULL;
    }
  self->port = rc_roomcast_free_port (G_SOCKET_TYPE_STREAM);
  self->uri = g_strdup_printf ("redis://127.0.0.1:%u/0", self->port);
  if (self->port == 0 || !spawn (self, TRUE, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
rc_soak_redis_kill (RcSoakRedis *self)
{
  if (self->proc == NULL)
    return;
  /* GLib's child watch reaps it. */
  g_subprocess_force_exit (self->proc);
  g_clear_object (&self->proc);
}

gboolean
rc_soak_redis_respawn (RcSoakRedis *self, GError **error)
{
  if (self->proc != NULL)
    rc_roomcast_child_stop (self->proc, 5);
  return spawn (self, FALSE, error);
}

gboolean
rc_soak_redis_answers (RcSoakRedis *self)
{
  return answers_ping (self->port);
}

const char *
rc_soak_redis_get_uri (RcSoakRedis *self)
{
  return self->uri;
}

GPid
rc_soak_redis_get_pid (RcSoakRedis *self)
{
  const char *id = self->proc != NULL ? g_subprocess_get_identifier (self->proc) : NULL;

  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

void
rc_soak_redis_free (RcSoakRedis *self)
{
  if (self == NULL)
    return;
  if (self->proc != NULL)
    rc_roomcast_child_stop (self->proc, 5);
  g_clear_object (&self->proc);
  g_free (self->dir);
  g_free (self->uri);
  g_free (self);
}

/* SPDX-License-Identifier: MIT */
/*
 * Starts and stops a real redis-server for tests, so the Redis backend is
 * proven against the real thing, outages included. Each instance owns a temp
 * dir and a port; restart reuses both so clients can reconnect to the same
 * address and find their data. Readiness is "answers PING" (a server still
 * loading its append-only file answers -LOADING, which is not ready).
 */
#include "rc_test_redis.h"
#include "rc_test_util.h"
#include "tools/support/rc_tree.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <hiredis/hiredis.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define STOP_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define START_ATTEMPTS 3

struct _RcTestRedis
{
  char *server_path;
  char *dir;
  char *log_path;
  char *uri;
  guint port;
  GPid pid; /* 0 when not running */
};

/* Runs in the child between fork and exec: die with the test process. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
log_tail (RcTestRedis *redis)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (redis->log_path, &contents, &len, NULL) || len == 0)
    return g_strdup ("(empty log)");
  return g_strdup (len > 1500 ? contents + len - 1500 : contents);
}

static gboolean
answers_ping (guint port)
{
  struct timeval tv = { 0, 200 * 1000 };
  redisContext *c = redisConnectWithTimeout ("127.0.0.1", (int) port, tv);
  redisReply *reply;
  gboolean ok;

  if (c == NULL)
    return FALSE;
  if (c->err || redisSetTimeout (c, tv) != REDIS_OK)
    {
      redisFree (c);
      return FALSE;
    }
  reply = redisCommand (c, "PING");
  ok = reply != NULL && reply->type == REDIS_REPLY_STATUS && g_str_equal (reply->str, "PONG");
  if (reply != NULL)
    freeReplyObject (reply);
  redisFree (c);
  return ok;
}

/* Non-blocking reap: TRUE (and pid cleared) when the server has exited. */
static gboolean
reap_if_exited (RcTestRedis *redis, int *status)
{
  pid_t r;

  do
    r = waitpid (redis->pid, status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == redis->pid || (r < 0 && errno == ECHILD))
    {
      redis->pid = 0;
      return TRUE;
    }
  return FALSE;
}

static void
reap_blocking (RcTestRedis *redis)
{
  pid_t r;

  do
    r = waitpid (redis->pid, NULL, 0);
  while (r < 0 && errno == EINTR);
  redis->pid = 0;
}

/* Spawns the server and waits until it answers. *exited_early tells a port
 * race (someone took the port between our probe and its bind) from a hang. */
static gboolean
spawn_and_wait (RcTestRedis *redis, gboolean *exited_early, GError **error)
{
  g_autofree char *port = g_strdup_printf ("%u", redis->port);
  const char *argv[] = {
    redis->server_path, "--port", port, "--bind", "127.0.0.1", "--dir", redis->dir,
    "--daemonize", "no", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
    "--logfile", "", "--loglevel", "notice", "--databases", "16", NULL,
  };
  int log_fd;
  gboolean spawned;
  gint64 deadline;
  int status = 0;

  *exited_early = FALSE;
  log_fd = g_open (redis->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot open %s: %s",
                   redis->log_path, g_strerror (errno));
      return FALSE;
    }
  spawned = g_spawn_async_with_pipes_and_fds (redis->dir, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                              child_setup, NULL, -1, log_fd, log_fd, NULL, NULL,
                                              0, &redis->pid, NULL, NULL, NULL, error);
  close (log_fd);
  if (!spawned)
    return FALSE;

  deadline = g_get_monotonic_time () + READY_TIMEOUT_US;
  while (!answers_ping (redis->port))
    {
      if (reap_if_exited (redis, &status))
        {
          g_autofree char *tail = log_tail (redis);

          *exited_early = TRUE;
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "redis-server on port %u exited during start-up (status %d). Log:\n%s",
                       redis->port, status, tail);
          return FALSE;
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *tail = log_tail (redis);

          kill (redis->pid, SIGKILL);
          reap_blocking (redis);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "redis-server on port %u did not answer PING within 5 s. Log:\n%s",
                       redis->port, tail);
          return FALSE;
        }
      g_usleep (10 * 1000);
    }
  return TRUE;
}

static void
set_port (RcTestRedis *redis, guint port)
{
  redis->port = port;
  g_free (redis->uri);
  redis->uri = g_strdup_printf ("redis://127.0.0.1:%u/0", port);
}

RcTestRedis *
rc_test_redis_start (GError **error)
{
  g_autofree char *server_path = g_find_program_in_path ("redis-server");
  g_autoptr (RcTestRedis) redis = NULL;

  if (server_path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "redis-server not found in PATH: the Redis tests need a real "
                           "server (Debian: apt install redis-server)");
      return NULL;
    }
  redis = g_new0 (RcTestRedis, 1);
  redis->server_path = g_steal_pointer (&server_path);
  redis->dir = g_dir_make_tmp ("roomcast-redis-XXXXXX", error);
  if (redis->dir == NULL)
    return NULL;
  redis->log_path = g_build_filename (redis->dir, "redis.log", NULL);

  for (int attempt = 1;; attempt++)
    {
      g_autoptr (GError) local_error = NULL;
      gboolean exited_early;

      set_port (redis, rc_test_free_port ());
      if (spawn_and_wait (redis, &exited_early, &local_error))
        break;
      if (!exited_early || attempt == START_ATTEMPTS)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }
  return g_steal_pointer (&redis);
}

static void
stop_server (RcTestRedis *redis)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_US;
  int status;

  if (redis->pid == 0)
    return;
  kill (redis->pid, SIGTERM); /* redis flushes its append-only file and exits */
  kill (redis->pid, SIGCONT); /* in case it was paused */
  while (!reap_if_exited (redis, &status))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_test_message ("redis-server on port %u ignored SIGTERM; killing it", redis->port);
          kill (redis->pid, SIGKILL);
          reap_blocking (redis);
          return;
        }
      g_usleep (5 * 1000);
    }
}

void
rc_test_redis_stop (RcTestRedis *redis)
{
  if (redis == NULL)
    return;
  stop_server (redis);
  if (redis->dir != NULL)
    rc_remove_tree (redis->dir);
  g_free (redis->server_path);
  g_free (redis->dir);
  g_free (redis->log_path);
  g_free (redis->uri);
  g_free (redis);
}

gboolean
rc_test_redis_restart (RcTestRedis *redis, GError **error)
{
  gboolean exited_early;

  g_return_val_if_fail (redis != NULL, FALSE);
  stop_server (redis);
  return spawn_and_wait (redis, &exited_early, error);
}

void
rc_test_redis_kill (RcTestRedis *redis)
{
  g_return_if_fail (redis != NULL);
  if (redis->pid == 0)
    return;
  kill (redis->pid, SIGKILL);
  reap_blocking (redis);
}

void
rc_test_redis_pause (RcTestRedis *redis)
{
  g_return_if_fail (redis != NULL && redis->pid != 0);
  kill (redis->pid, SIGSTOP);
}

void
rc_test_redis_resume (RcTestRedis *redis)
{
  g_return_if_fail (redis != NULL && redis->pid != 0);
  kill (redis->pid, SIGCONT);
}

gboolean
rc_test_redis_is_running (RcTestRedis *redis)
{
  return redis->pid != 0;
}

guint
rc_test_redis_get_port (RcTestRedis *redis)
{
  return redis->port;
}

const char *
rc_test_redis_get_uri (RcTestRedis *redis)
{
  return redis->uri;
}

const char *
rc_test_redis_get_dir (RcTestRedis *redis)
{
  return redis->dir;
}

char *
rc_test_redis_call (RcTestRedis *redis, const char *word, ...)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  struct timeval tv = { 2, 0 };
  redisContext *c = redisConnectWithTimeout ("127.0.0.1", (int) redis->port, tv);
  redisReply *reply;
  char *result = NULL;
  va_list args;

  va_start (args, word);
  for (const char *w = word; w != NULL; w = va_arg (args, const char *))
    g_ptr_array_add (words, (gpointer) w);
  va_end (args);
  if (c == NULL || c->err)
    g_error ("Cannot connect to redis-server on port %u: %s", redis->port,
             c != NULL ? c->errstr : "out of memory");
  reply = redisCommandArgv (c, (int) words->len, (const char **) words->pdata, NULL);
  if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
    g_error ("redis-server refused %s: %s", word,
             reply != NULL ? reply->str : c->errstr);
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
    result = g_strndup (reply->str, reply->len);
  else if (reply->type == REDIS_REPLY_INTEGER)
    result = g_strdup_printf ("%lld", reply->integer);
  freeReplyObject (reply);
  redisFree (c);
  return result;
}

RcTestRedis *
rc_test_redis_start_checked (void)
{
  g_autoptr (GError) error = NULL;
  RcTestRedis *redis = rc_test_redis_start (&error);

  g_assert_no_error (error);
  return redis;
}

/* SPDX-License-Identifier: MIT */
/*
 * A clean shutdown (SIGTERM) during a Redis outage, against a real
 * redis-server: roomcast waits up to 2 s for Redis to come back and applies
 * the writes it buffered; when Redis stays away it says how many are lost.
 * roomcast is spawned here (not through RcTestServer) to read its log.
 */
#include "rc_test_redis.h"
#include "rc_test_util.h"
#include "tools/support/rc_roomcast_process.h"

#include <hiredis/hiredis.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#define ROOMS 3

typedef struct
{
  RcTestRedis *redis;
  RcRoomcastProcess *roomcast;
  GString *log; /* stdout and stderr */
  SoupSession *http;
  char *ids[ROOMS];
} Fixture;

static void
on_line (const char *line, gpointer user_data)
{
  g_string_append_printf (user_data, "%s\n", line);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--store", NULL, NULL };
  RcRoomcastOptions options = { 0 };

  f->redis = rc_test_redis_start (&error);
  g_assert_no_error (error);
  args[1] = rc_test_redis_get_uri (f->redis);
  f->log = g_string_new (NULL);
  f->http = soup_session_new ();
  options.program = g_getenv ("ROOMCAST_BIN");
  options.args = args;
  options.merge_stderr = TRUE;
  options.on_line = on_line;
  options.user_data = f->log;
  g_assert_nonnull (options.program);
  f->roomcast = rc_roomcast_process_spawn (&options, &error);
  g_assert_no_error (error);
  g_assert_true (RC_WAIT_UNTIL (strstr (f->log->str, "\nOpen ") != NULL, 20000));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->roomcast, rc_roomcast_process_free);
  g_clear_object (&f->http);
  g_string_free (f->log, TRUE);
  rc_test_redis_stop (f->redis);
  for (guint i = 0; i < ROOMS; i++)
    g_free (f->ids[i]);
}

/* POST /api/rooms; the new room's id. */
static char *
create_room (Fixture *f, const char *name)
{
  g_autofree char *url =
    g_strdup_printf ("%s/api/rooms", rc_roomcast_process_get_url (f->roomcast));
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\"}", name);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  reply = soup_session_send_and_read (f->http, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 201);
  node = rc_test_parse (g_bytes_get_data (reply, NULL));
  return g_strdup (rc_test_str (json_node_get_object (node), "id"));
}

/* Redis goes away, then ROOMS rooms are made (their state is buffered). */
static void
write_during_outage (Fixture *f)
{
  rc_test_redis_kill (f->redis);
  g_assert_true (RC_WAIT_UNTIL (strstr (f->log->str, "Lost connection to Redis") != NULL, 5000));
  for (guint i = 0; i < ROOMS; i++)
    {
      g_autofree char *name = g_strdup_printf ("Outage %u", i);
      f->ids[i] = create_room (f, name);
    }
}

/* Sends SIGTERM; returns the seconds until it exited, with its status. */
static double
terminate (Fixture *f, gboolean restart_redis, int *status)
{
  gint64 start = g_get_monotonic_time ();

  g_assert_cmpint (kill (rc_roomcast_process_get_pid (f->roomcast), SIGTERM), ==, 0);
  if (restart_redis)
    {
      g_autoptr (GError) error = NULL;

      rc_test_run_for (300); /* the outage outlasts the signal a little */
      g_assert_true (rc_test_redis_restart (f->redis, &error));
      g_assert_no_error (error);
    }
  g_assert_true (RC_WAIT_UNTIL (rc_roomcast_process_get_pid (f->roomcast) == 0, 10000));
  *status = rc_roomcast_process_get_status (f->roomcast);
  return (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
}

static gboolean
redis_has (Fixture *f, const char *key)
{
  redisContext *c = redisConnect ("127.0.0.1", (int) rc_test_redis_get_port (f->redis));
  redisReply *reply;
  gboolean found;

  g_assert_true (c != NULL && c->err == 0);
  reply = redisCommand (c, "EXISTS %s", key);
  g_assert_nonnull (reply);
  found = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
  freeReplyObject (reply);
  redisFree (c);
  return found;
}

static void
test_writes_applied_when_redis_returns (Fixture *f, gconstpointer data)
{
  int status = -1;
  double took;

  write_during_outage (f);
  took = terminate (f, TRUE, &status);
  g_test_message ("exited with %d after %.2f s; log:\n%s", status, took, f->log->str);
  g_assert_cmpint (status, ==, 0);
  for (guint i = 0; i < ROOMS; i++)
    {
      g_autofree char *key = g_strdup_printf ("room:%s:state", f->ids[i]);
      g_assert_true (redis_has (f, key));
    }
  g_assert_null (strstr (f->log->str, "lost"));
}

static void
test_loss_logged_without_redis (Fixture *f, gconstpointer data)
{
  int status = -1;
  double took;
  g_autofree char *expected = NULL;

  write_during_outage (f);
  took = terminate (f, FALSE, &status);
  g_test_message ("exited with %d after %.2f s; log:\n%s", status, took, f->log->str);
  g_assert_cmpint (status, ==, 0);
  /* It waited for Redis, but not much longer than the 2 s it promises. */
  g_assert_cmpfloat (took, >, 1.8);
  g_assert_cmpfloat (took, <, 4);
  g_assert_nonnull (strstr (f->log->str, "writes within 2 s: they are lost"));
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add ("/redis-shutdown/writes-applied-when-redis-returns", Fixture, NULL, fixture_setup,
              test_writes_applied_when_redis_returns, fixture_teardown);
  g_test_add ("/redis-shutdown/loss-logged-without-redis", Fixture, NULL, fixture_setup,
              test_loss_logged_without_redis, fixture_teardown);
  return g_test_run ();
}

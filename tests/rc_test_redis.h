/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A real redis-server for tests: its own temp dir, 127.0.0.1 on a free port,
 * append-only file on so data survives a restart (and a SIGKILL, since
 * acknowledged writes are already in the file). The server is told to die
 * with the test process, so a crashed test leaves no server behind.
 *
 * All calls block (briefly) and need no main loop.
 */
typedef struct _RcTestRedis RcTestRedis;

/* Starts a server and waits (up to ~5 s) until it answers PING. Fails with a
 * clear message when redis-server is not installed: callers assert on it,
 * they do not skip. */
RcTestRedis *rc_test_redis_start (GError **error);
/* The same; a server that does not start fails the test. */
RcTestRedis *rc_test_redis_start_checked (void);

/* Stops the server (SIGTERM, then SIGKILL after 5 s) if it runs, deletes its
 * directory and frees @redis. NULL is ignored. */
void rc_test_redis_stop (RcTestRedis *redis);

/* Stops the server if it runs (cleanly: data is kept) and starts it again on
 * the same port with the same directory. Also brings back a killed server. */
gboolean rc_test_redis_restart (RcTestRedis *redis, GError **error);

/* SIGKILL, for outage tests; the port is then closed until a restart. */
void rc_test_redis_kill (RcTestRedis *redis);

/* SIGSTOP / SIGCONT: the server keeps its connections but stops answering. */
void rc_test_redis_pause (RcTestRedis *redis);
void rc_test_redis_resume (RcTestRedis *redis);

/* Runs one command (its words, NULL-terminated) on a fresh connection, as a
 * hand with redis-cli would, e.g. to write what an older build stored. Returns
 * a string, status or integer reply as text, NULL for nil; fails the test on
 * a connection or command error. */
char *rc_test_redis_call (RcTestRedis *redis, const char *word, ...) G_GNUC_NULL_TERMINATED;

gboolean rc_test_redis_is_running (RcTestRedis *redis);
guint rc_test_redis_get_port (RcTestRedis *redis);
/* "redis://127.0.0.1:PORT/0" */
const char *rc_test_redis_get_uri (RcTestRedis *redis);
const char *rc_test_redis_get_dir (RcTestRedis *redis);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTestRedis, rc_test_redis_stop)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <hiredis/async.h>

G_BEGIN_DECLS

/*
 * RcRedisLink: one hiredis async connection that keeps itself up. It
 * connects, turns TCP keepalive on, runs the handshake (PING, then SELECT
 * of the database; a server still loading answers -LOADING and is retried),
 * drops a handshake that does not finish within the timeout, and reconnects
 * with a backoff of 100 ms to 5 s. The store's link and the cluster relay's
 * two links are each one of these. Main context only.
 */
typedef struct _RcRedisLink RcRedisLink;

/* The handshake is done: @ac takes commands until @lost is called. */
typedef void (*RcRedisLinkUpFunc) (RcRedisLink *link, redisAsyncContext *ac, gpointer user_data);
/*
 * The link went down (or a connect failed) for @reason: every command
 * callback of the old context has run already (with a NULL reply), and a
 * reconnect is scheduled.
 */
typedef void (*RcRedisLinkLostFunc) (RcRedisLink *link, const char *reason, gpointer user_data);

/* @name shows in logs and source names. Nothing happens before _start. */
RcRedisLink *rc_redis_link_new (const char *host, guint port, guint db, guint timeout_ms,
                                const char *name, RcRedisLinkUpFunc up, RcRedisLinkLostFunc lost,
                                gpointer user_data);
/* Connects now (@lost may run before this returns). */
void rc_redis_link_start (RcRedisLink *link);
/* Tears the link down without calling @lost; pending command callbacks run
 * with a NULL reply from inside. */
void rc_redis_link_free (RcRedisLink *link);

/* The context while up, else NULL. */
redisAsyncContext *rc_redis_link_get (RcRedisLink *link);
/* While down: the next try in 100 ms instead of after the backoff (someone
 * waits for Redis now). */
void rc_redis_link_retry_soon (RcRedisLink *link);
/* The backoff before the next try, for logs. */
guint rc_redis_link_get_backoff_ms (RcRedisLink *link);

G_END_DECLS

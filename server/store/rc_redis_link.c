/* SPDX-License-Identifier: MIT */
/*
 * One Redis connection that comes back by itself. The store and the cluster
 * relay each need a link that survives Redis restarts; the connecting, the
 * handshake and the backoff live here once and each user keeps only what it
 * does when the link comes up (replay its backlog, subscribe) or goes down.
 * Ordering rule: hiredis runs every pending command callback (NULL reply)
 * before the closed hook, so by the time @lost runs nothing of the old
 * context is outstanding.
 */
#include "server/store/rc_redis_link.h"
#include "server/store/rc_redis_source.h"
#include "pipelines/rc_defer.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct _RcRedisLink
{
  GMainContext *context;
  char *host;
  guint port;
  guint db;
  guint timeout_ms;
  char *name;
  RcRedisLinkUpFunc up;
  RcRedisLinkLostFunc lost;
  gpointer user_data;

  redisAsyncContext *ac; /* NULL while down */
  gboolean is_up;        /* the handshake finished on @ac */
  gboolean pinged;       /* handshake: PING answered */
  gboolean freeing;      /* hiredis callbacks run during redisAsyncFree() in _free */
  char *handshake_error;
  GSource *reconnect_source;
  GSource *handshake_timeout_source;
  guint backoff_ms;
};

static void link_connect (RcRedisLink *link);

static GSource *
add_timeout (RcRedisLink *link, guint ms, GSourceFunc func, const char *what)
{
  GSource *source = g_timeout_source_new (ms);
  g_autofree char *name = g_strdup_printf ("%s %s", link->name, what);

  g_source_set_name (source, name);
  g_source_set_callback (source, func, link, NULL);
  g_source_attach (source, link->context);
  return source;
}

static gboolean
on_reconnect_timeout (gpointer data)
{
  RcRedisLink *link = data;

  rc_source_clear (&link->reconnect_source);
  link_connect (link);
  return G_SOURCE_REMOVE;
}

/* The link is gone (or never came up): tell the user, retry later. */
static void
link_down (RcRedisLink *link, const char *reason)
{
  link->ac = NULL;
  link->is_up = FALSE;
  rc_source_clear (&link->handshake_timeout_source);
  link->lost (link, reason, link->user_data);
  link->reconnect_source =
    add_timeout (link, link->backoff_ms, on_reconnect_timeout, "reconnect");
  link->backoff_ms = MIN (link->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void
on_closed (redisAsyncContext *ac, gpointer user_data)
{
  RcRedisLink *link = user_data;
  const char *reason;

  if (link->freeing || ac != link->ac)
    return;
  if (ac->errstr[0] != '\0')
    reason = ac->errstr;
  else if (link->handshake_error != NULL)
    reason = link->handshake_error;
  else
    reason = "connection closed";
  link_down (link, reason);
}

/* Called from a hiredis callback: hiredis frees @ac once it returns. */
static void
handshake_abort (RcRedisLink *link, redisAsyncContext *ac, const char *why)
{
  g_free (link->handshake_error);
  link->handshake_error = g_strdup (why);
  redisAsyncFree (ac);
}

static void
on_handshake_ping (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  RcRedisLink *link = privdata;
  const redisReply *reply = reply_data;

  if (reply == NULL || link->freeing)
    return;
  if (reply->type == REDIS_REPLY_ERROR)
    handshake_abort (link, ac, reply->str); /* e.g. LOADING: try again later */
  else
    link->pinged = TRUE;
}

static void
on_handshake_select (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  RcRedisLink *link = privdata;
  const redisReply *reply = reply_data;

  if (reply == NULL || link->freeing || !link->pinged)
    return;
  if (reply->type == REDIS_REPLY_ERROR)
    {
      handshake_abort (link, ac, reply->str);
      return;
    }
  rc_source_clear (&link->handshake_timeout_source);
  link->is_up = TRUE;
  link->backoff_ms = BACKOFF_MIN_MS;
  link->up (link, ac, link->user_data);
}

static gboolean
on_handshake_timeout (gpointer data)
{
  RcRedisLink *link = data;
  redisAsyncContext *ac = link->ac;

  rc_source_clear (&link->handshake_timeout_source);
  if (ac == NULL)
    return G_SOURCE_REMOVE;
  g_free (link->handshake_error);
  link->handshake_error = g_strdup_printf ("no answer within %u ms", link->timeout_ms);
  /* Not inside hiredis: frees now, and on_closed() runs from inside. */
  redisAsyncFree (ac);
  return G_SOURCE_REMOVE;
}

/* Lets the kernel notice a peer that vanished without closing the link. */
static void
enable_keepalive (int fd)
{
  int on = 1;

  (void) setsockopt (fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
#ifdef TCP_KEEPIDLE
  {
    int idle = 15, interval = 5, count = 3;

    (void) setsockopt (fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void) setsockopt (fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    (void) setsockopt (fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  }
#endif
}

static void
link_connect (RcRedisLink *link)
{
  g_autofree char *db = g_strdup_printf ("%u", link->db);
  const char *select_argv[] = { "SELECT", db };
  const size_t select_lens[] = { strlen ("SELECT"), strlen (db) };
  redisAsyncContext *ac;

  /* Resolving a host name blocks; an address or /etc/hosts name does not. */
  ac = redisAsyncConnect (link->host, (int) link->port);
  if (ac == NULL || ac->err)
    {
      g_autofree char *why = g_strdup (ac ? ac->errstr : "out of memory");

      if (ac != NULL)
        redisAsyncFree (ac);
      link_down (link, why);
      return;
    }
  enable_keepalive (ac->c.fd);
  link->ac = ac;
  link->is_up = FALSE;
  link->pinged = FALSE;
  g_clear_pointer (&link->handshake_error, g_free);
  rc_redis_source_attach (ac, link->context, on_closed, link);

  redisAsyncCommand (ac, on_handshake_ping, link, "PING");
  redisAsyncCommandArgv (ac, on_handshake_select, link, 2, select_argv, select_lens);
  link->handshake_timeout_source =
    add_timeout (link, link->timeout_ms, on_handshake_timeout, "handshake");
}

RcRedisLink *
rc_redis_link_new (const char *host, guint port, guint db, guint timeout_ms, const char *name,
                   RcRedisLinkUpFunc up, RcRedisLinkLostFunc lost, gpointer user_data)
{
  RcRedisLink *link = g_new0 (RcRedisLink, 1);

  link->context = g_main_context_ref_thread_default ();
  link->host = g_strdup (host);
  link->port = port;
  link->db = db;
  link->timeout_ms = timeout_ms;
  link->name = g_strdup (name);
  link->up = up;
  link->lost = lost;
  link->user_data = user_data;
  link->backoff_ms = BACKOFF_MIN_MS;
  return link;
}

void
rc_redis_link_start (RcRedisLink *link)
{
  if (link->ac == NULL && link->reconnect_source == NULL)
    link_connect (link);
}

void
rc_redis_link_free (RcRedisLink *link)
{
  if (link == NULL)
    return;
  link->freeing = TRUE;
  rc_source_clear (&link->reconnect_source);
  rc_source_clear (&link->handshake_timeout_source);
  if (link->ac != NULL)
    redisAsyncFree (g_steal_pointer (&link->ac));
  g_main_context_unref (link->context);
  g_free (link->handshake_error);
  g_free (link->host);
  g_free (link->name);
  g_free (link);
}

redisAsyncContext *
rc_redis_link_get (RcRedisLink *link)
{
  return link->is_up ? link->ac : NULL;
}

void
rc_redis_link_retry_soon (RcRedisLink *link)
{
  if (link->ac != NULL || link->reconnect_source == NULL || link->backoff_ms <= BACKOFF_MIN_MS)
    return;
  rc_source_clear (&link->reconnect_source);
  link->backoff_ms = BACKOFF_MIN_MS;
  link->reconnect_source =
    add_timeout (link, BACKOFF_MIN_MS, on_reconnect_timeout, "reconnect");
}

guint
rc_redis_link_get_backoff_ms (RcRedisLink *link)
{
  return link->backoff_ms;
}

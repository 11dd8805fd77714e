/* SPDX-License-Identifier: MIT */
/*
 * The Redis backend of RcStore: each store call becomes one to four Redis
 * commands on a single hiredis async connection driven by the main context
 * (rc_redis_source.c). Why it is built the way it is:
 *
 *  - Order. All commands share one connection, so Redis applies them in call
 *    order and a read's reply comes after every earlier write. While the link
 *    is down, writes wait in `backlog`; a new link replays the backlog before
 *    anything issued later.
 *  - At-least-once. A write stays in `sent` until Redis has answered each of
 *    its commands. If the link dies first, it goes back to the head of the
 *    backlog and is replayed. SET, DEL, SADD, SREM, ZADD and list_replace are
 *    idempotent; list_push (RPUSH) is not, so a push whose reply was lost
 *    with the link can appear twice (the LTRIM cap still bounds the list).
 *  - Outage. Writes are kept up to MAX_BUFFERED_WRITES (then the oldest are
 *    dropped and counted); reads and syncs fail at once, from an idle, with
 *    RC_ERROR_STORE_UNAVAILABLE. Reconnects back off 100 ms to 5 s (a sync
 *    restarts the backoff: its caller retries and waits for Redis). The
 *    link's connecting, handshake and backoff are RcRedisLink's
 *    (rc_redis_link.c); a link whose handshake does not finish within the
 *    connect timeout is dropped;
 *    commands on a live link have no timeout (TCP keepalive catches a peer
 *    that vanished, not one that hangs).
 *  - Handshake. A new link carries PING then SELECT. Only when PING answered
 *    PONG (a server still loading its data answers -LOADING: we drop the link
 *    and retry) and SELECT succeeded is the backlog replayed.
 *  - Lifetime. Each pending read or sync holds a reference on the store, as in
 *    the memory backend, so its callback runs exactly once, from an idle on
 *    the store's main context, never inside the call. Writes hold none:
 *    dropping the last reference discards writes Redis has not acknowledged;
 *    a caller that cares calls rc_store_sync() and unrefs in its callback.
 *    hiredis callbacks never run caller code, so the store is never finalized
 *    from inside hiredis.
 */
#include "server/store/rc_store-private.h"
#include "pipelines/rc_defer.h"
#include "server/store/rc_redis_link.h"
#include "server/core/rc_error.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <signal.h>
#include <string.h>

#define MAX_CMDS 4 /* list_replace: MULTI, DEL, RPUSH, EXEC */
#define MAX_BUFFERED_WRITES 100000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define ERROR_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (redisReply, freeReplyObject)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (redisContext, redisFree)

typedef enum
{
  REQ_WRITE,
  REQ_GET,
  REQ_LIST,    /* LRANGE, ZREVRANGE: order as Redis gives it */
  REQ_MEMBERS, /* SMEMBERS: sorted bytewise before delivery */
  REQ_SYNC,
  REQ_EVAL,    /* a script's reply, as strings */
} RequestKind;

typedef struct
{
  RequestKind kind;
  guint n_cmds;
  guint n_replies; /* replies received on the current link */
  gboolean fenced; /* a write wrapped in the fence script (rc_store_fence) */
  gboolean refused; /* ... which Redis refused: counted once */
  gsize lens[MAX_CMDS];
  char *buf; /* n_cmds RESP-encoded commands, back to back */

  /* Reads and syncs only. */
  RcStore *store; /* strong reference, dropped with the request */
  RcStoreStringFunc string_func;
  RcStoreListFunc list_func;
  RcStoreSyncFunc sync_func;
  gpointer user_data;
  char *string;
  GPtrArray *list;
  GError *error;
} Request;

typedef struct
{
  RcStore parent;
  GMainContext *context;
  char *host;
  guint port;
  guint db;
  guint timeout_ms;
  char *address; /* "host:port", for messages */

  RcRedisLink *link;
  redisAsyncContext *ac; /* the link's context while it is up, else NULL */
  gboolean starting;   /* no link has failed since _new(): reads wait instead of failing */
  gboolean outage;     /* a loss was logged and no link has come up since */
  gboolean finalizing; /* hiredis callbacks run during redisAsyncFree() in finalize */

  GQueue backlog; /* Request*, not sent yet, in call order */
  guint backlog_writes;
  GQueue sent;     /* Request* (writes only), sent on ac, not fully answered */
  guint64 dropped; /* writes dropped from a full backlog since the last link came up */

  gint64 last_error_log; /* rate limit for "Redis rejected a write" */
  guint suppressed_errors;
} RcStoreRedis;

#define REDIS(store) ((RcStoreRedis *) (store))

/* ---- requests ---------------------------------------------------------- */

static Request *
request_new (RcStoreRedis *self, RequestKind kind)
{
  Request *req = g_new0 (Request, 1);

  req->kind = kind;
  if (kind != REQ_WRITE)
    req->store = rc_store_ref (&self->parent);
  return req;
}

static void
request_free (gpointer data)
{
  Request *req = data;

  g_free (req->buf);
  g_free (req->string);
  g_clear_pointer (&req->list, g_ptr_array_unref);
  g_clear_error (&req->error);
  if (req->store != NULL)
    rc_store_unref (req->store);
  g_free (req);
}

/* Appends one binary-safe command (explicit lengths, like hiredis' %b). */
static void
request_add (Request *req, GString *out, int argc, const char **argv)
{
  g_autofree size_t *lens = g_new (size_t, argc);
  char *cmd = NULL;
  int len;

  g_return_if_fail (req->n_cmds < MAX_CMDS);
  for (int i = 0; i < argc; i++)
    lens[i] = strlen (argv[i]);
  len = redisFormatCommandArgv (&cmd, argc, argv, lens);
  if (len < 0)
    g_error ("Out of memory formatting a Redis command");
  g_string_append_len (out, cmd, len);
  redisFreeCommand (cmd);
  req->lens[req->n_cmds++] = (gsize) len;
}

/*
 * A write to a fenced key runs inside this script, so the epoch check and
 * the write are one atomic step in Redis: KEYS[1] the fence, KEYS[2] the
 * key, ARGV[1] the epoch, ARGV[2] the command, then its other words. A nil
 * reply (no write command answers nil) means refused.
 */
static const char fence_script[] =
  "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end "
  "return redis.call(ARGV[2], KEYS[2], unpack(ARGV, 3))";

/* Appends a write command whose key is argv[1], fenced if its key is; FALSE
 * when its fence drops it here (epoch 0). */
static gboolean
request_add_write (RcStoreRedis *self, Request *req, GString *out, int argc, const char **argv)
{
  const RcStoreFence *fence;
  g_autofree const char **wrapped = NULL;

  if (!rc_store_fence_for (&self->parent, argv[1], &fence))
    return FALSE;
  if (fence == NULL)
    {
      request_add (req, out, argc, argv);
      return TRUE;
    }
  wrapped = g_new (const char *, argc + 5);
  wrapped[0] = "EVAL";
  wrapped[1] = fence_script;
  wrapped[2] = "2";
  wrapped[3] = fence->fence_key;
  wrapped[4] = argv[1];
  wrapped[5] = fence->epoch;
  wrapped[6] = argv[0];
  for (int i = 2; i < argc; i++)
    wrapped[i + 5] = argv[i];
  request_add (req, out, argc + 5, wrapped);
  req->fenced = TRUE;
  return TRUE;
}

static void
request_seal (Request *req, GString *out)
{
  req->buf = g_string_free (out, FALSE);
}

static gboolean
request_dispatch (gpointer data)
{
  Request *req = data;
  const GError *error = req->error;

  switch (req->kind)
    {
    case REQ_GET:
      req->string_func (req->store, error ? NULL : req->string, error, req->user_data);
      break;
    case REQ_LIST:
    case REQ_MEMBERS:
    case REQ_EVAL:
      if (error == NULL && req->list == NULL)
        req->list = g_ptr_array_new_with_free_func (g_free);
      req->list_func (req->store, error ? NULL : req->list, error, req->user_data);
      break;
    case REQ_SYNC:
      req->sync_func (req->store, error, req->user_data);
      break;
    case REQ_WRITE:
      g_assert_not_reached ();
    }
  return G_SOURCE_REMOVE;
}

/* Delivers a read or sync result from an idle: never inside the caller. */
static void
complete_later (RcStoreRedis *self, Request *req)
{
  rc_defer (self->context, G_PRIORITY_DEFAULT, request_dispatch, req, request_free);
}

static void
fail_later (RcStoreRedis *self, Request *req, const char *reason)
{
  g_clear_error (&req->error);
  req->error = g_error_new (RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                            "Redis at %s is unavailable: %s", self->address, reason);
  complete_later (self, req);
}

static int
str_ptr_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A script's scalar reply as text: integers in decimal, nil (and nested
 * arrays, which our scripts never return) as "". */
static char *
reply_to_string (const redisReply *reply)
{
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
    return g_strndup (reply->str, reply->len);
  if (reply->type == REDIS_REPLY_INTEGER)
    return g_strdup_printf ("%lld", reply->integer);
  return g_strdup ("");
}

/* Fills req->string / req->list / req->error from a non-NULL reply. */
static void
request_take_reply (RcStoreRedis *self, Request *req, const redisReply *reply)
{
  if (reply->type == REDIS_REPLY_ERROR)
    {
      req->error = g_error_new (RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                                "Redis at %s answered: %s", self->address, reply->str);
      return;
    }
  switch (req->kind)
    {
    case REQ_GET:
      if (reply->type == REDIS_REPLY_STRING)
        req->string = g_strndup (reply->str, reply->len);
      else if (reply->type != REDIS_REPLY_NIL)
        goto unexpected;
      return;
    case REQ_LIST:
    case REQ_MEMBERS:
      if (reply->type != REDIS_REPLY_ARRAY)
        goto unexpected;
      req->list = g_ptr_array_new_full (reply->elements, g_free);
      for (size_t i = 0; i < reply->elements; i++)
        {
          const redisReply *e = reply->element[i];

          if (e->type != REDIS_REPLY_STRING)
            goto unexpected;
          g_ptr_array_add (req->list, g_strndup (e->str, e->len));
        }
      if (req->kind == REQ_MEMBERS)
        g_ptr_array_sort (req->list, str_ptr_cmp);
      return;
    case REQ_SYNC:
      return;
    case REQ_EVAL:
      req->list = g_ptr_array_new_with_free_func (g_free);
      if (reply->type != REDIS_REPLY_ARRAY)
        g_ptr_array_add (req->list, reply_to_string (reply));
      else
        for (size_t i = 0; i < reply->elements; i++)
          g_ptr_array_add (req->list, reply_to_string (reply->element[i]));
      return;
    case REQ_WRITE:
      break;
    }
unexpected:
  g_clear_pointer (&req->list, g_ptr_array_unref);
  req->error = g_error_new (RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                            "Redis at %s sent an unexpected reply (type %d)", self->address,
                            reply->type);
}

/* ---- writes ------------------------------------------------------------ */

static void
log_rejected_write (RcStoreRedis *self, const char *message)
{
  gint64 now = g_get_monotonic_time ();

  if (self->last_error_log != 0 && now - self->last_error_log < ERROR_LOG_INTERVAL_US)
    {
      self->suppressed_errors++;
      return;
    }
  if (self->suppressed_errors > 0)
    g_warning ("Redis at %s rejected a write: %s (%u more since the last report)",
               self->address, message, self->suppressed_errors);
  else
    g_warning ("Redis at %s rejected a write: %s", self->address, message);
  self->last_error_log = now;
  self->suppressed_errors = 0;
}

static void
on_write_reply (RcStoreRedis *self, Request *req, const redisReply *reply)
{
  /* NULL: the link died or the store is being freed. The write stays in
   * `sent`; link_lost() puts it back in the backlog for replay. */
  if (reply == NULL)
    return;

  if (reply->type == REDIS_REPLY_ERROR)
    log_rejected_write (self, reply->str);
  else if (reply->type == REDIS_REPLY_ARRAY) /* EXEC: one reply per queued command */
    for (size_t i = 0; i < reply->elements; i++)
      {
        if (reply->element[i]->type == REDIS_REPLY_ERROR)
          log_rejected_write (self, reply->element[i]->str);
        else if (req->fenced && reply->element[i]->type == REDIS_REPLY_NIL)
          req->refused = TRUE;
      }
  else if (req->fenced && reply->type == REDIS_REPLY_NIL)
    req->refused = TRUE;

  if (++req->n_replies < req->n_cmds)
    return;
  if (req->refused)
    self->parent.fenced_refused++;
  /* Replies come in order, so this is the head of `sent`. */
  g_queue_remove (&self->sent, req);
  request_free (req);
}

static void
on_reply (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  RcStoreRedis *self = ac->data;
  Request *req = privdata;
  const redisReply *reply = reply_data;

  if (req->kind == REQ_WRITE)
    {
      on_write_reply (self, req, reply);
      return;
    }
  if (reply == NULL)
    {
      fail_later (self, req, "connection lost before the reply");
      return;
    }
  request_take_reply (self, req, reply);
  complete_later (self, req);
}

static void
send_request (RcStoreRedis *self, Request *req)
{
  gsize offset = 0;

  req->n_replies = 0;
  if (req->kind == REQ_WRITE)
    g_queue_push_tail (&self->sent, req);
  for (guint i = 0; i < req->n_cmds; i++)
    {
      if (redisAsyncFormattedCommand (self->ac, on_reply, req, req->buf + offset, req->lens[i])
          != REDIS_OK)
        {
          /* hiredis refuses only while tearing the link down. A write is
           * already in `sent` and gets replayed; a read has one command. */
          if (req->kind != REQ_WRITE)
            fail_later (self, req, "connection closing");
          return;
        }
      offset += req->lens[i];
    }
}

/* Drops the oldest buffered writes beyond the cap. */
static void
backlog_trim (RcStoreRedis *self)
{
  while (self->backlog_writes > MAX_BUFFERED_WRITES)
    {
      GList *l = self->backlog.head;

      while (l != NULL && ((Request *) l->data)->kind != REQ_WRITE)
        l = l->next;
      if (l == NULL)
        break;
      request_free (l->data);
      g_queue_delete_link (&self->backlog, l);
      self->backlog_writes--;
      if (self->dropped++ == 0)
        g_warning ("Redis at %s still unreachable with %u writes buffered: dropping the oldest",
                   self->address, (guint) MAX_BUFFERED_WRITES);
    }
}

static void
submit (RcStoreRedis *self, Request *req)
{
  if (self->ac != NULL)
    send_request (self, req);
  else if (req->kind == REQ_WRITE)
    {
      g_queue_push_tail (&self->backlog, req);
      self->backlog_writes++;
      backlog_trim (self);
    }
  else if (self->starting)
    g_queue_push_tail (&self->backlog, req); /* answered once the first link is up */
  else
    fail_later (self, req, "not connected");
}

/* ---- the link ---------------------------------------------------------- */

/* The link is gone (or never came up): keep its unanswered writes. */
static void
on_link_lost (RcRedisLink *link, const char *reason, gpointer user_data)
{
  RcStoreRedis *self = user_data;
  guint requeued = 0;
  Request *req;

  self->ac = NULL;

  /* Unanswered writes go back in front of newer ones, in their order. */
  while ((req = g_queue_pop_tail (&self->sent)) != NULL)
    {
      g_queue_push_head (&self->backlog, req);
      self->backlog_writes++;
      requeued++;
    }
  backlog_trim (self);

  /* Reads that waited for the first link fail now; later ones never wait. */
  if (self->starting)
    for (GList *l = self->backlog.head, *next; l != NULL; l = next)
      {
        next = l->next;
        req = l->data;
        if (req->kind == REQ_WRITE)
          continue;
        g_queue_delete_link (&self->backlog, l);
        fail_later (self, req, reason);
      }
  self->starting = FALSE;

  if (!self->outage)
    {
      self->outage = TRUE;
      g_warning ("Lost connection to Redis at %s (%s); buffering writes and reconnecting",
                 self->address, reason);
    }
  else
    g_debug ("Redis at %s: reconnect failed (%s), next try in %u ms", self->address, reason,
             rc_redis_link_get_backoff_ms (link));
  if (requeued > 0)
    g_debug ("Redis at %s: %u unanswered writes queued for replay", self->address, requeued);
}

/* Handshake done: replay the backlog, then new calls go straight out. */
static void
on_link_up (RcRedisLink *link, redisAsyncContext *ac, gpointer user_data)
{
  RcStoreRedis *self = user_data;
  gboolean reconnected = self->outage;
  guint replayed = 0;
  Request *req;

  ac->data = self;
  self->ac = ac;
  self->starting = FALSE;
  self->outage = FALSE;
  self->parent.reconnects += reconnected ? 1 : 0;

  while ((req = g_queue_pop_head (&self->backlog)) != NULL)
    {
      if (req->kind == REQ_WRITE)
        {
          self->backlog_writes--;
          replayed++;
        }
      send_request (self, req);
    }

  if (reconnected && self->dropped > 0)
    g_message ("Redis reconnected, replayed %u writes, dropped %" G_GUINT64_FORMAT
               " (buffer full) (%s)", replayed, self->dropped, self->address);
  else if (reconnected)
    g_message ("Redis reconnected, replayed %u writes (%s)", replayed, self->address);
  self->dropped = 0;
}

/* ---- the vtable -------------------------------------------------------- */

static void
redis_finalize (RcStore *store)
{
  RcStoreRedis *self = REDIS (store);
  guint unacked = g_queue_get_length (&self->sent) + self->backlog_writes;

  self->finalizing = TRUE;
  g_clear_pointer (&self->link, rc_redis_link_free);
  self->ac = NULL;
  if (unacked > 0)
    g_debug ("Redis at %s: store freed with %u writes not acknowledged", self->address,
             unacked);

  /* Pending reads hold references, so only writes are left here. */
  g_queue_clear_full (&self->sent, request_free);
  g_queue_clear_full (&self->backlog, request_free);
  g_free (self->address);
  g_free (self->host);
  g_main_context_unref (self->context);
  g_free (self);
}

static gboolean
redis_is_connected (RcStore *store)
{
  RcStoreRedis *self = REDIS (store);

  return self->ac != NULL || self->starting;
}

static guint
redis_pending_writes (RcStore *store)
{
  RcStoreRedis *self = REDIS (store);

  return self->backlog_writes + g_queue_get_length (&self->sent);
}

/* Submits a write built in @out, or frees it when its fence dropped it. */
static void
submit_write (RcStoreRedis *self, Request *req, GString *out, gboolean allowed)
{
  if (!allowed)
    {
      g_string_free (out, TRUE);
      request_free (req);
      return;
    }
  request_seal (req, out);
  submit (self, req);
}

static void
submit_write1 (RcStoreRedis *self, int argc, const char **argv)
{
  Request *req = request_new (self, REQ_WRITE);
  GString *out = g_string_new (NULL);

  submit_write (self, req, out, request_add_write (self, req, out, argc, argv));
}

static void
redis_set (RcStore *store, const char *key, const char *value)
{
  const char *argv[] = { "SET", key, value };

  submit_write1 (REDIS (store), G_N_ELEMENTS (argv), argv);
}

static void
redis_del (RcStore *store, const char *key)
{
  const char *argv[] = { "DEL", key };

  submit_write1 (REDIS (store), G_N_ELEMENTS (argv), argv);
}

static void
redis_list_push (RcStore *store, const char *key, const char *value, guint cap)
{
  RcStoreRedis *self = REDIS (store);
  Request *req = request_new (self, REQ_WRITE);
  GString *out = g_string_new (NULL);
  g_autofree char *first = g_strdup_printf ("-%u", cap);
  const char *push[] = { "RPUSH", key, value };
  const char *trim[] = { "LTRIM", key, first, "-1" };
  gboolean allowed;

  /* Pipelined on one link, so nothing of ours runs in between. */
  allowed = request_add_write (self, req, out, G_N_ELEMENTS (push), push);
  if (allowed && cap > 0)
    request_add_write (self, req, out, G_N_ELEMENTS (trim), trim);
  submit_write (self, req, out, allowed);
}

static void
redis_list_replace (RcStore *store, const char *key, const char *const *values, guint n_values)
{
  RcStoreRedis *self = REDIS (store);
  Request *req;
  GString *out;
  g_autofree const char **push = NULL;
  const char *multi[] = { "MULTI" };
  const char *del[] = { "DEL", key };
  const char *exec[] = { "EXEC" };

  if (n_values == 0)
    {
      submit_write1 (self, G_N_ELEMENTS (del), del);
      return;
    }
  push = g_new (const char *, n_values + 2);
  push[0] = "RPUSH";
  push[1] = key;
  memcpy (push + 2, values, n_values * sizeof (char *));

  req = request_new (self, REQ_WRITE);
  out = g_string_new (NULL);
  request_add (req, out, G_N_ELEMENTS (multi), multi);
  if (!request_add_write (self, req, out, G_N_ELEMENTS (del), del))
    {
      submit_write (self, req, out, FALSE);
      return;
    }
  request_add_write (self, req, out, (int) n_values + 2, push);
  request_add (req, out, G_N_ELEMENTS (exec), exec);
  submit_write (self, req, out, TRUE);
}

static void
redis_set_add (RcStore *store, const char *key, const char *member)
{
  const char *argv[] = { "SADD", key, member };

  submit_write1 (REDIS (store), G_N_ELEMENTS (argv), argv);
}

static void
redis_set_remove (RcStore *store, const char *key, const char *member)
{
  const char *argv[] = { "SREM", key, member };

  submit_write1 (REDIS (store), G_N_ELEMENTS (argv), argv);
}

static void
redis_zset_add (RcStore *store, const char *key, double score, const char *member, guint cap)
{
  RcStoreRedis *self = REDIS (store);
  Request *req = request_new (self, REQ_WRITE);
  GString *out = g_string_new (NULL);
  char score_str[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *last = g_strdup_printf ("-%" G_GUINT64_FORMAT, (guint64) cap + 1);
  const char *add[] = { "ZADD", key, score_str, member };
  const char *trim[] = { "ZREMRANGEBYRANK", key, "0", last };
  gboolean allowed;

  g_ascii_dtostr (score_str, sizeof score_str, score); /* round-trips exactly */
  allowed = request_add_write (self, req, out, G_N_ELEMENTS (add), add);
  if (allowed && cap > 0)
    request_add_write (self, req, out, G_N_ELEMENTS (trim), trim);
  submit_write (self, req, out, allowed);
}

static Request *
read_request (RcStoreRedis *self, RequestKind kind, gpointer user_data, int argc,
              const char **argv)
{
  Request *req = request_new (self, kind);
  GString *out = g_string_new (NULL);

  req->user_data = user_data;
  request_add (req, out, argc, argv);
  request_seal (req, out);
  return req;
}

static void
redis_get (RcStore *store, const char *key, RcStoreStringFunc func, gpointer user_data)
{
  const char *argv[] = { "GET", key };
  Request *req = read_request (REDIS (store), REQ_GET, user_data, G_N_ELEMENTS (argv), argv);

  req->string_func = func;
  submit (REDIS (store), req);
}

static void
redis_list_range (RcStore *store, const char *key, gint64 start, gint64 stop,
                  RcStoreListFunc func, gpointer user_data)
{
  g_autofree char *from = g_strdup_printf ("%" G_GINT64_FORMAT, start);
  g_autofree char *to = g_strdup_printf ("%" G_GINT64_FORMAT, stop);
  const char *argv[] = { "LRANGE", key, from, to };
  Request *req = read_request (REDIS (store), REQ_LIST, user_data, G_N_ELEMENTS (argv), argv);

  req->list_func = func;
  submit (REDIS (store), req);
}

static void
redis_set_members (RcStore *store, const char *key, RcStoreListFunc func, gpointer user_data)
{
  const char *argv[] = { "SMEMBERS", key };
  Request *req =
    read_request (REDIS (store), REQ_MEMBERS, user_data, G_N_ELEMENTS (argv), argv);

  req->list_func = func;
  submit (REDIS (store), req);
}

static void
redis_zset_range_rev (RcStore *store, const char *key, gint64 start, gint64 stop,
                      RcStoreListFunc func, gpointer user_data)
{
  g_autofree char *from = g_strdup_printf ("%" G_GINT64_FORMAT, start);
  g_autofree char *to = g_strdup_printf ("%" G_GINT64_FORMAT, stop);
  const char *argv[] = { "ZREVRANGE", key, from, to };
  Request *req = read_request (REDIS (store), REQ_LIST, user_data, G_N_ELEMENTS (argv), argv);

  req->list_func = func;
  submit (REDIS (store), req);
}

/*
 * PING is answered after every command sent before it on the link. While the
 * link is down the sync fails at once as before, but it also cuts the
 * reconnect backoff short: whoever syncs (a shutdown flushing its writes) is
 * waiting for Redis now, and retries, so a Redis that is back is noticed
 * within ~100 ms instead of after up to 5 s of backoff.
 */
static void
redis_sync (RcStore *store, RcStoreSyncFunc func, gpointer user_data)
{
  RcStoreRedis *self = REDIS (store);
  const char *argv[] = { "PING" };
  Request *req = read_request (self, REQ_SYNC, user_data, G_N_ELEMENTS (argv), argv);

  req->sync_func = func;
  submit (self, req);
  rc_redis_link_retry_soon (self->link);
}

static void
redis_eval (RcStore *store, const char *script, guint n_keys, const char *const *argv,
            guint argc, RcStoreListFunc func, gpointer user_data)
{
  g_autofree char *keys = g_strdup_printf ("%u", n_keys);
  g_autofree const char **words = g_new (const char *, argc + 3);
  Request *req;

  words[0] = "EVAL";
  words[1] = script;
  words[2] = keys;
  if (argc > 0)
    memcpy (words + 3, argv, argc * sizeof (char *));
  req = read_request (REDIS (store), REQ_EVAL, user_data, (int) argc + 3, words);
  req->list_func = func;
  submit (REDIS (store), req);
}

static RcRedisLink *
redis_open_link (RcStore *store, const char *name, RcRedisLinkUpFunc up, RcRedisLinkLostFunc lost,
                 gpointer user_data)
{
  RcStoreRedis *self = REDIS (store);
  RcRedisLink *link =
    rc_redis_link_new (self->host, self->port, self->db, self->timeout_ms, name, up, lost, user_data);

  rc_redis_link_start (link);
  return link;
}

static const RcStoreClass redis_class = {
  .backend = RC_STORE_BACKEND_REDIS,
  .name = "redis",
  .finalize = redis_finalize,
  .open_link = redis_open_link,
  .is_connected = redis_is_connected,
  .pending_writes = redis_pending_writes,
  .set = redis_set,
  .del = redis_del,
  .list_push = redis_list_push,
  .list_replace = redis_list_replace,
  .set_add = redis_set_add,
  .set_remove = redis_set_remove,
  .zset_add = redis_zset_add,
  .get = redis_get,
  .list_range = redis_list_range,
  .set_members = redis_set_members,
  .zset_range_rev = redis_zset_range_rev,
  .sync = redis_sync,
  .eval = redis_eval,
};

/* ---- construction ------------------------------------------------------ */

/*
 * hiredis writes with write(2), so a Redis that dies under us would kill the
 * process with SIGPIPE. Ignore it unless the program installed a handler.
 */
static void
ignore_sigpipe (void)
{
  struct sigaction old;

  if (sigaction (SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO)
      && old.sa_handler == SIG_DFL)
    {
      struct sigaction ign;

      memset (&ign, 0, sizeof ign);
      ign.sa_handler = SIG_IGN;
      sigemptyset (&ign.sa_mask);
      sigaction (SIGPIPE, &ign, NULL);
    }
}

static gboolean
probe_command (redisContext *c, const char *address, int argc, const char **argv,
               GError **error)
{
  g_autoptr (redisReply) reply = redisCommandArgv (c, argc, argv, NULL);

  if (reply == NULL)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                   "Cannot reach Redis at %s: %s", address, c->errstr);
      return FALSE;
    }
  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                   "Redis at %s refused %s: %s", address, argv[0], reply->str);
      return FALSE;
    }
  return TRUE;
}

/* A blocking check at start-up, so a wrong address fails the server at once. */
static gboolean
probe (const char *host, guint port, guint db, guint timeout_ms, const char *address,
       GError **error)
{
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  g_autoptr (redisContext) c = redisConnectWithTimeout (host, (int) port, tv);
  g_autofree char *db_str = g_strdup_printf ("%u", db);
  const char *ping[] = { "PING" };
  const char *select_argv[] = { "SELECT", db_str };

  if (c == NULL || c->err)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE, "Cannot reach Redis at %s: %s",
                   address, c ? c->errstr : "out of memory");
      return FALSE;
    }
  if (redisSetTimeout (c, tv) != REDIS_OK)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE, "Cannot reach Redis at %s: %s",
                   address, c->errstr);
      return FALSE;
    }
  return probe_command (c, address, G_N_ELEMENTS (ping), ping, error)
         && probe_command (c, address, G_N_ELEMENTS (select_argv), select_argv, error);
}

RcStore *
rc_store_redis_new (const char *host, guint port, guint db, guint connect_timeout_ms,
                    GError **error)
{
  g_autofree char *address = NULL;
  RcStoreRedis *self;

  g_return_val_if_fail (host != NULL && port > 0 && port <= 65535, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (connect_timeout_ms == 0)
    connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
  address = strchr (host, ':') ? g_strdup_printf ("[%s]:%u", host, port)
                               : g_strdup_printf ("%s:%u", host, port);
  if (!probe (host, port, db, connect_timeout_ms, address, error))
    return NULL;
  ignore_sigpipe ();

  self = g_new0 (RcStoreRedis, 1);
  self->parent.klass = &redis_class;
  self->parent.ref_count = 1;
  self->context = g_main_context_ref_thread_default ();
  self->address = g_steal_pointer (&address);
  self->starting = TRUE;
  g_queue_init (&self->backlog);
  g_queue_init (&self->sent);

  self->host = g_strdup (host);
  self->port = port;
  self->db = db;
  self->timeout_ms = connect_timeout_ms;
  self->link = rc_redis_link_new (host, port, db, connect_timeout_ms, "rc_store_redis",
                                  on_link_up, on_link_lost, self);
  rc_redis_link_start (self->link);
  return &self->parent;
}

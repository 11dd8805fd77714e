/* SPDX-License-Identifier: MIT */
/*
 * A GSource that runs a hiredis async context on a GLib main context.
 *
 * hiredis only asks an event loop for five hooks: start/stop watching the
 * socket for reading or writing, and cleanup. We keep one unix-fd source per
 * context and change its event mask. Ordering rule: a read may tear the
 * context down (hiredis then calls cleanup, which destroys this source and
 * frees the context), so dispatch checks for that before it touches the
 * context again to write.
 */
#include "server/store/rc_redis_source.h"

typedef struct
{
  GSource source;
  redisAsyncContext *ac; /* NULL once hiredis cleaned up */
  gpointer fd_tag;
  GIOCondition events;
  RcRedisClosedFunc closed;
  gpointer closed_data;
} RcRedisSource;

static void
source_set_events (RcRedisSource *self, GIOCondition events)
{
  if (self->ac == NULL || self->events == events)
    return;
  self->events = events;
  g_source_modify_unix_fd (&self->source, self->fd_tag, events);
}

static void
hook_add_read (void *data)
{
  RcRedisSource *self = data;

  source_set_events (self, self->events | G_IO_IN);
}

static void
hook_del_read (void *data)
{
  RcRedisSource *self = data;

  source_set_events (self, self->events & ~G_IO_IN);
}

static void
hook_add_write (void *data)
{
  RcRedisSource *self = data;

  source_set_events (self, self->events | G_IO_OUT);
}

static void
hook_del_write (void *data)
{
  RcRedisSource *self = data;

  source_set_events (self, self->events & ~G_IO_OUT);
}

/* hiredis is freeing the context: every command callback has run already. */
static void
hook_cleanup (void *data)
{
  RcRedisSource *self = data;
  redisAsyncContext *ac = self->ac;
  RcRedisClosedFunc closed = self->closed;
  gpointer closed_data = self->closed_data;

  if (ac == NULL)
    return;
  ac->ev.addRead = NULL;
  ac->ev.delRead = NULL;
  ac->ev.addWrite = NULL;
  ac->ev.delWrite = NULL;
  ac->ev.cleanup = NULL;
  ac->ev.data = NULL;
  self->ac = NULL;

  /* This may free @self (outside our own dispatch, the context held the
   * only reference); inside dispatch GLib keeps it alive until we return. */
  g_source_destroy (&self->source);
  if (closed != NULL)
    closed (ac, closed_data);
}

static gboolean
source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  RcRedisSource *self = (RcRedisSource *) source;
  GIOCondition revents;

  if (self->ac == NULL)
    return G_SOURCE_REMOVE;
  revents = g_source_query_unix_fd (source, self->fd_tag);

  /* An error or hang-up is reported even when we only wait to write (or
   * wait for nothing); reading is how hiredis notices it and tears down. */
  if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    {
      redisAsyncHandleRead (self->ac);
      if (self->ac == NULL)
        return G_SOURCE_REMOVE;
    }
  if (revents & G_IO_OUT)
    {
      redisAsyncHandleWrite (self->ac);
      if (self->ac == NULL)
        return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs redis_source_funcs = {
  .prepare = NULL,
  .check = NULL,
  .dispatch = source_dispatch,
  .finalize = NULL,
};

void
rc_redis_source_attach (redisAsyncContext *ac, GMainContext *context, RcRedisClosedFunc closed,
                        gpointer user_data)
{
  GSource *source;
  RcRedisSource *self;

  g_return_if_fail (ac != NULL && ac->ev.data == NULL);

  source = g_source_new (&redis_source_funcs, sizeof (RcRedisSource));
  g_source_set_static_name (source, "rc_redis_source");
  self = (RcRedisSource *) source;
  self->ac = ac;
  self->closed = closed;
  self->closed_data = user_data;
  self->events = 0;
  self->fd_tag = g_source_add_unix_fd (source, ac->c.fd, 0);

  ac->ev.data = self;
  ac->ev.addRead = hook_add_read;
  ac->ev.delRead = hook_del_read;
  ac->ev.addWrite = hook_add_write;
  ac->ev.delWrite = hook_del_write;
  ac->ev.cleanup = hook_cleanup;

  /* The context owns the source from here; hook_cleanup destroys it. */
  g_source_attach (source, context);
  g_source_unref (source);
}

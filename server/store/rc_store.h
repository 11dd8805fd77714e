/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "server/store/rc_redis_link.h"

G_BEGIN_DECLS

/*
 * RcStore: where rooms, chat, queues and history outlive a process.
 *
 * A deliberately small key/value surface shaped like Redis (strings, lists,
 * sets, sorted sets), so the Redis backend is a thin mapping and the memory
 * backend is a few hash tables. Key names are built by callers and listed in
 * docs/architecture.md.
 *
 * Rules every backend keeps:
 *  - Everything runs on the main context the store was created on.
 *  - Writes are fire-and-forget and take effect in call order. A backend
 *    that loses its server keeps writes in a bounded buffer and replays them
 *    on reconnect (see docs/operators.md for what can be lost).
 *  - Read callbacks are never invoked from inside the call that issued the
 *    read; they run later on the main context, after every write issued
 *    before the read has been applied.
 */
typedef struct _RcStore RcStore;

typedef enum
{
  RC_STORE_BACKEND_MEMORY,
  RC_STORE_BACKEND_REDIS,
} RcStoreBackend;

/* @value: NULL when the key does not exist. Transfer none. */
typedef void (*RcStoreStringFunc) (RcStore *store, const char *value, const GError *error,
                                   gpointer user_data);
/* @values: array of char*, never NULL on success (maybe empty). Transfer none. */
typedef void (*RcStoreListFunc) (RcStore *store, GPtrArray *values, const GError *error,
                                 gpointer user_data);
/* Called once every write issued before rc_store_sync() has been applied. */
typedef void (*RcStoreSyncFunc) (RcStore *store, const GError *error, gpointer user_data);

/*
 * @uri: "memory", or "redis://host[:port][/db]" (default port 6379, db 0).
 * A Redis server that cannot be reached within @connect_timeout_ms is an
 * error here (the server exits with it); later losses are survived.
 */
RcStore *rc_store_new (const char *uri, guint connect_timeout_ms, GError **error);
RcStore *rc_store_ref (RcStore *store);
void rc_store_unref (RcStore *store);

/*
 * A connection of its own to the Redis behind @store, for a user whose
 * commands cannot share the store's ordered link (a subscriber takes no
 * other commands): same server, database and connect timeout, started.
 * NULL for a memory store. Free it with rc_redis_link_free().
 */
RcRedisLink *rc_store_open_link (RcStore *store, const char *name, RcRedisLinkUpFunc up,
                                 RcRedisLinkLostFunc lost, gpointer user_data);

RcStoreBackend rc_store_get_backend (RcStore *store);
const char *rc_store_get_backend_name (RcStore *store); /* "memory" | "redis" */
gboolean rc_store_is_connected (RcStore *store);
guint rc_store_get_pending_writes (RcStore *store);
/* How many times the connection came back after it was lost (0 for memory). */
guint64 rc_store_get_reconnects (RcStore *store);

/* Writes. */
void rc_store_set (RcStore *store, const char *key, const char *value);
void rc_store_del (RcStore *store, const char *key);
/* RPUSH then keep only the last @cap elements (cap 0: no trimming). */
void rc_store_list_push (RcStore *store, const char *key, const char *value, guint cap);
/* Atomically replaces the whole list (an empty @values deletes the key). */
void rc_store_list_replace (RcStore *store, const char *key, const char *const *values,
                            guint n_values);
void rc_store_set_add (RcStore *store, const char *key, const char *member);
void rc_store_set_remove (RcStore *store, const char *key, const char *member);
/* ZADD then keep only the @cap highest-scored members (cap 0: no trimming). */
void rc_store_zset_add (RcStore *store, const char *key, double score, const char *member,
                        guint cap);

/* Reads. */
void rc_store_get (RcStore *store, const char *key, RcStoreStringFunc func, gpointer user_data);
/* Redis LRANGE semantics: inclusive, negative indexes count from the end. */
void rc_store_list_range (RcStore *store, const char *key, gint64 start, gint64 stop,
                          RcStoreListFunc func, gpointer user_data);
/* Members in byte order (sorted so both backends agree). */
void rc_store_set_members (RcStore *store, const char *key, RcStoreListFunc func,
                           gpointer user_data);
/* Members from highest score to lowest, ZREVRANGE semantics. */
void rc_store_zset_range_rev (RcStore *store, const char *key, gint64 start, gint64 stop,
                              RcStoreListFunc func, gpointer user_data);

/* Barrier: @func runs once all earlier writes are applied (or failed). */
void rc_store_sync (RcStore *store, RcStoreSyncFunc func, gpointer user_data);

/*
 * Fencing (the cluster's room leases, docs/architecture.md "A cluster on
 * Redis"). From this call on, every write to a key that starts with @prefix
 * (which ends in ':', e.g. "room:abc:") is applied only if the string at
 * @fence_key equals @epoch (in decimal) at the moment the backend applies it:
 * Redis checks it in the same Lua script as the write, so a write a paused
 * node issued with an epoch that has since moved on is refused, however late
 * it arrives. @epoch 0 refuses every such write at once, here. Calling it
 * again for @prefix replaces the fence; writes already issued keep theirs.
 */
void rc_store_fence (RcStore *store, const char *prefix, const char *fence_key, guint64 epoch);
void rc_store_unfence (RcStore *store, const char *prefix);
/* Fenced writes refused so far (here with epoch 0, or by the backend). */
guint64 rc_store_get_fenced_refused (RcStore *store);

/*
 * Runs a Lua script (Redis EVAL) with @n_keys keys then the other @argv
 * words as ARGV; its reply reaches @func as strings: an array reply element
 * by element (integers in decimal, nil as ""), any other reply as one
 * element. Like a read: it fails at once while Redis is unreachable, never
 * buffered. The memory backend has no Lua and fails every call.
 */
void rc_store_eval (RcStore *store, const char *script, guint n_keys, const char *const *argv,
                    guint argc, RcStoreListFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcStore, rc_store_unref)

G_END_DECLS

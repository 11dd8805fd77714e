/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The backend vtable behind RcStore. Only rc_store.c and the backends include
 * this. rc_store.c does argument checks and refcounting; a backend sees only
 * valid arguments.
 */
#include "server/store/rc_store.h"

G_BEGIN_DECLS

typedef struct
{
  RcStoreBackend backend;
  const char *name;
  void (*finalize) (RcStore *store);
  gboolean (*is_connected) (RcStore *store);
  guint (*pending_writes) (RcStore *store);

  void (*set) (RcStore *store, const char *key, const char *value);
  void (*del) (RcStore *store, const char *key);
  void (*list_push) (RcStore *store, const char *key, const char *value, guint cap);
  void (*list_replace) (RcStore *store, const char *key, const char *const *values,
                        guint n_values);
  void (*set_add) (RcStore *store, const char *key, const char *member);
  void (*set_remove) (RcStore *store, const char *key, const char *member);
  void (*zset_add) (RcStore *store, const char *key, double score, const char *member,
                    guint cap);

  void (*get) (RcStore *store, const char *key, RcStoreStringFunc func, gpointer user_data);
  void (*list_range) (RcStore *store, const char *key, gint64 start, gint64 stop,
                      RcStoreListFunc func, gpointer user_data);
  void (*set_members) (RcStore *store, const char *key, RcStoreListFunc func,
                       gpointer user_data);
  void (*zset_range_rev) (RcStore *store, const char *key, gint64 start, gint64 stop,
                          RcStoreListFunc func, gpointer user_data);
  void (*sync) (RcStore *store, RcStoreSyncFunc func, gpointer user_data);
  void (*eval) (RcStore *store, const char *script, guint n_keys, const char *const *argv,
                guint argc, RcStoreListFunc func, gpointer user_data);
  /* NULL for a backend without a server (memory). */
  RcRedisLink *(*open_link) (RcStore *store, const char *name, RcRedisLinkUpFunc up,
                             RcRedisLinkLostFunc lost, gpointer user_data);
} RcStoreClass;

/* A fence over keys starting with a prefix (see rc_store_fence). */
typedef struct
{
  char *fence_key;
  char *epoch; /* decimal, as the fence key holds it */
} RcStoreFence;

struct _RcStore
{
  const RcStoreClass *klass;
  gint ref_count;
  guint64 reconnects; /* outages the backend came back from */
  GHashTable *fences; /* prefix -> RcStoreFence*; NULL until the first rc_store_fence */
  guint64 fenced_refused;
};

/* Backend constructors; each returns a store with ref_count 1. */
RcStore *rc_store_memory_new (void);
RcStore *rc_store_redis_new (const char *host, guint port, guint db, guint connect_timeout_ms,
                             GError **error);

/*
 * The fence over @key, for a backend's write: FALSE when the write must be
 * dropped (its fence has epoch 0; counted), else TRUE with *@fence the
 * fence to check (NULL: none). Prefixes end at a ':' of the key.
 */
gboolean rc_store_fence_for (RcStore *store, const char *key, const RcStoreFence **fence);

/* Redis LRANGE index normalisation shared by backends: FALSE when empty. */
gboolean rc_store_normalize_range (gint64 len, gint64 *start, gint64 *stop);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
/*
 * The in-memory store: the default, for a single node whose rooms may vanish
 * with the process. Writes apply at once; reads are answered from an idle
 * callback so callers see the same asynchronous contract as with Redis.
 */
#include "server/store/rc_store-private.h"
#include "pipelines/rc_defer.h"
#include "server/core/rc_error.h"

#include <string.h>

typedef enum
{
  VALUE_STRING,
  VALUE_LIST,
  VALUE_SET,
  VALUE_ZSET,
} ValueType;

typedef struct
{
  ValueType type;
  char *string;      /* VALUE_STRING */
  GPtrArray *list;   /* VALUE_LIST: char* */
  GHashTable *table; /* VALUE_SET: member -> NULL; VALUE_ZSET: member -> double* */
} Value;

typedef struct
{
  RcStore parent;
  GHashTable *keys; /* char* -> Value* */
} RcStoreMemory;

typedef struct
{
  RcStore *store;
  RcStoreStringFunc string_func;
  RcStoreListFunc list_func;
  RcStoreSyncFunc sync_func;
  gpointer user_data;
  char *string;
  GPtrArray *list;
  GError *error; /* eval only */
} Reply;

static void
value_free (gpointer data)
{
  Value *v = data;

  g_free (v->string);
  g_clear_pointer (&v->list, g_ptr_array_unref);
  g_clear_pointer (&v->table, g_hash_table_unref);
  g_free (v);
}

static Value *
lookup (RcStore *store, const char *key, ValueType type, gboolean create)
{
  RcStoreMemory *self = (RcStoreMemory *) store;
  Value *v = g_hash_table_lookup (self->keys, key);

  if (v != NULL && v->type != type)
    {
      /* Like Redis, a write of another type to a key is the caller's bug;
       * we replace the value so later reads stay well defined. */
      if (!create)
        return NULL;
      g_hash_table_remove (self->keys, key);
      v = NULL;
    }
  if (v == NULL && create)
    {
      v = g_new0 (Value, 1);
      v->type = type;
      if (type == VALUE_LIST)
        v->list = g_ptr_array_new_with_free_func (g_free);
      else if (type == VALUE_SET)
        v->table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      else if (type == VALUE_ZSET)
        v->table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (self->keys, g_strdup (key), v);
    }
  return v;
}

static gboolean
reply_dispatch (gpointer data)
{
  Reply *r = data;

  if (r->string_func != NULL)
    r->string_func (r->store, r->string, NULL, r->user_data);
  else if (r->list_func != NULL)
    r->list_func (r->store, r->error ? NULL : r->list, r->error, r->user_data);
  else if (r->sync_func != NULL)
    r->sync_func (r->store, NULL, r->user_data);
  return G_SOURCE_REMOVE;
}

static void
reply_free (gpointer data)
{
  Reply *r = data;

  rc_store_unref (r->store);
  g_free (r->string);
  g_clear_pointer (&r->list, g_ptr_array_unref);
  g_clear_error (&r->error);
  g_free (r);
}

static void
reply_later (RcStore *store, Reply *r)
{
  g_autoptr (GMainContext) context = g_main_context_ref_thread_default ();

  r->store = rc_store_ref (store);
  rc_defer (context, G_PRIORITY_DEFAULT, reply_dispatch, r, reply_free);
}

static void
mem_finalize (RcStore *store)
{
  RcStoreMemory *self = (RcStoreMemory *) store;

  g_hash_table_unref (self->keys);
  g_free (self);
}

static gboolean
mem_is_connected (RcStore *store)
{
  return TRUE;
}

static guint
mem_pending_writes (RcStore *store)
{
  return 0;
}

/* The fence over @key (rc_store_fence) lets a write to it happen. */
static gboolean
fence_allows (RcStore *store, const char *key)
{
  const RcStoreFence *fence;
  Value *v;

  if (!rc_store_fence_for (store, key, &fence))
    return FALSE;
  if (fence == NULL)
    return TRUE;
  v = lookup (store, fence->fence_key, VALUE_STRING, FALSE);
  if (v != NULL && g_strcmp0 (v->string, fence->epoch) == 0)
    return TRUE;
  store->fenced_refused++;
  return FALSE;
}

static void
del_key (RcStore *store, const char *key)
{
  g_hash_table_remove (((RcStoreMemory *) store)->keys, key);
}

static void
mem_set (RcStore *store, const char *key, const char *value)
{
  Value *v;

  if (!fence_allows (store, key))
    return;
  v = lookup (store, key, VALUE_STRING, TRUE);

  g_free (v->string);
  v->string = g_strdup (value);
}

static void
mem_del (RcStore *store, const char *key)
{
  if (fence_allows (store, key))
    del_key (store, key);
}

static void
mem_list_push (RcStore *store, const char *key, const char *value, guint cap)
{
  Value *v;

  if (!fence_allows (store, key))
    return;
  v = lookup (store, key, VALUE_LIST, TRUE);

  g_ptr_array_add (v->list, g_strdup (value));
  if (cap > 0 && v->list->len > cap)
    g_ptr_array_remove_range (v->list, 0, v->list->len - cap);
}

static void
mem_list_replace (RcStore *store, const char *key, const char *const *values, guint n_values)
{
  Value *v;

  if (!fence_allows (store, key))
    return;
  del_key (store, key);
  if (n_values == 0)
    return;
  v = lookup (store, key, VALUE_LIST, TRUE);
  for (guint i = 0; i < n_values; i++)
    g_ptr_array_add (v->list, g_strdup (values[i]));
}

static void
mem_set_add (RcStore *store, const char *key, const char *member)
{
  Value *v;

  if (!fence_allows (store, key))
    return;
  v = lookup (store, key, VALUE_SET, TRUE);

  g_hash_table_add (v->table, g_strdup (member));
}

static void
mem_set_remove (RcStore *store, const char *key, const char *member)
{
  Value *v = lookup (store, key, VALUE_SET, FALSE);

  if (v == NULL || !fence_allows (store, key))
    return;
  g_hash_table_remove (v->table, member);
  if (g_hash_table_size (v->table) == 0)
    del_key (store, key);
}

typedef struct
{
  const char *member;
  double score;
} ZEntry;

/* Highest score first; ties in reverse byte order, as ZREVRANGE does. */
static int
zentry_cmp_rev (gconstpointer a, gconstpointer b)
{
  const ZEntry *x = a;
  const ZEntry *y = b;

  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return -strcmp (x->member, y->member);
}

static GArray *
zset_sorted_rev (Value *v)
{
  GArray *entries = g_array_new (FALSE, FALSE, sizeof (ZEntry));
  GHashTableIter iter;
  gpointer member, score;

  g_hash_table_iter_init (&iter, v->table);
  while (g_hash_table_iter_next (&iter, &member, &score))
    {
      ZEntry e = { member, *(double *) score };
      g_array_append_val (entries, e);
    }
  g_array_sort (entries, zentry_cmp_rev);
  return entries;
}

static void
mem_zset_add (RcStore *store, const char *key, double score, const char *member, guint cap)
{
  Value *v;
  double *s;

  if (!fence_allows (store, key))
    return;
  v = lookup (store, key, VALUE_ZSET, TRUE);
  s = g_new (double, 1);
  *s = score;
  g_hash_table_insert (v->table, g_strdup (member), s);
  if (cap > 0 && g_hash_table_size (v->table) > cap)
    {
      g_autoptr (GArray) entries = zset_sorted_rev (v);
      g_autoptr (GPtrArray) drop = g_ptr_array_new_with_free_func (g_free);

      for (guint i = cap; i < entries->len; i++)
        g_ptr_array_add (drop, g_strdup (g_array_index (entries, ZEntry, i).member));
      for (guint i = 0; i < drop->len; i++)
        g_hash_table_remove (v->table, drop->pdata[i]);
    }
}

static void
mem_get (RcStore *store, const char *key, RcStoreStringFunc func, gpointer user_data)
{
  Value *v = lookup (store, key, VALUE_STRING, FALSE);
  Reply *r = g_new0 (Reply, 1);

  r->string_func = func;
  r->user_data = user_data;
  r->string = v ? g_strdup (v->string) : NULL;
  reply_later (store, r);
}

static GPtrArray *
strv_array (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

static void
mem_list_range (RcStore *store, const char *key, gint64 start, gint64 stop,
                RcStoreListFunc func, gpointer user_data)
{
  Value *v = lookup (store, key, VALUE_LIST, FALSE);
  Reply *r = g_new0 (Reply, 1);

  r->list_func = func;
  r->user_data = user_data;
  r->list = strv_array ();
  if (v != NULL && rc_store_normalize_range (v->list->len, &start, &stop))
    for (gint64 i = start; i <= stop; i++)
      g_ptr_array_add (r->list, g_strdup (v->list->pdata[i]));
  reply_later (store, r);
}

static int
str_ptr_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
mem_set_members (RcStore *store, const char *key, RcStoreListFunc func, gpointer user_data)
{
  Value *v = lookup (store, key, VALUE_SET, FALSE);
  Reply *r = g_new0 (Reply, 1);

  r->list_func = func;
  r->user_data = user_data;
  r->list = strv_array ();
  if (v != NULL)
    {
      GHashTableIter iter;
      gpointer member;

      g_hash_table_iter_init (&iter, v->table);
      while (g_hash_table_iter_next (&iter, &member, NULL))
        g_ptr_array_add (r->list, g_strdup (member));
      g_ptr_array_sort (r->list, str_ptr_cmp);
    }
  reply_later (store, r);
}

static void
mem_zset_range_rev (RcStore *store, const char *key, gint64 start, gint64 stop,
                    RcStoreListFunc func, gpointer user_data)
{
  Value *v = lookup (store, key, VALUE_ZSET, FALSE);
  Reply *r = g_new0 (Reply, 1);

  r->list_func = func;
  r->user_data = user_data;
  r->list = strv_array ();
  if (v != NULL)
    {
      g_autoptr (GArray) entries = zset_sorted_rev (v);

      if (rc_store_normalize_range (entries->len, &start, &stop))
        for (gint64 i = start; i <= stop; i++)
          g_ptr_array_add (r->list, g_strdup (g_array_index (entries, ZEntry, i).member));
    }
  reply_later (store, r);
}

static void
mem_sync (RcStore *store, RcStoreSyncFunc func, gpointer user_data)
{
  Reply *r = g_new0 (Reply, 1);

  r->sync_func = func;
  r->user_data = user_data;
  reply_later (store, r);
}

/* No Lua here: the cluster, the only user, needs Redis. */
static void
mem_eval (RcStore *store, const char *script, guint n_keys, const char *const *argv, guint argc,
          RcStoreListFunc func, gpointer user_data)
{
  Reply *r = g_new0 (Reply, 1);

  r->list_func = func;
  r->user_data = user_data;
  r->error = g_error_new_literal (RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                                  "The memory store runs no scripts: use Redis");
  reply_later (store, r);
}

static const RcStoreClass memory_class = {
  .backend = RC_STORE_BACKEND_MEMORY,
  .name = "memory",
  .finalize = mem_finalize,
  .is_connected = mem_is_connected,
  .pending_writes = mem_pending_writes,
  .set = mem_set,
  .del = mem_del,
  .list_push = mem_list_push,
  .list_replace = mem_list_replace,
  .set_add = mem_set_add,
  .set_remove = mem_set_remove,
  .zset_add = mem_zset_add,
  .get = mem_get,
  .list_range = mem_list_range,
  .set_members = mem_set_members,
  .zset_range_rev = mem_zset_range_rev,
  .sync = mem_sync,
  .eval = mem_eval,
};

RcStore *
rc_store_memory_new (void)
{
  RcStoreMemory *self = g_new0 (RcStoreMemory, 1);

  self->parent.klass = &memory_class;
  self->parent.ref_count = 1;
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_free);
  return &self->parent;
}

/* SPDX-License-Identifier: MIT */
/*
 * RcStore front: parses the store URI, picks the backend, and forwards calls
 * through the backend's vtable after checking arguments once here.
 */
#include "server/store/rc_store-private.h"
#include "server/core/rc_error.h"

#include <string.h>

RcStore *
rc_store_new (const char *uri, guint connect_timeout_ms, GError **error)
{
  g_autoptr (GUri) parsed = NULL;
  const char *host;
  const char *path;
  int port;
  guint64 db = 0;

  if (uri == NULL || g_str_equal (uri, "") || g_str_equal (uri, "memory"))
    return rc_store_memory_new ();

  if (!g_str_has_prefix (uri, "redis://"))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                   "Unknown store \"%s\": use \"memory\" or \"redis://host:port/db\"", uri);
      return NULL;
    }

  parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);
  host = parsed ? g_uri_get_host (parsed) : NULL;
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                   "Invalid Redis URI \"%s\": expected redis://host:port/db", uri);
      return NULL;
    }
  port = g_uri_get_port (parsed);
  if (port <= 0)
    port = 6379;
  path = g_uri_get_path (parsed);
  if (path != NULL && path[0] == '/' && path[1] != '\0')
    {
      if (!g_ascii_string_to_unsigned (path + 1, 10, 0, 15, &db, NULL))
        {
          g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                       "Invalid Redis database \"%s\" in \"%s\": expected 0-15", path + 1, uri);
          return NULL;
        }
    }
  return rc_store_redis_new (host, (guint) port, (guint) db, connect_timeout_ms, error);
}

RcStore *
rc_store_ref (RcStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_atomic_int_inc (&store->ref_count);
  return store;
}

void
rc_store_unref (RcStore *store)
{
  if (store != NULL && g_atomic_int_dec_and_test (&store->ref_count))
    {
      g_clear_pointer (&store->fences, g_hash_table_unref);
      store->klass->finalize (store);
    }
}

RcRedisLink *
rc_store_open_link (RcStore *store, const char *name, RcRedisLinkUpFunc up,
                    RcRedisLinkLostFunc lost, gpointer user_data)
{
  g_return_val_if_fail (store != NULL && up != NULL && lost != NULL, NULL);
  if (store->klass->open_link == NULL)
    return NULL;
  return store->klass->open_link (store, name, up, lost, user_data);
}

RcStoreBackend
rc_store_get_backend (RcStore *store)
{
  return store->klass->backend;
}

const char *
rc_store_get_backend_name (RcStore *store)
{
  return store->klass->name;
}

gboolean
rc_store_is_connected (RcStore *store)
{
  return store->klass->is_connected (store);
}

guint
rc_store_get_pending_writes (RcStore *store)
{
  return store->klass->pending_writes (store);
}

guint64
rc_store_get_reconnects (RcStore *store)
{
  return store->reconnects;
}

void
rc_store_set (RcStore *store, const char *key, const char *value)
{
  g_return_if_fail (store != NULL && key != NULL && value != NULL);
  store->klass->set (store, key, value);
}

void
rc_store_del (RcStore *store, const char *key)
{
  g_return_if_fail (store != NULL && key != NULL);
  store->klass->del (store, key);
}

void
rc_store_list_push (RcStore *store, const char *key, const char *value, guint cap)
{
  g_return_if_fail (store != NULL && key != NULL && value != NULL);
  store->klass->list_push (store, key, value, cap);
}

void
rc_store_list_replace (RcStore *store, const char *key, const char *const *values,
                       guint n_values)
{
  g_return_if_fail (store != NULL && key != NULL && (values != NULL || n_values == 0));
  store->klass->list_replace (store, key, values, n_values);
}

void
rc_store_set_add (RcStore *store, const char *key, const char *member)
{
  g_return_if_fail (store != NULL && key != NULL && member != NULL);
  store->klass->set_add (store, key, member);
}

void
rc_store_set_remove (RcStore *store, const char *key, const char *member)
{
  g_return_if_fail (store != NULL && key != NULL && member != NULL);
  store->klass->set_remove (store, key, member);
}

void
rc_store_zset_add (RcStore *store, const char *key, double score, const char *member, guint cap)
{
  g_return_if_fail (store != NULL && key != NULL && member != NULL);
  store->klass->zset_add (store, key, score, member, cap);
}

void
rc_store_get (RcStore *store, const char *key, RcStoreStringFunc func, gpointer user_data)
{
  g_return_if_fail (store != NULL && key != NULL && func != NULL);
  store->klass->get (store, key, func, user_data);
}

void
rc_store_list_range (RcStore *store, const char *key, gint64 start, gint64 stop,
                     RcStoreListFunc func, gpointer user_data)
{
  g_return_if_fail (store != NULL && key != NULL && func != NULL);
  store->klass->list_range (store, key, start, stop, func, user_data);
}

void
rc_store_set_members (RcStore *store, const char *key, RcStoreListFunc func, gpointer user_data)
{
  g_return_if_fail (store != NULL && key != NULL && func != NULL);
  store->klass->set_members (store, key, func, user_data);
}

void
rc_store_zset_range_rev (RcStore *store, const char *key, gint64 start, gint64 stop,
                         RcStoreListFunc func, gpointer user_data)
{
  g_return_if_fail (store != NULL && key != NULL && func != NULL);
  store->klass->zset_range_rev (store, key, start, stop, func, user_data);
}

void
rc_store_sync (RcStore *store, RcStoreSyncFunc func, gpointer user_data)
{
  g_return_if_fail (store != NULL && func != NULL);
  store->klass->sync (store, func, user_data);
}

static void
fence_free (gpointer data)
{
  RcStoreFence *fence = data;

  g_free (fence->fence_key);
  g_free (fence->epoch);
  g_free (fence);
}

void
rc_store_fence (RcStore *store, const char *prefix, const char *fence_key, guint64 epoch)
{
  RcStoreFence *fence;

  g_return_if_fail (store != NULL && prefix != NULL && g_str_has_suffix (prefix, ":"));
  g_return_if_fail (fence_key != NULL);
  if (store->fences == NULL)
    store->fences = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, fence_free);
  fence = g_new0 (RcStoreFence, 1);
  fence->fence_key = g_strdup (fence_key);
  fence->epoch = g_strdup_printf ("%" G_GUINT64_FORMAT, epoch);
  g_hash_table_replace (store->fences, g_strdup (prefix), fence);
}

void
rc_store_unfence (RcStore *store, const char *prefix)
{
  g_return_if_fail (store != NULL && prefix != NULL);
  if (store->fences != NULL)
    g_hash_table_remove (store->fences, prefix);
}

guint64
rc_store_get_fenced_refused (RcStore *store)
{
  return store->fenced_refused;
}

gboolean
rc_store_fence_for (RcStore *store, const char *key, const RcStoreFence **fence)
{
  *fence = NULL;
  if (store->fences == NULL || g_hash_table_size (store->fences) == 0)
    return TRUE;
  for (const char *colon = strchr (key, ':'); colon != NULL; colon = strchr (colon + 1, ':'))
    {
      g_autofree char *prefix = g_strndup (key, (gsize) (colon - key) + 1);
      const RcStoreFence *found = g_hash_table_lookup (store->fences, prefix);

      if (found == NULL)
        continue;
      if (g_str_equal (found->epoch, "0"))
        {
          store->fenced_refused++;
          return FALSE;
        }
      *fence = found;
      return TRUE;
    }
  return TRUE;
}

void
rc_store_eval (RcStore *store, const char *script, guint n_keys, const char *const *argv,
               guint argc, RcStoreListFunc func, gpointer user_data)
{
  g_return_if_fail (store != NULL && script != NULL && func != NULL && n_keys <= argc);
  g_return_if_fail (argv != NULL || argc == 0);
  store->klass->eval (store, script, n_keys, argv, argc, func, user_data);
}

gboolean
rc_store_normalize_range (gint64 len, gint64 *start, gint64 *stop)
{
  if (*start < 0)
    *start = MAX (len + *start, 0);
  if (*stop < 0)
    *stop = len + *stop;
  if (*stop >= len)
    *stop = len - 1;
  return *start <= *stop && *start < len;
}

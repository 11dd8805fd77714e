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
    store->klass->finalize (store);
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

/* SPDX-License-Identifier: MIT */
/*
 * Token bucket used per WebSocket connection (all requests, and chat on its
 * own) and per client address for REST writes.
 */
#include "server/core/rc_rate_limit.h"

void
rc_rate_limit_init (RcRateLimit *limit, double rate, double burst, gint64 now_us)
{
  limit->rate = rate;
  limit->burst = MAX (burst, 1.0);
  limit->tokens = limit->burst;
  limit->last_us = now_us;
}

gboolean
rc_rate_limit_take (RcRateLimit *limit, gint64 now_us)
{
  if (limit->rate <= 0)
    return TRUE;
  if (now_us > limit->last_us)
    {
      double elapsed = (double) (now_us - limit->last_us) / G_USEC_PER_SEC;
      limit->tokens = MIN (limit->burst, limit->tokens + elapsed * limit->rate);
      limit->last_us = now_us;
    }
  if (limit->tokens < 1.0)
    return FALSE;
  limit->tokens -= 1.0;
  return TRUE;
}

struct _RcRateLimits
{
  double rate, burst;
  GHashTable *clients; /* client -> RcRateLimit* */
};

RcRateLimits *
rc_rate_limits_new (double rate, double burst)
{
  RcRateLimits *limits = g_new0 (RcRateLimits, 1);

  limits->rate = rate;
  limits->burst = burst;
  limits->clients = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return limits;
}

void
rc_rate_limits_free (RcRateLimits *limits)
{
  if (limits == NULL)
    return;
  g_hash_table_unref (limits->clients);
  g_free (limits);
}

gboolean
rc_rate_limits_take (RcRateLimits *limits, const char *client, gint64 now_us)
{
  RcRateLimit *limit = g_hash_table_lookup (limits->clients, client);

  if (limit == NULL)
    {
      limit = g_new0 (RcRateLimit, 1);
      rc_rate_limit_init (limit, limits->rate, limits->burst, now_us);
      g_hash_table_insert (limits->clients, g_strdup (client), limit);
    }
  return rc_rate_limit_take (limit, now_us);
}

void
rc_rate_limits_sweep (RcRateLimits *limits, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, limits->clients);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now_us - ((RcRateLimit *) value)->last_us > 60 * G_USEC_PER_SEC)
      g_hash_table_iter_remove (&iter);
}

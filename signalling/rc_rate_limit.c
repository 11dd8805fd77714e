/* SPDX-License-Identifier: MIT */
/*
 * Token bucket used per WebSocket connection (all requests, and chat on its
 * own) and per client address for REST writes.
 */
#include "rc_rate_limit.h"

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

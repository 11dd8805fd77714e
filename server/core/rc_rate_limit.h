/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A token bucket: @rate tokens per second refill a bucket holding at most
 * @burst. Time is passed in (monotonic microseconds) so tests drive it.
 */
typedef struct
{
  double rate;
  double burst;
  double tokens;
  gint64 last_us;
} RcRateLimit;

void rc_rate_limit_init (RcRateLimit *limit, double rate, double burst, gint64 now_us);

/* Takes one token if available. A rate of 0 means unlimited. */
gboolean rc_rate_limit_take (RcRateLimit *limit, gint64 now_us);

/*
 * One bucket per client (an address, say), made on first use and forgotten
 * once idle for a minute (rc_rate_limits_sweep): REST writes are limited
 * this way.
 */
typedef struct _RcRateLimits RcRateLimits;

RcRateLimits *rc_rate_limits_new (double rate, double burst);
void rc_rate_limits_free (RcRateLimits *limits);
gboolean rc_rate_limits_take (RcRateLimits *limits, const char *client, gint64 now_us);
/* Forgets clients whose bucket has refilled: they hold no information. */
void rc_rate_limits_sweep (RcRateLimits *limits, gint64 now_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRateLimits, rc_rate_limits_free)

G_END_DECLS

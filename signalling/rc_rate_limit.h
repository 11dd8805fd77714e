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

G_END_DECLS

/* SPDX-License-Identifier: MIT */
/*
 * A listener's frames counted into a fixed histogram (rc_lg_counts.h): the
 * load generator sees up to a million frames a second and keeps no sample
 * of any of them.
 */
#include "rc_lg_counts.h"

void
rc_lg_counts_add (RcLgCounts *counts, double behind_ms, double late_ms)
{
  guint bin;

  counts->frames++;
  if (behind_ms < 0)
    {
      counts->early++;
      behind_ms = 0;
    }
  if (behind_ms > late_ms)
    counts->late++;
  if (behind_ms > counts->max_ms)
    counts->max_ms = behind_ms;
  bin = behind_ms >= RC_LG_BINS - 1 ? RC_LG_BINS - 1 : (guint) behind_ms;
  counts->bins[bin]++;
}

void
rc_lg_counts_merge (RcLgCounts *into, const RcLgCounts *from)
{
  into->frames += from->frames;
  into->lost += from->lost;
  into->late += from->late;
  into->early += from->early;
  into->max_ms = MAX (into->max_ms, from->max_ms);
  for (guint i = 0; i < RC_LG_BINS; i++)
    into->bins[i] += from->bins[i];
}

double
rc_lg_counts_quantile (const RcLgCounts *counts, double q)
{
  guint64 total = 0, rank, seen = 0;

  for (guint i = 0; i < RC_LG_BINS; i++)
    total += counts->bins[i];
  if (total == 0)
    return 0;
  rank = (guint64) (q * (double) total + 0.999999);
  rank = CLAMP (rank, 1, total);
  for (guint i = 0; i < RC_LG_BINS; i++)
    {
      seen += counts->bins[i];
      if (seen >= rank)
        return i == RC_LG_BINS - 1 ? counts->max_ms : (double) (i + 1);
    }
  return counts->max_ms;
}

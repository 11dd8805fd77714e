/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcLgCounts: what a set of listeners received over some span: frames (or
 * Ogg pages), the ones lost (gaps in their sequence numbers), the late ones,
 * and how far behind its slot each arrived, in a histogram of 1 ms bins
 * (the last bin holds everything beyond), so that a second's figures or a
 * whole window's add up without keeping a sample per frame.
 */
#define RC_LG_BINS 2048

typedef struct
{
  guint64 frames;
  guint64 lost;
  guint64 late;
  guint64 early;  /* arrived before its slot (a clock error, or Icecast's burst) */
  double max_ms;
  guint64 bins[RC_LG_BINS];
} RcLgCounts;

/* One frame that arrived @behind_ms after its slot. */
void rc_lg_counts_add (RcLgCounts *counts, double behind_ms, double late_ms);
void rc_lg_counts_merge (RcLgCounts *into, const RcLgCounts *from);
/* The @q quantile (0-1) of the lateness, ms (the upper edge of its bin); 0 when empty. */
double rc_lg_counts_quantile (const RcLgCounts *counts, double q);

G_END_DECLS

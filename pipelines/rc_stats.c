/* SPDX-License-Identifier: MIT */
/*
 * One definition of a percentile for every figure the project prints or
 * reports: the server's sync stats, the native guest's syncReport, the
 * recordings' skew, the benchmarks' tables and the tests' medians. It sits
 * on the media floor, the lowest one, so that all of them can include it.
 */
#include "pipelines/rc_stats.h"

#include <math.h>

static int
compare_double (gconstpointer x, gconstpointer y)
{
  double a = *(const double *) x, b = *(const double *) y;

  return (a > b) - (a < b);
}

double
rc_percentile (GArray *doubles, double q)
{
  double rank;
  guint i;

  if (doubles->len == 0)
    return 0;
  g_array_sort (doubles, compare_double);
  rank = ceil (CLAMP (q, 0.0, 1.0) * doubles->len);
  i = (guint) MAX (rank, 1.0) - 1;
  return g_array_index (doubles, double, MIN (i, doubles->len - 1));
}

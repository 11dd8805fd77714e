/* SPDX-License-Identifier: MIT */
/* rc_percentile: nearest rank, no interpolation, as the printed figures use it. */
#include "pipelines/rc_stats.h"
#include "rc_test_util.h"

static GArray *
array_of (const double *values, guint n)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (double));

  g_array_append_vals (a, values, n);
  return a;
}

static void
test_empty (void)
{
  g_autoptr (GArray) a = g_array_new (FALSE, FALSE, sizeof (double));

  g_assert_cmpfloat (rc_percentile (a, 0.5), ==, 0);
  g_assert_cmpfloat (rc_percentile (a, 1.0), ==, 0);
}

static void
test_nearest_rank (void)
{
  /* 1..20, shuffled: rank ceil(q × 20). */
  const double v[] = { 7, 20, 1, 14, 3, 18, 9, 11, 2, 16, 5, 12, 19, 4, 8, 15, 6, 13, 10, 17 };
  g_autoptr (GArray) a = array_of (v, G_N_ELEMENTS (v));

  g_assert_cmpfloat (rc_percentile (a, 0.5), ==, 10);  /* the lower middle of an even count */
  g_assert_cmpfloat (rc_percentile (a, 0.95), ==, 19);
  g_assert_cmpfloat (rc_percentile (a, 0.99), ==, 20);
  g_assert_cmpfloat (rc_percentile (a, 1.0), ==, 20);
  g_assert_cmpfloat (rc_percentile (a, 0.0), ==, 1);
  g_assert_cmpfloat (rc_percentile (a, 0.01), ==, 1);
  /* Sorted in place. */
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpfloat (g_array_index (a, double, i), ==, i + 1);
}

static void
test_odd_and_single (void)
{
  const double odd[] = { 5, -2, 9 };
  const double one[] = { 4.5 };
  g_autoptr (GArray) a = array_of (odd, G_N_ELEMENTS (odd));
  g_autoptr (GArray) b = array_of (one, G_N_ELEMENTS (one));

  g_assert_cmpfloat (rc_percentile (a, 0.5), ==, 5);
  g_assert_cmpfloat (rc_percentile (a, 0.95), ==, 9);
  g_assert_cmpfloat (rc_percentile (a, 0.0), ==, -2);
  g_assert_cmpfloat (rc_percentile (b, 0.0), ==, 4.5);
  g_assert_cmpfloat (rc_percentile (b, 0.5), ==, 4.5);
  g_assert_cmpfloat (rc_percentile (b, 1.0), ==, 4.5);
}

static void
test_out_of_range_q (void)
{
  const double v[] = { 3, 1, 2 };
  g_autoptr (GArray) a = array_of (v, G_N_ELEMENTS (v));

  g_assert_cmpfloat (rc_percentile (a, -1), ==, 1);
  g_assert_cmpfloat (rc_percentile (a, 2), ==, 3);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/stats/empty", test_empty);
  g_test_add_func ("/stats/nearest-rank", test_nearest_rank);
  g_test_add_func ("/stats/odd-and-single", test_odd_and_single);
  g_test_add_func ("/stats/out-of-range-q", test_out_of_range_q);
  return g_test_run ();
}

/* SPDX-License-Identifier: MIT */
/* Token bucket: burst, refill over (simulated) time, and unlimited mode. */
#include "server/core/rc_rate_limit.h"

static void
test_burst_then_refuse (void)
{
  RcRateLimit l;
  gint64 t = 1000000;

  rc_rate_limit_init (&l, 2.0, 5.0, t);
  for (int i = 0; i < 5; i++)
    g_assert_true (rc_rate_limit_take (&l, t));
  g_assert_false (rc_rate_limit_take (&l, t));
  g_assert_false (rc_rate_limit_take (&l, t + 400000)); /* 0.8 tokens */
  g_assert_true (rc_rate_limit_take (&l, t + 500000));  /* 1 token at 2/s */
  g_assert_false (rc_rate_limit_take (&l, t + 500000));
}

static void
test_refill_caps_at_burst (void)
{
  RcRateLimit l;
  gint64 t = 0;
  int taken = 0;

  rc_rate_limit_init (&l, 10.0, 3.0, t);
  while (rc_rate_limit_take (&l, t))
    taken++;
  g_assert_cmpint (taken, ==, 3);
  t += 60 * G_USEC_PER_SEC; /* a long quiet spell refills to the burst only */
  taken = 0;
  while (rc_rate_limit_take (&l, t))
    taken++;
  g_assert_cmpint (taken, ==, 3);
}

static void
test_sustained_rate (void)
{
  RcRateLimit l;
  int taken = 0;

  rc_rate_limit_init (&l, 20.0, 1.0, 0);
  /* A client sending every millisecond for 10 s gets about 20/s through. */
  for (gint64 t = 0; t < 10 * G_USEC_PER_SEC; t += 1000)
    taken += rc_rate_limit_take (&l, t);
  g_assert_cmpint (taken, >=, 199);
  g_assert_cmpint (taken, <=, 201);
}

static void
test_unlimited (void)
{
  RcRateLimit l;

  rc_rate_limit_init (&l, 0, 1, 0);
  for (int i = 0; i < 10000; i++)
    g_assert_true (rc_rate_limit_take (&l, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rate-limit/burst", test_burst_then_refuse);
  g_test_add_func ("/rate-limit/refill-cap", test_refill_caps_at_burst);
  g_test_add_func ("/rate-limit/sustained", test_sustained_rate);
  g_test_add_func ("/rate-limit/unlimited", test_unlimited);
  return g_test_run ();
}

/* SPDX-License-Identifier: MIT */
/*
 * The server clock, as guests reach it: the timeSync exchange over /ws and
 * the network clock on initialState.clock.port. Server and test run on the
 * same machine and the server clock is the monotonic clock, so a correct
 * exchange must find an offset of about zero; anything else is a bug.
 */
#include "rc_error.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <gst/net/gstnetclientclock.h>
#include <math.h>

static double
local_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static void
test_time_sync_exchange (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (server);
  double best_rtt = G_MAXDOUBLE, best_offset = 0;

  /* Allowed before join; t0 comes back as sent. */
  for (int i = 0; i < 10; i++)
    {
      double t0 = local_ms (), t3;
      g_autoptr (JsonObject) reply = NULL;
      double t1, t2, rtt, offset;

      rc_test_ws_sendf (ws, "{\"type\":\"timeSync\",\"id\":%d,\"t0\":%.3f}", i, t0);
      reply = rc_test_ws_expect (ws, "timeSync", 5000);
      t3 = local_ms ();
      g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, i);
      g_assert_cmpfloat (fabs (json_object_get_double_member (reply, "t0") - t0), <, 0.001);
      t1 = json_object_get_double_member (reply, "t1");
      t2 = json_object_get_double_member (reply, "t2");
      g_assert_cmpfloat (t1, <=, t2);
      rtt = (t3 - t0) - (t2 - t1);
      offset = ((t1 - t0) + (t2 - t3)) / 2;
      if (rtt < best_rtt)
        {
          best_rtt = rtt;
          best_offset = offset;
        }
    }
  g_test_message ("best round trip %.3f ms, offset %.3f ms", best_rtt, best_offset);
  g_assert_cmpfloat (best_rtt, <, 50);
  g_assert_cmpfloat (fabs (best_offset), <, 2);

  rc_test_ws_send (ws, "{\"type\":\"timeSync\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (ws, "{\"type\":\"timeSync\",\"t0\":\"now\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
}

static void
test_network_clock (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Clocked", NULL);
  g_autoptr (JsonObject) initial = NULL;
  g_autoptr (RcTestWs) ws =
    rc_test_ws_join (server, rc_test_str (room, "id"), "Nat", NULL, NULL, &initial);
  JsonObject *clock_info = json_object_get_object_member (initial, "clock");
  gint64 port = json_object_get_int_member (clock_info, "port");
  double now = json_object_get_double_member (clock_info, "now");
  g_autoptr (GstClock) net = NULL;
  g_autoptr (GstClock) local = gst_system_clock_obtain ();
  GstClockTime a, b, c;

  g_assert_cmpint (port, >, 0);
  g_assert_cmpfloat (fabs (now - local_ms ()), <, 1000);

  net = gst_net_client_clock_new ("server", "127.0.0.1", (gint) port, 0);
  g_assert_true (gst_clock_wait_for_sync (net, 10 * GST_SECOND));
  a = gst_clock_get_time (local);
  b = gst_clock_get_time (net);
  c = gst_clock_get_time (local);
  g_test_message ("network clock - local clock: %.3f ms",
                  ((double) b - (double) (a + c) / 2) / GST_MSECOND);
  g_assert_cmpfloat (fabs ((double) b - (double) (a + c) / 2) / GST_MSECOND, <, 2);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add_func ("/sync/time-sync-exchange", test_time_sync_exchange);
  g_test_add_func ("/sync/network-clock", test_network_clock);
  return g_test_run ();
}

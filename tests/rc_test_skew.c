/* SPDX-License-Identifier: MIT */
/*
 * Two native guests in step, read from their recordings: the skew
 * measurement and the bounds test_native_sync (one node) and
 * test_cluster_relay (a guest on each node of a cluster) hold them to,
 * kept once so both hold the same.
 */
#include "rc_test_skew.h"
#include "rc_test_audio.h"
#include "rc_test_util.h"

#include <math.h>

/* A click's onset in a recording (full scale 1). */
#define CLICK_THRESHOLD 0.1

/* The frames the server sent, decoded and placed at C + @delay_ms: what
 * every guest should have rendered, when. */
RcRecording *
rc_test_skew_ideal (GQueue *frames, double delay_ms)
{
  double c0;
  g_autoptr (GArray) x = rc_test_audio_decode_ws_frames (frames, &c0);

  return rc_recording_new ("ideal", (const float *)x->data, x->len, 48000, c0 + delay_ms);
}

/* Skews of @b against @a for the clicks @a has in [@from, @to) (host
 * clock, ms), with a message; *@within is the share of them under
 * RC_TEST_MAX_SKEW_MS. */
void
rc_test_skew_measure (RcRecording *a, RcRecording *b, double from, double to, RcSkewStats *stats,
                      double *within)
{
  g_autoptr (GArray) skews
      = rc_recording_compare (a, b, RC_RECORDING_HOST, CLICK_THRESHOLD, 20, 0.8);
  guint in = 0;

  rc_skew_stats (skews, from, to, stats);
  for (guint i = 0; i < skews->len; i++)
    {
      const RcSkew *k = &g_array_index (skews, RcSkew, i);

      if (k->time >= from && k->time < to && fabs (k->skew) < RC_TEST_MAX_SKEW_MS)
        in++;
    }
  *within = stats->n > 0 ? (double)in / stats->n : 0;
  g_test_message ("%s vs %s: %u clicks, mean %+.3f ms, |skew| p50 %.3f p95 %.3f max %.3f ms, "
                  "%.0f %% under %.0f ms",
                  rc_recording_get_name (a), rc_recording_get_name (b), stats->n, stats->mean,
                  stats->p50, stats->p95, stats->max, 100 * *within, RC_TEST_MAX_SKEW_MS);
}

void
rc_test_skew_check_in_step (RcRecording *a, RcRecording *b, RcRecording *ideal, double from,
                            double to)
{
  RcSkewStats between, ea, eb;
  double within_between, within_a, within_b;

  rc_test_skew_measure (a, b, from, to, &between, &within_between);
  rc_test_skew_measure (ideal, a, from, to, &ea, &within_a);
  rc_test_skew_measure (ideal, b, from, to, &eb, &within_b);
  /* Clicks come every 250-370 ms: three seconds give ten or more; a fault
   * moves the median, a machine's hiccup only a click or two. */
  g_assert_cmpuint (between.n, >=, 6);
  g_assert_cmpuint (ea.n, >=, 6);
  g_assert_cmpuint (eb.n, >=, 6);
  g_assert_cmpfloat (between.p50, <, RC_TEST_MAX_SKEW_P50_MS);
  g_assert_cmpfloat (within_between, >=, RC_TEST_MIN_SHARE_WITHIN);
  g_assert_cmpfloat (between.max, <, RC_TEST_FAULT_MS);
  g_assert_cmpfloat (ea.p50, <, RC_TEST_MAX_SKEW_P50_MS);
  g_assert_cmpfloat (eb.p50, <, RC_TEST_MAX_SKEW_P50_MS);
  g_assert_cmpfloat (ea.max, <, RC_TEST_FAULT_MS);
  g_assert_cmpfloat (eb.max, <, RC_TEST_FAULT_MS);
}

RcTestWs *
rc_test_skew_control (RcTestServer *server, const char *room_id, JsonObject **timeline)
{
  RcTestWs *control = rc_test_ws_join (server, room_id, "Control", NULL, NULL, NULL);
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) first = NULL;
  guint status = 0;
  JsonArray *songs;

  body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  songs = json_object_get_array_member (json_node_get_object (body), "songs");
  rc_test_ws_sendf (control, "{\"type\":\"addSong\",\"id\":1,\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (songs, 0), "id"));
  reply = rc_test_ws_expect (control, "queueUpdated", 5000);
  rc_test_ws_send (control, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
  json_object_unref (rc_test_ws_expect (control, "mediaStarted", 5000));
  first = rc_test_ws_expect (control, "timeline", 5000);
  if (timeline != NULL)
    *timeline = g_steal_pointer (&first);
  return control;
}

RcNativeGuest *
rc_test_skew_guest_new (RcTestServer *server, const char *room_id, const char *name,
                        const char *transport, const char *record)
{
  RcNativeGuestOptions options = {
    .server_url = server->base_url,
    .room_id = room_id,
    .name = name,
    .record_path = record,
    .playout = TRUE,
    .transport = transport,
    .report_interval_ms = 1000,
    .realtime = TRUE, /* as roomcast-guest does: a player's rendering thread */
  };

  return rc_native_guest_new (&options);
}

gboolean
rc_test_skew_rendering (RcNativeGuest *guest)
{
  RcNativeGuestStats s;

  rc_native_guest_get_stats (guest, &s);
  return s.frames > 48000 / 2 || rc_native_guest_get_failure (guest) != NULL;
}

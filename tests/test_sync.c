/* SPDX-License-Identifier: MIT */
/*
 * The server clock, as guests reach it: the timeSync exchange over /ws and
 * the network clock on initialState.clock.port. Server and test run on the
 * same machine and the server clock is the monotonic clock, so a correct
 * exchange must find an offset of about zero; anything else is a bug.
 *
 * Then the room's timeline: WebSocket audio frames (decoded back to the
 * tone that plays, stamped consistently with the timeline message), the
 * playout delay following the guests' reports, and the stats they feed.
 */
#include "pipelines/rc_net_clock.h"
#include "server/core/rc_error.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/net/gstnetclientclock.h>
#include <math.h>
#include <string.h>

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
  /* Same clock on both sides: the estimate can only be off by the
   * asymmetry of the round trip, at most half of it. */
  g_assert_cmpfloat (fabs (best_offset), <=, MAX (best_rtt / 2, 0.5) + 0.5);

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

  net = rc_net_clock_obtain ("127.0.0.1", (guint) port);
  g_assert_true (gst_clock_wait_for_sync (net, 10 * GST_SECOND));
  a = gst_clock_get_time (local);
  b = gst_clock_get_time (net);
  c = gst_clock_get_time (local);
  g_test_message ("network clock - local clock: %.3f ms",
                  ((double) b - (double) (a + c) / 2) / GST_MSECOND);
  /* Within 2 ms, plus however long the two local readings took apart. */
  g_assert_cmpfloat (fabs ((double) b - (double) (a + c) / 2) / GST_MSECOND, <,
                     2 + (double) (c - a) / GST_MSECOND);
}

typedef struct
{
  char *dir;
  RcTestServer *server;
  char *room_id;
  RcTestWs *ws;
} Room;

/* A room playing a 440 Hz tone, and a guest in it. */
static void
room_start (Room *r)
{
  g_autofree char *tone = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (JsonObject) reply = NULL;
  JsonArray *songs;
  guint status = 0;

  r->dir = g_dir_make_tmp ("rc-sync-XXXXXX", NULL);
  tone = g_build_filename (r->dir, "a440.ogg", NULL);
  rc_test_music_write (tone, RC_TEST_MUSIC_VORBIS, 440, 30000, "A440", "Tones", NULL, NULL);
  r->server = rc_test_server_start ((const char *const[]){ "--music-dir", r->dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (r->server, 1), 30000));
  room = rc_test_create_room (r->server, "Synced", NULL);
  r->room_id = g_strdup (rc_test_str (room, "id"));
  r->ws = rc_test_ws_join (r->server, r->room_id, "Wes", NULL, NULL, NULL);
  body = rc_test_http (r->server, "GET", "/api/library", NULL, NULL, &status);
  songs = json_object_get_array_member (json_node_get_object (body), "songs");
  rc_test_ws_sendf (r->ws, "{\"type\":\"addSong\",\"id\":1,\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (songs, 0), "id"));
  reply = rc_test_ws_expect (r->ws, "queueUpdated", 5000);
}

static void
room_stop (Room *r)
{
  rc_test_ws_free (r->ws);
  g_assert_cmpint (rc_test_server_stop (r->server), ==, 0);
  rc_test_server_free (r->server);
  rc_test_music_remove_tree (r->dir);
  g_free (r->dir);
  g_free (r->room_id);
}

typedef struct
{
  guint32 rtp;
  double server_ms;
  guint32 sequence;
  const guint8 *payload;
  gsize payload_length;
} Frame;

static gboolean
parse_frame (GBytes *bytes, Frame *f)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);

  if (length < 20 || data[0] != 1 || data[1] != 0 || GST_READ_UINT16_BE (data + 2) != 20)
    return FALSE;
  f->rtp = GST_READ_UINT32_BE (data + 4);
  f->server_ms = GST_READ_DOUBLE_BE (data + 8);
  f->sequence = GST_READ_UINT32_BE (data + 16);
  f->payload = data + 20;
  f->payload_length = length - 20;
  return TRUE;
}

/* C of RTP timestamp @rtp by the timeline message. */
static double
timeline_time (JsonObject *timeline, guint32 rtp)
{
  guint32 base = (guint32) json_object_get_int_member (timeline, "rtpTimestamp");

  return json_object_get_double_member (timeline, "serverTime")
         + (double) (gint32) (rtp - base) * 1000.0
             / (double) json_object_get_int_member (timeline, "clockRate");
}

static void
test_ws_audio_and_timeline (void)
{
  Room r = { 0 };
  g_autoptr (JsonObject) started = NULL;
  g_autoptr (JsonObject) timeline = NULL;
  g_autoptr (JsonObject) stopped = NULL;
  g_autoptr (GstElement) decoder = NULL;
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstElement) sink = NULL;
  RcTestEar *ear = rc_test_ear_new ();
  Frame first = { 0 }, prev = { 0 }, f = { 0 };
  guint frames = 0;
  double max_mapping_error = 0;
  double now;

  room_start (&r);
  rc_test_ws_send (r.ws, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
  started = rc_test_ws_expect (r.ws, "mediaStarted", 5000);
  g_assert_cmpstr (rc_test_str (started, "id"), ==, "m");
  g_assert_cmpstr (rc_test_str (started, "transport"), ==, "ws");
  timeline = rc_test_ws_expect (r.ws, "timeline", 5000);
  g_assert_cmpint (json_object_get_int_member (timeline, "clockRate"), ==, 48000);
  g_assert_cmpfloat (json_object_get_double_member (timeline, "playoutDelay"), ==, 150);
  /* The server's clock is this machine's monotonic clock. */
  now = local_ms ();
  g_assert_cmpfloat (fabs (json_object_get_double_member (timeline, "serverTime") - now), <, 1000);

  /* Decode what arrives: Opus packets straight into opusdec. */
  decoder = gst_parse_launch ("appsrc name=src format=time caps=\"audio/x-opus,rate=48000,"
                              "channels=2,channel-mapping-family=0,stream-count=1,coupled-count=1\" "
                              "! opusdec ! audioconvert ! audioresample "
                              "! audio/x-raw,format=F32LE,channels=1,rate=48000 "
                              "! appsink name=sink emit-signals=true sync=false",
                              NULL);
  g_assert_nonnull (decoder);
  src = gst_bin_get_by_name (GST_BIN (decoder), "src");
  sink = gst_bin_get_by_name (GST_BIN (decoder), "sink");
  g_signal_connect (sink, "new-sample", G_CALLBACK (rc_test_ear_on_sample), ear);
  gst_element_set_state (decoder, GST_STATE_PLAYING);

  /* Two seconds of frames: consecutive, 20 ms apart in both clocks, their
   * C where the timeline says, and the tone in them. */
  while (frames < 100)
    {
      GBytes *bytes;

      g_assert_true (RC_WAIT_UNTIL (!g_queue_is_empty (&r.ws->binary), 2000));
      bytes = g_queue_pop_head (&r.ws->binary);
      g_assert_true (parse_frame (bytes, &f));
      g_assert_cmpuint (f.payload_length, >, 0);
      if (frames == 0)
        first = f;
      else if (frames > 5)
        {
          /* (The encoder's first packets are shorter by its look-ahead.) */
          g_assert_cmpuint (f.sequence, ==, prev.sequence + 1);
          g_assert_cmpuint (f.rtp - prev.rtp, ==, 960);
          g_assert_cmpfloat (fabs (f.server_ms - prev.server_ms - 20.0), <, 0.01);
        }
      max_mapping_error = MAX (max_mapping_error, fabs (timeline_time (timeline, f.rtp) - f.server_ms));
      {
        GstBuffer *buffer = gst_buffer_new_memdup (f.payload, f.payload_length);

        GST_BUFFER_PTS (buffer) = (GstClockTime) (frames * 20 * GST_MSECOND);
        GST_BUFFER_DURATION (buffer) = 20 * GST_MSECOND;
        gst_app_src_push_buffer (GST_APP_SRC (src), buffer);
      }
      prev = f;
      frames++;
      g_bytes_unref (bytes);
    }
  g_test_message ("first frame C %.3f ms; timeline maps every frame within %.6f ms",
                  first.server_ms, max_mapping_error);
  g_assert_cmpfloat (max_mapping_error, <, 0.01);
  g_assert_true (RC_WAIT_UNTIL (rc_test_ear_hears (ear, 440), 3000));

  /* stopMedia: no more frames. */
  rc_test_ws_send (r.ws, "{\"type\":\"stopMedia\",\"id\":\"s\"}");
  stopped = rc_test_ws_expect (r.ws, "mediaStopped", 5000);
  rc_test_run_for (300);
  g_queue_clear_full (&r.ws->binary, (GDestroyNotify) g_bytes_unref);
  rc_test_run_for (500);
  g_assert_cmpuint (g_queue_get_length (&r.ws->binary), ==, 0);

  /* The answer/ice of WebRTC make no sense on the WebSocket transport. */
  rc_test_ws_send (r.ws, "{\"type\":\"startMedia\",\"transport\":\"ws\"}");
  json_object_unref (rc_test_ws_expect (r.ws, "mediaStarted", 5000));
  rc_test_ws_send (r.ws, "{\"type\":\"answer\",\"sdp\":\"v=0\"}");
  json_object_unref (rc_test_ws_expect_error (r.ws, RC_ERROR_NO_MEDIA, 5000));

  gst_element_set_state (decoder, GST_STATE_NULL);
  rc_test_ear_free (ear);
  room_stop (&r);
}

static double
stats_delay (RcTestServer *server, const char *room_id, JsonObject **stats_out)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", room_id);
  guint status = 0;
  JsonNode *body = rc_test_http (server, "GET", path, NULL, NULL, &status);
  double delay;

  g_assert_cmpuint (status, ==, 200);
  delay = json_object_get_double_member (json_node_get_object (body), "playoutDelay");
  if (stats_out != NULL)
    *stats_out = json_object_ref (json_node_get_object (body));
  json_node_unref (body);
  return delay;
}

static void
test_reports_move_the_delay (void)
{
  Room r = { 0 };
  g_autoptr (RcTestWs) other = NULL;
  g_autoptr (JsonObject) timeline = NULL;
  g_autoptr (JsonObject) stats = NULL;
  g_autoptr (JsonObject) offer = NULL;
  JsonObject *guest, *sync;
  guint status = 0;
  g_autoptr (JsonNode) missing = NULL;
  double change_at, first_c;

  room_start (&r);
  /* Reports need a room; bad ones get 4002. */
  other = rc_test_ws_connect (r.server);
  rc_test_ws_send (other, "{\"type\":\"syncReport\",\"transport\":\"ws\",\"error\":1,"
                          "\"arrival\":50,\"jitter\":1}");
  json_object_unref (rc_test_ws_expect_error (other, RC_ERROR_NOT_IN_ROOM, 5000));
  rc_test_ws_send (r.ws, "{\"type\":\"syncReport\",\"transport\":\"carrier-pigeon\","
                         "\"error\":1,\"arrival\":50,\"jitter\":1}");
  json_object_unref (rc_test_ws_expect_error (r.ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (r.ws, "{\"type\":\"syncReport\",\"transport\":\"ws\",\"error\":1e9,"
                         "\"arrival\":50,\"jitter\":1}");
  json_object_unref (rc_test_ws_expect_error (r.ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (r.ws, "{\"type\":\"syncReport\",\"transport\":\"ws\"}");
  json_object_unref (rc_test_ws_expect_error (r.ws, RC_ERROR_INVALID_PARAM, 5000));

  /* A WebRTC guest gets the timeline right after its offer. */
  rc_test_ws_send (r.ws, "{\"type\":\"startMedia\",\"transport\":\"webrtc\"}");
  offer = rc_test_ws_expect (r.ws, "offer", 10000);
  timeline = rc_test_ws_expect (r.ws, "timeline", 5000);
  g_assert_cmpfloat (json_object_get_double_member (timeline, "playoutDelay"), ==, 150);
  g_clear_pointer (&timeline, json_object_unref);

  /* A guest that plays 200 ms early (its own output delay) needs packets
   * that much sooner: D covers arrival + offset + margin (25 ms), with a
   * fifth more as headroom, in 5 ms steps: 265 + 53 = 318, so 320. */
  rc_test_ws_send (r.ws, "{\"type\":\"syncReport\",\"transport\":\"webrtc\",\"error\":0,"
                         "\"arrival\":40,\"jitter\":0,\"latencyOffset\":200}");
  timeline = rc_test_ws_expect (r.ws, "timeline", 5000);
  g_assert_cmpfloat (json_object_get_double_member (timeline, "playoutDelay"), ==, 320);
  /* Announced ahead, for a heard time H that every player switches at:
   * past what plays now, and H − the old D a packet's C (C advances 20 ms
   * a packet from the timeline's serverTime). */
  g_assert_cmpfloat (json_object_get_double_member (timeline, "previousPlayoutDelay"), ==, 150);
  change_at = json_object_get_double_member (timeline, "playoutDelayAt");
  first_c = json_object_get_double_member (timeline, "serverTime");
  g_assert_cmpfloat (change_at - 150, >, first_c);
  g_assert_cmpfloat (fabs (remainder (change_at - 150 - first_c, 20)), <, 1e-6);
  g_clear_pointer (&timeline, json_object_unref);

  /* A guest whose packets come 300 ms after C (10 ms jitter): D rises at
   * once to cover it, 300 + 10 + 25 = 335 and a fifth more, 405, and every
   * guest with media is told. */
  rc_test_ws_send (r.ws, "{\"type\":\"syncReport\",\"transport\":\"webrtc\",\"error\":-2.5,"
                         "\"arrival\":300,\"jitter\":10,\"underruns\":7}");
  timeline = rc_test_ws_expect (r.ws, "timeline", 5000);
  g_assert_cmpfloat (json_object_get_double_member (timeline, "playoutDelay"), ==, 405);
  /* Still far off, the pending change took the new value (one step for all),
   * or it had happened and this one is announced from 320. */
  if (json_object_get_double_member (timeline, "playoutDelayAt") == change_at)
    g_assert_cmpfloat (json_object_get_double_member (timeline, "previousPlayoutDelay"), ==, 150);
  else
    g_assert_cmpfloat (json_object_get_double_member (timeline, "previousPlayoutDelay"), ==, 320);
  g_assert_cmpfloat (stats_delay (r.server, r.room_id, &stats), ==, 405);
  guest = json_array_get_object_element (json_object_get_array_member (stats, "guests"), 0);
  g_assert_cmpstr (rc_test_str (guest, "name"), ==, "Wes");
  g_assert_cmpstr (rc_test_str (guest, "transport"), ==, "webrtc");
  g_assert_cmpfloat (json_object_get_double_member (guest, "error"), ==, -2.5);
  g_assert_cmpint (json_object_get_int_member (guest, "underruns"), ==, 7);
  sync = json_object_get_object_member (stats, "sync");
  g_assert_cmpint (json_object_get_int_member (sync, "reporting"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (sync, "errorMax"), ==, 2.5);

  /* Beyond the operator's bound it stops at --playout-delay-max. */
  rc_test_ws_send (r.ws, "{\"type\":\"syncReport\",\"transport\":\"webrtc\",\"error\":0,"
                         "\"arrival\":5000,\"jitter\":0}");
  g_clear_pointer (&timeline, json_object_unref);
  timeline = rc_test_ws_expect (r.ws, "timeline", 5000);
  g_assert_cmpfloat (json_object_get_double_member (timeline, "playoutDelay"), ==, 1000);

  /* Leaving takes the guest out of the stats. */
  rc_test_ws_send (r.ws, "{\"type\":\"leave\"}");
  json_object_unref (rc_test_ws_expect (r.ws, "left", 5000));
  g_clear_pointer (&stats, json_object_unref);
  stats_delay (r.server, r.room_id, &stats);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (stats, "guests")), ==, 0);

  missing = rc_test_http (r.server, "GET", "/api/rooms/nope/stats", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 404);
  room_stop (&r);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add_func ("/sync/time-sync-exchange", test_time_sync_exchange);
  g_test_add_func ("/sync/network-clock", test_network_clock);
  g_test_add_func ("/sync/ws-audio-and-timeline", test_ws_audio_and_timeline);
  g_test_add_func ("/sync/reports-move-the-delay", test_reports_move_the_delay);
  return g_test_run ();
}

/* SPDX-License-Identifier: MIT */
/*
 * The origin → edge media relay between two room pipelines of this
 * process, over real UDP on 127.0.0.1: an origin room plays a tone and its
 * RcRelaySink sends each packet with its C to an edge, whose room pipeline
 * (rc_room_pipeline_new_relayed, on a GstNetClientClock slaved to the
 * origin's published clock, as another machine's would be) has no mixer or
 * encoder. The test hears the tone on the edge, checks that the edge's
 * packets are the origin's bytes and that its timeline and WebSocket frames
 * carry the origin's C, measures the edge clock's offset and the relay's
 * transit, and sends the edge's port datagrams of strangers: dropped,
 * counted, and the audio plays on.
 */
#include "pipelines/rc_net_clock.h"
#include "pipelines/rc_relay_frame.h"
#include "pipelines/rc_relay_sink.h"
#include "pipelines/rc_relay_source.h"
#include "pipelines/rc_room_pipeline.h"
#include "pipelines/rc_ws_branch.h"
#include "server/core/rc_clock.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/net/gstnet.h>
#include <math.h>
#include <string.h>

#define TOKEN G_GUINT64_CONSTANT (0x5eed5eed12345678)

static char *tmpdir;

/* What one side's tap saw: the bytes of each sequence number. */
typedef struct
{
  GMutex lock;
  GHashTable *packets; /* seq → GBytes */
} Tap;

static void
tap_packet (const guint8 *rtp, gsize length, gpointer data)
{
  Tap *tap = data;
  guint seq = ((guint)rtp[2] << 8) | rtp[3];

  g_mutex_lock (&tap->lock);
  if (g_hash_table_size (tap->packets) < 2000)
    g_hash_table_replace (tap->packets, GUINT_TO_POINTER (seq), g_bytes_new (rtp, length));
  g_mutex_unlock (&tap->lock);
}

static Tap *
tap_new (void)
{
  Tap *tap = g_new0 (Tap, 1);

  g_mutex_init (&tap->lock);
  tap->packets = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)g_bytes_unref);
  return tap;
}

static void
tap_free (gpointer data)
{
  Tap *tap = data;

  g_hash_table_unref (tap->packets);
  g_mutex_clear (&tap->lock);
  g_free (tap);
}

/* The edge's WebSocket frames: the first one's RTP timestamp and C. */
typedef struct
{
  GMutex lock;
  guint frames;
  guint32 rtp_timestamp;
  double server_time_ms;
} WsSeen;

static void
on_ws_message (GBytes *message, gpointer data)
{
  WsSeen *seen = data;
  gsize length, offset = 0, frame_length, payload_length;
  const guint8 *bytes = g_bytes_get_data (message, &length), *frame, *payload;
  guint32 ts, sequence;
  double c;

  while (rc_ws_message_next (bytes, length, &offset, &frame, &frame_length))
    if (rc_ws_frame_parse (frame, frame_length, &ts, &c, &sequence, &payload, &payload_length))
      {
        g_mutex_lock (&seen->lock);
        if (seen->frames++ == 0)
          {
            seen->rtp_timestamp = ts;
            seen->server_time_ms = c;
          }
        g_mutex_unlock (&seen->lock);
      }
}

/* The server time C of RTP timestamp @ts by the timeline (@rtp0, @c0). */
static double
c_of_ms (guint32 ts, guint32 rtp0, GstClockTime c0)
{
  return (double)c0 / GST_MSECOND
         + (double)(gint32)(ts - rtp0) * 1000.0 / RC_ROOM_PIPELINE_CLOCK_RATE;
}

typedef struct
{
  RcClock *server_clock;
  GstClock *edge_clock;
  RcRoomPipeline *origin;
  RcRelaySink *sink;
  RcRelaySource *source;
  RcRoomPipeline *edge;
  RcTestEar *ear;
} Relay;

static void
relay_start (Relay *r, double tone_hz)
{
  g_autofree char *path = g_build_filename (tmpdir, "tone.ogg", NULL);
  g_autofree char *uri = NULL;
  g_autoptr (GError) error = NULL;

  rc_test_music_write (path, RC_TEST_MUSIC_VORBIS, tone_hz, 30000, NULL, NULL, NULL, NULL);
  uri = gst_filename_to_uri (path, NULL);
  r->server_clock = rc_clock_new ("127.0.0.1", 0, &error);
  g_assert_no_error (error);
  r->origin = rc_room_pipeline_new ("relayed", NULL, NULL, &error);
  g_assert_no_error (error);
  rc_room_pipeline_play (r->origin, uri, 0);
  r->sink = rc_relay_sink_new (r->origin, &error);
  g_assert_no_error (error);

  /* The edge: its clock slaved to the origin's published clock. */
  r->edge_clock = rc_net_clock_obtain ("127.0.0.1", rc_clock_get_port (r->server_clock));
  g_assert_true (gst_clock_wait_for_sync (r->edge_clock, 10 * GST_SECOND * rc_test_slowdown ()));
  r->source = rc_relay_source_new ("127.0.0.1", 0, TOKEN, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rc_relay_source_get_port (r->source), >, 0);
  r->edge = rc_room_pipeline_new_relayed ("relayed", rc_relay_source_get_element (r->source),
                                          r->edge_clock, NULL, NULL, &error);
  g_assert_no_error (error);
  r->ear = rc_test_ear_new ();
  g_assert_true (rc_room_pipeline_add_branch (r->edge, rc_test_ear_branch (r->ear)));
  g_assert_true (rc_relay_sink_add_edge (r->sink, "127.0.0.1", rc_relay_source_get_port (r->source),
                                         TOKEN, &error));
  g_assert_no_error (error);
}

static void
relay_stop (Relay *r)
{
  rc_relay_sink_free (r->sink);
  rc_room_pipeline_free (r->edge);
  rc_relay_source_free (r->source);
  rc_room_pipeline_free (r->origin);
  gst_object_unref (r->edge_clock);
  rc_clock_free (r->server_clock);
  rc_test_ear_free (r->ear);
}

static void
test_edge_hears_the_origin (void)
{
  Relay r = { 0 };
  Tap *origin_tap = tap_new (), *edge_tap = tap_new ();
  WsSeen ws = { 0 };
  RcWsBranch *ws_branch;
  RcRelaySinkStats sink_stats;
  RcRelaySourceStats source_stats;
  guint32 rtp_o, rtp_e;
  GstClockTime c_o, c_e;
  guint compared = 0;
  GHashTableIter iter;
  gpointer key, value;
  double offset_ms;

  relay_start (&r, 440);
  rc_room_pipeline_set_rtp_tap (r.origin, tap_packet, origin_tap, tap_free);
  rc_room_pipeline_set_rtp_tap (r.edge, tap_packet, edge_tap, tap_free);
  g_mutex_init (&ws.lock);
  ws_branch = rc_ws_branch_new (r.edge, on_ws_message, &ws);

  /* The edge's guests hear the origin's tone. */
  g_assert_true (RC_WAIT_UNTIL (rc_test_ear_hears (r.ear, 440), 10000 * rc_test_slowdown ()));
  rc_test_run_for (1000);

  /* The same packets, byte for byte, under the same sequence numbers. */
  g_mutex_lock (&edge_tap->lock);
  g_mutex_lock (&origin_tap->lock);
  g_hash_table_iter_init (&iter, edge_tap->packets);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GBytes *sent = g_hash_table_lookup (origin_tap->packets, key);

      if (sent == NULL)
        continue;
      g_assert_true (g_bytes_equal (sent, value));
      compared++;
    }
  g_mutex_unlock (&origin_tap->lock);
  g_mutex_unlock (&edge_tap->lock);
  g_assert_cmpuint (compared, >, 50);

  /* One timeline: the edge's packets map to the origin's C. */
  g_assert_true (rc_room_pipeline_get_timeline (r.origin, &rtp_o, &c_o));
  g_assert_true (rc_room_pipeline_get_timeline (r.edge, &rtp_e, &c_e));
  g_assert_cmpfloat (fabs (c_of_ms (rtp_e, rtp_o, c_o) - (double)c_e / GST_MSECOND), <, 0.01);
  g_mutex_lock (&ws.lock);
  g_assert_cmpuint (ws.frames, >, 0);
  g_assert_cmpfloat (fabs (c_of_ms (ws.rtp_timestamp, rtp_o, c_o) - ws.server_time_ms), <, 0.01);
  g_mutex_unlock (&ws.lock);

  /* The edge's clock agrees with the origin's; the transit (arrival less
   * C) is the origin's own latency after C (its mixer's 50 ms, the
   * encoder) plus one loopback hop. */
  offset_ms = ((double)gst_clock_get_time (r.edge_clock) - (double)rc_clock_now ()) / GST_MSECOND;
  rc_relay_source_get_stats (r.source, &source_stats);
  rc_relay_sink_get_stats (r.sink, &sink_stats);
  g_test_message ("edge clock - origin clock: %.3f ms; transit p50 %.3f ms, p95 %.3f ms over %u "
                  "packets; lost %" G_GUINT64_FORMAT,
                  offset_ms, source_stats.transit_p50_ms, source_stats.transit_p95_ms,
                  source_stats.transit_count, source_stats.lost);
  g_assert_cmpfloat (fabs (offset_ms), <, 5.0 * rc_test_slowdown ());
  g_assert_cmpuint (source_stats.transit_count, >, 0);
  g_assert_cmpfloat (source_stats.transit_p50_ms, >, -5.0);
  g_assert_cmpfloat (source_stats.transit_p50_ms, <, 100.0 * rc_test_slowdown ());
  g_assert_cmpuint (sink_stats.edges, ==, 1);
  g_assert_cmpuint (sink_stats.datagrams, >=, source_stats.received);
  g_assert_cmpuint (source_stats.refused + source_stats.wrong_token, ==, 0);

  rc_ws_branch_free (ws_branch);
  g_mutex_clear (&ws.lock);
  relay_stop (&r);
}

static void
send_datagram (GSocket *socket, GSocketAddress *to, const guint8 *data, gsize length)
{
  g_autoptr (GError) error = NULL;

  g_socket_send_to (socket, to, (const char *)data, length, NULL, &error);
  g_assert_no_error (error);
}

static void
test_edge_drops_strangers (void)
{
  Relay r = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) stranger = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) edge_address = NULL;
  RcRelaySourceStats stats;
  guint8 frame[RC_RELAY_FRAME_MAX + 100] = { 0 };
  guint64 received;
  gint64 since;

  relay_start (&r, 660);
  g_assert_true (RC_WAIT_UNTIL (rc_test_ear_hears (r.ear, 660), 10000 * rc_test_slowdown ()));
  stranger
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  edge_address = g_inet_socket_address_new (loopback, (guint16)rc_relay_source_get_port (r.source));

  since = g_get_monotonic_time ();
  for (guint i = 0; i < 200; i++)
    {
      /* Garbage, a frame cut short, one too big, and a well-made frame of
       * another token carrying a packet of another stream. */
      for (guint b = 0; b < 64; b++)
        frame[b] = (guint8)g_random_int ();
      send_datagram (stranger, edge_address, frame, 64);
      rc_relay_frame_write_header (frame, TOKEN, 1);
      send_datagram (stranger, edge_address, frame, RC_RELAY_FRAME_HEADER + 4);
      frame[RC_RELAY_FRAME_HEADER] = 0x80;
      send_datagram (stranger, edge_address, frame, RC_RELAY_FRAME_MAX + 1);
      rc_relay_frame_write_header (frame, TOKEN + 1, rc_clock_now ());
      send_datagram (stranger, edge_address, frame, RC_RELAY_FRAME_HEADER + 100);
      rc_test_run_for (5);
    }
  g_assert_true (RC_WAIT_UNTIL (
      (rc_relay_source_get_stats (r.source, &stats), stats.refused + stats.wrong_token >= 800),
      5000 * rc_test_slowdown ()));
  g_assert_cmpuint (stats.refused, ==, 600);
  g_assert_cmpuint (stats.wrong_token, ==, 200);
  /* The room's audio played on through it, unbroken. */
  g_assert_true (rc_test_ear_hears (r.ear, 660));
  g_assert_cmpuint (rc_test_ear_lost (r.ear, since), ==, 0);

  /* Detached: nothing more reaches the edge. */
  g_assert_true (rc_relay_sink_remove_edge (r.sink, TOKEN));
  g_assert_false (rc_relay_sink_remove_edge (r.sink, TOKEN));
  rc_test_run_for (200);
  rc_relay_source_get_stats (r.source, &stats);
  received = stats.received;
  rc_test_run_for (500);
  rc_relay_source_get_stats (r.source, &stats);
  g_assert_cmpuint (stats.received, ==, received);
  relay_stop (&r);
}

static void
test_sink_refuses_bad_addresses (void)
{
  g_autoptr (GError) error = NULL;
  RcRoomPipeline *origin = rc_room_pipeline_new ("bad-edge", NULL, NULL, &error);
  RcRelaySink *sink;

  g_assert_no_error (error);
  sink = rc_relay_sink_new (origin, &error);
  g_assert_no_error (error);
  g_assert_false (rc_relay_sink_add_edge (sink, "edge.example", 4000, 1, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (rc_relay_sink_add_edge (sink, "127.0.0.1", 0, 1, &error));
  g_clear_error (&error);
  g_assert_true (rc_relay_sink_add_edge (sink, "::1", 4000, 1, &error));
  g_assert_no_error (error);
  rc_relay_sink_free (sink);
  rc_room_pipeline_free (origin);
}

int
main (int argc, char **argv)
{
  int status;

  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  tmpdir = g_dir_make_tmp ("rc-relay-XXXXXX", NULL);
  g_test_add_func ("/relay-media/edge-hears-the-origin", test_edge_hears_the_origin);
  g_test_add_func ("/relay-media/edge-drops-strangers", test_edge_drops_strangers);
  g_test_add_func ("/relay-media/sink-refuses-bad-addresses", test_sink_refuses_bad_addresses);
  status = g_test_run ();
  {
    g_autofree char *path = g_build_filename (tmpdir, "tone.ogg", NULL);
    g_unlink (path);
    g_rmdir (tmpdir);
  }
  return status;
}

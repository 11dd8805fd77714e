/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics and GET /api/status against a real roomcast: the metrics
 * parse as the Prometheus text format 0.0.4 (every sample `name{labels}
 * value`, every metric with # HELP and # TYPE, histogram buckets cumulative
 * up to +Inf equal to _count), and their figures move as a user acts: a
 * join, a bad message, a guest listening over the WebSocket, a Redis outage.
 */
#include "server/core/rc_error.h"
#include "rc_test_music.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

typedef struct
{
  GHashTable *samples; /* "name{labels}" (as written) -> double* */
  GHashTable *types;   /* metric name -> type */
} Metrics;

static void
metrics_clear (Metrics *m)
{
  g_clear_pointer (&m->samples, g_hash_table_unref);
  g_clear_pointer (&m->types, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Metrics, metrics_clear)

static double
parse_value (const char *text)
{
  char *end = NULL;
  double v;

  if (g_str_equal (text, "+Inf"))
    return INFINITY;
  if (g_str_equal (text, "-Inf"))
    return -INFINITY;
  if (g_str_equal (text, "NaN"))
    return NAN;
  v = g_ascii_strtod (text, &end);
  g_assert_true (end != text && *end == '\0');
  return v;
}

/* The family a sample belongs to: a histogram's _bucket, _sum and _count
 * are its own. */
static char *
family_of (Metrics *m, const char *name)
{
  static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (name, suffixes[i]))
      {
        g_autofree char *base = g_strndup (name, strlen (name) - strlen (suffixes[i]));
        if (g_strcmp0 (g_hash_table_lookup (m->types, base), "histogram") == 0)
          return g_steal_pointer (&base);
      }
  return g_strdup (name);
}

/* Parses the whole text strictly; fails the test at the first line that is
 * not the format. */
static void
metrics_parse (Metrics *m, const char *text)
{
  g_autoptr (GRegex) sample = g_regex_new (
    "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
    "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*)?\\})? (\\S+)$",
    0, 0, NULL);
  g_autoptr (GRegex) comment =
    g_regex_new ("^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$", 0, 0, NULL);
  g_autoptr (GHashTable) helps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  m->samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_assert_true (g_str_has_suffix (text, "\n"));
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GMatchInfo) match = NULL;
      const char *line = lines[i];

      if (*line == '\0')
        continue;
      if (line[0] == '#')
        {
          g_autofree char *kind = NULL;
          g_autofree char *name = NULL;
          g_autofree char *rest = NULL;

          if (!g_regex_match (comment, line, 0, &match))
            g_error ("Not a HELP or TYPE line: %s", line);
          kind = g_match_info_fetch (match, 1);
          name = g_match_info_fetch (match, 2);
          rest = g_match_info_fetch (match, 3);
          if (g_str_equal (kind, "HELP"))
            g_hash_table_add (helps, g_steal_pointer (&name));
          else
            {
              static const char *const types[] = { "counter", "gauge",   "histogram",
                                                   "summary", "untyped", NULL };

              g_assert_true (g_strv_contains (types, rest));
              g_assert_false (g_hash_table_contains (m->types, name));
              g_hash_table_insert (m->types, g_steal_pointer (&name), g_steal_pointer (&rest));
            }
          continue;
        }
      if (!g_regex_match (sample, line, 0, &match))
        g_error ("Not a sample line: %s", line);
      {
        g_autofree char *name = g_match_info_fetch (match, 1);
        g_autofree char *family = family_of (m, name);
        g_autofree char *value = g_match_info_fetch (match, 7);
        int value_at;
        double *v = g_new (double, 1);

        /* The metric was introduced by its HELP and TYPE before its samples. */
        g_assert_true (g_hash_table_contains (helps, family));
        g_assert_true (g_hash_table_contains (m->types, family));
        if (g_str_equal (g_hash_table_lookup (m->types, family), "counter"))
          g_assert_true (g_str_has_suffix (family, "_total"));
        g_match_info_fetch_pos (match, 7, &value_at, NULL);
        *v = parse_value (value);
        g_assert_false (g_hash_table_contains (m->samples, line));
        g_hash_table_insert (m->samples, g_strndup (line, value_at - 1), v);
      }
    }
}

static double
metric (Metrics *m, const char *key)
{
  double *v = g_hash_table_lookup (m->samples, key);

  if (v == NULL)
    g_error ("No sample %s", key);
  return *v;
}

/* Every histogram: for each label set, buckets in order, cumulative, the
 * last +Inf, equal to _count. */
static void
check_histograms (Metrics *m, const char *text)
{
  GHashTableIter iter;
  gpointer name, type;
  guint histograms = 0;

  g_hash_table_iter_init (&iter, m->types);
  while (g_hash_table_iter_next (&iter, &name, &type))
    {
      g_autofree char *prefix = g_strconcat ((const char *) name, "_bucket", NULL);
      g_auto (GStrv) lines = NULL;
      double last = -1;
      gboolean at_inf = TRUE;
      guint buckets = 0;

      if (!g_str_equal (type, "histogram"))
        continue;
      histograms++;
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          const char *le;
          double v;

          if (!g_str_has_prefix (lines[i], prefix) || lines[i][strlen (prefix)] != '{')
            continue;
          le = strstr (lines[i], "le=\"");
          g_assert_nonnull (le);
          v = parse_value (strrchr (lines[i], ' ') + 1);
          if (at_inf)
            last = -1; /* a new label set starts */
          g_assert_cmpfloat (v, >=, last);
          last = v;
          buckets++;
          at_inf = g_str_has_prefix (le, "le=\"+Inf\"");
          if (at_inf)
            {
              /* _count of the same labels: the line with _count and no le. */
              g_autofree char *labels = g_strndup (lines[i] + strlen (prefix) + 1,
                                                   le - lines[i] - strlen (prefix) - 1);
              g_autofree char *key = NULL;

              if (g_str_has_suffix (labels, ","))
                labels[strlen (labels) - 1] = '\0';
              key = *labels != '\0' ? g_strdup_printf ("%s_count{%s}", (const char *) name, labels)
                                    : g_strdup_printf ("%s_count", (const char *) name);
              g_assert_cmpfloat (v, ==, metric (m, key));
            }
        }
      g_assert_cmpuint (buckets, >, 1);
      g_assert_true (at_inf); /* the last bucket was +Inf */
    }
  g_assert_cmpuint (histograms, >=, 2);
}

static void
scrape (RcTestServer *server, Metrics *m)
{
  g_autofree char *type = NULL;
  g_autofree char *text = rc_test_http_text (server, "/metrics", &type);

  metrics_clear (m);
  g_assert_true (g_str_has_prefix (type, "text/plain; version=0.0.4"));
  metrics_parse (m, text);
  check_histograms (m, text);
}

static void
test_format_and_counts (void)
{
  g_autoptr (RcTestServer) server = rc_test_server_start (NULL);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Metered", NULL);
  g_autoptr (RcTestWs) guest = NULL;
  g_autoptr (JsonObject) error = NULL;
  g_auto (Metrics) before = { 0 };
  g_auto (Metrics) after = { 0 };
  g_auto (Metrics) later = { 0 };

  scrape (server, &before);
  g_assert_cmpfloat (metric (&before, "roomcast_rooms"), ==, 1);
  g_assert_cmpfloat (metric (&before, "roomcast_guests{transport=\"none\"}"), ==, 0);
  g_assert_cmpfloat (metric (&before, "roomcast_store_connected"), ==, 1);
  g_assert_cmpfloat (metric (&before, "process_open_fds"), >, 3);
  g_assert_cmpfloat (metric (&before, "process_resident_memory_bytes"), >, 1e6);
  g_assert_cmpfloat (metric (&before, "process_threads"), >=, 1);

  g_assert_cmpfloat (metric (&before, "roomcast_webrtc_dropped_total{reason=\"unknown_address\"}"),
                     ==, 0);

  /* A datagram to the WebRTC engine's port from an address no guest has
   * proven is dropped, and counted. */
  {
    const char *line = strstr (server->output->str, "WebRTC engine on UDP port ");
    g_autoptr (GSocket) udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) to = NULL;
    g_auto (Metrics) dropped = { 0 };

    g_assert_nonnull (line);
    to = g_inet_socket_address_new (
      loopback, (guint16) g_ascii_strtoull (line + strlen ("WebRTC engine on UDP port "), NULL, 10));
    g_assert_cmpint (g_socket_send_to (udp, to, "\x80\x60junk", 6, NULL, NULL), ==, 6);
    g_assert_true (RC_WAIT_UNTIL (
      (scrape (server, &dropped),
       metric (&dropped, "roomcast_webrtc_dropped_total{reason=\"unknown_address\"}") == 1),
      5000));
    g_assert_cmpfloat (metric (&dropped, "roomcast_webrtc_send_failed_total"), ==, 0);
    g_assert_cmpfloat (metric (&dropped, "process_max_fds"), >=, metric (&dropped, "process_open_fds"));
  }

  /* A guest joins: one more join, one guest without audio, its join's
   * latency observed. */
  guest = rc_test_ws_join (server, rc_test_str (room, "id"), "Mia", NULL, NULL, NULL);
  scrape (server, &after);
  g_assert_cmpfloat (metric (&after, "roomcast_joins_total"), ==,
                     metric (&before, "roomcast_joins_total") + 1);
  g_assert_cmpfloat (metric (&after, "roomcast_guests{transport=\"none\"}"), ==, 1);
  g_assert_cmpfloat (
    metric (&after, "roomcast_join_latency_seconds_count{until=\"initial_state\"}"), ==, 1);
  g_assert_cmpfloat (metric (&after, "roomcast_ws_messages_total"), >=, 1);

  /* A bad message: error 4000 counted; a sync report: its error in the
   * histogram, in seconds (3 ms lands in the 5 ms bucket, not the 2 ms). */
  rc_test_ws_send (guest, "this is not JSON");
  error = rc_test_ws_expect_error (guest, RC_ERROR_INVALID_MESSAGE, 5000);
  rc_test_ws_send (guest, "{\"type\":\"syncReport\",\"transport\":\"ws\",\"error\":-3,"
                          "\"arrival\":10,\"jitter\":1}");
  g_assert_true (RC_WAIT_UNTIL (
    (scrape (server, &later), metric (&later, "roomcast_sync_error_seconds_count") == 1), 5000));
  g_assert_cmpfloat (metric (&later, "roomcast_errors_total{code=\"4000\"}"), ==,
                     metric (&after, "roomcast_errors_total{code=\"4000\"}") + 1);
  g_assert_cmpfloat (metric (&later, "roomcast_errors_total{code=\"4001\"}"), ==, 0);
  g_assert_cmpfloat (metric (&later, "roomcast_sync_error_seconds_bucket{le=\"0.002\"}"), ==, 0);
  g_assert_cmpfloat (metric (&later, "roomcast_sync_error_seconds_bucket{le=\"0.005\"}"), ==, 1);
  g_assert_cmpfloat (fabs (metric (&later, "roomcast_sync_error_seconds_sum") - 0.003), <, 1e-9);
  g_assert_cmpfloat (metric (&later, "roomcast_ws_messages_total"), >=,
                     metric (&after, "roomcast_ws_messages_total") + 2);

  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

static void
test_ws_listener (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rc-metrics-XXXXXX", NULL);
  g_autofree char *tone = g_build_filename (dir, "a440.ogg", NULL);
  g_autoptr (RcTestServer) server = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (RcTestWs) guest = NULL;
  g_autoptr (JsonNode) library = NULL;
  g_autoptr (JsonObject) queued = NULL;
  g_autoptr (JsonObject) started = NULL;
  g_autoptr (JsonNode) status_body = NULL;
  g_autofree char *delay_key = NULL;
  g_auto (Metrics) before = { 0 };
  g_auto (Metrics) after = { 0 };
  JsonObject *status, *listeners;
  JsonArray *samples;
  guint code = 0;

  rc_test_music_write (tone, RC_TEST_MUSIC_VORBIS, 440, 30000, "A440", "Tones", NULL, NULL);
  server = rc_test_server_start ((const char *const[]){ "--music-dir", dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (server, 1), 30000));
  room = rc_test_create_room (server, "Loud", NULL);
  guest = rc_test_ws_join (server, rc_test_str (room, "id"), "Lev", NULL, NULL, NULL);
  library = rc_test_http (server, "GET", "/api/library", NULL, NULL, &code);
  rc_test_ws_sendf (guest, "{\"type\":\"addSong\",\"id\":1,\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (
                                   json_object_get_array_member (json_node_get_object (library),
                                                                 "songs"),
                                   0),
                                 "id"));
  queued = rc_test_ws_expect (guest, "queueUpdated", 5000);
  scrape (server, &before);

  rc_test_ws_send (guest, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
  started = rc_test_ws_expect (guest, "mediaStarted", 5000);
  g_assert_true (RC_WAIT_UNTIL (g_queue_get_length (&guest->binary) >= 50, 5000));
  scrape (server, &after);

  /* What the guest received, the server counted. */
  g_assert_cmpfloat (metric (&after, "roomcast_guests{transport=\"ws\"}"), ==, 1);
  g_assert_cmpfloat (metric (&after, "roomcast_guests{transport=\"none\"}"), ==, 0);
  g_assert_cmpfloat (metric (&after, "roomcast_packets_sent_total{transport=\"ws\"}"), >=,
                     metric (&before, "roomcast_packets_sent_total{transport=\"ws\"}") + 50);
  g_assert_cmpfloat (metric (&after, "roomcast_sent_bytes_total{transport=\"ws\"}"), >=,
                     metric (&before, "roomcast_sent_bytes_total{transport=\"ws\"}") + 50 * 20);
  g_assert_cmpfloat (metric (&after, "roomcast_packets_sent_total{transport=\"webrtc\"}"), ==, 0);
  g_assert_cmpfloat (metric (&after, "roomcast_join_latency_seconds_count{until=\"first_audio\"}"),
                     ==, 1);
  delay_key = g_strdup_printf ("roomcast_playout_delay_seconds{room=\"%s\"}",
                               rc_test_str (room, "id"));
  g_assert_cmpfloat (metric (&after, delay_key), >, 0);

  /* The status page's data says the same. */
  status_body = rc_test_http (server, "GET", "/api/status", NULL, NULL, &code);
  g_assert_cmpuint (code, ==, 200);
  status = json_node_get_object (status_body);
  g_assert_cmpstr (rc_test_str (status, "status"), ==, "ok");
  listeners = json_object_get_object_member (status, "listeners");
  g_assert_cmpint (json_object_get_int_member (listeners, "ws"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (status, "rooms"), ==, 1);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (status, "store"),
                                                 "connected"));
  samples = json_object_get_array_member (status, "samples");
  g_assert_cmpuint (json_array_get_length (samples), >=, 1);
  g_assert_cmpint (json_object_get_int_member (status, "sampleIntervalSeconds"), ==, 10);

  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
  rc_test_music_remove_tree (dir);
}

/* Through a Redis outage: the store down with writes pending, then back
 * with one reconnect counted. */
static void
test_store_outage (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcTestRedis) redis = rc_test_redis_start (&error);
  g_autoptr (RcTestServer) server = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (JsonObject) offline = NULL;
  g_auto (Metrics) m = { 0 };

  g_assert_no_error (error);
  server = rc_test_server_start ((const char *const[]){ "--store", rc_test_redis_get_uri (redis),
                                                        NULL });
  room = rc_test_create_room (server, "Weather", NULL);
  scrape (server, &m);
  g_assert_cmpfloat (metric (&m, "roomcast_store_connected"), ==, 1);
  g_assert_cmpfloat (metric (&m, "roomcast_store_reconnects_total"), ==, 0);

  /* roomcast notices when a write fails or the socket closes. */
  rc_test_redis_kill (redis);
  offline = rc_test_create_room (server, "Storm", NULL);
  g_assert_true (RC_WAIT_UNTIL (
    (scrape (server, &m), metric (&m, "roomcast_store_connected") == 0), 10000));
  json_object_unref (rc_test_create_room (server, "Made offline", NULL));
  scrape (server, &m);
  g_assert_cmpfloat (metric (&m, "roomcast_store_pending_writes"), >, 0);

  g_assert_true (rc_test_redis_restart (redis, &error));
  g_assert_no_error (error);
  g_assert_true (RC_WAIT_UNTIL (
    (scrape (server, &m), metric (&m, "roomcast_store_connected") == 1
                            && metric (&m, "roomcast_store_pending_writes") == 0),
    20000));
  g_assert_cmpfloat (metric (&m, "roomcast_store_reconnects_total"), ==, 1);

  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv); /* for writing the test's music */
  rc_test_init (&argc, &argv);
  g_test_add_func ("/metrics/format-and-counts", test_format_and_counts);
  g_test_add_func ("/metrics/ws-listener", test_ws_listener);
  g_test_add_func ("/metrics/store-outage", test_store_outage);
  return g_test_run ();
}

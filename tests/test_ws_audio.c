/* SPDX-License-Identifier: MIT */
/*
 * WebSocket audio at scale, against a real server playing a real tone:
 * - a listener that stops reading is told (mediaStopped tooSlow, 4306) and
 *   dropped after the bounded backlog, while another listener's frames keep
 *   arriving on time (each frame's arrival measured against its C by a
 *   thread that does nothing but read);
 * - a room that bundles its frames (--ws-bundle-from) still gives every
 *   frame its exact C;
 * - a room with many listeners (--ws-bundle-large-from, lowered to a few
 *   here) sends 5 frames a message, and a listener among them hears the
 *   tone without a gap, every frame in its place on the timeline.
 * The server clock is this machine's monotonic clock, so arrival − C is a
 * frame's lateness as the listener sees it.
 */
#include "server/core/rc_error.h"
#include "pipelines/rc_ws_branch.h"
#include "pipelines/rc_stats.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

typedef struct
{
  char *dir;
  RcTestServer *server;
  char *room_id;
  RcTestWs *owner; /* adds the song; takes no audio */
} Room;

static void
room_start (Room *r, const char *const *extra)
{
  g_autofree char *tone = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  JsonArray *songs;
  guint status = 0;

  r->dir = g_dir_make_tmp ("rc-wsaudio-XXXXXX", NULL);
  tone = g_build_filename (r->dir, "a440.ogg", NULL);
  rc_test_music_write (tone, RC_TEST_MUSIC_VORBIS, 440, 60000, "A440", "Tones", NULL, NULL);
  g_ptr_array_add (args, "--music-dir");
  g_ptr_array_add (args, r->dir);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra[i]);
  g_ptr_array_add (args, NULL);
  r->server = rc_test_server_start ((const char *const *) args->pdata);
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (r->server, 1), 30000));
  room = rc_test_create_room (r->server, "Waves", NULL);
  r->room_id = g_strdup (rc_test_str (room, "id"));
  r->owner = rc_test_ws_join (r->server, r->room_id, "Owner", NULL, NULL, NULL);
  body = rc_test_http (r->server, "GET", "/api/library", NULL, NULL, &status);
  songs = json_object_get_array_member (json_node_get_object (body), "songs");
  rc_test_ws_sendf (r->owner, "{\"type\":\"addSong\",\"id\":1,\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (songs, 0), "id"));
  reply = rc_test_ws_expect (r->owner, "queueUpdated", 5000);
}

static void
room_stop (Room *r)
{
  rc_test_ws_free (r->owner);
  g_assert_cmpint (rc_test_server_stop (r->server), ==, 0);
  rc_test_server_free (r->server);
  rc_test_music_remove_tree (r->dir);
  g_free (r->dir);
  g_free (r->room_id);
}

static JsonObject *
room_stats (Room *r)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", r->room_id);
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (r->server, "GET", path, NULL, NULL, &status);

  g_assert_cmpuint (status, ==, 200);
  return json_object_ref (json_node_get_object (body));
}

/* Reads text frames of a raw client until one of @type; returns it. */
static JsonObject *
raw_expect (GSocketConnection *conn, const char *type)
{
  for (;;)
    {
      guint opcode = 0;
      g_autoptr (GBytes) payload = rc_test_ws_raw_read (conn, &opcode);
      g_autoptr (JsonNode) node = NULL;

      g_assert_nonnull (payload);
      if (opcode != 1)
        continue;
      node = json_from_string (g_bytes_get_data (payload, NULL), NULL);
      if (node != NULL && g_strcmp0 (rc_test_str (json_node_get_object (node), "type"), type) == 0)
        return json_object_ref (json_node_get_object (node));
    }
}

/* ---- a listener that only reads, and times what it reads ------------------ */

typedef struct
{
  double lateness; /* arrival − C, ms */
  double c;
  guint32 sequence;
} Arrival;

typedef struct
{
  GSocketConnection *conn;
  GThread *thread;
  GMutex lock;
  GArray *arrivals; /* Arrival, protected by lock */
  guint32 rtp0;     /* the timeline: rtpTimestamp ↔ serverTime */
  double c0;
  double max_mapping_error; /* |C − the timeline's C| over every frame, ms */
  guint messages;   /* protected by lock */
  guint bundled;    /* messages with more than one frame */
  guint max_frames; /* the most frames one message held */
  GQueue binary;    /* GBytes*: every binary message, as sent; lock */
} Listener;

static gpointer
listener_main (gpointer user_data)
{
  Listener *l = user_data;

  for (;;)
    {
      guint opcode = 0;
      g_autoptr (GBytes) payload = rc_test_ws_raw_read (l->conn, &opcode);
      double now = g_get_monotonic_time () / 1000.0;
      gsize size, offset = 0, frame_length, payload_length;
      const guint8 *data, *frame, *opus;
      guint frames = 0;

      if (payload == NULL || opcode == 8)
        return NULL;
      if (opcode != 2)
        continue;
      data = g_bytes_get_data (payload, &size);
      g_mutex_lock (&l->lock);
      while (rc_ws_message_next (data, size, &offset, &frame, &frame_length))
        {
          Arrival a;
          guint32 rtp;

          g_assert_true (rc_ws_frame_parse (frame, frame_length, &rtp, &a.c, &a.sequence, &opus,
                                            &payload_length));
          a.lateness = now - a.c;
          l->max_mapping_error =
            MAX (l->max_mapping_error,
                 fabs (l->c0 + (gint32) (rtp - l->rtp0) * 1000.0 / 48000 - a.c));
          g_array_append_val (l->arrivals, a);
          frames++;
        }
      l->messages++;
      l->bundled += frames > 1 ? 1 : 0;
      l->max_frames = MAX (l->max_frames, frames);
      g_queue_push_tail (&l->binary, g_bytes_ref (payload));
      g_mutex_unlock (&l->lock);
    }
}

/* Joins (raw), asks for WebSocket audio and starts reading in a thread. */
static Listener *
listener_start (Room *r, const char *name)
{
  Listener *l = g_new0 (Listener, 1);
  g_autoptr (JsonObject) timeline = NULL;

  l->conn = rc_test_ws_raw_join (r->server, r->room_id, name, 0);
  json_object_unref (raw_expect (l->conn, "initialState"));
  rc_test_ws_raw_send (l->conn, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
  json_object_unref (raw_expect (l->conn, "mediaStarted"));
  timeline = raw_expect (l->conn, "timeline");
  l->rtp0 = (guint32) json_object_get_int_member (timeline, "rtpTimestamp");
  l->c0 = json_object_get_double_member (timeline, "serverTime");
  g_mutex_init (&l->lock);
  l->arrivals = g_array_new (FALSE, FALSE, sizeof (Arrival));
  l->thread = g_thread_new ("listener", listener_main, l);
  return l;
}

static guint
listener_count (Listener *l)
{
  guint n;

  g_mutex_lock (&l->lock);
  n = l->arrivals->len;
  g_mutex_unlock (&l->lock);
  return n;
}

static void
listener_free (Listener *l)
{
  /* Wakes the reading thread (a close alone would not). */
  g_socket_shutdown (g_socket_connection_get_socket (l->conn), TRUE, TRUE, NULL);
  g_io_stream_close (G_IO_STREAM (l->conn), NULL, NULL);
  g_thread_join (l->thread);
  g_object_unref (l->conn);
  g_array_unref (l->arrivals);
  g_queue_clear_full (&l->binary, (GDestroyNotify) g_bytes_unref);
  g_mutex_clear (&l->lock);
  g_free (l);
}

/* Lateness of arrivals [@from, @to), for percentiles. */
static GArray *
lateness_of (Listener *l, guint from, guint to)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (double));

  g_mutex_lock (&l->lock);
  for (guint i = from; i < MIN (to, l->arrivals->len); i++)
    g_array_append_val (out, g_array_index (l->arrivals, Arrival, i).lateness);
  g_mutex_unlock (&l->lock);
  return out;
}

static void
test_stalled_reader_dropped (void)
{
  Room r = { 0 };
  Listener *ann;
  g_autoptr (GSocketConnection) bob = NULL;
  g_autoptr (GArray) before = NULL;
  g_autoptr (GArray) during = NULL;
  g_autoptr (JsonObject) stopped = NULL;
  guint stall_from, stall_to;
  gint64 stalled_at, dropped_at = 0;

  /* The raw clients answer no pings: a long idle timeout keeps them. */
  room_start (&r, (const char *const[]){ "--idle-timeout", "300", NULL });
  ann = listener_start (&r, "Ann");
  /* Ann's frames before Bob comes: the baseline. */
  g_assert_true (RC_WAIT_UNTIL (listener_count (ann) >= 170, 15000));
  before = lateness_of (ann, 20, 170);

  /* Bob: a small receive buffer, joins, starts media, then never reads. */
  bob = rc_test_ws_raw_join (r.server, r.room_id, "Bob", 4096);
  json_object_unref (raw_expect (bob, "initialState"));
  rc_test_ws_raw_send (bob, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
  json_object_unref (raw_expect (bob, "mediaStarted"));
  stalled_at = g_get_monotonic_time ();
  stall_from = listener_count (ann);

  /* The server drops Bob's audio once his backlog is past the bound. */
  while (dropped_at == 0)
    {
      g_autoptr (JsonObject) stats = room_stats (&r);

      if (json_object_get_int_member (stats, "wsDropped") >= 1)
        {
          dropped_at = g_get_monotonic_time ();
          g_assert_cmpint (json_object_get_int_member (stats, "wsListeners"), ==, 1);
        }
      else
        {
          g_assert_cmpint (g_get_monotonic_time () - stalled_at, <, 30 * G_USEC_PER_SEC);
          rc_test_run_for (200);
        }
    }
  rc_test_run_for (1000);
  stall_to = listener_count (ann);
  during = lateness_of (ann, stall_from, stall_to);

  /* Ann: every frame, in order, and no later while Bob stalled than before
   * he came, by more than 10 ms: the median and the 95th percentile each
   * against their own baseline (this machine's scheduling is in both; the
   * worst frames are printed). */
  g_test_message ("Bob dropped %.1f s after he stopped reading; Ann's lateness (arrival - C): "
                  "before Bob p50 %.2f p95 %.2f max %.2f ms; while Bob stalled p50 %.2f p95 %.2f "
                  "max %.2f ms (%u frames)",
                  (dropped_at - stalled_at) / 1e6, rc_percentile (before, 0.5),
                  rc_percentile (before, 0.95), rc_percentile (before, 1.0),
                  rc_percentile (during, 0.5), rc_percentile (during, 0.95),
                  rc_percentile (during, 1.0), during->len);
  g_assert_cmpuint (during->len, >=, 50);
  g_assert_cmpfloat (rc_percentile (during, 0.5) - rc_percentile (before, 0.5), <=, 10.0);
  g_assert_cmpfloat (rc_percentile (during, 0.95) - rc_percentile (before, 0.95), <=, 10.0);
  g_mutex_lock (&ann->lock);
  for (guint i = 1; i < ann->arrivals->len; i++)
    g_assert_cmpuint (g_array_index (ann->arrivals, Arrival, i).sequence, ==,
                      g_array_index (ann->arrivals, Arrival, i - 1).sequence + 1);
  g_mutex_unlock (&ann->lock);

  /* Bob is told, after what was already on its way, and stays in the room. */
  g_socket_set_timeout (g_socket_connection_get_socket (bob), 10);
  stopped = raw_expect (bob, "mediaStopped");
  g_assert_cmpstr (rc_test_str (stopped, "reason"), ==, "tooSlow");
  g_assert_cmpint (json_object_get_int_member (stopped, "code"), ==, RC_ERROR_TOO_SLOW);
  rc_test_ws_raw_send (bob, "{\"type\":\"chat\",\"id\":\"c\",\"text\":\"still here\"}");
  json_object_unref (raw_expect (bob, "chat"));

  listener_free (ann);
  room_stop (&r);
}

static void
test_bundled_frames_keep_c (void)
{
  Room r = { 0 };
  Listener *wes;
  g_autoptr (JsonObject) stats = NULL;
  double max_step_error = 0;

  room_start (&r, (const char *const[]){ "--ws-bundle-from", "1", NULL });
  wes = listener_start (&r, "Wes");
  g_assert_true (RC_WAIT_UNTIL (listener_count (wes) >= 60, 10000));
  stats = room_stats (&r);
  g_assert_cmpint (json_object_get_int_member (stats, "wsFramesPerMessage"), ==, 3);

  /* Three frames to a message, each with its own C, 20 ms apart and
   * consecutive across messages. */
  g_mutex_lock (&wes->lock);
  g_assert_cmpuint (wes->bundled, >=, wes->messages - 1);
  g_assert_cmpuint (wes->arrivals->len, >=, 3 * (wes->messages - 1));
  for (guint i = 6; i < wes->arrivals->len; i++)
    {
      Arrival *a = &g_array_index (wes->arrivals, Arrival, i);
      Arrival *p = &g_array_index (wes->arrivals, Arrival, i - 1);

      g_assert_cmpuint (a->sequence, ==, p->sequence + 1);
      max_step_error = MAX (max_step_error, fabs (a->c - p->c - 20.0));
    }
  g_mutex_unlock (&wes->lock);
  g_test_message ("%u messages, %u frames; C steps off 20 ms by at most %.6f ms, off the "
                  "timeline by at most %.6f ms",
                  wes->messages, listener_count (wes), max_step_error, wes->max_mapping_error);
  g_assert_cmpfloat (max_step_error, <, 0.01);
  g_assert_cmpfloat (wes->max_mapping_error, <, 0.01);

  listener_free (wes);
  room_stop (&r);
}

/* Bundled 5 to a message once a room has --ws-bundle-large-from listeners:
 * each listener still hears every frame, consecutive, at its exact C, and
 * the tone decoded from them and placed by C has no gap. */
static void
test_many_listeners_large_bundles (void)
{
  Room r = { 0 };
  Listener *many[4];
  g_autoptr (JsonObject) stats = NULL;
  g_autoptr (GArray) pcm = NULL;
  Listener *wes;
  double c0 = 0, max_step_error = 0;
  guint windows = 0, max_frames, messages;

  room_start (
      &r, (const char *const[]){ "--ws-bundle-from", "2", "--ws-bundle-large-from", "4", NULL });
  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    {
      g_autofree char *name = g_strdup_printf ("Many%u", i);

      many[i] = listener_start (&r, name);
    }
  wes = many[G_N_ELEMENTS (many) - 1];
  stats = room_stats (&r);
  g_assert_cmpint (json_object_get_int_member (stats, "wsListeners"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (stats, "wsFramesPerMessage"), ==, RC_WS_BUNDLE_MAX);
  /* 3 s of audio, from a second after the last listener joined (the room's
   * pipeline starts with its first listener and takes a moment to settle). */
  g_assert_true (RC_WAIT_UNTIL (listener_count (wes) >= 50, 15000));
  g_mutex_lock (&wes->lock);
  g_queue_clear_full (&wes->binary, (GDestroyNotify)g_bytes_unref);
  g_array_set_size (wes->arrivals, 0);
  wes->messages = wes->bundled = wes->max_frames = 0;
  g_mutex_unlock (&wes->lock);
  g_assert_true (RC_WAIT_UNTIL (listener_count (wes) >= 150, 15000));

  g_mutex_lock (&wes->lock);
  max_frames = wes->max_frames;
  messages = wes->messages;
  /* Whole bundles of 5 (the first may have been cut by the reset above). */
  g_assert_cmpuint (max_frames, ==, RC_WS_BUNDLE_MAX);
  g_assert_cmpuint (wes->arrivals->len, >=, RC_WS_BUNDLE_MAX * (messages - 1));
  for (guint i = 1; i < wes->arrivals->len; i++)
    {
      Arrival *a = &g_array_index (wes->arrivals, Arrival, i);
      Arrival *p = &g_array_index (wes->arrivals, Arrival, i - 1);

      g_assert_cmpuint (a->sequence, ==, p->sequence + 1);
      max_step_error = MAX (max_step_error, fabs (a->c - p->c - 20.0));
    }
  pcm = rc_test_audio_decode_ws_frames (&wes->binary, &c0);
  g_mutex_unlock (&wes->lock);
  g_assert_cmpfloat (max_step_error, <, 0.01);
  g_assert_cmpfloat (wes->max_mapping_error, <, 0.01);

  /* The tone in every 100 ms of the 3 s (the decoder's first 300 ms left
   * out: it starts mid-stream and settles): a missing or misplaced frame would break a
   * window's pitch. */
  for (gsize at = 300 * 48; at + 100 * 48 <= pcm->len; at += 100 * 48)
    {
      double freq, rms;

      rc_test_audio_analyse_float (&g_array_index (pcm, float, at), 100 * 48, &freq, &rms);
      if (!rc_test_audio_is_tone (freq, rms, 440))
        g_error ("no tone at %.0f ms of the heard audio: %.1f Hz, rms %.3f", at / 48.0, freq, rms);
      windows++;
    }
  g_test_message ("%u messages of up to %u frames, %u frames; the tone in all %u windows of "
                  "100 ms; C steps off 20 ms by at most %.6f ms",
                  messages, max_frames, listener_count (wes), windows, max_step_error);
  g_assert_cmpuint (windows, >=, 25);

  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    listener_free (many[i]);
  room_stop (&r);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/ws-audio/stalled-reader-dropped", test_stalled_reader_dropped);
  g_test_add_func ("/ws-audio/bundled-frames-keep-c", test_bundled_frames_keep_c);
  g_test_add_func ("/ws-audio/many-listeners-large-bundles", test_many_listeners_large_bundles);
  return g_test_run ();
}

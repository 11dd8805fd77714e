/* SPDX-License-Identifier: MIT */
/*
 * A room nobody listens to keeps its timeline on the server clock and
 * decodes nothing; the first listener hears it in step.
 *
 * The song is a tick track: silence with a 10 ms burst at every whole
 * second. A listener takes the WebSocket audio (frames carry their server
 * time C); the test decodes them and places each sample by C, so a tick
 * heard at C says where the room's timeline was at C: second k at C means
 * the song started at C - k s. The song started when the room answered
 * addSong, between the request and the reply (the test and the server
 * share the machine's monotonic clock, the server clock): the first
 * listener, joining after JOIN_AFTER_MS of a room nobody heard, must hear
 * every tick within MAX_ERROR_MS of that. After the listener leaves and the
 * pipeline's grace is over, the room has no pipeline again and a second
 * listener hears the same timeline.
 *
 * The issue asks for a listener joining after 30 s; JOIN_AFTER_MS is 10 s
 * to bound the test's time: the clock timeline has no term that grows
 * with the wait (the position is the clock's difference), so 30 s proves
 * nothing 10 s does not.
 *
 * "No pipeline" is what an operator sees: the server's threads do not grow
 * while the room plays to nobody, and /metrics lists a playout delay only
 * for rooms with audio.
 *
 * Track ends and autoplay with nobody listening: a 3 s song ends on time
 * (its library duration, on the clock) and autoplay's pick follows.
 */
#include "tools/native-guest/rc_recording.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#define TICK_SONG_S 40
#define TICK_MS 10
#define JOIN_AFTER_MS 10000
#define HEAR_MS 3000
#define MAX_ERROR_MS 50.0
/* The server keeps a pipeline nobody hears this long (rc_room.c), plus slack. */
#define PIPELINE_GONE_MS 7000
#define SHORT_SONG_MS 3000

typedef struct
{
  char *dir;
  RcTestServer *server;
  char *room_id;
} Fixture;

/* A stereo 48 kHz WAV: silence, and a TICK_MS 2 kHz burst starting exactly
 * at every whole second from 1 s. */
static void
write_ticks (const char *path)
{
  const guint rate = 48000;
  gsize frames = (gsize) rate * TICK_SONG_S;
  g_autofree gint16 *pcm = g_new0 (gint16, frames * 2 + RC_WAV_HEADER_SAMPLES);
  gint16 *x = pcm + RC_WAV_HEADER_SAMPLES;
  g_autoptr (GError) error = NULL;

  for (gsize s = 1; s < TICK_SONG_S; s++)
    for (gsize i = 0; i < rate * TICK_MS / 1000; i++)
      x[2 * (s * rate + i)] = x[2 * (s * rate + i) + 1] =
        (gint16) (16000 * sin (2 * G_PI * 2000.0 * (double) i / rate));
  g_assert_true (rc_wav_write_stereo (path, pcm, frames, rate, &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *ticks = NULL;
  g_autofree char *short_a = NULL;
  g_autofree char *short_b = NULL;
  g_autoptr (JsonObject) room = NULL;

  f->dir = g_dir_make_tmp ("rc-idle-room-XXXXXX", NULL);
  ticks = g_build_filename (f->dir, "ticks.wav", NULL);
  short_a = g_build_filename (f->dir, "short-a.ogg", NULL);
  short_b = g_build_filename (f->dir, "short-b.ogg", NULL);
  write_ticks (ticks);
  rc_test_music_write (short_a, RC_TEST_MUSIC_VORBIS, 440, SHORT_SONG_MS, "Short A", "Shorts",
                       NULL, NULL);
  rc_test_music_write (short_b, RC_TEST_MUSIC_VORBIS, 660, SHORT_SONG_MS, "Short B", "Shorts",
                       NULL, NULL);
  f->server = rc_test_server_start ((const char *const[]){ "--music-dir", f->dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (f->server, 3), 30000));
  room = rc_test_create_room (f->server, "Idle room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->room_id);
}

static double
now_ms (void)
{
  return (double) g_get_monotonic_time () / 1000.0;
}

static guint
server_threads (Fixture *f)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", rc_test_server_get_pid (f->server));
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "\nThreads:");
  g_assert_nonnull (line);
  return (guint) g_ascii_strtoull (line + strlen ("\nThreads:"), NULL, 10);
}

/* Whether /metrics shows the room with audio (a playout delay: only rooms
 * with a pipeline have one). */
static gboolean
room_has_audio (Fixture *f)
{
  g_autofree char *label = g_strdup_printf ("roomcast_playout_delay_seconds{room=\"%s\"}",
                                            f->room_id);
  g_autofree char *text = rc_test_http_text (f->server, "/metrics", NULL);

  return strstr (text, label) != NULL;
}

/* Server times (ms) at which a tick starts: a sample above 0.1 after at
 * least 200 ms below 0.02. */
static GArray *
tick_onsets (GArray *x, double c0)
{
  GArray *onsets = g_array_new (FALSE, FALSE, sizeof (double));
  guint quiet = 0;

  for (guint i = 0; i < x->len; i++)
    {
      float v = fabsf (g_array_index (x, float, i));

      if (v > 0.1f && quiet >= 48000 / 5)
        {
          double at = c0 + i / 48.0;

          g_array_append_val (onsets, at);
        }
      quiet = v < 0.02f ? quiet + 1 : 0;
    }
  return onsets;
}

/*
 * Listens on a new WebSocket for HEAR_MS and checks every tick heard
 * against the song's start, known to lie in [@start_from, @start_to] (ms,
 * server clock). Returns the start the ticks imply (their median).
 */
static double
listen_and_check (Fixture *f, const char *name, double start_from, double start_to)
{
  g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, name, NULL, NULL, NULL);
  g_autoptr (GArray) x = NULL;
  g_autoptr (GArray) onsets = NULL;
  g_autoptr (GArray) implied = g_array_new (FALSE, FALSE, sizeof (double));
  double c0, mid = (start_from + start_to) / 2;

  rc_test_ws_send (ws, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
  json_object_unref (rc_test_ws_expect (ws, "mediaStarted", 10000));
  rc_test_run_for (HEAR_MS * rc_test_slowdown ());
  g_assert_false (ws->closed);
  x = rc_test_audio_decode_ws_frames (&ws->binary, &c0);
  onsets = tick_onsets (x, c0);
  g_test_message ("%s: %.2f s of audio from C %.1f ms, %u ticks", name, x->len / 48000.0, c0,
                  onsets->len);
  /* The first second or so is the pipeline starting: two ticks at least. */
  g_assert_cmpuint (onsets->len, >=, 2);
  for (guint i = 0; i < onsets->len; i++)
    {
      double at = g_array_index (onsets, double, i);
      double second = round ((at - mid) / 1000.0);
      double start = at - second * 1000.0;
      double error = start < start_from ? start - start_from
                     : start > start_to ? start - start_to : 0.0;

      g_test_message ("  tick %.0f s heard at C %.1f ms: song start %.1f ms, %+.1f ms outside "
                      "[%.1f, %.1f]",
                      second, at, start, error, start_from, start_to);
      g_assert_cmpfloat (fabs (error), <=, MAX_ERROR_MS);
      g_array_append_val (implied, start);
    }
  return g_array_index (implied, double, implied->len / 2);
}

static void
test_joins_in_step (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) owner = rc_test_ws_join (f->server, f->room_id, "Owner", NULL, NULL, NULL);
  g_autofree char *song = rc_test_song_id (f->server, "ticks");
  g_autoptr (JsonObject) reply = NULL;
  guint before, unheard, heard;
  double sent, replied, first, second;

  rc_test_run_for (500);
  before = server_threads (f);
  sent = now_ms ();
  rc_test_ws_sendf (owner, "{\"type\":\"addSong\",\"id\":\"add\",\"songId\":\"%s\"}", song);
  reply = rc_test_ws_expect (owner, "queueUpdated", 5000);
  replied = now_ms ();
  g_test_message ("song started between %.1f and %.1f ms (server clock)", sent, replied);

  /* Playing to nobody: no pipeline, no thread. */
  rc_test_run_for (JOIN_AFTER_MS / 2);
  unheard = server_threads (f);
  g_test_message ("threads: %u before the song, %u while it plays to nobody", before, unheard);
  g_assert_cmpuint (unheard, <=, before);
  g_assert_false (room_has_audio (f));
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (owner, "{\"type\":\"play\"}");
  g_assert_true (json_object_get_boolean_member (reply, "playing"));
  g_assert_cmpfloat (fabs (json_object_get_double_member (reply, "position") * 1000
                           - (now_ms () - replied)),
                     <, 500);
  rc_test_run_for (JOIN_AFTER_MS / 2);

  /* The first listener hears the timeline where the clock says it is. */
  first = listen_and_check (f, "First ear", sent, replied);
  heard = server_threads (f);
  g_test_message ("threads while heard: %u", heard);

  /* It left: after the grace the pipeline goes and the clock carries on. */
  g_assert_true (RC_WAIT_UNTIL (!room_has_audio (f), PIPELINE_GONE_MS + 3000));
  g_test_message ("threads after the pipeline went: %u", server_threads (f));
  second = listen_and_check (f, "Second ear", sent, replied);
  g_test_message ("implied song start: %.1f ms, then %.1f ms (%+.1f ms)", first, second,
                  second - first);
  g_assert_cmpfloat (fabs (second - first), <=, MAX_ERROR_MS);
}

/* The next stateUpdate whose song is @title, or NULL after @timeout_ms. */
static JsonObject *
wait_song (RcTestWs *ws, const char *title, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      JsonObject *o = rc_test_ws_next (ws, 20);

      if (o == NULL)
        continue;
      if (g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0
          && g_strcmp0 (rc_test_song_title (o), title) == 0)
        return o;
      json_object_unref (o);
    }
  return NULL;
}

/* Nobody listens: a song ends at its duration and autoplay's pick (the
 * other song by the same artist) starts where it ended. */
static void
test_track_end_and_autoplay_unheard (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) owner = rc_test_ws_join (f->server, f->room_id, "Owner", NULL, NULL, NULL);
  g_autofree char *song = rc_test_song_id (f->server, "Short A");
  g_autoptr (JsonObject) next = NULL;
  g_autoptr (JsonObject) reply = NULL;
  double sent, replied, changed, position, asked, answered;

  sent = now_ms ();
  rc_test_ws_sendf (owner, "{\"type\":\"addSong\",\"id\":\"add\",\"songId\":\"%s\"}", song);
  reply = rc_test_ws_expect (owner, "queueUpdated", 5000);
  replied = now_ms ();
  next = wait_song (owner, "Short B", SHORT_SONG_MS + 3000);
  changed = now_ms ();
  g_assert_nonnull (next);
  g_test_message ("Short A started in [%.1f, %.1f] ms; Short B announced %.1f ms after",
                  sent, replied, changed - replied);
  g_assert_false (room_has_audio (f));
  /* Not before the end, and on time (the main loop of a loaded machine may
   * be a little late; the timeline is not, see below). */
  g_assert_cmpfloat (changed - sent, >=, SHORT_SONG_MS);
  g_assert_cmpfloat (changed - replied, <=, SHORT_SONG_MS + 300.0 * rc_test_slowdown ());
  g_assert_true (json_object_get_boolean_member (next, "playing"));
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (
                                  json_object_get_object_member (next, "song"), "addedBy"),
                                "id"),
                   ==, "autoplay");
  /* Short B started where Short A ended on the clock. */
  rc_test_run_for (1000);
  g_clear_pointer (&reply, json_object_unref);
  asked = now_ms ();
  reply = rc_test_ws_command (owner, "{\"type\":\"play\"}");
  answered = now_ms ();
  position = json_object_get_double_member (reply, "position") * 1000;
  g_test_message ("Short B at %.1f ms, asked %.1f-%.1f ms after Short A's end", position,
                  asked - (replied + SHORT_SONG_MS), answered - (sent + SHORT_SONG_MS));
  g_assert_cmpfloat (position, >=, asked - (replied + SHORT_SONG_MS) - MAX_ERROR_MS);
  g_assert_cmpfloat (position, <=, answered - (sent + SHORT_SONG_MS) + MAX_ERROR_MS);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add ("/idle-room/first-listener-joins-in-step", Fixture, NULL, fixture_setup,
              test_joins_in_step, fixture_teardown);
  g_test_add ("/idle-room/track-end-and-autoplay-unheard", Fixture, NULL, fixture_setup,
              test_track_end_and_autoplay_unheard, fixture_teardown);
  return g_test_run ();
}

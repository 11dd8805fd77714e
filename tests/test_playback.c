/* SPDX-License-Identifier: MIT */
/*
 * What a guest hears while the room is driven over /ws: a native guest
 * (WebRTC, tools/native-guest) listens while another guest plays, seeks,
 * pauses and skips. The first song is a staircase of pitches (one step per
 * second), so the pitch heard tells where in the song the guest is; the
 * second is one steady tone. With Redis, the queue and the position
 * survive a roomcast restart and the room resumes where it was.
 */
#include "server/core/rc_error.h"
#include "tools/native-guest/rc_native_guest.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

#define STEPS_SECONDS 20
#define STEP_BASE_HZ 300.0
#define STEP_HZ 25.0
#define NEXT_HZ 880.0

static double
step_hz (int second)
{
  return STEP_BASE_HZ + STEP_HZ * second;
}

/* A WAV file whose pitch rises by STEP_HZ every second (S16 mono 48 kHz). */
static void
write_staircase (const char *path)
{
  const guint rate = 48000, n = rate * STEPS_SECONDS;
  g_autofree gint16 *pcm = g_new (gint16, n);
  guint8 header[44];
  guint32 data_bytes = n * 2;
  double phase = 0;
  g_autoptr (GByteArray) file = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    {
      phase += 2 * G_PI * step_hz ((int) (i / rate)) / rate;
      pcm[i] = (gint16) (12000 * sin (phase));
    }
  memcpy (header, "RIFF", 4);
  GST_WRITE_UINT32_LE (header + 4, 36 + data_bytes);
  memcpy (header + 8, "WAVEfmt ", 8);
  GST_WRITE_UINT32_LE (header + 16, 16);
  GST_WRITE_UINT16_LE (header + 20, 1);
  GST_WRITE_UINT16_LE (header + 22, 1);
  GST_WRITE_UINT32_LE (header + 24, rate);
  GST_WRITE_UINT32_LE (header + 28, rate * 2);
  GST_WRITE_UINT16_LE (header + 32, 2);
  GST_WRITE_UINT16_LE (header + 34, 16);
  memcpy (header + 36, "data", 4);
  GST_WRITE_UINT32_LE (header + 40, data_bytes);
  g_byte_array_append (file, header, sizeof header);
  g_byte_array_append (file, (const guint8 *) pcm, data_bytes);
  g_assert_true (g_file_set_contents (path, (const char *) file->data, file->len, NULL));
}

typedef struct
{
  char *dir;
  RcTestRedis *redis;
  RcTestServer *server;
  char *room_id;
  char *owner_token;
} Fixture;

static RcTestServer *
start_server (Fixture *f)
{
  const char *args[] = { "--music-dir", f->dir, "--store",
                         f->redis ? rc_test_redis_get_uri (f->redis) : "memory", NULL };
  RcTestServer *server = rc_test_server_start (args);

  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (server, 3), 30000));
  return server;
}

static void
fixture_setup (Fixture *f, gconstpointer with_redis)
{
  g_autofree char *steps = NULL;
  g_autofree char *next = NULL;
  g_autofree char *third = NULL;
  g_autoptr (JsonObject) room = NULL;

  f->dir = g_dir_make_tmp ("rc-playback-XXXXXX", NULL);
  steps = g_build_filename (f->dir, "staircase.wav", NULL);
  next = g_build_filename (f->dir, "steady.ogg", NULL);
  third = g_build_filename (f->dir, "third.ogg", NULL);
  write_staircase (steps);
  rc_test_music_write (next, RC_TEST_MUSIC_VORBIS, NEXT_HZ, 20000, "Steady", "Tones", NULL, NULL);
  rc_test_music_write (third, RC_TEST_MUSIC_VORBIS, 660, 20000, "Third", "Tones", NULL, NULL);
  if (with_redis)
    {
      g_autoptr (GError) error = NULL;

      f->redis = rc_test_redis_start (&error);
      g_assert_no_error (error);
    }
  f->server = start_server (f);
  room = rc_test_create_room (f->server, "Listening room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));
  f->owner_token = g_strdup (rc_test_str (room, "ownerToken"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  if (f->redis)
    rc_test_redis_stop (f->redis);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->room_id);
  g_free (f->owner_token);
}

static void
add (Fixture *f, RcTestWs *ws, const char *title)
{
  g_autofree char *id = rc_test_song_id (f->server, title);
  g_autofree char *request = g_strdup_printf ("{\"type\":\"addSong\",\"songId\":\"%s\"}", id);
  g_autoptr (JsonObject) reply = rc_test_ws_command (ws, request);

  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");
}

static RcNativeGuest *
listen (Fixture *f, RcTestServer *server)
{
  RcNativeGuestOptions options = {
    .server_url = server->base_url,
    .room_id = f->room_id,
    .name = "Native ear",
    .keep_pcm = TRUE,
  };
  RcNativeGuest *guest = rc_native_guest_new (&options);
  RcNativeGuestStats stats = { 0 };

  g_assert_true (RC_WAIT_UNTIL ((rc_native_guest_get_stats (guest, &stats), stats.frames > 48000)
                                  || rc_native_guest_get_failure (guest) != NULL,
                                20000));
  g_assert_null (rc_native_guest_get_failure (guest));
  return guest;
}

/* The pitch and level of the last 200 ms the guest heard. */
static void
heard (RcNativeGuest *guest, double *freq, double *rms)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);

  g_assert_cmpuint (frames, >=, 48000 / 5 - 960);
  rc_test_audio_analyse_s16 (pcm, frames, freq, rms);
}

static gboolean
hears (RcNativeGuest *guest, double hz)
{
  double freq, rms;

  heard (guest, &freq, &rms);
  return rc_test_audio_is_tone (freq, rms, hz);
}

static gboolean
hears_silence (RcNativeGuest *guest)
{
  double freq, rms;

  heard (guest, &freq, &rms);
  return rms < 0.01;
}

static int
step_in_window (RcNativeGuest *guest)
{
  for (int s = 0; s < STEPS_SECONDS; s++)
    if (hears (guest, step_hz (s)))
      return s;
  return -1;
}

/* Which step of the staircase (second of the song) the guest hears, or -1.
 * A window that straddles a change (a step, a seek, silence to tone) reads
 * as some pitch in between, so the same step must be heard twice, 80 ms
 * apart. */
static int
heard_step (RcNativeGuest *guest)
{
  int first = step_in_window (guest);

  if (first < 0)
    return -1;
  rc_test_run_for (80);
  return step_in_window (guest) == first ? first : -1;
}

static void
test_hears_play_seek_pause_skip (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Remote", NULL, NULL, NULL);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (JsonObject) reply = NULL;
  double position, listened_s;
  gint64 asked_us;
  int step;

  add (f, ws, "staircase");
  add (f, ws, "Steady");
  guest = listen (f, f->server);

  /* It hears the staircase where the room says the song is (a step may
   * straddle the 200 ms window, hence one step of slack). */
  g_assert_true (RC_WAIT_UNTIL ((step = heard_step (guest)) >= 0, 5000));
  reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
  position = json_object_get_double_member (reply, "position");
  g_clear_pointer (&reply, json_object_unref);
  /* A window that straddles a step reads as none: listen again, and allow
   * the steps the song moved on while we listened. */
  asked_us = g_get_monotonic_time ();
  g_assert_true (RC_WAIT_UNTIL ((step = heard_step (guest)) >= 0, 1000));
  listened_s = (double) (g_get_monotonic_time () - asked_us) / G_USEC_PER_SEC;
  g_test_message ("room at %.2f s, guest hears step %d (%.2f s later)", position, step,
                  listened_s);
  g_assert_cmpint (step, >=, (int) position - 1);
  g_assert_cmpint (step, <=, (int) (position + listened_s));

  /* Seek: the reported position is within 0.25 s, and the audio follows. */
  reply = rc_test_ws_command (ws, "{\"type\":\"seek\",\"position\":12.3}");
  g_assert_cmpfloat (fabs (json_object_get_double_member (reply, "position") - 12.3), <, 0.25);
  g_clear_pointer (&reply, json_object_unref);
  g_assert_true (RC_WAIT_UNTIL ((step = heard_step (guest)) >= 12 && step <= 13, 2000));

  /* Pause: silence within half a second; play: the song again, where it was. */
  reply = rc_test_ws_command (ws, "{\"type\":\"pause\"}");
  position = json_object_get_double_member (reply, "position");
  g_clear_pointer (&reply, json_object_unref);
  g_assert_true (RC_WAIT_UNTIL (hears_silence (guest), 1000));
  rc_test_run_for (1000);
  g_assert_true (hears_silence (guest));
  reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
  g_clear_pointer (&reply, json_object_unref);
  /* (A window half silence, half tone reads as a lower pitch: wait for the
   * step where the song was paused, and fail if it never comes.) */
  g_assert_true (RC_WAIT_UNTIL ((step = heard_step (guest)) >= (int) position - 1
                                  && step <= (int) position + 2,
                                2000));

  /* Skip: the next song's pitch. */
  reply = rc_test_ws_command (ws, "{\"type\":\"skip\"}");
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (reply, "song"), "title"), ==,
                   "Steady");
  g_assert_true (RC_WAIT_UNTIL (hears (guest, NEXT_HZ), 2000));
}

/* Three songs queued, a seek into the first, roomcast restarted: the room
 * comes back with the same queue, playing the first song near that point. */
static void
test_restart_resumes (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) initial = NULL;
  g_autoptr (RcNativeGuest) guest = NULL;
  JsonObject *state;
  JsonArray *queue;
  double before, after;
  int step;

  {
    g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Remote", NULL, NULL, NULL);
    g_autoptr (JsonObject) reply = NULL;

    add (f, ws, "staircase");
    add (f, ws, "Steady");
    add (f, ws, "Third");
    reply = rc_test_ws_command (ws, "{\"type\":\"seek\",\"position\":8}");
    g_clear_pointer (&reply, json_object_unref);
    rc_test_run_for (1500);
    reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
    before = json_object_get_double_member (reply, "position");
    g_assert_cmpfloat (before, >, 9.0);
  }
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  f->server = start_server (f);

  {
    g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Back", NULL, NULL, &initial);

    state = json_object_get_object_member (initial, "state");
    queue = json_object_get_array_member (initial, "queue");
    g_assert_cmpuint (json_array_get_length (queue), ==, 3);
    g_assert_cmpstr (rc_test_str (json_array_get_object_element (queue, 1), "title"), ==, "Steady");
    g_assert_cmpstr (rc_test_str (json_array_get_object_element (queue, 2), "title"), ==, "Third");
    g_assert_cmpstr (rc_test_str (json_object_get_object_member (state, "song"), "title"), ==,
                     "staircase");
    g_assert_true (json_object_get_boolean_member (state, "playing"));
    after = json_object_get_double_member (state, "position");
    g_test_message ("position %.2f s before the restart, %.2f s after", before, after);
    g_assert_cmpfloat (after, >=, before - 1.5);
    g_assert_cmpfloat (after, <=, before + 5.0);

    /* And that is what a guest hears. */
    guest = listen (f, f->server);
    g_assert_true (RC_WAIT_UNTIL ((step = heard_step (guest)) >= 0, 3000));
    g_assert_cmpint (step, >=, (int) before - 1);
    g_assert_cmpint (step, <=, (int) before + 8);
  }
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add ("/playback/hears-play-seek-pause-skip", Fixture, NULL, fixture_setup,
              test_hears_play_seek_pause_skip, fixture_teardown);
  g_test_add ("/playback/restart-resumes", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_restart_resumes, fixture_teardown);
  return g_test_run ();
}

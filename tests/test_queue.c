/* SPDX-License-Identifier: MIT */
/*
 * The queue and playback commands over /ws against a real roomcast with a
 * music dir: what every guest is told (queueUpdated, stateUpdate,
 * notification), who may do what, the error each bad request gets, songs
 * that cannot play being skipped, autoplay, and the empty-room pause.
 * What the guests hear is checked by test_media (native guests).
 *
 * Each test runs twice: with nobody taking audio (the room's timeline runs
 * on the server clock, no pipeline) and with a WebSocket listener in the
 * room from the start (the pipeline plays every song and reports its end).
 * The empty-room pause needs an empty room, so it runs without.
 */
#include "server/core/rc_error.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

typedef struct
{
  char *dir;
  RcTestServer *server;
  char *room_id;
  char *owner_token;
  RcTestWs *ear; /* the listener, or NULL */
} Fixture;

typedef struct
{
  const char *const *args; /* extra server flags, or NULL */
  gboolean listening;      /* a WebSocket listener takes audio throughout */
} Case;

/* Tones: two by "Alpha" (one of them long), one by "Beta", one short. */
static void
write_music (const char *dir)
{
  g_autofree char *a1 = g_build_filename (dir, "alpha-one.ogg", NULL);
  g_autofree char *a2 = g_build_filename (dir, "alpha-two.ogg", NULL);
  g_autofree char *b1 = g_build_filename (dir, "beta-one.ogg", NULL);
  g_autofree char *s1 = g_build_filename (dir, "short.ogg", NULL);
  g_autofree char *broken = g_build_filename (dir, "broken.ogg", NULL);

  rc_test_music_write (a1, RC_TEST_MUSIC_VORBIS, 330, 20000, "Alpha One", "Alpha", "A", NULL);
  rc_test_music_write (a2, RC_TEST_MUSIC_VORBIS, 440, 20000, "Alpha Two", "Alpha", "A", NULL);
  rc_test_music_write (b1, RC_TEST_MUSIC_VORBIS, 550, 20000, "Beta One", "Beta", "B", NULL);
  rc_test_music_write (s1, RC_TEST_MUSIC_VORBIS, 660, 1500, "Short One", "Gamma", "C", NULL);
  /* Looks like Ogg by name only. */
  g_assert_true (g_file_set_contents (broken, "OggS but not really, just garbage bytes", -1, NULL));
}

static void
fixture_start (Fixture *f, const char *const *extra_args)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (JsonObject) room = NULL;

  f->dir = g_dir_make_tmp ("rc-queue-XXXXXX", NULL);
  write_music (f->dir);
  g_ptr_array_add (args, (gpointer) "--music-dir");
  g_ptr_array_add (args, f->dir);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra_args[i]);
  g_ptr_array_add (args, NULL);
  f->server = rc_test_server_start ((const char *const *) args->pdata);
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (f->server, 4), 30000));
  room = rc_test_create_room (f->server, "Queue room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));
  f->owner_token = g_strdup (rc_test_str (room, "ownerToken"));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const Case *c = data;

  fixture_start (f, c->args);
  if (c->listening)
    {
      f->ear = rc_test_ws_join (f->server, f->room_id, "Ear", NULL, NULL, NULL);
      rc_test_ws_send (f->ear, "{\"type\":\"startMedia\",\"id\":\"m\",\"transport\":\"ws\"}");
      json_object_unref (rc_test_ws_expect (f->ear, "mediaStarted", 10000));
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->ear != NULL)
    {
      /* It was served audio (a short test may end before the first frame
       * on a busy machine: give it a moment). */
      g_assert_true (RC_WAIT_UNTIL (f->ear->binary.length > 0 || f->ear->closed, 5000));
      g_assert_false (f->ear->closed);
      g_assert_cmpuint (f->ear->binary.length, >, 0);
      rc_test_ws_free (f->ear);
    }
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->room_id);
  g_free (f->owner_token);
}

static void
add_song (Fixture *f, RcTestWs *ws, const char *title)
{
  g_autofree char *id = rc_test_song_id (f->server, title);
  g_autoptr (JsonObject) reply = NULL;

  rc_test_ws_sendf (ws, "{\"type\":\"addSong\",\"id\":\"add\",\"songId\":\"%s\"}", id);
  reply = rc_test_ws_expect (ws, "queueUpdated", 5000);
  while (g_strcmp0 (rc_test_str (reply, "id"), "add") != 0)
    {
      json_object_unref (reply);
      reply = rc_test_ws_expect (ws, "queueUpdated", 5000);
    }
}

static void
expect_command_error (RcTestWs *ws, const char *request, int code)
{
  g_autoptr (JsonObject) reply = rc_test_ws_command (ws, request);

  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "error");
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, code);
  g_assert_nonnull (rc_test_str (reply, "message"));
}

/* The next stateUpdate for which @check holds, within @timeout_ms. */
typedef gboolean (*StateCheck) (JsonObject *state, gconstpointer data);

static JsonObject *
wait_state (RcTestWs *ws, StateCheck check, gconstpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      JsonObject *o = rc_test_ws_next (ws, 100);

      if (o == NULL)
        continue;
      if (g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0 && check (o, data))
        return o;
      json_object_unref (o);
    }
  return NULL;
}

static gboolean
is_playing_title (JsonObject *state, gconstpointer title)
{
  return json_object_get_boolean_member (state, "playing") &&
         g_strcmp0 (rc_test_song_title (state), title) == 0;
}

static gboolean
is_stopped (JsonObject *state, gconstpointer data)
{
  return !json_object_get_boolean_member (state, "playing");
}

static guint
queue_length (JsonObject *update)
{
  return json_array_get_length (json_object_get_array_member (update, "queue"));
}

static const char *
queue_title (JsonObject *update, guint i)
{
  JsonArray *queue = json_object_get_array_member (update, "queue");

  return rc_test_str (json_array_get_object_element (queue, i), "title");
}

static void
test_commands_and_what_everyone_sees (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) owner = rc_test_ws_join (f->server, f->room_id, "Olga", NULL, f->owner_token, NULL);
  g_autoptr (JsonObject) initial = NULL;
  g_autoptr (RcTestWs) guest = rc_test_ws_join (f->server, f->room_id, "Gus", NULL, NULL, &initial);
  g_autoptr (JsonObject) added = NULL;
  g_autoptr (JsonObject) note = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) seen = NULL;
  JsonObject *item;
  double paused_at;

  /* A new room: nothing playing, empty queue, autoplay on. */
  g_assert_true (JSON_NODE_HOLDS_NULL (
    json_object_get_member (json_object_get_object_member (initial, "state"), "song")));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (initial, "queue")), ==, 0);
  g_assert_true (json_object_get_boolean_member (
    json_object_get_object_member (initial, "state"), "autoplay"));

  /* Gus adds a song: it is attributed to him, starts at once, and the owner
   * sees the queue, the notification and the playing state. */
  add_song (f, guest, "Alpha One");
  note = rc_test_ws_expect (owner, "notification", 5000);
  while (g_strcmp0 (rc_test_str (note, "kind"), "add") != 0)
    {
      json_object_unref (note);
      note = rc_test_ws_expect (owner, "notification", 5000);
    }
  g_assert_cmpstr (rc_test_str (note, "text"), ==, "Gus added Alpha One");
  added = rc_test_ws_expect (owner, "queueUpdated", 5000);
  g_assert_cmpuint (queue_length (added), ==, 1);
  item = json_array_get_object_element (json_object_get_array_member (added, "queue"), 0);
  g_assert_cmpstr (rc_test_str (item, "title"), ==, "Alpha One");
  g_assert_cmpstr (rc_test_str (item, "artist"), ==, "Alpha");
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (item, "addedBy"), "name"), ==, "Gus");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (item, "duration"), 20.0, 0.2);
  g_assert_null (rc_test_str (item, "uri"));
  state = wait_state (owner, is_playing_title, "Alpha One", 5000);
  g_assert_nonnull (state);
  g_assert_cmpint (json_object_get_int_member (state, "index"), ==, 0);

  add_song (f, guest, "Alpha Two");
  add_song (f, guest, "Beta One");

  /* Move Beta One before Alpha Two; the current song stays current. */
  reply = rc_test_ws_command (guest, "{\"type\":\"moveSong\",\"from\":2,\"to\":1}");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");
  g_assert_cmpstr (queue_title (reply, 1), ==, "Beta One");
  g_assert_cmpstr (queue_title (reply, 2), ==, "Alpha Two");
  g_assert_cmpint (json_object_get_int_member (reply, "index"), ==, 0);
  g_clear_pointer (&reply, json_object_unref);

  /* Only the owner removes. */
  expect_command_error (guest, "{\"type\":\"removeSong\",\"index\":2}", RC_ERROR_NOT_OWNER);
  reply = rc_test_ws_command (owner, "{\"type\":\"removeSong\",\"index\":2}");
  g_assert_cmpuint (queue_length (reply), ==, 2);
  g_clear_pointer (&reply, json_object_unref);
  seen = rc_test_ws_expect (guest, "queueUpdated", 5000);
  while (queue_length (seen) != 2)
    {
      json_object_unref (seen);
      seen = rc_test_ws_expect (guest, "queueUpdated", 5000);
    }

  /* Skip: both see Beta One, the owner is told who skipped, and the room
   * list says what plays. Previous (early in the song): Alpha One again. */
  reply = rc_test_ws_command (guest, "{\"type\":\"skip\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Beta One");
  g_clear_pointer (&reply, json_object_unref);
  g_clear_pointer (&note, json_object_unref);
  note = rc_test_ws_expect (owner, "notification", 5000);
  while (g_strcmp0 (rc_test_str (note, "kind"), "skip") != 0)
    {
      json_object_unref (note);
      note = rc_test_ws_expect (owner, "notification", 5000);
    }
  g_assert_cmpstr (rc_test_str (note, "text"), ==, "Gus skipped Alpha One");
  g_clear_pointer (&state, json_object_unref);
  state = wait_state (owner, is_playing_title, "Beta One", 5000);
  g_assert_nonnull (state);
  {
    guint status = 0;
    g_autoptr (JsonNode) rooms = rc_test_http (f->server, "GET", "/api/rooms", NULL, NULL, &status);
    JsonObject *listed = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (rooms), "rooms"), 0);
    JsonObject *now = json_object_get_object_member (listed, "nowPlaying");

    g_assert_cmpstr (rc_test_str (now, "title"), ==, "Beta One");
    g_assert_cmpstr (rc_test_str (now, "artist"), ==, "Beta");
    g_assert_true (json_object_get_boolean_member (now, "playing"));
  }
  reply = rc_test_ws_command (guest, "{\"type\":\"previous\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Alpha One");
  g_assert_cmpfloat (json_object_get_double_member (reply, "position"), <, 0.5);
  g_clear_pointer (&reply, json_object_unref);

  /* Seek: the position follows within 0.25 s and keeps running. */
  reply = rc_test_ws_command (owner, "{\"type\":\"seek\",\"position\":12.5}");
  g_assert_cmpfloat (fabs (json_object_get_double_member (reply, "position") - 12.5), <, 0.25);
  g_clear_pointer (&reply, json_object_unref);
  rc_test_run_for (1500);
  reply = rc_test_ws_command (owner, "{\"type\":\"play\"}");
  g_assert_cmpfloat (json_object_get_double_member (reply, "position"), >, 13.5);
  g_assert_cmpfloat (json_object_get_double_member (reply, "position"), <, 14.5);
  g_clear_pointer (&reply, json_object_unref);

  /* Pause holds the position; play resumes from it. */
  reply = rc_test_ws_command (guest, "{\"type\":\"pause\"}");
  g_assert_false (json_object_get_boolean_member (reply, "playing"));
  paused_at = json_object_get_double_member (reply, "position");
  g_clear_pointer (&reply, json_object_unref);
  rc_test_run_for (1200);
  reply = rc_test_ws_command (guest, "{\"type\":\"play\"}");
  g_assert_true (json_object_get_boolean_member (reply, "playing"));
  g_assert_cmpfloat (fabs (json_object_get_double_member (reply, "position") - paused_at), <, 0.25);
  g_clear_pointer (&reply, json_object_unref);

  /* Modes. */
  reply = rc_test_ws_command (guest, "{\"type\":\"setLoop\",\"mode\":\"queue\"}");
  g_assert_cmpstr (rc_test_str (reply, "loop"), ==, "queue");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (guest, "{\"type\":\"setAutoplay\",\"enabled\":false}");
  g_assert_false (json_object_get_boolean_member (reply, "autoplay"));
}

static void
test_bad_requests_get_coded_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) outsider = rc_test_ws_connect (f->server);
  g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Bea", NULL, NULL, NULL);
  g_autofree char *outside_dir = g_dir_make_tmp ("rc-outside-XXXXXX", NULL);
  g_autofree char *outside = g_build_filename (outside_dir, "x.ogg", NULL);
  g_autofree char *outside_url = g_filename_to_uri (outside, NULL, NULL);
  g_autofree char *escape_url = g_strdup_printf ("file://%s/../%s/x.ogg", f->dir,
                                                 strrchr (outside_dir, '/') + 1);
  g_autofree char *request = NULL;
  g_autoptr (JsonObject) reply = NULL;

  rc_test_music_write (outside, RC_TEST_MUSIC_VORBIS, 440, 1000, "Outside", NULL, NULL, NULL);

  /* Not in a room yet. */
  expect_command_error (outsider, "{\"type\":\"play\"}", RC_ERROR_NOT_IN_ROOM);
  expect_command_error (outsider, "{\"type\":\"addSong\",\"songId\":\"abc\"}", RC_ERROR_NOT_IN_ROOM);

  /* Nothing to seek in or move. */
  expect_command_error (ws, "{\"type\":\"seek\",\"position\":1}", RC_ERROR_NOTHING_PLAYING);
  expect_command_error (ws, "{\"type\":\"moveSong\",\"from\":0,\"to\":0}", RC_ERROR_INVALID_PARAM);

  /* addSong: unknown id, both or neither field, bad URLs. */
  expect_command_error (ws, "{\"type\":\"addSong\",\"songId\":\"000000000000\"}", RC_ERROR_NOT_FOUND);
  expect_command_error (ws, "{\"type\":\"addSong\"}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"songId\":\"a\",\"url\":\"http://x/\"}",
                        RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"url\":\"ftp://127.0.0.1/a.mp3\"}",
                        RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"url\":\"not a url\"}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"url\":\"http://\"}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"url\":\"javascript:alert(1)\"}",
                        RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"url\":\"file:///etc/passwd\"}",
                        RC_ERROR_INVALID_PARAM);
  request = g_strdup_printf ("{\"type\":\"addSong\",\"url\":\"%s\"}", outside_url);
  expect_command_error (ws, request, RC_ERROR_INVALID_PARAM);
  g_free (request);
  request = g_strdup_printf ("{\"type\":\"addSong\",\"url\":\"%s\"}", escape_url);
  expect_command_error (ws, request, RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"addSong\",\"songId\":42}", RC_ERROR_INVALID_PARAM);

  /* Indexes out of range, bad modes, seek outside the song. */
  add_song (f, ws, "Alpha One");
  expect_command_error (ws, "{\"type\":\"removeSong\",\"index\":0}", RC_ERROR_NOT_OWNER);
  expect_command_error (ws, "{\"type\":\"moveSong\",\"from\":0,\"to\":5}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"moveSong\",\"from\":-1,\"to\":0}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"seek\",\"position\":-1}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"seek\",\"position\":25}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"seek\",\"position\":1e300}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"seek\",\"position\":\"5\"}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"setLoop\",\"mode\":\"forever\"}", RC_ERROR_INVALID_PARAM);
  expect_command_error (ws, "{\"type\":\"setAutoplay\",\"enabled\":\"yes\"}", RC_ERROR_INVALID_PARAM);

  /* After all that the room still plays and answers. */
  reply = rc_test_ws_command (ws, "{\"type\":\"seek\",\"position\":5}");
  g_assert_true (json_object_get_boolean_member (reply, "playing"));
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Alpha One");
  g_remove (outside);
  g_rmdir (outside_dir);
}

static gboolean
is_error_note (JsonObject *o)
{
  return g_strcmp0 (rc_test_str (o, "type"), "notification") == 0 &&
         g_strcmp0 (rc_test_str (o, "kind"), "error") == 0;
}

/* A broken file and a 404 URL in the middle of the queue are skipped with a
 * notification each, and the next good song plays. */
static void
test_unplayable_songs_are_skipped (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Cy", NULL, NULL, NULL);
  g_autofree char *broken = g_build_filename (f->dir, "broken.ogg", NULL);
  g_autofree char *broken_url = g_filename_to_uri (broken, NULL, NULL);
  g_autofree char *request = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) state = NULL;
  guint errors = 0;
  gint64 deadline;

  add_song (f, ws, "Alpha One");
  request = g_strdup_printf ("{\"type\":\"addSong\",\"url\":\"%s\"}", broken_url);
  reply = rc_test_ws_command (ws, request);
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");
  /* Until tags arrive, a URL's title is its last path segment. */
  g_assert_cmpstr (queue_title (reply, 1), ==, "broken.ogg");
  g_clear_pointer (&reply, json_object_unref);
  g_free (request);
  request = g_strdup_printf ("{\"type\":\"addSong\",\"url\":\"%s/missing/song.ogg\"}",
                             f->server->base_url);
  reply = rc_test_ws_command (ws, request);
  g_assert_cmpuint (queue_length (reply), ==, 3);
  g_clear_pointer (&reply, json_object_unref);
  add_song (f, ws, "Beta One");

  reply = rc_test_ws_command (ws, "{\"type\":\"skip\"}");
  g_clear_pointer (&reply, json_object_unref);
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && state == NULL)
    {
      JsonObject *o = rc_test_ws_next (ws, 100);

      if (o == NULL)
        continue;
      if (is_error_note (o))
        errors++;
      else if (g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0 &&
               is_playing_title (o, "Beta One"))
        {
          state = o;
          continue;
        }
      json_object_unref (o);
    }
  g_assert_nonnull (state);
  g_assert_cmpuint (errors, ==, 2);
  g_assert_cmpint (json_object_get_int_member (state, "index"), ==, 3);
  /* And it keeps playing. (With a listener the position counts from when
   * the song's first audio reaches the mixer, which a sanitizer build
   * makes slower: the window scales.) */
  rc_test_run_for (1500 * rc_test_slowdown ());
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Beta One");
  g_assert_cmpfloat (json_object_get_double_member (reply, "position"), >, 1.0);
}

/* A short song ends; with autoplay the room goes on with another song by
 * the same artist, credited to autoplay; without, it stops at the end. */
static void
test_end_of_queue_and_autoplay (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Di", NULL, NULL, NULL);
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (JsonObject) queue = NULL;
  JsonObject *picked;

  /* Without autoplay, the end of the queue is silence with no song. */
  reply = rc_test_ws_command (ws, "{\"type\":\"setAutoplay\",\"enabled\":false}");
  g_clear_pointer (&reply, json_object_unref);
  add_song (f, ws, "Short One");
  state = wait_state (ws, is_stopped, NULL, 8000);
  g_assert_nonnull (state);
  g_assert_null (rc_test_song_title (state));
  g_assert_cmpint (json_object_get_int_member (state, "index"), ==, -1);
  g_clear_pointer (&state, json_object_unref);

  /* Loop track: the short song plays again from the start. */
  reply = rc_test_ws_command (ws, "{\"type\":\"setLoop\",\"mode\":\"track\"}");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"previous\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Short One");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
  g_assert_true (json_object_get_boolean_member (reply, "playing"));
  g_clear_pointer (&reply, json_object_unref);
  rc_test_run_for (2500);
  reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Short One");
  g_assert_true (json_object_get_boolean_member (reply, "playing"));
  g_clear_pointer (&reply, json_object_unref);

  /* Autoplay after Alpha One: Alpha Two (same artist, not played lately).
   * Paused first, so the short song cannot end on its own between these
   * commands (autoplay would pick a song of its own; a sanitizer build
   * takes longer than the song to send them). */
  reply = rc_test_ws_command (ws, "{\"type\":\"pause\"}");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"setLoop\",\"mode\":\"off\"}");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"setAutoplay\",\"enabled\":true}");
  g_clear_pointer (&reply, json_object_unref);
  add_song (f, ws, "Alpha One");
  reply = rc_test_ws_command (ws, "{\"type\":\"skip\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Alpha One");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
  g_clear_pointer (&reply, json_object_unref);
  reply = rc_test_ws_command (ws, "{\"type\":\"skip\"}");
  g_assert_cmpstr (rc_test_song_title (reply), ==, "Alpha Two");
  picked = json_object_get_object_member (reply, "song");
  g_assert_cmpstr (rc_test_str (json_object_get_object_member (picked, "addedBy"), "id"), ==,
                   "autoplay");
  g_assert_true (json_object_get_boolean_member (reply, "playing"));
}

/* Everyone leaves a playing room; it pauses itself (here after 2 s). */
static void
test_empty_room_pauses (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) initial = NULL;
  JsonObject *state;

  {
    g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Ed", NULL, NULL, NULL);
    g_autoptr (JsonObject) reply = NULL;

    add_song (f, ws, "Alpha One");
    reply = rc_test_ws_command (ws, "{\"type\":\"play\"}");
    g_assert_true (json_object_get_boolean_member (reply, "playing"));
  }
  rc_test_run_for (1000);
  {
    /* Someone dropping by restarts the countdown; it still comes. */
    g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Flo", NULL, NULL, &initial);

    g_assert_true (json_object_get_boolean_member (
      json_object_get_object_member (initial, "state"), "playing"));
    g_clear_pointer (&initial, json_object_unref);
  }
  rc_test_run_for (3500);
  {
    g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Gil", NULL, NULL, &initial);

    state = json_object_get_object_member (initial, "state");
    g_assert_false (json_object_get_boolean_member (state, "playing"));
    g_assert_cmpstr (rc_test_song_title (state), ==, "Alpha One");
    g_assert_cmpfloat (json_object_get_double_member (state, "position"), >, 2.0);
  }
}

int
main (int argc, char **argv)
{
  static const char *const short_pause_args[] = { "--empty-room-pause", "2", NULL };
  static const Case unheard = { NULL, FALSE };
  static const Case heard = { NULL, TRUE };
  static const Case short_pause = { short_pause_args, FALSE };
  static const struct
  {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } both[] = {
    { "commands-and-what-everyone-sees", test_commands_and_what_everyone_sees },
    { "bad-requests-get-coded-errors", test_bad_requests_get_coded_errors },
    { "unplayable-songs-are-skipped", test_unplayable_songs_are_skipped },
    { "end-of-queue-and-autoplay", test_end_of_queue_and_autoplay },
  };

  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  for (guint i = 0; i < G_N_ELEMENTS (both); i++)
    {
      g_autofree char *path = g_strdup_printf ("/queue/%s", both[i].name);
      g_autofree char *listening = g_strdup_printf ("/queue/listening/%s", both[i].name);

      g_test_add (path, Fixture, &unheard, fixture_setup, both[i].func, fixture_teardown);
      g_test_add (listening, Fixture, &heard, fixture_setup, both[i].func, fixture_teardown);
    }
  g_test_add ("/queue/empty-room-pauses", Fixture, &short_pause, fixture_setup,
              test_empty_room_pauses, fixture_teardown);
  return g_test_run ();
}

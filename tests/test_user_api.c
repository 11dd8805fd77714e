/* SPDX-License-Identifier: MIT */
/*
 * Lyrics and the saved playlist: the LRC reader on its own (the forms
 * players write), then GET /api/lyrics/{songId} on a real server (an .lrc
 * beside the file wins over embedded lyrics, plain lyrics stay text, a song
 * without any is 404) and POST/GET /api/playlist (saved once however often
 * it is saved, newest first, per user).
 */
#include "server/core/rc_error.h"
#include "server/library/rc_lyrics.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"

#include <gst/gst.h>
#include <string.h>

static JsonObject *
parse (const char *text)
{
  g_autoptr (JsonNode) node = rc_lyrics_parse (text);

  return json_object_ref (json_node_get_object (node));
}

static double
line_time (JsonObject *lyrics, guint i)
{
  return json_object_get_double_member (
    json_array_get_object_element (json_object_get_array_member (lyrics, "lines"), i), "time");
}

static const char *
line_text (JsonObject *lyrics, guint i)
{
  return rc_test_str (
    json_array_get_object_element (json_object_get_array_member (lyrics, "lines"), i), "text");
}

static void
test_lrc_forms (void)
{
  g_autoptr (JsonObject) a = parse ("[ti:Song]\n[ar:Someone]\n"
                                    "[00:12.50]second\r\n"
                                    "[00:01.00][01:02:25]chorus\n"
                                    "[00:05]<b>third</b>\x07\n"
                                    "\n[Bridge]\n");
  g_autoptr (JsonObject) b = parse ("[offset:+500]\n[00:02.00]early\n[00:00.10]first\n");
  g_autoptr (JsonObject) c = parse ("Just words\nno stamps at all\n");
  g_autoptr (JsonObject) d = parse ("[99:99.99]not a stamp\n[xx:00.00]nor this\n");

  g_assert_true (json_object_get_boolean_member (a, "synced"));
  /* Sorted by time; a line with two stamps appears twice; markup is text;
   * control characters go; metadata tags and unstamped lines are not lines. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (a, "lines")), ==, 4);
  g_assert_cmpfloat (line_time (a, 0), ==, 1.0);
  g_assert_cmpstr (line_text (a, 0), ==, "chorus");
  g_assert_cmpfloat (line_time (a, 1), ==, 5.0);
  g_assert_cmpstr (line_text (a, 1), ==, "<b>third</b>");
  g_assert_cmpfloat (line_time (a, 2), ==, 12.5);
  g_assert_cmpfloat (line_time (a, 3), ==, 62.25);
  g_assert_cmpstr (line_text (a, 3), ==, "chorus");

  /* A positive offset shows lines sooner, never before 0. */
  g_assert_cmpfloat (line_time (b, 0), ==, 0.0);
  g_assert_cmpfloat (line_time (b, 1), ==, 1.5);

  g_assert_false (json_object_get_boolean_member (c, "synced"));
  g_assert_cmpstr (rc_test_str (c, "text"), ==, "Just words\nno stamps at all");
  g_assert_false (json_object_get_boolean_member (d, "synced"));
}

typedef struct
{
  char *dir;
  RcTestServer *server;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *synced = NULL, *lrc = NULL, *embedded = NULL, *bare = NULL, *timed = NULL;

  f->dir = g_dir_make_tmp ("rc-user-XXXXXX", NULL);
  synced = g_build_filename (f->dir, "synced.ogg", NULL);
  lrc = g_build_filename (f->dir, "synced.lrc", NULL);
  embedded = g_build_filename (f->dir, "embedded.ogg", NULL);
  bare = g_build_filename (f->dir, "bare.ogg", NULL);
  timed = g_build_filename (f->dir, "timed.ogg", NULL);
  /* The .lrc wins over the embedded lyrics of the same song. */
  rc_test_music_write (synced, RC_TEST_MUSIC_VORBIS, 330, 1000, "Synced", "A", NULL,
                       "embedded words that lose");
  g_assert_true (g_file_set_contents (lrc, "[ar:A]\n[00:00.50]one\n[00:01.00]two\n", -1, NULL));
  rc_test_music_write (embedded, RC_TEST_MUSIC_VORBIS, 440, 1000, "Embedded", "A", NULL,
                       "Plain words\nsecond line");
  rc_test_music_write (bare, RC_TEST_MUSIC_VORBIS, 550, 1000, "Bare", "A", NULL, NULL);
  rc_test_music_write (timed, RC_TEST_MUSIC_VORBIS, 660, 1000, "Timed", "A", NULL,
                       "[00:00.20]embedded and synced");
  f->server = rc_test_server_start ((const char *const[]){ "--music-dir", f->dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (f->server, 4), 30000));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
}

static JsonObject *
get (Fixture *f, const char *method, const char *path, const char *body, guint expected)
{
  guint status = 0;
  g_autoptr (JsonNode) reply = rc_test_http (f->server, method, path, body, NULL, &status);

  g_assert_cmpuint (status, ==, expected);
  g_assert_nonnull (reply);
  return json_object_ref (json_node_get_object (reply));
}

static JsonObject *
lyrics_of (Fixture *f, const char *title, guint expected)
{
  g_autofree char *id = rc_test_song_id (f->server, title);
  g_autofree char *path = g_strdup_printf ("/api/lyrics/%s", id);

  return get (f, "GET", path, NULL, expected);
}

static void
test_lyrics_endpoint (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) synced = lyrics_of (f, "Synced", 200);
  g_autoptr (JsonObject) embedded = lyrics_of (f, "Embedded", 200);
  g_autoptr (JsonObject) timed = lyrics_of (f, "Timed", 200);
  /* No lyrics is an answer (the page shows "no lyrics"), not a 404. */
  g_autoptr (JsonObject) bare = lyrics_of (f, "Bare", 200);
  g_autoptr (JsonObject) unknown = get (f, "GET", "/api/lyrics/000000000000", NULL, 404);
  g_autoptr (JsonObject) post = get (f, "POST", "/api/lyrics/000000000000", NULL, 405);

  g_assert_true (json_object_get_boolean_member (synced, "synced"));
  g_assert_cmpstr (rc_test_str (synced, "source"), ==, "lrc");
  g_assert_cmpfloat (line_time (synced, 1), ==, 1.0);
  g_assert_cmpstr (line_text (synced, 1), ==, "two");
  g_assert_false (json_object_get_boolean_member (embedded, "synced"));
  g_assert_cmpstr (rc_test_str (embedded, "source"), ==, "embedded");
  g_assert_cmpstr (rc_test_str (embedded, "text"), ==, "Plain words\nsecond line");
  g_assert_true (json_object_get_boolean_member (timed, "synced"));
  g_assert_cmpstr (line_text (timed, 0), ==, "embedded and synced");
  g_assert_cmpstr (rc_test_str (bare, "source"), ==, "none");
  g_assert_false (json_object_get_boolean_member (bare, "synced"));
  g_assert_cmpstr (rc_test_str (bare, "text"), ==, "");
  g_assert_cmpint (json_object_get_int_member (unknown, "code"), ==, RC_ERROR_NOT_FOUND);
  g_assert_cmpint (json_object_get_int_member (post, "code"), ==, RC_ERROR_METHOD_NOT_ALLOWED);
}

static const char *
song_title (JsonObject *playlist, guint i)
{
  return rc_test_str (
    json_array_get_object_element (json_object_get_array_member (playlist, "songs"), i), "title");
}

static guint
song_count (JsonObject *playlist)
{
  return json_array_get_length (json_object_get_array_member (playlist, "songs"));
}

static JsonObject *
save (Fixture *f, const char *user, const char *title)
{
  g_autofree char *id = rc_test_song_id (f->server, title);
  g_autofree char *body = g_strdup_printf ("{\"userId\":\"%s\",\"songId\":\"%s\"}", user, id);

  return get (f, "POST", "/api/playlist", body, 200);
}

static void
test_playlist (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) first = save (f, "listener-one", "Synced");
  g_autoptr (JsonObject) second = NULL;
  g_autoptr (JsonObject) again = NULL;
  g_autoptr (JsonObject) listed = NULL;
  g_autoptr (JsonObject) other = NULL;
  g_autoptr (JsonObject) error = NULL;

  g_assert_cmpuint (song_count (first), ==, 1);
  rc_test_run_for (5);
  second = save (f, "listener-one", "Bare");
  g_assert_cmpuint (song_count (second), ==, 2);
  g_assert_cmpstr (song_title (second, 0), ==, "Bare");
  /* Saved again: still once, now the newest. */
  rc_test_run_for (5);
  again = save (f, "listener-one", "Synced");
  g_assert_cmpuint (song_count (again), ==, 2);
  g_assert_cmpstr (song_title (again, 0), ==, "Synced");
  g_assert_cmpstr (song_title (again, 1), ==, "Bare");

  listed = get (f, "GET", "/api/playlist?userId=listener-one", NULL, 200);
  g_assert_cmpuint (song_count (listed), ==, 2);
  other = get (f, "GET", "/api/playlist?userId=listener-two", NULL, 200);
  g_assert_cmpuint (song_count (other), ==, 0);

  error = get (f, "GET", "/api/playlist", NULL, 400);
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, RC_ERROR_INVALID_PARAM);
  g_clear_pointer (&error, json_object_unref);
  error = get (f, "GET", "/api/playlist?userId=no%20spaces%20here", NULL, 400);
  g_clear_pointer (&error, json_object_unref);
  error = get (f, "POST", "/api/playlist", "{\"userId\":\"listener-one\",\"songId\":\"000000000000\"}", 404);
  g_clear_pointer (&error, json_object_unref);
  error = get (f, "POST", "/api/playlist", "{\"userId\":\"bad id!\",\"songId\":\"x\"}", 400);
  g_clear_pointer (&error, json_object_unref);
  error = get (f, "POST", "/api/playlist", "{\"songId\":\"x\"}", 400);
  g_clear_pointer (&error, json_object_unref);
  error = get (f, "DELETE", "/api/playlist", NULL, 405);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add_func ("/user/lrc-forms", test_lrc_forms);
  g_test_add ("/user/lyrics-endpoint", Fixture, NULL, fixture_setup, test_lyrics_endpoint,
              fixture_teardown);
  g_test_add ("/user/playlist", Fixture, NULL, fixture_setup, test_playlist, fixture_teardown);
  return g_test_run ();
}

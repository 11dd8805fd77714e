/* SPDX-License-Identifier: MIT */
/*
 * The library over HTTP, on a real roomcast with --music-dir: paging of
 * GET /api/library, GET /api/search/songs, 4002 for bad query parameters,
 * and no file path in any reply.
 */
#include "server/core/rc_error.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"

#include <gst/gst.h>
#include <string.h>

typedef struct
{
  char *dir;
  RcTestServer *server;
} Fixture;

static gboolean
library_ready (RcTestServer *server)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);

  return status == 200
         && !json_object_get_boolean_member (json_node_get_object (body), "scanning");
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = rc_test_music_make_tree ();
  f->server = rc_test_server_start ((const char *const[]){ "--music-dir", f->dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (library_ready (f->server), 30000));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
}

/* GET @path; asserts the status and that no path of the music dir leaks. */
static JsonObject *
get (Fixture *f, const char *path, guint expected_status)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (f->server, "GET", path, NULL, NULL, &status);
  g_autofree char *text = NULL;

  g_assert_nonnull (body);
  text = json_to_string (body, FALSE);
  g_assert_cmpuint (status, ==, expected_status);
  g_assert_null (strstr (text, f->dir));
  g_assert_null (strstr (text, ".ogg"));
  g_assert_null (strstr (text, ".wav"));
  return json_object_ref (json_node_get_object (body));
}

static void
test_list_paging (Fixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonObject) first = get (f, "/api/library", 200);
  JsonArray *songs = json_object_get_array_member (first, "songs");
  JsonObject *song;

  /* Defaults: offset 0, limit 50, everything fits. */
  g_assert_cmpint (json_object_get_int_member (first, "total"), ==, RC_TEST_MUSIC_TREE_SONGS);
  g_assert_cmpint (json_object_get_int_member (first, "offset"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (first, "limit"), ==, 50);
  g_assert_false (json_object_get_boolean_member (first, "scanning"));
  g_assert_cmpuint (json_array_get_length (songs), ==, RC_TEST_MUSIC_TREE_SONGS);
  song = json_array_get_object_element (songs, 0);
  for (const char *const *m = (const char *const[]){ "id", "title", "artist", "album",
                                                     "durationMs", "hasLyrics", NULL };
       *m != NULL; m++)
    g_assert_true (json_object_has_member (song, *m));
  g_assert_cmpuint (json_object_get_size (song), ==, 6);

  for (guint offset = 0; offset < RC_TEST_MUSIC_TREE_SONGS; offset += 10)
    {
      g_autofree char *path = g_strdup_printf ("/api/library?offset=%u&limit=10", offset);
      g_autoptr (JsonObject) page = get (f, path, 200);
      JsonArray *items = json_object_get_array_member (page, "songs");

      g_assert_cmpint (json_object_get_int_member (page, "offset"), ==, offset);
      g_assert_cmpint (json_object_get_int_member (page, "limit"), ==, 10);
      g_assert_cmpuint (json_array_get_length (items), ==,
                        MIN (10, RC_TEST_MUSIC_TREE_SONGS - offset));
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          const char *id = rc_test_str (json_array_get_object_element (items, i), "id");
          g_assert_cmpstr (id, ==, rc_test_str (json_array_get_object_element (songs, offset + i),
                                                "id"));
          g_assert_true (g_hash_table_add (seen, g_strdup (id)));
        }
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, RC_TEST_MUSIC_TREE_SONGS);
  {
    g_autoptr (JsonObject) past = get (f, "/api/library?offset=1000", 200);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (past, "songs")), ==, 0);
    g_assert_cmpint (json_object_get_int_member (past, "total"), ==, RC_TEST_MUSIC_TREE_SONGS);
  }
}

static void
test_search (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) cafe = get (f, "/api/search/songs?q=CAFE", 200);
  g_autoptr (JsonObject) beyonce = get (f, "/api/search/songs?q=beyonce", 200);
  g_autoptr (JsonObject) bulk = get (f, "/api/search/songs?q=bulk", 200);
  g_autoptr (JsonObject) bulk3 = get (f, "/api/search/songs?q=bulk&limit=3", 200);
  g_autoptr (JsonObject) none = get (f, "/api/search/songs?q=zzzz", 200);
  JsonArray *songs = json_object_get_array_member (cafe, "songs");
  JsonObject *top;

  g_assert_cmpuint (json_array_get_length (songs), ==, 4);
  top = json_array_get_object_element (songs, 0);
  g_assert_cmpstr (rc_test_str (top, "title"), ==, "Café del Mar");
  g_assert_cmpstr (rc_test_str (top, "artist"), ==, "Beyoncé");
  g_assert_cmpint (json_object_get_int_member (top, "durationMs"), >=, 2400);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (songs, 1), "title"), ==,
                   "Morning Cafe");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (beyonce, "songs")), ==,
                    1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (bulk, "songs")), ==, 20);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (bulk3, "songs")), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (none, "songs")), ==, 0);
  {
    /* An encoded accent in the query. */
    g_autoptr (JsonObject) r = get (f, "/api/search/songs?q=Beyonc%C3%A9%20caf", 200);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r, "songs")), ==, 1);
  }
}

static void
test_bad_params (Fixture *f, gconstpointer data)
{
  static const char *const bad[] = {
    "/api/search/songs?q=x&limit=0",
    "/api/search/songs?q=x&limit=abc",
    "/api/search/songs?q=x&limit=21",
    "/api/search/songs?q=x&limit=",
    "/api/search/songs?q=x&limit=1.5",
    "/api/search/songs",
    "/api/search/songs?limit=5",
    "/api/search/songs?q=",
    "/api/library?limit=0",
    "/api/library?limit=101",
    "/api/library?limit=ten",
    "/api/library?offset=-1",
    "/api/library?offset=abc",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonObject) e = get (f, bad[i], 400);
      g_test_message ("%s → %s", bad[i], rc_test_str (e, "message"));
      g_assert_cmpstr (rc_test_str (e, "type"), ==, "error");
      g_assert_cmpint (json_object_get_int_member (e, "code"), ==, RC_ERROR_INVALID_PARAM);
    }
  {
    g_autoptr (JsonObject) e = get (f, "/api/search/albums?q=x", 404);
    g_assert_cmpint (json_object_get_int_member (e, "code"), ==, RC_ERROR_NOT_FOUND);
  }
  {
    guint status = 0;
    g_autoptr (JsonNode) e = rc_test_http (f->server, "POST", "/api/library", "{}", NULL, &status);
    g_assert_cmpuint (status, ==, 405);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (e), "code"), ==,
                     RC_ERROR_METHOD_NOT_ALLOWED);
  }
  {
    /* The largest limits are fine. */
    g_autoptr (JsonObject) a = get (f, "/api/library?limit=100", 200);
    g_autoptr (JsonObject) b = get (f, "/api/search/songs?q=bulk&limit=20", 200);
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add ("/library-api/list-paging", Fixture, NULL, fixture_setup, test_list_paging,
              fixture_teardown);
  g_test_add ("/library-api/search", Fixture, NULL, fixture_setup, test_search, fixture_teardown);
  g_test_add ("/library-api/bad-params", Fixture, NULL, fixture_setup, test_bad_params,
              fixture_teardown);
  return g_test_run ();
}

/* SPDX-License-Identifier: MIT */
/*
 * REST routes around songs for one listener: GET /api/lyrics/{songId} and
 * the saved playlist, POST/GET /api/playlist. A playlist belongs to the
 * client's stable userId (the same one join takes for history); it is a
 * sorted set user:{userId}:library of song ids scored by when each was
 * saved, so saving a song twice keeps one entry (moved to the front).
 */
#include "server/http/rc_api_user.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"
#include "server/library/rc_lyrics.h"
#include "server/core/rc_validate.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#include <string.h>

#define LRC_MAX_BYTES (256 * 1024)
#define PLAYLIST_MAX 500

/* ---- lyrics ------------------------------------------------------------------ */

/* The .lrc file beside @song's audio file, or NULL. */
static char *
read_lrc (const RcSong *song)
{
  const char *dot = strrchr (song->path, '.');
  const char *slash = strrchr (song->path, '/');
  g_autofree char *base = dot && (!slash || dot > slash) ? g_strndup (song->path, dot - song->path)
                                                         : g_strdup (song->path);
  g_autofree char *path = g_strconcat (base, ".lrc", NULL);
  char *contents = NULL;
  gsize length = 0;
  GStatBuf st;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > LRC_MAX_BYTES)
    return NULL;
  if (!g_file_get_contents (path, &contents, &length, NULL))
    return NULL;
  if (!g_utf8_validate (contents, (gssize) length, NULL))
    {
      char *fixed = g_utf8_make_valid (contents, (gssize) length);

      g_free (contents);
      contents = fixed;
    }
  return contents;
}

static void
get_lyrics (RcServer *server, SoupServerMessage *msg, const char *song_id)
{
  RcSong *song = rc_library_lookup (rc_server_get_library (server), song_id);
  g_autofree char *lrc = NULL;
  g_autoptr (JsonNode) body = NULL;
  JsonObject *o;

  if (song == NULL)
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No song with that id");
      return;
    }
  lrc = read_lrc (song);
  if (lrc == NULL && (song->lyrics == NULL || *song->lyrics == '\0'))
    {
      /* A song without lyrics is an answer, not an error: a page asking for
       * it has nothing to report (a 404 shows in every browser console). */
      body = rc_json_message_new (NULL, &o);
      json_object_set_boolean_member (o, "synced", FALSE);
      json_object_set_string_member (o, "text", "");
    }
  else
    {
      body = rc_lyrics_parse (lrc != NULL ? lrc : song->lyrics);
      o = json_node_get_object (body);
    }
  json_object_set_string_member (o, "songId", song->id);
  json_object_set_string_member (o, "source",
                                 lrc != NULL ? "lrc" : song->lyrics != NULL && *song->lyrics != '\0'
                                                         ? "embedded" : "none");
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

/* ---- playlist ------------------------------------------------------------------ */

typedef struct
{
  RcServer *server;
  SoupServerMessage *msg;
  guint status;
} PlaylistRead;

static void
on_playlist_read (RcStore *store, GPtrArray *ids, const GError *error, gpointer data)
{
  PlaylistRead *read = data;
  RcLibrary *library = rc_server_get_library (read->server);
  JsonObject *o;
  g_autoptr (JsonNode) body = NULL;
  JsonArray *songs;

  if (error != NULL)
    rc_http_send_error (read->msg, RC_ERROR_STORE_UNAVAILABLE, NULL);
  else
    {
      body = rc_json_message_new (NULL, &o);
      songs = json_array_sized_new (ids->len);
      /* Songs that left the library since are skipped, not errors. */
      for (guint i = 0; i < ids->len; i++)
        {
          RcSong *song = rc_library_lookup (library, ids->pdata[i]);

          if (song != NULL)
            json_array_add_element (songs, rc_song_to_json (song));
        }
      json_object_set_array_member (o, "songs", songs);
      rc_http_send_json (read->msg, read->status, body);
    }
  rc_http_release (read->msg);
  g_free (read);
}

static void
send_playlist (RcServer *server, SoupServerMessage *msg, const char *user_id, guint status)
{
  PlaylistRead *read = g_new0 (PlaylistRead, 1);
  g_autofree char *key = g_strdup_printf ("user:%s:library", user_id);

  read->server = server;
  read->msg = msg;
  read->status = status;
  rc_http_hold (msg);
  rc_store_zset_range_rev (rc_server_get_store (server), key, 0, PLAYLIST_MAX - 1,
                           on_playlist_read, read);
}

static const RcParam save_params[] = {
  { "userId", RC_PARAM_STRING, TRUE, 8, 64 },
  { "songId", RC_PARAM_STRING, TRUE, 1, 64 },
  RC_PARAMS_END,
};

static void
save_song (RcServer *server, SoupServerMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) request = NULL;
  const char *user_id, *song_id;
  g_autofree char *key = NULL;

  if (!rc_server_allow_rest_write (server, msg))
    return;
  request = rc_http_read_json_object (msg, rc_server_get_config (server)->max_message_bytes,
                                      &error);
  if (request == NULL || !rc_validate_object (request, save_params, &error))
    {
      rc_http_send_gerror (msg, error);
      return;
    }
  user_id = rc_json_get_string (request, "userId");
  song_id = rc_json_get_string (request, "songId");
  if (!rc_validate_user_id (user_id))
    {
      rc_http_send_error (msg, RC_ERROR_INVALID_PARAM,
                          "\"userId\" may only hold letters, digits, '-' and '_'");
      return;
    }
  if (rc_library_lookup (rc_server_get_library (server), song_id) == NULL)
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No song with that id");
      return;
    }
  key = g_strdup_printf ("user:%s:library", user_id);
  rc_store_zset_add (rc_server_get_store (server), key, (double) (g_get_real_time () / 1000),
                     song_id, PLAYLIST_MAX);
  send_playlist (server, msg, user_id, SOUP_STATUS_OK);
}

void
rc_api_user_handle (RcServer *server, SoupServerMessage *msg, const char *path,
                    GHashTable *query)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean is_get = g_str_equal (method, "GET") || g_str_equal (method, "HEAD");

  if (g_str_has_prefix (path, "/api/lyrics/"))
    {
      const char *song_id = path + strlen ("/api/lyrics/");

      if (!is_get)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                        "GET, HEAD");
          rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, NULL);
        }
      else if (*song_id == '\0' || strchr (song_id, '/') != NULL)
        rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No song with that id");
      else
        get_lyrics (server, msg, song_id);
      return;
    }
  if (g_str_equal (path, "/api/playlist"))
    {
      const char *user_id = query ? g_hash_table_lookup (query, "userId") : NULL;

      if (g_str_equal (method, "POST"))
        save_song (server, msg);
      else if (!is_get)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                        "GET, HEAD, POST");
          rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, NULL);
        }
      else if (!rc_validate_user_id (user_id))
        rc_http_send_error (msg, RC_ERROR_INVALID_PARAM,
                            "\"userId\" is required: 8-64 letters, digits, '-' or '_'");
      else
        send_playlist (server, msg, user_id, SOUP_STATUS_OK);
      return;
    }
  rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No such endpoint");
}

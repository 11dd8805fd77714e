/* SPDX-License-Identifier: MIT */
/*
 * A song of the music library. The id hashes the path relative to the music
 * dir, not the absolute path or the content, so it survives a restart, a
 * move of the whole folder to another machine, and a re-tag; renaming the
 * file gives a new id. Clients never see a path, only the id.
 */
#include "server/library/rc_song.h"
#include "server/core/rc_validate.h"
#include "server/library/rc_search.h"

#include <string.h>

#define ID_CHARS 12

char *
rc_song_make_id (const char *rel_path)
{
  g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA256, rel_path, -1);

  return g_strndup (hex, ID_CHARS);
}

static char *
title_from_file_name (const char *rel_path)
{
  char *base = g_path_get_basename (rel_path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return base;
}

static char *
dup_or_null (const char *text)
{
  return text != NULL && *text != '\0' ? g_strdup (text) : NULL;
}

static void
song_clear (RcSong *song)
{
  g_free (song->id);
  g_free (song->path);
  g_free (song->rel_path);
  g_free (song->title);
  g_free (song->artist);
  g_free (song->album);
  g_free (song->lyrics);
  g_free (song->norm_title);
  g_free (song->norm_artist);
  g_free (song->norm_album);
}

RcSong *
rc_song_new (const char *music_dir, const char *rel_path, const char *title, const char *artist,
             const char *album, gint64 duration_ms, const char *lyrics, gint64 mtime_us,
             gint64 size)
{
  RcSong *song = g_atomic_rc_box_new0 (RcSong);

  song->id = rc_song_make_id (rel_path);
  song->path = g_build_filename (music_dir, rel_path, NULL);
  song->rel_path = g_strdup (rel_path);
  song->title =
    title != NULL && *title != '\0' ? g_strdup (title) : title_from_file_name (rel_path);
  song->artist = dup_or_null (artist);
  song->album = dup_or_null (album);
  song->duration_ms = MAX (duration_ms, 0);
  song->lyrics = dup_or_null (lyrics);
  song->mtime_us = mtime_us;
  song->size = size;
  song->norm_title = rc_search_normalize (song->title);
  song->norm_artist = rc_search_normalize (song->artist);
  song->norm_album = rc_search_normalize (song->album);
  return song;
}

RcSong *
rc_song_ref (RcSong *song)
{
  return g_atomic_rc_box_acquire (song);
}

void
rc_song_unref (RcSong *song)
{
  g_atomic_rc_box_release_full (song, (GDestroyNotify) song_clear);
}

JsonNode *
rc_song_to_json (const RcSong *song)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (o, "id", song->id);
  json_object_set_string_member (o, "title", song->title);
  if (song->artist != NULL)
    json_object_set_string_member (o, "artist", song->artist);
  else
    json_object_set_null_member (o, "artist");
  if (song->album != NULL)
    json_object_set_string_member (o, "album", song->album);
  else
    json_object_set_null_member (o, "album");
  json_object_set_int_member (o, "durationMs", song->duration_ms);
  json_object_set_boolean_member (o, "hasLyrics", song->lyrics != NULL);
  json_node_take_object (node, o);
  return node;
}

static void
set_optional (JsonObject *o, const char *name, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
}

JsonObject *
rc_song_to_cache (const RcSong *song)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "mtime", song->mtime_us);
  json_object_set_int_member (o, "size", song->size);
  json_object_set_string_member (o, "title", song->title);
  set_optional (o, "artist", song->artist);
  set_optional (o, "album", song->album);
  json_object_set_int_member (o, "durationMs", song->duration_ms);
  set_optional (o, "lyrics", song->lyrics);
  return o;
}

RcSong *
rc_song_new_from_cache (const char *music_dir, const char *rel_path, JsonObject *entry)
{
  const char *title = rc_json_get_string (entry, "title");

  if (title == NULL || !json_object_has_member (entry, "mtime"))
    return NULL;
  return rc_song_new (music_dir, rel_path, title, rc_json_get_string (entry, "artist"),
                      rc_json_get_string (entry, "album"),
                      json_object_get_int_member_with_default (entry, "durationMs", 0),
                      rc_json_get_string (entry, "lyrics"),
                      json_object_get_int_member_with_default (entry, "mtime", 0),
                      json_object_get_int_member_with_default (entry, "size", 0));
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * RcSong: one playable file of the music library, immutable once built and
 * shared by reference (the library, search results and REST replies hold
 * refs). Fields are read-only for everyone but rc_song.c.
 */
typedef struct
{
  char *id;          /* 12 hex chars of SHA-256 (rel_path): stable across restarts and hosts */
  char *path;        /* absolute file name; never sent to clients */
  char *rel_path;    /* relative to the music dir, '/'-separated */
  char *title;       /* tag, else the file name without its extension */
  char *artist;      /* NULL when untagged */
  char *album;       /* NULL when untagged */
  gint64 duration_ms;
  char *lyrics;      /* embedded lyrics (GST_TAG_LYRICS) or NULL */
  gint64 mtime_us;   /* modification time of the file when it was read */
  gint64 size;       /* file size in bytes when it was read */
  /* Search keys (rc_search_normalize), built once. */
  char *norm_title;
  char *norm_artist;
  char *norm_album;
} RcSong;

/* The id of a file at @rel_path inside a music dir. */
char *rc_song_make_id (const char *rel_path);

/* @title NULL or empty: derived from the file name. Strings are copied. */
RcSong *rc_song_new (const char *music_dir, const char *rel_path, const char *title,
                     const char *artist, const char *album, gint64 duration_ms,
                     const char *lyrics, gint64 mtime_us, gint64 size);
RcSong *rc_song_ref (RcSong *song);
void rc_song_unref (RcSong *song);

/* What clients see: {id, title, artist, album, durationMs, hasLyrics}. */
JsonNode *rc_song_to_json (const RcSong *song);

/* The library cache form (metadata, mtime and size; no absolute path). */
JsonObject *rc_song_to_cache (const RcSong *song);
/* Back from the cache; NULL when @entry is not a usable cache object. */
RcSong *rc_song_new_from_cache (const char *music_dir, const char *rel_path, JsonObject *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSong, rc_song_unref)

G_END_DECLS

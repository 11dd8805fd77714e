/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RcUrlCache: http(s) songs fetched once into a bounded folder, so that a
 * replay, or another room queueing the same URL, plays from a local file.
 *
 * - The bound (@max_bytes) holds at every moment for the song files in the
 *   folder, downloads in progress included: a download reserves its
 *   Content-Length (or its growth, chunk by chunk) before it writes, and
 *   makes room by deleting the least recently played songs. A song larger
 *   than the whole cache is refused.
 * - A download is refused (RC_ERROR_URL_FETCH_FAILED, _URL_NOT_AUDIO,
 *   _URL_TOO_LARGE) when it fails, when its Content-Type or first bytes are
 *   not audio, or when it outgrows the cache; a refusal is remembered for a
 *   while, so a replay does not fetch a dead link again.
 * - Downloads run on the main context, asynchronously (libsoup, GIO), a
 *   few at a time (a song a room wants now does not wait its turn:
 *   rc_url_cache_want_now); listeners are told when a download's response
 *   has passed its checks (status, Content-Type, first bytes: accepted)
 *   and how each ends, never from inside a call into the cache.
 * - The index (the folder's index.json: URL, size, last play) survives a
 *   restart; a lock file keeps a second process out of the same folder.
 *
 * Main context only.
 */
typedef struct _RcUrlCache RcUrlCache;

/* Makes @dir if need be, reads its index and removes stray files of its
 * own naming (partial downloads of a previous run). NULL with @error when
 * the folder cannot be made or another process holds it. */
RcUrlCache *rc_url_cache_new (const char *dir, guint64 max_bytes, GError **error);
void rc_url_cache_free (RcUrlCache *cache);

/*
 * What to play for @url: a file:// URI of the whole cached song (a new
 * string; the song counts as played now), or NULL. NULL with *@refusal set
 * (borrowed, valid until the next call) when the URL was refused lately;
 * otherwise NULL starts a download unless one is under way.
 */
char *rc_url_cache_lookup (RcUrlCache *cache, const char *url, const GError **refusal);

/*
 * A URL wanted now (a room is about to play it): its download starts at
 * once if it was waiting for its turn. TRUE when the song is whole in the
 * folder or its download was accepted (its response passed the checks),
 * so that the URL itself can be streamed: a URL not yet accepted may still
 * be refused, and is not worth opening elsewhere.
 */
gboolean rc_url_cache_want_now (RcUrlCache *cache, const char *url);

/*
 * The file:// URI of @url's download in progress, once accepted (a new
 * string), else NULL. The part file is registered as growing
 * (pipelines/rc_growing_file.h): a track that plays it waits for the
 * download at its end, so a first play is heard from the one download.
 */
char *rc_url_cache_get_growing (RcUrlCache *cache, const char *url);

typedef enum
{
  RC_URL_CACHE_ACCEPTED, /* the response passed its checks; the download goes on */
  RC_URL_CACHE_ENDED,    /* the download ended (@error says how) */
} RcUrlCacheEvent;

/* Told when a download is accepted (@error NULL), and when it ends: @error
 * NULL (cached), an RC_ERROR refusal, or another domain when the cache gave
 * up on its own account (full of other downloads, shutting down): the URL
 * is then simply not cached. A refusal can come before acceptance (status,
 * type, first bytes, Content-Length) or after it (a chunked download that
 * outgrows the cache, a connection that breaks). */
typedef void (*RcUrlCacheFunc) (const char *url, RcUrlCacheEvent event, const GError *error,
                                gpointer user_data);

guint rc_url_cache_add_listener (RcUrlCache *cache, RcUrlCacheFunc func, gpointer user_data);
void rc_url_cache_remove_listener (RcUrlCache *cache, guint id);

/* Its bound, and the bytes held now (songs and reservations). */
guint64 rc_url_cache_get_max_bytes (RcUrlCache *cache);
guint64 rc_url_cache_get_used_bytes (RcUrlCache *cache);

/* The default folder: the user's cache folder's roomcast/songs. */
char *rc_url_cache_default_dir (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcUrlCache, rc_url_cache_free)

G_END_DECLS

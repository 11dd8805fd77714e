/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/library/rc_song.h"
#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcLibrary: the songs under --music-dir. Scanning runs in the background
 * (the folder walk in a worker thread, GstDiscoverer in async mode on the
 * main context), so start-up and requests never wait for it. Metadata is
 * cached in memory and in the store key "library:cache"; a rescan only
 * re-reads files whose modification time or size changed.
 * Everything here runs on the main context the library was started on.
 */
typedef struct _RcLibrary RcLibrary;

/* @store may be NULL (no persistent cache); @music_dir NULL or "": no songs. */
RcLibrary *rc_library_new (RcStore *store, const char *music_dir);
void rc_library_free (RcLibrary *library);

/* Reads the cache from the store, then scans. Returns at once. */
void rc_library_start (RcLibrary *library);
/* Scans again (after the current scan when one is running). */
void rc_library_rescan (RcLibrary *library);

/* The music dir as an absolute path, or NULL without one. */
const char *rc_library_get_music_dir (RcLibrary *library);

/* TRUE once the first scan has finished (at once without a music dir). */
gboolean rc_library_is_ready (RcLibrary *library);
/* TRUE while a scan (walk or discovery) runs or is about to. */
gboolean rc_library_is_scanning (RcLibrary *library);
/* Files handed to GstDiscoverer since the library was created. */
guint rc_library_get_discovered_count (RcLibrary *library);

/* The song with @song_id, borrowed (valid until the next scan step), or NULL. */
RcSong *rc_library_lookup (RcLibrary *library, const char *song_id);

/* Songs in relative path order, @offset/@limit paged; a new array of refs. */
GPtrArray *rc_library_list (RcLibrary *library, guint offset, guint limit, guint *total);

/* See rc_search_songs(); @limit is capped at RC_LIBRARY_SEARCH_MAX. */
#define RC_LIBRARY_SEARCH_MAX 20
GPtrArray *rc_library_search (RcLibrary *library, const char *query, guint limit);

/* The file:// URI the room pipeline plays. */
char *rc_library_get_uri (const RcSong *song);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcLibrary, rc_library_free)

G_END_DECLS

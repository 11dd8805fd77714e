/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/library/rc_song.h"

G_BEGIN_DECLS

/*
 * Library search: text normalised for matching (accents, case and
 * punctuation do not count), then a ranked, folded, capped result list.
 */

/*
 * NFKD, combining marks dropped, casefolded; runs of anything that is not a
 * letter or digit become one space; trimmed. "Beyoncé – Café!" → "beyonce cafe".
 */
char *rc_search_normalize (const char *text);

/*
 * Songs of @songs (RcSong*) where every word of @query is the start of a
 * word of the title, artist or album. Ranked: the title starts with the
 * query, then every word found in the title, then in title and artist, then
 * anywhere (album); ties by title, then id. Songs with the same normalised
 * title and artist are folded into one: the longest, then the first by
 * relative path. At most @limit results; a new array of refs.
 */
GPtrArray *rc_search_songs (GPtrArray *songs, const char *query, guint limit);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Lyrics for GET /api/lyrics/{songId}. Synced lyrics are LRC: lines of text
 * behind one or more [mm:ss.xx] stamps, with an optional [offset:±ms] tag;
 * other [tag:value] lines (ti, ar, al...) are metadata and skipped.
 */

/* {"synced": true, "lines": [{"time": seconds, "text"}...]} (by time) when
 * @text has timed lines, else {"synced": false, "text"}. Text is cleaned of
 * control characters; at most 2000 lines. */
JsonNode *rc_lyrics_parse (const char *text);

G_END_DECLS

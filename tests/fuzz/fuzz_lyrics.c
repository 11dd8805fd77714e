/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: LRC lyrics files (rc_lyrics_parse), which come from the
 * music folder and from tags, and are served to every guest as JSON: the
 * result must always serialise to valid UTF-8 JSON.
 */
#include "server/core/rc_json.h"
#include "server/library/rc_lyrics.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (JsonNode) lyrics = NULL;
  g_autofree char *json = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    return 0; /* the library reads lyrics as UTF-8 text */
  lyrics = rc_lyrics_parse (text);
  g_assert (lyrics != NULL && JSON_NODE_HOLDS_OBJECT (lyrics));
  json = rc_json_to_string (lyrics);
  g_assert (g_utf8_validate (json, -1, NULL));
  return 0;
}

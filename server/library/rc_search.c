/* SPDX-License-Identifier: MIT */
/*
 * Library search. People type "beyonce cafe" for "Café del Mar" by
 * Beyoncé, so both sides are normalised the same way (NFKD, marks dropped,
 * casefolded, punctuation as word breaks) and each query word matches the
 * start of a word: typing a title as far as one likes keeps it found.
 * The library is small enough (tens of thousands of songs) for a linear scan
 * per query; an index can come when a benchmark asks for it.
 */
#include "server/library/rc_search.h"

#include <string.h>

enum
{
  TIER_TITLE_PREFIX,
  TIER_TITLE_WORDS,
  TIER_ARTIST,
  TIER_ALBUM,
};

static gboolean
is_apostrophe (gunichar c)
{
  return c == '\'' || c == '`' || c == 0x2019 || c == 0x02BC;
}

char *
rc_search_normalize (const char *text)
{
  g_autofree char *valid = NULL;
  g_autofree char *decomposed = NULL;
  g_autofree char *folded = NULL;
  GString *out;
  gboolean pending_space = FALSE;

  if (text == NULL)
    return g_strdup ("");
  valid = g_utf8_make_valid (text, -1);
  decomposed = g_utf8_normalize (valid, -1, G_NORMALIZE_NFKD);
  folded = g_utf8_casefold (decomposed, -1);
  out = g_string_sized_new (strlen (folded));
  for (const char *p = folded; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_ismark (c) || is_apostrophe (c))
        continue; /* "é" → "e", "don't" → "dont" */
      if (!g_unichar_isalnum (c))
        {
          pending_space = out->len > 0;
          continue;
        }
      if (pending_space)
        g_string_append_c (out, ' ');
      pending_space = FALSE;
      g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* Whether some word of @field (normalised) starts with @word. */
static gboolean
has_word_prefix (const char *field, const char *word)
{
  gsize len = strlen (word);

  for (const char *p = field; p != NULL && *p != '\0';)
    {
      if (strncmp (p, word, len) == 0)
        return TRUE;
      p = strchr (p, ' ');
      if (p != NULL)
        p++;
    }
  return FALSE;
}

/* The tier of @song for @words, or -1 when some word matches nowhere. */
static int
match_tier (const RcSong *song, const char *query, char **words)
{
  gboolean all_title = TRUE, all_artist = TRUE;

  for (char **w = words; *w != NULL; w++)
    {
      gboolean in_title = has_word_prefix (song->norm_title, *w);
      gboolean in_artist = !in_title && has_word_prefix (song->norm_artist, *w);

      if (!in_title && !in_artist && !has_word_prefix (song->norm_album, *w))
        return -1;
      all_title = all_title && in_title;
      all_artist = all_artist && (in_title || in_artist);
    }
  if (g_str_has_prefix (song->norm_title, query))
    return TIER_TITLE_PREFIX;
  if (all_title)
    return TIER_TITLE_WORDS;
  return all_artist ? TIER_ARTIST : TIER_ALBUM;
}

typedef struct
{
  RcSong *song; /* borrowed from the input array */
  int tier;
} Hit;

/* Which of two near-duplicates to keep: the longest, then the first by path. */
static gboolean
better_duplicate (const RcSong *a, const RcSong *b)
{
  if (a->duration_ms != b->duration_ms)
    return a->duration_ms > b->duration_ms;
  return strcmp (a->rel_path, b->rel_path) < 0;
}

static int
compare_hits (gconstpointer pa, gconstpointer pb)
{
  const Hit *a = *(Hit *const *) pa;
  const Hit *b = *(Hit *const *) pb;
  int c;

  if (a->tier != b->tier)
    return a->tier < b->tier ? -1 : 1;
  c = strcmp (a->song->norm_title, b->song->norm_title);
  if (c == 0)
    c = g_utf8_collate (a->song->title, b->song->title);
  return c != 0 ? c : strcmp (a->song->id, b->song->id);
}

GPtrArray *
rc_search_songs (GPtrArray *songs, const char *query, guint limit)
{
  g_autofree char *norm = rc_search_normalize (query);
  g_auto (GStrv) words = g_strsplit (norm, " ", -1);
  g_autoptr (GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) hits = g_ptr_array_new ();
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_song_unref);
  GHashTableIter iter;
  gpointer value;

  if (*norm == '\0' || limit == 0)
    return result;
  for (guint i = 0; i < songs->len; i++)
    {
      RcSong *song = songs->pdata[i];
      int tier = match_tier (song, norm, words);
      g_autofree char *key = NULL;
      Hit *hit;

      if (tier < 0)
        continue;
      key = g_strconcat (song->norm_title, "\n", song->norm_artist, NULL);
      hit = g_hash_table_lookup (groups, key);
      if (hit == NULL)
        {
          hit = g_new0 (Hit, 1);
          hit->song = song;
          hit->tier = tier;
          g_hash_table_insert (groups, g_steal_pointer (&key), hit);
          continue;
        }
      hit->tier = MIN (hit->tier, tier);
      if (better_duplicate (song, hit->song))
        hit->song = song;
    }

  g_hash_table_iter_init (&iter, groups);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (hits, value);
  g_ptr_array_sort (hits, compare_hits);
  for (guint i = 0; i < hits->len && i < limit; i++)
    g_ptr_array_add (result, rc_song_ref (((Hit *) hits->pdata[i])->song));
  return result;
}

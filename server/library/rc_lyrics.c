/* SPDX-License-Identifier: MIT */
/*
 * LRC parsing. Players write LRC loosely: stamps as [m:ss], [mm:ss.xx] or
 * [mm:ss:xx], several stamps on one line for a repeated chorus, blank
 * lines, metadata tags. Anything that is not a stamp stays text; a file
 * with no stamp at all is plain lyrics.
 */
#include "server/library/rc_lyrics.h"
#include "server/core/rc_json.h"
#include "server/core/rc_text.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LINES 2000
#define MAX_LINE_CHARS 500

typedef struct
{
  double time;
  guint order; /* for a stable sort */
  char *text;
} Line;

/* Reads "[mm:ss.xx]" at @p; the time in seconds, and @end after the ']'. */
static gboolean
read_stamp (const char *p, double *seconds, const char **end)
{
  char *after;
  long minutes;
  double secs;

  if (*p != '[' || !g_ascii_isdigit (p[1]))
    return FALSE;
  minutes = strtol (p + 1, &after, 10);
  if (*after != ':' || !g_ascii_isdigit (after[1]) || minutes < 0 || minutes > 9999)
    return FALSE;
  secs = g_ascii_strtod (after + 1, &after);
  if (*after == ':' && g_ascii_isdigit (after[1]))
    {
      /* [mm:ss:xx]: hundredths after a colon. */
      char *frac_end;
      long hundredths = strtol (after + 1, &frac_end, 10);

      secs += hundredths / 100.0;
      after = frac_end;
    }
  if (*after != ']' || secs < 0 || secs >= 60.0)
    return FALSE;
  *seconds = minutes * 60.0 + secs;
  *end = after + 1;
  return TRUE;
}

static int
line_order (gconstpointer a, gconstpointer b)
{
  const Line *x = a, *y = b;

  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  return (int) x->order - (int) y->order;
}

JsonNode *
rc_lyrics_parse (const char *text)
{
  g_auto (GStrv) rows = g_strsplit (text, "\n", -1);
  g_autoptr (GArray) lines = g_array_new (FALSE, FALSE, sizeof (Line));
  g_autoptr (GString) plain = g_string_new (NULL);
  g_autoptr (GArray) stamps = g_array_new (FALSE, FALSE, sizeof (double)); /* one row's */
  double offset_s = 0;
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  for (guint r = 0; rows[r] != NULL && lines->len < MAX_LINES; r++)
    {
      const char *p = rows[r];
      double t;
      const char *end;
      g_autofree char *clean = NULL;

      g_strchomp (rows[r]);
      g_array_set_size (stamps, 0);
      while (read_stamp (p, &t, &end))
        {
          g_array_append_val (stamps, t);
          p = end;
        }
      if (stamps->len == 0 && p[0] == '[')
        {
          /* A metadata tag: only [offset:±ms] matters. */
          if (g_str_has_prefix (p, "[offset:"))
            offset_s = g_ascii_strtod (p + 8, NULL) / 1000.0;
          if (strchr (p, ']') != NULL && strchr (p, ':') != NULL && *(strchr (p, ']') + 1) == '\0')
            continue;
        }
      clean = rc_text_sanitize (p, MAX_LINE_CHARS);
      if (stamps->len == 0)
        {
          if (plain->len > 0)
            g_string_append_c (plain, '\n');
          g_string_append (plain, clean);
          continue;
        }
      for (guint i = 0; i < stamps->len && lines->len < MAX_LINES; i++)
        {
          Line line = { g_array_index (stamps, double, i), lines->len, g_strdup (clean) };

          g_array_append_val (lines, line);
        }
    }

  if (lines->len == 0)
    {
      json_object_set_boolean_member (o, "synced", FALSE);
      json_object_set_string_member (o, "text", g_strchomp (plain->str));
      return node;
    }
  g_array_sort (lines, line_order);
  {
    JsonArray *array = json_array_sized_new (lines->len);

    for (guint i = 0; i < lines->len; i++)
      {
        Line *line = &g_array_index (lines, Line, i);
        JsonObject *l = json_object_new ();

        /* A positive offset shows lines sooner. */
        json_object_set_double_member (l, "time", MAX (line->time - offset_s, 0));
        json_object_set_string_member (l, "text", line->text);
        json_array_add_object_element (array, l);
        g_free (line->text);
      }
    json_object_set_boolean_member (o, "synced", TRUE);
    json_object_set_array_member (o, "lines", array);
  }
  return node;
}

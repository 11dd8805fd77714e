/* SPDX-License-Identifier: MIT */
/*
 * Text hygiene for everything a guest types. Done once on the way in, so the
 * store, every guest and every log see the same clean string.
 */
#include "server/core/rc_text.h"

#include <string.h>

static gboolean
is_unwanted (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

char *
rc_text_sanitize (const char *text, gsize max_chars)
{
  g_autofree char *valid = g_utf8_make_valid (text ? text : "", -1);
  GString *out = g_string_sized_new (strlen (valid));
  gsize kept = 0;
  char *result;

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n' || c == '\r' || c == '\t')
        c = ' ';
      else if (is_unwanted (c))
        continue;
      g_string_append_unichar (out, c);
    }

  result = g_strstrip (g_string_free (out, FALSE));
  /* g_strstrip moved the text to the start of the buffer; now cut. */
  for (char *p = result; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (kept == max_chars)
        {
          *p = '\0';
          g_strchomp (result);
          break;
        }
      kept++;
    }
  return result;
}

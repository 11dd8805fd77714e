/* SPDX-License-Identifier: MIT */
/*
 * Table-driven validation of untrusted JSON. Keeping the rules in data (the
 * RcParam tables next to each handler) means a handler cannot forget a check
 * and docs/protocol.md can be read straight off the tables.
 */
#include "server/core/rc_validate.h"

#include <string.h>
#include "server/core/rc_error.h"

#include <math.h>

static const char *
type_name (RcParamType type)
{
  switch (type)
    {
    case RC_PARAM_STRING: return "a string";
    case RC_PARAM_INT: return "an integer";
    case RC_PARAM_NUMBER: return "a number";
    case RC_PARAM_BOOLEAN: return "a boolean";
    case RC_PARAM_OBJECT: return "an object";
    case RC_PARAM_ARRAY: return "an array";
    case RC_PARAM_ANY: return "a value";
    }
  return "a value";
}

static gboolean
check_bounds (const RcParam *p, double value, GError **error)
{
  if (p->min == 0 && p->max == 0)
    return TRUE;
  if (value < (double) p->min || value > (double) p->max)
    {
      if (p->type == RC_PARAM_STRING)
        g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                     "\"%s\" must be %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT " characters long",
                     p->name, p->min, p->max);
      else if (p->type == RC_PARAM_ARRAY)
        g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                     "\"%s\" must have %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT " elements",
                     p->name, p->min, p->max);
      else
        g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                     "\"%s\" must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                     p->name, p->min, p->max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_param (const RcParam *p, JsonNode *node, GError **error)
{
  gboolean ok = FALSE;
  double measure = 0;

  switch (p->type)
    {
    case RC_PARAM_STRING:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
      if (ok)
        measure = g_utf8_strlen (json_node_get_string (node), -1);
      break;
    case RC_PARAM_INT:
      ok = rc_json_is_number (node);
      if (ok)
        {
          measure = json_node_get_double (node);
          ok = isfinite (measure) && floor (measure) == measure;
        }
      break;
    case RC_PARAM_NUMBER:
      ok = rc_json_is_number (node);
      if (ok)
        {
          measure = json_node_get_double (node);
          ok = isfinite (measure);
        }
      break;
    case RC_PARAM_BOOLEAN:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
      break;
    case RC_PARAM_OBJECT:
      ok = JSON_NODE_HOLDS_OBJECT (node);
      break;
    case RC_PARAM_ARRAY:
      ok = JSON_NODE_HOLDS_ARRAY (node);
      if (ok)
        measure = json_array_get_length (json_node_get_array (node));
      break;
    case RC_PARAM_ANY:
      ok = TRUE;
      break;
    }

  if (!ok)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "\"%s\" must be %s", p->name,
                   type_name (p->type));
      return FALSE;
    }
  if (p->type == RC_PARAM_BOOLEAN || p->type == RC_PARAM_OBJECT || p->type == RC_PARAM_ANY)
    return TRUE;
  return check_bounds (p, measure, error);
}

gboolean
rc_validate_object (JsonObject *object, const RcParam *params, GError **error)
{
  for (const RcParam *p = params; p->name != NULL; p++)
    {
      JsonNode *node = json_object_get_member (object, p->name);

      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        {
          if (p->required)
            {
              g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "\"%s\" is required",
                           p->name);
              return FALSE;
            }
          continue;
        }
      if (!check_param (p, node, error))
        return FALSE;
    }
  return TRUE;
}

/* Integers json-glib would wrap or saturate (18446744073709551616 reads as
 * -1): found in the text, since the parsed value no longer shows it. */
static gboolean
integers_fit (const char *data, gsize length)
{
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      gsize start = i, end;

      if (in_string)
        {
          if (data[i] == '\\')
            i++;
          else if (data[i] == '"')
            in_string = FALSE;
          continue;
        }
      if (data[i] == '"')
        {
          in_string = TRUE;
          continue;
        }
      if (data[i] != '-' && !g_ascii_isdigit (data[i]))
        continue;
      end = start + 1;
      while (end < length && (g_ascii_isdigit (data[end]) || strchr (".eE+-", data[end]) != NULL))
        end++;
      i = end - 1;
      if (end - start > 18 && memchr (data + start, '.', end - start) == NULL
          && memchr (data + start, 'e', end - start) == NULL
          && memchr (data + start, 'E', end - start) == NULL)
        {
          g_autofree char *token = g_strndup (data + start, end - start);

          if (!g_ascii_string_to_signed (token, 10, G_MININT64, G_MAXINT64, NULL, NULL))
            return FALSE;
        }
    }
  return TRUE;
}

typedef enum
{
  SHAPE_OK,
  SHAPE_NOT_ONE_OBJECT,
  SHAPE_BAD_CHARACTER,
} Shape;

/*
 * What json-glib 1.6 must never see, found in one pass over the text:
 * - anything but one JSON object and whitespace after it: it takes
 *   "1{...}" or "{...}{...}" without an error and leaks every value but
 *   the last, and leaks on some text never closed too;
 * - outside strings, anything JSON's grammar has no place for (only
 *   whitespace, the structural characters, numbers and the letters of
 *   true, false and null): it leaks on some such text (found by
 *   fuzz_relay_message: "{/{/}{}}" left a few hundred bytes per message).
 * Valid JSON always passes.
 */
static Shape
text_shape (const char *data, gsize length)
{
  static const char allowed[] = " \t\r\n{}[]:,-+.0123456789eEtruefalsn";
  gboolean in_string = FALSE;
  gsize i = 0, depth = 0;

  while (i < length && strchr (" \t\r\n", data[i]) != NULL && data[i] != '\0')
    i++;
  if (i == length || data[i] != '{')
    return SHAPE_NOT_ONE_OBJECT;
  for (; i < length; i++)
    {
      if (in_string)
        {
          if (data[i] == '\\')
            i++;
          else if (data[i] == '"')
            in_string = FALSE;
        }
      else if (data[i] == '"')
        in_string = TRUE;
      else if (data[i] == '\0' || strchr (allowed, data[i]) == NULL)
        return SHAPE_BAD_CHARACTER;
      else if (data[i] == '{' || data[i] == '[')
        depth++;
      else if ((data[i] == '}' || data[i] == ']') && --depth == 0)
        break;
    }
  if (i >= length)
    return SHAPE_NOT_ONE_OBJECT; /* never closed */
  for (i++; i < length; i++)
    if (data[i] == '\0' || strchr (" \t\r\n", data[i]) == NULL)
      return SHAPE_NOT_ONE_OBJECT;
  return SHAPE_OK;
}

/* Every string (names too) is UTF-8 (a lone surrogate escape is not) and
 * every number finite (1e400 reads as infinity). */
static gboolean
node_is_sound (JsonNode *node, const char **problem)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          {
            if (!g_utf8_validate (name, -1, NULL))
              {
                *problem = "a name that is not valid UTF-8";
                return FALSE;
              }
            if (!node_is_sound (member, problem))
              return FALSE;
          }
        return TRUE;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!node_is_sound (json_array_get_element (array, i), problem))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING
          && !g_utf8_validate (json_node_get_string (node), -1, NULL))
        {
          *problem = "a string that is not valid UTF-8 (a lone surrogate?)";
          return FALSE;
        }
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE
          && !isfinite (json_node_get_double (node)))
        {
          *problem = "a number too large to represent";
          return FALSE;
        }
      return TRUE;
    case JSON_NODE_NULL:
      return TRUE;
    }
  return TRUE;
}

/* The four hex digits after "\\u" at @p (@n bytes from the backslash), or
 * -1 when there are not four. */
static gint
hex4 (const char *p, gsize n)
{
  gint value = 0;

  if (n < 6)
    return -1;
  for (guint k = 2; k < 6; k++)
    {
      if (!g_ascii_isxdigit (p[k]))
        return -1;
      value = value << 4 | g_ascii_xdigit_value (p[k]);
    }
  return value;
}

/*
 * TRUE when every backslash escape in @data is one JSON allows and every
 * "\\u" escape names a character: four hex digits, a high surrogate always
 * followed by a low one, never a low one alone. json-glib 1.6 reads "\\u"
 * leniently (fewer digits, any character after them) and, on a broken
 * surrogate pair, refuses the text but leaks the string it was reading
 * (found by fuzz_ws_message in three forms), so such text never reaches
 * it. Valid JSON always passes; a backslash outside a string is invalid
 * JSON and refused here as well.
 */
static gboolean
escapes_are_sound (const char *data, gsize length)
{
  for (gsize i = 0; i < length; i++)
    {
      gint unit, low;

      if (data[i] != '\\')
        continue;
      if (i + 1 >= length || strchr ("\"\\/bfnrtu", data[i + 1]) == NULL || data[i + 1] == '\0')
        return FALSE;
      if (data[i + 1] != 'u')
        {
          i++;
          continue;
        }
      unit = hex4 (data + i, length - i);
      if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
        return FALSE;
      if (unit >= 0xD800 && unit <= 0xDBFF)
        {
          if (i + 7 >= length || data[i + 6] != '\\' || data[i + 7] != 'u')
            return FALSE;
          low = hex4 (data + i + 6, length - i - 6);
          if (low < 0xDC00 || low > 0xDFFF)
            return FALSE;
          i += 6;
        }
      i += 5;
    }
  return TRUE;
}

JsonObject *
rc_validate_parse_object (const char *data, gsize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  const char *problem = NULL;
  JsonNode *root;
  Shape shape;

  shape = text_shape (data, length);
  if (shape == SHAPE_NOT_ONE_OBJECT)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                           "Expected one JSON object");
      return NULL;
    }
  if (shape == SHAPE_BAD_CHARACTER)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                           "Malformed JSON: a character outside a string that JSON does not "
                           "allow there");
      return NULL;
    }
  if (!escapes_are_sound (data, length))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                           "Malformed JSON: an escape is not valid (\\u needs four hex digits, "
                           "surrogates come in pairs)");
      return NULL;
    }
  if (length > G_MAXSSIZE || !json_parser_load_from_data (parser, data, (gssize) length, &local))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE, "Malformed JSON: %s",
                   local ? local->message : "too long");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                           "Expected a JSON object");
      return NULL;
    }
  if (!node_is_sound (root, &problem))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE, "The message holds %s", problem);
      return NULL;
    }
  if (!integers_fit (data, length))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                           "The message holds an integer outside -2^63..2^63-1");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

gboolean
rc_validate_user_id (const char *user_id)
{
  gsize n = user_id != NULL ? strlen (user_id) : 0;

  if (n < 8 || n > 64)
    return FALSE;
  for (const char *p = user_id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

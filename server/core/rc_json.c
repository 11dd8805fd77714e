/* SPDX-License-Identifier: MIT */
/* Small json-glib conveniences shared by the REST and WebSocket layers, and the
 * readers that let the store load state written by older builds. */
#include "server/core/rc_json.h"

#include <math.h>
#include <string.h>

/*
 * The one JSON writer: every reply, broadcast, REST body and stored state goes
 * through it. json-glib's generator writes doubles as "%g" plus ".0" (so
 * -1e-300 becomes -1e-300.0 and infinity inf.0, neither JSON) and copies
 * strings as they are; here numbers are written as JSON numbers (the shortest
 * form that reads back the same; null when not finite) and strings are
 * always valid UTF-8.
 */
static void write_node (GString *out, JsonNode *node);

static void
write_string (GString *out, const char *text)
{
  const char *p = text;

  g_string_append_c (out, '"');
  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append (out, "\\ufffd"); /* not UTF-8: one byte replaced */
          p++;
          continue;
        }
      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  g_string_append_c (out, '"');
}

void
rc_json_append_double (GString *out, double value)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  /* The shortest of these that reads back as the same double. */
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buffer, sizeof buffer, formats[i], value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  g_string_append (out, buffer);
}

static void
write_value (GString *out, JsonNode *node)
{
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      rc_json_append_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      write_string (out, json_node_get_string (node));
      break;
    default:
      g_string_append (out, "null");
      break;
    }
}

/* @id, when not NULL, is written last as the member "id" (in place of any
 * "id" of @object's own). */
static void
write_object (GString *out, JsonObject *object, JsonNode *id)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (id != NULL && g_str_equal (name, "id"))
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      write_string (out, name);
      g_string_append_c (out, ':');
      write_node (out, member);
    }
  if (id != NULL)
    {
      if (!first)
        g_string_append_c (out, ',');
      g_string_append (out, "\"id\":");
      write_node (out, id);
    }
  g_string_append_c (out, '}');
}

static void
write_node (GString *out, JsonNode *node)
{
  if (node == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      write_object (out, json_node_get_object (node), NULL);
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
      }
      break;
    case JSON_NODE_VALUE:
      write_value (out, node);
      break;
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    }
}

char *
rc_json_to_string (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  write_node (out, node);
  return g_string_free (out, FALSE);
}

char *
rc_json_to_string_with_id (JsonNode *message, JsonNode *id)
{
  GString *out;

  if (id == NULL || !JSON_NODE_HOLDS_OBJECT (message))
    return rc_json_to_string (message);
  out = g_string_new (NULL);
  write_object (out, json_node_get_object (message), id);
  return g_string_free (out, FALSE);
}

JsonNode *
rc_json_message_new (const char *type, JsonObject **object_out)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  if (type != NULL)
    json_object_set_string_member (object, "type", type);
  json_node_take_object (node, object);
  if (object_out != NULL)
    *object_out = object;
  return node;
}

gboolean
rc_json_is_number (JsonNode *node)
{
  GType t;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

const char *
rc_json_get_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
rc_json_get_int (JsonObject *object, const char *name, gint64 fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !rc_json_is_number (node))
    return fallback;
  return (gint64) json_node_get_double (node);
}

double
rc_json_get_number (JsonObject *object, const char *name, double fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !rc_json_is_number (node))
    return fallback;
  return json_node_get_double (node);
}

gboolean
rc_json_get_boolean (JsonObject *object, const char *name, gboolean fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

/* ---- state stored by older builds --------------------------------------- */

static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '+' || c == '-';
}

/* One bare token (a number, true, false, null, or json-glib's inf.0): as JSON. */
static void
append_repaired_token (GString *out, const char *token, gsize len)
{
  static const char *const non_finite[] = { "inf.0", "-inf.0", "nan.0", "-nan.0" };
  const char *dot = len >= 2 ? token + len - 2 : NULL;

  for (guint i = 0; i < G_N_ELEMENTS (non_finite); i++)
    if (len == strlen (non_finite[i]) && g_ascii_strncasecmp (token, non_finite[i], len) == 0)
      {
        g_string_append (out, "null");
        return;
      }
  /* "%g" with an exponent and no point, to which json-glib appended ".0". */
  if (dot != NULL && dot[0] == '.' && dot[1] == '0' && memchr (token, '.', len - 2) == NULL
      && (memchr (token, 'e', len - 2) != NULL || memchr (token, 'E', len - 2) != NULL))
    len -= 2;
  g_string_append_len (out, token, len);
}

char *
rc_json_repair_numbers (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;

  while (*p != '\0')
    {
      if (*p == '"')
        {
          const char *start = p++;

          while (*p != '\0' && *p != '"')
            p += (p[0] == '\\' && p[1] != '\0') ? 2 : 1;
          if (*p == '"')
            p++;
          g_string_append_len (out, start, p - start);
        }
      else if (is_token_char (*p))
        {
          const char *start = p;

          while (is_token_char (*p))
            p++;
          append_repaired_token (out, start, p - start);
        }
      else
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

JsonNode *
rc_json_parse_stored (const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *repaired = rc_json_repair_numbers (text);
  JsonNode *root;

  if (!json_parser_load_from_data (parser, repaired, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "Empty text");
      return NULL;
    }
  return json_node_ref (root);
}

void
rc_json_note_bad (GPtrArray *bad, const char *name)
{
  if (bad != NULL && !g_ptr_array_find_with_equal_func (bad, name, g_str_equal, NULL))
    g_ptr_array_add (bad, g_strdup (name));
}

void
rc_json_note_bad_all (GPtrArray *bad, const char *prefix, GPtrArray *inner)
{
  for (guint i = 0; i < inner->len; i++)
    {
      g_autofree char *name = g_strconcat (prefix, (const char *) inner->pdata[i], NULL);

      rc_json_note_bad (bad, name);
    }
}

void
rc_json_warn_bad (GPtrArray *bad, const char *where_format, ...)
{
  g_autofree char *where = NULL;
  va_list args;

  if (bad->len == 0)
    return;
  va_start (args, where_format);
  where = g_strdup_vprintf (where_format, args);
  va_end (args);
  for (guint i = 0; i < bad->len; i++)
    g_warning ("%s: stored field %s is unreadable (wrong type or out of range); "
               "its default is used",
               where, (const char *) bad->pdata[i]);
}

gint64
rc_json_read_int (JsonObject *object, const char *name, gint64 min, gint64 max, gint64 fallback,
                  GPtrArray *bad)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return fallback;
  if (rc_json_is_number (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      gint64 value = json_node_get_int (node);

      if (value >= min && value <= max)
        return value;
    }
  else if (rc_json_is_number (node))
    {
      double value = json_node_get_double (node);

      /* 9.2e18 keeps the cast defined whatever @max is. */
      if (value >= (double) min && value <= (double) max && fabs (value) < 9.2e18)
        return (gint64) value;
    }
  rc_json_note_bad (bad, name);
  return fallback;
}

double
rc_json_read_number (JsonObject *object, const char *name, double min, double max,
                     double fallback, GPtrArray *bad)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return fallback;
  if (rc_json_is_number (node))
    {
      double value = json_node_get_double (node);

      if (isfinite (value) && value >= min && value <= max)
        return value;
    }
  rc_json_note_bad (bad, name);
  return fallback;
}

gboolean
rc_json_read_boolean (JsonObject *object, const char *name, gboolean fallback, GPtrArray *bad)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return fallback;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node);
  rc_json_note_bad (bad, name);
  return fallback;
}

const char *
rc_json_read_string (JsonObject *object, const char *name, GPtrArray *bad)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  rc_json_note_bad (bad, name);
  return NULL;
}

/* The member when it is a @type node; NULL when absent (quietly) or not (noted). */
static JsonNode *
read_container (JsonObject *object, const char *name, JsonNodeType type, GPtrArray *bad)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_node_type (node) == type)
    return node;
  rc_json_note_bad (bad, name);
  return NULL;
}

JsonObject *
rc_json_read_object (JsonObject *object, const char *name, GPtrArray *bad)
{
  JsonNode *node = read_container (object, name, JSON_NODE_OBJECT, bad);

  return node != NULL ? json_node_get_object (node) : NULL;
}

JsonArray *
rc_json_read_array (JsonObject *object, const char *name, GPtrArray *bad)
{
  JsonNode *node = read_container (object, name, JSON_NODE_ARRAY, bad);

  return node != NULL ? json_node_get_array (node) : NULL;
}

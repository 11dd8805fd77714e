/* SPDX-License-Identifier: MIT */
/* Small json-glib conveniences shared by the REST and WebSocket layers. */
#include "server/core/rc_json.h"

char *
rc_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
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

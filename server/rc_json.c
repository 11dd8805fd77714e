/* SPDX-License-Identifier: MIT */
/* Small json-glib conveniences shared by the REST and WebSocket layers. */
#include "rc_json.h"

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

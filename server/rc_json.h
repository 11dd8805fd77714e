/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Compact serialisation of a node (objects, arrays or values). */
char *rc_json_to_string (JsonNode *node);

/* A new object node for building messages: rc_json_object_new ("chat"). */
JsonNode *rc_json_message_new (const char *type, JsonObject **object_out);

G_END_DECLS

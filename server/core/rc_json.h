/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Compact serialisation of a node (objects, arrays or values): always valid
 * JSON and UTF-8 (non-finite numbers become null). Every JSON the server
 * writes goes through this, never through json-glib's generator. */
char *rc_json_to_string (JsonNode *node);
/* Appends @value as a JSON number (null when not finite). */
void rc_json_append_double (GString *out, double value);

/* A new object node for building messages: rc_json_object_new ("chat"). */
JsonNode *rc_json_message_new (const char *type, JsonObject **object_out);

/* TRUE for a JSON number (integer or not). */
gboolean rc_json_is_number (JsonNode *node);

/* Convenience accessors for validated objects: NULL / default when absent or null. */
const char *rc_json_get_string (JsonObject *object, const char *name);
gint64 rc_json_get_int (JsonObject *object, const char *name, gint64 fallback);
double rc_json_get_number (JsonObject *object, const char *name, double fallback);
gboolean rc_json_get_boolean (JsonObject *object, const char *name, gboolean fallback);

G_END_DECLS

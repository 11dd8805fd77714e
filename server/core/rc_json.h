/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Compact serialisation of a node (objects, arrays or values): always valid
 * JSON and UTF-8 (non-finite numbers become null). Every JSON the server
 * writes goes through this, never through json-glib's generator. */
char *rc_json_to_string (JsonNode *node);
/* @message (an object) as text with @id as its member "id", written last
 * (replacing an "id" of its own); @message is not touched, so a shared
 * message (a broadcast, stored chat) can be a reply. @id NULL: as above. */
char *rc_json_to_string_with_id (JsonNode *message, JsonNode *id);
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

/*
 * Reading state an older build stored. Those builds wrote some numbers in
 * json-glib's own spelling, which is not JSON: ".0" after an exponent
 * ("-1e-300.0") and non-finite values ("inf.0", "-inf.0", "nan.0").
 * rc_json_repair_numbers returns a copy of @text with those rewritten as JSON
 * ("-1e-300", null); strings in it are left alone, valid JSON is unchanged.
 * rc_json_parse_stored repairs and parses (NULL with @error when still not JSON).
 */
char *rc_json_repair_numbers (const char *text);
JsonNode *rc_json_parse_stored (const char *text, GError **error);

/*
 * Typed readers for stored objects, one field at a time. An absent member
 * (or null, for strings) gives the fallback quietly; a member that is there
 * with the wrong type or out of [min, max] gives the fallback too and its
 * name is added to @bad (once; @bad holds owned strings, may be NULL).
 */
gint64 rc_json_read_int (JsonObject *object, const char *name, gint64 min, gint64 max,
                         gint64 fallback, GPtrArray *bad);
double rc_json_read_number (JsonObject *object, const char *name, double min, double max,
                            double fallback, GPtrArray *bad);
gboolean rc_json_read_boolean (JsonObject *object, const char *name, gboolean fallback,
                               GPtrArray *bad);
const char *rc_json_read_string (JsonObject *object, const char *name, GPtrArray *bad);
JsonObject *rc_json_read_object (JsonObject *object, const char *name, GPtrArray *bad);
JsonArray *rc_json_read_array (JsonObject *object, const char *name, GPtrArray *bad);
/* Adds @name to @bad unless it is there already. */
void rc_json_note_bad (GPtrArray *bad, const char *name);
/* Adds each of @inner's names to @bad, prefixed ("mix." + "duckDb"). */
void rc_json_note_bad_all (GPtrArray *bad, const char *prefix, GPtrArray *inner);
/* One warning per name in @bad: "WHERE: stored field NAME is unreadable ...",
 * WHERE from the printf-style @where_format; nothing when @bad is empty. */
void rc_json_warn_bad (GPtrArray *bad, const char *where_format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS

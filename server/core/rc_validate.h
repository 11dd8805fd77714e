/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

#include "server/core/rc_json.h"

G_BEGIN_DECLS

/*
 * Parameter tables: every message or REST body that comes from the network is
 * checked once, here, against a static table of (name, JSON type, required,
 * bounds) before any handler reads it. Handlers then read fields without
 * re-checking types.
 */
typedef enum
{
  RC_PARAM_STRING,  /* bounds: length in characters (after nothing: raw) */
  RC_PARAM_INT,     /* bounds: value; JSON numbers with a fraction are refused */
  RC_PARAM_NUMBER,  /* bounds: value (integer bounds applied to a double) */
  RC_PARAM_BOOLEAN,
  RC_PARAM_OBJECT,
  RC_PARAM_ARRAY,   /* bounds: number of elements */
  RC_PARAM_ANY,     /* any JSON value except null (e.g. request ids) */
} RcParamType;

typedef struct
{
  const char *name;
  RcParamType type;
  gboolean required;
  gint64 min; /* inclusive; ignored when min == max == 0 */
  gint64 max;
} RcParam;

#define RC_PARAMS_END { NULL, 0, FALSE, 0, 0 }

/*
 * Checks @object against @params (terminated by RC_PARAMS_END). Members not in
 * the table are ignored. A JSON null counts as absent. On failure sets
 * RC_ERROR_INVALID_PARAM with a message naming the field.
 */
gboolean rc_validate_object (JsonObject *object, const RcParam *params, GError **error);

/* Parses @data as JSON and requires an object whose strings are UTF-8 and
 * whose numbers are finite and, for integers, within 64 bits.
 * RC_ERROR_INVALID_MESSAGE otherwise. */
JsonObject *rc_validate_parse_object (const char *data, gsize length, GError **error);

/* A client's stable userId: 8-64 characters of [A-Za-z0-9_-]. */
gboolean rc_validate_user_id (const char *user_id);

G_END_DECLS

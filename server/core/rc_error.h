/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * One table of numbered error codes for REST bodies and WebSocket `error`
 * messages alike. The numbers are part of the protocol (docs/protocol.md):
 * never renumber, only append. Ranges: 4000-4099 bad requests, 4100-4199
 * authentication and permission, 4200-4299 room and resource state,
 * 4300-4399 limits, 5000+ server side.
 */
typedef enum
{
  RC_ERROR_INVALID_MESSAGE = 4000,
  RC_ERROR_UNKNOWN_TYPE = 4001,
  RC_ERROR_INVALID_PARAM = 4002,
  RC_ERROR_UNSUPPORTED_MEDIA_TYPE = 4003,
  RC_ERROR_UNSUPPORTED_OFFER = 4004,
  RC_ERROR_BAD_PAGE = 4005,

  RC_ERROR_UNAUTHORIZED = 4100,
  RC_ERROR_WRONG_PASSWORD = 4101,
  RC_ERROR_NOT_OWNER = 4102,
  /* Telegram Mini App sign-in (join's telegramInitData): 4110-4119. */
  RC_ERROR_TELEGRAM_AUTH_MALFORMED = 4110,
  RC_ERROR_TELEGRAM_AUTH_BAD_SIGNATURE = 4111,
  RC_ERROR_TELEGRAM_AUTH_EXPIRED = 4112,
  RC_ERROR_TELEGRAM_AUTH_OFF = 4113,

  RC_ERROR_NOT_FOUND = 4200,
  RC_ERROR_NOT_IN_ROOM = 4201,
  RC_ERROR_ALREADY_IN_ROOM = 4202,
  RC_ERROR_ROOM_FULL = 4203,
  RC_ERROR_METHOD_NOT_ALLOWED = 4204,
  RC_ERROR_NOTHING_PLAYING = 4205,
  RC_ERROR_NO_MEDIA = 4206,
  RC_ERROR_ALREADY_LIVE = 4207,
  /* A cluster (server/cluster/): another node serves the room. */
  RC_ERROR_ROOM_ELSEWHERE = 4208,
  /* A cluster: this node holds --max-listeners guests; go to another. */
  RC_ERROR_NODE_FULL = 4209,

  /* URL songs fetched into the server's cache (server/library/rc_url_cache.c). */
  RC_ERROR_URL_FETCH_FAILED = 4210,
  RC_ERROR_URL_NOT_AUDIO = 4211,

  RC_ERROR_RATE_LIMITED = 4300,
  RC_ERROR_TOO_LARGE = 4301,
  RC_ERROR_TOO_MANY_ROOMS = 4302,
  RC_ERROR_QUEUE_FULL = 4303,
  RC_ERROR_TOO_MANY_KEYS = 4304,
  RC_ERROR_TOO_MANY_PUBLISHERS = 4305,
  RC_ERROR_TOO_SLOW = 4306,

  /* URL songs fetched into the server's cache (server/library/rc_url_cache.c). */
  RC_ERROR_URL_TOO_LARGE = 4310,

  RC_ERROR_INTERNAL = 5000,
  RC_ERROR_STORE_UNAVAILABLE = 5001,
  RC_ERROR_MEDIA_FAILED = 5002,
  /* A cluster: the room's node stopped answering and its lease has not expired yet. */
  RC_ERROR_ROOM_MOVING = 5003,
} RcErrorCode;

#define RC_ERROR (rc_error_quark ())
GQuark rc_error_quark (void);

typedef struct
{
  RcErrorCode code;
  guint http_status;
  const char *name;    /* stable snake_case name, e.g. "room_full" */
  const char *message; /* default human message */
} RcErrorInfo;

/* The whole table, in code order, terminated by an entry with code 0. */
const RcErrorInfo *rc_error_table (void);

/* Lookup; unknown codes map to the RC_ERROR_INTERNAL entry. */
const RcErrorInfo *rc_error_info (int code);

guint rc_error_http_status (int code);
const char *rc_error_name (int code);
const char *rc_error_default_message (int code);

/* Sets @error to (RC_ERROR, code) with the table's default message. */
void rc_error_set (GError **error, RcErrorCode code);

/*
 * Builds `{"type":"error","code","message","id"?}`. @request_id, when not
 * NULL, is the JSON node of the request's `id` field and is copied as-is.
 */
JsonNode *rc_error_to_json (int code, const char *message, JsonNode *request_id);

/* The wire code for @error: RC_ERROR's own code, pipelines/' RC_MEDIA_ERROR
 * mapped to its code, anything else RC_ERROR_INTERNAL. */
int rc_error_code_of (const GError *error);
/* TRUE when @error's message is meant for the client (RC_ERROR and
 * RC_MEDIA_ERROR); other domains' messages stay in the log. */
gboolean rc_error_is_told (const GError *error);

/* Same for a GError from any domain (RC_ERROR and RC_MEDIA_ERROR keep their
 * message; others become internal). */
JsonNode *rc_error_from_gerror (const GError *error, JsonNode *request_id);

G_END_DECLS

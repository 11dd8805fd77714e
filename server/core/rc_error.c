/* SPDX-License-Identifier: MIT */
/*
 * The error table. REST handlers turn a code into an HTTP status plus a JSON
 * body; the signalling layer turns it into an `error` message. Both read this
 * single table so a code means the same thing on every transport.
 */
#include "server/core/rc_error.h"
#include "pipelines/rc_media_error.h"

G_DEFINE_QUARK (roomcast-error-quark, rc_error)

static const RcErrorInfo error_table[] = {
  { RC_ERROR_INVALID_MESSAGE, 400, "invalid_message", "Message is not a JSON object with a string \"type\"" },
  { RC_ERROR_UNKNOWN_TYPE, 400, "unknown_type", "Unknown message type" },
  { RC_ERROR_INVALID_PARAM, 400, "invalid_param", "A parameter is missing, of the wrong type or out of range" },
  { RC_ERROR_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type", "The body is not of a type this endpoint takes" },
  { RC_ERROR_UNSUPPORTED_OFFER, 422, "unsupported_offer", "The offer has no audio this server can take (Opus)" },
  { RC_ERROR_BAD_PAGE, 400, "bad_page", "The page starts past the end of the list" },
  { RC_ERROR_UNAUTHORIZED, 401, "unauthorized", "Missing or invalid credentials" },
  { RC_ERROR_WRONG_PASSWORD, 403, "wrong_password", "Wrong room password" },
  { RC_ERROR_NOT_OWNER, 403, "not_owner", "Only the room owner may do this" },
  { RC_ERROR_TELEGRAM_AUTH_MALFORMED, 401, "telegram_auth_malformed", "The Telegram sign-in data is not what Telegram sends" },
  { RC_ERROR_TELEGRAM_AUTH_BAD_SIGNATURE, 401, "telegram_auth_bad_signature", "The Telegram sign-in data is not signed for this server's bot" },
  { RC_ERROR_TELEGRAM_AUTH_EXPIRED, 401, "telegram_auth_expired", "The Telegram sign-in data is too old; open the Mini App again" },
  { RC_ERROR_TELEGRAM_AUTH_OFF, 401, "telegram_auth_off", "This server has no Telegram bot to check the sign-in with" },
  { RC_ERROR_NOT_FOUND, 404, "not_found", "Not found" },
  { RC_ERROR_NOT_IN_ROOM, 409, "not_in_room", "Join a room first" },
  { RC_ERROR_ALREADY_IN_ROOM, 409, "already_in_room", "Already in a room; leave it first" },
  { RC_ERROR_ROOM_FULL, 409, "room_full", "The room is full" },
  { RC_ERROR_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "Method not allowed" },
  { RC_ERROR_NOTHING_PLAYING, 409, "nothing_playing", "No song is playing" },
  { RC_ERROR_NO_MEDIA, 409, "no_media", "No media session; send startMedia first" },
  { RC_ERROR_ALREADY_LIVE, 409, "already_live", "A host is already live in this room" },
  { RC_ERROR_ROOM_ELSEWHERE, 421, "room_elsewhere", "Another node of the cluster serves this room: go to nodeUrl" },
  { RC_ERROR_NODE_FULL, 503, "node_full", "This node is full: join through nodeUrl" },
  /* URL songs fetched into the server's cache. */
  { RC_ERROR_URL_FETCH_FAILED, 502, "url_fetch_failed", "The song could not be fetched from its URL" },
  { RC_ERROR_URL_NOT_AUDIO, 415, "url_not_audio", "The URL does not serve an audio file" },
  { RC_ERROR_RATE_LIMITED, 429, "rate_limited", "Too many requests; slow down" },
  { RC_ERROR_TOO_LARGE, 413, "too_large", "Message too large" },
  { RC_ERROR_TOO_MANY_ROOMS, 503, "too_many_rooms", "The server has reached its room limit" },
  { RC_ERROR_QUEUE_FULL, 409, "queue_full", "The queue is full" },
  { RC_ERROR_TOO_MANY_KEYS, 409, "too_many_keys", "The room has its maximum of publish keys" },
  { RC_ERROR_TOO_MANY_PUBLISHERS, 503, "too_many_publishers", "The server has reached its limit of live hosts" },
  { RC_ERROR_TOO_SLOW, 409, "too_slow", "The connection could not keep up with the audio; it was stopped" },
  /* URL songs fetched into the server's cache. */
  { RC_ERROR_URL_TOO_LARGE, 413, "url_too_large", "The song is larger than the server's song cache" },
  { RC_ERROR_INTERNAL, 500, "internal", "Internal server error" },
  { RC_ERROR_STORE_UNAVAILABLE, 503, "store_unavailable", "The store is unavailable" },
  { RC_ERROR_MEDIA_FAILED, 500, "media_failed", "Audio could not be started" },
  { RC_ERROR_ROOM_MOVING, 503, "room_moving", "The room's node stopped answering; another takes it within seconds, try again" },
  { 0, 0, NULL, NULL },
};

const RcErrorInfo *
rc_error_table (void)
{
  return error_table;
}

const RcErrorInfo *
rc_error_info (int code)
{
  const RcErrorInfo *internal = NULL;

  for (const RcErrorInfo *e = error_table; e->code != 0; e++)
    {
      if ((int) e->code == code)
        return e;
      if (e->code == RC_ERROR_INTERNAL)
        internal = e;
    }
  return internal;
}

guint
rc_error_http_status (int code)
{
  return rc_error_info (code)->http_status;
}

const char *
rc_error_name (int code)
{
  return rc_error_info (code)->name;
}

const char *
rc_error_default_message (int code)
{
  return rc_error_info (code)->message;
}

void
rc_error_set (GError **error, RcErrorCode code)
{
  g_set_error_literal (error, RC_ERROR, code, rc_error_default_message (code));
}

JsonNode *
rc_error_to_json (int code, const char *message, JsonNode *request_id)
{
  const RcErrorInfo *info = rc_error_info (code);
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "error");
  json_builder_set_member_name (b, "code");
  json_builder_add_int_value (b, info->code);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message ? message : info->message);
  if (request_id != NULL)
    {
      json_builder_set_member_name (b, "id");
      json_builder_add_value (b, json_node_copy (request_id));
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

int
rc_error_code_of (const GError *error)
{
  if (error == NULL)
    return RC_ERROR_INTERNAL;
  if (error->domain == RC_ERROR)
    return error->code;
  if (error->domain == RC_MEDIA_ERROR)
    switch ((RcMediaErrorCode) error->code)
      {
      case RC_MEDIA_ERROR_INVALID:
        return RC_ERROR_INVALID_PARAM;
      case RC_MEDIA_ERROR_UNSUPPORTED_OFFER:
        return RC_ERROR_UNSUPPORTED_OFFER;
      case RC_MEDIA_ERROR_FAILED:
        return RC_ERROR_MEDIA_FAILED;
      }
  return RC_ERROR_INTERNAL;
}

gboolean
rc_error_is_told (const GError *error)
{
  return error != NULL && (error->domain == RC_ERROR || error->domain == RC_MEDIA_ERROR);
}

JsonNode *
rc_error_from_gerror (const GError *error, JsonNode *request_id)
{
  if (rc_error_is_told (error))
    return rc_error_to_json (rc_error_code_of (error), error->message, request_id);
  return rc_error_to_json (RC_ERROR_INTERNAL, NULL, request_id);
}

/* SPDX-License-Identifier: MIT */
/*
 * Live-host settings over /ws. The owner chooses how a host's audio meets
 * the queue (setMixPolicy); every guest learns it from a mixPolicy message,
 * and a host on air hears the change at once (rc_live_policy_changed).
 */
#include "signalling/rc_session-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_live.h"

static const RcParam mix_params[] = {
  { "mode", RC_PARAM_STRING, TRUE, 1, 16 },
  { "duckDb", RC_PARAM_NUMBER, FALSE, (gint64) RC_MIX_DUCK_MIN_DB, 0 },
  { "thresholdDb", RC_PARAM_NUMBER, FALSE, (gint64) RC_MIX_THRESHOLD_MIN_DB, 0 },
  RC_PARAMS_END,
};

JsonNode *
rc_handlers_mix_policy_message (RcRoom *room)
{
  g_autoptr (JsonNode) policy = rc_mix_policy_to_json (rc_room_get_mix_policy (room));
  JsonNode *message = json_node_copy (policy);

  json_object_set_string_member (json_node_get_object (message), "type", "mixPolicy");
  return message;
}

static gboolean
handle_set_mix_policy (RcSession *session, JsonObject *request, JsonNode *request_id,
                       GError **error)
{
  RcRoom *room = session->guest->room;
  RcMixPolicy policy = *rc_room_get_mix_policy (room);
  g_autoptr (JsonNode) message = NULL;

  if (!session->guest->is_owner)
    {
      rc_error_set (error, RC_ERROR_NOT_OWNER);
      return FALSE;
    }
  if (!rc_mix_mode_from_string (rc_json_get_string (request, "mode"), &policy.mode))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"mode\" must be \"takeover\" or \"talkover\"");
      return FALSE;
    }
  policy.duck_db = rc_json_get_number (request, "duckDb", policy.duck_db);
  policy.threshold_db = rc_json_get_number (request, "thresholdDb", policy.threshold_db);
  rc_room_set_mix_policy (room, &policy);
  rc_live_policy_changed (room);
  message = rc_handlers_mix_policy_message (room);
  rc_room_broadcast (room, message, session->guest);
  rc_session_reply (session, message, request_id);
  return TRUE;
}

const RcHandler rc_live_handlers[] = {
  { "setMixPolicy", mix_params, TRUE, FALSE, handle_set_mix_policy },
  { NULL },
};

/* SPDX-License-Identifier: MIT */
/*
 * The mix policy's names and JSON, apart from the room that keeps it: the
 * REST API, the WebSocket handlers and the stored state all spell it the
 * same way through here.
 */
#include "server/rooms/rc_mix_policy.h"
#include "server/core/rc_json.h"

const char *
rc_mix_mode_to_string (RcMixMode mode)
{
  return mode == RC_MIX_TALKOVER ? "talkover" : "takeover";
}

gboolean
rc_mix_mode_from_string (const char *text, RcMixMode *mode)
{
  if (g_strcmp0 (text, "takeover") == 0)
    *mode = RC_MIX_TAKEOVER;
  else if (g_strcmp0 (text, "talkover") == 0)
    *mode = RC_MIX_TALKOVER;
  else
    return FALSE;
  return TRUE;
}

JsonNode *
rc_mix_policy_to_json (const RcMixPolicy *policy)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_string_member (o, "mode", rc_mix_mode_to_string (policy->mode));
  json_object_set_double_member (o, "duckDb", policy->duck_db);
  json_object_set_double_member (o, "thresholdDb", policy->threshold_db);
  return node;
}

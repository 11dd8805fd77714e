/* SPDX-License-Identifier: MIT */
/*
 * Clock requests. timeSync is one NTP-style exchange: the guest sends its
 * own send time t0, the server answers with t0 and its clock at receive
 * (t1) and at send (t2), and the guest notes its receive time t3. Offset
 * and round trip follow from the four; the guest filters many exchanges.
 * Times on the server side are the server clock (rc_clock.h), in ms.
 */
#include "rc_session-private.h"
#include "rc_clock.h"
#include "rc_json.h"

JsonNode *
rc_handlers_clock_json (RcSession *session)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_int_member (o, "port",
                              session->host->clock ? rc_clock_get_port (session->host->clock) : 0);
  json_object_set_double_member (o, "now", rc_clock_now_ms ());
  return node;
}

static const RcParam time_sync_params[] = {
  { "t0", RC_PARAM_NUMBER, TRUE, -1000000000000000, 1000000000000000 },
  RC_PARAMS_END,
};

static gboolean
handle_time_sync (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  double t1 = session->received_ms > 0 ? session->received_ms : rc_clock_now_ms ();
  JsonObject *o;
  g_autoptr (JsonNode) reply = rc_json_message_new ("timeSync", &o);

  json_object_set_double_member (o, "t0", rc_json_get_number (request, "t0", 0));
  json_object_set_double_member (o, "t1", t1);
  json_object_set_double_member (o, "t2", rc_clock_now_ms ());
  rc_session_reply (session, reply, request_id);
  return TRUE;
}

const RcHandler rc_sync_handlers[] = {
  { "timeSync", time_sync_params, FALSE, FALSE, handle_time_sync },
  { NULL },
};

/* SPDX-License-Identifier: MIT */
/*
 * Clock requests. timeSync is one NTP-style exchange: the guest sends its
 * own send time t0, the server answers with t0 and its clock at receive
 * (t1) and at send (t2), and the guest notes its receive time t3. Offset
 * and round trip follow from the four; the guest filters many exchanges.
 * Times on the server side are the server clock (rc_clock.h), in ms.
 */
#include "signalling/rc_session-private.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"

JsonNode *
rc_handlers_clock_json (RcSession *session)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_int_member (o, "port",
                              session->host->clock ? rc_clock_get_port (session->host->clock) : 0);
  json_object_set_double_member (o, "now", rc_clock_now_ms ());
  /* A guest of another node: the clock is this node's, on this node's host. */
  if (session->remote_node != NULL)
    {
      RcCluster *cluster = rc_registry_get_cluster (session->host->registry);
      const char *url = cluster != NULL ? rc_cluster_get_node_url (cluster) : NULL;
      g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

      if (uri != NULL && g_uri_get_host (uri) != NULL)
        json_object_set_string_member (o, "host", g_uri_get_host (uri));
    }
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

static const RcParam sync_report_params[] = {
  { "transport", RC_PARAM_STRING, TRUE, 1, 16 },
  { "error", RC_PARAM_NUMBER, TRUE, -10000, 10000 },
  { "arrival", RC_PARAM_NUMBER, TRUE, -10000, 10000 },
  { "jitter", RC_PARAM_NUMBER, TRUE, 0, 10000 },
  { "latencyOffset", RC_PARAM_NUMBER, FALSE, -10000, 10000 },
  { "underruns", RC_PARAM_INT, FALSE, 0, G_MAXINT32 },
  RC_PARAMS_END,
};

static gboolean
handle_sync_report (RcSession *session, JsonObject *request, JsonNode *request_id,
                    GError **error)
{
  const char *transport = rc_json_get_string (request, "transport");
  RcSyncReport report = { 0 };

  if (!g_str_equal (transport, "webrtc") && !g_str_equal (transport, "ws")
      && !g_str_equal (transport, "native"))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"transport\" must be \"webrtc\", \"ws\" or \"native\"");
      return FALSE;
    }
  g_strlcpy (report.transport, transport, sizeof report.transport);
  report.error = rc_json_get_number (request, "error", 0);
  report.arrival = rc_json_get_number (request, "arrival", 0);
  report.jitter = rc_json_get_number (request, "jitter", 0);
  report.latency_offset = rc_json_get_number (request, "latencyOffset", 0);
  report.underruns = rc_json_get_int (request, "underruns", 0);
  rc_sync_report (rc_room_get_sync (session->guest->room), session->guest, &report);
  return TRUE;
}

const RcHandler rc_sync_handlers[] = {
  { "timeSync", time_sync_params, FALSE, FALSE, handle_time_sync },
  { "syncReport", sync_report_params, TRUE, FALSE, handle_sync_report },
  { NULL },
};

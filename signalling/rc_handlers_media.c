/* SPDX-License-Identifier: MIT */
/*
 * Audio requests: startMedia, answer, ice, stopMedia. The guest's session
 * itself is the room's (server/rooms/rc_guest_media.c: its branch or
 * WebSocket frames, its timeline, its end); this file checks the requests,
 * calls it and turns its callbacks and GErrors into replies.
 *
 * The offer is the reply to startMedia but arrives later, from the branch:
 * the request's id is kept in the session's callback data until then.
 * Everything here runs on the main context, the callbacks included.
 */
#include "signalling/rc_session-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"

#include <string.h>

/* What the guest's session needs to reach the guest; it lives as long as
 * the session. */
typedef struct
{
  RcSession *session;   /* borrowed: owns the guest, which outlives its session */
  JsonNode *request_id; /* startMedia's id until the session has started */
} MediaReplies;

static void
media_replies_free (gpointer data)
{
  MediaReplies *replies = data;

  g_clear_pointer (&replies->request_id, json_node_unref);
  g_free (replies);
}

static void
on_started (RcGuest *guest, const char *sdp, gpointer data)
{
  MediaReplies *replies = data;
  JsonObject *o;
  g_autoptr (JsonNode) reply = rc_json_message_new (sdp != NULL ? "offer" : "mediaStarted", &o);
  g_autoptr (JsonNode) request_id = g_steal_pointer (&replies->request_id);

  if (sdp != NULL)
    json_object_set_string_member (o, "sdp", sdp);
  else
    json_object_set_string_member (o, "transport", "ws");
  rc_session_reply (replies->session, reply, request_id);
}

static void
on_ice (RcGuest *guest, guint mline_index, const char *candidate, gpointer data)
{
  MediaReplies *replies = data;
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("ice", &o);

  json_object_set_string_member (o, "candidate", candidate);
  json_object_set_int_member (o, "sdpMLineIndex", mline_index);
  rc_session_send (replies->session, message);
}

static void
on_failed (RcGuest *guest, const char *reason, int code, gpointer data)
{
  MediaReplies *replies = data;
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("mediaStopped", &o);
  /* Failing before the offer: this is startMedia's answer. */
  g_autoptr (JsonNode) request_id = g_steal_pointer (&replies->request_id);

  if (code == RC_ERROR_TOO_SLOW)
    {
      /* Told with its code, so a client knows to come back (with backoff). */
      json_object_set_string_member (o, "reason", reason);
      json_object_set_int_member (o, "code", code);
      json_object_set_string_member (o, "message", rc_error_default_message (code));
    }
  else
    json_object_set_string_member (o, "reason", "failed");
  rc_session_reply (replies->session, message, request_id);
}

static const RcGuestMediaCallbacks media_callbacks = {
  .started = on_started,
  .ice = on_ice,
  .failed = on_failed,
};

static RcGuestMedia *
media_of (RcSession *session, GError **error)
{
  RcGuest *guest = session->guest;
  RcGuestMedia *media = guest->room != NULL ? rc_room_get_media (guest->room, guest) : NULL;

  if (media == NULL)
    rc_error_set (error, RC_ERROR_NO_MEDIA);
  return media;
}

static const RcParam start_media_params[] = {
  { "transport", RC_PARAM_STRING, TRUE, 1, 64 },
  RC_PARAMS_END,
};

/* A relayed startMedia's "edge" (set by the guest's node, never by a guest:
 * that node strips a guest's own, signalling/rc_session_relay.c): where
 * that node takes the room's packets. FALSE when it is missing or wrong. */
static gboolean
read_edge (JsonObject *request, RcGuestMediaEdge *edge)
{
  JsonNode *node = json_object_get_member (request, "edge");
  JsonObject *o;
  const char *token;
  guint64 value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  o = json_node_get_object (node);
  edge->address = rc_json_get_string (o, "address");
  edge->port = (guint) CLAMP (rc_json_get_int (o, "port", 0), 0, 65536);
  token = rc_json_get_string (o, "token");
  if (edge->address == NULL || !g_hostname_is_ip_address (edge->address) || edge->port == 0
      || edge->port > 65535 || token == NULL || strlen (token) != 16
      || !g_ascii_string_to_unsigned (token, 16, 0, G_MAXUINT64, &value, NULL))
    return FALSE;
  edge->token = value;
  return TRUE;
}

static gboolean
handle_start_media (RcSession *session, JsonObject *request, JsonNode *request_id,
                    GError **error)
{
  RcGuest *guest = session->guest;
  const char *transport = rc_json_get_string (request, "transport");
  gboolean ws = g_str_equal (transport, "ws");
  RcGuestMediaEdge edge = { 0 };
  gboolean from_edge = FALSE;
  MediaReplies *replies;

  if (!ws && !g_str_equal (transport, "webrtc"))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"transport\" must be \"webrtc\" or \"ws\"");
      return FALSE;
    }
  /* WebSocket audio is not carried over Redis (far too heavy): a guest of
   * another node gets it from its own node, an edge this node feeds, or
   * (when that node cannot be one) fetches it from this node itself. A
   * WebRTC guest of another node gets it from that node's engine when that
   * node is an edge (this node starts it as an edge's, and that node makes
   * the offer), else from this node's engine. */
  if (session->remote_node != NULL)
    from_edge = read_edge (request, &edge);
  if (ws && session->remote_node != NULL && !from_edge)
    {
      RcCluster *cluster = rc_registry_get_cluster (session->host->registry);
      g_autoptr (GError) elsewhere =
        g_error_new_literal (RC_ERROR, RC_ERROR_ROOM_ELSEWHERE,
                             "WebSocket audio comes from the room's node: connect there for it "
                             "(WebRTC works through any node)");

      rc_session_reply_error_at (session, elsewhere, request_id,
                                 cluster != NULL ? rc_cluster_get_node_url (cluster) : NULL);
      return TRUE;
    }
  replies = g_new0 (MediaReplies, 1);
  replies->session = session;
  if (request_id != NULL)
    replies->request_id = json_node_copy (request_id);
  return rc_room_start_media (guest->room, guest,
                              from_edge ? RC_GUEST_MEDIA_EDGE
                              : ws      ? RC_GUEST_MEDIA_WS
                                        : RC_GUEST_MEDIA_WEBRTC,
                              from_edge ? &edge : NULL, &media_callbacks, replies,
                              media_replies_free, error)
         != NULL;
}

static const RcParam answer_params[] = {
  { "sdp", RC_PARAM_STRING, TRUE, 1, 16384 },
  RC_PARAMS_END,
};

static gboolean
handle_answer (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcGuestMedia *media = media_of (session, error);

  return media != NULL
         && rc_guest_media_set_answer (media, rc_json_get_string (request, "sdp"), error);
}

static const RcParam ice_params[] = {
  { "candidate", RC_PARAM_STRING, FALSE, 0, 1024 },
  { "sdpMLineIndex", RC_PARAM_INT, FALSE, 0, 15 },
  RC_PARAMS_END,
};

static gboolean
handle_ice (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcGuestMedia *media = media_of (session, error);

  return media != NULL
         && rc_guest_media_add_ice (media, (guint) rc_json_get_int (request, "sdpMLineIndex", 0),
                                    rc_json_get_string (request, "candidate"), error);
}

static gboolean
handle_stop_media (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  JsonObject *o;
  g_autoptr (JsonNode) reply = rc_json_message_new ("mediaStopped", &o);

  if (session->guest->room != NULL)
    rc_room_stop_media (session->guest->room, session->guest);
  json_object_set_string_member (o, "reason", "stopped");
  rc_session_reply (session, reply, request_id);
  return TRUE;
}

const RcHandler rc_media_handlers[] = {
  { "startMedia", start_media_params, TRUE, FALSE, handle_start_media },
  { "answer", answer_params, TRUE, FALSE, handle_answer },
  { "ice", ice_params, TRUE, FALSE, handle_ice },
  { "stopMedia", NULL, TRUE, FALSE, handle_stop_media },
  { NULL },
};

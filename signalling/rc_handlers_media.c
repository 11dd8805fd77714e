/* SPDX-License-Identifier: MIT */
/*
 * Audio requests: startMedia, answer, ice, stopMedia. A guest's media
 * session is an RcWebrtcBranch on the room's pipeline (transport webrtc), or
 * a place among the room's WebSocket listeners (transport ws, see
 * server/rc_sync.c); either way it gets the room's timeline. It hangs on
 * RcGuest.media so that the room ends it (media_free) whenever the guest
 * leaves, is dropped or the room is deleted, and it holds the room's
 * pipeline (rc_room_acquire_pipeline) for as long as it lives.
 *
 * The offer is the reply to startMedia but arrives later, from the branch:
 * the request's id is kept until then. Everything here runs on the main
 * context, the branch's callbacks included.
 */
#include "signalling/rc_session-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "pipelines/rc_webrtc_branch.h"

typedef struct
{
  RcSession *session; /* borrowed: owns the guest, which owns this */
  RcGuest *guest;     /* borrowed */
  RcRoom *room;       /* strong, for giving the pipeline back */
  RcWebrtcBranch *branch; /* webrtc */
  gboolean ws;             /* ws */
  JsonNode *request_id; /* startMedia's id until the offer has gone out */
} RcMedia;

static void
media_free (gpointer data)
{
  RcMedia *media = data;

  g_clear_pointer (&media->branch, rc_webrtc_branch_free);
  if (media->ws)
    rc_sync_remove_ws_listener (rc_room_get_sync (media->room), media->guest);
  rc_room_release_pipeline (media->room);
  rc_room_unref (media->room);
  g_clear_pointer (&media->request_id, json_node_unref);
  g_free (media);
}

/* Ends the guest's session, if it has one, without a word to the guest. */
static void
end_media (RcGuest *guest)
{
  if (guest->media != NULL)
    guest->media_free (g_steal_pointer (&guest->media));
}

static RcMedia *
media_of (RcSession *session, GError **error)
{
  RcMedia *media = session->guest->media;

  if (media == NULL || session->guest->media_free != media_free)
    {
      rc_error_set (error, RC_ERROR_NO_MEDIA);
      return NULL;
    }
  return media;
}

static void
on_offer (RcWebrtcBranch *branch, const char *sdp, gpointer data)
{
  RcMedia *media = data;
  JsonObject *o;
  g_autoptr (JsonNode) reply = rc_json_message_new ("offer", &o);
  g_autoptr (JsonNode) request_id = g_steal_pointer (&media->request_id);

  json_object_set_string_member (o, "sdp", sdp);
  rc_session_reply (media->session, reply, request_id);
  rc_sync_send_timeline (rc_room_get_sync (media->room), media->guest);
}

static void
on_ice (RcWebrtcBranch *branch, guint mline_index, const char *candidate, gpointer data)
{
  RcMedia *media = data;
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("ice", &o);

  json_object_set_string_member (o, "candidate", candidate);
  json_object_set_int_member (o, "sdpMLineIndex", mline_index);
  rc_session_send (media->session, message);
}

static void
on_failed (RcWebrtcBranch *branch, const char *reason, gpointer data)
{
  RcMedia *media = data;
  RcGuest *guest = media->guest;
  RcSession *session = media->session;
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("mediaStopped", &o);
  /* Failing before the offer: this is startMedia's answer. */
  g_autoptr (JsonNode) request_id = g_steal_pointer (&media->request_id);

  g_message ("Room %s: audio for guest %s failed: %s", rc_room_get_id (media->room), guest->id,
             reason);
  json_object_set_string_member (o, "reason", "failed");
  end_media (guest); /* frees @media */
  rc_session_reply (session, message, request_id);
}

static const RcWebrtcBranchCallbacks branch_callbacks = {
  .offer = on_offer,
  .ice = on_ice,
  .failed = on_failed,
};

/* The WebSocket transport: frames start at once, then the timeline. */
static gboolean
start_ws (RcMedia *media, JsonNode *request_id, GError **error)
{
  RcGuest *guest = media->guest;
  JsonObject *o;
  g_autoptr (JsonNode) reply = NULL;

  if (!rc_sync_add_ws_listener (rc_room_get_sync (media->room), guest, error))
    {
      media_free (media);
      return FALSE;
    }
  media->ws = TRUE;
  guest->media = media;
  guest->media_free = media_free;
  reply = rc_json_message_new ("mediaStarted", &o);
  json_object_set_string_member (o, "transport", "ws");
  rc_session_reply (media->session, reply, request_id);
  rc_sync_send_timeline (rc_room_get_sync (media->room), guest);
  return TRUE;
}

static const RcParam start_media_params[] = {
  { "transport", RC_PARAM_STRING, TRUE, 1, 64 },
  RC_PARAMS_END,
};

static gboolean
handle_start_media (RcSession *session, JsonObject *request, JsonNode *request_id,
                    GError **error)
{
  RcGuest *guest = session->guest;
  RcRoom *room = guest->room;
  g_autoptr (GError) local = NULL;
  RcRoomPipeline *pipeline;
  RcMedia *media;

  const char *transport = rc_json_get_string (request, "transport");
  gboolean ws = g_str_equal (transport, "ws");

  if (!ws && !g_str_equal (transport, "webrtc"))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"transport\" must be \"webrtc\" or \"ws\"");
      return FALSE;
    }
  /* A new startMedia replaces the session: the old branch goes first, so
   * the pipeline is kept (acquired below before the old one is released). */
  pipeline = rc_room_acquire_pipeline (room, &local);
  end_media (guest);
  if (pipeline == NULL)
    {
      g_message ("Room %s: no audio for guest %s: %s", rc_room_get_id (room), guest->id,
                 local->message);
      rc_error_set (error, RC_ERROR_MEDIA_FAILED);
      return FALSE;
    }
  media = g_new0 (RcMedia, 1);
  media->session = session;
  media->guest = guest;
  media->room = rc_room_ref (room);
  if (ws)
    return start_ws (media, request_id, error);
  media->branch = rc_webrtc_branch_new (pipeline, guest->id, &branch_callbacks, media, &local);
  if (media->branch == NULL)
    {
      g_warning ("Room %s: cannot start audio for guest %s: %s", rc_room_get_id (room), guest->id,
                 local->message);
      media_free (media);
      rc_error_set (error, RC_ERROR_MEDIA_FAILED);
      return FALSE;
    }
  if (request_id != NULL)
    media->request_id = json_node_copy (request_id);
  guest->media = media;
  guest->media_free = media_free;
  return TRUE;
}

static const RcParam answer_params[] = {
  { "sdp", RC_PARAM_STRING, TRUE, 1, 16384 },
  RC_PARAMS_END,
};

static gboolean
handle_answer (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcMedia *media = media_of (session, error);

  if (media != NULL && media->branch == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_NO_MEDIA,
                           "This media session is on the WebSocket; it takes no answer");
      return FALSE;
    }
  return media != NULL
         && rc_webrtc_branch_set_answer (media->branch, rc_json_get_string (request, "sdp"), error);
}

static const RcParam ice_params[] = {
  { "candidate", RC_PARAM_STRING, FALSE, 0, 1024 },
  { "sdpMLineIndex", RC_PARAM_INT, FALSE, 0, 15 },
  RC_PARAMS_END,
};

static gboolean
handle_ice (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcMedia *media = media_of (session, error);

  if (media != NULL && media->branch == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_NO_MEDIA,
                           "This media session is on the WebSocket; it takes no candidates");
      return FALSE;
    }
  return media != NULL
         && rc_webrtc_branch_add_ice (media->branch,
                                      (guint) rc_json_get_int (request, "sdpMLineIndex", 0),
                                      rc_json_get_string (request, "candidate"), error);
}

static gboolean
handle_stop_media (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  JsonObject *o;
  g_autoptr (JsonNode) reply = rc_json_message_new ("mediaStopped", &o);

  end_media (session->guest);
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

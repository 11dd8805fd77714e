/* SPDX-License-Identifier: MIT */
/*
 * Queue and playback requests (addSong, play, seek...). The room's player
 * (server/rooms/rc_player.c) is the authority and broadcasts what changed; these
 * handlers check who may do what, turn requests into player calls, and
 * answer the sender with the update its request caused.
 */
#include "signalling/rc_session-private.h"
#include "server/core/rc_error.h"
#include "server/rooms/rc_player.h"

static RcPlayer *
player_of (RcSession *session)
{
  return rc_room_get_player (session->guest->room);
}

static void
reply_queue (RcSession *session, JsonNode *request_id)
{
  g_autoptr (JsonNode) reply = rc_player_queue_message (player_of (session));

  rc_session_reply (session, reply, request_id);
}

static void
reply_state (RcSession *session, JsonNode *request_id)
{
  g_autoptr (JsonNode) reply = rc_player_state_message (player_of (session));

  rc_session_reply (session, reply, request_id);
}

static const RcParam add_params[] = {
  { "songId", RC_PARAM_STRING, FALSE, 1, 64 },
  { "url", RC_PARAM_STRING, FALSE, 1, 2048 },
  RC_PARAMS_END,
};

static gboolean
handle_add (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  const char *song_id = rc_json_get_string (request, "songId");
  const char *url = rc_json_get_string (request, "url");
  gboolean ok;

  if ((song_id == NULL) == (url == NULL))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "Give exactly one of \"songId\" and \"url\"");
      return FALSE;
    }
  if (song_id != NULL)
    ok = rc_player_add_song (player_of (session), session->guest, song_id, error);
  else
    ok = rc_player_add_url (player_of (session), session->guest, url, error);
  if (ok)
    reply_queue (session, request_id);
  return ok;
}

static const RcParam remove_params[] = {
  { "index", RC_PARAM_INT, TRUE, 0, G_MAXINT32 },
  RC_PARAMS_END,
};

static gboolean
handle_remove (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  if (!session->guest->is_owner)
    {
      rc_error_set (error, RC_ERROR_NOT_OWNER);
      return FALSE;
    }
  if (!rc_player_remove (player_of (session), rc_json_get_int (request, "index", -1), error))
    return FALSE;
  reply_queue (session, request_id);
  return TRUE;
}

static const RcParam move_params[] = {
  { "from", RC_PARAM_INT, TRUE, 0, G_MAXINT32 },
  { "to", RC_PARAM_INT, TRUE, 0, G_MAXINT32 },
  RC_PARAMS_END,
};

static gboolean
handle_move (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  if (!rc_player_move (player_of (session), rc_json_get_int (request, "from", -1),
                       rc_json_get_int (request, "to", -1), error))
    return FALSE;
  reply_queue (session, request_id);
  return TRUE;
}

static gboolean
handle_play (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  rc_player_play (player_of (session));
  reply_state (session, request_id);
  return TRUE;
}

static gboolean
handle_pause (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  rc_player_pause (player_of (session));
  reply_state (session, request_id);
  return TRUE;
}

static gboolean
handle_skip (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  const char *title = rc_player_get_current_title (player_of (session));
  g_autofree char *text = title ? g_strdup_printf ("%s skipped %s", session->guest->name, title)
                                : NULL;

  rc_player_skip (player_of (session));
  if (text != NULL)
    rc_room_notify (session->guest->room, "skip", text, NULL);
  reply_state (session, request_id);
  return TRUE;
}

static gboolean
handle_previous (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  rc_player_previous (player_of (session));
  reply_state (session, request_id);
  return TRUE;
}

/* Bounds are checked by the player against the song's duration. */
static const RcParam seek_params[] = {
  { "position", RC_PARAM_NUMBER, TRUE, -1000000000, 1000000000 },
  RC_PARAMS_END,
};

static gboolean
handle_seek (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  if (!rc_player_seek (player_of (session), rc_json_get_number (request, "position", -1), error))
    return FALSE;
  reply_state (session, request_id);
  return TRUE;
}

static const RcParam loop_params[] = {
  { "mode", RC_PARAM_STRING, TRUE, 1, 16 },
  RC_PARAMS_END,
};

static gboolean
handle_set_loop (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcLoopMode mode;

  if (!rc_player_parse_loop (rc_json_get_string (request, "mode"), &mode))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"mode\" must be \"off\", \"track\" or \"queue\"");
      return FALSE;
    }
  rc_player_set_loop (player_of (session), mode);
  reply_state (session, request_id);
  return TRUE;
}

static const RcParam autoplay_params[] = {
  { "enabled", RC_PARAM_BOOLEAN, TRUE, 0, 0 },
  RC_PARAMS_END,
};

static gboolean
handle_set_autoplay (RcSession *session, JsonObject *request, JsonNode *request_id,
                     GError **error)
{
  rc_player_set_autoplay (player_of (session), rc_json_get_boolean (request, "enabled", TRUE));
  reply_state (session, request_id);
  return TRUE;
}

const RcHandler rc_queue_handlers[] = {
  { "addSong", add_params, TRUE, FALSE, handle_add },
  { "removeSong", remove_params, TRUE, FALSE, handle_remove },
  { "moveSong", move_params, TRUE, FALSE, handle_move },
  { "play", NULL, TRUE, FALSE, handle_play },
  { "pause", NULL, TRUE, FALSE, handle_pause },
  { "skip", NULL, TRUE, FALSE, handle_skip },
  { "previous", NULL, TRUE, FALSE, handle_previous },
  { "seek", seek_params, TRUE, FALSE, handle_seek },
  { "setLoop", loop_params, TRUE, FALSE, handle_set_loop },
  { "setAutoplay", autoplay_params, TRUE, FALSE, handle_set_autoplay },
  { NULL },
};

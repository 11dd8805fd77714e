/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

#include "server/library/rc_library.h"
#include "server/library/rc_url_cache.h"
#include "pipelines/rc_room_pipeline.h"
#include "server/store/rc_store.h"

G_BEGIN_DECLS

typedef struct _RcRoom RcRoom;
typedef struct _RcGuest RcGuest;

/*
 * RcPlayer: what a room plays, and the single authority on it. It owns the
 * queue (played items stay before the current index), the play/pause state,
 * and the loop and autoplay modes; it tells the room's pipeline (which the
 * room owns, rc_room_ensure_pipeline) what to play.
 *
 * Every change is broadcast to the room (stateUpdate, queueUpdated) and
 * written to the store (room:{id}:player), so a restart with Redis resumes
 * the same song near the same position. Main context only.
 */
typedef struct _RcPlayer RcPlayer;

typedef enum
{
  RC_LOOP_OFF,
  RC_LOOP_TRACK,
  RC_LOOP_QUEUE,
} RcLoopMode;

#define RC_PLAYER_QUEUE_MAX 500

/* @room is borrowed: the room owns the player. @library may be NULL. A
 * playing room nobody is in pauses itself after @empty_pause_s. */
RcPlayer *rc_player_new (RcRoom *room, RcStore *store, RcLibrary *library, guint empty_pause_s);
void rc_player_free (RcPlayer *player);
/* http(s) songs are fetched into @cache (borrowed, may be NULL) when queued
 * and played from it once whole; a song it refuses is skipped, and the
 * guest who queued it gets the refusal as an `error`. */
void rc_player_set_url_cache (RcPlayer *player, RcUrlCache *cache);

/* From the JSON stored in room:{id}:player; resumes playing if it was. */
void rc_player_restore (RcPlayer *player, const char *json);
/* The room's recently played song keys, as stored (oldest first). */
void rc_player_restore_recent (RcPlayer *player, GPtrArray *keys);
/* Removes the stored state (the room is being deleted). */
void rc_player_erase (RcPlayer *player);

/* Queue. @by is the guest asking (attribution). FALSE with @error (RC_ERROR_*). */
gboolean rc_player_add_song (RcPlayer *player, RcGuest *by, const char *song_id,
                             GError **error);
gboolean rc_player_add_url (RcPlayer *player, RcGuest *by, const char *url, GError **error);
gboolean rc_player_remove (RcPlayer *player, gint64 index, GError **error);
gboolean rc_player_move (RcPlayer *player, gint64 from, gint64 to, GError **error);

/* Playback. */
void rc_player_play (RcPlayer *player);
void rc_player_pause (RcPlayer *player);
void rc_player_skip (RcPlayer *player);
void rc_player_previous (RcPlayer *player);
gboolean rc_player_seek (RcPlayer *player, double seconds, GError **error);
void rc_player_set_loop (RcPlayer *player, RcLoopMode mode);
void rc_player_set_autoplay (RcPlayer *player, gboolean enabled);
gboolean rc_player_parse_loop (const char *name, RcLoopMode *mode);

/* {"type":"stateUpdate",...} and {"type":"queueUpdated",...}, new nodes. */
JsonNode *rc_player_state_message (RcPlayer *player);
JsonNode *rc_player_queue_message (RcPlayer *player);
/* {title, artist, playing} of the current song, or a JSON null (room lists). */
JsonNode *rc_player_now_playing_json (RcPlayer *player);
/* The current song's title, or NULL. */
const char *rc_player_get_current_title (RcPlayer *player);

/* The state's fields without "type" (initialState.state), and the queue array. */
JsonNode *rc_player_state_json (RcPlayer *player);
JsonNode *rc_player_queue_json (RcPlayer *player);

/*
 * A live host started (@live TRUE) or stopped. With the takeover policy
 * the queue pauses while the host is on and resumes after, if it was
 * playing; guests may still press play meanwhile (then both are heard).
 */
void rc_player_set_live (RcPlayer *player, gboolean live);

/* The room's guests changed (auto-pause when it empties). */
void rc_player_guests_changed (RcPlayer *player);
/* Whether the room plays (a track, or the wait for one). */
gboolean rc_player_is_playing (RcPlayer *player);
/*
 * The room's pipeline (see rc_room.h) exists only while someone listens, or
 * while a song of unknown length plays: the player keeps the timeline on
 * the server clock. Whether the current song needs the pipeline (its end is
 * known only by decoding it: a URL of unknown duration).
 */
gboolean rc_player_needs_pipeline (RcPlayer *player);
/* The room built @pipeline: a playing song joins it where the timeline is. */
void rc_player_pipeline_started (RcPlayer *player, RcRoomPipeline *pipeline);
/* The room is about to free @pipeline: the timeline goes on by the clock
 * from where the pipeline was; then _stopped, once it is gone. */
void rc_player_pipeline_stopping (RcPlayer *player, RcRoomPipeline *pipeline);
void rc_player_pipeline_stopped (RcPlayer *player);
/* What the room's pipeline reports goes to the player (user_data: it). */
const RcRoomPipelineCallbacks *rc_player_get_pipeline_callbacks (void);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>
#include "server/core/rc_metrics.h"
#include "server/core/rc_ws_writer.h"
#include "server/store/rc_store.h"
#include "pipelines/rc_fanout.h"
#include "pipelines/rc_room_pipeline.h"
#include "server/library/rc_library.h"
#include "server/rooms/rc_guest_media.h"
#include "server/rooms/rc_mix_policy.h"
#include "server/rooms/rc_publish_key.h"
#include "server/rooms/rc_player.h"
#include "server/rooms/rc_sync.h"

G_BEGIN_DECLS

typedef struct _RcRoom RcRoom;
typedef struct _RcGuest RcGuest;

/*
 * How a room reaches one guest. The signalling layer supplies a function that
 * writes to the guest's WebSocket; tests and later transports supply others.
 * @message is borrowed.
 */
typedef void (*RcGuestSendFunc) (RcGuest *guest, JsonNode *message, gpointer user_data);

/*
 * Guests reached through one shared path that delivers to each of them
 * itself (in a cluster: the guests of one room on one other node, whose
 * node gets a broadcast once and hands it to each). A broadcast goes to
 * the group once, not to its guests one by one; the group is told when
 * one of its guests enters or leaves the room, before anything else the
 * room then sends, so that it delivers to exactly the room's guests.
 * Made and owned by whoever made the guest; it outlives its guests' time
 * in the room.
 */
typedef struct _RcGuestGroup RcGuestGroup;
struct _RcGuestGroup
{
  /* @text: the JSON of @length bytes, for every guest of the group in the
   * room but @except (a guest of the group, or NULL). */
  void (*send_text) (RcGuestGroup *group, const char *text, gsize length, RcGuest *except);
  void (*entered) (RcGuestGroup *group, RcGuest *guest);
  void (*left) (RcGuestGroup *group, RcGuest *guest);
};

struct _RcGuest
{
  char *id;
  char *name;
  gboolean is_owner;
  RcGuestSendFunc send;
  RcWsPeer *ws_peer; /* its connection's writer, for WebSocket audio; may be NULL */
  /* Optional: the same as send for a message already serialised (@text is
   * the JSON of @length bytes), so a broadcast serialises once. */
  void (*send_text) (RcGuest *guest, const char *text, gsize length, gpointer user_data);
  /* Optional, better still: the message already framed as a WebSocket text
   * message (rc_ws_frame_text), one buffer that every recipient's writer
   * queue shares. */
  void (*send_frame) (RcGuest *guest, GBytes *frame, gpointer user_data);
  /* Called after the room dropped the guest on its own (room deleted). */
  void (*evicted) (RcGuest *guest, gpointer user_data);
  gpointer send_data;
  RcRoom *room; /* weak: set while the guest is in a room */
  char *user_id; /* whose listening history this is (join's userId, else id) */
  gint64 joined_us; /* monotonic time of its join request; 0 once its first audio was counted */
  RcGuestGroup *group; /* borrowed, may be NULL: broadcasts reach it through this group */
};

RcGuest *rc_guest_new (const char *name, gboolean is_owner, RcGuestSendFunc send,
                       gpointer send_data);
void rc_guest_free (RcGuest *guest);
JsonNode *rc_guest_to_json (RcGuest *guest);

/*
 * RcRoom: one listening room. Owns its guests list (join order) and the
 * recent chat, and writes through to the store under room:{id}:*.
 * Lives on the main context.
 */
/* @password_hash: rc_secret_hash_password's encoding (made off the main
 * context: rc_secret_hash_password_async), or NULL for an open room. */
RcRoom *rc_room_new (RcStore *store, const char *id, const char *name, const char *password_hash,
                     const char *owner_token, guint chat_cap);
/* From the JSON written by rc_room_to_state_json(); NULL if it is unusable. */
RcRoom *rc_room_new_from_state (RcStore *store, const char *state_json, guint chat_cap,
                                GError **error);
RcRoom *rc_room_ref (RcRoom *room);
void rc_room_unref (RcRoom *room);

const char *rc_room_get_id (RcRoom *room);
const char *rc_room_get_name (RcRoom *room);
gboolean rc_room_has_password (RcRoom *room);
gint64 rc_room_get_created_at (RcRoom *room);
guint rc_room_get_guest_count (RcRoom *room);
GPtrArray *rc_room_get_guests (RcRoom *room); /* RcGuest*, transfer none */
/* The guest with @guest_id in @room, or NULL (a hash lookup: a big room's
 * join must not walk its guests). */
RcGuest *rc_room_find_guest (RcRoom *room, const char *guest_id);
RcStore *rc_room_get_store (RcRoom *room);    /* transfer none */

/* Checks @password off the main context (TRUE at once for an open room);
 * see rc_secret_check_password_async. */
void rc_room_check_password_async (RcRoom *room, const char *password, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gboolean rc_room_check_password_finish (GAsyncResult *result, GError **error);
gboolean rc_room_check_owner_token (RcRoom *room, const char *token);

/* Public view: {id, name, hasPassword, guests, createdAt}. Never secrets. */
JsonNode *rc_room_to_json (RcRoom *room);
/* What the store keeps in room:{id}:state (hashes, not secrets). */
char *rc_room_to_state_json (RcRoom *room);
/* Writes state and the room index (rooms set). */
void rc_room_save (RcRoom *room);
/* Removes every key of the room from the store. */
void rc_room_erase (RcRoom *room);

/* Guests belong to their session; the room only borrows them while joined. */
void rc_room_add_guest (RcRoom *room, RcGuest *guest);
void rc_room_remove_guest (RcRoom *room, RcGuest *guest);

/* Sends @message to every guest except @except (may be NULL). */
void rc_room_broadcast (RcRoom *room, JsonNode *message, RcGuest *except);
/* A `notification` {kind, text} to everyone but @except (may be NULL). */
void rc_room_notify (RcRoom *room, const char *kind, const char *text, RcGuest *except);

/*
 * Publish keys (see rc_publish_key.h): the room keeps them in its stored
 * state; the secret is known once, when it is made.
 */
#define RC_ROOM_MAX_PUBLISH_KEYS 20

RcPublishKey *rc_room_add_publish_key (RcRoom *room, const char *label, char **secret_out,
                                       GError **error);
GPtrArray *rc_room_get_publish_keys (RcRoom *room); /* RcPublishKey*, transfer none */
gboolean rc_room_remove_publish_key (RcRoom *room, const char *key_id);
/* The key @secret is, or NULL. */
RcPublishKey *rc_room_check_publish_key (RcRoom *room, const char *secret);

/*
 * The room's live publisher (a host pushing over WHIP or SRT): at most one.
 * The ingest code sets it while the host is on; revoking its key or
 * deleting the room calls @end, which must clear it.
 */
typedef void (*RcPublisherEndFunc) (RcRoom *room, gpointer data);

gboolean rc_room_has_publisher (RcRoom *room);
const char *rc_room_get_publisher_key (RcRoom *room); /* the key's id, or NULL */
void rc_room_set_publisher (RcRoom *room, const char *key_id, RcPublisherEndFunc end, gpointer data);
void rc_room_clear_publisher (RcRoom *room);
/* Ends the publisher if it uses @key_id (NULL: whatever key). */
void rc_room_end_publisher (RcRoom *room, const char *key_id);
/* The @data given to rc_room_set_publisher, or NULL. */
gpointer rc_room_get_publisher_data (RcRoom *room);

/* How a live host's audio meets the queue (see rc_mix_policy.h), kept in
 * the room's stored state. */
const RcMixPolicy *rc_room_get_mix_policy (RcRoom *room);
/* Saves it; the caller tells a host on air (rc_live_policy_changed). */
void rc_room_set_mix_policy (RcRoom *room, const RcMixPolicy *policy);

/* What every room of a server shares (from the options). */
typedef struct _RcRoomSettings
{
  guint empty_pause_s;     /* a playing room nobody is in pauses after this */
  double delay_min_ms;     /* playout delay bounds and start */
  double delay_initial_ms;
  double delay_max_ms;
  guint ws_bundle_from;    /* WebSocket listeners from which frames are bundled (0: never) */
  guint ws_bundle_large_from; /* ... from which 5 go in a message (0: never) */
  RcMetrics *metrics;      /* borrowed, may be NULL: what rooms count */
  RcFanout *fanout;        /* borrowed, may be NULL: WebRTC guests get a webrtcbin each */
  RcUrlCache *url_cache;   /* borrowed, may be NULL: URL songs stream uncached */
} RcRoomSettings;

/* The room's player (@library may be NULL: URLs only) and sync state. */
void rc_room_start_player (RcRoom *room, RcLibrary *library, const RcRoomSettings *settings);
RcPlayer *rc_room_get_player (RcRoom *room);
RcSync *rc_room_get_sync (RcRoom *room);
/* The settings' metrics (NULL before rc_room_start_player or without). */
RcMetrics *rc_room_get_metrics (RcRoom *room);
/* The settings' WebRTC fan-out engine, or NULL (webrtcbin per guest). */
RcFanout *rc_room_get_fanout (RcRoom *room);

/*
 * Audio. The room owns its pipeline: built when a guest or a live host
 * asks for audio (or a song of unknown length plays, rc_player.h), torn
 * down 5 s after the last gives it back; meanwhile the player keeps the
 * room's timeline on the server clock and nothing is decoded. A guest's or
 * a live host's session takes it and gives it back when it ends. NULL with @error (RC_ERROR_MEDIA_FAILED) when the
 * pipeline cannot be built. Transfer none.
 */
RcRoomPipeline *rc_room_acquire_pipeline (RcRoom *room, GError **error);
void rc_room_release_pipeline (RcRoom *room);
/* For the player: the pipeline, built if need be, without taking it. */
RcRoomPipeline *rc_room_ensure_pipeline (RcRoom *room, GError **error);
/* For the player: the pipeline goes a little later if nobody listens and
 * the player does not need it. */
void rc_room_idle_pipeline (RcRoom *room);
/* The pipeline if the room has one now. */
RcRoomPipeline *rc_room_get_pipeline (RcRoom *room);

/*
 * A guest's audio session (see rc_guest_media.h): starting one replaces the
 * guest's previous one; the room ends it when the guest leaves, before
 * anything else, or when the room goes. NULL with @error when it cannot
 * start (@destroy has then freed @user_data). @edge: where an edge takes
 * the packets, with RC_GUEST_MEDIA_EDGE only (else NULL).
 */
RcGuestMedia *rc_room_start_media (RcRoom *room, RcGuest *guest, RcGuestMediaTransport transport,
                                   const RcGuestMediaEdge *edge,
                                   const RcGuestMediaCallbacks *callbacks, gpointer user_data,
                                   GDestroyNotify destroy, GError **error);
/* Ends @guest's session, if any, without a word to the guest. */
void rc_room_stop_media (RcRoom *room, RcGuest *guest);
/* @guest's session, or NULL. */
RcGuestMedia *rc_room_get_media (RcRoom *room, RcGuest *guest);

/* Chat: the recent messages (oldest first) and appending one (cached + stored). */
JsonNode *rc_room_chat_json (RcRoom *room);
void rc_room_append_chat (RcRoom *room, JsonNode *message);
/* Fills the cache from stored JSON strings (used when loading). */
void rc_room_restore_chat (RcRoom *room, GPtrArray *messages);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRoom, rc_room_unref)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

typedef struct _RcRoom RcRoom;
typedef struct _RcGuest RcGuest;

/*
 * RcGuestMedia: one guest's audio session, from startMedia to its stop: the
 * room's pipeline held while it lives, its WebRTC branch or its place among
 * the room's WebSocket listeners, and the timeline it is told. Made and
 * ended by the room (rc_room_start_media, rc_room_stop_media), which ends it
 * whenever the guest leaves, is dropped or the room is deleted. Whoever
 * started it hears back through the callbacks; every call and callback is
 * on the main context.
 */
typedef struct _RcGuestMedia RcGuestMedia;

typedef enum
{
  RC_GUEST_MEDIA_WEBRTC,
  RC_GUEST_MEDIA_WS,
  /* A guest of another node, which asked for WebSocket audio: that node is
   * an edge of the room (the origin → edge relay) and sends the guest the
   * room's packets itself; this node sends the edge the packets and the
   * guest its start and its timelines. */
  RC_GUEST_MEDIA_EDGE,
} RcGuestMediaTransport;

/* Where an edge takes the room's packets (RC_GUEST_MEDIA_EDGE): its
 * numeric address, port and token (pipelines/rc_relay_frame.h). */
typedef struct
{
  const char *address;
  guint port;
  guint64 token;
} RcGuestMediaEdge;

typedef struct
{
  /* The session is up: for WebRTC, with the offer's @sdp (later, from the
   * branch); for the WebSocket, @sdp NULL, at once. The timeline follows. */
  void (*started) (RcGuest *guest, const char *sdp, gpointer user_data);
  /* WebRTC: a local ICE candidate. */
  void (*ice) (RcGuest *guest, guint mline_index, const char *candidate, gpointer user_data);
  /* The session failed and is over (the guest has no media any more, and
   * @user_data is about to be destroyed): a WebRTC branch that failed
   * (@code 0), or a WebSocket listener too slow for its audio
   * (@code RC_ERROR_TOO_SLOW). */
  void (*failed) (RcGuest *guest, const char *reason, int code, gpointer user_data);
} RcGuestMediaCallbacks;

/* For RcRoom: starts the session on @pipeline, which the room counts as
 * taken (rc_room_acquire_pipeline) and which the session gives back when
 * it ends. NULL with @error (and @pipeline given back) when it cannot
 * start. @destroy frees @user_data when the session ends. @edge: with
 * RC_GUEST_MEDIA_EDGE only. */
RcGuestMedia *rc_guest_media_new (RcRoom *room, RcGuest *guest, RcRoomPipeline *pipeline,
                                  RcGuestMediaTransport transport, const RcGuestMediaEdge *edge,
                                  const RcGuestMediaCallbacks *callbacks, gpointer user_data,
                                  GDestroyNotify destroy, GError **error);
/* For RcRoom, once @media is the guest's session: a WebSocket session
 * reports it started and gets its timeline. */
void rc_guest_media_begin (RcGuestMedia *media);
/* Ends the session without a word to the guest. For RcRoom. */
void rc_guest_media_free (RcGuestMedia *media);

/* WebRTC: the guest's answer and its ICE candidates (RC_ERROR_NO_MEDIA on
 * a WebSocket session). */
gboolean rc_guest_media_set_answer (RcGuestMedia *media, const char *sdp, GError **error);
gboolean rc_guest_media_add_ice (RcGuestMedia *media, guint mline_index, const char *candidate,
                                 GError **error);

RcGuestMediaTransport rc_guest_media_get_transport (RcGuestMedia *media);

RcGuest *rc_guest_media_get_guest (RcGuestMedia *media);

/* For RcSync: sends the guest @message, a timeline; a WebSocket session
 * gets audio frames from then on, so it never has frames it cannot place. */
void rc_guest_media_deliver_timeline (RcGuestMedia *media, JsonNode *message);
/* For RcSync: the first WebSocket frame is on its way (the join's latency). */
void rc_guest_media_first_audio (RcGuestMedia *media);
/* For RcSync: a WebSocket listener that could not keep up. The session
 * ends and the guest is told (mediaStopped, reason "tooSlow", code 4306). */
void rc_guest_media_fail_slow (RcGuestMedia *media);

/* For /api/rooms/{id}/stats: how the room's WebRTC guests are served
 * ("fanout": "engine" or "webrtcbin"); with the engine, each guest's figures
 * from its Receiver Reports (left out unless @with_guests) and the engine's
 * own: its port, what it sent, the datagrams it dropped by why, and the
 * latency from the room's RTP tap to sendmmsg (p50, p99 in ms). */
JsonNode *rc_guest_media_webrtc_stats_json (RcRoom *room, gboolean with_guests);

G_END_DECLS

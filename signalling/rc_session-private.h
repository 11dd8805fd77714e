/* SPDX-License-Identifier: MIT */
#pragma once

/* Session internals shared by rc_session.c and the handlers in rc_handlers.c. */
#include "signalling/rc_session.h"
#include "server/core/rc_rate_limit.h"
#include "server/rooms/rc_room.h"
#include "server/core/rc_validate.h"

G_BEGIN_DECLS

struct _RcSession
{
  const RcSessionHost *host;
  SoupWebsocketConnection *conn; /* NULL for a detached session */
  RcSessionSinkFunc sink;        /* a detached session's output */
  gpointer sink_data;
  GDestroyNotify sink_free;      /* frees sink_data with the session (may be NULL) */
  RcActivityStream *activity;
  RcWsPeer *ws_peer; /* the connection's writer; NULL for a detached session */
  char *peer;
  char *address; /* the peer's address without its port */
  RcSessionClosedFunc closed;
  gpointer closed_data;

  RcRateLimit requests;
  RcRateLimit chat;
  guint64 last_bytes;
  gint64 last_activity_us;
  gint64 last_ping_us; /* pings go out from the sweep (rc_session_check_idle) */
  double received_ms; /* server clock when the message being handled arrived */

  RcGuest *guest; /* owned; in guest->room while joined */

  /* A cluster (rc_session_relay.c). On the guest's node: @sid names the
   * session to other nodes and @relay_node is the node its room is served
   * by while it is relayed there (NULL: handled here), @relay_join the join
   * that started it. On the room's node, a remote session: @remote_node is
   * its guest's node and @sid its id there. */
  char *sid;
  char *relay_node;
  char *relay_join;
  char *relay_room;     /* the room id of @relay_join */
  char *relay_back;     /* the node the last join came back from, or NULL */
  gboolean relay_in;    /* the room's node has it in @relay_room: its broadcasts are its */
  char *remote_node;
  /* On the guest's node, a relayed guest whose audio comes from this node
   * (rc_session_edges.c): the room this node is its edge of, and whether
   * the room's node started it (WebSocket: its timeline reached it, its
   * frames flow; WebRTC: its mediaStarted came, this node's engine took
   * it). */
  char *edge_room;
  gboolean edge_listening;
  char *edge_start_id; /* its startMedia's "id" as JSON text (NULL: none) */
  gboolean edge_webrtc;              /* over WebRTC, from this node's engine */
  struct _RcEdgeGuest *edge_guest;   /* WebRTC: the engine's guest, once started */
  gboolean edge_offered;             /* WebRTC: its offer went out */
  char *edge_timeline;               /* WebRTC: the timeline held until the offer */
  char *relay_clock_host; /* the room's node's clock (its initialState), or NULL */
  guint relay_clock_port;
  GCancellable *joining; /* a join waiting for its password check, or NULL */
  gboolean join_placed;  /* the join being handled was let in by placement */
};

/*
 * A request handler. @request_id is the request's "id" (or NULL) to echo in
 * the reply. Returning FALSE with @error set sends an error reply.
 */
typedef gboolean (*RcHandlerFunc) (RcSession *session, JsonObject *request, JsonNode *request_id,
                                   GError **error);

typedef struct
{
  const char *type;
  const RcParam *params;
  gboolean needs_room; /* refused with not_in_room outside a room */
  gboolean is_chat;    /* also counted against the chat rate limit */
  RcHandlerFunc func;
} RcHandler;

/*
 * The handler tables rc_handlers_lookup() searches, each ended by an entry
 * whose type is NULL: rooms and chat (rc_handlers.c), queue and playback
 * (rc_handlers_queue.c), audio (rc_handlers_media.c), clock and sync
 * (rc_handlers_sync.c).
 */
extern const RcHandler rc_queue_handlers[];
extern const RcHandler rc_sync_handlers[];
extern const RcHandler rc_media_handlers[];
extern const RcHandler rc_live_handlers[];
/* {type: "mixPolicy", mode, duckDb, thresholdDb} for @room. */
JsonNode *rc_handlers_mix_policy_message (RcRoom *room);

const RcHandler *rc_handlers_lookup (const char *type);

/* Leaves the room if in one: tells the others, frees the guest. */
void rc_session_leave_room (RcSession *session);

/* The initialState a join of @room answers with (the session's guest is in
 * @room): also what a relayed guest is sent again after a lost message. */
JsonNode *rc_handlers_initial_state (RcSession *session, RcRoom *room);

/* initialState.clock: {port, now}. */
JsonNode *rc_handlers_clock_json (RcSession *session);


/* Sends @message with "id" set to @request_id (when not NULL). */
void rc_session_reply (RcSession *session, JsonNode *message, JsonNode *request_id);

/* Sends the `error` reply for @error (its wire code), with @request_id. */
void rc_session_reply_error (RcSession *session, const GError *error, JsonNode *request_id);
/* The same with "nodeUrl": where a cluster's room is served (NULL: none). */
void rc_session_reply_error_at (RcSession *session, const GError *error, JsonNode *request_id,
                                const char *node_url);

G_END_DECLS

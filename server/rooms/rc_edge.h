/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/core/rc_ws_writer.h"

typedef struct _RcFanout RcFanout;

G_BEGIN_DECLS

/*
 * RcEdges: this node as an edge of rooms other nodes serve (the origin →
 * edge relay, docs/architecture.md). While any guest of this node listens
 * to such a room over the WebSocket, the room has one edge here: a UDP
 * socket the room's node sends the packets to (RcRelaySource), a room
 * pipeline without mixer or encoder (rc_room_pipeline_new_relayed) and its
 * WebSocket frames, sent to the listening guests' connections by one
 * RcWsGroup, with the origin's C. A guest listening over WebRTC is served
 * by this node's fan-out engine, fed from the same edge pipeline's RTP
 * (RcEdgeGuest): the offer, answer and candidates are this node's, the
 * rest of the signalling (the guest's start, its timeline, D) stays the
 * room's node's. Main context only.
 */
typedef struct _RcEdges RcEdges;

/* @address: the numeric address the other nodes reach this node's media
 * on (the edges' sockets bind it). @fanout: this node's WebRTC engine
 * (borrowed, outlives @edges), or NULL (--webrtc-fanout webrtcbin: no
 * WebRTC guests on edges). */
RcEdges *rc_edges_new (const char *address, RcFanout *fanout);
void rc_edges_free (RcEdges *edges);
const char *rc_edges_get_address (RcEdges *edges);

/* One more listener of @room_id's edge, made if needed (on the room's
 * node's clock at @clock_host:@clock_port, or this node's own clock when
 * @clock_host is NULL): its port and token, for the room's node. FALSE
 * with @error when it cannot start. */
gboolean rc_edges_attach (RcEdges *edges, const char *room_id, const char *clock_host,
                          guint clock_port, guint *port, guint64 *token, GError **error);
/* @peer (of an attached listener) takes the room's frames from now on:
 * call it once its timeline is on its connection. */
void rc_edges_listen (RcEdges *edges, const char *room_id, RcWsPeer *peer);
/* One listener fewer (@peer: NULL, or the peer given to _listen); the
 * edge goes with its last. */
void rc_edges_detach (RcEdges *edges, const char *room_id, RcWsPeer *peer);
/* Whether this node's edges can serve WebRTC guests (it has an engine). */
gboolean rc_edges_has_webrtc (RcEdges *edges);

/*
 * A WebRTC guest of an attached listener of @room_id's edge: this node's
 * fan-out engine sends it the edge's packets (the origin's bytes, its RTP
 * timestamps, so the room's timeline maps them). @offer comes once, when
 * the edge's first packet gave the stream its payload type and SSRC;
 * @failed when the guest could not connect or went silent (it may be
 * freed from there). Free it before detaching its listener. NULL with
 * @error when the room has no edge here or the node no engine.
 */
typedef struct _RcEdgeGuest RcEdgeGuest;
typedef struct
{
  void (*offer) (const char *sdp, gpointer user_data);
  void (*failed) (const char *reason, gpointer user_data);
} RcEdgeGuestCallbacks;

RcEdgeGuest *rc_edges_add_webrtc (RcEdges *edges, const char *room_id, const char *name,
                                  const RcEdgeGuestCallbacks *callbacks, gpointer user_data,
                                  GError **error);
gboolean rc_edge_guest_set_answer (RcEdgeGuest *guest, const char *sdp, GError **error);
gboolean rc_edge_guest_add_ice (RcEdgeGuest *guest, guint mline_index, const char *candidate,
                                GError **error);
void rc_edge_guest_free (RcEdgeGuest *guest);

/* Rooms this node is an edge of now (tests, stats). */
guint rc_edges_count (RcEdges *edges);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcEdges, rc_edges_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcEdgeGuest, rc_edge_guest_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/core/rc_ws_writer.h"

G_BEGIN_DECLS

/*
 * RcEdges: this node as an edge of rooms other nodes serve (the origin →
 * edge relay, docs/architecture.md). While any guest of this node listens
 * to such a room over the WebSocket, the room has one edge here: a UDP
 * socket the room's node sends the packets to (RcRelaySource), a room
 * pipeline without mixer or encoder (rc_room_pipeline_new_relayed) and its
 * WebSocket frames, sent to the listening guests' connections by one
 * RcWsGroup, with the origin's C. The signalling (the guest's start, its
 * timeline, D) stays the room's node's. Main context only.
 */
typedef struct _RcEdges RcEdges;

/* @address: the numeric address the other nodes reach this node's media
 * on (the edges' sockets bind it). */
RcEdges *rc_edges_new (const char *address);
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
/* Rooms this node is an edge of now (tests, stats). */
guint rc_edges_count (RcEdges *edges);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcEdges, rc_edges_free)

G_END_DECLS

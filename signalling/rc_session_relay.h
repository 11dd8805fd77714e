/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/cluster/rc_relay.h"
#include "signalling/rc_session.h"

G_BEGIN_DECLS

/*
 * RcSessionRelay: the /ws protocol across the nodes of a cluster, on the
 * RcRelay transport. It plays two parts at once:
 *
 *  - the guest's node: a session whose room is served by another node is
 *    "relayed": every text its guest sends goes to the room's node, and
 *    what the room's node sends back goes to the guest's WebSocket as is;
 *  - the room's node: for each relayed guest of another node it holds a
 *    session without a socket (a remote session) that runs every request
 *    through the same checks and handlers as a local one, so the room's
 *    node alone decides, and a guest sees the same wherever it connects.
 *
 * Made by the HTTP edge in a cluster, put in RcSessionHost.relay. Main
 * context only.
 */
typedef struct _RcSessionRelay RcSessionRelay;

/* @host and @relay are borrowed and outlive it; starts @relay. */
RcSessionRelay *rc_session_relay_new (const RcSessionHost *host, RcRelay *relay);
/* Tells every remote session's guest its room moved (roomClosed, reason
 * "moved": join again through any node) and ends them; the server stops. */
void rc_session_relay_stop (RcSessionRelay *self);
void rc_session_relay_free (RcSessionRelay *self);

/*
 * A join whose room another node serves (@node_id, at @node_url):
 * @session becomes relayed there, @join_text (the join request, for room
 * @room_id) first. FALSE when the relay cannot reach Redis now: the
 * caller answers 4208 with @node_url.
 */
gboolean rc_session_relay_attach (RcSessionRelay *self, RcSession *session, const char *node_id,
                                  const char *node_url, const char *room_id,
                                  const char *join_text);
/* An inbound text of @session: TRUE when it went to the room's node (or
 * was answered with an error) and must not be handled here. Joins too: the
 * room's node answers one as it would its own guest's, or hands it back. */
gboolean rc_session_relay_intercept (RcSessionRelay *self, RcSession *session, const char *data,
                                     gsize length);
/* On the room's node: remote @session's join is for a room another node
 * serves; its guest's node takes it back and handles it itself. */
void rc_session_relay_hand_back (RcSessionRelay *self, RcSession *session,
                                 const char *join_text);
/* On the room's node: the group a remote @session's guest belongs to in
 * @room (the room's guests on its node, sent each broadcast once), for
 * RcGuest.group before the guest enters the room. */
RcGuestGroup *rc_session_relay_group (RcSessionRelay *self, RcSession *session, RcRoom *room);
/* @session's guest left or closed: the room's node forgets it. */
void rc_session_relay_detach (RcSessionRelay *self, RcSession *session);

/* For /metrics: remote sessions held here, sessions of this node relayed
 * elsewhere, and relay messages refused as malformed. */
guint rc_session_relay_get_remote_count (RcSessionRelay *self);
guint rc_session_relay_get_relayed_count (RcSessionRelay *self);
guint64 rc_session_relay_get_refused (RcSessionRelay *self);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "signalling/rc_session.h"

G_BEGIN_DECLS

/*
 * RcSessionEdges: on a guest's node, the relayed guests whose audio this
 * node serves as an edge of their room (server/rooms/rc_edge.h) rather
 * than the room's node: it rewrites their startMedia to name this node's
 * edge, follows the texts coming down to start and end their listening,
 * and, for WebRTC, makes the offer and takes the answer and candidates
 * here. Held by RcSessionRelay; main context only.
 */
typedef struct _RcSessionEdges RcSessionEdges;

/* @host is borrowed and outlives it. */
RcSessionEdges *rc_session_edges_new (const RcSessionHost *host);
void rc_session_edges_free (RcSessionEdges *edges);

/*
 * A relayed guest's text before it goes up to the room's node. FALSE: it
 * was handled here (an answer or candidate for this node's engine) and
 * must not go up. TRUE: send *@rewritten (set, owned) if not NULL, else
 * @text as it is.
 */
gboolean rc_session_edges_up (RcSessionEdges *edges, RcSession *session, const char *text,
                              gsize length, char **rewritten);
/* A text coming down from the room's node, before it is written to the
 * guest: FALSE when it is not for the guest (this node answers in its
 * place). */
gboolean rc_session_edges_down (RcSessionEdges *edges, RcSession *session, const char *text);
/* @session no longer listens through this node (its relaying ended). */
void rc_session_edges_stop (RcSessionEdges *edges, RcSession *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSessionEdges, rc_session_edges_free)

G_END_DECLS

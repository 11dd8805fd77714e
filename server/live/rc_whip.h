/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>

#include "server/rooms/rc_live.h"

G_BEGIN_DECLS

/*
 * RcWhip: the WHIP endpoint (RFC 9725) through which a host (OBS 30+, a
 * browser) goes live in a room with one of the room's publish keys.
 *
 *   POST    /whip/{roomId}              offer in, 201 + answer + Location
 *   DELETE  /whip/{roomId}/{sessionId}  the host leaves
 *   OPTIONS on both                     CORS, Accept-Post
 *
 * Each live host is an RcWhipIngest in the room's pipeline; while it is live
 * the room's queue pauses (rc_player_set_live) and resumes when it ends.
 * Main context only.
 */
typedef struct _RcWhip RcWhip;

/* FALSE with @error when an option (--whip-ice-server) is unusable. */
RcWhip *rc_whip_new (RcLiveHost *host, GError **error);
/* Ends every host (and answers any offer still being worked on). */
void rc_whip_free (RcWhip *whip);

/* Routes for "/whip": the early handler refuses large bodies from their
 * headers; the handler does the rest. */
void rc_whip_handle_early (RcWhip *whip, SoupServerMessage *msg);
void rc_whip_handle (RcWhip *whip, SoupServerMessage *msg, const char *path);

G_END_DECLS

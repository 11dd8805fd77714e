/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

#include "server/rooms/rc_room.h"

G_BEGIN_DECLS

/*
 * RcPresence: who is in each room, as the guests are told it (see
 * docs/protocol.md, "Presence"). A join or a leave costs each guest one
 * small message, serialised once for the whole room: `viewerJoined` /
 * `viewerLeft` while the room has at most RC_PRESENCE_LIST_MAX guests; past
 * that, only `viewerCount`, at most once per RC_PRESENCE_COUNT_PERIOD_MS, and
 * a page asks for the list with `listViewers`. A room that shrinks back to
 * RC_PRESENCE_RELIST guests gets the whole list once (`viewersUpdated`).
 * Main context only; one per server, shared by its sessions.
 */
typedef struct _RcPresence RcPresence;

#define RC_PRESENCE_LIST_MAX 200
#define RC_PRESENCE_RELIST 150
#define RC_PRESENCE_COUNT_PERIOD_MS 1000
/* listViewers: a page holds at most this many guests. */
#define RC_PRESENCE_PAGE_MAX 200

RcPresence *rc_presence_new (void);
void rc_presence_free (RcPresence *presence);

/* @guest has just been added to @room: tells the others. */
void rc_presence_joined (RcPresence *presence, RcRoom *room, RcGuest *guest);
/* @guest (still valid) has just been removed from @room: tells those left. */
void rc_presence_left (RcPresence *presence, RcRoom *room, RcGuest *guest);
/* Whether @room's guests hear of each join and leave (no more than
 * RC_PRESENCE_LIST_MAX guests, or shrinking back towards it). */
gboolean rc_presence_is_listed (RcPresence *presence, RcRoom *room);

/* The guests of @room from @offset (join order), at most @limit of them:
 * a JSON array. */
JsonNode *rc_presence_page_json (RcRoom *room, guint offset, guint limit);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcPresence, rc_presence_free)

G_END_DECLS

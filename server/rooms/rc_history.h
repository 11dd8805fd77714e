/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/rooms/rc_room.h"

G_BEGIN_DECLS

/*
 * A listener's history: the songs started from their beginning while they
 * were in a room, newest first, in the store's user:{userId}:history
 * (sorted set, score = ms when it started, the RC_HISTORY_MAX newest).
 * Main context only.
 */
#define RC_HISTORY_MAX 50

/* Reads @guest's history and sends it a historyUpdate (if it is still in
 * @room when the store answers). */
void rc_history_send (RcRoom *room, RcGuest *guest);
/* A song started: @entry ({songId, url, title, artist}) is added to the
 * history of everyone in @room, each of whom gets a historyUpdate. */
void rc_history_record (RcRoom *room, JsonNode *entry);

G_END_DECLS

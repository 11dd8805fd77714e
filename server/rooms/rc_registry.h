/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/rooms/rc_room.h"
#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcRegistry: every room this server knows, by id. It loads rooms and their
 * chat from the store at start and is the single place rooms are created and
 * deleted. Main context only.
 */
typedef struct _RcRegistry RcRegistry;

typedef void (*RcRegistryLoadedFunc) (RcRegistry *registry, const GError *error,
                                      gpointer user_data);

/* @library (may be NULL) is what rooms' players take songs from; borrowed. */
RcRegistry *rc_registry_new (RcStore *store, RcLibrary *library, guint max_rooms,
                             guint chat_cap, const RcRoomSettings *settings);
void rc_registry_free (RcRegistry *registry);

/* Reads the rooms index, each room's state, recent chat and player state
 * (a room that was playing resumes). */
void rc_registry_load (RcRegistry *registry, RcRegistryLoadedFunc func, gpointer user_data);

/* @owner_token_out receives the new owner token (the only time it is known). */
RcRoom *rc_registry_create_room (RcRegistry *registry, const char *name, const char *password,
                                 char **owner_token_out, GError **error);
RcRoom *rc_registry_lookup (RcRegistry *registry, const char *id); /* transfer none */
RcRoom *rc_registry_find_by_name (RcRegistry *registry, const char *name);
/* Tells guests (roomClosed), removes them, and erases the room from the store. */
void rc_registry_delete_room (RcRegistry *registry, RcRoom *room);

/* Rooms ordered by guest count (desc), then newest first. Transfer container. */
GPtrArray *rc_registry_list (RcRegistry *registry);
guint rc_registry_get_room_count (RcRegistry *registry);
guint rc_registry_get_guest_count (RcRegistry *registry);
/* The rooms' settings' metrics (may be NULL); borrowed. */
RcMetrics *rc_registry_get_metrics (RcRegistry *registry);
/* The WebRTC guests' engine (NULL with --webrtc-fanout webrtcbin); borrowed. */
RcFanout *rc_registry_get_fanout (RcRegistry *registry);

G_END_DECLS

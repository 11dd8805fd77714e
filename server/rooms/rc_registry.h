/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/cluster/rc_cluster.h"
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
 * (a room that was playing resumes). In a cluster it loads nothing: rooms
 * come in one by one through rc_registry_claim. */
void rc_registry_load (RcRegistry *registry, RcRegistryLoadedFunc func, gpointer user_data);

/*
 * A cluster (--cluster): this registry then holds only the rooms whose lease
 * this node holds. New rooms take a lease as they are made; a room whose
 * lease is lost is dropped (its guests get `roomClosed` with reason
 * "moved", nothing is erased). @cluster is borrowed and outlives the registry.
 */
void rc_registry_set_cluster (RcRegistry *registry, RcCluster *cluster);
RcCluster *rc_registry_get_cluster (RcRegistry *registry); /* NULL: a lone node */

/* @room: the room, served here (transfer none); else @error, and with
 * RC_ERROR_ROOM_ELSEWHERE @owner_id and @owner_url say which node serves it. */
typedef void (*RcRegistryClaimFunc) (RcRegistry *registry, RcRoom *room, const char *owner_id,
                                     const char *owner_url, const GError *error,
                                     gpointer user_data);

/*
 * The room @id, served here: at once (@func runs before this returns) when
 * it is here already or there is no cluster; else its lease is taken if
 * nobody holds it and the room is loaded from the store (chat, queue,
 * position), as a node that starts does. Claims of one id while one is on
 * its way wait for it.
 */
void rc_registry_claim (RcRegistry *registry, const char *id, RcRegistryClaimFunc func,
                        gpointer user_data);

/* @owner_token_out receives the new owner token (the only time it is known);
 * @password_hash as rc_room_new takes it. */
RcRoom *rc_registry_create_room (RcRegistry *registry, const char *name,
                                 const char *password_hash, char **owner_token_out,
                                 GError **error);
RcRoom *rc_registry_lookup (RcRegistry *registry, const char *id); /* transfer none */
RcRoom *rc_registry_find_by_name (RcRegistry *registry, const char *name);
/* Tells guests (roomClosed), removes them, and erases the room from the store. */
void rc_registry_delete_room (RcRegistry *registry, RcRoom *room);
/* A cluster lost the room's lease: tells guests (roomClosed, reason
 * "moved": join again, through any node), removes them and frees the room
 * here, erasing nothing (its writes are refused by then). */
void rc_registry_forget_room (RcRegistry *registry, const char *id);

/* Rooms ordered by guest count (desc), then newest first. Transfer container. */
GPtrArray *rc_registry_list (RcRegistry *registry);
guint rc_registry_get_room_count (RcRegistry *registry);
guint rc_registry_get_guest_count (RcRegistry *registry);
/* The rooms' settings' metrics (may be NULL); borrowed. */
RcMetrics *rc_registry_get_metrics (RcRegistry *registry);
/* The WebRTC guests' engine (NULL with --webrtc-fanout webrtcbin); borrowed. */
RcFanout *rc_registry_get_fanout (RcRegistry *registry);

G_END_DECLS

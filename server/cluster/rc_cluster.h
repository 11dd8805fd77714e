/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcCluster: this node's place among roomcast nodes sharing one Redis
 * (--cluster). It registers the node with its load in a key that expires
 * (a heartbeat renews it), lists the live nodes, and holds room leases: a
 * room is served by the one node whose lease `room-lease:{id}` names it,
 * and each acquisition increments the room's fencing epoch
 * `room-epoch:{id}`, which the store then checks on every write under
 * `room:{id}:` (rc_store_fence), so a node that lost a lease can never write
 * the room's state again. Keys and expiries: docs/architecture.md.
 *
 * It speaks through the store's own Redis link (rc_store_eval): lease
 * acquisition and the room's first fenced writes are then ordered on one
 * connection, and the reconnect logic exists once. Main context only.
 */
typedef struct _RcCluster RcCluster;

/* This node's load, as the heartbeat publishes it. */
typedef struct
{
  guint rooms;
  guint guests;
} RcClusterLoad;

typedef void (*RcClusterLoadFunc) (RcClusterLoad *load, gpointer user_data);
/* A lease this node held was taken by another node (this one was frozen or
 * cut off from Redis past its lease): stop serving @room_id; its writes are
 * refused already. */
typedef void (*RcClusterLostFunc) (RcCluster *cluster, const char *room_id, gpointer user_data);

typedef struct
{
  char *id;
  char *url;
  guint rooms;
  guint guests;
  double cpu; /* share of one core over the last heartbeat */
  gint64 started_at; /* ms since the epoch */
} RcClusterNode;

void rc_cluster_node_free (RcClusterNode *node);

/* @nodes: RcClusterNode*, live ones only, by id. Transfer none. */
typedef void (*RcClusterNodesFunc) (RcCluster *cluster, GPtrArray *nodes, const GError *error,
                                    gpointer user_data);

typedef enum
{
  RC_CLUSTER_CLAIM_OURS,      /* this node holds the lease now, with `epoch` */
  RC_CLUSTER_CLAIM_ELSEWHERE, /* another node holds it; `owner_url` NULL: that node is gone */
  RC_CLUSTER_CLAIM_NO_ROOM,   /* the store has no such room (nothing was taken) */
} RcClusterClaimResult;

typedef struct
{
  RcClusterClaimResult result;
  guint64 epoch;
  const char *owner_id;
  const char *owner_url;
} RcClusterClaim;

typedef void (*RcClusterAcquireFunc) (RcCluster *cluster, const char *room_id,
                                      const RcClusterClaim *claim, const GError *error,
                                      gpointer user_data);

/* A room as the store knows it, for nodes that do not serve it. */
typedef struct
{
  char *id;
  char *state;     /* room:{id}:state, as stored */
  char *owner_id;  /* NULL: nobody holds the lease */
  char *owner_url; /* NULL: no lease, or its node is gone */
  guint viewers;   /* members of room:{id}:viewers */
} RcClusterRoom;

/* @rooms: RcClusterRoom*. Transfer none. */
typedef void (*RcClusterRoomsFunc) (RcCluster *cluster, GPtrArray *rooms, const GError *error,
                                    gpointer user_data);

/* @lease_ms: a lease's life; the heartbeat runs every third of it. */
RcCluster *rc_cluster_new (RcStore *store, guint lease_ms);
RcCluster *rc_cluster_ref (RcCluster *cluster);
void rc_cluster_unref (RcCluster *cluster);

/* Registers the node as @node_url and starts the heartbeat; @load and @lost
 * are called on the main context until rc_cluster_stop. */
void rc_cluster_start (RcCluster *cluster, const char *node_url, RcClusterLoadFunc load,
                       RcClusterLostFunc lost, gpointer user_data);
/* Gives back every lease and unregisters (other nodes may take the rooms at
 * once), after the store writes issued before it. */
void rc_cluster_stop (RcCluster *cluster);
/* Publishes the load now (after a room was made here). */
void rc_cluster_heartbeat_now (RcCluster *cluster);

const char *rc_cluster_get_node_id (RcCluster *cluster);
const char *rc_cluster_get_node_url (RcCluster *cluster); /* NULL before start */
guint rc_cluster_get_lease_ms (RcCluster *cluster);

void rc_cluster_list_nodes (RcCluster *cluster, RcClusterNodesFunc func, gpointer user_data);
/* The node a new room should go to: fewest guests, then fewest rooms, then
 * the smallest id. NULL for an empty list. */
RcClusterNode *rc_cluster_least_loaded (GPtrArray *nodes);

/*
 * Takes @room_id's lease if nobody holds it (incrementing its epoch and
 * fencing the store's writes under room:{id}: with it), or says who does.
 * With @create the room need not exist in the store yet; without it a room
 * the store does not know is RC_CLUSTER_CLAIM_NO_ROOM.
 */
void rc_cluster_acquire (RcCluster *cluster, const char *room_id, gboolean create,
                         RcClusterAcquireFunc func, gpointer user_data);
/*
 * The lease of a room being made here with the fresh id @room_id: its epoch
 * is 1 and the store's writes are fenced with it at once, so the room is
 * saved without waiting; the lease request goes first on the store's link,
 * so Redis applies it before those writes. Should Redis refuse it (the id
 * was used before), the writes are refused too and the lease counts as lost.
 */
void rc_cluster_acquire_new (RcCluster *cluster, const char *room_id);
gboolean rc_cluster_holds (RcCluster *cluster, const char *room_id);
/* Gives the lease back (this node stops serving the room, or with @erased
 * the room was deleted: its epoch goes too): from now on the store drops
 * this node's writes under room:{id}:. */
void rc_cluster_release (RcCluster *cluster, const char *room_id, gboolean erased);

/* Every room the store knows (@room_id NULL) or just that one, with its owner. */
void rc_cluster_list_rooms (RcCluster *cluster, const char *room_id, RcClusterRoomsFunc func,
                            gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcCluster, rc_cluster_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcClusterNode, rc_cluster_node_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcRelay: signalling between the nodes of a cluster over Redis pub/sub.
 * Each node subscribes to its own channel `relay:{nodeId}` and publishes to
 * another node's; a message carries one WebSocket text for one guest
 * session (its id on the guest's node), or a room's broadcast once for
 * all of that node's guests in the room. It is transport only: what the
 * messages mean is the signalling floor's (signalling/rc_session_relay.c).
 * Two links of its own to the store's Redis (RcRedisLink): a subscribed
 * connection takes no other commands. Why pub/sub, and what is lost when a
 * link drops: docs/architecture.md, "Signalling across nodes". Main
 * context only.
 */
typedef struct _RcRelay RcRelay;

typedef enum
{
  RC_RELAY_UP,     /* guest's node → room's node: a text the guest sent */
  RC_RELAY_DOWN,   /* room's node → guest's node: a text for the guest */
  RC_RELAY_CLOSE,  /* either way: the guest's session ended on the sender */
  RC_RELAY_RESYNC, /* guest's node → room's node: send the guest its whole state again */
  RC_RELAY_BACK,   /* room's node → guest's node: this join is for a room served elsewhere:
                    * end the relaying and handle it there */
  RC_RELAY_IN,     /* room's node → guest's node: the guest is in room @room now */
  RC_RELAY_OUT,    /* room's node → guest's node: the guest is in no room any more */
  RC_RELAY_ROOM,   /* room's node → guest's node: a broadcast of room @room, for each of
                    * that node's guests in it (@sid, if any: the one left out) */
} RcRelayOp;

/* The longest relayed WebSocket text (a message bigger than any
 * --max-message-bytes a node takes and any reply it sends). */
#define RC_RELAY_MAX_TEXT (4 * 1024 * 1024)

typedef struct
{
  RcRelayOp op;
  char *from; /* the sending node's id */
  char *sid;  /* the session's id on the guest's node; ROOM: may be NULL */
  char *room; /* IN, ROOM: the room's id */
  char *addr; /* UP only, may be NULL: the guest's address (per-address limits) */
  char *msg;  /* UP, DOWN, BACK, ROOM: the WebSocket text; RESYNC: the join, may be NULL */
} RcRelayMessage;

void rc_relay_message_clear (RcRelayMessage *message);
/* Reads one relayed message (it comes from another node: any bytes are
 * refused with a clear error, never a crash). */
gboolean rc_relay_message_parse (const char *data, gsize length, RcRelayMessage *message,
                                 GError **error);
char *rc_relay_message_serialise (const RcRelayMessage *message);

typedef void (*RcRelayReceiveFunc) (RcRelay *relay, const RcRelayMessage *message,
                                    gpointer user_data);
/* Both links are up again after one of them was lost: messages may have
 * been missed meanwhile, both ways. */
typedef void (*RcRelayHealedFunc) (RcRelay *relay, gpointer user_data);
/* @receivers: nodes that got the message (0: the other node is not
 * listening), -1: it could not be sent. */
typedef void (*RcRelaySentFunc) (RcRelay *relay, gint64 receivers, gpointer user_data);

/* NULL when @store has no Redis behind it. */
RcRelay *rc_relay_new (RcStore *store, const char *node_id);
void rc_relay_free (RcRelay *relay);

/* Subscribes; @receive and @healed run on the main context until _free. */
void rc_relay_start (RcRelay *relay, RcRelayReceiveFunc receive, RcRelayHealedFunc healed,
                     gpointer user_data);
/* From now on nothing is called back: received messages are dropped and
 * pending sends' @sent is skipped (their data still freed). Its user stops. */
void rc_relay_stop (RcRelay *relay);
const char *rc_relay_get_node_id (RcRelay *relay);
/* Messages read that were refused (malformed), for tests and logs. */
guint64 rc_relay_get_refused (RcRelay *relay);

/*
 * Publishes @message (its `from` is set to this node) to @node_id's
 * channel. FALSE at once when the publishing link is down; else @sent
 * (may be NULL) runs once with how many nodes received it. @sent_data is
 * freed with @sent_free after @sent ran (or at once on FALSE).
 */
gboolean rc_relay_send (RcRelay *relay, const char *node_id, RcRelayMessage *message,
                        RcRelaySentFunc sent, gpointer sent_data, GDestroyNotify sent_free);

G_END_DECLS

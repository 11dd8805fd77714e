/* SPDX-License-Identifier: MIT */
/*
 * Signalling across the nodes of a cluster. A guest may connect to any node;
 * the node holding the room's lease stays its only authority. Rather than
 * teach every handler about other nodes, the guest's node forwards the
 * guest's texts unchanged and the room's node runs them in a session
 * without a socket whose output is published back: permissions, rate
 * limits, validation, replies, errors and every broadcast are then the
 * room's node's own, byte for byte. A room's broadcast is the exception
 * in transport only: it crosses once per node, which hands it to those of
 * its sessions the room's node has in the room (the groups below).
 * Ordering rule: a session is relayed to one node at a time; a `join` (the
 * only request that may change the node) first ends the relaying, then is
 * handled here as on any node.
 *
 * What a lost Redis link costs, and how guests are made whole again (a
 * resync: the room's node sends the guest's initialState again, or joins
 * it again if it forgot the guest): docs/architecture.md.
 */
#include "signalling/rc_session_relay.h"
#include "signalling/rc_session-private.h"
#include "signalling/rc_session_edges.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_secret.h"
#include "server/rooms/rc_history.h"

#include <string.h>

#define SESSION_ID_LENGTH 12
/* A guest's node whose key has been missing from this many listings in a
 * row (one a lease apart) is gone: its remote sessions end. */
#define DEAD_NODE_LISTINGS 3
/* Closes kept while Redis is away (one per guest who left meanwhile). */
#define MAX_UNSENT_CLOSES 100000

struct _RcSessionRelay
{
  const RcSessionHost *host;
  RcRelay *relay;
  GHashTable *relayed; /* sid -> RcSession* (borrowed): this node's guests relayed elsewhere */
  GHashTable *remote;  /* "node/sid" -> RcSession* (owned): other nodes' guests of rooms here */
  GHashTable *groups;  /* "node/room" -> Group* (owned): those guests by node and room */
  GHashTable *missing; /* node id -> listings it was missing from */
  guint sweep_id;
  struct _Listing *listing; /* the node listing on its way, or NULL */
  /* "node/sid" of sessions whose close could not be sent (Redis away):
   * sent once the links are back, or the room's node would keep a guest
   * that is gone. */
  GPtrArray *unsent_closes;
  gboolean stopping;
  /* This node as an edge of rooms served elsewhere: its relayed guests'
   * audio. */
  RcSessionEdges *edges;
};

/* ---- the room's node: remote sessions ----------------------------------- */

typedef struct
{
  RcSessionRelay *self;
  char *node;
  char *sid;
} RemoteSink;

static void
remote_sink_free (gpointer data)
{
  RemoteSink *sink = data;

  g_free (sink->node);
  g_free (sink->sid);
  g_free (sink);
}

static void
send_op (RcSessionRelay *self, const char *node, RcRelayOp op, const char *sid, const char *text)
{
  RcRelayMessage message = { .op = op, .sid = (char *) sid, .msg = (char *) text };

  if (!rc_relay_send (self->relay, node, &message, NULL, NULL, NULL))
    {
      g_debug ("Relay: no link to send a message for session %s to node %s", sid, node);
      if (op == RC_RELAY_CLOSE && self->unsent_closes->len < MAX_UNSENT_CLOSES)
        g_ptr_array_add (self->unsent_closes, g_strconcat (node, "/", sid, NULL));
    }
  g_free (message.from); /* set by rc_relay_send */
}

/* A remote session's output: to its guest's node. */
static void
remote_output (RcSession *session, const char *text, gsize length, gpointer user_data)
{
  RemoteSink *sink = user_data;

  send_op (sink->self, sink->node, RC_RELAY_DOWN, sink->sid, text);
}

static char *
remote_key (const char *node, const char *sid)
{
  return g_strconcat (node, "/", sid, NULL);
}

static RcSession *
remote_session_new (RcSessionRelay *self, const RcRelayMessage *message)
{
  RemoteSink *sink = g_new0 (RemoteSink, 1);
  g_autofree char *peer = remote_key (message->from, message->sid);
  RcSession *session;

  sink->self = self;
  sink->node = g_strdup (message->from);
  sink->sid = g_strdup (message->sid);
  session = rc_session_new_detached (self->host, peer, remote_output, sink);
  session->sink_free = remote_sink_free;
  session->remote_node = g_strdup (message->from);
  session->sid = g_strdup (message->sid);
  if (message->addr != NULL)
    {
      g_free (session->address);
      session->address = g_strdup (message->addr);
    }
  g_hash_table_insert (self->remote, g_steal_pointer (&peer), session);
  return session;
}

/* ---- the room's node: a room's guests on another node ------------------ */

/*
 * A room's broadcast crosses Redis once per node that has guests in the
 * room, not once per guest: the room hands it to the group of the guests
 * of one node (RcGuestGroup), which publishes it once (RC_RELAY_ROOM), and
 * that node gives it to each of its sessions the room's node has in the
 * room. Which those are, the room's node says as it happens (RC_RELAY_IN
 * as a guest enters, before anything the room then sends; RC_RELAY_OUT as
 * it leaves), on the same link as everything else, so that node delivers
 * a broadcast to exactly the guests the room's node would have sent it to.
 */
typedef struct
{
  RcGuestGroup base; /* first */
  RcSessionRelay *self;
  char *key; /* "node/room" */
  char *node;
  char *room;
  guint members;
} Group;

static void
group_free (gpointer data)
{
  Group *group = data;

  g_free (group->key);
  g_free (group->node);
  g_free (group->room);
  g_free (group);
}

/* The session of a remote guest (its send_data, rc_handlers.c). */
static const char *
sid_of (RcGuest *guest)
{
  return ((RcSession *) guest->send_data)->sid;
}

static void
send_in (RcSessionRelay *self, RcSession *session)
{
  Group *group = (Group *) session->guest->group;
  RcRelayMessage message = { .op = RC_RELAY_IN, .sid = session->sid, .room = group->room };

  if (!rc_relay_send (self->relay, group->node, &message, NULL, NULL, NULL))
    g_debug ("Relay: no link to tell node %s that %s is in room %s", group->node, session->sid,
             group->room);
  g_free (message.from);
}

static void
group_send_text (RcGuestGroup *base, const char *text, gsize length, RcGuest *except)
{
  Group *group = (Group *) base;
  RcRelayMessage message = { .op = RC_RELAY_ROOM,
                             .sid = except != NULL ? (char *) sid_of (except) : NULL,
                             .room = group->room,
                             .msg = (char *) text };

  /* Lost when Redis is away, as per-guest texts are: the heal resyncs. */
  if (!rc_relay_send (group->self->relay, group->node, &message, NULL, NULL, NULL))
    g_debug ("Relay: no link to send room %s's broadcast to node %s", group->room, group->node);
  g_free (message.from);
}

static void
group_entered (RcGuestGroup *base, RcGuest *guest)
{
  Group *group = (Group *) base;

  group->members++;
  send_in (group->self, guest->send_data);
}

static void
group_left (RcGuestGroup *base, RcGuest *guest)
{
  Group *group = (Group *) base;

  send_op (group->self, group->node, RC_RELAY_OUT, sid_of (guest), NULL);
  guest->group = NULL;
  if (--group->members == 0)
    g_hash_table_remove (group->self->groups, group->key);
}

RcGuestGroup *
rc_session_relay_group (RcSessionRelay *self, RcSession *session, RcRoom *room)
{
  g_autofree char *key = g_strconcat (session->remote_node, "/", rc_room_get_id (room), NULL);
  Group *group = g_hash_table_lookup (self->groups, key);

  if (group == NULL)
    {
      group = g_new0 (Group, 1);
      group->base.send_text = group_send_text;
      group->base.entered = group_entered;
      group->base.left = group_left;
      group->self = self;
      group->key = g_steal_pointer (&key);
      group->node = g_strdup (session->remote_node);
      group->room = g_strdup (rc_room_get_id (room));
      g_hash_table_insert (self->groups, group->key, group);
    }
  return &group->base;
}

/* The guest's whole state as a join gives it, without joining again. */
static void
send_snapshot (RcSession *session)
{
  g_autoptr (JsonNode) state = NULL;

  if (session->guest == NULL || session->guest->room == NULL)
    return;
  /* Its node may have missed that it is in the room (it forgets on a heal). */
  if (session->guest->group != NULL)
    send_in (session->host->relay, session);
  state = rc_handlers_initial_state (session, session->guest->room);
  rc_session_send (session, state);
  rc_history_send (session->guest->room, session->guest);
}

static void
on_resync (RcSessionRelay *self, RcSession *session, const RcRelayMessage *message)
{
  if (session != NULL && session->guest != NULL && session->guest->room != NULL)
    {
      send_snapshot (session);
      return;
    }
  /* Forgotten here (the guest's node looked gone, or the room moved here
   * meanwhile): its join again, which answers with initialState too. */
  if (message->msg == NULL)
    return;
  if (session == NULL)
    session = remote_session_new (self, message);
  if (session->joining == NULL)
    rc_session_receive_text (session, message->msg, strlen (message->msg));
}

static void
on_from_guest_node (RcSessionRelay *self, const RcRelayMessage *message)
{
  g_autofree char *key = remote_key (message->from, message->sid);
  RcSession *session = g_hash_table_lookup (self->remote, key);

  switch (message->op)
    {
    case RC_RELAY_UP:
      if (session == NULL)
        session = remote_session_new (self, message);
      rc_session_receive_text (session, message->msg, strlen (message->msg));
      break;
    case RC_RELAY_CLOSE:
      g_hash_table_remove (self->remote, key); /* leaves the room */
      break;
    case RC_RELAY_RESYNC:
      on_resync (self, session, message);
      break;
    case RC_RELAY_DOWN:
    case RC_RELAY_BACK:
    case RC_RELAY_IN:
    case RC_RELAY_OUT:
    case RC_RELAY_ROOM:
      break;
    }
}

/* ---- the guest's node: relayed sessions --------------------------------- */

static void
relay_end (RcSessionRelay *self, RcSession *session, gboolean tell)
{
  rc_session_edges_stop (self->edges, session);
  if (session->relay_node == NULL)
    return;
  if (tell)
    send_op (self, session->relay_node, RC_RELAY_CLOSE, session->sid, NULL);
  g_hash_table_remove (self->relayed, session->sid);
  session->relay_in = FALSE;
  g_clear_pointer (&session->relay_node, g_free);
  g_clear_pointer (&session->relay_join, g_free);
  g_clear_pointer (&session->relay_room, g_free);
}

static void
on_from_room_node (RcSessionRelay *self, const RcRelayMessage *message)
{
  RcSession *session = g_hash_table_lookup (self->relayed, message->sid);

  /* Only the node the session is relayed to speaks for it. */
  if (session == NULL || g_strcmp0 (session->relay_node, message->from) != 0)
    {
      if (message->op != RC_RELAY_CLOSE)
        send_op (self, message->from, RC_RELAY_CLOSE, message->sid, NULL);
      return;
    }
  switch (message->op)
    {
    case RC_RELAY_DOWN:
      if (rc_session_edges_down (self->edges, session, message->msg))
        rc_session_send_text (session, message->msg, strlen (message->msg));
      break;
    case RC_RELAY_IN:
      session->relay_in = g_strcmp0 (message->room, session->relay_room) == 0;
      break;
    case RC_RELAY_OUT:
      session->relay_in = FALSE;
      break;
    case RC_RELAY_BACK:
      /* A join the room's node does not serve: it is this node's again. */
      relay_end (self, session, TRUE);
      g_free (session->relay_back);
      session->relay_back = g_strdup (message->from);
      rc_session_receive_text (session, message->msg, strlen (message->msg));
      break;
    default:
      relay_end (self, session, FALSE); /* the room's node ended it */
      break;
    }
}

/* A room's broadcast from its node: to each session of this node that
 * node has in the room, but the one it leaves out. Walks this node's
 * relayed sessions: most of them are the guests of the room anyway. */
static void
on_room_broadcast (RcSessionRelay *self, const RcRelayMessage *message)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr (GPtrArray) to = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, self->relayed);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcSession *session = value;

      if (session->relay_in && g_strcmp0 (session->relay_node, message->from) == 0
          && g_strcmp0 (session->relay_room, message->room) == 0
          && g_strcmp0 (session->sid, message->sid) != 0)
        g_ptr_array_add (to, session);
    }
  /* (A send does not end a session's relaying: the walk above is safe.) */
  for (guint i = 0; i < to->len; i++)
    if (rc_session_edges_down (self->edges, to->pdata[i], message->msg))
      rc_session_send_text (to->pdata[i], message->msg, strlen (message->msg));
}

static void
on_receive (RcRelay *relay, const RcRelayMessage *message, gpointer user_data)
{
  RcSessionRelay *self = user_data;

  if (self->stopping)
    return;
  if (message->op == RC_RELAY_ROOM)
    on_room_broadcast (self, message);
  else if (message->op == RC_RELAY_DOWN || message->op == RC_RELAY_BACK
           || message->op == RC_RELAY_IN || message->op == RC_RELAY_OUT)
    on_from_room_node (self, message);
  else if (message->op == RC_RELAY_CLOSE && g_hash_table_contains (self->relayed, message->sid))
    on_from_room_node (self, message);
  else
    on_from_guest_node (self, message);
}

/* Messages may have been lost both ways: each relayed guest asks its room's
 * node for its state again, and each remote session here is sent it. */
static void
on_healed (RcRelay *relay, gpointer user_data)
{
  RcSessionRelay *self = user_data;
  g_autoptr (GPtrArray) closes = g_steal_pointer (&self->unsent_closes);
  GHashTableIter iter;
  gpointer value;
  guint resyncs = 0;

  self->unsent_closes = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < closes->len; i++)
    {
      char *node = closes->pdata[i];
      char *slash = strchr (node, '/');

      *slash = '\0';
      send_op (self, node, RC_RELAY_CLOSE, slash + 1, NULL);
    }
  g_hash_table_iter_init (&iter, self->relayed);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcSession *session = value;

      /* Until the room's node says again that it is in the room (with its
       * state): an RC_RELAY_OUT may have been lost. */
      session->relay_in = FALSE;
      send_op (self, session->relay_node, RC_RELAY_RESYNC, session->sid, session->relay_join);
      resyncs++;
    }
  g_hash_table_iter_init (&iter, self->remote);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcSession *session = value;

      /* One that left meanwhile: its `out` may not have gone. */
      if (session->guest == NULL || session->guest->room == NULL)
        send_op (self, session->remote_node, RC_RELAY_OUT, session->sid, NULL);
      else
        send_snapshot (session);
    }
  g_message ("Relay: links back; %u relayed guests resynced, %u remote guests sent their state",
             resyncs, g_hash_table_size (self->remote));
}

/* A relayed request, until Redis says whether the room's node got it. */
typedef struct
{
  RcSessionRelay *self;
  char *sid;
  JsonNode *request_id;
  char *node_url; /* a join's: where to send the guest if nobody listens */
} Pending;

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  g_free (pending->sid);
  g_clear_pointer (&pending->request_id, json_node_unref);
  g_free (pending->node_url);
  g_free (pending);
}

/* Nobody listens on the room's node's channel (it is dying, or its own
 * link to Redis is down): the request gets an answer all the same. */
static void
on_relayed (RcRelay *relay, gint64 receivers, gpointer user_data)
{
  Pending *pending = user_data;
  RcSession *session = g_hash_table_lookup (pending->self->relayed, pending->sid);
  g_autoptr (GError) error = NULL;

  if (receivers != 0 || session == NULL)
    return;
  if (pending->node_url != NULL)
    {
      /* The join: the guest may still reach that node itself. */
      relay_end (pending->self, session, FALSE);
      g_set_error_literal (&error, RC_ERROR, RC_ERROR_ROOM_ELSEWHERE,
                           "The room's node cannot be reached through this node: go there");
      rc_session_reply_error_at (session, error, pending->request_id, pending->node_url);
      return;
    }
  g_set_error_literal (&error, RC_ERROR, RC_ERROR_ROOM_MOVING,
                       "The room's node is not answering; try again in a few seconds");
  rc_session_reply_error (session, error, pending->request_id);
}

/* Sends @text of @session's guest to the room's node; FALSE when the link
 * to Redis is down. */
static gboolean
relay_up (RcSessionRelay *self, RcSession *session, const char *text, gsize length,
          const char *join_node_url)
{
  g_autoptr (JsonObject) request = rc_validate_parse_object (text, length, NULL);
  RcRelayMessage message = { .op = RC_RELAY_UP, .sid = session->sid, .addr = session->address };
  JsonNode *request_id = request != NULL ? json_object_get_member (request, "id") : NULL;
  Pending *pending = g_new0 (Pending, 1);
  gboolean sent;

  pending->self = self;
  pending->sid = g_strdup (session->sid);
  if (request_id != NULL && !JSON_NODE_HOLDS_NULL (request_id))
    pending->request_id = json_node_copy (request_id);
  pending->node_url = g_strdup (join_node_url);
  message.msg = g_strndup (text, length);
  sent = rc_relay_send (self->relay, session->relay_node, &message, on_relayed, pending,
                        pending_free);
  g_free (message.from);
  g_free (message.msg);
  if (!sent && join_node_url == NULL)
    {
      g_autoptr (GError) error = NULL;

      g_set_error_literal (&error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                           "The cluster's Redis is unreachable: the room's node cannot be told");
      rc_session_reply_error (session, error, request_id);
    }
  return sent;
}

gboolean
rc_session_relay_attach (RcSessionRelay *self, RcSession *session, const char *node_id,
                         const char *node_url, const char *room_id, const char *join_text)
{
  relay_end (self, session, TRUE);
  if (session->sid == NULL)
    session->sid = rc_secret_random_id (SESSION_ID_LENGTH);
  session->relay_node = g_strdup (node_id);
  if (!relay_up (self, session, join_text, strlen (join_text), node_url))
    {
      g_clear_pointer (&session->relay_node, g_free);
      return FALSE;
    }
  session->relay_join = g_strdup (join_text);
  session->relay_room = g_strdup (room_id);
  g_hash_table_insert (self->relayed, session->sid, session);
  return TRUE;
}

gboolean
rc_session_relay_intercept (RcSessionRelay *self, RcSession *session, const char *data,
                            gsize length)
{
  g_autofree char *rewritten = NULL;

  if (session->relay_node == NULL)
    return FALSE;
  if (!rc_session_edges_up (self->edges, session, data, length, &rewritten))
    return TRUE; /* answered here */
  if (rewritten != NULL)
    relay_up (self, session, rewritten, strlen (rewritten), NULL);
  else
    relay_up (self, session, data, length, NULL);
  return TRUE;
}

void
rc_session_relay_hand_back (RcSessionRelay *self, RcSession *session, const char *join_text)
{
  send_op (self, session->remote_node, RC_RELAY_BACK, session->sid, join_text);
}

void
rc_session_relay_detach (RcSessionRelay *self, RcSession *session)
{
  relay_end (self, session, TRUE);
}

/* ---- nodes that died ---------------------------------------------------- */

/* Tells @session's guest its room moved: join again (through this node,
 * which then finds where the room went). */
static void
send_moved (RcSession *session, const char *room_id)
{
  JsonObject *o;
  g_autoptr (JsonNode) closed = rc_json_message_new ("roomClosed", &o);

  if (room_id != NULL)
    json_object_set_string_member (o, "roomId", room_id);
  json_object_set_string_member (o, "reason", "moved");
  rc_session_send (session, closed);
}

/* The other node of @session: its guest's node for a remote session, its
 * room's node for a relayed one. */
static const char *
other_node (RcSession *session)
{
  return session->remote_node != NULL ? session->remote_node : session->relay_node;
}

/* Counts, once per listing, each node of @table's sessions that is not in
 * @alive; forgets the count of one that is. */
static void
count_missing (RcSessionRelay *self, GHashTable *table, GHashTable *alive, GHashTable *counted)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const char *node = other_node (value);
      guint missing;

      if (g_hash_table_contains (alive, node))
        {
          g_hash_table_remove (self->missing, node);
          continue;
        }
      if (!g_hash_table_add (counted, (gpointer) node))
        continue;
      missing = GPOINTER_TO_UINT (g_hash_table_lookup (self->missing, node));
      g_hash_table_insert (self->missing, g_strdup (node), GUINT_TO_POINTER (missing + 1));
    }
}

/* The keys of @table's sessions whose other node is gone. */
static GPtrArray *
gone_keys (RcSessionRelay *self, GHashTable *table)
{
  GPtrArray *gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (GPOINTER_TO_UINT (g_hash_table_lookup (self->missing, other_node (value)))
        >= DEAD_NODE_LISTINGS)
      g_ptr_array_add (gone, g_strdup (key));
  return gone;
}

/* A node missing from DEAD_NODE_LISTINGS listings in a row is gone: the
 * remote sessions of its guests end here (they leave their rooms), and
 * this node's guests relayed to it are told their room moved. */
/* A node listing on its way; the relay may be freed before it answers. */
typedef struct _Listing
{
  RcSessionRelay *self; /* NULL once the relay is gone */
} Listing;

static void
on_nodes (RcCluster *cluster, GPtrArray *nodes, const GError *error, gpointer user_data)
{
  g_autofree Listing *listing = user_data;
  RcSessionRelay *self = listing->self;
  g_autoptr (GHashTable) alive = NULL;
  g_autoptr (GHashTable) counted = NULL;
  g_autoptr (GPtrArray) gone_remote = NULL;
  g_autoptr (GPtrArray) gone_relayed = NULL;

  if (self == NULL)
    return;
  self->listing = NULL;
  if (error != NULL || self->stopping)
    return; /* Redis unreachable: nobody can be told dead */
  alive = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < nodes->len; i++)
    g_hash_table_add (alive, ((RcClusterNode *) nodes->pdata[i])->id);
  counted = g_hash_table_new (g_str_hash, g_str_equal);
  count_missing (self, self->remote, alive, counted);
  count_missing (self, self->relayed, alive, counted);

  gone_remote = gone_keys (self, self->remote);
  for (guint i = 0; i < gone_remote->len; i++)
    {
      g_message ("Relay: dropping remote guest %s, its node is gone",
                 (char *) gone_remote->pdata[i]);
      g_hash_table_remove (self->remote, gone_remote->pdata[i]);
    }
  gone_relayed = gone_keys (self, self->relayed);
  for (guint i = 0; i < gone_relayed->len; i++)
    {
      RcSession *session = g_hash_table_lookup (self->relayed, gone_relayed->pdata[i]);
      g_autofree char *room_id = g_strdup (session->relay_room);

      g_message ("Relay: the node serving guest %s's room is gone; telling it to join again",
                 (char *) gone_relayed->pdata[i]);
      relay_end (self, session, FALSE);
      send_moved (session, room_id);
    }
}

static gboolean
on_sweep (gpointer user_data)
{
  RcSessionRelay *self = user_data;
  RcCluster *cluster = rc_registry_get_cluster (self->host->registry);

  if (cluster != NULL && self->listing == NULL
      && (g_hash_table_size (self->remote) > 0 || g_hash_table_size (self->relayed) > 0))
    {
      self->listing = g_new0 (Listing, 1);
      self->listing->self = self;
      rc_cluster_list_nodes (cluster, on_nodes, self->listing);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- lifetime ----------------------------------------------------------- */

RcSessionRelay *
rc_session_relay_new (const RcSessionHost *host, RcRelay *relay)
{
  RcSessionRelay *self = g_new0 (RcSessionRelay, 1);
  RcCluster *cluster = rc_registry_get_cluster (host->registry);

  self->host = host;
  self->relay = relay;
  self->relayed = g_hash_table_new (g_str_hash, g_str_equal);
  self->remote = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) rc_session_free);
  self->groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, group_free);
  self->missing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->unsent_closes = g_ptr_array_new_with_free_func (g_free);
  self->edges = rc_session_edges_new (host);
  if (cluster != NULL)
    self->sweep_id = g_timeout_add (MAX (rc_cluster_get_lease_ms (cluster), 100), on_sweep, self);
  rc_relay_start (relay, on_receive, on_healed, self);
  return self;
}

void
rc_session_relay_stop (RcSessionRelay *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->stopping)
    return;
  g_hash_table_iter_init (&iter, self->remote);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcSession *session = value;

      if (session->guest == NULL || session->guest->room == NULL)
        continue;
      send_moved (session, rc_room_get_id (session->guest->room));
      send_op (self, session->remote_node, RC_RELAY_CLOSE, session->sid, NULL);
    }
  self->stopping = TRUE;
  g_hash_table_remove_all (self->remote);
}

void
rc_session_relay_free (RcSessionRelay *self)
{
  if (self == NULL)
    return;
  rc_session_relay_stop (self);
  g_clear_handle_id (&self->sweep_id, g_source_remove);
  if (self->listing != NULL)
    self->listing->self = NULL; /* freed by its callback */
  rc_relay_stop (self->relay); /* pending sends' Pending are freed, never called */
  g_hash_table_unref (self->remote);
  g_hash_table_unref (self->groups);
  g_hash_table_unref (self->relayed);
  g_hash_table_unref (self->missing);
  g_ptr_array_unref (self->unsent_closes);
  g_clear_pointer (&self->edges, rc_session_edges_free);
  g_free (self);
}

guint
rc_session_relay_get_remote_count (RcSessionRelay *self)
{
  return g_hash_table_size (self->remote);
}

guint
rc_session_relay_get_relayed_count (RcSessionRelay *self)
{
  return g_hash_table_size (self->relayed);
}

guint64
rc_session_relay_get_refused (RcSessionRelay *self)
{
  return rc_relay_get_refused (self->relay);
}

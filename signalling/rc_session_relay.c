/* SPDX-License-Identifier: MIT */
/*
 * Signalling across the nodes of a cluster. A guest may connect to any node;
 * the node holding the room's lease stays its only authority. Rather than
 * teach every handler about other nodes, the guest's node forwards the
 * guest's texts unchanged and the room's node runs them in a session
 * without a socket whose output is published back: permissions, rate
 * limits, validation, replies, errors and every broadcast are then the
 * room's node's own, byte for byte. Ordering rule: a session is relayed to
 * one node at a time; a `join` (the only request that may change the node)
 * first ends the relaying, then is handled here as on any node.
 *
 * What a lost Redis link costs, and how guests are made whole again (a
 * resync: the room's node sends the guest's initialState again, or joins
 * it again if it forgot the guest): docs/architecture.md.
 */
#include "signalling/rc_session_relay.h"
#include "signalling/rc_session-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_secret.h"
#include "server/rooms/rc_history.h"

#include <string.h>

#define SESSION_ID_LENGTH 12
/* A guest's node whose key has been missing from this many listings in a
 * row (one a lease apart) is gone: its remote sessions end. */
#define DEAD_NODE_LISTINGS 3

struct _RcSessionRelay
{
  const RcSessionHost *host;
  RcRelay *relay;
  GHashTable *relayed; /* sid -> RcSession* (borrowed): this node's guests relayed elsewhere */
  GHashTable *remote;  /* "node/sid" -> RcSession* (owned): other nodes' guests of rooms here */
  GHashTable *missing; /* node id -> listings it was missing from */
  guint sweep_id;
  gboolean stopping;
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
    g_debug ("Relay: no link to send a message for session %s to node %s", sid, node);
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

/* The guest's whole state as a join gives it, without joining again. */
static void
send_snapshot (RcSession *session)
{
  g_autoptr (JsonNode) state = NULL;

  if (session->guest == NULL || session->guest->room == NULL)
    return;
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
      break;
    }
}

/* ---- the guest's node: relayed sessions --------------------------------- */

static void
ensure_sid (RcSession *session)
{
  if (session->sid == NULL)
    session->sid = rc_secret_random_id (SESSION_ID_LENGTH);
}

static void
relay_end (RcSessionRelay *self, RcSession *session, gboolean tell)
{
  if (session->relay_node == NULL)
    return;
  if (tell)
    send_op (self, session->relay_node, RC_RELAY_CLOSE, session->sid, NULL);
  g_hash_table_remove (self->relayed, session->sid);
  g_clear_pointer (&session->relay_node, g_free);
  g_clear_pointer (&session->relay_join, g_free);
}

static void
on_from_room_node (RcSessionRelay *self, const RcRelayMessage *message)
{
  RcSession *session = g_hash_table_lookup (self->relayed, message->sid);

  /* Only the node the session is relayed to speaks for it. */
  if (session == NULL || g_strcmp0 (session->relay_node, message->from) != 0)
    {
      if (message->op == RC_RELAY_DOWN)
        send_op (self, message->from, RC_RELAY_CLOSE, message->sid, NULL);
      return;
    }
  if (message->op == RC_RELAY_DOWN)
    rc_session_send_text (session, message->msg, strlen (message->msg));
  else
    relay_end (self, session, FALSE); /* the room's node ended it */
}

static void
on_receive (RcRelay *relay, const RcRelayMessage *message, gpointer user_data)
{
  RcSessionRelay *self = user_data;

  if (self->stopping)
    return;
  if (message->op == RC_RELAY_DOWN)
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
  GHashTableIter iter;
  gpointer value;
  guint resyncs = 0;

  g_hash_table_iter_init (&iter, self->relayed);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcSession *session = value;

      send_op (self, session->relay_node, RC_RELAY_RESYNC, session->sid, session->relay_join);
      resyncs++;
    }
  g_hash_table_iter_init (&iter, self->remote);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    send_snapshot (value);
  g_message ("Relay: links back; %u relayed guests resynced, %u remote guests sent their state",
             resyncs, g_hash_table_size (self->remote));
}

gboolean
rc_session_relay_attach (RcSessionRelay *self, RcSession *session, const char *node_id,
                         const char *join_text)
{
  RcRelayMessage message = { .op = RC_RELAY_UP, .msg = (char *) join_text };
  gboolean sent;

  relay_end (self, session, TRUE);
  ensure_sid (session);
  message.sid = session->sid;
  message.addr = session->address;
  sent = rc_relay_send (self->relay, node_id, &message, NULL, NULL, NULL);
  g_free (message.from);
  if (!sent)
    return FALSE;
  session->relay_node = g_strdup (node_id);
  session->relay_join = g_strdup (join_text);
  g_hash_table_insert (self->relayed, session->sid, session);
  return TRUE;
}

/* What a relayed request whose answer cannot come gets. */
typedef struct
{
  RcSessionRelay *self;
  char *sid;
  JsonNode *request_id;
} Pending;

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  g_free (pending->sid);
  g_clear_pointer (&pending->request_id, json_node_unref);
  g_free (pending);
}

static void
on_relayed (RcRelay *relay, gint64 receivers, gpointer user_data)
{
  Pending *pending = user_data;
  RcSession *session = g_hash_table_lookup (pending->self->relayed, pending->sid);
  g_autoptr (GError) error = NULL;

  if (receivers > 0 || session == NULL)
    return;
  g_set_error_literal (&error, RC_ERROR, RC_ERROR_ROOM_MOVING,
                       "The room's node is not answering; try again in a few seconds");
  rc_session_reply_error (session, error, pending->request_id);
}

gboolean
rc_session_relay_intercept (RcSessionRelay *self, RcSession *session, const char *data,
                            gsize length)
{
  g_autoptr (JsonObject) request = NULL;
  RcRelayMessage message = { .op = RC_RELAY_UP };
  JsonNode *request_id = NULL;
  Pending *pending;
  gboolean sent;

  if (session->relay_node == NULL)
    return FALSE;
  request = rc_validate_parse_object (data, length, NULL);
  if (request != NULL)
    {
      request_id = json_object_get_member (request, "id");
      if (g_strcmp0 (rc_json_get_string (request, "type"), "join") == 0)
        {
          relay_end (self, session, TRUE);
          return FALSE;
        }
    }
  pending = g_new0 (Pending, 1);
  pending->self = self;
  pending->sid = g_strdup (session->sid);
  if (request_id != NULL && !JSON_NODE_HOLDS_NULL (request_id))
    pending->request_id = json_node_copy (request_id);
  message.sid = session->sid;
  message.addr = session->address;
  message.msg = g_strndup (data, length);
  sent = rc_relay_send (self->relay, session->relay_node, &message, on_relayed, pending,
                        pending_free);
  g_free (message.from);
  g_free (message.msg);
  if (!sent)
    {
      g_autoptr (GError) error = NULL;

      g_set_error_literal (&error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                           "The cluster's Redis is unreachable: the room's node cannot be told");
      rc_session_reply_error (session, error, request_id);
    }
  return TRUE;
}

void
rc_session_relay_detach (RcSessionRelay *self, RcSession *session)
{
  relay_end (self, session, TRUE);
}

/* ---- guests' nodes that died -------------------------------------------- */

static void
on_nodes (RcCluster *cluster, GPtrArray *nodes, const GError *error, gpointer user_data)
{
  RcSessionRelay *self = user_data;
  g_autoptr (GHashTable) alive = NULL;
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  if (error != NULL || self->stopping)
    return; /* Redis unreachable: nobody can be told dead */
  alive = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < nodes->len; i++)
    g_hash_table_add (alive, ((RcClusterNode *) nodes->pdata[i])->id);
  g_hash_table_iter_init (&iter, self->remote);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      RcSession *session = value;
      guint missing;

      if (g_hash_table_contains (alive, session->remote_node))
        {
          g_hash_table_remove (self->missing, session->remote_node);
          continue;
        }
      missing = GPOINTER_TO_UINT (g_hash_table_lookup (self->missing, session->remote_node));
      if (missing + 1 >= DEAD_NODE_LISTINGS)
        g_ptr_array_add (gone, g_strdup (key));
    }
  /* Count each missing node once per listing. */
  g_hash_table_iter_init (&iter, self->remote);
  {
    g_autoptr (GHashTable) counted = g_hash_table_new (g_str_hash, g_str_equal);

    while (g_hash_table_iter_next (&iter, NULL, &value))
      {
        const char *node = ((RcSession *) value)->remote_node;

        if (g_hash_table_contains (alive, node) || g_hash_table_contains (counted, node))
          continue;
        g_hash_table_add (counted, (gpointer) node);
        g_hash_table_insert (self->missing, g_strdup (node),
                             GUINT_TO_POINTER (
                               GPOINTER_TO_UINT (g_hash_table_lookup (self->missing, node)) + 1));
      }
  }
  for (guint i = 0; i < gone->len; i++)
    {
      g_message ("Relay: dropping remote guest %s, its node is gone", (char *) gone->pdata[i]);
      g_hash_table_remove (self->remote, gone->pdata[i]);
    }
}

static gboolean
on_sweep (gpointer user_data)
{
  RcSessionRelay *self = user_data;
  RcCluster *cluster = rc_registry_get_cluster (self->host->registry);

  if (cluster != NULL && g_hash_table_size (self->remote) > 0)
    rc_cluster_list_nodes (cluster, on_nodes, self);
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
  self->missing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
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
      RcRoom *room = session->guest != NULL ? session->guest->room : NULL;
      JsonObject *o;
      g_autoptr (JsonNode) closed = NULL;

      if (room == NULL)
        continue;
      closed = rc_json_message_new ("roomClosed", &o);
      json_object_set_string_member (o, "roomId", rc_room_get_id (room));
      json_object_set_string_member (o, "reason", "moved");
      rc_session_send (session, closed);
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
  g_hash_table_unref (self->remote);
  g_hash_table_unref (self->relayed);
  g_hash_table_unref (self->missing);
  g_free (self);
}

guint
rc_session_relay_get_remote_count (RcSessionRelay *self)
{
  return g_hash_table_size (self->remote);
}

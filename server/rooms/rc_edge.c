/* SPDX-License-Identifier: MIT */
/*
 * This node as an edge of rooms served elsewhere. Why it exists: a room's
 * WebSocket audio cannot cross Redis (every frame to every guest), and a
 * guest should not have to open a socket on the room's node for it; so the
 * room's node sends its packets once to this node (pipelines/
 * rc_relay_sink.c), and this node frames them for its own guests exactly
 * as the room's node would, with the origin's C: the guest's timeline
 * (sent by the room's node) maps them.
 *
 * Ordering rule: a listener is attached (the edge exists, its port goes to
 * the room's node with the startMedia) before it listens (its timeline has
 * reached its connection, so no frame comes before it), and the edge is
 * freed only after its last listener left the group, the branch before
 * the pipeline before the source.
 */
#include "server/rooms/rc_edge.h"
#include "server/core/rc_error.h"
#include "pipelines/rc_fanout_tap.h"
#include "pipelines/rc_net_clock.h"
#include "pipelines/rc_relay_source.h"
#include "pipelines/rc_room_pipeline.h"
#include "pipelines/rc_ws_branch.h"


typedef struct
{
  char *room_id;
  RcRelaySource *source;
  RcRoomPipeline *pipeline;
  GstClock *clock;      /* the room's node's (a network clock), or this node's */
  RcWsGroup *group;   /* made with the first listening peer */
  RcWsBranch *branch; /* idem */
  GPtrArray *peers;   /* RcWsPeer*, strong: those in the group */
  guint listeners;    /* attached, listening or not yet */
} Edge;

struct _RcEdges
{
  char *address;
  RcFanout *fanout; /* borrowed; NULL: no WebRTC guests here */
  GHashTable *edges; /* room id -> Edge* */
};

static void
edge_free (gpointer data)
{
  Edge *edge = data;

  g_clear_pointer (&edge->branch, rc_ws_branch_free);
  for (guint i = 0; edge->group != NULL && i < edge->peers->len; i++)
    rc_ws_group_remove (edge->group, edge->peers->pdata[i]);
  g_clear_pointer (&edge->group, rc_ws_group_free);
  g_ptr_array_unref (edge->peers);
  if (edge->source != NULL)
    {
      RcRelaySourceStats stats;

      rc_relay_source_get_stats (edge->source, &stats);
      g_message ("Room %s: the edge took %" G_GUINT64_FORMAT " packets (lost %" G_GUINT64_FORMAT
                 ", refused %" G_GUINT64_FORMAT "), transit p50 %.1f ms, p95 %.1f ms",
                 edge->room_id, stats.received, stats.lost, stats.refused + stats.wrong_token,
                 stats.transit_p50_ms, stats.transit_p95_ms);
    }
  g_clear_pointer (&edge->pipeline, rc_room_pipeline_free);
  g_clear_pointer (&edge->source, rc_relay_source_free);
  gst_clear_object (&edge->clock);
  g_free (edge->room_id);
  g_free (edge);
}

RcEdges *
rc_edges_new (const char *address, RcFanout *fanout)
{
  RcEdges *self = g_new0 (RcEdges, 1);

  self->address = g_strdup (address);
  self->fanout = fanout;
  self->edges = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, edge_free);
  return self;
}

void
rc_edges_free (RcEdges *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->edges);
  g_free (self->address);
  g_free (self);
}

const char *
rc_edges_get_address (RcEdges *self)
{
  return self->address;
}

guint
rc_edges_count (RcEdges *self)
{
  return g_hash_table_size (self->edges);
}

static Edge *
edge_new (RcEdges *self, const char *room_id, const char *clock_host, guint clock_port,
          GError **error)
{
  g_autoptr (GError) local = NULL;
  Edge *edge = g_new0 (Edge, 1);
  guint64 token = ((guint64) g_random_int () << 32) | g_random_int ();

  edge->room_id = g_strdup (room_id);
  edge->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_ws_peer_unref);
  /* C is carried, not re-stamped, so the guests' timing does not hang on
   * this clock; on the room's node's it makes the edge's running time the
   * room's server time and its transit a true figure. */
  edge->clock = clock_host != NULL && clock_port > 0
                  ? rc_net_clock_obtain (clock_host, clock_port)
                  : gst_system_clock_obtain ();
  edge->source = rc_relay_source_new (self->address, 0, token, &local);
  if (edge->source != NULL)
    edge->pipeline = rc_room_pipeline_new_relayed (
      room_id, rc_relay_source_get_element (edge->source), edge->clock, NULL, NULL, &local);
  if (edge->pipeline == NULL)
    {
      g_warning ("Room %s: cannot be an edge of it: %s", room_id, local->message);
      g_set_error_literal (error, RC_ERROR, RC_ERROR_MEDIA_FAILED,
                           "This node cannot relay the room's audio");
      edge_free (edge);
      return NULL;
    }
  g_message ("Room %s: this node is an edge of it, on %s port %u, on the clock of %s:%u", room_id,
             self->address, rc_relay_source_get_port (edge->source),
             clock_host != NULL ? clock_host : "this node", clock_port);
  return edge;
}

gboolean
rc_edges_attach (RcEdges *self, const char *room_id, const char *clock_host, guint clock_port,
                 guint *port, guint64 *token, GError **error)
{
  Edge *edge = g_hash_table_lookup (self->edges, room_id);

  if (edge == NULL)
    {
      if ((edge = edge_new (self, room_id, clock_host, clock_port, error)) == NULL)
        return FALSE;
      g_hash_table_insert (self->edges, edge->room_id, edge);
    }
  edge->listeners++;
  *port = rc_relay_source_get_port (edge->source);
  *token = rc_relay_source_get_token (edge->source);
  return TRUE;
}

/* Streaming thread: one message for every listener, framed once. */
static void
on_ws_message (GBytes *message, gpointer data)
{
  rc_ws_group_send (data, message);
}

/* A listener too slow for its audio loses it (the writer dropped it); its
 * guest hears nothing more until it asks again. */
static void
on_group_event (RcWsPeer *peer, RcWsGroupEvent event, gpointer data)
{
  Edge *edge = data;

  if (event == RC_WS_GROUP_DROPPED)
    g_message ("Room %s: an edge's listener could not keep up and lost its audio", edge->room_id);
}

void
rc_edges_listen (RcEdges *self, const char *room_id, RcWsPeer *peer)
{
  Edge *edge = g_hash_table_lookup (self->edges, room_id);

  if (edge == NULL || peer == NULL || g_ptr_array_find (edge->peers, peer, NULL))
    return;
  if (edge->group == NULL)
    {
      edge->group = rc_ws_group_new (rc_ws_peer_get_writer (peer), on_group_event, edge);
      edge->branch = rc_ws_branch_new (edge->pipeline, on_ws_message, edge->group);
    }
  g_ptr_array_add (edge->peers, rc_ws_peer_ref (peer));
  rc_ws_group_add (edge->group, peer);
}

void
rc_edges_detach (RcEdges *self, const char *room_id, RcWsPeer *peer)
{
  Edge *edge = g_hash_table_lookup (self->edges, room_id);
  guint index;

  if (edge == NULL)
    return;
  if (peer != NULL && g_ptr_array_find (edge->peers, peer, &index))
    {
      rc_ws_group_remove (edge->group, peer);
      g_ptr_array_remove_index_fast (edge->peers, index);
    }
  if (edge->listeners > 0)
    edge->listeners--;
  if (edge->listeners == 0)
    {
      g_message ("Room %s: this node is no longer an edge of it", room_id);
      g_hash_table_remove (self->edges, room_id);
    }
}

gboolean
rc_edges_has_webrtc (RcEdges *self)
{
  return self->fanout != NULL;
}

/* ---- WebRTC guests of an edge ------------------------------------------- */

struct _RcEdgeGuest
{
  RcFanoutGuest *fanout;
  RcEdgeGuestCallbacks callbacks;
  gpointer user_data;
};

static void
on_fanout_offer (RcFanoutGuest *fanout, const char *sdp, gpointer data)
{
  RcEdgeGuest *guest = data;

  guest->callbacks.offer (sdp, guest->user_data);
}

static void
on_fanout_failed (RcFanoutGuest *fanout, const char *reason, gpointer data)
{
  RcEdgeGuest *guest = data;

  guest->callbacks.failed (reason, guest->user_data);
}

static const RcFanoutGuestCallbacks fanout_callbacks = {
  .offer = on_fanout_offer,
  .failed = on_fanout_failed,
};

RcEdgeGuest *
rc_edges_add_webrtc (RcEdges *self, const char *room_id, const char *name,
                     const RcEdgeGuestCallbacks *callbacks, gpointer user_data, GError **error)
{
  Edge *edge = g_hash_table_lookup (self->edges, room_id);
  RcEdgeGuest *guest;

  if (edge == NULL || self->fanout == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_MEDIA_FAILED,
                           "This node cannot relay the room's audio over WebRTC");
      return NULL;
    }
  guest = g_new0 (RcEdgeGuest, 1);
  guest->callbacks = *callbacks;
  guest->user_data = user_data;
  guest->fanout = rc_fanout_guest_new (rc_fanout_tap_stream (self->fanout, edge->pipeline, room_id),
                                       name, &fanout_callbacks, guest);
  return guest;
}

gboolean
rc_edge_guest_set_answer (RcEdgeGuest *guest, const char *sdp, GError **error)
{
  return rc_fanout_guest_set_answer (guest->fanout, sdp, error);
}

gboolean
rc_edge_guest_add_ice (RcEdgeGuest *guest, guint mline_index, const char *candidate,
                       GError **error)
{
  return rc_fanout_guest_add_ice (guest->fanout, mline_index, candidate, error);
}

void
rc_edge_guest_free (RcEdgeGuest *guest)
{
  if (guest == NULL)
    return;
  rc_fanout_guest_free (guest->fanout);
  g_free (guest);
}

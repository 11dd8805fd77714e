/* SPDX-License-Identifier: MIT */
/*
 * A relayed guest's audio from its own node. Why it exists: a guest relayed
 * to another node for its room's signalling should not fetch the room's
 * audio from that node (WebSocket frames cannot cross Redis, and one node
 * cannot send every guest of a huge room its packets); so its node becomes
 * an edge of the room (server/rooms/rc_edge.c, fed once by the room's
 * node) and serves it itself. The room's node keeps every decision: it
 * accepts the startMedia (marked with this node's edge), times the guest
 * (timeline, D) and stops it; this file only watches the texts going by.
 *
 * WebSocket audio: the guest's connection joins the edge's frames once its
 * timeline has gone down. WebRTC audio: the room's node answers the
 * startMedia with mediaStarted (kept here: the guest waits for an offer),
 * this node's fan-out engine makes the offer from the edge's packets, and
 * the guest's answer and candidates stay here.
 *
 * Ordering rule, as on one node: the offer goes to the guest before its
 * first timeline (held here until then), and a session's edge listener is
 * freed only after its engine guest.
 */
#include "signalling/rc_session_edges.h"
#include "signalling/rc_session-private.h"
#include "signalling/rc_session_relay.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_edge.h"

#include <string.h>

/* The id of requests this node sends up for a guest (a stopMedia after its
 * engine gave up): their replies are not the guest's. */
#define EDGE_REQUEST_ID "rc-edge"

struct _RcSessionEdges
{
  const RcSessionHost *host;
  /* Made at the first need; NULL when this node's address is no IP
   * address the others can send to (tried then). */
  RcEdges *edges;
  gboolean tried;
};

RcSessionEdges *
rc_session_edges_new (const RcSessionHost *host)
{
  RcSessionEdges *self = g_new0 (RcSessionEdges, 1);

  self->host = host;
  return self;
}

void
rc_session_edges_free (RcSessionEdges *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->edges, rc_edges_free);
  g_free (self);
}

/* This node's edges, made at the first need from the address other nodes
 * know it by (its node URL's host, which must be an IP address). */
static RcEdges *
edges_of (RcSessionEdges *self)
{
  RcCluster *cluster = rc_registry_get_cluster (self->host->registry);
  const char *url = cluster != NULL ? rc_cluster_get_node_url (cluster) : NULL;
  g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (self->edges != NULL || self->tried || url == NULL)
    return self->edges;
  self->tried = TRUE;
  if (host != NULL && g_hostname_is_ip_address (host))
    self->edges = rc_edges_new (host, rc_registry_get_fanout (self->host->registry));
  else
    g_message ("Relay: this node's URL %s names no IP address: its guests get their audio "
               "from the room's node",
               url);
  return self->edges;
}

void
rc_session_edges_stop (RcSessionEdges *self, RcSession *session)
{
  g_autofree char *room = g_steal_pointer (&session->edge_room);

  /* The engine's guest before the listener: the edge may go with it. */
  g_clear_pointer (&session->edge_guest, rc_edge_guest_free);
  if (room != NULL && self->edges != NULL)
    rc_edges_detach (self->edges, room,
                     session->edge_listening && !session->edge_webrtc ? session->ws_peer : NULL);
  session->edge_listening = FALSE;
  session->edge_webrtc = FALSE;
  session->edge_offered = FALSE;
  g_clear_pointer (&session->edge_start_id, g_free);
  g_clear_pointer (&session->edge_timeline, g_free);
}

/* @message's "id" is @id (JSON text; NULL: none). */
static gboolean
has_id (JsonObject *message, const char *id)
{
  JsonNode *node = json_object_get_member (message, "id");
  g_autofree char *text = node != NULL ? rc_json_to_string (node) : NULL;

  return g_strcmp0 (text, id) == 0;
}

/* ---- WebRTC: this node's engine ---------------------------------------- */

static void
on_offer (const char *sdp, gpointer data)
{
  RcSession *session = data;
  JsonObject *o;
  g_autoptr (JsonNode) offer = rc_json_message_new ("offer", &o);
  g_autoptr (JsonNode) request_id
      = session->edge_start_id != NULL ? json_from_string (session->edge_start_id, NULL) : NULL;
  g_autofree char *timeline = g_steal_pointer (&session->edge_timeline);

  json_object_set_string_member (o, "sdp", sdp);
  rc_session_reply (session, offer, request_id);
  session->edge_offered = TRUE;
  if (timeline != NULL)
    rc_session_send_text (session, timeline, strlen (timeline));
}

/* The room's node is told to stop the guest's session (its reply is not
 * the guest's); that ends the edge here too, as the stopMedia goes by
 * rc_session_edges_up. */
static void
stop_up (RcSession *session)
{
  static const char stop[] = "{\"type\":\"stopMedia\",\"id\":\"" EDGE_REQUEST_ID "\"}";

  rc_session_relay_intercept (session->host->relay, session, stop, strlen (stop));
}

/* The guest could not connect or went silent: told, and its session ended. */
static void
on_failed (const char *reason, gpointer data)
{
  RcSession *session = data;
  JsonObject *o;
  g_autoptr (JsonNode) stopped = rc_json_message_new ("mediaStopped", &o);

  g_message ("Relay: guest %s's WebRTC audio from this edge failed: %s", session->sid, reason);
  json_object_set_string_member (o, "reason", "failed");
  rc_session_send (session, stopped);
  stop_up (session);
}

static const RcEdgeGuestCallbacks edge_guest_callbacks = {
  .offer = on_offer,
  .failed = on_failed,
};

/* The room's node accepted the startMedia: this node's engine takes the
 * guest; when it cannot, the guest is told and the room's node too. */
static void
webrtc_start (RcSessionEdges *self, RcSession *session)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) request_id = NULL;

  session->edge_listening = TRUE;
  session->edge_guest = rc_edges_add_webrtc (self->edges, session->edge_room, session->sid,
                                             &edge_guest_callbacks, session, &error);
  if (session->edge_guest != NULL)
    return;
  if (session->edge_start_id != NULL)
    request_id = json_from_string (session->edge_start_id, NULL);
  rc_session_reply_error (session, error, request_id);
  stop_up (session);
}

/* An answer or a candidate of a guest this node's engine serves. */
static void
webrtc_request (RcSession *session, JsonObject *request, const char *type)
{
  const RcHandler *handler = rc_handlers_lookup (type);
  JsonNode *request_id = json_object_get_member (request, "id");
  g_autoptr (GError) error = NULL;

  if (request_id != NULL && JSON_NODE_HOLDS_NULL (request_id))
    request_id = NULL;
  if (handler == NULL
      || (handler->params != NULL && !rc_validate_object (request, handler->params, &error)))
    {
      if (error == NULL)
        rc_error_set (&error, RC_ERROR_UNKNOWN_TYPE);
    }
  else if (session->edge_guest == NULL)
    rc_error_set (&error, RC_ERROR_NO_MEDIA);
  else if (g_str_equal (type, "answer"))
    rc_edge_guest_set_answer (session->edge_guest, rc_json_get_string (request, "sdp"), &error);
  else
    rc_edge_guest_add_ice (session->edge_guest,
                           (guint)rc_json_get_int (request, "sdpMLineIndex", 0),
                           rc_json_get_string (request, "candidate"), &error);
  if (error != NULL)
    rc_session_reply_error (session, error, request_id);
}

/* ---- up: the guest's requests ------------------------------------------ */

/* A startMedia this node can serve: attached to the room's edge here, the
 * request marked with it. */
static void
attach (RcSessionEdges *self, RcSession *session, JsonObject *request, gboolean webrtc)
{
  RcEdges *edges = edges_of (self);
  JsonObject *edge;
  guint port;
  guint64 token;
  g_autofree char *hex = NULL;

  if (edges == NULL || (webrtc && !rc_edges_has_webrtc (edges))
      || !rc_edges_attach (edges, session->relay_room, session->relay_clock_host,
                           session->relay_clock_port, &port, &token, NULL))
    return;
  edge = json_object_new ();
  hex = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", token);
  json_object_set_string_member (edge, "address", rc_edges_get_address (edges));
  json_object_set_int_member (edge, "port", port);
  json_object_set_string_member (edge, "token", hex);
  json_object_set_object_member (request, "edge", edge);
  session->edge_room = g_strdup (session->relay_room);
  session->edge_webrtc = webrtc;
  if (json_object_has_member (request, "id"))
    session->edge_start_id = rc_json_to_string (json_object_get_member (request, "id"));
}

gboolean
rc_session_edges_up (RcSessionEdges *self, RcSession *session, const char *text, gsize length,
                     char **rewritten)
{
  g_autoptr (JsonObject) request = rc_validate_parse_object (text, length, NULL);
  const char *type = request != NULL ? rc_json_get_string (request, "type") : NULL;
  const char *transport;
  g_autoptr (JsonNode) node = NULL;

  *rewritten = NULL;
  if (type == NULL)
    return TRUE;
  if (session->edge_webrtc && (g_str_equal (type, "answer") || g_str_equal (type, "ice")))
    {
      webrtc_request (session, request, type);
      return FALSE;
    }
  if (!g_str_equal (type, "startMedia") && !g_str_equal (type, "stopMedia")
      && !g_str_equal (type, "leave") && !g_str_equal (type, "join"))
    return TRUE;
  rc_session_edges_stop (self, session);
  if (!g_str_equal (type, "startMedia"))
    return TRUE;
  /* Only this node says where its guest takes audio. */
  json_object_remove_member (request, "edge");
  transport = rc_json_get_string (request, "transport");
  if (session->ws_peer != NULL && session->relay_room != NULL
      && (g_strcmp0 (transport, "ws") == 0 || g_strcmp0 (transport, "webrtc") == 0))
    attach (self, session, request, g_str_equal (transport, "webrtc"));
  node = json_node_init_object (json_node_alloc (), request);
  *rewritten = rc_json_to_string (node);
  return TRUE;
}

/* ---- down: what the room's node sends ---------------------------------- */

/* The room's node's clock, from the initialState it sent the guest: an
 * edge of the room runs on it. */
static void
note_clock (RcSession *session, const char *text)
{
  g_autoptr (JsonObject) o = NULL;
  JsonNode *clock;
  const char *host;

  if (strstr (text, "\"type\":\"initialState\"") == NULL
      || (o = rc_validate_parse_object (text, strlen (text), NULL)) == NULL
      || g_strcmp0 (rc_json_get_string (o, "type"), "initialState") != 0
      || (clock = json_object_get_member (o, "clock")) == NULL || !JSON_NODE_HOLDS_OBJECT (clock)
      || (host = rc_json_get_string (json_node_get_object (clock), "host")) == NULL)
    return;
  g_free (session->relay_clock_host);
  session->relay_clock_host = g_strdup (host);
  session->relay_clock_port
      = (guint)CLAMP (rc_json_get_int (json_node_get_object (clock), "port", 0), 0, 65535);
}

/* A text for a WebRTC guest of this node's engine: the room's mediaStarted
 * is this node's cue to offer, its timeline waits for the offer. */
static gboolean
webrtc_down (RcSessionEdges *self, RcSession *session, const char *type, const char *text)
{
  if (g_str_equal (type, "mediaStarted") && !session->edge_listening)
    {
      webrtc_start (self, session);
      return FALSE;
    }
  if (g_str_equal (type, "timeline") && !session->edge_offered)
    {
      g_free (session->edge_timeline);
      session->edge_timeline = g_strdup (text);
      return FALSE;
    }
  return TRUE;
}

gboolean
rc_session_edges_down (RcSessionEdges *self, RcSession *session, const char *text)
{
  g_autoptr (JsonObject) o = NULL;
  const char *type;

  note_clock (session, text);
  /* A cheap look first, since every text of a listening guest comes by (a
   * chat cannot hold the unescaped quotes looked for). */
  if (strstr (text, "\"id\":\"" EDGE_REQUEST_ID "\"") == NULL
      && (session->edge_room == NULL
          || (strstr (text, "\"type\":\"timeline\"") == NULL
              && strstr (text, "\"type\":\"mediaStarted\"") == NULL
              && strstr (text, "\"type\":\"mediaStopped\"") == NULL
              && (session->edge_listening || strstr (text, "\"type\":\"error\"") == NULL))))
    return TRUE;
  o = rc_validate_parse_object (text, strlen (text), NULL);
  type = o != NULL ? rc_json_get_string (o, "type") : NULL;
  if (type == NULL)
    return TRUE;
  if (has_id (o, "\"" EDGE_REQUEST_ID "\""))
    return FALSE; /* the reply to this node's own request */
  if (session->edge_room == NULL)
    return TRUE;
  if (g_str_equal (type, "mediaStopped"))
    rc_session_edges_stop (self, session);
  else if (g_str_equal (type, "error") && !session->edge_listening
           && has_id (o, session->edge_start_id))
    rc_session_edges_stop (self, session); /* its startMedia was refused */
  else if (session->edge_webrtc)
    return webrtc_down (self, session, type, text);
  else if (g_str_equal (type, "timeline") && !session->edge_listening)
    {
      /* Its timeline is on its connection: frames may follow. */
      rc_edges_listen (self->edges, session->edge_room, session->ws_peer);
      session->edge_listening = TRUE;
    }
  return TRUE;
}

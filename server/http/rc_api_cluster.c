/* SPDX-License-Identifier: MIT */
/*
 * The REST API in a cluster (--cluster): any node answers for every room.
 * Rooms served here answer as on a lone node; a room served by another
 * node is read from the store (its state, its owner, its guest count), and
 * a request that must change it is told where it lives (421, room_elsewhere,
 * with nodeUrl). A room nobody serves (its node died) is taken over by the
 * node asked, then the request is handled again as a local one.
 *
 * POST /api/rooms goes to the least loaded live node: this node makes the
 * room, or forwards the request to that node and relays its answer (the
 * client gets one answer, whose url points at the node; no redirect, so no
 * second origin the browser would need CORS for). A forwarded request
 * carries X-Roomcast-Forwarded and is always served where it lands.
 */
#include "server/http/rc_server.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"

#include <string.h>

#define FORWARD_HEADER "X-Roomcast-Forwarded"
#define FORWARD_TIMEOUT_S 5

typedef struct
{
  RcServer *server;
  SoupServerMessage *msg;
  char *path;
  char *id;
  char *bearer;
  RcApiCreateFunc create_here;
} Pending;

static Pending *
pending_new (RcServer *server, SoupServerMessage *msg)
{
  Pending *p = g_new0 (Pending, 1);

  p->server = server;
  p->msg = msg;
  p->bearer = rc_http_get_bearer (msg);
  rc_http_hold (msg);
  return p;
}

static void
pending_finish (Pending *p)
{
  rc_http_release (p->msg);
  g_free (p->path);
  g_free (p->id);
  g_free (p->bearer);
  g_free (p);
}

/* Answers @error when set, and then finishes @p. */
static gboolean
pending_failed (Pending *p, const GError *error)
{
  if (error == NULL)
    return FALSE;
  rc_http_send_gerror (p->msg, error);
  pending_finish (p);
  return TRUE;
}

static RcCluster *
cluster_of (RcServer *server)
{
  return rc_registry_get_cluster (rc_server_get_registry (server));
}

void
rc_api_cluster_add_node (RcServer *server, JsonObject *room, const char *owner_id,
                         const char *owner_url)
{
  JsonObject *node;

  if (owner_id == NULL)
    {
      json_object_set_null_member (room, "node");
      return;
    }
  node = json_object_new ();
  json_object_set_string_member (node, "id", owner_id);
  if (owner_url != NULL)
    json_object_set_string_member (node, "url", owner_url);
  else
    json_object_set_null_member (node, "url");
  json_object_set_object_member (room, "node", node);
}

/* A room served elsewhere, as REST shows it: from its stored state. */
static JsonNode *
remote_room_json (RcServer *server, const RcClusterRoom *cr, const char *bearer)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcRoom) room =
    rc_room_new_from_state (rc_server_get_store (server), cr->state, 1, &error);
  JsonNode *node;

  if (room == NULL)
    {
      g_debug ("Room %s: unreadable state in the store: %s", cr->id, error->message);
      return NULL;
    }
  node = rc_api_room_json (server, room, bearer);
  json_object_set_int_member (json_node_get_object (node), "guests", cr->viewers);
  rc_api_cluster_add_node (server, json_node_get_object (node), cr->owner_id, cr->owner_url);
  return node;
}

/* ---- GET /api/nodes ----------------------------------------------------- */

static void
on_nodes_listed (RcCluster *cluster, GPtrArray *nodes, const GError *error, gpointer user_data)
{
  Pending *p = user_data;
  JsonObject *o;
  g_autoptr (JsonNode) body = NULL;
  JsonArray *array;

  if (pending_failed (p, error))
    return;
  body = rc_json_message_new (NULL, &o);
  array = json_array_sized_new (nodes->len);
  for (guint i = 0; i < nodes->len; i++)
    {
      RcClusterNode *n = nodes->pdata[i];
      JsonObject *j = json_object_new ();

      json_object_set_string_member (j, "id", n->id);
      json_object_set_string_member (j, "url", n->url);
      json_object_set_int_member (j, "rooms", n->rooms);
      json_object_set_int_member (j, "guests", n->guests);
      json_object_set_double_member (j, "cpu", n->cpu);
      json_object_set_int_member (j, "startedAt", n->started_at);
      json_object_set_boolean_member (j, "self",
                                      g_str_equal (n->id, rc_cluster_get_node_id (cluster)));
      json_array_add_object_element (array, j);
    }
  json_object_set_array_member (o, "nodes", array);
  rc_http_send_json (p->msg, SOUP_STATUS_OK, body);
  pending_finish (p);
}

void
rc_api_nodes_handle (RcServer *server, SoupServerMessage *msg)
{
  RcCluster *cluster = cluster_of (server);

  if (!rc_http_require_get (msg))
    return;
  if (cluster == NULL)
    {
      /* Alone, not an error: the page asks after every connect. */
      JsonObject *o;
      g_autoptr (JsonNode) body = rc_json_message_new (NULL, &o);

      json_object_set_array_member (o, "nodes", json_array_new ());
      rc_http_send_json (msg, SOUP_STATUS_OK, body);
      return;
    }
  rc_cluster_list_nodes (cluster, on_nodes_listed, pending_new (server, msg));
}

/* ---- GET /api/rooms ----------------------------------------------------- */

static int
room_json_order (gconstpointer a, gconstpointer b)
{
  JsonObject *x = json_node_get_object (*(JsonNode *const *) a);
  JsonObject *y = json_node_get_object (*(JsonNode *const *) b);
  gint64 gx = json_object_get_int_member (x, "guests"), gy = json_object_get_int_member (y, "guests");
  gint64 cx = json_object_get_int_member (x, "createdAt");
  gint64 cy = json_object_get_int_member (y, "createdAt");

  if (gx != gy)
    return gx > gy ? -1 : 1;
  if (cx != cy)
    return cx > cy ? -1 : 1;
  return g_strcmp0 (json_object_get_string_member (x, "id"),
                    json_object_get_string_member (y, "id"));
}

static void
on_rooms_listed (RcCluster *cluster, GPtrArray *rooms, const GError *error, gpointer user_data)
{
  Pending *p = user_data;
  RcRegistry *registry = rc_server_get_registry (p->server);
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  JsonObject *o;
  g_autoptr (JsonNode) body = NULL;
  JsonArray *array;

  if (pending_failed (p, error))
    return;
  for (guint i = 0; i < rooms->len; i++)
    {
      RcClusterRoom *cr = rooms->pdata[i];
      RcRoom *here = rc_registry_lookup (registry, cr->id);
      JsonNode *node = here ? rc_api_room_json (p->server, here, p->bearer)
                            : remote_room_json (p->server, cr, p->bearer);

      if (node != NULL)
        g_ptr_array_add (nodes, node);
    }
  g_ptr_array_sort (nodes, room_json_order);
  body = rc_json_message_new (NULL, &o);
  array = json_array_sized_new (nodes->len);
  for (guint i = 0; i < nodes->len; i++)
    json_array_add_element (array, json_node_ref (nodes->pdata[i]));
  json_object_set_array_member (o, "rooms", array);
  rc_http_send_json (p->msg, SOUP_STATUS_OK, body);
  pending_finish (p);
}

void
rc_api_cluster_list_rooms (RcServer *server, SoupServerMessage *msg)
{
  rc_cluster_list_rooms (cluster_of (server), NULL, on_rooms_listed, pending_new (server, msg));
}

/* ---- a room that is not here -------------------------------------------- */

static void
on_room_viewed (RcCluster *cluster, GPtrArray *rooms, const GError *error, gpointer user_data)
{
  Pending *p = user_data;
  g_autoptr (JsonNode) body = NULL;

  if (error != NULL)
    rc_http_send_gerror (p->msg, error);
  else if (rooms->len == 0 || (body = remote_room_json (p->server, rooms->pdata[0], p->bearer)) == NULL)
    rc_http_send_error (p->msg, RC_ERROR_NOT_FOUND, "No room with that id");
  else
    rc_http_send_json (p->msg, SOUP_STATUS_OK, body);
  pending_finish (p);
}

static void
send_elsewhere (SoupServerMessage *msg, const GError *error, const char *owner_url,
                RcCluster *cluster)
{
  g_autoptr (JsonNode) body = rc_error_from_gerror (error, NULL);
  JsonObject *o = json_node_get_object (body);

  if (owner_url != NULL)
    json_object_set_string_member (o, "nodeUrl", owner_url);
  else
    {
      g_autofree char *after =
        g_strdup_printf ("%u", (rc_cluster_get_lease_ms (cluster) + 999) / 1000);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Retry-After", after);
    }
  rc_http_send_json (msg, rc_error_http_status ((int) json_object_get_int_member (o, "code")),
                     body);
  if (owner_url != NULL) /* libsoup has no phrase for 421 */
    soup_server_message_set_status (msg, SOUP_STATUS_MISDIRECTED_REQUEST, "Misdirected Request");
}

static void
on_room_claimed (RcRegistry *registry, RcRoom *room, const char *owner_id,
                 const char *owner_url, const GError *error, gpointer user_data)
{
  Pending *p = user_data;
  const char *method = soup_server_message_get_method (p->msg);
  gboolean plain_get = (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
                       && g_str_equal (p->path + strlen ("/api/rooms/"), p->id);

  if (room != NULL)
    rc_api_rooms_handle (p->server, p->msg, p->path); /* served here now */
  else if (plain_get && (g_error_matches (error, RC_ERROR, RC_ERROR_ROOM_ELSEWHERE)
                         || g_error_matches (error, RC_ERROR, RC_ERROR_ROOM_MOVING)))
    {
      /* Reading needs no owner: the store has the room. */
      rc_cluster_list_rooms (rc_registry_get_cluster (registry), p->id, on_room_viewed, p);
      return;
    }
  else if (g_error_matches (error, RC_ERROR, RC_ERROR_ROOM_ELSEWHERE)
           || g_error_matches (error, RC_ERROR, RC_ERROR_ROOM_MOVING))
    send_elsewhere (p->msg, error, owner_url, rc_registry_get_cluster (registry));
  else
    rc_http_send_gerror (p->msg, error);
  pending_finish (p);
}

void
rc_api_cluster_route_room (RcServer *server, SoupServerMessage *msg, const char *path,
                           const char *id)
{
  Pending *p = pending_new (server, msg);

  p->path = g_strdup (path);
  p->id = g_strdup (id);
  rc_registry_claim (rc_server_get_registry (server), id, on_room_claimed, p);
}

/* ---- POST /api/rooms ---------------------------------------------------- */

static void
on_forwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  SoupSession *session = SOUP_SESSION (source);
  SoupMessage *out = soup_session_get_async_result_message (session, result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = soup_session_send_and_read_finish (session, result, &error);

  if (bytes == NULL || out == NULL || soup_message_get_status (out) >= 500)
    {
      /* The node died since its last heartbeat: make the room here. */
      g_warning ("Cluster: forwarding a new room failed (%s); making it here",
                 error ? error->message : soup_message_get_reason_phrase (out));
      p->create_here (p->server, p->msg);
    }
  else
    {
      SoupMessageHeaders *in = soup_message_get_response_headers (out);
      SoupMessageHeaders *back = soup_server_message_get_response_headers (p->msg);
      const char *type = soup_message_headers_get_content_type (in, NULL);
      const char *location = soup_message_headers_get_one (in, "Location");
      gsize len = 0;
      const char *data = g_bytes_get_data (bytes, &len);

      if (location != NULL)
        soup_message_headers_replace (back, "Location", location);
      soup_message_headers_replace (back, "Cache-Control", "no-store");
      soup_server_message_set_status (p->msg, soup_message_get_status (out), NULL);
      soup_server_message_set_response (p->msg, type ? type : "application/json", SOUP_MEMORY_COPY,
                                        data, len);
    }
  g_object_unref (session);
  pending_finish (p);
}

static void
forward_create (Pending *p, const RcClusterNode *node)
{
  /* Node to node: straight there, never through the host's proxy settings. */
  SoupSession *session = soup_session_new_with_options ("timeout", FORWARD_TIMEOUT_S,
                                                        "proxy-resolver", NULL, NULL);
  g_autofree char *url = g_strdup_printf ("%s/api/rooms", node->url);
  g_autoptr (SoupMessage) out = soup_message_new ("POST", url);
  g_autoptr (GBytes) request = NULL;
  SoupMessageBody *body = soup_server_message_get_request_body (p->msg);

  if (out == NULL)
    {
      g_warning ("Cluster: node %s has an unusable URL \"%s\"; making the room here", node->id,
                 node->url);
      g_object_unref (session);
      p->create_here (p->server, p->msg);
      pending_finish (p);
      return;
    }
  request = soup_message_body_flatten (body);
  soup_message_set_request_body_from_bytes (out, "application/json", request);
  soup_message_headers_replace (soup_message_get_request_headers (out), FORWARD_HEADER,
                                rc_cluster_get_node_id (cluster_of (p->server)));
  if (p->bearer != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", p->bearer);

      soup_message_headers_replace (soup_message_get_request_headers (out), "Authorization", auth);
    }
  g_message ("Cluster: new room goes to node %s (%s)", node->id, node->url);
  soup_session_send_and_read_async (session, out, G_PRIORITY_DEFAULT, NULL, on_forwarded, p);
}

static void
on_nodes_for_create (RcCluster *cluster, GPtrArray *nodes, const GError *error,
                     gpointer user_data)
{
  Pending *p = user_data;
  RcClusterNode *best = error ? NULL : rc_cluster_least_loaded (nodes);

  if (best != NULL && !g_str_equal (best->id, rc_cluster_get_node_id (cluster)))
    {
      forward_create (p, best);
      return;
    }
  /* This node is the least loaded, or the only one Redis knows. */
  p->create_here (p->server, p->msg);
  pending_finish (p);
}

void
rc_api_cluster_create_room (RcServer *server, SoupServerMessage *msg,
                            RcApiCreateFunc create_here)
{
  Pending *p;

  if (soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                    FORWARD_HEADER) != NULL)
    {
      create_here (server, msg);
      return;
    }
  p = pending_new (server, msg);
  p->create_here = create_here;
  rc_cluster_list_nodes (cluster_of (server), on_nodes_for_create, p);
}

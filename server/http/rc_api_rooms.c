/* SPDX-License-Identifier: MIT */
/*
 * REST routes for rooms: list, create, get, delete. Bodies and errors are
 * JSON; error bodies reuse the signalling error table, so a client handles
 * "room not found" the same way whether it came over REST or /ws.
 */
#include "server/http/rc_server.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"
#include "server/core/rc_secret.h"
#include "server/rooms/rc_live.h"
#include "server/core/rc_text.h"
#include "server/core/rc_validate.h"

#include <string.h>

#define MAX_ROOM_NAME_CHARS 64

static const RcParam create_params[] = {
  { "name", RC_PARAM_STRING, TRUE, 1, 256 },
  { "password", RC_PARAM_STRING, FALSE, 0, 128 },
  RC_PARAMS_END,
};

/*
 * A password room keeps who is in it and what it plays to those it let in:
 * to anyone but its owner (Bearer owner token) REST shows counts only, no
 * guest names or ids, no now-playing. (Guests who joined see all of it over
 * /ws.) @bearer: the request's token or NULL.
 */
static gboolean
is_private_to (RcRoom *room, const char *bearer)
{
  return rc_room_has_password (room) && !rc_room_check_owner_token (room, bearer);
}

static RcCluster *
cluster_of (RcServer *server)
{
  return rc_registry_get_cluster (rc_server_get_registry (server));
}

JsonNode *
rc_api_room_json (RcServer *server, RcRoom *room, const char *bearer)
{
  JsonNode *node = rc_room_to_json (room);
  RcCluster *cluster = cluster_of (server);

  if (is_private_to (room, bearer))
    json_object_set_null_member (json_node_get_object (node), "nowPlaying");
  if (cluster != NULL && rc_cluster_holds (cluster, rc_room_get_id (room)))
    rc_api_cluster_add_node (server, json_node_get_object (node), rc_cluster_get_node_id (cluster),
                             rc_cluster_get_node_url (cluster));
  return node;
}

static void
list_rooms (RcServer *server, SoupServerMessage *msg)
{
  g_autoptr (GPtrArray) rooms = rc_registry_list (rc_server_get_registry (server));
  g_autofree char *bearer = rc_http_get_bearer (msg);
  JsonObject *o;
  g_autoptr (JsonNode) body = rc_json_message_new (NULL, &o);
  JsonArray *array = json_array_sized_new (rooms->len);

  for (guint i = 0; i < rooms->len; i++)
    json_array_add_element (array, rc_api_room_json (server, rooms->pdata[i], bearer));
  json_object_set_array_member (o, "rooms", array);
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

/* Makes the room here (the REST write budget was taken already). */
typedef struct
{
  SoupServerMessage *msg;
  JsonNode *body;
} CreatedRoom;

/* A new room's writes reached Redis (or failed: the room exists here and
 * its writes wait in the store's buffer, so it is made all the same). */
static void
on_created_stored (RcStore *store, const GError *error, gpointer user_data)
{
  CreatedRoom *created = user_data;

  rc_http_send_json (created->msg, SOUP_STATUS_CREATED, created->body);
  rc_http_release (created->msg);
  json_node_unref (created->body);
  g_free (created);
}

/* Makes the room @name (with @password_hash, or open) and answers @msg. */
static void
make_room (RcServer *server, SoupServerMessage *msg, const char *name, const char *password_hash)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  g_autoptr (JsonNode) body = NULL;
  RcRoom *room;
  RcCluster *cluster = cluster_of (server);

  room = rc_registry_create_room (rc_server_get_registry (server), name, password_hash, &token,
                                  &error);
  if (room == NULL)
    {
      rc_http_send_gerror (msg, error);
      return;
    }
  g_message ("Room %s \"%s\" created", rc_room_get_id (room), rc_room_get_name (room));

  body = rc_api_room_json (server, room, NULL);
  /* In a cluster the room's page is on its node: an absolute URL. */
  url = g_strdup_printf ("%s/room/%s", cluster ? rc_cluster_get_node_url (cluster) : "",
                         rc_room_get_id (room));
  if (cluster != NULL)
    {
      json_object_set_string_member (json_node_get_object (body), "nodeUrl",
                                     rc_cluster_get_node_url (cluster));
      rc_cluster_heartbeat_now (cluster); /* the next placement sees this room */
    }
  json_object_set_string_member (json_node_get_object (body), "ownerToken", token);
  json_object_set_string_member (json_node_get_object (body), "url", url);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location", url);
  if (cluster != NULL)
    {
      /* Every node reads rooms it does not serve from Redis: answer once
       * the room's first writes are there, so that a GET of the new room
       * on any node right after the 201 finds it (test_cluster's third
       * node once got a 404 in the gap). */
      CreatedRoom *created = g_new0 (CreatedRoom, 1);

      created->msg = msg;
      created->body = g_steal_pointer (&body);
      rc_http_hold (msg);
      rc_store_sync (rc_server_get_store (server), on_created_stored, created);
      return;
    }
  rc_http_send_json (msg, SOUP_STATUS_CREATED, body);
}

/* A password room waits for its password's hash, made on a worker thread
 * (PBKDF2: ~10 ms of CPU, which would stall every room on the main
 * context). */
typedef struct
{
  RcServer *server;
  SoupServerMessage *msg;
  char *name;
} HashingRoom;

static void
on_password_hashed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  HashingRoom *hashing = user_data;
  g_autofree char *hash = rc_secret_hash_password_finish (result, NULL);

  make_room (hashing->server, hashing->msg, hashing->name, hash);
  rc_http_release (hashing->msg);
  g_free (hashing->name);
  g_free (hashing);
}

static void
create_room (RcServer *server, SoupServerMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) request = NULL;
  g_autofree char *name = NULL;
  const char *password;
  HashingRoom *hashing;

  request = rc_http_read_json_object (msg, rc_server_get_config (server)->max_message_bytes,
                                      &error);
  if (request == NULL || !rc_validate_object (request, create_params, &error))
    {
      rc_http_send_gerror (msg, error);
      return;
    }
  name = rc_text_sanitize (rc_json_get_string (request, "name"), MAX_ROOM_NAME_CHARS);
  if (*name == '\0')
    {
      rc_http_send_error (msg, RC_ERROR_INVALID_PARAM, "\"name\" must contain visible characters");
      return;
    }
  password = rc_json_get_string (request, "password");
  if (password == NULL || *password == '\0')
    {
      make_room (server, msg, name, NULL);
      return;
    }
  hashing = g_new0 (HashingRoom, 1);
  hashing->server = server;
  hashing->msg = msg;
  hashing->name = g_steal_pointer (&name);
  rc_http_hold (msg);
  rc_secret_hash_password_async (password, NULL, on_password_hashed, hashing);
}

/* The request carries @room's owner token, or it has been answered 401/403. */
static gboolean
require_owner (SoupServerMessage *msg, RcRoom *room)
{
  g_autofree char *token = rc_http_get_bearer (msg);

  if (token == NULL)
    {
      rc_http_send_error (msg, RC_ERROR_UNAUTHORIZED,
                          "Send the owner token as \"Authorization: Bearer <token>\"");
      return FALSE;
    }
  if (!rc_room_check_owner_token (room, token))
    {
      rc_http_send_error (msg, RC_ERROR_NOT_OWNER, NULL);
      return FALSE;
    }
  return TRUE;
}

static void
delete_room (RcServer *server, SoupServerMessage *msg, RcRoom *room)
{
  g_autofree char *id = g_strdup (rc_room_get_id (room));
  JsonObject *o;
  g_autoptr (JsonNode) body = NULL;

  if (!rc_server_allow_rest_write (server, msg) || !require_owner (msg, room))
    return;
  rc_registry_delete_room (rc_server_get_registry (server), room);
  g_message ("Room %s deleted by its owner", id);

  body = rc_json_message_new (NULL, &o);
  json_object_set_string_member (o, "id", id);
  json_object_set_boolean_member (o, "deleted", TRUE);
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

static void
method_not_allowed (SoupServerMessage *msg, const char *allow)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, NULL);
}

static JsonNode *
key_to_json (RcPublishKey *pk)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_string_member (o, "id", pk->id);
  if (pk->label != NULL)
    json_object_set_string_member (o, "label", pk->label);
  else
    json_object_set_null_member (o, "label");
  json_object_set_int_member (o, "createdAt", pk->created_at);
  return node;
}

static const RcParam key_params[] = {
  { "label", RC_PARAM_STRING, FALSE, 0, 256 },
  RC_PARAMS_END,
};

/* /api/rooms/{id}/keys[/{keyId}]: the owner's publish keys. */
static void
handle_keys (RcServer *server, SoupServerMessage *msg, RcRoom *room, const char *key_id)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean is_get = g_str_equal (method, "GET") || g_str_equal (method, "HEAD");

  if (key_id == NULL && !is_get && !g_str_equal (method, "POST"))
    {
      method_not_allowed (msg, "GET, HEAD, POST");
      return;
    }
  if (key_id != NULL && !g_str_equal (method, "DELETE"))
    {
      method_not_allowed (msg, "DELETE");
      return;
    }
  if ((!is_get && !rc_server_allow_rest_write (server, msg)) || !require_owner (msg, room))
    return;

  if (key_id != NULL)
    {
      JsonObject *o;
      g_autoptr (JsonNode) body = NULL;

      if (!rc_room_remove_publish_key (room, key_id))
        {
          rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No publish key with that id");
          return;
        }
      g_message ("Room %s: publish key %s revoked", rc_room_get_id (room), key_id);
      /* A host live with that key is cut off. */
      rc_room_end_publisher (room, key_id);
      body = rc_json_message_new (NULL, &o);
      json_object_set_string_member (o, "id", key_id);
      json_object_set_boolean_member (o, "deleted", TRUE);
      rc_http_send_json (msg, SOUP_STATUS_OK, body);
    }
  else if (is_get)
    {
      GPtrArray *keys = rc_room_get_publish_keys (room);
      JsonObject *o;
      g_autoptr (JsonNode) body = rc_json_message_new (NULL, &o);
      JsonArray *array = json_array_sized_new (keys->len);

      for (guint i = 0; i < keys->len; i++)
        json_array_add_element (array, key_to_json (keys->pdata[i]));
      json_object_set_array_member (o, "keys", array);
      rc_http_send_json (msg, SOUP_STATUS_OK, body);
    }
  else
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) request = NULL;
      g_autofree char *label = NULL;
      g_autofree char *secret = NULL;
      g_autoptr (JsonNode) body = NULL;
      RcPublishKey *pk;
      goffset length = soup_message_headers_get_content_length (
        soup_server_message_get_request_headers (msg));
      SoupMessageBody *request_body = soup_server_message_get_request_body (msg);

      /* The body is optional: no body, no label. */
      if (length > 0 || (request_body != NULL && request_body->length > 0))
        {
          request = rc_http_read_json_object (
            msg, rc_server_get_config (server)->max_message_bytes, &error);
          if (request == NULL || !rc_validate_object (request, key_params, &error))
            {
              rc_http_send_gerror (msg, error);
              return;
            }
          if (rc_json_get_string (request, "label") != NULL)
            label = rc_text_sanitize (rc_json_get_string (request, "label"), 64);
        }
      pk = rc_room_add_publish_key (room, label && *label ? label : NULL, &secret, &error);
      if (pk == NULL)
        {
          rc_http_send_gerror (msg, error);
          return;
        }
      g_message ("Room %s: publish key %s created", rc_room_get_id (room), pk->id);
      body = key_to_json (pk);
      json_object_set_string_member (json_node_get_object (body), "key", secret);
      rc_http_send_json (msg, SOUP_STATUS_CREATED, body);
    }
}

void
rc_api_rooms_handle (RcServer *server, SoupServerMessage *msg, const char *path)
{
  const char *method = soup_server_message_get_method (msg);
  const char *rest;
  RcRoom *room;

  if (g_str_equal (path, "/api/rooms") || g_str_equal (path, "/api/rooms/"))
    {
      if ((g_str_equal (method, "GET") || g_str_equal (method, "HEAD")) && cluster_of (server))
        rc_api_cluster_list_rooms (server, msg);
      else if (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
        list_rooms (server, msg);
      else if (g_str_equal (method, "POST") && !rc_server_allow_rest_write (server, msg))
        return;
      else if (g_str_equal (method, "POST") && cluster_of (server))
        rc_api_cluster_create_room (server, msg, create_room);
      else if (g_str_equal (method, "POST"))
        create_room (server, msg);
      else
        method_not_allowed (msg, "GET, HEAD, POST");
      return;
    }

  if (!g_str_has_prefix (path, "/api/rooms/"))
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No such endpoint");
      return;
    }
  rest = path + strlen ("/api/rooms/");
  if (cluster_of (server) != NULL)
    {
      g_autofree char *id = g_strndup (rest, strcspn (rest, "/"));

      /* Not served here: taken over, read from the store, or sent on. */
      if (rc_secret_id_is_valid (id) && rc_registry_lookup (rc_server_get_registry (server), id) == NULL)
        {
          rc_api_cluster_route_room (server, msg, path, id);
          return;
        }
    }
  if (g_str_has_suffix (rest, "/stats"))
    {
      g_autofree char *id = g_strndup (rest, strlen (rest) - strlen ("/stats"));

      room = strchr (id, '/') ? NULL : rc_registry_lookup (rc_server_get_registry (server), id);
      if (room == NULL)
        rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No room with that id");
      else if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD"))
        method_not_allowed (msg, "GET, HEAD");
      else
        {
          g_autoptr (JsonNode) body = rc_sync_stats_json (rc_room_get_sync (room));
          JsonNode *broadcast = rc_live_stats_json (room);
          g_autofree char *bearer = rc_http_get_bearer (msg);

          /* The counts stay: sync.reporting, broadcast.guests. */
          if (is_private_to (room, bearer))
            json_object_set_array_member (json_node_get_object (body), "guests", json_array_new ());
          json_object_remove_member (json_node_get_object (broadcast), "type");
          json_object_set_member (json_node_get_object (body), "broadcast", broadcast);
          json_object_set_member (json_node_get_object (body), "webrtc",
                                  rc_guest_media_webrtc_stats_json (room,
                                                                    !is_private_to (room, bearer)));
          rc_http_send_json (msg, SOUP_STATUS_OK, body);
        }
      return;
    }
  {
    g_auto (GStrv) parts = g_strsplit (rest, "/", 4);

    if (parts[0] != NULL && parts[1] != NULL && g_str_equal (parts[1], "keys")
        && (parts[2] == NULL || (parts[3] == NULL && *parts[2] != '\0')))
      {
        room = rc_registry_lookup (rc_server_get_registry (server), parts[0]);
        if (room == NULL)
          rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No room with that id");
        else
          handle_keys (server, msg, room, parts[2]);
        return;
      }
  }
  room = strchr (rest, '/') ? NULL : rc_registry_lookup (rc_server_get_registry (server), rest);
  if (room == NULL)
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No room with that id");
      return;
    }
  if (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
    {
      g_autofree char *bearer = rc_http_get_bearer (msg);
      g_autoptr (JsonNode) body = rc_api_room_json (server, room, bearer);

      rc_http_send_json (msg, SOUP_STATUS_OK, body);
    }
  else if (g_str_equal (method, "DELETE"))
    delete_room (server, msg, room);
  else
    method_not_allowed (msg, "GET, HEAD, DELETE");
}

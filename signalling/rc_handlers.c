/* SPDX-License-Identifier: MIT */
/*
 * The dispatch table of /ws requests. Each entry names its parameter table;
 * by the time a handler runs, those parameters have the right JSON types and
 * bounds, so handlers only apply meaning (room exists, password, ...).
 */
#include "signalling/rc_session-private.h"
#include "server/rooms/rc_history.h"
#include "server/rooms/rc_live.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_telegram_auth.h"
#include "server/core/rc_text.h"
#include "signalling/rc_presence.h"
#include "signalling/rc_session_relay.h"

#define MAX_NAME_CHARS 32
#define MAX_CHAT_CHARS 500

static void
guest_send (RcGuest *guest, JsonNode *message, gpointer user_data)
{
  rc_session_send (user_data, message);
}

static void
guest_send_text (RcGuest *guest, const char *text, gsize length, gpointer user_data)
{
  rc_session_send_text (user_data, text, length);
}

static void
guest_send_frame (RcGuest *guest, GBytes *frame, gpointer user_data)
{
  rc_session_send_frame (user_data, frame);
}

/* The room was deleted under the guest: forget it, the session stays open. */
static void
guest_evicted (RcGuest *guest, gpointer user_data)
{
  RcSession *session = user_data;

  if (session->guest == guest)
    session->guest = NULL;
  rc_guest_free (guest);
}

static const RcParam join_params[] = {
  { "roomId", RC_PARAM_STRING, TRUE, 1, 64 },
  { "name", RC_PARAM_STRING, TRUE, 1, 200 },
  { "password", RC_PARAM_STRING, FALSE, 0, 256 },
  { "ownerToken", RC_PARAM_STRING, FALSE, 0, 256 },
  { "userId", RC_PARAM_STRING, FALSE, 8, 64 },
  { "telegramInitData", RC_PARAM_STRING, FALSE, 1, RC_TELEGRAM_AUTH_MAX_BYTES },
  RC_PARAMS_END,
};

JsonNode *
rc_handlers_initial_state (RcSession *session, RcRoom *room)
{
  JsonObject *o;
  JsonNode *reply = rc_json_message_new ("initialState", &o);

  json_object_set_member (o, "room", rc_room_to_json (room));
  json_object_set_member (o, "you", rc_guest_to_json (session->guest));
  /* The first page of the list; a bigger room's page asks for the rest. */
  json_object_set_member (o, "participants",
                          rc_presence_page_json (room, 0, RC_PRESENCE_LIST_MAX));
  json_object_set_int_member (o, "participantCount", rc_room_get_guest_count (room));
  json_object_set_member (o, "chat", rc_room_chat_json (room));
  json_object_set_member (o, "state", rc_player_state_json (rc_room_get_player (room)));
  json_object_set_member (o, "queue", rc_player_queue_json (rc_room_get_player (room)));
  json_object_set_member (o, "clock", rc_handlers_clock_json (session));
  json_object_set_member (o, "broadcast", rc_live_stats_json (room));
  return reply;
}

/* Puts the session's guest in @room and tells everyone: the end of a join
 * whose checks (password included) have passed. */
static gboolean
finish_join (RcSession *session, RcRoom *room, const char *name, const char *user_id,
             gboolean is_owner, JsonNode *request_id, GError **error)
{
  g_autofree char *joined = NULL;
  g_autoptr (JsonNode) reply = NULL;
  RcGuest *guest;

  if (!is_owner && rc_room_get_guest_count (room) >= (guint) session->host->config->max_guests)
    {
      rc_error_set (error, RC_ERROR_ROOM_FULL);
      return FALSE;
    }

  guest = rc_guest_new (name, is_owner, guest_send, session);
  guest->evicted = guest_evicted;
  if (session->remote_node != NULL && session->host->relay != NULL)
    guest->group = rc_session_relay_group (session->host->relay, session, room);
  guest->ws_peer = session->ws_peer;
  guest->send_text = guest_send_text;
  if (session->ws_peer != NULL)
    guest->send_frame = guest_send_frame;
  if (user_id != NULL)
    {
      g_free (guest->user_id);
      guest->user_id = g_strdup (user_id);
    }
  session->guest = guest;
  guest->joined_us = session->last_activity_us; /* when the join arrived */
  rc_room_add_guest (room, guest);

  reply = rc_handlers_initial_state (session, room);
  rc_session_reply (session, reply, request_id);
  rc_metrics_observe (rc_room_get_metrics (room), RC_METRIC_JOIN_LATENCY, "initial_state",
                      (g_get_monotonic_time () - guest->joined_us) / 1e6);
  rc_presence_joined (session->host->presence, room, guest);
  /* A big room is told counts, not each name. */
  if (rc_presence_is_listed (session->host->presence, room))
    {
      joined = g_strdup_printf ("%s joined", guest->name);
      rc_room_notify (room, "join", joined, guest);
    }
  rc_history_send (room, guest);
  return TRUE;
}

/* A join waiting for its password check (on a worker thread). Holds copies:
 * the request is gone and the room may be deleted before the check ends. */
typedef struct
{
  RcSession *session;       /* valid while @cancellable is not cancelled */
  GCancellable *cancellable; /* the session's joining */
  char *room_id;
  char *name;
  char *user_id;
  JsonNode *request_id;
} PendingJoin;

static void
pending_join_free (PendingJoin *pending)
{
  g_object_unref (pending->cancellable);
  g_free (pending->room_id);
  g_free (pending->name);
  g_free (pending->user_id);
  g_clear_pointer (&pending->request_id, json_node_unref);
  g_free (pending);
}

/* Back on the main context: the session may have closed meanwhile (then
 * the join is cancelled), the room may have gone. */
static void
on_password_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PendingJoin *pending = user_data;
  RcSession *session = pending->session;
  g_autoptr (GError) error = NULL;
  gboolean right = rc_room_check_password_finish (result, NULL);
  RcRoom *room;

  if (g_cancellable_is_cancelled (pending->cancellable))
    {
      pending_join_free (pending);
      return;
    }
  g_clear_object (&session->joining);
  room = rc_registry_lookup (session->host->registry, pending->room_id);
  if (room == NULL)
    g_set_error_literal (&error, RC_ERROR, RC_ERROR_NOT_FOUND, "No room with that id");
  else if (!right)
    rc_error_set (&error, RC_ERROR_WRONG_PASSWORD);
  if (error != NULL
      || !finish_join (session, room, pending->name, pending->user_id, FALSE,
                       pending->request_id, &error))
    rc_session_reply_error (session, error, pending->request_id);
  pending_join_free (pending);
}

/* Starts the password check of a join, or refuses it when this address has
 * tried too many passwords on this room, or on all rooms, lately. */
static gboolean
start_password_check (RcSession *session, RcRoom *room, JsonObject *request, const char *name,
                      const char *user_id, JsonNode *request_id, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s %s", rc_room_get_id (room), session->address);
  gint64 now = g_get_monotonic_time ();
  PendingJoin *pending;

  if (!rc_rate_limits_take (session->host->password_limits, key, now))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_RATE_LIMITED,
                   "Too many password attempts for this room; at most %d a minute",
                   RC_SESSION_PASSWORD_ATTEMPTS);
      return FALSE;
    }
  if (!rc_rate_limits_take (session->host->password_address_limits, session->address, now))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_RATE_LIMITED,
                   "Too many password attempts from this address; at most %d a minute",
                   RC_SESSION_PASSWORD_ADDRESS_ATTEMPTS);
      return FALSE;
    }
  pending = g_new0 (PendingJoin, 1);
  pending->session = session;
  session->joining = g_cancellable_new ();
  pending->cancellable = g_object_ref (session->joining);
  pending->room_id = g_strdup (rc_room_get_id (room));
  pending->name = g_strdup (name);
  pending->user_id = g_strdup (user_id);
  pending->request_id = request_id != NULL ? json_node_copy (request_id) : NULL;
  rc_room_check_password_async (room, rc_json_get_string (request, "password"),
                                pending->cancellable, on_password_checked, pending);
  return TRUE;
}

static gboolean handle_join (RcSession *session, JsonObject *request, JsonNode *request_id,
                             GError **error);

/* A join of a room this node of a cluster does not serve yet: its lease is
 * asked for (rc_registry_claim); the session may close meanwhile. */
typedef struct
{
  RcSession *session;        /* valid while @cancellable is not cancelled */
  GCancellable *cancellable; /* the session's joining */
  JsonObject *request;
  JsonNode *request_id;
  /* The node that handed this join back (rc_session_relay.c), or NULL:
   * should the claim name that node again, the two disagree on where the
   * room is (its lease is moving), so the join is answered here rather
   * than sent back to it. */
  char *handed_back;
} ClaimingJoin;

/* Another node serves the room: the guest stays here and its session is
 * relayed there (rc_session_relay.c), the join first. A guest of another
 * node (a remote session) is never relayed on: its own node takes the
 * join back. */
static gboolean
relay_join (RcSession *session, ClaimingJoin *claiming, const char *owner_id,
            const char *owner_url)
{
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;

  if (session->host->relay == NULL || owner_id == NULL
      || g_strcmp0 (owner_id, claiming->handed_back) == 0)
    return FALSE;
  node = json_node_init_object (json_node_alloc (), claiming->request);
  text = rc_json_to_string (node);
  if (session->remote_node != NULL)
    {
      rc_session_relay_hand_back (session->host->relay, session, text);
      return TRUE;
    }
  return rc_session_relay_attach (session->host->relay, session, owner_id, owner_url,
                                  rc_json_get_string (claiming->request, "roomId"), text);
}

static void
on_join_claimed (RcRegistry *registry, RcRoom *room, const char *owner_id, const char *owner_url,
                 const GError *error, gpointer user_data)
{
  ClaimingJoin *claiming = user_data;
  RcSession *session = claiming->session;
  g_autoptr (GError) local = NULL;

  if (!g_cancellable_is_cancelled (claiming->cancellable))
    {
      g_clear_object (&session->joining);
      /* Served here now: the join goes on as for any room of this node. */
      if (room != NULL
          && !handle_join (session, claiming->request, claiming->request_id, &local))
        rc_session_reply_error (session, local, claiming->request_id);
      else if (room == NULL
               && !(owner_url != NULL && g_error_matches (error, RC_ERROR, RC_ERROR_ROOM_ELSEWHERE)
                    && relay_join (session, claiming, owner_id, owner_url)))
        rc_session_reply_error_at (session, error, claiming->request_id, owner_url);
    }
  g_object_unref (claiming->cancellable);
  json_object_unref (claiming->request);
  g_clear_pointer (&claiming->request_id, json_node_unref);
  g_free (claiming->handed_back);
  g_free (claiming);
}

static gboolean
start_join_claim (RcSession *session, JsonObject *request, JsonNode *request_id,
                  char *handed_back)
{
  ClaimingJoin *claiming = g_new0 (ClaimingJoin, 1);

  claiming->handed_back = handed_back; /* owned */
  claiming->session = session;
  session->joining = g_cancellable_new ();
  claiming->cancellable = g_object_ref (session->joining);
  claiming->request = json_object_ref (request);
  claiming->request_id = request_id != NULL ? json_node_copy (request_id) : NULL;
  rc_registry_claim (session->host->registry, rc_json_get_string (request, "roomId"),
                     on_join_claimed, claiming);
  return TRUE;
}

/* ---- placement: a full node sends joins elsewhere ------------------------ */

/* A join that found this node full, while the live nodes are listed. */
typedef struct
{
  RcSession *session;        /* valid while @cancellable is not cancelled */
  GCancellable *cancellable; /* the session's joining */
  JsonObject *request;
  JsonNode *request_id;
} PlacingJoin;

/* Whether this node holds --max-listeners guests' sockets already: the
 * guests of its rooms, less those whose sockets other nodes hold, plus
 * its own guests of rooms served elsewhere. */
static gboolean
node_is_full (RcSession *session)
{
  RcSessionRelay *relay = session->host->relay;
  gint64 limit = session->host->config->max_listeners;
  gint64 held;

  if (limit <= 0 || relay == NULL || session->remote_node != NULL)
    return FALSE;
  held = (gint64) rc_registry_get_guest_count (session->host->registry)
         - rc_session_relay_get_remote_count (relay) + rc_session_relay_get_relayed_count (relay);
  return held >= limit;
}

static void
on_nodes_for_placement (RcCluster *cluster, GPtrArray *nodes, const GError *error,
                        gpointer user_data)
{
  PlacingJoin *placing = user_data;
  RcSession *session = placing->session;
  g_autoptr (GPtrArray) others = g_ptr_array_new ();
  g_autoptr (GError) local = NULL;
  RcClusterNode *target;

  if (!g_cancellable_is_cancelled (placing->cancellable))
    {
      g_clear_object (&session->joining);
      /* The others with room left (every node is taken to have this
       * node's limit): a full cluster takes the join in here rather than
       * bounce it between full nodes. */
      for (guint i = 0; error == NULL && i < nodes->len; i++)
        {
          RcClusterNode *node = nodes->pdata[i];

          if (g_strcmp0 (node->id, rc_cluster_get_node_id (cluster)) != 0
              && node->guests < session->host->config->max_listeners)
            g_ptr_array_add (others, node);
        }
      target = rc_cluster_least_loaded (others);
      if (target != NULL)
        {
          rc_error_set (&local, RC_ERROR_NODE_FULL);
          rc_session_reply_error_at (session, local, placing->request_id, target->url);
        }
      else
        {
          /* Nowhere else to go: taken in here. */
          session->join_placed = TRUE;
          if (!handle_join (session, placing->request, placing->request_id, &local))
            rc_session_reply_error (session, local, placing->request_id);
        }
    }
  g_object_unref (placing->cancellable);
  json_object_unref (placing->request);
  g_clear_pointer (&placing->request_id, json_node_unref);
  g_free (placing);
}

static gboolean
start_placement (RcSession *session, JsonObject *request, JsonNode *request_id)
{
  PlacingJoin *placing = g_new0 (PlacingJoin, 1);

  placing->session = session;
  session->joining = g_cancellable_new ();
  placing->cancellable = g_object_ref (session->joining);
  placing->request = json_object_ref (request);
  placing->request_id = request_id != NULL ? json_node_copy (request_id) : NULL;
  rc_cluster_list_nodes (rc_registry_get_cluster (session->host->registry),
                         on_nodes_for_placement, placing);
  return TRUE;
}

static gboolean
handle_join (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcRoom *room;
  gboolean placed = session->join_placed;
  g_autofree char *name = NULL;
  g_autofree char *telegram_user = NULL;
  const char *user_id;
  gboolean is_owner;
  g_autofree char *handed_back = g_steal_pointer (&session->relay_back);

  if (session->guest != NULL)
    {
      rc_error_set (error, RC_ERROR_ALREADY_IN_ROOM);
      return FALSE;
    }
  if (session->joining != NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_ALREADY_IN_ROOM,
                           "A join is already being checked");
      return FALSE;
    }
  session->join_placed = FALSE;
  /* A full node sends the guest to the least loaded other node, which
   * relays its signalling and serves its audio as an edge. */
  if (!placed && rc_registry_get_cluster (session->host->registry) != NULL
      && node_is_full (session))
    {
      session->relay_back = g_steal_pointer (&handed_back);
      return start_placement (session, request, request_id);
    }
  room = rc_registry_lookup (session->host->registry, rc_json_get_string (request, "roomId"));
  if (room == NULL && rc_registry_get_cluster (session->host->registry) != NULL)
    return start_join_claim (session, request, request_id, g_steal_pointer (&handed_back));
  if (room == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_NOT_FOUND, "No room with that id");
      return FALSE;
    }
  if (rc_json_get_string (request, "telegramInitData") != NULL)
    {
      g_autoptr (RcTelegramAuth) auth = NULL;
      g_autofree char *display = NULL;

      auth = rc_telegram_auth_check (rc_json_get_string (request, "telegramInitData"),
                                     session->host->config->telegram_token,
                                     g_get_real_time () / G_USEC_PER_SEC,
                                     session->host->config->telegram_auth_max_age, error);
      if (auth == NULL)
        return FALSE;
      /* Telegram's signed name and id stand for the guest's own. */
      display = rc_telegram_auth_display_name (auth);
      name = rc_text_sanitize (display, MAX_NAME_CHARS);
      if (*name == '\0')
        {
          g_free (name);
          name = g_strdup ("Telegram user");
        }
      telegram_user = rc_telegram_auth_user_key (auth->user_id);
    }
  if (name == NULL)
    name = rc_text_sanitize (rc_json_get_string (request, "name"), MAX_NAME_CHARS);
  if (*name == '\0')
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"name\" must contain visible characters");
      return FALSE;
    }
  user_id = telegram_user != NULL ? telegram_user : rc_json_get_string (request, "userId");
  if (user_id != NULL && !rc_validate_user_id (user_id))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"userId\" may only hold letters, digits, '-' and '_'");
      return FALSE;
    }
  /* The owner gets in without the password and even when the room is full.
   * A password is checked off the main context; the reply comes after. */
  is_owner = rc_room_check_owner_token (room, rc_json_get_string (request, "ownerToken"));
  if (!is_owner && rc_room_has_password (room))
    return start_password_check (session, room, request, name, user_id, request_id, error);
  return finish_join (session, room, name, user_id, is_owner, request_id, error);
}

static gboolean
handle_leave (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  g_autoptr (JsonNode) reply = rc_json_message_new ("left", NULL);

  rc_session_leave_room (session);
  rc_session_reply (session, reply, request_id);
  return TRUE;
}

static const RcParam chat_params[] = {
  { "text", RC_PARAM_STRING, TRUE, 1, 20000 },
  RC_PARAMS_END,
};

static gboolean
handle_chat (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  RcGuest *guest = session->guest;
  g_autofree char *text = rc_text_sanitize (rc_json_get_string (request, "text"), MAX_CHAT_CHARS);
  JsonObject *o;
  g_autoptr (JsonNode) message = NULL;

  if (*text == '\0')
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"text\" must contain visible characters");
      return FALSE;
    }
  message = rc_json_message_new ("chat", &o);
  json_object_set_member (o, "from", rc_guest_to_json (guest));
  json_object_set_string_member (o, "text", text);
  json_object_set_int_member (o, "ts", g_get_real_time () / 1000);
  rc_room_append_chat (guest->room, message);

  rc_room_broadcast (guest->room, message, guest);
  rc_session_reply (session, message, request_id);
  return TRUE;
}

static gboolean
handle_ping (RcSession *session, JsonObject *request, JsonNode *request_id, GError **error)
{
  g_autoptr (JsonNode) reply = rc_json_message_new ("pong", NULL);

  rc_session_reply (session, reply, request_id);
  return TRUE;
}

static const RcParam list_viewers_params[] = {
  { "offset", RC_PARAM_INT, FALSE, 0, G_MAXINT32 },
  { "limit", RC_PARAM_INT, FALSE, 1, RC_PRESENCE_PAGE_MAX },
  RC_PARAMS_END,
};

/* A page of the room's guests in join order; an offset past the end is a
 * bad page (an offset equal to the count is an empty last page). */
static gboolean
handle_list_viewers (RcSession *session, JsonObject *request, JsonNode *request_id,
                     GError **error)
{
  RcRoom *room = session->guest->room;
  gint64 offset = rc_json_get_int (request, "offset", 0);
  gint64 limit = rc_json_get_int (request, "limit", RC_PRESENCE_PAGE_MAX);
  guint count = rc_room_get_guest_count (room);
  JsonObject *o;
  g_autoptr (JsonNode) reply = NULL;

  if (offset > count)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_BAD_PAGE,
                   "\"offset\" %" G_GINT64_FORMAT " is past the %u guests in the room", offset,
                   count);
      return FALSE;
    }
  reply = rc_json_message_new ("viewers", &o);
  json_object_set_int_member (o, "offset", offset);
  json_object_set_int_member (o, "count", count);
  json_object_set_member (o, "participants", rc_presence_page_json (room, offset, limit));
  rc_session_reply (session, reply, request_id);
  return TRUE;
}

static const RcHandler room_handlers[] = {
  { "join", join_params, FALSE, FALSE, handle_join },
  { "leave", NULL, TRUE, FALSE, handle_leave },
  { "chat", chat_params, TRUE, TRUE, handle_chat },
  { "ping", NULL, FALSE, FALSE, handle_ping },
  { "listViewers", list_viewers_params, TRUE, FALSE, handle_list_viewers },
  { NULL },
};

const RcHandler *
rc_handlers_lookup (const char *type)
{
  static const RcHandler *const tables[] = { room_handlers, rc_queue_handlers, rc_media_handlers,
                                             rc_sync_handlers, rc_live_handlers };

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    for (const RcHandler *h = tables[t]; h->type != NULL; h++)
      if (g_str_equal (h->type, type))
        return h;
  return NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * RcRoom keeps the live view of a room on the main context: who is in it and
 * the recent chat. The store is written through on every change, so a
 * restart (with Redis) finds the room and its chat again; who was in the
 * room is not restored, because their sockets died with the process.
 *
 * Store keys: room:{id}:state (JSON), room:{id}:chat (capped list of chat
 * message JSON), room:{id}:viewers (set of guest ids), and the index set
 * "rooms".
 */
#include "server/rooms/rc_room.h"
#include "server/rooms/rc_guest_media.h"
#include "server/rooms/rc_player.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_secret.h"

#include <string.h>

/* How long a pipeline nobody hears is kept: a guest reconnecting, or a
 * pause and play, should not rebuild it. */
#define PIPELINE_LINGER_MS 5000

struct _RcRoom
{
  gint ref_count;
  RcStore *store;
  char *id;
  char *name;
  char *password_hash;    /* NULL: open room */
  char *owner_token_hash;
  gint64 created_at;      /* ms since the epoch */
  guint chat_cap;
  GPtrArray *guests;      /* RcGuest*, borrowed from sessions, join order */
  GHashTable *by_id;      /* guest id -> RcGuest*: the same guests, found in O(1) */
  guint64 removals;       /* guests removed so far (broadcasts watch it) */
  GQueue chat;            /* JsonNode*, oldest first, at most chat_cap */
  RcPlayer *player;       /* what the room plays; NULL until rc_room_start_player */
  RcSync *sync;           /* its timeline as guests see it; idem */
  RcMetrics *metrics;     /* borrowed from the settings; idem */
  RcFanout *fanout;       /* borrowed from the settings; NULL: webrtcbin per guest */
  GPtrArray *keys;        /* RcPublishKey*, oldest first */
  char *publisher_key;    /* the live publisher's key id, or NULL */
  RcPublisherEndFunc publisher_end;
  gpointer publisher_data;
  RcMixPolicy mix;

  /* Audio: the pipeline, built when someone listens (a guest's media, a
   * live host) or a song of unknown length plays, and torn down
   * PIPELINE_LINGER_MS after neither is true: the player's timeline runs on
   * the server clock meanwhile. And the guests' media sessions. */
  RcRoomPipeline *pipeline;
  guint media_users; /* sessions and live hosts holding the pipeline */
  guint linger_id;
  GHashTable *media; /* RcGuest* (borrowed) -> RcGuestMedia* (owned) */
};

RcGuest *
rc_guest_new (const char *name, gboolean is_owner, RcGuestSendFunc send, gpointer send_data)
{
  RcGuest *guest = g_new0 (RcGuest, 1);

  guest->id = rc_secret_random_id (12);
  guest->user_id = g_strdup (guest->id);
  guest->name = g_strdup (name);
  guest->is_owner = is_owner;
  guest->send = send;
  guest->send_data = send_data;
  return guest;
}

void
rc_guest_free (RcGuest *guest)
{
  if (guest == NULL)
    return;
  g_free (guest->id);
  g_free (guest->user_id);
  g_free (guest->name);
  g_free (guest);
}

JsonNode *
rc_guest_to_json (RcGuest *guest)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_string_member (o, "id", guest->id);
  json_object_set_string_member (o, "name", guest->name);
  json_object_set_boolean_member (o, "isOwner", guest->is_owner);
  return node;
}

static void
publish_key_free (RcPublishKey *k)
{
  g_free (k->id);
  g_free (k->label);
  g_free (k->hash);
  g_free (k);
}

static char *
key (RcRoom *room, const char *suffix)
{
  return g_strdup_printf ("room:%s:%s", room->id, suffix);
}

static RcRoom *
room_alloc (RcStore *store, guint chat_cap)
{
  RcRoom *room = g_new0 (RcRoom, 1);

  room->ref_count = 1;
  room->store = rc_store_ref (store);
  room->chat_cap = MAX (chat_cap, 1);
  room->guests = g_ptr_array_new ();
  room->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  room->media = g_hash_table_new (NULL, NULL);
  room->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) publish_key_free);
  g_queue_init (&room->chat);
  room->mix = (RcMixPolicy) { RC_MIX_TAKEOVER, RC_MIX_DEFAULT_DUCK_DB, RC_MIX_DEFAULT_THRESHOLD_DB };
  return room;
}

RcRoom *
rc_room_new (RcStore *store, const char *id, const char *name, const char *password_hash,
             const char *owner_token, guint chat_cap)
{
  RcRoom *room = room_alloc (store, chat_cap);

  room->id = g_strdup (id);
  room->name = g_strdup (name);
  room->password_hash = g_strdup (password_hash);
  room->owner_token_hash = rc_secret_hash_token (owner_token);
  room->created_at = g_get_real_time () / 1000;
  return room;
}

/* The stored publish keys; a key without its id or hash is dropped. */
static void
restore_keys (RcRoom *room, JsonArray *keys, GPtrArray *bad)
{
  g_autoptr (GPtrArray) inner = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (keys); i++)
    {
      JsonNode *n = json_array_get_element (keys, i);
      JsonObject *k = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      const char *kid = k ? rc_json_read_string (k, "id", inner) : NULL;
      const char *hash = k ? rc_json_read_string (k, "hash", inner) : NULL;
      RcPublishKey *pk;

      if (kid == NULL || hash == NULL)
        {
          rc_json_note_bad (inner, "(key dropped: no id or hash)");
          continue;
        }
      pk = g_new0 (RcPublishKey, 1);
      pk->id = g_strdup (kid);
      pk->hash = g_strdup (hash);
      pk->label = g_strdup (rc_json_read_string (k, "label", inner));
      pk->created_at = rc_json_read_int (k, "createdAt", 0, G_MAXINT64, 0, inner);
      g_ptr_array_add (room->keys, pk);
    }
  rc_json_note_bad_all (bad, "keys[].", inner);
}

static void
restore_mix (RcRoom *room, JsonObject *m, GPtrArray *bad)
{
  g_autoptr (GPtrArray) inner = g_ptr_array_new_with_free_func (g_free);
  const char *mode = rc_json_read_string (m, "mode", inner);

  if (mode != NULL && !rc_mix_mode_from_string (mode, &room->mix.mode))
    rc_json_note_bad (inner, "mode");
  room->mix.duck_db = rc_json_read_number (m, "duckDb", RC_MIX_DUCK_MIN_DB, 0.0,
                                           RC_MIX_DEFAULT_DUCK_DB, inner);
  room->mix.threshold_db = rc_json_read_number (m, "thresholdDb", RC_MIX_THRESHOLD_MIN_DB, 0.0,
                                                RC_MIX_DEFAULT_THRESHOLD_DB, inner);
  rc_json_note_bad_all (bad, "mix.", inner);
}

/*
 * A stored state is read field by field: state written by an older build
 * (json-glib's "-1e-300.0" or "inf.0" numbers, repaired before parsing) or
 * with one field of the wrong type or out of range still gives the room,
 * with that field's default, and each such field is logged once. Only a
 * state without a readable id, name and owner token hash is refused.
 */
RcRoom *
rc_room_new_from_state (RcStore *store, const char *state_json, guint chat_cap, GError **error)
{
  g_autoptr (JsonNode) root = rc_json_parse_stored (state_json, error);
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  JsonObject *o, *mix;
  JsonArray *keys;
  RcRoom *room;
  const char *id, *name, *owner;

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    goto bad;
  o = json_node_get_object (root);
  id = rc_json_get_string (o, "id");
  name = rc_json_get_string (o, "name");
  owner = rc_json_get_string (o, "ownerTokenHash");
  if (id == NULL || name == NULL || owner == NULL)
    goto bad;

  room = room_alloc (store, chat_cap);
  room->id = g_strdup (id);
  room->name = g_strdup (name);
  room->owner_token_hash = g_strdup (owner);
  room->password_hash = g_strdup (rc_json_read_string (o, "passwordHash", bad));
  if (room->password_hash == NULL && json_object_has_member (o, "passwordHash")
      && !json_object_get_null_member (o, "passwordHash"))
    room->password_hash = g_strdup ("!"); /* unreadable: locked, never opened to anyone */
  room->created_at = rc_json_read_int (o, "createdAt", 0, G_MAXINT64, 0, bad);
  if ((keys = rc_json_read_array (o, "keys", bad)) != NULL)
    restore_keys (room, keys, bad);
  if ((mix = rc_json_read_object (o, "mix", bad)) != NULL)
    restore_mix (room, mix, bad);
  rc_json_warn_bad (bad, "Room %s (room:%s:state)", id, id);
  return room;

bad:
  g_set_error_literal (error, RC_ERROR, RC_ERROR_INTERNAL,
                       "Stored room state lacks id, name or ownerTokenHash");
  return NULL;
}

RcRoom *
rc_room_ref (RcRoom *room)
{
  room->ref_count++;
  return room;
}

void
rc_room_unref (RcRoom *room)
{
  if (room == NULL || --room->ref_count > 0)
    return;
  g_ptr_array_unref (room->keys);
  g_free (room->publisher_key);
  g_hash_table_unref (room->media); /* empty: each session holds the room */
  g_clear_handle_id (&room->linger_id, g_source_remove);
  g_clear_pointer (&room->pipeline, rc_room_pipeline_free);
  rc_sync_free (room->sync);
  rc_player_free (room->player);
  g_ptr_array_unref (room->guests);
  g_hash_table_unref (room->by_id);
  g_queue_clear_full (&room->chat, (GDestroyNotify) json_node_unref);
  rc_store_unref (room->store);
  g_free (room->id);
  g_free (room->name);
  g_free (room->password_hash);
  g_free (room->owner_token_hash);
  g_free (room);
}

const char *
rc_room_get_id (RcRoom *room)
{
  return room->id;
}

RcStore *
rc_room_get_store (RcRoom *room)
{
  return room->store;
}

const char *
rc_room_get_name (RcRoom *room)
{
  return room->name;
}

gboolean
rc_room_has_password (RcRoom *room)
{
  return room->password_hash != NULL;
}

gint64
rc_room_get_created_at (RcRoom *room)
{
  return room->created_at;
}

guint
rc_room_get_guest_count (RcRoom *room)
{
  return room->guests->len;
}

GPtrArray *
rc_room_get_guests (RcRoom *room)
{
  return room->guests;
}

RcGuest *
rc_room_find_guest (RcRoom *room, const char *guest_id)
{
  return guest_id != NULL ? g_hash_table_lookup (room->by_id, guest_id) : NULL;
}

void
rc_room_check_password_async (RcRoom *room, const char *password, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  if (room->password_hash == NULL)
    {
      g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

      g_task_set_source_tag (task, rc_secret_check_password_async);
      g_task_return_boolean (task, TRUE);
      return;
    }
  rc_secret_check_password_async (room->password_hash, password, cancellable, callback, user_data);
}

gboolean
rc_room_check_password_finish (GAsyncResult *result, GError **error)
{
  return rc_secret_check_password_finish (result, error);
}

gboolean
rc_room_check_owner_token (RcRoom *room, const char *token)
{
  return token != NULL && rc_secret_check_token (room->owner_token_hash, token);
}

JsonNode *
rc_room_to_json (RcRoom *room)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_string_member (o, "id", room->id);
  json_object_set_string_member (o, "name", room->name);
  json_object_set_boolean_member (o, "hasPassword", room->password_hash != NULL);
  json_object_set_int_member (o, "guests", room->guests->len);
  json_object_set_int_member (o, "createdAt", room->created_at);
  json_object_set_member (o, "nowPlaying", room->player ? rc_player_now_playing_json (room->player)
                                                         : json_node_new (JSON_NODE_NULL));
  json_object_set_boolean_member (o, "live", room->publisher_key != NULL);
  json_object_set_member (o, "mix", rc_mix_policy_to_json (&room->mix));
  return node;
}

char *
rc_room_to_state_json (RcRoom *room)
{
  JsonObject *o;
  g_autoptr (JsonNode) node = rc_json_message_new (NULL, &o);

  json_object_set_string_member (o, "id", room->id);
  json_object_set_string_member (o, "name", room->name);
  json_object_set_string_member (o, "ownerTokenHash", room->owner_token_hash);
  if (room->password_hash != NULL)
    json_object_set_string_member (o, "passwordHash", room->password_hash);
  json_object_set_int_member (o, "createdAt", room->created_at);
  if (room->keys->len > 0)
    {
      JsonArray *keys = json_array_new ();

      for (guint i = 0; i < room->keys->len; i++)
        {
          RcPublishKey *pk = room->keys->pdata[i];
          JsonObject *k = json_object_new ();

          json_object_set_string_member (k, "id", pk->id);
          json_object_set_string_member (k, "hash", pk->hash);
          if (pk->label != NULL)
            json_object_set_string_member (k, "label", pk->label);
          json_object_set_int_member (k, "createdAt", pk->created_at);
          json_array_add_object_element (keys, k);
        }
      json_object_set_array_member (o, "keys", keys);
    }
  json_object_set_member (o, "mix", rc_mix_policy_to_json (&room->mix));
  return rc_json_to_string (node);
}

RcPublishKey *
rc_room_add_publish_key (RcRoom *room, const char *label, char **secret_out, GError **error)
{
  RcPublishKey *pk;
  g_autofree char *token = NULL;

  if (room->keys->len >= RC_ROOM_MAX_PUBLISH_KEYS)
    {
      rc_error_set (error, RC_ERROR_TOO_MANY_KEYS);
      return NULL;
    }
  token = rc_secret_random_token ();
  pk = g_new0 (RcPublishKey, 1);
  pk->id = rc_secret_random_id (8);
  pk->label = g_strdup (label);
  pk->hash = rc_secret_hash_token (token);
  pk->created_at = g_get_real_time () / 1000;
  g_ptr_array_add (room->keys, pk);
  rc_room_save (room);
  *secret_out = g_strconcat ("rk_", token, NULL);
  return pk;
}

GPtrArray *
rc_room_get_publish_keys (RcRoom *room)
{
  return room->keys;
}

gboolean
rc_room_remove_publish_key (RcRoom *room, const char *key_id)
{
  for (guint i = 0; i < room->keys->len; i++)
    if (g_str_equal (((RcPublishKey *) room->keys->pdata[i])->id, key_id))
      {
        g_ptr_array_remove_index (room->keys, i);
        rc_room_save (room);
        return TRUE;
      }
  return FALSE;
}

gboolean
rc_room_has_publisher (RcRoom *room)
{
  return room->publisher_key != NULL;
}

const char *
rc_room_get_publisher_key (RcRoom *room)
{
  return room->publisher_key;
}

void
rc_room_set_publisher (RcRoom *room, const char *key_id, RcPublisherEndFunc end, gpointer data)
{
  g_free (room->publisher_key);
  room->publisher_key = g_strdup (key_id);
  room->publisher_end = end;
  room->publisher_data = data;
}

void
rc_room_clear_publisher (RcRoom *room)
{
  g_clear_pointer (&room->publisher_key, g_free);
  room->publisher_end = NULL;
  room->publisher_data = NULL;
}

void
rc_room_end_publisher (RcRoom *room, const char *key_id)
{
  RcPublisherEndFunc end = room->publisher_end;

  if (room->publisher_key == NULL || end == NULL
      || (key_id != NULL && !g_str_equal (key_id, room->publisher_key)))
    return;
  end (room, room->publisher_data);
  /* The end function clears it; make sure. */
  rc_room_clear_publisher (room);
}

gpointer
rc_room_get_publisher_data (RcRoom *room)
{
  return room->publisher_key != NULL ? room->publisher_data : NULL;
}

const RcMixPolicy *
rc_room_get_mix_policy (RcRoom *room)
{
  return &room->mix;
}

void
rc_room_set_mix_policy (RcRoom *room, const RcMixPolicy *policy)
{
  room->mix = *policy;
  rc_room_save (room);
}

RcPublishKey *
rc_room_check_publish_key (RcRoom *room, const char *secret)
{
  g_autofree char *hash = NULL;

  if (secret == NULL || !g_str_has_prefix (secret, "rk_"))
    return NULL;
  hash = rc_secret_hash_token (secret + 3);
  for (guint i = 0; i < room->keys->len; i++)
    {
      RcPublishKey *pk = room->keys->pdata[i];

      if (rc_secret_equal (pk->hash, hash))
        return pk;
    }
  return NULL;
}

void
rc_room_save (RcRoom *room)
{
  g_autofree char *state_key = key (room, "state");
  g_autofree char *state = rc_room_to_state_json (room);

  rc_store_set (room->store, state_key, state);
  rc_store_set_add (room->store, "rooms", room->id);
}

void
rc_room_erase (RcRoom *room)
{
  static const char *const suffixes[] = { "state", "chat", "viewers" };

  if (room->player != NULL)
    rc_player_erase (room->player);
  rc_store_set_remove (room->store, "rooms", room->id);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *k = key (room, suffixes[i]);
      rc_store_del (room->store, k);
    }
}

void
rc_room_add_guest (RcRoom *room, RcGuest *guest)
{
  g_autofree char *viewers = key (room, "viewers");

  guest->room = room;
  g_ptr_array_add (room->guests, guest);
  g_hash_table_insert (room->by_id, guest->id, guest);
  if (guest->group != NULL)
    guest->group->entered (guest->group, guest);
  rc_store_set_add (room->store, viewers, guest->id);
  rc_metrics_inc (room->metrics, RC_METRIC_JOINS);
  if (room->player != NULL)
    rc_player_guests_changed (room->player);
}

void
rc_room_remove_guest (RcRoom *room, RcGuest *guest)
{
  g_autofree char *viewers = key (room, "viewers");

  rc_room_stop_media (room, guest);
  if (room->sync != NULL)
    rc_sync_forget (room->sync, guest);
  rc_store_set_remove (room->store, viewers, guest->id);
  guest->room = NULL;
  if (g_hash_table_lookup (room->by_id, guest->id) == guest)
    g_hash_table_remove (room->by_id, guest->id);
  g_ptr_array_remove (room->guests, guest);
  room->removals++;
  if (guest->group != NULL)
    guest->group->left (guest->group, guest);
  if (room->player != NULL)
    rc_player_guests_changed (room->player);
}

void
rc_room_start_player (RcRoom *room, RcLibrary *library, const RcRoomSettings *settings)
{
  if (room->player == NULL)
    {
      room->player = rc_player_new (room, room->store, library, settings->empty_pause_s);
      rc_player_set_url_cache (room->player, settings->url_cache);
    }
  if (room->sync == NULL)
    room->sync = rc_sync_new (room, settings);
  room->metrics = settings->metrics;
  room->fanout = settings->fanout;
}

RcMetrics *
rc_room_get_metrics (RcRoom *room)
{
  return room->metrics;
}

RcFanout *
rc_room_get_fanout (RcRoom *room)
{
  return room->fanout;
}

RcSync *
rc_room_get_sync (RcRoom *room)
{
  return room->sync;
}

RcPlayer *
rc_room_get_player (RcRoom *room)
{
  return room->player;
}

/* ---- audio ------------------------------------------------------------------ */

RcRoomPipeline *
rc_room_get_pipeline (RcRoom *room)
{
  return room->pipeline;
}

RcRoomPipeline *
rc_room_ensure_pipeline (RcRoom *room, GError **error)
{
  g_autoptr (GError) local = NULL;

  g_clear_handle_id (&room->linger_id, g_source_remove);
  if (room->pipeline != NULL)
    return room->pipeline;
  if (room->player == NULL)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_MEDIA_FAILED, "This room has no player");
      return NULL;
    }
  room->pipeline = rc_room_pipeline_new (room->id, rc_player_get_pipeline_callbacks (),
                                         room->player, &local);
  if (room->pipeline == NULL)
    {
      g_warning ("Room %s: cannot build its pipeline: %s", room->id, local->message);
      g_set_error (error, RC_ERROR, RC_ERROR_MEDIA_FAILED, "Audio could not be started");
      return NULL;
    }
  g_debug ("Room %s: pipeline started", room->id);
  rc_player_pipeline_started (room->player, room->pipeline);
  return room->pipeline;
}

static gboolean
pipeline_unheard (RcRoom *room)
{
  return room->media_users == 0
         && (room->player == NULL || !rc_player_needs_pipeline (room->player));
}

static gboolean
on_linger_over (gpointer data)
{
  RcRoom *room = data;
  RcRoomPipeline *pipeline;

  room->linger_id = 0;
  if (!pipeline_unheard (room) || room->pipeline == NULL)
    return G_SOURCE_REMOVE;
  /* The player takes the position first, then the timeline runs on the
   * clock alone. */
  pipeline = g_steal_pointer (&room->pipeline);
  if (room->player != NULL)
    rc_player_pipeline_stopping (room->player, pipeline);
  rc_room_pipeline_free (pipeline);
  if (room->player != NULL)
    rc_player_pipeline_stopped (room->player);
  g_debug ("Room %s: pipeline stopped, nobody listens", room->id);
  return G_SOURCE_REMOVE;
}

void
rc_room_idle_pipeline (RcRoom *room)
{
  /* A guest reconnecting a moment later should not rebuild it. */
  if (room->pipeline == NULL || !pipeline_unheard (room) || room->linger_id != 0)
    return;
  room->linger_id = g_timeout_add (PIPELINE_LINGER_MS, on_linger_over, room);
}

RcRoomPipeline *
rc_room_acquire_pipeline (RcRoom *room, GError **error)
{
  RcRoomPipeline *pipeline = rc_room_ensure_pipeline (room, error);

  if (pipeline != NULL)
    room->media_users++;
  return pipeline;
}

void
rc_room_release_pipeline (RcRoom *room)
{
  if (room->media_users > 0)
    room->media_users--;
  rc_room_idle_pipeline (room);
}

RcGuestMedia *
rc_room_get_media (RcRoom *room, RcGuest *guest)
{
  return g_hash_table_lookup (room->media, guest);
}

void
rc_room_stop_media (RcRoom *room, RcGuest *guest)
{
  RcGuestMedia *media = NULL;

  if (g_hash_table_steal_extended (room->media, guest, NULL, (gpointer *) &media))
    rc_guest_media_free (media);
}

RcGuestMedia *
rc_room_start_media (RcRoom *room, RcGuest *guest, RcGuestMediaTransport transport,
                     const RcGuestMediaEdge *edge, const RcGuestMediaCallbacks *callbacks, gpointer user_data,
                     GDestroyNotify destroy, GError **error)
{
  g_autoptr (GError) local = NULL;
  RcRoomPipeline *pipeline;
  RcGuestMedia *media;

  /* A new session replaces the old one: the old branch goes first, so the
   * pipeline is kept (taken here before the old session gives it back). */
  pipeline = rc_room_acquire_pipeline (room, &local);
  rc_room_stop_media (room, guest);
  if (pipeline == NULL)
    {
      g_message ("Room %s: no audio for guest %s: %s", room->id, guest->id, local->message);
      if (destroy != NULL)
        destroy (user_data);
      rc_error_set (error, RC_ERROR_MEDIA_FAILED);
      return NULL;
    }
  media = rc_guest_media_new (room, guest, pipeline, transport, edge, callbacks, user_data,
                              destroy, error);
  if (media == NULL)
    return NULL;
  g_hash_table_insert (room->media, guest, media);
  rc_guest_media_begin (media);
  return media;
}

void
rc_room_notify (RcRoom *room, const char *kind, const char *text, RcGuest *except)
{
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("notification", &o);

  json_object_set_string_member (o, "kind", kind);
  json_object_set_string_member (o, "text", text);
  rc_room_broadcast (room, message, except);
}

void
rc_room_broadcast (RcRoom *room, JsonNode *message, RcGuest *except)
{
  /* A send may drop a guest (dead socket); walk a snapshot, and once anyone
   * has left during the walk, check each guest is still here before using
   * it. The message is serialised once for everyone, and framed once for
   * every WebSocket: each recipient costs a reference in its writer's
   * queue, not a copy. A group of guests is sent it once (few groups: a
   * cluster's nodes). */
  g_autoptr (GPtrArray) snapshot = g_ptr_array_copy (room->guests, NULL, NULL);
  g_autoptr (GPtrArray) groups = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GBytes) frame = NULL;
  gsize length = 0;
  guint64 removals = room->removals;

  rc_room_ref (room);
  for (guint i = 0; i < snapshot->len; i++)
    {
      RcGuest *g = snapshot->pdata[i];

      if ((g == except && g->group == NULL)
          || (room->removals != removals && !g_ptr_array_find (room->guests, g, NULL)))
        continue;
      if ((g->send_frame != NULL || g->send_text != NULL || g->group != NULL) && text == NULL)
        {
          text = rc_json_to_string (message);
          length = strlen (text);
        }
      if (g->group != NULL)
        {
          if (groups == NULL)
            groups = g_ptr_array_new ();
          if (g_ptr_array_find (groups, g->group, NULL))
            continue;
          g_ptr_array_add (groups, g->group);
          g->group->send_text (g->group, text, length,
                               except != NULL && except->group == g->group ? except : NULL);
        }
      else if (g->send_frame != NULL)
        {
          if (frame == NULL)
            frame = rc_ws_frame_text (text, length);
          g->send_frame (g, frame, g->send_data);
        }
      else if (g->send_text != NULL)
        g->send_text (g, text, length, g->send_data);
      else if (g->send != NULL)
        g->send (g, message, g->send_data);
    }
  rc_room_unref (room);
}

JsonNode *
rc_room_chat_json (RcRoom *room)
{
  JsonArray *array = json_array_sized_new (room->chat.length);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (GList *l = room->chat.head; l != NULL; l = l->next)
    json_array_add_element (array, json_node_copy (l->data));
  json_node_take_array (node, array);
  return node;
}

static void
cache_chat (RcRoom *room, JsonNode *message)
{
  g_queue_push_tail (&room->chat, message);
  while (room->chat.length > room->chat_cap)
    json_node_unref (g_queue_pop_head (&room->chat));
}

void
rc_room_append_chat (RcRoom *room, JsonNode *message)
{
  g_autofree char *chat_key = key (room, "chat");
  g_autofree char *text = rc_json_to_string (message);

  cache_chat (room, json_node_copy (message));
  rc_store_list_push (room->store, chat_key, text, room->chat_cap);
}

/* A stored chat message rebuilt from its fields (what clients are sent is
 * then always well-formed); NULL, and noted in @bad, without its text. */
static JsonNode *
chat_from_store (const char *text, GPtrArray *bad)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = rc_json_parse_stored (text, &error);
  JsonObject *stored, *from, *o, *by;
  const char *chat_text, *by_id, *by_name;
  JsonNode *message, *by_node;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      rc_json_note_bad (bad, "(message dropped: not a JSON object)");
      return NULL;
    }
  stored = json_node_get_object (root);
  if ((chat_text = rc_json_read_string (stored, "text", bad)) == NULL)
    {
      rc_json_note_bad (bad, "text (message dropped)");
      return NULL;
    }
  from = rc_json_read_object (stored, "from", bad);
  message = rc_json_message_new ("chat", &o);
  by_node = rc_json_message_new (NULL, &by);
  by_id = from != NULL ? rc_json_read_string (from, "id", bad) : NULL;
  by_name = from != NULL ? rc_json_read_string (from, "name", bad) : NULL;
  if (by_id == NULL || by_name == NULL)
    rc_json_note_bad (bad, "from");
  json_object_set_string_member (by, "id", by_id != NULL ? by_id : "");
  json_object_set_string_member (by, "name", by_name != NULL ? by_name : "");
  json_object_set_boolean_member (
    by, "isOwner", from != NULL && rc_json_read_boolean (from, "isOwner", FALSE, bad));
  json_object_set_member (o, "from", by_node);
  json_object_set_string_member (o, "text", chat_text);
  json_object_set_int_member (o, "ts", rc_json_read_int (stored, "ts", 0, G_MAXINT64, 0, bad));
  return message;
}

void
rc_room_restore_chat (RcRoom *room, GPtrArray *messages)
{
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < messages->len; i++)
    {
      JsonNode *node = chat_from_store (messages->pdata[i], bad);

      if (node != NULL)
        cache_chat (room, node);
    }
  rc_json_warn_bad (bad, "Room %s (room:%s:chat)", room->id, room->id);
}

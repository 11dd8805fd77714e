/* SPDX-License-Identifier: MIT */
/*
 * The room registry. Rooms are created here with a fresh unguessable id and
 * owner token, saved to the store at once, and found again at start by
 * walking the "rooms" index set. Loading is asynchronous (the store may be
 * Redis); the server does not accept connections until it has finished.
 */
#include "server/rooms/rc_registry.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_secret.h"

struct _RcRegistry
{
  RcStore *store;
  RcLibrary *library;
  RcRoomSettings settings;
  guint max_rooms;
  guint chat_cap;
  GHashTable *rooms; /* id -> RcRoom* (owned) */
};

RcRegistry *
rc_registry_new (RcStore *store, RcLibrary *library, guint max_rooms, guint chat_cap,
                 const RcRoomSettings *settings)
{
  RcRegistry *registry = g_new0 (RcRegistry, 1);

  registry->store = rc_store_ref (store);
  registry->library = library;
  registry->settings = *settings;
  registry->max_rooms = max_rooms;
  registry->chat_cap = chat_cap;
  registry->rooms =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rc_room_unref);
  return registry;
}

void
rc_registry_free (RcRegistry *registry)
{
  if (registry == NULL)
    return;
  g_hash_table_unref (registry->rooms);
  rc_store_unref (registry->store);
  g_free (registry);
}

/* Loading: one LoadJob walks the index; each room needs a state and a chat read. */
typedef struct
{
  RcRegistry *registry;
  RcRegistryLoadedFunc func;
  gpointer user_data;
  guint outstanding;
  GError *error;
} LoadJob;

typedef struct
{
  LoadJob *job;
  char *id;
} RoomLoad;

static void
job_step_done (LoadJob *job)
{
  if (--job->outstanding > 0)
    return;
  job->func (job->registry, job->error, job->user_data);
  g_clear_error (&job->error);
  g_free (job);
}

static void
job_fail (LoadJob *job, const GError *error)
{
  if (job->error == NULL && error != NULL)
    job->error = g_error_copy (error);
}

/* One room's load is over (loaded, skipped or failed). */
static void
room_load_done (RoomLoad *load)
{
  job_step_done (load->job);
  g_free (load->id);
  g_free (load);
}

static void
on_player_loaded (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  RoomLoad *load = user_data;
  RcRoom *room = rc_registry_lookup (load->job->registry, load->id);

  if (error != NULL)
    job_fail (load->job, error);
  else if (room != NULL && value != NULL)
    rc_player_restore (rc_room_get_player (room), value);
  room_load_done (load);
}

static void
on_recent_loaded (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  RoomLoad *load = user_data;
  RcRoom *room = rc_registry_lookup (load->job->registry, load->id);
  g_autofree char *player = g_strdup_printf ("room:%s:player", load->id);

  if (error != NULL)
    {
      job_fail (load->job, error);
      room_load_done (load);
      return;
    }
  if (room != NULL)
    rc_player_restore_recent (rc_room_get_player (room), values);
  rc_store_get (store, player, on_player_loaded, load);
}

static void
on_chat_loaded (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  RoomLoad *load = user_data;
  RcRoom *room = rc_registry_lookup (load->job->registry, load->id);
  g_autofree char *recent = g_strdup_printf ("room:%s:recent", load->id);

  if (error != NULL)
    {
      job_fail (load->job, error);
      room_load_done (load);
      return;
    }
  if (room != NULL)
    rc_room_restore_chat (room, values);
  rc_store_list_range (store, recent, 0, -1, on_recent_loaded, load);
}

static void
on_state_loaded (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  RoomLoad *load = user_data;
  LoadJob *job = load->job;
  g_autoptr (GError) local = NULL;
  RcRoom *room;

  if (error != NULL || value == NULL)
    {
      if (error != NULL)
        job_fail (job, error);
      else
        g_warning ("Room %s is in the rooms index but has no state; skipped", load->id);
      room_load_done (load);
      return;
    }
  room = rc_room_new_from_state (store, value, job->registry->chat_cap, &local);
  if (room == NULL)
    {
      g_warning ("Room %s has unreadable state (%s); skipped", load->id, local->message);
      room_load_done (load);
      return;
    }
  rc_room_start_player (room, job->registry->library, &job->registry->settings);
  g_hash_table_replace (job->registry->rooms, g_strdup (rc_room_get_id (room)), room);
  {
    /* Nobody is connected to a freshly started server. */
    g_autofree char *viewers = g_strdup_printf ("room:%s:viewers", load->id);
    g_autofree char *chat = g_strdup_printf ("room:%s:chat", load->id);

    rc_store_del (store, viewers);
    rc_store_list_range (store, chat, -(gint64) job->registry->chat_cap, -1, on_chat_loaded,
                         load);
  }
}

static void
on_index_loaded (RcStore *store, GPtrArray *ids, const GError *error, gpointer user_data)
{
  LoadJob *job = user_data;

  if (error != NULL)
    job_fail (job, error);
  else
    for (guint i = 0; i < ids->len; i++)
      {
        RoomLoad *load = g_new0 (RoomLoad, 1);
        g_autofree char *state = g_strdup_printf ("room:%s:state", (char *) ids->pdata[i]);

        load->job = job;
        load->id = g_strdup (ids->pdata[i]);
        job->outstanding++;
        rc_store_get (store, state, on_state_loaded, load);
      }
  job_step_done (job);
}

void
rc_registry_load (RcRegistry *registry, RcRegistryLoadedFunc func, gpointer user_data)
{
  LoadJob *job = g_new0 (LoadJob, 1);

  job->registry = registry;
  job->func = func;
  job->user_data = user_data;
  job->outstanding = 1;
  rc_store_set_members (registry->store, "rooms", on_index_loaded, job);
}

RcRoom *
rc_registry_create_room (RcRegistry *registry, const char *name, const char *password,
                         char **owner_token_out, GError **error)
{
  g_autofree char *id = NULL;
  g_autofree char *token = NULL;
  RcRoom *room;

  if (g_hash_table_size (registry->rooms) >= registry->max_rooms)
    {
      rc_error_set (error, RC_ERROR_TOO_MANY_ROOMS);
      return NULL;
    }
  do
    {
      g_free (id);
      id = rc_secret_random_id (RC_ROOM_ID_LENGTH);
    }
  while (g_hash_table_contains (registry->rooms, id));

  token = rc_secret_random_token ();
  room = rc_room_new (registry->store, id, name, password, token, registry->chat_cap);
  rc_room_start_player (room, registry->library, &registry->settings);
  g_hash_table_insert (registry->rooms, g_strdup (id), room);
  rc_room_save (room);
  if (owner_token_out != NULL)
    *owner_token_out = g_steal_pointer (&token);
  return room;
}

RcRoom *
rc_registry_lookup (RcRegistry *registry, const char *id)
{
  return id ? g_hash_table_lookup (registry->rooms, id) : NULL;
}

RcRoom *
rc_registry_find_by_name (RcRegistry *registry, const char *name)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, registry->rooms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (rc_room_get_name (value), name))
      return value;
  return NULL;
}

void
rc_registry_delete_room (RcRegistry *registry, RcRoom *room)
{
  g_autoptr (RcRoom) hold = rc_room_ref (room);
  JsonObject *o;
  g_autoptr (JsonNode) closed = rc_json_message_new ("roomClosed", &o);
  GPtrArray *guests = rc_room_get_guests (room);

  json_object_set_string_member (o, "roomId", rc_room_get_id (room));
  rc_room_broadcast (room, closed, NULL);
  while (guests->len > 0)
    {
      RcGuest *guest = guests->pdata[guests->len - 1];

      rc_room_remove_guest (room, guest);
      if (guest->evicted != NULL)
        guest->evicted (guest, guest->send_data);
    }
  rc_room_end_publisher (room, NULL);
  rc_room_erase (room);
  g_hash_table_remove (registry->rooms, rc_room_get_id (room));
}

static int
room_order (gconstpointer a, gconstpointer b)
{
  RcRoom *x = *(RcRoom *const *) a;
  RcRoom *y = *(RcRoom *const *) b;
  guint gx = rc_room_get_guest_count (x), gy = rc_room_get_guest_count (y);

  if (gx != gy)
    return gx > gy ? -1 : 1;
  if (rc_room_get_created_at (x) != rc_room_get_created_at (y))
    return rc_room_get_created_at (x) > rc_room_get_created_at (y) ? -1 : 1;
  return g_strcmp0 (rc_room_get_id (x), rc_room_get_id (y));
}

GPtrArray *
rc_registry_list (RcRegistry *registry)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, registry->rooms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, room_order);
  return list;
}

guint
rc_registry_get_room_count (RcRegistry *registry)
{
  return g_hash_table_size (registry->rooms);
}

RcMetrics *
rc_registry_get_metrics (RcRegistry *registry)
{
  return registry->settings.metrics;
}

RcFanout *
rc_registry_get_fanout (RcRegistry *registry)
{
  return registry->settings.fanout;
}

guint
rc_registry_get_guest_count (RcRegistry *registry)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, registry->rooms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += rc_room_get_guest_count (value);
  return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * The room registry. Rooms are created here with a fresh unguessable id and
 * owner token, saved to the store at once, and found again at start by
 * walking the "rooms" index set. Loading is asynchronous (the store may be
 * Redis); the server does not accept connections until it has finished.
 *
 * In a cluster the registry holds only the rooms this node has the lease
 * of: a room comes in by rc_registry_claim (lease taken, then the same
 * per-room load as at start) and goes when the lease is lost. Loads and
 * claims in flight when the registry is freed find it gone (job->registry
 * NULL) and only finish their bookkeeping.
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
  RcCluster *cluster; /* NULL: a lone node */
  GHashTable *claims; /* id -> Claim* on its way (not owned: each frees itself) */
  GPtrArray *jobs;    /* LoadJob* in flight (not owned) */
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
  registry->claims = g_hash_table_new (g_str_hash, g_str_equal);
  registry->jobs = g_ptr_array_new ();
  return registry;
}

/* Loading: one LoadJob walks the index; each room needs a state and a chat read. */
typedef struct
{
  RcRegistry *registry; /* NULL once the registry is freed */
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

/* A claim on its way: its id's lease asked for, then its load. */
typedef struct
{
  RcRegistry *registry; /* NULL once the registry is freed */
  char *id;
  GArray *waiters; /* Waiter */
} Claim;

typedef struct
{
  RcRegistryClaimFunc func;
  gpointer user_data;
} Waiter;

void
rc_registry_free (RcRegistry *registry)
{
  GHashTableIter iter;
  gpointer claim;

  if (registry == NULL)
    return;
  g_hash_table_iter_init (&iter, registry->claims);
  while (g_hash_table_iter_next (&iter, NULL, &claim))
    ((Claim *) claim)->registry = NULL;
  for (guint i = 0; i < registry->jobs->len; i++)
    ((LoadJob *) registry->jobs->pdata[i])->registry = NULL;
  g_hash_table_unref (registry->claims);
  g_ptr_array_unref (registry->jobs);
  g_hash_table_unref (registry->rooms);
  rc_store_unref (registry->store);
  g_free (registry);
}

static LoadJob *
job_new (RcRegistry *registry, RcRegistryLoadedFunc func, gpointer user_data)
{
  LoadJob *job = g_new0 (LoadJob, 1);

  job->registry = registry;
  job->func = func;
  job->user_data = user_data;
  job->outstanding = 1;
  g_ptr_array_add (registry->jobs, job);
  return job;
}

static void
job_step_done (LoadJob *job)
{
  if (--job->outstanding > 0)
    return;
  if (job->registry != NULL)
    g_ptr_array_remove_fast (job->registry->jobs, job);
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

  if (job->registry == NULL)
    {
      room_load_done (load);
      return;
    }
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

/* Adds room @id's load (state, chat, recent songs, player) to @job. */
static void
job_load_room (LoadJob *job, RcStore *store, const char *id)
{
  RoomLoad *load = g_new0 (RoomLoad, 1);
  g_autofree char *state = g_strdup_printf ("room:%s:state", id);

  load->job = job;
  load->id = g_strdup (id);
  job->outstanding++;
  rc_store_get (store, state, on_state_loaded, load);
}

static void
on_index_loaded (RcStore *store, GPtrArray *ids, const GError *error, gpointer user_data)
{
  LoadJob *job = user_data;

  if (error != NULL)
    job_fail (job, error);
  else if (job->registry != NULL)
    for (guint i = 0; i < ids->len; i++)
      job_load_room (job, store, ids->pdata[i]);
  job_step_done (job);
}

void
rc_registry_load (RcRegistry *registry, RcRegistryLoadedFunc func, gpointer user_data)
{
  if (registry->cluster != NULL)
    {
      func (registry, NULL, user_data); /* rooms come in one by one, claimed */
      return;
    }
  rc_store_set_members (registry->store, "rooms", on_index_loaded,
                        job_new (registry, func, user_data));
}

void
rc_registry_set_cluster (RcRegistry *registry, RcCluster *cluster)
{
  registry->cluster = cluster;
}

RcCluster *
rc_registry_get_cluster (RcRegistry *registry)
{
  return registry->cluster;
}

/* ---- claims ------------------------------------------------------------- */

/* Tells every waiter of @claim and frees it. */
static void
claim_finish (Claim *claim, const char *owner_id, const char *owner_url, const GError *error)
{
  RcRegistry *registry = claim->registry;
  RcRoom *room = NULL;

  if (registry != NULL)
    {
      g_hash_table_remove (registry->claims, claim->id);
      room = error ? NULL : rc_registry_lookup (registry, claim->id);
      for (guint i = 0; i < claim->waiters->len; i++)
        {
          Waiter *w = &g_array_index (claim->waiters, Waiter, i);

          w->func (registry, room, owner_id, owner_url, error, w->user_data);
        }
    }
  g_array_unref (claim->waiters);
  g_free (claim->id);
  g_free (claim);
}

static void
claim_loaded (RcRegistry *registry, const GError *error, gpointer user_data)
{
  Claim *claim = user_data;
  g_autoptr (GError) missing = NULL;

  if (claim->registry != NULL && error == NULL
      && rc_registry_lookup (claim->registry, claim->id) == NULL)
    {
      /* Its state was unreadable (logged): give the lease back. */
      rc_cluster_release (claim->registry->cluster, claim->id, FALSE);
      error = missing = g_error_new_literal (RC_ERROR, RC_ERROR_NOT_FOUND, "No room with that id");
    }
  else if (claim->registry != NULL && error == NULL
           && !rc_cluster_holds (claim->registry->cluster, claim->id))
    {
      /* The lease went while the room loaded (this node froze meanwhile). */
      rc_registry_forget_room (claim->registry, claim->id);
      error = missing = g_error_new_literal (RC_ERROR, RC_ERROR_ROOM_MOVING,
                                             "The room moved while it loaded; try again");
    }
  else if (claim->registry != NULL && error == NULL)
    g_message ("Room %s taken over by this node", claim->id);
  claim_finish (claim, NULL, NULL, error);
}

static void
on_claim_acquired (RcCluster *cluster, const char *room_id, const RcClusterClaim *result,
                   const GError *error, gpointer user_data)
{
  Claim *claim = user_data;
  g_autoptr (GError) local = NULL;

  if (error != NULL)
    {
      claim_finish (claim, NULL, NULL, error);
      return;
    }
  switch (result->result)
    {
    case RC_CLUSTER_CLAIM_OURS:
      if (claim->registry == NULL)
        {
          rc_cluster_release (cluster, room_id, FALSE);
          claim_finish (claim, NULL, NULL, NULL);
          return;
        }
      {
        LoadJob *job = job_new (claim->registry, claim_loaded, claim);

        job_load_room (job, claim->registry->store, room_id);
        job_step_done (job);
      }
      return;
    case RC_CLUSTER_CLAIM_ELSEWHERE:
      if (result->owner_url != NULL)
        local = g_error_new (RC_ERROR, RC_ERROR_ROOM_ELSEWHERE,
                             "Node %s serves this room: go to %s", result->owner_id,
                             result->owner_url);
      else
        local = g_error_new (RC_ERROR, RC_ERROR_ROOM_MOVING,
                             "The room's node stopped answering; try again in %u s",
                             (rc_cluster_get_lease_ms (cluster) + 999) / 1000);
      claim_finish (claim, result->owner_id, result->owner_url, local);
      return;
    case RC_CLUSTER_CLAIM_NO_ROOM:
      local = g_error_new_literal (RC_ERROR, RC_ERROR_NOT_FOUND, "No room with that id");
      claim_finish (claim, NULL, NULL, local);
      return;
    }
}

void
rc_registry_claim (RcRegistry *registry, const char *id, RcRegistryClaimFunc func,
                   gpointer user_data)
{
  RcRoom *room = rc_registry_lookup (registry, id);
  Waiter waiter = { func, user_data };
  Claim *claim;

  if (room != NULL || registry->cluster == NULL || !rc_secret_id_is_valid (id))
    {
      g_autoptr (GError) error = NULL;

      if (room == NULL)
        error = g_error_new_literal (RC_ERROR, RC_ERROR_NOT_FOUND, "No room with that id");
      func (registry, room, NULL, NULL, error, user_data);
      return;
    }
  claim = g_hash_table_lookup (registry->claims, id);
  if (claim == NULL)
    {
      claim = g_new0 (Claim, 1);
      claim->registry = registry;
      claim->id = g_strdup (id);
      claim->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
      g_hash_table_insert (registry->claims, claim->id, claim);
      rc_cluster_acquire (registry->cluster, id, FALSE, on_claim_acquired, claim);
    }
  g_array_append_val (claim->waiters, waiter);
}

RcRoom *
rc_registry_create_room (RcRegistry *registry, const char *name, const char *password_hash,
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
  if (registry->cluster != NULL && !rc_store_is_connected (registry->store))
    {
      /* No lease can be taken: a room made now could not be saved. */
      rc_error_set (error, RC_ERROR_STORE_UNAVAILABLE);
      return NULL;
    }
  do
    {
      g_free (id);
      id = rc_secret_random_id (RC_ROOM_ID_LENGTH);
    }
  while (g_hash_table_contains (registry->rooms, id));

  token = rc_secret_random_token ();
  if (registry->cluster != NULL)
    rc_cluster_acquire_new (registry->cluster, id); /* before the room's first write */
  room = rc_room_new (registry->store, id, name, password_hash, token, registry->chat_cap);
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
  return registry != NULL && id != NULL ? g_hash_table_lookup (registry->rooms, id) : NULL;
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

/* Tells @room's guests it closed (@reason: NULL, or why), removes them
 * and ends its live host. */
static void
close_room (RcRoom *room, const char *reason)
{
  JsonObject *o;
  g_autoptr (JsonNode) closed = rc_json_message_new ("roomClosed", &o);
  GPtrArray *guests = rc_room_get_guests (room);

  json_object_set_string_member (o, "roomId", rc_room_get_id (room));
  if (reason != NULL)
    json_object_set_string_member (o, "reason", reason);
  rc_room_broadcast (room, closed, NULL);
  while (guests->len > 0)
    {
      RcGuest *guest = guests->pdata[guests->len - 1];

      rc_room_remove_guest (room, guest);
      if (guest->evicted != NULL)
        guest->evicted (guest, guest->send_data);
    }
  rc_room_end_publisher (room, NULL);
}

void
rc_registry_delete_room (RcRegistry *registry, RcRoom *room)
{
  g_autoptr (RcRoom) hold = rc_room_ref (room);
  g_autofree char *id = g_strdup (rc_room_get_id (room));

  close_room (room, NULL);
  rc_room_erase (room);
  g_hash_table_remove (registry->rooms, id);
  if (registry->cluster != NULL)
    rc_cluster_release (registry->cluster, id, TRUE); /* after the erase, on the same link */
}

void
rc_registry_forget_room (RcRegistry *registry, const char *id)
{
  RcRoom *room = rc_registry_lookup (registry, id);
  g_autoptr (RcRoom) hold = NULL;

  if (room == NULL)
    return;
  hold = rc_room_ref (room);
  g_message ("Room %s: its lease is lost, dropped here (its state stays in the store)", id);
  close_room (room, "moved");
  g_hash_table_remove (registry->rooms, id);
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

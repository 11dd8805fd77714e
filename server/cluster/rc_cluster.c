/* SPDX-License-Identifier: MIT */
/*
 * Nodes, heartbeats and room leases on Redis, for roomcast nodes sharing
 * one (--cluster). Why it is built this way:
 *
 *  - Every step that reads and then writes is one Lua script (rc_store_eval),
 *    so two nodes racing for a room see one winner: SET NX semantics with
 *    the epoch INCR in the same step.
 *  - One heartbeat script a third of a lease apart both rewrites this node's
 *    key (its load, expiring after one lease) and renews every lease it
 *    holds; the leases it finds taken by another node come back as "lost".
 *    The fence (epoch 0 from then on, rc_store_fence) drops this node's
 *    writes at once; the epoch check in Redis refuses those on their way.
 *  - Redis unreachable: nothing can be renewed, and nobody can take a room
 *    either. The rooms keep playing from memory (their writes wait in the
 *    store's buffer, fenced with their epoch); when Redis answers again the
 *    next heartbeat renews each lease, takes back one that expired if its
 *    epoch is unchanged, and reports as lost only those another node took
 *    meanwhile (a partition that left this node alone: its buffered writes
 *    are then refused, and the rooms dropped).
 *  - Scripts name keys they build (node:{id}) besides their KEYS: fine on a
 *    single Redis or behind Sentinel, not on Redis Cluster (see
 *    docs/operators.md).
 */
#include "server/cluster/rc_cluster.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_process_stats.h"
#include "server/core/rc_secret.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define NODE_ID_LENGTH 8

struct _RcCluster
{
  gint ref_count;
  RcStore *store;
  guint lease_ms;
  char *node_id;
  char *node_url; /* NULL until started */
  gint64 started_at_ms;
  RcClusterLoadFunc load;
  RcClusterLostFunc lost;
  gpointer user_data;
  guint heartbeat_id;
  gboolean beat_in_flight;
  double last_cpu_s;
  gint64 last_cpu_at_us;
  double cpu; /* share of one core over the last heartbeat */
  GHashTable *held; /* room id -> GUINT64 epoch (boxed) */
};

/*
 * KEYS: node key, nodes set, then each held room's lease and epoch keys;
 * ARGV: node JSON, node id, node TTL, lease ms, then each room's epoch. A
 * lease that expired while its epoch is still ours (nobody took the room
 * meanwhile: Redis was away longer than a lease) is taken again, same epoch.
 */
static const char heartbeat_script[] =
  "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) "
  "redis.call('SADD', KEYS[2], ARGV[2]) "
  "local lost = {} "
  "for i = 3, #KEYS, 2 do "
  "  local n = (i - 1) / 2 "
  "  local owner = redis.call('GET', KEYS[i]) "
  "  if owner == ARGV[2] then redis.call('PEXPIRE', KEYS[i], ARGV[4]) "
  "  elseif owner == false and redis.call('GET', KEYS[i + 1]) == ARGV[4 + n] then "
  "    redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[4]) "
  "  else lost[#lost + 1] = n end "
  "end "
  "return lost";

static const char acquire_script[] =
  "local owner = redis.call('GET', KEYS[1]) "
  "if owner == ARGV[1] then "
  "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
  "  return {'ours', redis.call('GET', KEYS[2]) or '0', owner, ''} "
  "end "
  "if owner then return {'elsewhere', '0', owner, redis.call('GET', 'node:' .. owner) or ''} end "
  "if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[3]) == 0 then return {'none', '0', '', ''} end "
  "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
  "return {'ours', tostring(redis.call('INCR', KEYS[2])), ARGV[1], ''}";

/* A fresh room: its lease and epoch 1, unless either exists already. */
static const char acquire_new_script[] =
  "if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 'used' end "
  "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
  "redis.call('SET', KEYS[2], '1') "
  "return 'ours'";

/* KEYS: node key, nodes set, then leases to give back with their epoch
 * keys; ARGV[1] node id; ARGV[2] '1': unregister the node too; ARGV[3] '1':
 * the rooms were deleted, their epochs go too (a write still fenced with
 * one is refused: nil is no epoch). */
static const char release_script[] =
  "for i = 3, #KEYS, 2 do "
  "  if redis.call('GET', KEYS[i]) == ARGV[1] then "
  "    redis.call('DEL', KEYS[i]) "
  "    if ARGV[3] == '1' then redis.call('DEL', KEYS[i + 1]) end "
  "  end "
  "end "
  "if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) redis.call('SREM', KEYS[2], ARGV[1]) end "
  "return 1";

static const char nodes_script[] =
  "local out = {} "
  "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
  "  local v = redis.call('GET', 'node:' .. id) "
  "  if v then out[#out + 1] = v else redis.call('SREM', KEYS[1], id) end "
  "end "
  "return out";

/* ARGV: room ids, none for every room of the "rooms" index. Five words a room. */
static const char rooms_script[] =
  "local ids = ARGV "
  "if #ids == 0 then ids = redis.call('SMEMBERS', 'rooms') end "
  "local out = {} "
  "for _, id in ipairs(ids) do "
  "  local st = redis.call('GET', 'room:' .. id .. ':state') "
  "  if st then "
  "    local owner = redis.call('GET', 'room-lease:' .. id) or '' "
  "    local node = '' "
  "    if owner ~= '' then node = redis.call('GET', 'node:' .. owner) or '' end "
  "    out[#out + 1] = id out[#out + 1] = st out[#out + 1] = owner out[#out + 1] = node "
  "    out[#out + 1] = tostring(redis.call('SCARD', 'room:' .. id .. ':viewers')) "
  "  end "
  "end "
  "return out";

static char *
key_for (const char *kind, const char *id)
{
  return g_strdup_printf ("%s:%s", kind, id);
}

RcCluster *
rc_cluster_new (RcStore *store, guint lease_ms)
{
  RcCluster *cluster = g_new0 (RcCluster, 1);

  cluster->ref_count = 1;
  cluster->store = rc_store_ref (store);
  cluster->lease_ms = MAX (lease_ms, 300);
  cluster->node_id = rc_secret_random_id (NODE_ID_LENGTH);
  cluster->held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return cluster;
}

RcCluster *
rc_cluster_ref (RcCluster *cluster)
{
  cluster->ref_count++;
  return cluster;
}

void
rc_cluster_unref (RcCluster *cluster)
{
  if (cluster == NULL || --cluster->ref_count > 0)
    return;
  g_clear_handle_id (&cluster->heartbeat_id, g_source_remove);
  g_hash_table_unref (cluster->held);
  rc_store_unref (cluster->store);
  g_free (cluster->node_id);
  g_free (cluster->node_url);
  g_free (cluster);
}

const char *
rc_cluster_get_node_id (RcCluster *cluster)
{
  return cluster->node_id;
}

const char *
rc_cluster_get_node_url (RcCluster *cluster)
{
  return cluster->node_url;
}

guint
rc_cluster_get_lease_ms (RcCluster *cluster)
{
  return cluster->lease_ms;
}

gboolean
rc_cluster_holds (RcCluster *cluster, const char *room_id)
{
  return g_hash_table_contains (cluster->held, room_id);
}

/* A copy of the ids of the leases held, safe to walk while they change. */
static GPtrArray *
held_ids (RcCluster *cluster)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer id;

  g_hash_table_iter_init (&iter, cluster->held);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    g_ptr_array_add (ids, g_strdup (id));
  return ids;
}

/* ---- fences ------------------------------------------------------------- */

static void
fence_room (RcCluster *cluster, const char *room_id, guint64 epoch)
{
  g_autofree char *prefix = g_strdup_printf ("room:%s:", room_id);
  g_autofree char *fence_key = key_for ("room-epoch", room_id);

  rc_store_fence (cluster->store, prefix, fence_key, epoch);
}

/* The lease is over here: the store drops the room's writes from now on. */
static void
forget (RcCluster *cluster, const char *room_id)
{
  fence_room (cluster, room_id, 0);
  g_hash_table_remove (cluster->held, room_id);
}

/* ---- the heartbeat ------------------------------------------------------ */

typedef struct
{
  RcCluster *cluster;
  GPtrArray *ids; /* the leases renewed, in KEYS order */
} Beat;

static void
lose (RcCluster *cluster, const char *room_id)
{
  g_autofree char *id = g_strdup (room_id);

  if (!rc_cluster_holds (cluster, id))
    return;
  g_warning ("Cluster: lost the lease of room %s", id);
  forget (cluster, id);
  if (cluster->lost != NULL)
    cluster->lost (cluster, id, cluster->user_data);
}

static void
on_beat (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  Beat *beat = user_data;
  RcCluster *cluster = beat->cluster;

  cluster->beat_in_flight = FALSE;
  if (error != NULL)
    g_debug ("Cluster: heartbeat failed: %s", error->message);
  else
    {
      for (guint i = 0; i < values->len; i++)
        {
          guint64 index = 0;

          if (g_ascii_string_to_unsigned (values->pdata[i], 10, 1, beat->ids->len, &index, NULL)
              && cluster->heartbeat_id != 0)
            lose (cluster, beat->ids->pdata[index - 1]);
        }
    }
  g_ptr_array_unref (beat->ids);
  rc_cluster_unref (cluster);
  g_free (beat);
}

static void
measure_cpu (RcCluster *cluster)
{
  RcProcessStats stats;
  gint64 now = g_get_monotonic_time ();

  if (!rc_process_stats_read (&stats))
    return;
  if (cluster->last_cpu_at_us != 0 && now > cluster->last_cpu_at_us)
    cluster->cpu = (stats.cpu_seconds - cluster->last_cpu_s)
                   / ((double) (now - cluster->last_cpu_at_us) / G_USEC_PER_SEC);
  cluster->last_cpu_s = stats.cpu_seconds;
  cluster->last_cpu_at_us = now;
}

static char *
node_json (RcCluster *cluster)
{
  RcClusterLoad load = { 0 };
  JsonObject *o;
  g_autoptr (JsonNode) node = rc_json_message_new (NULL, &o);

  if (cluster->load != NULL)
    cluster->load (&load, cluster->user_data);
  json_object_set_string_member (o, "id", cluster->node_id);
  json_object_set_string_member (o, "url", cluster->node_url);
  json_object_set_int_member (o, "rooms", load.rooms);
  json_object_set_int_member (o, "guests", load.guests);
  json_object_set_double_member (o, "cpu", MAX (cluster->cpu, 0.0));
  json_object_set_int_member (o, "startedAt", cluster->started_at_ms);
  return rc_json_to_string (node);
}

static void
send_beat (RcCluster *cluster)
{
  g_autofree char *json = NULL;
  g_autofree char *node_key = key_for ("node", cluster->node_id);
  g_autofree char *ttl = g_strdup_printf ("%u", cluster->lease_ms);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) epochs = g_ptr_array_new_with_free_func (g_free);
  Beat *beat;
  GHashTableIter iter;
  gpointer id, epoch;

  if (cluster->beat_in_flight)
    return; /* Redis is slow: the one on its way renews as well */
  measure_cpu (cluster);
  json = node_json (cluster);
  beat = g_new0 (Beat, 1);
  beat->cluster = rc_cluster_ref (cluster);
  beat->ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (node_key));
  g_ptr_array_add (argv, g_strdup ("nodes"));
  g_hash_table_iter_init (&iter, cluster->held);
  while (g_hash_table_iter_next (&iter, &id, &epoch))
    {
      g_ptr_array_add (beat->ids, g_strdup (id));
      g_ptr_array_add (argv, key_for ("room-lease", id));
      g_ptr_array_add (argv, key_for ("room-epoch", id));
      g_ptr_array_add (epochs, g_strdup_printf ("%" G_GUINT64_FORMAT, *(guint64 *) epoch));
    }
  g_ptr_array_add (argv, g_strdup (json));
  g_ptr_array_add (argv, g_strdup (cluster->node_id));
  g_ptr_array_add (argv, g_strdup (ttl));
  g_ptr_array_add (argv, g_strdup (ttl));
  for (guint i = 0; i < epochs->len; i++)
    g_ptr_array_add (argv, g_strdup (epochs->pdata[i]));
  cluster->beat_in_flight = TRUE;
  rc_store_eval (cluster->store, heartbeat_script, 2 * beat->ids->len + 2,
                 (const char *const *) argv->pdata, argv->len, on_beat, beat);
}

static gboolean
on_heartbeat (gpointer user_data)
{
  RcCluster *cluster = user_data;

  send_beat (cluster);
  return G_SOURCE_CONTINUE;
}

void
rc_cluster_start (RcCluster *cluster, const char *node_url, RcClusterLoadFunc load,
                  RcClusterLostFunc lost, gpointer user_data)
{
  g_return_if_fail (cluster->heartbeat_id == 0);
  g_free (cluster->node_url);
  cluster->node_url = g_strdup (node_url);
  cluster->load = load;
  cluster->lost = lost;
  cluster->user_data = user_data;
  cluster->started_at_ms = g_get_real_time () / 1000;
  cluster->heartbeat_id = g_timeout_add (MAX (cluster->lease_ms / 3, 100), on_heartbeat, cluster);
  send_beat (cluster);
  g_message ("Cluster: node %s at %s (lease %u ms)", cluster->node_id, node_url,
             cluster->lease_ms);
}

void
rc_cluster_heartbeat_now (RcCluster *cluster)
{
  if (cluster->heartbeat_id != 0)
    send_beat (cluster);
}

static void
ignore_reply (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  if (error != NULL)
    g_debug ("Cluster: %s", error->message);
}

/* Gives back @ids' leases (and unregisters the node with @leave; erases
 * their epochs with @erased). */
static void
send_release (RcCluster *cluster, GPtrArray *ids, gboolean leave, gboolean erased)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, key_for ("node", cluster->node_id));
  g_ptr_array_add (argv, g_strdup ("nodes"));
  for (guint i = 0; i < ids->len; i++)
    {
      g_ptr_array_add (argv, key_for ("room-lease", ids->pdata[i]));
      g_ptr_array_add (argv, key_for ("room-epoch", ids->pdata[i]));
    }
  g_ptr_array_add (argv, g_strdup (cluster->node_id));
  g_ptr_array_add (argv, g_strdup (leave ? "1" : "0"));
  g_ptr_array_add (argv, g_strdup (erased ? "1" : "0"));
  rc_store_eval (cluster->store, release_script, 2 * ids->len + 2,
                 (const char *const *) argv->pdata, argv->len, ignore_reply, NULL);
}

void
rc_cluster_stop (RcCluster *cluster)
{
  g_autoptr (GPtrArray) ids = NULL;

  if (cluster->heartbeat_id == 0)
    return;
  g_clear_handle_id (&cluster->heartbeat_id, g_source_remove);
  ids = held_ids (cluster);
  send_release (cluster, ids, TRUE, FALSE);
  for (guint i = 0; i < ids->len; i++)
    forget (cluster, ids->pdata[i]);
  cluster->lost = NULL;
  cluster->load = NULL;
}

/* ---- nodes -------------------------------------------------------------- */

void
rc_cluster_node_free (RcClusterNode *node)
{
  if (node == NULL)
    return;
  g_free (node->id);
  g_free (node->url);
  g_free (node);
}

/* A node key's JSON, or NULL when it is not one. */
static RcClusterNode *
node_parse (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  RcClusterNode *node;

  if (text == NULL || *text == '\0' || !json_parser_load_from_data (parser, text, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  o = json_node_get_object (json_parser_get_root (parser));
  if (rc_json_get_string (o, "id") == NULL || rc_json_get_string (o, "url") == NULL)
    return NULL;
  node = g_new0 (RcClusterNode, 1);
  node->id = g_strdup (rc_json_get_string (o, "id"));
  node->url = g_strdup (rc_json_get_string (o, "url"));
  node->rooms = (guint) CLAMP (rc_json_get_int (o, "rooms", 0), 0, G_MAXUINT);
  node->guests = (guint) CLAMP (rc_json_get_int (o, "guests", 0), 0, G_MAXUINT);
  node->cpu = rc_json_get_number (o, "cpu", 0);
  node->started_at = rc_json_get_int (o, "startedAt", 0);
  return node;
}

typedef struct
{
  RcCluster *cluster;
  RcClusterNodesFunc nodes_func;
  RcClusterAcquireFunc acquire_func;
  RcClusterRoomsFunc rooms_func;
  gpointer user_data;
  char *room_id;
} Call;

static Call *
call_new (RcCluster *cluster, gpointer user_data)
{
  Call *call = g_new0 (Call, 1);

  call->cluster = rc_cluster_ref (cluster);
  call->user_data = user_data;
  return call;
}

static void
call_free (Call *call)
{
  rc_cluster_unref (call->cluster);
  g_free (call->room_id);
  g_free (call);
}

static int
node_cmp (gconstpointer a, gconstpointer b)
{
  const RcClusterNode *x = *(RcClusterNode *const *) a;
  const RcClusterNode *y = *(RcClusterNode *const *) b;

  return strcmp (x->id, y->id);
}

static void
on_nodes (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GPtrArray) nodes =
    g_ptr_array_new_with_free_func ((GDestroyNotify) rc_cluster_node_free);

  if (error == NULL)
    for (guint i = 0; i < values->len; i++)
      {
        RcClusterNode *node = node_parse (values->pdata[i]);

        if (node != NULL)
          g_ptr_array_add (nodes, node);
      }
  g_ptr_array_sort (nodes, node_cmp);
  call->nodes_func (call->cluster, error ? NULL : nodes, error, call->user_data);
  call_free (call);
}

void
rc_cluster_list_nodes (RcCluster *cluster, RcClusterNodesFunc func, gpointer user_data)
{
  const char *argv[] = { "nodes" };
  Call *call = call_new (cluster, user_data);

  call->nodes_func = func;
  rc_store_eval (cluster->store, nodes_script, 1, argv, G_N_ELEMENTS (argv), on_nodes, call);
}

RcClusterNode *
rc_cluster_least_loaded (GPtrArray *nodes)
{
  RcClusterNode *best = NULL;

  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      RcClusterNode *n = nodes->pdata[i];

      if (best == NULL || n->guests < best->guests
          || (n->guests == best->guests && n->rooms < best->rooms)
          || (n->guests == best->guests && n->rooms == best->rooms && strcmp (n->id, best->id) < 0))
        best = n;
    }
  return best;
}

/* ---- leases ------------------------------------------------------------- */

static void
on_acquired (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  Call *call = user_data;
  RcCluster *cluster = call->cluster;
  g_autoptr (GError) local = NULL;
  g_autoptr (RcClusterNode) owner = NULL;
  RcClusterClaim claim = { 0 };
  const char *kind;

  if (error == NULL && values->len != 4)
    error = local = g_error_new (RC_ERROR, RC_ERROR_STORE_UNAVAILABLE,
                                 "Redis answered a lease request with %u words", values->len);
  if (error != NULL)
    {
      call->acquire_func (cluster, call->room_id, NULL, error, call->user_data);
      call_free (call);
      return;
    }
  kind = values->pdata[0];
  claim.owner_id = values->pdata[2];
  if (g_str_equal (kind, "ours"))
    {
      claim.result = RC_CLUSTER_CLAIM_OURS;
      claim.epoch = g_ascii_strtoull (values->pdata[1], NULL, 10);
      claim.owner_url = cluster->node_url;
      fence_room (cluster, call->room_id, claim.epoch);
      g_hash_table_replace (cluster->held, g_strdup (call->room_id),
                            g_memdup2 (&claim.epoch, sizeof claim.epoch));
    }
  else if (g_str_equal (kind, "elsewhere"))
    {
      owner = node_parse (values->pdata[3]);
      claim.result = RC_CLUSTER_CLAIM_ELSEWHERE;
      claim.owner_url = owner ? owner->url : NULL;
    }
  else
    claim.result = RC_CLUSTER_CLAIM_NO_ROOM;
  call->acquire_func (cluster, call->room_id, &claim, NULL, call->user_data);
  call_free (call);
}

void
rc_cluster_acquire (RcCluster *cluster, const char *room_id, gboolean create,
                    RcClusterAcquireFunc func, gpointer user_data)
{
  g_autofree char *lease = key_for ("room-lease", room_id);
  g_autofree char *epoch = key_for ("room-epoch", room_id);
  g_autofree char *state = g_strdup_printf ("room:%s:state", room_id);
  g_autofree char *ms = g_strdup_printf ("%u", cluster->lease_ms);
  const char *argv[] = { lease, epoch, state, cluster->node_id, ms, create ? "1" : "0" };
  Call *call = call_new (cluster, user_data);

  call->acquire_func = func;
  call->room_id = g_strdup (room_id);
  rc_store_eval (cluster->store, acquire_script, 3, argv, G_N_ELEMENTS (argv), on_acquired,
                 call);
}

static void
on_acquired_new (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  Call *call = user_data;

  if (error != NULL || values->len != 1 || !g_str_equal (values->pdata[0], "ours"))
    {
      g_warning ("Cluster: could not take the lease of new room %s (%s)", call->room_id,
                 error ? error->message : "its id was used before");
      lose (call->cluster, call->room_id);
    }
  call_free (call);
}

void
rc_cluster_acquire_new (RcCluster *cluster, const char *room_id)
{
  g_autofree char *lease = key_for ("room-lease", room_id);
  g_autofree char *epoch = key_for ("room-epoch", room_id);
  g_autofree char *ms = g_strdup_printf ("%u", cluster->lease_ms);
  const char *argv[] = { lease, epoch, cluster->node_id, ms };
  Call *call = call_new (cluster, NULL);
  guint64 first = 1;

  call->room_id = g_strdup (room_id);
  fence_room (cluster, room_id, first);
  g_hash_table_replace (cluster->held, g_strdup (room_id), g_memdup2 (&first, sizeof first));
  rc_store_eval (cluster->store, acquire_new_script, 2, argv, G_N_ELEMENTS (argv),
                 on_acquired_new, call);
}

void
rc_cluster_release (RcCluster *cluster, const char *room_id, gboolean erased)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();

  if (!rc_cluster_holds (cluster, room_id))
    return;
  g_ptr_array_add (ids, (gpointer) room_id);
  send_release (cluster, ids, FALSE, erased);
  forget (cluster, room_id);
}

/* ---- rooms -------------------------------------------------------------- */

static void
cluster_room_free (gpointer data)
{
  RcClusterRoom *room = data;

  g_free (room->id);
  g_free (room->state);
  g_free (room->owner_id);
  g_free (room->owner_url);
  g_free (room);
}

static void
on_rooms (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GPtrArray) rooms = g_ptr_array_new_with_free_func (cluster_room_free);

  for (guint i = 0; error == NULL && i + 5 <= values->len; i += 5)
    {
      RcClusterRoom *room = g_new0 (RcClusterRoom, 1);
      const char *owner = values->pdata[i + 2];
      g_autoptr (RcClusterNode) node = node_parse (values->pdata[i + 3]);

      room->id = g_strdup (values->pdata[i]);
      room->state = g_strdup (values->pdata[i + 1]);
      room->owner_id = *owner ? g_strdup (owner) : NULL;
      room->owner_url = node ? g_strdup (node->url) : NULL;
      room->viewers = (guint) g_ascii_strtoull (values->pdata[i + 4], NULL, 10);
      g_ptr_array_add (rooms, room);
    }
  call->rooms_func (call->cluster, error ? NULL : rooms, error, call->user_data);
  call_free (call);
}

void
rc_cluster_list_rooms (RcCluster *cluster, const char *room_id, RcClusterRoomsFunc func,
                       gpointer user_data)
{
  const char *argv[] = { room_id };
  Call *call = call_new (cluster, user_data);

  call->rooms_func = func;
  rc_store_eval (cluster->store, rooms_script, 0, argv, room_id ? 1 : 0, on_rooms, call);
}

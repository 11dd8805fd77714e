/* SPDX-License-Identifier: MIT */
/*
 * The Telegram links (see rc_telegram_links.h): two small tables kept in
 * memory, each change written through to the store as one JSON string, and
 * read back at start. What was stored by an older build and cannot be read
 * is skipped with a warning; the bot carries on without it.
 */
#include "server/telegram/rc_telegram_links.h"
#include "server/core/rc_json.h"

#define CHATS_KEY "telegram:chats"
#define ROOMS_KEY "telegram:rooms"
/* A room has at most this many Telegram owners and admins each. */
#define MAX_PEOPLE 100

typedef struct
{
  char *room_id;
  gint64 message_id;
} ChatLink;

typedef struct
{
  GArray *owners; /* gint64 */
  GArray *admins;
} RoomPeople;

struct _RcTelegramLinks
{
  RcStore *store;
  GHashTable *chats; /* gint64* → ChatLink* */
  GHashTable *rooms; /* room id → RoomPeople* */
  guint pending;     /* reads of the load still to come */
  RcTelegramLinksLoadedFunc loaded;
  gpointer loaded_data;
};

static void
chat_link_free (ChatLink *link)
{
  g_free (link->room_id);
  g_free (link);
}

static void
room_people_free (RoomPeople *people)
{
  g_array_unref (people->owners);
  g_array_unref (people->admins);
  g_free (people);
}

RcTelegramLinks *
rc_telegram_links_new (RcStore *store)
{
  RcTelegramLinks *links = g_new0 (RcTelegramLinks, 1);

  links->store = rc_store_ref (store);
  links->chats = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                        (GDestroyNotify) chat_link_free);
  links->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) room_people_free);
  return links;
}

void
rc_telegram_links_free (RcTelegramLinks *links)
{
  if (links == NULL)
    return;
  g_hash_table_unref (links->chats);
  g_hash_table_unref (links->rooms);
  rc_store_unref (links->store);
  g_free (links);
}

/* ---- writing ---- */

/* Writes @node (taken) under @key with @member in the set @set, or with
 * @node NULL removes both. */
static void
store_entry (RcTelegramLinks *links, const char *set, const char *member, const char *key,
             JsonNode *node)
{
  g_autofree char *text = NULL;

  if (node == NULL)
    {
      rc_store_set_remove (links->store, set, member);
      rc_store_del (links->store, key);
      return;
    }
  text = rc_json_to_string (node);
  json_node_unref (node);
  rc_store_set (links->store, key, text);
  rc_store_set_add (links->store, set, member);
}

static void
save_chat (RcTelegramLinks *links, gint64 chat_id)
{
  ChatLink *link = g_hash_table_lookup (links->chats, &chat_id);
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, chat_id);
  g_autofree char *key = g_strdup_printf ("telegram:chat:%s", id);
  JsonNode *node = NULL;
  JsonObject *o;

  if (link != NULL)
    {
      node = rc_json_message_new (NULL, &o);
      json_object_set_string_member (o, "roomId", link->room_id);
      json_object_set_int_member (o, "messageId", link->message_id);
    }
  store_entry (links, CHATS_KEY, id, key, node);
}

static JsonArray *
ids_to_json (GArray *ids)
{
  JsonArray *array = json_array_sized_new (ids->len);

  for (guint i = 0; i < ids->len; i++)
    json_array_add_int_element (array, g_array_index (ids, gint64, i));
  return array;
}

static void
save_room (RcTelegramLinks *links, const char *room_id)
{
  RoomPeople *people = g_hash_table_lookup (links->rooms, room_id);
  g_autofree char *key = g_strdup_printf ("telegram:room:%s", room_id);
  JsonNode *node = NULL;
  JsonObject *o;

  if (people != NULL)
    {
      node = rc_json_message_new (NULL, &o);
      json_object_set_array_member (o, "owners", ids_to_json (people->owners));
      json_object_set_array_member (o, "admins", ids_to_json (people->admins));
    }
  store_entry (links, ROOMS_KEY, room_id, key, node);
}

/* ---- chats ---- */

const char *
rc_telegram_links_get_room (RcTelegramLinks *links, gint64 chat_id)
{
  ChatLink *link = g_hash_table_lookup (links->chats, &chat_id);

  return link != NULL ? link->room_id : NULL;
}

void
rc_telegram_links_set_room (RcTelegramLinks *links, gint64 chat_id, const char *room_id)
{
  if (room_id == NULL)
    g_hash_table_remove (links->chats, &chat_id);
  else
    {
      ChatLink *link = g_new0 (ChatLink, 1);

      link->room_id = g_strdup (room_id);
      g_hash_table_replace (links->chats, g_memdup2 (&chat_id, sizeof chat_id), link);
    }
  save_chat (links, chat_id);
}

GArray *
rc_telegram_links_get_chats (RcTelegramLinks *links)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, links->chats);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_array_append_val (ids, *(gint64 *) key);
  return ids;
}

gint64
rc_telegram_links_get_message (RcTelegramLinks *links, gint64 chat_id)
{
  ChatLink *link = g_hash_table_lookup (links->chats, &chat_id);

  return link != NULL ? link->message_id : 0;
}

void
rc_telegram_links_set_message (RcTelegramLinks *links, gint64 chat_id, gint64 message_id)
{
  ChatLink *link = g_hash_table_lookup (links->chats, &chat_id);

  if (link == NULL || link->message_id == message_id)
    return;
  link->message_id = message_id;
  save_chat (links, chat_id);
}

/* ---- people ---- */

static RoomPeople *
people_of (RcTelegramLinks *links, const char *room_id, gboolean create)
{
  RoomPeople *people = g_hash_table_lookup (links->rooms, room_id);

  if (people == NULL && create)
    {
      people = g_new0 (RoomPeople, 1);
      people->owners = g_array_new (FALSE, FALSE, sizeof (gint64));
      people->admins = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (links->rooms, g_strdup (room_id), people);
    }
  return people;
}

static gboolean
holds (GArray *ids, gint64 id)
{
  for (guint i = 0; ids != NULL && i < ids->len; i++)
    if (g_array_index (ids, gint64, i) == id)
      return TRUE;
  return FALSE;
}

static void
add_person (RcTelegramLinks *links, const char *room_id, gint64 user_id, gboolean owner)
{
  RoomPeople *people = people_of (links, room_id, TRUE);
  GArray *ids = owner ? people->owners : people->admins;

  if (holds (ids, user_id))
    return;
  /* The oldest goes first when a room has named too many. */
  if (ids->len >= MAX_PEOPLE)
    g_array_remove_index (ids, 0);
  g_array_append_val (ids, user_id);
  save_room (links, room_id);
}

void
rc_telegram_links_add_owner (RcTelegramLinks *links, const char *room_id, gint64 user_id)
{
  add_person (links, room_id, user_id, TRUE);
}

void
rc_telegram_links_add_admin (RcTelegramLinks *links, const char *room_id, gint64 user_id)
{
  add_person (links, room_id, user_id, FALSE);
}

gboolean
rc_telegram_links_is_owner (RcTelegramLinks *links, const char *room_id, gint64 user_id)
{
  RoomPeople *people = people_of (links, room_id, FALSE);

  return people != NULL && holds (people->owners, user_id);
}

gboolean
rc_telegram_links_is_admin (RcTelegramLinks *links, const char *room_id, gint64 user_id)
{
  RoomPeople *people = people_of (links, room_id, FALSE);

  return people != NULL && (holds (people->owners, user_id) || holds (people->admins, user_id));
}

void
rc_telegram_links_forget_room (RcTelegramLinks *links, const char *room_id)
{
  g_autoptr (GArray) chats = rc_telegram_links_get_chats (links);
  g_autofree char *id = g_strdup (room_id); /* @room_id may be a link's own */

  for (guint i = 0; i < chats->len; i++)
    {
      gint64 chat_id = g_array_index (chats, gint64, i);

      if (g_strcmp0 (rc_telegram_links_get_room (links, chat_id), id) == 0)
        rc_telegram_links_set_room (links, chat_id, NULL);
    }
  if (g_hash_table_remove (links->rooms, id))
    save_room (links, id);
}

/* ---- loading ---- */

static void
load_step_done (RcTelegramLinks *links)
{
  if (--links->pending == 0 && links->loaded != NULL)
    links->loaded (links, links->loaded_data);
}

/* One key of the load: which links and which id it is for. */
typedef struct
{
  RcTelegramLinks *links;
  char *id;
} Read;

static Read *
read_new (RcTelegramLinks *links, const char *id)
{
  Read *read = g_new0 (Read, 1);

  read->links = links;
  read->id = g_strdup (id);
  links->pending++;
  return read;
}

/* One key of the load is in: what could not be read is told, @read freed. */
static void
read_done (Read *read, GPtrArray *bad, const char *key)
{
  RcTelegramLinks *links = read->links;

  rc_json_warn_bad (bad, "%s", key);
  g_free (read->id);
  g_free (read);
  load_step_done (links);
}

/* @value's JSON object, or NULL (with a warning when it is not one). */
static JsonObject *
stored_object (const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = value != NULL ? rc_json_parse_stored (value, &error) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      if (value != NULL)
        g_warning ("%s is not a JSON object; skipped", key);
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static void
on_chat_read (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  Read *read = user_data;
  RcTelegramLinks *links = read->links;
  g_autofree char *key = g_strdup_printf ("telegram:chat:%s", read->id);
  g_autoptr (JsonObject) o = stored_object (key, value);
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  gint64 chat_id;
  const char *room_id;

  if (o != NULL && g_ascii_string_to_signed (read->id, 10, G_MININT64, G_MAXINT64, &chat_id, NULL)
      && (room_id = rc_json_read_string (o, "roomId", bad)) != NULL)
    {
      ChatLink *link = g_new0 (ChatLink, 1);

      link->room_id = g_strdup (room_id);
      link->message_id = rc_json_read_int (o, "messageId", 0, G_MAXINT64, 0, bad);
      g_hash_table_replace (links->chats, g_memdup2 (&chat_id, sizeof chat_id), link);
    }
  read_done (read, bad, key);
}

static GArray *
ids_from_json (JsonObject *o, const char *name, GPtrArray *bad)
{
  JsonArray *array = rc_json_read_array (o, name, bad);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; array != NULL && i < json_array_get_length (array) && ids->len < MAX_PEOPLE;
       i++)
    {
      JsonNode *n = json_array_get_element (array, i);
      gint64 id;

      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
        {
          rc_json_note_bad (bad, name);
          continue;
        }
      id = json_node_get_int (n);
      g_array_append_val (ids, id);
    }
  return ids;
}

static void
on_room_read (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  Read *read = user_data;
  RcTelegramLinks *links = read->links;
  g_autofree char *key = g_strdup_printf ("telegram:room:%s", read->id);
  g_autoptr (JsonObject) o = stored_object (key, value);
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);

  if (o != NULL)
    {
      RoomPeople *people = g_new0 (RoomPeople, 1);

      people->owners = ids_from_json (o, "owners", bad);
      people->admins = ids_from_json (o, "admins", bad);
      g_hash_table_replace (links->rooms, g_strdup (read->id), people);
    }
  read_done (read, bad, key);
}

static void
on_members (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data,
            gboolean chats)
{
  RcTelegramLinks *links = user_data;

  if (error != NULL)
    g_warning ("Telegram links could not be read: %s", error->message);
  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      const char *id = values->pdata[i];
      g_autofree char *key = g_strdup_printf (chats ? "telegram:chat:%s" : "telegram:room:%s", id);

      rc_store_get (store, key, chats ? on_chat_read : on_room_read, read_new (links, id));
    }
  load_step_done (links);
}

static void
on_chat_members (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  on_members (store, values, error, user_data, TRUE);
}

static void
on_room_members (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  on_members (store, values, error, user_data, FALSE);
}

void
rc_telegram_links_load (RcTelegramLinks *links, RcTelegramLinksLoadedFunc func,
                        gpointer user_data)
{
  links->loaded = func;
  links->loaded_data = user_data;
  links->pending = 2;
  rc_store_set_members (links->store, CHATS_KEY, on_chat_members, links);
  rc_store_set_members (links->store, ROOMS_KEY, on_room_members, links);
}

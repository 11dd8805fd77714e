/* SPDX-License-Identifier: MIT */
/*
 * Presence that scales. Sending the whole participant list to every guest on
 * every join made filling a room O(N²) in bytes and main-thread time (3.4 MB
 * of JSON for one join at N = 250). Here a join or leave is one small
 * message per guest, and a big room is told only its count, coalesced, so a
 * thousand joins cost a thousand broadcasts of a few bytes at most, not a
 * million list entries. The list itself is read in pages (listViewers).
 *
 * Only rooms past the list size have an entry here (listed is the default),
 * so small rooms cost nothing. The count timer runs only while some room
 * has a count to send.
 */
#include "signalling/rc_presence.h"
#include "server/core/rc_json.h"

typedef struct
{
  RcRoom *room; /* strong */
  gboolean pending; /* a count is due */
} Unlisted;

struct _RcPresence
{
  GHashTable *unlisted; /* RcRoom* -> Unlisted* (owned) */
  guint count_timer;
};

static void
unlisted_free (Unlisted *u)
{
  rc_room_unref (u->room);
  g_free (u);
}

RcPresence *
rc_presence_new (void)
{
  RcPresence *self = g_new0 (RcPresence, 1);

  self->unlisted = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) unlisted_free);
  return self;
}

void
rc_presence_free (RcPresence *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->count_timer, g_source_remove);
  g_hash_table_unref (self->unlisted);
  g_free (self);
}

gboolean
rc_presence_is_listed (RcPresence *self, RcRoom *room)
{
  return !g_hash_table_contains (self->unlisted, room);
}

JsonNode *
rc_presence_page_json (RcRoom *room, guint offset, guint limit)
{
  GPtrArray *guests = rc_room_get_guests (room);
  guint end = offset >= guests->len ? offset : MIN (guests->len, offset + limit);
  JsonArray *array = json_array_sized_new (end > offset ? end - offset : 0);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = offset; i < end; i++)
    json_array_add_element (array, rc_guest_to_json (guests->pdata[i]));
  json_node_take_array (node, array);
  return node;
}

static void
broadcast_count (RcRoom *room)
{
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("viewerCount", &o);

  json_object_set_int_member (o, "count", rc_room_get_guest_count (room));
  rc_room_broadcast (room, message, NULL);
}

static gboolean
on_count_timer (gpointer data)
{
  RcPresence *self = data;
  GHashTableIter iter;
  gpointer value;
  gboolean sent = FALSE;

  g_hash_table_iter_init (&iter, self->unlisted);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Unlisted *u = value;

      /* A room deleted under its guests (they were evicted, none left). */
      if (rc_room_get_guest_count (u->room) == 0)
        {
          g_hash_table_iter_remove (&iter);
          continue;
        }
      if (!u->pending)
        continue;
      u->pending = FALSE;
      sent = TRUE;
      broadcast_count (u->room);
    }
  /* A period with nothing to send ends the timer; the next change starts
   * it again, so a count is never later than one period. */
  if (sent)
    return G_SOURCE_CONTINUE;
  self->count_timer = 0;
  return G_SOURCE_REMOVE;
}

static void
count_later (RcPresence *self, Unlisted *u)
{
  u->pending = TRUE;
  if (self->count_timer == 0)
    self->count_timer = g_timeout_add (RC_PRESENCE_COUNT_PERIOD_MS, on_count_timer, self);
}

void
rc_presence_joined (RcPresence *self, RcRoom *room, RcGuest *guest)
{
  Unlisted *u = g_hash_table_lookup (self->unlisted, room);
  JsonObject *o;
  g_autoptr (JsonNode) message = NULL;

  if (u != NULL)
    {
      count_later (self, u);
      return;
    }
  if (rc_room_get_guest_count (room) > RC_PRESENCE_LIST_MAX)
    {
      /* Past the list size: everyone gets the count now, then counts only. */
      u = g_new0 (Unlisted, 1);
      u->room = rc_room_ref (room);
      g_hash_table_insert (self->unlisted, room, u);
      broadcast_count (room);
      return;
    }
  message = rc_json_message_new ("viewerJoined", &o);
  json_object_set_member (o, "guest", rc_guest_to_json (guest));
  json_object_set_int_member (o, "count", rc_room_get_guest_count (room));
  rc_room_broadcast (room, message, guest);
}

void
rc_presence_left (RcPresence *self, RcRoom *room, RcGuest *guest)
{
  Unlisted *u = g_hash_table_lookup (self->unlisted, room);
  guint count = rc_room_get_guest_count (room);
  JsonObject *o;
  g_autoptr (JsonNode) message = NULL;

  if (u != NULL && count > RC_PRESENCE_RELIST)
    {
      count_later (self, u);
      return;
    }
  if (u != NULL)
    {
      /* Small again (with a margin, so a room at the edge does not flap):
       * the whole list once, then changes. */
      g_hash_table_remove (self->unlisted, room);
      message = rc_json_message_new ("viewersUpdated", &o);
      json_object_set_member (o, "participants", rc_presence_page_json (room, 0, count));
      json_object_set_int_member (o, "count", count);
      rc_room_broadcast (room, message, NULL);
      return;
    }
  message = rc_json_message_new ("viewerLeft", &o);
  json_object_set_string_member (o, "guestId", guest->id);
  json_object_set_int_member (o, "count", count);
  rc_room_broadcast (room, message, NULL);
}

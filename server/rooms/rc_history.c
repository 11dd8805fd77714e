/* SPDX-License-Identifier: MIT */
/*
 * The listeners' history, apart from the player: the player says a song
 * started, this file keeps user:{userId}:history for everyone in the room
 * and tells each of them. A read is asynchronous, so the answer goes to the
 * guest only if it is still in the room (looked up by id, as the guest may
 * be gone meanwhile).
 */
#include "server/rooms/rc_history.h"
#include "server/core/rc_json.h"

typedef struct
{
  RcRoom *room;
  char *guest_id;
} HistoryRead;

static char *
history_key (RcGuest *guest)
{
  return g_strdup_printf ("user:%s:history", guest->user_id);
}

static void
on_history_read (RcStore *store, GPtrArray *values, const GError *error, gpointer data)
{
  HistoryRead *read = data;
  RcGuest *guest = error == NULL ? rc_room_find_guest (read->room, read->guest_id) : NULL;

  if (guest != NULL)
    {
      JsonObject *o;
      g_autoptr (JsonNode) message = rc_json_message_new ("historyUpdate", &o);
      JsonArray *history = json_array_sized_new (values->len);

      for (guint j = 0; j < values->len; j++)
        {
          JsonNode *entry = json_from_string (values->pdata[j], NULL);

          if (entry != NULL && JSON_NODE_HOLDS_OBJECT (entry))
            json_array_add_element (history, entry);
          else if (entry != NULL)
            json_node_unref (entry);
        }
      json_object_set_array_member (o, "history", history);
      guest->send (guest, message, guest->send_data);
    }
  rc_room_unref (read->room);
  g_free (read->guest_id);
  g_free (read);
}

void
rc_history_send (RcRoom *room, RcGuest *guest)
{
  HistoryRead *read = g_new0 (HistoryRead, 1);
  g_autofree char *key = history_key (guest);

  read->room = rc_room_ref (room);
  read->guest_id = g_strdup (guest->id);
  rc_store_zset_range_rev (rc_room_get_store (room), key, 0, RC_HISTORY_MAX - 1, on_history_read,
                           read);
}

void
rc_history_record (RcRoom *room, JsonNode *entry)
{
  GPtrArray *guests = rc_room_get_guests (room);
  g_autofree char *member = rc_json_to_string (entry);

  for (guint i = 0; i < guests->len; i++)
    {
      RcGuest *guest = guests->pdata[i];
      g_autofree char *key = history_key (guest);

      rc_store_zset_add (rc_room_get_store (room), key, (double) (g_get_real_time () / 1000),
                         member, RC_HISTORY_MAX);
      rc_history_send (room, guest);
    }
}

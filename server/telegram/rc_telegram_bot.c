/* SPDX-License-Identifier: MIT */
/*
 * The Telegram bot's lifecycle and its "now playing" messages (what each
 * command does is rc_telegram_commands.c). Ordering rules: the links are
 * read from the store before the first update is handled; getMe must
 * answer (the bot's username, for "/play@Bot" in groups) before polling
 * starts; the API is freed first on the way down, so no answer arrives
 * after the bot is gone.
 *
 * The "now playing" message is refreshed by a 1 s tick rather than by
 * room events: the tick compares the text it would show with the text
 * shown, so a burst of changes costs one edit, and a chat is edited at
 * most once per RC_TELEGRAM_BOT_EDIT_INTERVAL_S.
 */
#include "server/telegram/rc_telegram_bot-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_player.h"

#include <string.h>

typedef struct
{
  char *text;        /* what the message shows, NULL when unknown */
  gint64 edited_us;  /* monotonic time of the last send or edit */
  gboolean busy;     /* a send or edit is on its way */
} Shown;

static void
shown_free (Shown *shown)
{
  g_free (shown->text);
  g_free (shown);
}

RcTelegramBot *
rc_telegram_bot_new (const RcTelegramHost *host)
{
  RcTelegramBot *bot = g_new0 (RcTelegramBot, 1);

  bot->host = *host;
  bot->api = rc_telegram_api_new (host->config->telegram_api_url, host->config->telegram_token);
  bot->links = rc_telegram_links_new (host->store);
  bot->user_limits = rc_rate_limits_new (RC_TELEGRAM_BOT_USER_RATE, RC_TELEGRAM_BOT_USER_BURST);
  bot->shown = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                      (GDestroyNotify) shown_free);
  return bot;
}

void
rc_telegram_bot_free (RcTelegramBot *bot)
{
  if (bot == NULL)
    return;
  rc_telegram_api_free (bot->api);
  g_clear_handle_id (&bot->tick, g_source_remove);
  g_clear_handle_id (&bot->me_timer, g_source_remove);
  rc_telegram_links_free (bot->links);
  rc_rate_limits_free (bot->user_limits);
  g_hash_table_unref (bot->shown);
  g_free (bot->username);
  g_free (bot);
}

/* ---- sending ---- */

static JsonObject *
message_params (gint64 chat_id, const char *text, JsonObject *markup)
{
  JsonObject *params = json_object_new ();

  json_object_set_int_member (params, "chat_id", chat_id);
  json_object_set_string_member (params, "text", text);
  if (markup != NULL)
    json_object_set_object_member (params, "reply_markup", markup);
  return params;
}

void
rc_telegram_bot_send (RcTelegramBot *bot, gint64 chat_id, const char *text, JsonObject *markup)
{
  rc_telegram_api_call (bot->api, "sendMessage", message_params (chat_id, text, markup), NULL,
                        NULL, NULL);
}

RcRoom *
rc_telegram_bot_room_of (RcTelegramBot *bot, gint64 chat_id)
{
  const char *room_id = rc_telegram_links_get_room (bot->links, chat_id);
  RcRoom *room;

  if (room_id == NULL)
    return NULL;
  room = rc_registry_lookup (bot->host.registry, room_id);
  if (room == NULL)
    {
      g_message ("Telegram: room %s is gone; its chats are unlinked", room_id);
      rc_telegram_links_forget_room (bot->links, room_id);
      g_hash_table_remove (bot->shown, &chat_id);
    }
  return room;
}

/* ---- now playing ---- */

void
rc_telegram_bot_append_clipped (GString *out, const char *text)
{
  if (g_utf8_strlen (text, -1) <= RC_TELEGRAM_BOT_TITLE_CHARS)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_len (out, text,
                       g_utf8_offset_to_pointer (text, RC_TELEGRAM_BOT_TITLE_CHARS - 1) - text);
  g_string_append (out, "…");
}

static Shown *
shown_of (RcTelegramBot *bot, gint64 chat_id)
{
  Shown *shown = g_hash_table_lookup (bot->shown, &chat_id);

  if (shown == NULL)
    {
      shown = g_new0 (Shown, 1);
      g_hash_table_insert (bot->shown, g_memdup2 (&chat_id, sizeof chat_id), shown);
    }
  return shown;
}

static const char *
loop_label (const char *loop)
{
  if (g_strcmp0 (loop, "track") == 0)
    return "this song";
  if (g_strcmp0 (loop, "queue") == 0)
    return "the queue";
  return "off";
}

static char *
now_playing_text (RcRoom *room)
{
  RcPlayer *player = rc_room_get_player (room);
  g_autoptr (JsonNode) state = rc_player_state_json (player);
  g_autoptr (JsonNode) queue = rc_player_queue_json (player);
  JsonObject *s = json_node_get_object (state);
  JsonNode *song_node = json_object_get_member (s, "song");
  JsonObject *song = JSON_NODE_HOLDS_OBJECT (song_node) ? json_node_get_object (song_node) : NULL;
  gint64 index = rc_json_get_int (s, "index", -1);
  gint64 upcoming = (gint64) json_array_get_length (json_node_get_array (queue)) - index - 1;
  GString *text = g_string_new (NULL);

  if (song == NULL)
    {
      g_string_append_printf (text, "Nothing is playing in %s.\nSend /play and a song's name.",
                              rc_room_get_name (room));
      return g_string_free (text, FALSE);
    }
  g_string_append (text, "🎵 ");
  rc_telegram_bot_append_clipped (text, rc_json_get_string (song, "title"));
  if (rc_json_get_string (song, "artist") != NULL)
    {
      g_string_append (text, " — ");
      rc_telegram_bot_append_clipped (text, rc_json_get_string (song, "artist"));
    }
  g_string_append_printf (text, "\n%s · 🔁 loop: %s\n",
                          rc_json_get_boolean (s, "playing", FALSE) ? "▶️ playing"
                                                                    : "⏸ paused",
                          loop_label (rc_json_get_string (s, "loop")));
  if (upcoming > 0)
    g_string_append_printf (text, "Up next: %" G_GINT64_FORMAT " song%s\n", upcoming,
                            upcoming == 1 ? "" : "s");
  g_string_append_printf (text, "Room: %s", rc_room_get_name (room));
  return g_string_free (text, FALSE);
}

static void
add_button (JsonArray *row, const char *text, const char *data)
{
  JsonObject *button = json_object_new ();

  json_object_set_string_member (button, "text", text);
  json_object_set_string_member (button, "callback_data", data);
  json_array_add_object_element (row, button);
}

/* ⏮ ⏯ ⏭ 🔁, and in a private chat the room as a Mini App (Telegram
 * allows web_app buttons only there). */
static JsonObject *
now_playing_keyboard (RcTelegramBot *bot, RcRoom *room, gint64 chat_id)
{
  JsonObject *markup = json_object_new ();
  JsonArray *rows = json_array_new ();
  JsonArray *row = json_array_new ();
  const char *webapp = bot->host.config->telegram_webapp_url;

  add_button (row, "⏮", "ctl:prev");
  add_button (row, "⏯", "ctl:toggle");
  add_button (row, "⏭", "ctl:next");
  add_button (row, "🔁", "ctl:loop");
  json_array_add_array_element (rows, row);
  /* Private chats have positive ids, groups negative ones. */
  if (chat_id > 0 && webapp != NULL && *webapp != '\0')
    {
      JsonArray *open = json_array_new ();
      JsonObject *button = json_object_new ();
      JsonObject *web_app = json_object_new ();
      g_autofree char *base = g_strdup (webapp);
      g_autofree char *url = NULL;

      g_strchomp (base);
      while (g_str_has_suffix (base, "/"))
        base[strlen (base) - 1] = '\0';
      url = g_strdup_printf ("%s/room/%s", base, rc_room_get_id (room));
      json_object_set_string_member (web_app, "url", url);
      json_object_set_string_member (button, "text", "🎧 Open the room");
      json_object_set_object_member (button, "web_app", web_app);
      json_array_add_object_element (open, button);
      json_array_add_array_element (rows, open);
    }
  json_object_set_array_member (markup, "inline_keyboard", rows);
  return markup;
}

typedef struct
{
  RcTelegramBot *bot;
  gint64 chat_id;
  char *text;
  gboolean fresh; /* a new message rather than an edit */
} Showing;

static void
showing_free (Showing *showing)
{
  g_free (showing->text);
  g_free (showing);
}

static void
on_shown (RcTelegramApi *api, JsonNode *result, const GError *error, gpointer user_data)
{
  Showing *showing = user_data;
  RcTelegramBot *bot = showing->bot;
  Shown *shown = shown_of (bot, showing->chat_id);

  shown->busy = FALSE;
  if (result != NULL || (error->code == RC_ERROR_INVALID_PARAM
                         && strstr (error->message, "not modified") != NULL))
    {
      JsonObject *message = result != NULL && JSON_NODE_HOLDS_OBJECT (result)
                              ? json_node_get_object (result)
                              : NULL;
      JsonNode *id = message != NULL ? json_object_get_member (message, "message_id") : NULL;

      g_free (shown->text);
      shown->text = g_steal_pointer (&showing->text);
      if (showing->fresh && id != NULL && JSON_NODE_HOLDS_VALUE (id)
          && json_node_get_value_type (id) == G_TYPE_INT64)
        rc_telegram_links_set_message (bot->links, showing->chat_id, json_node_get_int (id));
    }
  else if (error->code == RC_ERROR_UNAUTHORIZED)
    {
      /* The bot was removed from the chat, or blocked. */
      g_message ("Telegram: chat %" G_GINT64_FORMAT " refused the bot (%s); unlinked",
                 showing->chat_id, error->message);
      rc_telegram_links_set_room (bot->links, showing->chat_id, NULL);
    }
  else if (error->code == RC_ERROR_INVALID_PARAM && !showing->fresh)
    /* The message was deleted, or is too old to edit: the next tick sends
     * a new one. */
    rc_telegram_links_set_message (bot->links, showing->chat_id, 0);
}

static void
show (RcTelegramBot *bot, RcRoom *room, gint64 chat_id, char *text, gboolean fresh)
{
  Shown *shown = shown_of (bot, chat_id);
  Showing *showing = g_new0 (Showing, 1);
  JsonObject *params = message_params (chat_id, text,
                                       now_playing_keyboard (bot, room, chat_id));

  showing->bot = bot;
  showing->chat_id = chat_id;
  showing->text = text;
  showing->fresh = fresh;
  shown->busy = TRUE;
  shown->edited_us = g_get_monotonic_time ();
  if (!fresh)
    json_object_set_int_member (params, "message_id",
                                rc_telegram_links_get_message (bot->links, chat_id));
  rc_telegram_api_call (bot->api, fresh ? "sendMessage" : "editMessageText", params, on_shown,
                        showing, (GDestroyNotify) showing_free);
}

void
rc_telegram_bot_send_now_playing (RcTelegramBot *bot, gint64 chat_id)
{
  RcRoom *room = rc_telegram_bot_room_of (bot, chat_id);

  if (room != NULL)
    show (bot, room, chat_id, now_playing_text (room), TRUE);
}

static void
refresh_chat (RcTelegramBot *bot, gint64 chat_id, gint64 now_us)
{
  Shown *shown = shown_of (bot, chat_id);
  RcRoom *room;
  g_autofree char *text = NULL;

  if (shown->busy || now_us - shown->edited_us < RC_TELEGRAM_BOT_EDIT_INTERVAL_S * G_USEC_PER_SEC)
    return;
  room = rc_telegram_bot_room_of (bot, chat_id);
  if (room == NULL)
    return;
  text = now_playing_text (room);
  if (g_strcmp0 (text, shown->text) == 0)
    return;
  show (bot, room, chat_id, g_steal_pointer (&text),
        rc_telegram_links_get_message (bot->links, chat_id) == 0);
}

static gboolean
on_tick (gpointer data)
{
  RcTelegramBot *bot = data;
  g_autoptr (GArray) chats = rc_telegram_links_get_chats (bot->links);
  gint64 now = g_get_monotonic_time ();

  rc_rate_limits_sweep (bot->user_limits, now);
  for (guint i = 0; i < chats->len; i++)
    refresh_chat (bot, g_array_index (chats, gint64, i), now);
  return G_SOURCE_CONTINUE;
}

/* ---- updates ---- */

static void
on_update (RcTelegramApi *api, JsonObject *object, gpointer user_data)
{
  RcTelegramBot *bot = user_data;
  g_autoptr (RcTelegramUpdate) update = rc_telegram_update_parse (object);

  g_autofree char *user = NULL;

  if (update == NULL)
    return;
  user = g_strdup_printf ("%" G_GINT64_FORMAT, update->from_id);
  if (!rc_rate_limits_take (bot->user_limits, user, g_get_monotonic_time ()))
    {
      if (update->kind == RC_TELEGRAM_UPDATE_CALLBACK)
        rc_telegram_commands_answer (bot, update, "Slow down a little.");
      return;
    }
  if (update->kind == RC_TELEGRAM_UPDATE_CALLBACK)
    rc_telegram_commands_callback (bot, update);
  else
    rc_telegram_commands_message (bot, update);
}

static void ask_me (RcTelegramBot *bot);

static gboolean
on_me_timer (gpointer data)
{
  RcTelegramBot *bot = data;

  bot->me_timer = 0;
  ask_me (bot);
  return G_SOURCE_REMOVE;
}

static void
on_me (RcTelegramApi *api, JsonNode *result, const GError *error, gpointer user_data)
{
  RcTelegramBot *bot = user_data;
  JsonObject *me = result != NULL && JSON_NODE_HOLDS_OBJECT (result) ? json_node_get_object (result)
                                                                      : NULL;
  JsonNode *name = me != NULL ? json_object_get_member (me, "username") : NULL;

  if (name == NULL || !JSON_NODE_HOLDS_VALUE (name)
      || json_node_get_value_type (name) != G_TYPE_STRING)
    {
      bot->me_backoff_s = MIN (MAX (bot->me_backoff_s * 2, 1), RC_TELEGRAM_API_BACKOFF_MAX_S);
      g_message ("Telegram: getMe failed (%s); again in %u s",
                 error != NULL ? error->message : "no username", bot->me_backoff_s);
      bot->me_timer = g_timeout_add (bot->me_backoff_s * 1000, on_me_timer, bot);
      return;
    }
  bot->username = g_strdup (json_node_get_string (name));
  g_message ("Telegram: bot @%s is listening", bot->username);
  rc_telegram_api_poll (bot->api, on_update, bot);
  bot->tick = g_timeout_add_seconds (1, on_tick, bot);
}

static void
ask_me (RcTelegramBot *bot)
{
  rc_telegram_api_call (bot->api, "getMe", NULL, on_me, bot, NULL);
}

static void
on_links_loaded (RcTelegramLinks *links, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

gboolean
rc_telegram_bot_start (RcTelegramBot *bot, GError **error)
{
  gboolean loaded = FALSE;

  rc_telegram_links_load (bot->links, on_links_loaded, &loaded);
  while (!loaded)
    g_main_context_iteration (NULL, TRUE);
  ask_me (bot);
  return TRUE;
}

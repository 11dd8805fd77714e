/* SPDX-License-Identifier: MIT */
/*
 * What each bot command and each button does. Commands act on a room
 * through its player, as a guest's requests do (signalling/), with the
 * Telegram user standing in for the guest; who may do what is
 * RcTelegramLinks: anyone in a linked chat may queue songs and look,
 * the room's Telegram owners and the admins they named steer playback,
 * and only owners link chats and name admins. Every button press is
 * answered (answerCallbackQuery), refused or not.
 */
#include "server/telegram/rc_telegram_bot-private.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_telegram_auth.h"
#include "server/core/rc_text.h"
#include "server/library/rc_search.h"
#include "server/rooms/rc_player.h"

#include <string.h>

#define MAX_NAME_CHARS 32
#define MAX_ROOM_NAME_CHARS 64
#define QUEUE_LINES 10
#define MAX_QUERY_CHARS 200

static const char help_text[] =
  "I play songs in a roomcast room.\n"
  "/play <song> — find a song and queue it\n"
  "/queue — what is coming\n"
  "/now — what is playing, with buttons\n"
  "/skip, /pause, /resume, /loop [off|track|queue] — for the room's owner and admins\n"
  "/link <roomId> <ownerToken> — link this private chat to your room\n"
  "/link <roomId> — in a group, link it to a room you linked here before\n"
  "/newroom <name> — make a room for this chat\n"
  "/admin <userId>, or /admin replying to someone — let them steer the room\n"
  "/unlink — stop driving the room from this chat";

static const char refusal[] =
  "Sorry, only the room's owner and the admins they named can do that.";
static const char not_linked[] =
  "This chat is not linked to a room yet: /newroom <name>, or /link (see /help).";

/* A guest standing in for the Telegram user, for the queue's "added by". */
static RcGuest *
stand_in (RcTelegramUpdate *update)
{
  g_autofree char *name = rc_text_sanitize (update->from_name, MAX_NAME_CHARS);
  RcGuest *guest = rc_guest_new (*name != '\0' ? name : "Telegram user", FALSE, NULL, NULL);

  g_free (guest->id);
  guest->id = rc_telegram_auth_user_key (update->from_id);
  g_free (guest->user_id);
  guest->user_id = g_strdup (guest->id);
  return guest;
}

static void
reply (RcTelegramBot *bot, RcTelegramUpdate *update, const char *text)
{
  rc_telegram_bot_send (bot, update->chat_id, text, NULL);
}

void
rc_telegram_commands_answer (RcTelegramBot *bot, RcTelegramUpdate *update, const char *text)
{
  JsonObject *params = json_object_new ();

  json_object_set_string_member (params, "callback_query_id", update->callback_id);
  if (text != NULL)
    json_object_set_string_member (params, "text", text);
  rc_telegram_api_call (bot->api, "answerCallbackQuery", params, NULL, NULL, NULL);
}

static gboolean
may_steer (RcTelegramBot *bot, RcRoom *room, RcTelegramUpdate *update)
{
  return rc_telegram_links_is_admin (bot->links, rc_room_get_id (room), update->from_id);
}

/* ---- queueing ---- */

/* Queues @song in @room for the user of @update; what to tell them. */
static char *
queue_song (RcTelegramUpdate *update, RcRoom *room, RcSong *song)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  RcGuest *guest = stand_in (update);

  if (rc_player_add_song (rc_room_get_player (room), guest, song->id, &error))
    {
      g_string_append (text, "Queued “");
      rc_telegram_bot_append_clipped (text, song->title);
      g_string_append (text, "”");
      if (song->artist != NULL)
        {
          g_string_append (text, " — ");
          rc_telegram_bot_append_clipped (text, song->artist);
        }
      g_string_append_printf (text, " for %s.", guest->name);
    }
  else
    {
      g_string_append (text, "Could not queue “");
      rc_telegram_bot_append_clipped (text, song->title);
      g_string_append_printf (text, "”: %s", error->message);
    }
  rc_guest_free (guest);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* One result, or a first result whose title (alone, or with its artist
 * either side) is the query once both are normalised. */
static gboolean
is_clear_match (GPtrArray *songs, const char *query)
{
  RcSong *best = songs->pdata[0];
  g_autofree char *q = rc_search_normalize (query);
  g_autofree char *artist_title = NULL;
  g_autofree char *title_artist = NULL;

  if (songs->len == 1 || g_strcmp0 (q, best->norm_title) == 0)
    return TRUE;
  if (best->norm_artist == NULL)
    return FALSE;
  artist_title = g_strdup_printf ("%s %s", best->norm_artist, best->norm_title);
  title_artist = g_strdup_printf ("%s %s", best->norm_title, best->norm_artist);
  return g_str_equal (q, artist_title) || g_str_equal (q, title_artist);
}

static JsonObject *
choices_keyboard (GPtrArray *songs)
{
  JsonObject *markup = json_object_new ();
  JsonArray *rows = json_array_new ();

  for (guint i = 0; i < songs->len; i++)
    {
      RcSong *song = songs->pdata[i];
      JsonArray *row = json_array_new ();
      JsonObject *button = json_object_new ();
      g_autoptr (GString) label = g_string_new (NULL);
      g_autofree char *data = g_strdup_printf ("play:%s", song->id);

      rc_telegram_bot_append_clipped (label, song->title);
      if (song->artist != NULL)
        {
          g_string_append (label, " — ");
          rc_telegram_bot_append_clipped (label, song->artist);
        }
      json_object_set_string_member (button, "text", label->str);
      json_object_set_string_member (button, "callback_data", data);
      json_array_add_object_element (row, button);
      json_array_add_array_element (rows, row);
    }
  json_object_set_array_member (markup, "inline_keyboard", rows);
  return markup;
}

static void
command_play (RcTelegramBot *bot, RcTelegramUpdate *update, RcRoom *room, const char *args)
{
  g_autoptr (GPtrArray) songs = NULL;
  g_autofree char *outcome = NULL;
  /* As long a query as /api/search/songs takes, and no more. */
  g_autofree char *query = g_utf8_substring (args, 0, MIN (g_utf8_strlen (args, -1),
                                                           MAX_QUERY_CHARS));
  g_autoptr (GString) quoted = g_string_new ("“");

  if (*query == '\0')
    {
      reply (bot, update, "Tell me what to play: /play <song or artist>");
      return;
    }
  rc_telegram_bot_append_clipped (quoted, query);
  g_string_append (quoted, "”");
  songs = rc_library_search (bot->host.library, query, RC_TELEGRAM_BOT_CHOICES);
  if (songs->len == 0)
    {
      outcome = g_strdup_printf ("Nothing found for %s.", quoted->str);
      reply (bot, update, outcome);
      return;
    }
  if (!is_clear_match (songs, query))
    {
      outcome = g_strdup_printf ("Which one? (%u found for %s)", songs->len, quoted->str);
      rc_telegram_bot_send (bot, update->chat_id, outcome, choices_keyboard (songs));
      return;
    }
  outcome = queue_song (update, room, songs->pdata[0]);
  reply (bot, update, outcome);
}

/* ---- playback ---- */

static const char *
next_loop (const char *loop)
{
  if (g_strcmp0 (loop, "off") == 0)
    return "track";
  if (g_strcmp0 (loop, "track") == 0)
    return "queue";
  return "off";
}

/* @action: skip, prev, pause, resume, toggle, loop (@mode: NULL cycles),
 * by the user of @update. The outcome for the user, or NULL when @mode is
 * not a mode. */
static char *
steer (RcRoom *room, RcTelegramUpdate *update, const char *action, const char *mode)
{
  RcPlayer *player = rc_room_get_player (room);
  g_autoptr (JsonNode) state = rc_player_state_json (player);
  JsonObject *s = json_node_get_object (state);
  RcLoopMode loop;

  if (g_str_equal (action, "skip"))
    {
      const char *title = rc_player_get_current_title (player);
      g_autofree char *name = rc_text_sanitize (update->from_name, MAX_NAME_CHARS);
      /* The room hears who skipped, as when a guest skips in the page. */
      const char *who = *name != '\0' ? name : "A Telegram user";
      g_autofree char *text =
        title != NULL ? g_strdup_printf ("%s skipped %s (from Telegram)", who, title) : NULL;

      rc_player_skip (player);
      if (text != NULL)
        rc_room_notify (room, "skip", text, NULL);
      return g_strdup ("Skipped.");
    }
  if (g_str_equal (action, "prev"))
    {
      rc_player_previous (player);
      return g_strdup ("Back one song.");
    }
  if (g_str_equal (action, "toggle"))
    action = rc_json_get_boolean (s, "playing", FALSE) ? "pause" : "resume";
  if (g_str_equal (action, "pause"))
    {
      rc_player_pause (player);
      return g_strdup ("Paused.");
    }
  if (g_str_equal (action, "resume"))
    {
      rc_player_play (player);
      return g_strdup ("Playing.");
    }
  if (mode == NULL || *mode == '\0')
    mode = next_loop (rc_json_get_string (s, "loop"));
  if (!rc_player_parse_loop (mode, &loop))
    return NULL;
  rc_player_set_loop (player, loop);
  return g_strdup_printf ("Loop: %s.", mode);
}

static void
command_queue (RcTelegramBot *bot, RcTelegramUpdate *update, RcRoom *room)
{
  RcPlayer *player = rc_room_get_player (room);
  g_autoptr (JsonNode) state = rc_player_state_json (player);
  g_autoptr (JsonNode) queue = rc_player_queue_json (player);
  JsonArray *items = json_node_get_array (queue);
  gint64 index = rc_json_get_int (json_node_get_object (state), "index", -1);
  g_autoptr (GString) text = g_string_new (NULL);
  guint shown = 0;

  for (guint i = index < 0 ? json_array_get_length (items) : (guint) index;
       i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      JsonObject *by = json_object_get_object_member (item, "addedBy");

      if (shown == QUEUE_LINES)
        {
          g_string_append_printf (text, "…and %u more\n", json_array_get_length (items) - i);
          break;
        }
      if ((gint64) i == index)
        g_string_append (text, "▶️ ");
      else
        g_string_append_printf (text, "%u. ", i - (guint) index);
      rc_telegram_bot_append_clipped (text, rc_json_get_string (item, "title"));
      if (rc_json_get_string (item, "artist") != NULL)
        {
          g_string_append (text, " — ");
          rc_telegram_bot_append_clipped (text, rc_json_get_string (item, "artist"));
        }
      if (by != NULL && rc_json_get_string (by, "name") != NULL)
        g_string_append_printf (text, " (%s)", rc_json_get_string (by, "name"));
      g_string_append_c (text, '\n');
      shown++;
    }
  reply (bot, update, shown > 0 ? text->str : "The queue is empty. /play something!");
}

/* ---- links and people ---- */

static void
link_chat (RcTelegramBot *bot, RcTelegramUpdate *update, RcRoom *room)
{
  g_autofree char *text = g_strdup_printf ("This chat now plays in “%s”. /play a song!",
                                           rc_room_get_name (room));

  rc_telegram_links_set_room (bot->links, update->chat_id, rc_room_get_id (room));
  rc_telegram_links_set_message (bot->links, update->chat_id, 0);
  reply (bot, update, text);
  rc_telegram_bot_send_now_playing (bot, update->chat_id);
}

/* Linking a chat that drives a room already is for that room's owners. */
static gboolean
may_relink (RcTelegramBot *bot, RcTelegramUpdate *update)
{
  const char *current = rc_telegram_links_get_room (bot->links, update->chat_id);

  return current == NULL || rc_registry_lookup (bot->host.registry, current) == NULL
         || rc_telegram_links_is_owner (bot->links, current, update->from_id);
}

static void
command_link (RcTelegramBot *bot, RcTelegramUpdate *update, const char *args)
{
  g_auto (GStrv) words = g_strsplit_set (args, " \t\n", -1);
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  RcRoom *room;

  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      g_ptr_array_add (parts, words[i]);
  if (parts->len == 0 || parts->len > 2)
    {
      reply (bot, update, "Use /link <roomId> <ownerToken> in a private chat with me.");
      return;
    }
  if (!may_relink (bot, update))
    {
      reply (bot, update, refusal);
      return;
    }
  room = rc_registry_lookup (bot->host.registry, parts->pdata[0]);
  if (parts->len == 2)
    {
      if (!update->private_chat)
        {
          reply (bot, update, "Send the owner token only in a private chat with me; here, "
                              "/link <roomId> once you have linked the room there.");
          return;
        }
      if (room == NULL || !rc_room_check_owner_token (room, parts->pdata[1]))
        {
          reply (bot, update, "That is not a room id and its owner token.");
          return;
        }
      rc_telegram_links_add_owner (bot->links, rc_room_get_id (room), update->from_id);
    }
  else if (room == NULL
           || !rc_telegram_links_is_owner (bot->links, rc_room_get_id (room), update->from_id))
    {
      reply (bot, update, "Link the room in a private chat with me first: "
                          "/link <roomId> <ownerToken>.");
      return;
    }
  link_chat (bot, update, room);
}

static void
command_newroom (RcTelegramBot *bot, RcTelegramUpdate *update, const char *args)
{
  g_autofree char *name = rc_text_sanitize (args, MAX_ROOM_NAME_CHARS);
  g_autofree char *token = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  RcRoom *room;

  if (*name == '\0')
    {
      reply (bot, update, "Give the room a name: /newroom <name>");
      return;
    }
  if (!may_relink (bot, update))
    {
      reply (bot, update, refusal);
      return;
    }
  room = rc_registry_create_room (bot->host.registry, name, NULL, &token, &error);
  if (room == NULL)
    {
      text = g_strdup_printf ("Could not make the room: %s", error->message);
      reply (bot, update, text);
      return;
    }
  rc_telegram_links_add_owner (bot->links, rc_room_get_id (room), update->from_id);
  /* The owner token is a secret: told only in a private chat. */
  text = update->private_chat
           ? g_strdup_printf ("Made “%s”: room id %s, owner token %s (keep it secret: it "
                              "makes you the owner on the web page too).",
                              rc_room_get_name (room), rc_room_get_id (room), token)
           : g_strdup_printf ("Made “%s” (room id %s).", rc_room_get_name (room),
                              rc_room_get_id (room));
  reply (bot, update, text);
  link_chat (bot, update, room);
}

static void
command_admin (RcTelegramBot *bot, RcTelegramUpdate *update, RcRoom *room, const char *args)
{
  gint64 user_id = update->reply_from_id;
  g_autofree char *text = NULL;

  if (!rc_telegram_links_is_owner (bot->links, rc_room_get_id (room), update->from_id))
    {
      reply (bot, update, "Sorry, only the room's owner can name admins.");
      return;
    }
  if (*args != '\0' && !g_ascii_string_to_signed (args, 10, 1, G_MAXINT64, &user_id, NULL))
    user_id = 0;
  if (user_id <= 0)
    {
      reply (bot, update, "Reply /admin to a message of the person, or /admin <their user id>.");
      return;
    }
  rc_telegram_links_add_admin (bot->links, rc_room_get_id (room), user_id);
  text = g_strdup_printf ("User %" G_GINT64_FORMAT " may now steer “%s”.", user_id,
                          rc_room_get_name (room));
  reply (bot, update, text);
}

/* ---- dispatch ---- */

static const char *const room_commands[] = { "play", "queue", "now", "admin", "unlink", "skip",
                                             "prev", "pause", "resume", "loop", NULL };

static gboolean
room_command_known (const char *command)
{
  return g_strv_contains (room_commands, command);
}

/* Commands of a linked chat; FALSE when @command is none of them. */
static gboolean
room_command (RcTelegramBot *bot, RcTelegramUpdate *update, RcRoom *room, const char *command,
              const char *args)
{
  static const char *const steering[] = { "skip", "prev", "pause", "resume", "loop", NULL };
  g_autofree char *outcome = NULL;

  if (g_str_equal (command, "play"))
    command_play (bot, update, room, args);
  else if (g_str_equal (command, "queue"))
    command_queue (bot, update, room);
  else if (g_str_equal (command, "now"))
    rc_telegram_bot_send_now_playing (bot, update->chat_id);
  else if (g_str_equal (command, "admin"))
    command_admin (bot, update, room, args);
  else if (g_str_equal (command, "unlink"))
    {
      if (!rc_telegram_links_is_owner (bot->links, rc_room_get_id (room), update->from_id))
        reply (bot, update, refusal);
      else
        {
          rc_telegram_links_set_room (bot->links, update->chat_id, NULL);
          reply (bot, update, "Unlinked.");
        }
    }
  else if (g_strv_contains (steering, command))
    {
      if (!may_steer (bot, room, update))
        outcome = g_strdup (refusal);
      else if ((outcome = steer (room, update, command, args)) == NULL)
        outcome = g_strdup ("Loop what? /loop off, /loop track or /loop queue");
      reply (bot, update, outcome);
    }
  else
    return FALSE;
  return TRUE;
}

void
rc_telegram_commands_message (RcTelegramBot *bot, RcTelegramUpdate *update)
{
  g_autofree char *command = NULL;
  g_autofree char *args = NULL;
  RcRoom *room;

  if (!rc_telegram_update_command (update->text, bot->username, &command, &args))
    return;
  if (g_str_equal (command, "start") || g_str_equal (command, "help"))
    reply (bot, update, help_text);
  else if (g_str_equal (command, "link"))
    command_link (bot, update, args);
  else if (g_str_equal (command, "newroom"))
    command_newroom (bot, update, args);
  else if ((room = rc_telegram_bot_room_of (bot, update->chat_id)) == NULL)
    {
      /* Unknown commands in a group may be another bot's: only a private
       * chat hears about them. */
      if (update->private_chat || room_command_known (command))
        reply (bot, update, not_linked);
    }
  else if (!room_command (bot, update, room, command, args) && update->private_chat)
    reply (bot, update, "I do not know that command. /help");
}

void
rc_telegram_commands_callback (RcTelegramBot *bot, RcTelegramUpdate *update)
{
  RcRoom *room = update->chat_id != 0 ? rc_telegram_bot_room_of (bot, update->chat_id) : NULL;
  const char *data = update->callback_data;
  g_autofree char *outcome = NULL;

  if (room == NULL)
    outcome = g_strdup ("This chat is not linked to a room any more.");
  else if (g_str_has_prefix (data, "play:"))
    {
      RcSong *song = rc_library_lookup (bot->host.library, data + strlen ("play:"));

      if (song == NULL)
        outcome = g_strdup ("That song is no longer in the library.");
      else
        {
          g_autofree char *text = queue_song (update, room, song);

          rc_telegram_bot_send (bot, update->chat_id, text, NULL);
          outcome = g_strdup ("Queued.");
        }
    }
  else if (g_str_has_prefix (data, "ctl:"))
    {
      const char *action = data + strlen ("ctl:");
      static const char *const actions[] = { "prev", "toggle", "next", "loop", NULL };

      if (!g_strv_contains (actions, action))
        outcome = g_strdup ("Unknown button.");
      else if (!may_steer (bot, room, update))
        outcome = g_strdup (refusal);
      else
        outcome = steer (room, update, g_str_equal (action, "next") ? "skip" : action, NULL);
    }
  else
    outcome = g_strdup ("Unknown button.");
  rc_telegram_commands_answer (bot, update, outcome);
}

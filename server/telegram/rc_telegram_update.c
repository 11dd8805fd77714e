/* SPDX-License-Identifier: MIT */
/*
 * Reading Telegram's Update objects and the commands in their text. Kept
 * apart from the bot so the fuzzer (tests/fuzz/fuzz_telegram_update.c)
 * drives exactly what the bot reads from getUpdates.
 */
#include "server/telegram/rc_telegram_update.h"

#include <string.h>

/* Telegram's own limits: 4096 characters of text, 64 bytes of callback data. */
#define MAX_TEXT_BYTES (4096 * 4)
#define MAX_CALLBACK_DATA 64
#define MAX_NAME_BYTES 256
#define MAX_COMMAND_BYTES 64

static JsonObject *
get_object (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static gboolean
get_int (JsonObject *o, const char *name, gint64 *out)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

/* A string member no longer than @max bytes, or NULL. */
static const char *
get_string (JsonObject *o, const char *name, gsize max)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  const char *s;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  s = json_node_get_string (n);
  return strlen (s) <= max ? s : NULL;
}

static char *
user_name (JsonObject *user)
{
  const char *first = get_string (user, "first_name", MAX_NAME_BYTES);
  const char *last = get_string (user, "last_name", MAX_NAME_BYTES);
  const char *username = get_string (user, "username", MAX_NAME_BYTES);

  if (first != NULL && *first != '\0')
    return last != NULL && *last != '\0' ? g_strdup_printf ("%s %s", first, last)
                                         : g_strdup (first);
  return g_strdup (username != NULL && *username != '\0' ? username : "someone");
}

/* The chat and author of @message into @u; FALSE when either is missing. */
static gboolean
read_message (JsonObject *message, JsonObject *from, RcTelegramUpdate *u)
{
  JsonObject *chat = get_object (message, "chat");
  const char *type = get_string (chat, "type", 32);

  if (!get_int (chat, "id", &u->chat_id) || type == NULL || !get_int (message, "message_id",
                                                                       &u->message_id)
      || !get_int (from, "id", &u->from_id))
    return FALSE;
  u->private_chat = g_str_equal (type, "private");
  u->from_name = user_name (from);
  return TRUE;
}

RcTelegramUpdate *
rc_telegram_update_parse (JsonObject *update)
{
  g_autoptr (RcTelegramUpdate) u = g_new0 (RcTelegramUpdate, 1);
  JsonObject *message = get_object (update, "message");
  JsonObject *callback = get_object (update, "callback_query");

  if (message != NULL)
    {
      const char *text = get_string (message, "text", MAX_TEXT_BYTES);
      JsonObject *reply = get_object (message, "reply_to_message");

      u->kind = RC_TELEGRAM_UPDATE_MESSAGE;
      if (text == NULL || !read_message (message, get_object (message, "from"), u))
        return NULL;
      u->text = g_strdup (text);
      if (!get_int (get_object (reply, "from"), "id", &u->reply_from_id))
        u->reply_from_id = 0;
      return g_steal_pointer (&u);
    }
  if (callback != NULL)
    {
      const char *id = get_string (callback, "id", 128);
      const char *data = get_string (callback, "data", MAX_CALLBACK_DATA);

      u->kind = RC_TELEGRAM_UPDATE_CALLBACK;
      /* A button on a message too old for Telegram to send has no message:
       * it is still answered, with no chat to act in. */
      if (id == NULL || data == NULL)
        return NULL;
      u->callback_id = g_strdup (id);
      u->callback_data = g_strdup (data);
      if (!read_message (get_object (callback, "message"), get_object (callback, "from"), u))
        {
          u->chat_id = 0;
          if (!get_int (get_object (callback, "from"), "id", &u->from_id))
            return NULL;
          g_clear_pointer (&u->from_name, g_free);
          u->from_name = user_name (get_object (callback, "from"));
        }
      return g_steal_pointer (&u);
    }
  return NULL;
}

void
rc_telegram_update_free (RcTelegramUpdate *u)
{
  if (u == NULL)
    return;
  g_free (u->from_name);
  g_free (u->text);
  g_free (u->callback_id);
  g_free (u->callback_data);
  g_free (u);
}

gboolean
rc_telegram_update_command (const char *text, const char *bot_username, char **command,
                            char **args)
{
  gsize word = 0, at;
  g_autofree char *name = NULL;

  *command = *args = NULL;
  if (text == NULL || text[0] != '/')
    return FALSE;
  text++;
  while (text[word] != '\0' && !g_ascii_isspace (text[word]))
    word++;
  if (word == 0 || word > MAX_COMMAND_BYTES)
    return FALSE;
  name = g_strndup (text, word);
  at = strcspn (name, "@");
  if (name[at] == '@')
    {
      if (bot_username == NULL || g_ascii_strcasecmp (name + at + 1, bot_username) != 0)
        return FALSE;
      name[at] = '\0';
    }
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_')
      return FALSE;
  if (*name == '\0')
    return FALSE;
  *command = g_ascii_strdown (name, -1);
  *args = g_strstrip (g_strdup (text + word));
  return TRUE;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * RcTelegramUpdate: what the bot needs of one Bot API Update
 * (core.telegram.org/bots/api#update): a text message, or a press on an
 * inline keyboard button (callback_query). Everything else (edits, photos,
 * channel posts, members joining) is ignored. The object comes from the
 * network: every field is checked for its type, strings for their length.
 */
typedef enum
{
  RC_TELEGRAM_UPDATE_MESSAGE,
  RC_TELEGRAM_UPDATE_CALLBACK,
} RcTelegramUpdateKind;

typedef struct
{
  RcTelegramUpdateKind kind;
  gint64 chat_id;
  gboolean private_chat;  /* chat.type "private": the Mini App button goes only there */
  gint64 from_id;         /* the user who wrote or pressed */
  char *from_name;        /* first and last name, else the username; not yet cleaned */
  gint64 message_id;      /* the message written, or the one whose button was pressed */
  char *text;             /* a message's text (NULL for a callback) */
  gint64 reply_from_id;   /* the author of the message replied to, or 0 */
  char *callback_id;      /* a callback's id, for answerCallbackQuery */
  char *callback_data;    /* a callback's data (at most 64 bytes) */
} RcTelegramUpdate;

/* NULL for an update the bot does not act on (or a broken one). */
RcTelegramUpdate *rc_telegram_update_parse (JsonObject *update);
void rc_telegram_update_free (RcTelegramUpdate *update);

/*
 * Reads "/command@bot args" from @text. FALSE when it is not a command, or
 * one addressed to another bot (@bot_username: ours, without '@'; compared
 * case-insensitively). @command: lower case, without '/' or '@bot'; @args:
 * the rest, trimmed (maybe "").
 */
gboolean rc_telegram_update_command (const char *text, const char *bot_username, char **command,
                                     char **args);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTelegramUpdate, rc_telegram_update_free)

G_END_DECLS

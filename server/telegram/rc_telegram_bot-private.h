/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What rc_telegram_bot.c (the lifecycle, updates, the "now playing"
 * messages) shares with rc_telegram_commands.c (what each command and
 * button does).
 */
#include "server/core/rc_rate_limit.h"
#include "server/telegram/rc_telegram_api.h"
#include "server/telegram/rc_telegram_bot.h"
#include "server/telegram/rc_telegram_links.h"
#include "server/telegram/rc_telegram_update.h"

G_BEGIN_DECLS

struct _RcTelegramBot
{
  RcTelegramHost host;
  RcTelegramApi *api;
  RcTelegramLinks *links;
  char *username;     /* the bot's, from getMe; NULL until known */
  GHashTable *shown;  /* chat id → what its "now playing" message shows */
  guint tick;         /* the "now playing" refresh */
  guint me_timer;     /* getMe again after a failure */
  guint me_backoff_s;
  RcRateLimits *user_limits; /* commands and presses per Telegram user */
};

/* A Telegram user may send this many commands or presses a second, after a
 * burst of RC_TELEGRAM_BOT_USER_BURST; more are ignored (a press is still
 * answered). */
#define RC_TELEGRAM_BOT_USER_RATE 1.0
#define RC_TELEGRAM_BOT_USER_BURST 10.0

/* Titles are cut to this many characters in messages and on buttons, so a
 * message stays under Telegram's 4096. */
#define RC_TELEGRAM_BOT_TITLE_CHARS 80

/* Appends @text, cut to RC_TELEGRAM_BOT_TITLE_CHARS characters (with "…"). */
void rc_telegram_bot_append_clipped (GString *out, const char *text);
/* Sends @text to @chat_id with @markup (taken; NULL: none). */
void rc_telegram_bot_send (RcTelegramBot *bot, gint64 chat_id, const char *text,
                           JsonObject *markup);
/* Sends a fresh "now playing" message to @chat_id; it becomes the one edited. */
void rc_telegram_bot_send_now_playing (RcTelegramBot *bot, gint64 chat_id);
/* The room @chat_id drives, or NULL (a link to a deleted room is dropped). */
RcRoom *rc_telegram_bot_room_of (RcTelegramBot *bot, gint64 chat_id);

/* rc_telegram_commands.c: a text message, a button press (answered). */
void rc_telegram_commands_message (RcTelegramBot *bot, RcTelegramUpdate *update);
void rc_telegram_commands_callback (RcTelegramBot *bot, RcTelegramUpdate *update);
/* Answers a button press (@text: NULL for none). */
void rc_telegram_commands_answer (RcTelegramBot *bot, RcTelegramUpdate *update, const char *text);

G_END_DECLS

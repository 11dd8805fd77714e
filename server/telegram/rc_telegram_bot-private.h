/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What rc_telegram_bot.c (the lifecycle, updates, the "now playing"
 * messages) shares with rc_telegram_commands.c (what each command and
 * button does).
 */
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
};

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

G_END_DECLS

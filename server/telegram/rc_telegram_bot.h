/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/library/rc_library.h"
#include "server/rc_config.h"
#include "server/rooms/rc_registry.h"
#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcTelegramBot: rooms driven from Telegram chats. It long-polls the Bot
 * API (RcTelegramApi), reads commands and button presses, and acts on the
 * rooms through their players exactly as a guest's requests do; each
 * linked chat has one "now playing" message with an inline keyboard, edited
 * as the room changes (at most once per RC_TELEGRAM_BOT_EDIT_INTERVAL_S per
 * chat: Telegram allows about 20 messages a minute in a group, one a second
 * in a private chat). Links and permissions are RcTelegramLinks. Made by
 * server/http/rc_app.c when --telegram-token is set. Main context only.
 */
typedef struct _RcTelegramBot RcTelegramBot;

/* What the bot needs of the rest of the server; borrowed, outlives the bot. */
typedef struct
{
  const RcConfig *config; /* the token, the API's URL, the Mini App's URL */
  RcStore *store;
  RcRegistry *registry;
  RcLibrary *library;
} RcTelegramHost;

#define RC_TELEGRAM_BOT_EDIT_INTERVAL_S 3
/* Results offered as buttons when /play's match is unclear. */
#define RC_TELEGRAM_BOT_CHOICES 5

RcTelegramBot *rc_telegram_bot_new (const RcTelegramHost *host);
/* Reads the links back from the store (waiting for them, as the rooms are
 * waited for), then starts talking to Telegram: returns at once after. */
gboolean rc_telegram_bot_start (RcTelegramBot *bot, GError **error);
void rc_telegram_bot_free (RcTelegramBot *bot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTelegramBot, rc_telegram_bot_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/store/rc_store.h"

G_BEGIN_DECLS

/*
 * RcTelegramLinks: which Telegram chat drives which room, and who may
 * steer a room from Telegram. Kept in memory and written through to the
 * store (keys in docs/architecture.md):
 *
 *   telegram:chats            set of linked chat ids
 *   telegram:chat:{chatId}    JSON {roomId, messageId}: the room, and the
 *                             bot's "now playing" message in that chat
 *   telegram:rooms            set of room ids with Telegram owners
 *   telegram:room:{roomId}    JSON {owners: [userId], admins: [userId]}
 *
 * An owner is a Telegram user who proved the room's owner token (/link) or
 * made the room (/newroom); admins are the users an owner named (/admin).
 * Main context only.
 */
typedef struct _RcTelegramLinks RcTelegramLinks;

typedef void (*RcTelegramLinksLoadedFunc) (RcTelegramLinks *links, gpointer user_data);

RcTelegramLinks *rc_telegram_links_new (RcStore *store);
void rc_telegram_links_free (RcTelegramLinks *links);

/* Reads everything back from the store; @func once it is in memory. */
void rc_telegram_links_load (RcTelegramLinks *links, RcTelegramLinksLoadedFunc func,
                             gpointer user_data);

/* The room @chat_id drives, or NULL. */
const char *rc_telegram_links_get_room (RcTelegramLinks *links, gint64 chat_id);
/* Links @chat_id to @room_id (replacing a previous link), or unlinks it (NULL). */
void rc_telegram_links_set_room (RcTelegramLinks *links, gint64 chat_id, const char *room_id);
/* Every linked chat id (gint64*, borrowed; a new array). */
GArray *rc_telegram_links_get_chats (RcTelegramLinks *links);

/* The bot's "now playing" message in @chat_id (0: none). */
gint64 rc_telegram_links_get_message (RcTelegramLinks *links, gint64 chat_id);
void rc_telegram_links_set_message (RcTelegramLinks *links, gint64 chat_id, gint64 message_id);

void rc_telegram_links_add_owner (RcTelegramLinks *links, const char *room_id, gint64 user_id);
void rc_telegram_links_add_admin (RcTelegramLinks *links, const char *room_id, gint64 user_id);
gboolean rc_telegram_links_is_owner (RcTelegramLinks *links, const char *room_id, gint64 user_id);
/* An owner or an admin. */
gboolean rc_telegram_links_is_admin (RcTelegramLinks *links, const char *room_id, gint64 user_id);

/* The room is gone: its chats are unlinked and its owners forgotten. */
void rc_telegram_links_forget_room (RcTelegramLinks *links, const char *room_id);

G_END_DECLS

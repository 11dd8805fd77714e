/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcTelegramAuth: who a Telegram Mini App says its user is, once the
 * signature on its `initData` has been checked as Telegram documents
 * (core.telegram.org/bots/webapps, "Validating data received via the Mini
 * App"): the secret key is HMAC-SHA256 of the bot token keyed with
 * "WebAppData"; the data-check-string is every field but `hash`, decoded,
 * sorted by name, `name=value` joined by '\n'; `hash` is the hex
 * HMAC-SHA256 of that string keyed with the secret key, compared in
 * constant time.
 *
 * It lives on the base floor because `join` (signalling/) checks it and the
 * bot (server/telegram/) shares its user key; it needs nothing but GLib and
 * the error table.
 */
typedef struct
{
  gint64 user_id;    /* Telegram's user id */
  char *first_name;  /* as Telegram sent them (not yet cleaned); may be NULL */
  char *last_name;
  char *username;
  gint64 auth_date;  /* Unix seconds */
} RcTelegramAuth;

/* initData is cut off at this many bytes by join's parameter table. */
#define RC_TELEGRAM_AUTH_MAX_BYTES 4096

/*
 * Checks @init_data (the query string Telegram hands the Mini App) against
 * @bot_token at @now_s (Unix seconds). NULL with @error:
 * RC_ERROR_TELEGRAM_AUTH_OFF (no token), _MALFORMED (not a query string,
 * a field repeated or badly escaped, no or a bad `hash`, no `auth_date` or
 * `user`), _BAD_SIGNATURE (the hash does not match), _EXPIRED (`auth_date`
 * older than @max_age_s, or more than a minute ahead).
 */
RcTelegramAuth *rc_telegram_auth_check (const char *init_data, const char *bot_token,
                                        gint64 now_s, gint64 max_age_s, GError **error);
void rc_telegram_auth_free (RcTelegramAuth *auth);

/* "First Last", else the username, else "Telegram user"; not yet cleaned. */
char *rc_telegram_auth_display_name (const RcTelegramAuth *auth);

/* The roomcast user id (join's userId, queue attribution, history) of
 * Telegram user @user_id: "telegram-<id>". */
char *rc_telegram_auth_user_key (gint64 user_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTelegramAuth, rc_telegram_auth_free)

G_END_DECLS

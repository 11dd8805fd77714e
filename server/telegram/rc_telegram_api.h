/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * RcTelegramApi: the Telegram Bot API over HTTPS with libsoup
 * (core.telegram.org/bots/api): methods are POSTed as JSON to
 * {api-url}/bot{token}/{method}; every answer is {"ok", "result"} or
 * {"ok": false, "error_code", "description", "parameters": {"retry_after"}}.
 *
 * Two lanes, both on the main context:
 * - calls (sendMessage, editMessageText, answerCallbackQuery...) go out one
 *   at a time, in order, at least RC_TELEGRAM_API_SPACING_MS apart (under
 *   Telegram's 30 messages a second per bot); a 429 holds the lane for its
 *   retry_after and sends the same call again, a network failure or a 5xx
 *   is retried with a growing wait (RC_TELEGRAM_API_RETRIES times);
 * - the update poll: getUpdates long polling (RC_TELEGRAM_API_POLL_S) with
 *   the offset after the last update seen, waiting on 429 for retry_after and
 *   after any other failure 1 s, doubling up to RC_TELEGRAM_API_BACKOFF_MAX_S.
 *
 * Nothing logs a URL: it holds the token.
 */
typedef struct _RcTelegramApi RcTelegramApi;

#define RC_TELEGRAM_API_SPACING_MS 40
#define RC_TELEGRAM_API_RETRIES 5
#define RC_TELEGRAM_API_POLL_S 25
#define RC_TELEGRAM_API_BACKOFF_MAX_S 16
/* Calls waiting beyond this are refused at once (RC_ERROR_RATE_LIMITED):
 * the bot never buffers without bound while Telegram is away. */
#define RC_TELEGRAM_API_QUEUE_MAX 500

/* @result: the answer's "result" (borrowed), NULL with @error (RC_ERROR:
 * RC_ERROR_INVALID_PARAM for Telegram's 400, RC_ERROR_UNAUTHORIZED for its
 * 401 and 403, RC_ERROR_INTERNAL when it could not be reached). */
typedef void (*RcTelegramApiFunc) (RcTelegramApi *api, JsonNode *result, const GError *error,
                                   gpointer user_data);
/* One update object (borrowed), in update_id order. */
typedef void (*RcTelegramUpdateFunc) (RcTelegramApi *api, JsonObject *update, gpointer user_data);

RcTelegramApi *rc_telegram_api_new (const char *api_url, const char *token);
/* Cancels everything; no callback runs after. */
void rc_telegram_api_free (RcTelegramApi *api);

/* Queues @method with @params (taken; NULL: none). @func may be NULL; it
 * runs later, never from inside this call. @destroy (may be NULL) frees
 * @user_data after @func, or when the api is freed before the answer. */
void rc_telegram_api_call (RcTelegramApi *api, const char *method, JsonObject *params,
                           RcTelegramApiFunc func, gpointer user_data, GDestroyNotify destroy);

/* Starts the getUpdates loop: @func for each update. */
void rc_telegram_api_poll (RcTelegramApi *api, RcTelegramUpdateFunc func, gpointer user_data);

/*
 * Reads one Bot API answer (@body of @length bytes, the HTTP @status):
 * its "result" (a new node) or NULL with @error as above and, for a 429,
 * @retry_after (seconds, at least 1; else 0). The text comes from the
 * network: anything that is not such an answer is an error.
 */
JsonNode *rc_telegram_api_parse_answer (const char *body, gsize length, guint status,
                                        gint64 *retry_after, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTelegramApi, rc_telegram_api_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
/*
 * The bot's HTTP side (see rc_telegram_api.h for the two lanes and their
 * waits). Telegram's answers come from the network: they are parsed as
 * strictly as client messages, and a lane that fails never stops for good,
 * it waits and tries again. Ordering rule: one call in flight at a time, so
 * a chat sees the bot's messages in the order the bot made them.
 */
#include "server/telegram/rc_telegram_api.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_validate.h"

#include <libsoup/soup.h>

/* Answers larger than this are refused (getUpdates returns at most 100). */
#define MAX_ANSWER_BYTES (4 * 1024 * 1024)

typedef struct
{
  char *method;
  char *body; /* JSON */
  RcTelegramApiFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
  guint attempts;
} Call;

struct _RcTelegramApi
{
  SoupSession *session;
  GCancellable *cancellable;
  guint *in_flight; /* requests not yet back; a g_rc_box shared with them */
  char *base; /* {api-url}/bot{token}/ : never logged */
  GQueue calls;       /* Call*, the head in flight or waiting */
  GQueue dropped;     /* Call* refused for a full lane, told on an idle */
  guint drop_source;
  gboolean call_busy; /* the head is in flight or its wait is scheduled */
  guint call_timer;
  gint64 last_call_us;
  RcTelegramUpdateFunc update_func;
  gpointer update_data;
  gint64 offset;
  guint poll_timer;
  guint backoff_s;
};

static void
call_free (Call *call)
{
  if (call->destroy != NULL)
    call->destroy (call->user_data);
  g_free (call->method);
  g_free (call->body);
  g_free (call);
}

RcTelegramApi *
rc_telegram_api_new (const char *api_url, const char *token)
{
  RcTelegramApi *api = g_new0 (RcTelegramApi, 1);
  g_autofree char *trimmed = g_strdup (api_url);
  gsize n = strlen (trimmed);

  while (n > 0 && trimmed[n - 1] == '/')
    trimmed[--n] = '\0';
  api->session = soup_session_new_with_options ("timeout", RC_TELEGRAM_API_POLL_S + 10,
                                                "user-agent", "roomcast", NULL);
  api->cancellable = g_cancellable_new ();
  api->in_flight = g_rc_box_new0 (guint);
  api->base = g_strdup_printf ("%s/bot%s/", trimmed, token);
  g_queue_init (&api->calls);
  g_queue_init (&api->dropped);
  return api;
}

static gboolean
on_wake (gpointer data)
{
  return G_SOURCE_CONTINUE; /* only wakes the loop below */
}

static void
wait_for_flights (const guint *in_flight)
{
  gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  guint wake;

  if (*in_flight == 0)
    return;
  wake = g_timeout_add (50, on_wake, NULL);
  while (*in_flight > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
}

void
rc_telegram_api_free (RcTelegramApi *api)
{
  if (api == NULL)
    return;
  /* Async callbacks still to come see the cancellation and free only
   * their own data; they are let in (for up to a second) so that nothing
   * of theirs is left when the process ends. */
  g_cancellable_cancel (api->cancellable);
  wait_for_flights (api->in_flight);
  g_rc_box_release (api->in_flight);
  g_clear_handle_id (&api->call_timer, g_source_remove);
  g_clear_handle_id (&api->poll_timer, g_source_remove);
  g_clear_handle_id (&api->drop_source, g_source_remove);
  g_queue_clear_full (&api->calls, (GDestroyNotify) call_free);
  g_queue_clear_full (&api->dropped, (GDestroyNotify) call_free);
  g_object_unref (api->cancellable);
  g_object_unref (api->session);
  g_free (api->base);
  g_free (api);
}

/* Sets @error (RC_ERROR @code); NULL, for returning. */
static gpointer
fail (GError **error, int code, guint status, const char *what)
{
  g_set_error (error, RC_ERROR, code, "Telegram answered %u: %s", status, what);
  return NULL;
}

/* A JSON number as an integer within ±1e9 (the casts stay defined), else
 * @fallback. */
static gint64
small_int (JsonNode *node, gint64 fallback)
{
  double d;

  if (node == NULL || !rc_json_is_number (node))
    return fallback;
  d = json_node_get_double (node);
  return d >= -1e9 && d <= 1e9 ? (gint64) d : fallback;
}

JsonNode *
rc_telegram_api_parse_answer (const char *body, gsize length, guint status, gint64 *retry_after,
                              GError **error)
{
  g_autoptr (JsonObject) answer = NULL;
  JsonNode *result;
  JsonObject *parameters;
  const char *description;
  gint64 code;

  *retry_after = 0;
  answer = body != NULL ? rc_validate_parse_object (body, length, NULL) : NULL;
  if (answer == NULL || !json_object_has_member (answer, "ok"))
    {
      if (status == 429)
        *retry_after = 1;
      return fail (error, status == 429 ? RC_ERROR_RATE_LIMITED : RC_ERROR_INTERNAL, status,
                   "not a Bot API answer");
    }
  result = json_object_get_member (answer, "result");
  if (rc_json_get_boolean (answer, "ok", FALSE) && result != NULL && status < 300)
    return json_node_copy (result);

  description = JSON_NODE_HOLDS_VALUE (json_object_get_member (answer, "description"))
                    && json_node_get_value_type (json_object_get_member (answer, "description"))
                         == G_TYPE_STRING
                  ? json_object_get_string_member (answer, "description")
                  : "no description";
  code = small_int (json_object_get_member (answer, "error_code"), status);
  if (code == 429 || status == 429)
    {
      JsonNode *p = json_object_get_member (answer, "parameters");

      parameters = p != NULL && JSON_NODE_HOLDS_OBJECT (p) ? json_node_get_object (p) : NULL;
      *retry_after = CLAMP (small_int (parameters != NULL
                                         ? json_object_get_member (parameters, "retry_after")
                                         : NULL,
                                       1),
                            1, 3600);
      return fail (error, RC_ERROR_RATE_LIMITED, 429, description);
    }
  if (code == 401 || code == 403)
    return fail (error, RC_ERROR_UNAUTHORIZED, (guint) code, description);
  if (code >= 400 && code < 500)
    return fail (error, RC_ERROR_INVALID_PARAM, (guint) code, description);
  return fail (error, RC_ERROR_INTERNAL, status, description);
}

/* One request in flight; it outlives the api when that is freed first
 * (then only the cancellable is looked at). */
typedef struct
{
  RcTelegramApi *api;
  SoupMessage *msg;
  GCancellable *cancellable;
  guint *in_flight;
} InFlight;

/* Frees @flight; TRUE when its api is gone (the answer is dropped). */
static gboolean
flight_end (InFlight *flight, SoupMessage **msg)
{
  gboolean gone = g_cancellable_is_cancelled (flight->cancellable);

  *msg = flight->msg;
  (*flight->in_flight)--;
  g_rc_box_release (flight->in_flight);
  g_object_unref (flight->cancellable);
  g_free (flight);
  return gone;
}

/* POSTs @body to @method; @callback gets a new InFlight. */
static void
post (RcTelegramApi *api, const char *method, const char *body, GAsyncReadyCallback callback)
{
  InFlight *flight = g_new0 (InFlight, 1);
  g_autofree char *url = g_strconcat (api->base, method, NULL);
  SoupMessage *msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  flight->api = api;
  flight->msg = msg;
  flight->cancellable = g_object_ref (api->cancellable);
  flight->in_flight = g_rc_box_acquire (api->in_flight);
  (*api->in_flight)++;
  soup_session_send_and_read_async (api->session, msg, G_PRIORITY_DEFAULT, api->cancellable,
                                    callback, flight);
}

/* The answer of @msg: its result, or NULL with @error and @retry_after. */
static JsonNode *
finish (GObject *source, SoupMessage *msg, GAsyncResult *res, gint64 *retry_after,
        GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) local = NULL;
  gsize length = 0;
  const char *data;

  *retry_after = 0;
  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &local);
  if (bytes == NULL)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INTERNAL, "Telegram could not be reached: %s",
                   local->message);
      return NULL;
    }
  data = g_bytes_get_data (bytes, &length);
  if (length > MAX_ANSWER_BYTES)
    return fail (error, RC_ERROR_INTERNAL, soup_message_get_status (msg), "answer too large");
  return rc_telegram_api_parse_answer (data, length, soup_message_get_status (msg), retry_after,
                                       error);
}

/* ---- calls ---- */


static void send_next_call (RcTelegramApi *api);

static gboolean
on_call_timer (gpointer data)
{
  RcTelegramApi *api = data;

  api->call_timer = 0;
  api->call_busy = FALSE;
  send_next_call (api);
  return G_SOURCE_REMOVE;
}

static void
hold_calls (RcTelegramApi *api, guint ms)
{
  api->call_busy = TRUE;
  api->call_timer = g_timeout_add (ms, on_call_timer, api);
}

static void
on_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  RcTelegramApi *api = ((InFlight *) user_data)->api;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = NULL;
  gint64 retry_after;
  Call *call;

  if (flight_end (user_data, &msg))
    return;
  result = finish (source, msg, res, &retry_after, &error);
  call = g_queue_peek_head (&api->calls);
  api->call_busy = FALSE;
  if (result == NULL)
    {
      if (error->code == RC_ERROR_RATE_LIMITED)
        {
          g_message ("Telegram: " "%s: rate limited, again in %" G_GINT64_FORMAT " s", call->method,
                       retry_after);
          hold_calls (api, (guint) retry_after * 1000);
          return;
        }
      if (error->code == RC_ERROR_INTERNAL && ++call->attempts < RC_TELEGRAM_API_RETRIES)
        {
          g_message ("Telegram: " "%s failed (%s), attempt %u", call->method, error->message,
                       call->attempts);
          hold_calls (api, 1000u << (call->attempts - 1));
          return;
        }
      g_message ("Telegram: " "%s failed: %s", call->method, error->message);
    }
  g_queue_pop_head (&api->calls);
  if (call->func != NULL)
    call->func (api, result, error, call->user_data);
  call_free (call);
  send_next_call (api);
}

static void
send_next_call (RcTelegramApi *api)
{
  Call *call = g_queue_peek_head (&api->calls);
  gint64 now = g_get_monotonic_time ();
  gint64 wait_us = api->last_call_us + RC_TELEGRAM_API_SPACING_MS * 1000 - now;

  if (call == NULL || api->call_busy)
    return;
  if (wait_us > 0)
    {
      hold_calls (api, (guint) (wait_us / 1000) + 1);
      return;
    }
  api->call_busy = TRUE;
  api->last_call_us = now;
  post (api, call->method, call->body, on_call_done);
}

static gboolean
on_drop (gpointer data)
{
  RcTelegramApi *api = data;
  Call *call;

  api->drop_source = 0;
  while ((call = g_queue_pop_head (&api->dropped)) != NULL)
    {
      g_autoptr (GError) error = g_error_new_literal (RC_ERROR, RC_ERROR_RATE_LIMITED,
                                                      "Too many Bot API calls waiting");

      if (call->func != NULL)
        call->func (api, NULL, error, call->user_data);
      call_free (call);
    }
  return G_SOURCE_REMOVE;
}

void
rc_telegram_api_call (RcTelegramApi *api, const char *method, JsonObject *params,
                      RcTelegramApiFunc func, gpointer user_data, GDestroyNotify destroy)
{
  Call *call = g_new0 (Call, 1);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, params != NULL ? params : json_object_new ());
  call->method = g_strdup (method);
  call->body = rc_json_to_string (node);
  call->func = func;
  call->user_data = user_data;
  call->destroy = destroy;
  if (g_queue_get_length (&api->calls) >= RC_TELEGRAM_API_QUEUE_MAX)
    {
      g_message ("Telegram: %s dropped: %u calls are waiting already", method,
                 RC_TELEGRAM_API_QUEUE_MAX);
      g_queue_push_tail (&api->dropped, call);
      if (api->drop_source == 0)
        api->drop_source = g_idle_add (on_drop, api);
      return;
    }
  g_queue_push_tail (&api->calls, call);
  send_next_call (api);
}

/* ---- updates ---- */

static void poll_once (RcTelegramApi *api);

static gboolean
on_poll_timer (gpointer data)
{
  RcTelegramApi *api = data;

  api->poll_timer = 0;
  poll_once (api);
  return G_SOURCE_REMOVE;
}

static void
deliver_updates (RcTelegramApi *api, JsonNode *result)
{
  JsonArray *updates = JSON_NODE_HOLDS_ARRAY (result) ? json_node_get_array (result) : NULL;

  for (guint i = 0; updates != NULL && i < json_array_get_length (updates); i++)
    {
      JsonNode *node = json_array_get_element (updates, i);
      JsonObject *update = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *id = update != NULL ? json_object_get_member (update, "update_id") : NULL;
      gint64 update_id;

      if (id == NULL || !JSON_NODE_HOLDS_VALUE (id)
          || json_node_get_value_type (id) != G_TYPE_INT64)
        continue;
      update_id = json_node_get_int (id);
      /* An update seen before (Telegram resends until the offset passes
       * it) is not handled twice. */
      if (update_id < api->offset)
        continue;
      api->offset = update_id + 1;
      api->update_func (api, update, api->update_data);
    }
}

static void
on_poll_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  RcTelegramApi *api = ((InFlight *) user_data)->api;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = NULL;
  gint64 retry_after;
  guint wait_s;

  if (flight_end (user_data, &msg))
    return;
  result = finish (source, msg, res, &retry_after, &error);
  if (result != NULL)
    {
      api->backoff_s = 0;
      deliver_updates (api, result);
      api->poll_timer = g_idle_add (on_poll_timer, api);
      return;
    }
  if (error->code == RC_ERROR_RATE_LIMITED)
    wait_s = (guint) retry_after;
  else
    wait_s = api->backoff_s = api->backoff_s == 0 ? 1
                                                  : MIN (api->backoff_s * 2,
                                                         RC_TELEGRAM_API_BACKOFF_MAX_S);
  g_message ("Telegram: " "getUpdates failed (%s); again in %u s", error->message, wait_s);
  /* Not g_timeout_add_seconds: it may fire early, and retry_after is a floor. */
  api->poll_timer = g_timeout_add (wait_s * 1000, on_poll_timer, api);
}

static void
poll_once (RcTelegramApi *api)
{
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *body = NULL;
  JsonObject *params;
  JsonArray *allowed = json_array_new ();

  node = rc_json_message_new (NULL, &params);
  json_object_set_int_member (params, "offset", api->offset);
  json_object_set_int_member (params, "timeout", RC_TELEGRAM_API_POLL_S);
  json_array_add_string_element (allowed, "message");
  json_array_add_string_element (allowed, "callback_query");
  json_object_set_array_member (params, "allowed_updates", allowed);
  body = rc_json_to_string (node);
  post (api, "getUpdates", body, on_poll_done);
}

void
rc_telegram_api_poll (RcTelegramApi *api, RcTelegramUpdateFunc func, gpointer user_data)
{
  api->update_func = func;
  api->update_data = user_data;
  if (api->poll_timer == 0)
    api->poll_timer = g_idle_add (on_poll_timer, api);
}

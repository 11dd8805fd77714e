/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one Bot API answer as getUpdates returns it, read the
 * way the bot reads it: rc_telegram_api_parse_answer (the first byte picks
 * the HTTP status among those Telegram sends), then each update through
 * rc_telegram_update_parse and its text through rc_telegram_update_command.
 */
#include "server/core/rc_error.h"
#include "server/telegram/rc_telegram_api.h"
#include "server/telegram/rc_telegram_update.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const guint statuses[] = { 200, 400, 401, 403, 409, 429, 502 };

static void
read_update (JsonObject *object)
{
  g_autoptr (RcTelegramUpdate) update = rc_telegram_update_parse (object);
  g_autofree char *command = NULL;
  g_autofree char *args = NULL;

  if (update == NULL)
    return;
  g_assert (update->from_name != NULL || update->kind == RC_TELEGRAM_UPDATE_CALLBACK);
  if (update->kind == RC_TELEGRAM_UPDATE_CALLBACK)
    g_assert (update->callback_id != NULL && update->callback_data != NULL);
  else if (rc_telegram_update_command (update->text, "roomcast_bot", &command, &args))
    g_assert (command != NULL && *command != '\0' && args != NULL);
  else
    g_assert (command == NULL && args == NULL);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = NULL;
  gint64 retry_after = -1;
  guint status;

  if (size == 0)
    return 0;
  status = statuses[data[0] % G_N_ELEMENTS (statuses)];
  result = rc_telegram_api_parse_answer ((const char *) data + 1, size - 1, status, &retry_after,
                                         &error);
  if (result == NULL)
    {
      g_assert (error != NULL && error->domain == RC_ERROR);
      g_assert (error->code != RC_ERROR_RATE_LIMITED || (retry_after >= 1 && retry_after <= 3600));
      return 0;
    }
  g_assert (error == NULL && retry_after == 0);
  if (JSON_NODE_HOLDS_ARRAY (result))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (result)); i++)
      {
        JsonNode *node = json_array_get_element (json_node_get_array (result), i);

        if (JSON_NODE_HOLDS_OBJECT (node))
          read_update (json_node_get_object (node));
      }
  return 0;
}

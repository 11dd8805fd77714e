/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a Mini App's initData as join's telegramInitData
 * carries it (rc_telegram_auth_check, the query string decoded, the
 * signature checked, the signed user read). The first line of the input is
 * the bot token, the rest the initData; a few inputs are also tried with
 * their own hash computed, so the fuzzer reaches the user and date
 * readers behind the signature. Every refusal is one of the four codes.
 */
#include "server/core/rc_error.h"
#include "server/core/rc_telegram_auth.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check (const char *init_data, const char *token)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcTelegramAuth) auth = rc_telegram_auth_check (init_data, token, 1700000000, 86400,
                                                            &error);

  if (auth != NULL)
    {
      g_autofree char *name = rc_telegram_auth_display_name (auth);
      g_autofree char *key = rc_telegram_auth_user_key (auth->user_id);

      g_assert (error == NULL && auth->user_id > 0 && name != NULL && key != NULL);
      return;
    }
  g_assert (error != NULL && error->domain == RC_ERROR);
  g_assert (error->code >= RC_ERROR_TELEGRAM_AUTH_MALFORMED
            && error->code <= RC_ERROR_TELEGRAM_AUTH_OFF);
}

static int
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* @init_data with "&hash=" and the hash it should have appended. */
static char *
signed_copy (const char *init_data, const char *token)
{
  g_autoptr (GHmac) key = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) "WebAppData", 10);
  g_autoptr (GHmac) hmac = NULL;
  g_auto (GStrv) parts = g_strsplit (init_data, "&", 32);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *check_string = NULL;
  guint8 secret[32];
  gsize len = sizeof secret;

  g_hmac_update (key, (const guchar *) token, -1);
  g_hmac_get_digest (key, secret, &len);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *line = g_uri_unescape_string (parts[i], NULL);
      char *eq = line != NULL ? strchr (line, '=') : NULL;

      if (eq == NULL)
        {
          g_free (line);
          return NULL;
        }
      g_ptr_array_add (lines, line);
    }
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  check_string = g_strjoinv ("\n", (char **) lines->pdata);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, len);
  g_hmac_update (hmac, (const guchar *) check_string, -1);
  return g_strdup_printf ("%s&hash=%s", init_data, g_hmac_get_string (hmac));
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  char *newline = strchr (text, '\n');
  const char *token = "123456:fuzz";
  const char *init_data = text;
  g_autofree char *with_hash = NULL;

  if (newline != NULL)
    {
      *newline = '\0';
      token = text;
      init_data = newline + 1;
    }
  check (init_data, token);
  check (init_data, "");
  if (strchr (init_data, '+') == NULL && (with_hash = signed_copy (init_data, token)) != NULL)
    check (with_hash, token);
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The Telegram Mini App's initData check (see rc_telegram_auth.h for the
 * algorithm). The text comes straight from the network: it is decoded
 * field by field with every failure a coded error, the signature is
 * checked before any field is believed, and only then are the user and the
 * date read.
 */
#include "server/core/rc_telegram_auth.h"
#include "server/core/rc_error.h"
#include "server/core/rc_secret.h"
#include "server/core/rc_validate.h"

#include <string.h>

#define MAX_FIELDS 32
#define HASH_HEX_LEN 64
/* Telegram's clock and ours may differ a little. */
#define FUTURE_SLACK_S 60

typedef struct
{
  char *name;
  char *value;
} Field;

static void
field_clear (gpointer p)
{
  Field *f = p;

  g_free (f->name);
  g_free (f->value);
}

static int
field_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Field *) a)->name, ((const Field *) b)->name);
}

/* URLSearchParams' decoding: '+' is a space, %XX a byte; NULL for a bad
 * escape, a NUL byte or text that is not UTF-8. */
static char *
decode (const char *text, gsize length)
{
  g_autofree char *plus = g_strndup (text, length);
  char *out;

  g_strdelimit (plus, "+", ' ');
  out = g_uri_unescape_string (plus, NULL);
  if (out != NULL && !g_utf8_validate (out, -1, NULL))
    g_clear_pointer (&out, g_free);
  return out;
}

/* Sets RC_ERROR_TELEGRAM_AUTH_MALFORMED saying @why; NULL, for returning. */
static gpointer
malformed (GError **error, const char *why)
{
  g_set_error (error, RC_ERROR, RC_ERROR_TELEGRAM_AUTH_MALFORMED,
               "telegramInitData is not what Telegram sends: %s", why);
  return NULL;
}

/* The fields of @init_data in name order, without duplicates. */
static GArray *
parse_fields (const char *init_data, GError **error)
{
  g_autoptr (GArray) fields = g_array_new (FALSE, TRUE, sizeof (Field));
  const char *p = init_data;

  g_array_set_clear_func (fields, field_clear);
  while (*p != '\0')
    {
      const char *end = strchr (p, '&');
      gsize len = end != NULL ? (gsize) (end - p) : strlen (p);
      const char *eq = memchr (p, '=', len);
      Field f = { NULL, NULL };

      if (eq == NULL || eq == p)
        return malformed (error, "a field without a name or '='");
      if (fields->len == MAX_FIELDS)
        return malformed (error, "too many fields");
      f.name = decode (p, (gsize) (eq - p));
      f.value = decode (eq + 1, len - (gsize) (eq + 1 - p));
      g_array_append_val (fields, f);
      if (f.name == NULL || f.value == NULL)
        return malformed (error, "a badly escaped field");
      p = end != NULL ? end + 1 : p + len;
    }
  g_array_sort (fields, field_compare);
  for (guint i = 1; i < fields->len; i++)
    if (field_compare (&g_array_index (fields, Field, i - 1), &g_array_index (fields, Field, i))
        == 0)
      return malformed (error, "a field given twice");
  return g_steal_pointer (&fields);
}

static const char *
field_value (GArray *fields, const char *name)
{
  for (guint i = 0; i < fields->len; i++)
    if (g_str_equal (g_array_index (fields, Field, i).name, name))
      return g_array_index (fields, Field, i).value;
  return NULL;
}

/* Hex HMAC-SHA256 of the data-check-string under the bot's Mini App key. */
static char *
expected_hash (GArray *fields, const char *bot_token)
{
  g_autoptr (GHmac) key_hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) "WebAppData", 10);
  g_autoptr (GHmac) hmac = NULL;
  g_autoptr (GString) check = g_string_new (NULL);
  guint8 secret[32];
  gsize secret_len = sizeof secret;

  g_hmac_update (key_hmac, (const guchar *) bot_token, (gssize) strlen (bot_token));
  g_hmac_get_digest (key_hmac, secret, &secret_len);
  for (guint i = 0; i < fields->len; i++)
    {
      const Field *f = &g_array_index (fields, Field, i);

      if (g_str_equal (f->name, "hash"))
        continue;
      if (check->len > 0)
        g_string_append_c (check, '\n');
      g_string_append_printf (check, "%s=%s", f->name, f->value);
    }
  hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, secret_len);
  g_hmac_update (hmac, (const guchar *) check->str, (gssize) check->len);
  return g_strdup (g_hmac_get_string (hmac));
}

static gboolean
is_hex_hash (const char *hash)
{
  if (strlen (hash) != HASH_HEX_LEN)
    return FALSE;
  for (const char *c = hash; *c; c++)
    if (!g_ascii_isxdigit (*c))
      return FALSE;
  return TRUE;
}

static char *
read_optional_string (JsonObject *user, const char *name, gboolean *ok)
{
  JsonNode *node = json_object_get_member (user, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *ok = FALSE;
      return NULL;
    }
  return g_strdup (json_node_get_string (node));
}

/* The signed fields a guest is made from: the user and the date. */
static RcTelegramAuth *
read_user (GArray *fields, GError **error)
{
  const char *user_text = field_value (fields, "user");
  const char *date_text = field_value (fields, "auth_date");
  g_autoptr (RcTelegramAuth) auth = g_new0 (RcTelegramAuth, 1);
  g_autoptr (JsonObject) user = NULL;
  JsonNode *id;
  gboolean ok = TRUE;

  if (date_text == NULL
      || !g_ascii_string_to_signed (date_text, 10, 0, G_MAXINT64, &auth->auth_date, NULL))
    return malformed (error, "no auth_date in Unix seconds");
  if (user_text == NULL
      || (user = rc_validate_parse_object (user_text, strlen (user_text), NULL)) == NULL)
    return malformed (error, "no user object");
  id = json_object_get_member (user, "id");
  if (id == NULL || !JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64
      || json_node_get_int (id) <= 0)
    return malformed (error, "the user has no positive integer id");
  auth->user_id = json_node_get_int (id);
  auth->first_name = read_optional_string (user, "first_name", &ok);
  auth->last_name = read_optional_string (user, "last_name", &ok);
  auth->username = read_optional_string (user, "username", &ok);
  if (!ok)
    return malformed (error, "a name of the user is not a string");
  return g_steal_pointer (&auth);
}

RcTelegramAuth *
rc_telegram_auth_check (const char *init_data, const char *bot_token, gint64 now_s,
                        gint64 max_age_s, GError **error)
{
  g_autoptr (GArray) fields = NULL;
  g_autofree char *want = NULL;
  g_autofree char *given = NULL;
  g_autoptr (RcTelegramAuth) auth = NULL;
  const char *hash;

  if (bot_token == NULL || *bot_token == '\0')
    {
      rc_error_set (error, RC_ERROR_TELEGRAM_AUTH_OFF);
      return NULL;
    }
  fields = parse_fields (init_data, error);
  if (fields == NULL)
    return NULL;
  hash = field_value (fields, "hash");
  if (hash == NULL || !is_hex_hash (hash))
    return malformed (error, "no hash of 64 hex digits");
  want = expected_hash (fields, bot_token);
  given = g_ascii_strdown (hash, -1);
  if (!rc_secret_equal (want, given))
    {
      rc_error_set (error, RC_ERROR_TELEGRAM_AUTH_BAD_SIGNATURE);
      return NULL;
    }
  auth = read_user (fields, error);
  if (auth == NULL)
    return NULL;
  if (auth->auth_date < now_s - max_age_s || auth->auth_date > now_s + FUTURE_SLACK_S)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_TELEGRAM_AUTH_EXPIRED,
                   "The Telegram sign-in is %" G_GINT64_FORMAT " s old (at most %" G_GINT64_FORMAT
                   " s); open the Mini App again",
                   now_s - auth->auth_date, max_age_s);
      return NULL;
    }
  return g_steal_pointer (&auth);
}

void
rc_telegram_auth_free (RcTelegramAuth *auth)
{
  if (auth == NULL)
    return;
  g_free (auth->first_name);
  g_free (auth->last_name);
  g_free (auth->username);
  g_free (auth);
}

char *
rc_telegram_auth_display_name (const RcTelegramAuth *auth)
{
  if (auth->first_name != NULL && *auth->first_name != '\0')
    return auth->last_name != NULL && *auth->last_name != '\0'
             ? g_strdup_printf ("%s %s", auth->first_name, auth->last_name)
             : g_strdup (auth->first_name);
  if (auth->username != NULL && *auth->username != '\0')
    return g_strdup (auth->username);
  return g_strdup ("Telegram user");
}

char *
rc_telegram_auth_user_key (gint64 user_id)
{
  return g_strdup_printf ("telegram-%" G_GINT64_FORMAT, user_id);
}

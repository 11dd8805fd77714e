/* SPDX-License-Identifier: MIT */
/*
 * Mini App sign-in against a real roomcast: initData vectors are signed
 * here with Telegram's documented algorithm (HMAC-SHA256 keyed with
 * "WebAppData" over the bot token gives the key; the hex HMAC-SHA256 of
 * every field but hash, sorted, "name=value" joined by '\n', is the hash),
 * independently of the server's code. A valid one joins under the Telegram
 * user's name; a tampered field, another bot's token, a stale auth_date
 * and a missing hash are refused with their codes, and a server without a
 * bot refuses any.
 */
#include "server/core/rc_error.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <string.h>

#define BOT_TOKEN "123456789:AAtest-token_for-roomcast"
#define USER_JSON                                                                           \
  "{\"id\":424242,\"first_name\":\"Ann\",\"last_name\":\"Telegram\",\"username\":\"ann_tg\","  \
  "\"language_code\":\"en\"}"

typedef struct
{
  const char *name;
  const char *value;
} Field;

static int
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The documented hash of @fields (the first @n; hash is not among them). */
static char *
sign (const Field *fields, guint n, const char *token)
{
  g_autoptr (GHmac) key = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) "WebAppData", 10);
  g_autoptr (GHmac) hmac = NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *check = NULL;
  guint8 secret[32];
  gsize len = sizeof secret;

  g_hmac_update (key, (const guchar *) token, -1);
  g_hmac_get_digest (key, secret, &len);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (lines, g_strdup_printf ("%s=%s", fields[i].name, fields[i].value));
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  check = g_strjoinv ("\n", (char **) lines->pdata);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, len);
  g_hmac_update (hmac, (const guchar *) check, -1);
  return g_strdup (g_hmac_get_string (hmac));
}

/* The query string Telegram would hand the Mini App: @fields escaped, then
 * hash=@hash (NULL: none). */
static char *
init_data (const Field *fields, guint n, const char *hash)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *v = g_uri_escape_string (fields[i].value, NULL, FALSE);

      g_string_append_printf (out, "%s%s=%s", i ? "&" : "", fields[i].name, v);
    }
  if (hash != NULL)
    g_string_append_printf (out, "&hash=%s", hash);
  return g_string_free (out, FALSE);
}

typedef struct
{
  RcTestServer *server;
  char *room_id;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer with_token)
{
  /* The bot starts too; its API is a closed port, which it rides out. */
  g_autofree char *api = g_strdup_printf ("http://127.0.0.1:%u", rc_test_free_port ());
  const char *args[] = { "--telegram-token", BOT_TOKEN, "--telegram-api-url", api, NULL };
  g_autoptr (JsonObject) room = NULL;

  f->server = rc_test_server_start (with_token ? args : NULL);
  room = rc_test_create_room (f->server, "Mini App room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  g_free (f->room_id);
}

/* A join with @data as telegramInitData; the reply. */
static JsonObject *
join (Fixture *f, RcTestWs *ws, const char *data)
{
  g_autofree char *request = g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\","
                                              "\"name\":\"Spoofed\",\"telegramInitData\":\"%s\"}",
                                              f->room_id, data);

  return rc_test_ws_command (ws, request);
}

static void
expect_refused (Fixture *f, const char *data, int code)
{
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (f->server);
  g_autoptr (JsonObject) reply = join (f, ws, data);

  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "error");
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, code);
  g_test_message ("refused %d: %s", code, rc_test_str (reply, "message"));
}

static void
test_vectors (Fixture *f, gconstpointer data)
{
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC);
  g_autofree char *stale = g_strdup_printf ("%" G_GINT64_FORMAT,
                                            g_get_real_time () / G_USEC_PER_SEC - 86400 - 60);
  g_autofree char *day_old = g_strdup_printf ("%" G_GINT64_FORMAT,
                                              g_get_real_time () / G_USEC_PER_SEC - 86400 + 3600);
  g_autofree char *young = NULL;
  g_autofree char *young_hash = NULL;
  Field fields[] = {
    { "query_id", "AAHdF6IQAAAAAN0XohDhrOrc" },
    { "user", USER_JSON },
    { "auth_date", now },
    { "signature", "c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmU" },
  };
  g_autofree char *hash = sign (fields, G_N_ELEMENTS (fields), BOT_TOKEN);
  g_autofree char *valid = init_data (fields, G_N_ELEMENTS (fields), hash);
  g_autofree char *other_hash = sign (fields, G_N_ELEMENTS (fields), "987654321:another-bot");
  g_autofree char *other_bot = init_data (fields, G_N_ELEMENTS (fields), other_hash);
  g_autofree char *no_hash = init_data (fields, G_N_ELEMENTS (fields), NULL);
  g_autofree char *tampered = NULL;
  g_autofree char *old = NULL;
  g_autofree char *old_hash = NULL;
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (f->server);
  g_autoptr (JsonObject) reply = join (f, ws, valid);
  JsonObject *you;

  /* Accepted, under the name Telegram signed (not the one sent). */
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "initialState");
  you = json_object_get_object_member (reply, "you");
  g_assert_cmpstr (rc_test_str (you, "name"), ==, "Ann Telegram");

  /* A field changed after signing: the user says they are someone else. */
  fields[1].value = "{\"id\":1,\"first_name\":\"Mallory\"}";
  tampered = init_data (fields, G_N_ELEMENTS (fields), hash);
  fields[1].value = USER_JSON;
  expect_refused (f, tampered, RC_ERROR_TELEGRAM_AUTH_BAD_SIGNATURE);
  /* Signed for another bot. */
  expect_refused (f, other_bot, RC_ERROR_TELEGRAM_AUTH_BAD_SIGNATURE);
  /* Rightly signed 23 hours ago: still within the default day. */
  fields[2].value = day_old;
  young_hash = sign (fields, G_N_ELEMENTS (fields), BOT_TOKEN);
  young = init_data (fields, G_N_ELEMENTS (fields), young_hash);
  {
    g_autoptr (RcTestWs) ws2 = rc_test_ws_connect (f->server);
    g_autoptr (JsonObject) accepted = join (f, ws2, young);

    g_assert_cmpstr (rc_test_str (accepted, "type"), ==, "initialState");
  }
  /* Rightly signed, but a day and a minute old (--telegram-auth-max-age 86400). */
  fields[2].value = stale;
  old_hash = sign (fields, G_N_ELEMENTS (fields), BOT_TOKEN);
  old = init_data (fields, G_N_ELEMENTS (fields), old_hash);
  expect_refused (f, old, RC_ERROR_TELEGRAM_AUTH_EXPIRED);
  /* No hash at all, and text that is not a query string. */
  expect_refused (f, no_hash, RC_ERROR_TELEGRAM_AUTH_MALFORMED);
  expect_refused (f, "not a query string", RC_ERROR_TELEGRAM_AUTH_MALFORMED);
}

static void
test_no_bot (Fixture *f, gconstpointer data)
{
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC);
  Field fields[] = { { "user", USER_JSON }, { "auth_date", now } };
  g_autofree char *hash = sign (fields, G_N_ELEMENTS (fields), BOT_TOKEN);
  g_autofree char *valid = init_data (fields, G_N_ELEMENTS (fields), hash);

  expect_refused (f, valid, RC_ERROR_TELEGRAM_AUTH_OFF);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add ("/telegram-auth/vectors", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_vectors, fixture_teardown);
  g_test_add ("/telegram-auth/no-bot", Fixture, NULL, fixture_setup, test_no_bot,
              fixture_teardown);
  return g_test_run ();
}

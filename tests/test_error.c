/* SPDX-License-Identifier: MIT */
/* The error table: stable codes, one HTTP status each, and the JSON shape. */
#include "pipelines/rc_media_error.h"
#include "server/core/rc_error.h"

#include <stdlib.h>

static void
test_codes_unique_and_complete (void)
{
  const RcErrorInfo *t = rc_error_table ();
  /* The list: not found, wrong password, room full, not owner,
   * invalid message, rate limited, too large. */
  const int required[] = { RC_ERROR_NOT_FOUND, RC_ERROR_WRONG_PASSWORD, RC_ERROR_ROOM_FULL,
                           RC_ERROR_NOT_OWNER, RC_ERROR_INVALID_MESSAGE, RC_ERROR_RATE_LIMITED,
                           RC_ERROR_TOO_LARGE };

  for (guint i = 0; t[i].code != 0; i++)
    {
      g_assert_nonnull (t[i].name);
      g_assert_nonnull (t[i].message);
      g_assert_cmpuint (t[i].http_status, >=, 400);
      g_assert_cmpuint (t[i].http_status, <, 600);
      for (guint j = i + 1; t[j].code != 0; j++)
        {
          g_assert_cmpint (t[i].code, !=, t[j].code);
          g_assert_cmpstr (t[i].name, !=, t[j].name);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    g_assert_cmpint (rc_error_info (required[i])->code, ==, required[i]);
}

static void
test_http_status (void)
{
  g_assert_cmpuint (rc_error_http_status (RC_ERROR_NOT_FOUND), ==, 404);
  g_assert_cmpuint (rc_error_http_status (RC_ERROR_UNAUTHORIZED), ==, 401);
  g_assert_cmpuint (rc_error_http_status (RC_ERROR_NOT_OWNER), ==, 403);
  g_assert_cmpuint (rc_error_http_status (RC_ERROR_RATE_LIMITED), ==, 429);
  g_assert_cmpuint (rc_error_http_status (RC_ERROR_TOO_LARGE), ==, 413);
  /* Unknown codes fall back to internal. */
  g_assert_cmpint (rc_error_info (12345)->code, ==, RC_ERROR_INTERNAL);
}

static void
test_json_shape (void)
{
  g_autoptr (JsonNode) id = json_node_new (JSON_NODE_VALUE);
  g_autoptr (JsonNode) msg = NULL;
  g_autoptr (JsonNode) plain = NULL;
  g_autoptr (GError) foreign = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "disk");
  g_autoptr (JsonNode) from_foreign = NULL;
  JsonObject *o;

  json_node_set_string (id, "req-7");
  msg = rc_error_to_json (RC_ERROR_ROOM_FULL, NULL, id);
  o = json_node_get_object (msg);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "error");
  g_assert_cmpint (json_object_get_int_member (o, "code"), ==, RC_ERROR_ROOM_FULL);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "room_full");
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "The room is full");
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "req-7");

  plain = rc_error_to_json (RC_ERROR_NOT_FOUND, "No room", NULL);
  g_assert_false (json_object_has_member (json_node_get_object (plain), "id"));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (plain), "message"), ==,
                   "No room");

  /* Errors from other domains never leak their text to clients. */
  from_foreign = rc_error_from_gerror (foreign, NULL);
  o = json_node_get_object (from_foreign);
  g_assert_cmpint (json_object_get_int_member (o, "code"), ==, RC_ERROR_INTERNAL);
  g_assert_cmpstr (json_object_get_string_member (o, "message"), !=, "disk");
}

/* The media floor's errors reach clients with the wire code and their own
 * words: an unreadable SDP is the client's fault (4002), an offer without
 * usable audio is 4004, a broken media path is 5002. */
static void
test_media_errors (void)
{
  static const struct
  {
    int media, wire;
  } map[] = {
    { RC_MEDIA_ERROR_INVALID, RC_ERROR_INVALID_PARAM },
    { RC_MEDIA_ERROR_UNSUPPORTED_OFFER, RC_ERROR_UNSUPPORTED_OFFER },
    { RC_MEDIA_ERROR_FAILED, RC_ERROR_MEDIA_FAILED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    {
      g_autoptr (GError) error = g_error_new_literal (RC_MEDIA_ERROR, map[i].media, "why");
      g_autoptr (JsonNode) json = rc_error_from_gerror (error, NULL);
      JsonObject *o = json_node_get_object (json);

      g_assert_cmpint (rc_error_code_of (error), ==, map[i].wire);
      g_assert_true (rc_error_is_told (error));
      g_assert_cmpint (json_object_get_int_member (o, "code"), ==, map[i].wire);
      g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "why");
    }
}

/* One row of docs/protocol.md's error table: "| 4203 | `room_full` | 409 | ...". */
static gboolean
parse_doc_row (const char *line, int *code, char **name, guint *status)
{
  g_autoptr (GRegex) re = g_regex_new ("^\\|\\s*(\\d{4})\\s*\\|\\s*`([a-z_]+)`\\s*\\|\\s*(\\d{3})\\s*\\|",
                                       0, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  g_autofree char *digits = NULL;
  g_autofree char *http = NULL;

  if (!g_regex_match (re, line, 0, &match))
    return FALSE;
  digits = g_match_info_fetch (match, 1);
  http = g_match_info_fetch (match, 3);
  *code = atoi (digits);
  *name = g_match_info_fetch (match, 2);
  *status = (guint) atoi (http);
  return TRUE;
}

/*
 * docs/protocol.md is the contract: every code the server can send is in
 * its error table with the same name and HTTP status, and the table lists
 * no code the server does not have. Codes quoted in the endpoint tables
 * ("| 409 | 4207 | ...") must exist too.
 */
static void
test_protocol_doc (void)
{
  const char *root = g_getenv ("ROOMCAST_SOURCE_ROOT");
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) documented = g_hash_table_new (NULL, NULL);
  g_autoptr (GRegex) quoted = g_regex_new ("^\\|\\s*\\d{3}\\s*\\|\\s*(\\d{4})\\s*\\|", 0, 0, NULL);
  g_autoptr (GError) error = NULL;
  guint rows = 0, quotes = 0;

  if (root == NULL)
    {
      g_test_skip ("ROOMCAST_SOURCE_ROOT is not set (run through meson test)");
      return;
    }
  path = g_build_filename (root, "docs", "protocol.md", NULL);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GMatchInfo) match = NULL;
      g_autofree char *name = NULL;
      guint status;
      int code;

      if (parse_doc_row (lines[i], &code, &name, &status))
        {
          const RcErrorInfo *info = rc_error_info (code);

          rows++;
          if ((int) info->code != code)
            g_error ("docs/protocol.md lists error %d (%s), which the server does not have", code,
                     name);
          g_assert_cmpstr (name, ==, info->name);
          g_assert_cmpuint (status, ==, info->http_status);
          g_hash_table_add (documented, GINT_TO_POINTER (code));
        }
      else if (g_regex_match (quoted, lines[i], 0, &match))
        {
          g_autofree char *digits = g_match_info_fetch (match, 1);
          int quoted_code = atoi (digits);

          quotes++;
          if ((int) rc_error_info (quoted_code)->code != quoted_code)
            g_error ("docs/protocol.md quotes error %d, which the server does not have: %s",
                     quoted_code, lines[i]);
        }
    }
  for (const RcErrorInfo *e = rc_error_table (); e->code != 0; e++)
    if (!g_hash_table_contains (documented, GINT_TO_POINTER (e->code)))
      g_error ("error %d (%s) is not in docs/protocol.md's error table", e->code, e->name);
  g_test_message ("%u error rows and %u quoted codes in docs/protocol.md agree with the table",
                  rows, quotes);
  g_assert_cmpuint (rows, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/codes", test_codes_unique_and_complete);
  g_test_add_func ("/error/http-status", test_http_status);
  g_test_add_func ("/error/json", test_json_shape);
  g_test_add_func ("/error/media", test_media_errors);
  g_test_add_func ("/error/protocol-doc", test_protocol_doc);
  return g_test_run ();
}

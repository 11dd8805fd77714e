/* SPDX-License-Identifier: MIT */
/* The error table: stable codes, one HTTP status each, and the JSON shape. */
#include "server/core/rc_error.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/codes", test_codes_unique_and_complete);
  g_test_add_func ("/error/http-status", test_http_status);
  g_test_add_func ("/error/json", test_json_shape);
  return g_test_run ();
}

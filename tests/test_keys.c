/* SPDX-License-Identifier: MIT */
/*
 * Publish keys over REST, as a room owner uses them to let a host go live:
 * made (the secret shown once), listed without secrets, revoked; only with
 * the owner token; kept across a roomcast restart with Redis.
 */
#include "server/core/rc_error.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"

#include <string.h>

static JsonObject *
call (RcTestServer *server, const char *method, const char *path, const char *body,
      const char *bearer, guint expected)
{
  guint status = 0;
  JsonNode *reply = rc_test_http (server, method, path, body, bearer, &status);
  JsonObject *o;

  g_assert_cmpuint (status, ==, expected);
  g_assert_nonnull (reply);
  o = json_object_ref (json_node_get_object (reply));
  json_node_unref (reply);
  return o;
}

static void
expect_error (RcTestServer *server, const char *method, const char *path, const char *body,
              const char *bearer, guint status, int code)
{
  g_autoptr (JsonObject) reply = call (server, method, path, body, bearer, status);

  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, code);
}

static void
test_make_list_revoke (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcTestRedis) redis = rc_test_redis_start (&error);
  const char *args[] = { "--store", rc_test_redis_get_uri (redis), NULL };
  g_autoptr (RcTestServer) server = rc_test_server_start (args);
  g_autoptr (JsonObject) room = rc_test_create_room (server, "Live room", NULL);
  g_autoptr (JsonObject) other = rc_test_create_room (server, "Other room", NULL);
  const char *token = rc_test_str (room, "ownerToken");
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/keys", rc_test_str (room, "id"));
  g_autofree char *first_path = NULL;
  g_autofree char *first_id = NULL;
  g_autoptr (JsonObject) made = NULL;
  g_autoptr (JsonObject) plain = NULL;
  g_autoptr (JsonObject) listed = NULL;
  g_autoptr (JsonObject) gone = NULL;
  g_autofree char *listed_text = NULL;
  g_autofree char *secret = NULL;
  JsonArray *keys;

  g_assert_no_error (error);
  /* Owner only. */
  expect_error (server, "POST", path, NULL, NULL, 401, RC_ERROR_UNAUTHORIZED);
  expect_error (server, "POST", path, NULL, rc_test_str (other, "ownerToken"), 403,
                RC_ERROR_NOT_OWNER);
  expect_error (server, "GET", path, NULL, NULL, 401, RC_ERROR_UNAUTHORIZED);
  expect_error (server, "POST", "/api/rooms/nope/keys", NULL, token, 404, RC_ERROR_NOT_FOUND);
  expect_error (server, "PUT", path, NULL, token, 405, RC_ERROR_METHOD_NOT_ALLOWED);
  expect_error (server, "POST", path, "{\"label\": 5}", token, 400, RC_ERROR_INVALID_PARAM);

  /* Made: the secret once, with a label (cleaned) or without. */
  made = call (server, "POST", path, "{\"label\": \"OBS <studio>\\n\"}", token, 201);
  secret = g_strdup (rc_test_str (made, "key"));
  first_id = g_strdup (rc_test_str (made, "id"));
  g_assert_true (g_str_has_prefix (secret, "rk_"));
  g_assert_cmpuint (strlen (secret), ==, 3 + 43);
  g_assert_cmpuint (strlen (first_id), ==, 8);
  g_assert_cmpstr (rc_test_str (made, "label"), ==, "OBS <studio>");
  plain = call (server, "POST", path, NULL, token, 201);
  g_assert_true (json_node_is_null (json_object_get_member (plain, "label")));
  g_assert_cmpstr (rc_test_str (plain, "key"), !=, secret);

  /* Listed without secrets, and the secret is nowhere in the list. */
  listed = call (server, "GET", path, NULL, token, 200);
  keys = json_object_get_array_member (listed, "keys");
  g_assert_cmpuint (json_array_get_length (keys), ==, 2);
  g_assert_cmpstr (rc_test_str (json_array_get_object_element (keys, 0), "id"), ==, first_id);
  g_assert_false (json_object_has_member (json_array_get_object_element (keys, 0), "key"));
  listed_text = json_to_string (json_object_get_member (listed, "keys"), FALSE);
  g_assert_null (strstr (listed_text, secret + 3));

  /* Kept across a restart (as hashes). */
  g_assert_cmpint (rc_test_server_stop (server), ==, 0);
  rc_test_server_free (g_steal_pointer (&server));
  server = rc_test_server_start (args);
  g_clear_pointer (&listed, json_object_unref);
  listed = call (server, "GET", path, NULL, token, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (listed, "keys")), ==, 2);

  /* Revoked once; then it is gone. */
  first_path = g_strdup_printf ("%s/%s", path, first_id);
  expect_error (server, "DELETE", first_path, NULL, NULL, 401, RC_ERROR_UNAUTHORIZED);
  gone = call (server, "DELETE", first_path, NULL, token, 200);
  g_assert_true (json_object_get_boolean_member (gone, "deleted"));
  expect_error (server, "DELETE", first_path, NULL, token, 404, RC_ERROR_NOT_FOUND);
  expect_error (server, "GET", first_path, NULL, token, 405, RC_ERROR_METHOD_NOT_ALLOWED);
  g_clear_pointer (&listed, json_object_unref);
  listed = call (server, "GET", path, NULL, token, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (listed, "keys")), ==, 1);

  /* At most 20 per room. */
  for (int i = 1; i < 20; i++)
    json_object_unref (call (server, "POST", path, NULL, token, 201));
  expect_error (server, "POST", path, NULL, token, 409, RC_ERROR_TOO_MANY_KEYS);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/keys/make-list-revoke", test_make_list_revoke);
  return g_test_run ();
}

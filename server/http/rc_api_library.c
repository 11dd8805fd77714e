/* SPDX-License-Identifier: MIT */
/*
 * REST routes for the music library: the paged song list and song search.
 * Query strings are checked with the same RcParam tables as JSON bodies:
 * each value that reads as an integer becomes a JSON number first, so
 * "limit=abc" fails the table's type check and "limit=0" its bounds, both
 * as 4002. Songs go out as rc_song_to_json: ids and tags, never a path.
 */
#include "server/http/rc_server.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "server/core/rc_json.h"
#include "server/core/rc_validate.h"

#define LIST_DEFAULT_LIMIT 50

static const RcParam list_params[] = {
  { "offset", RC_PARAM_INT, FALSE, 0, G_MAXINT32 },
  { "limit", RC_PARAM_INT, FALSE, 1, 100 },
  RC_PARAMS_END,
};

static const RcParam search_params[] = {
  { "q", RC_PARAM_STRING, TRUE, 1, 200 },
  { "limit", RC_PARAM_INT, FALSE, 1, RC_LIBRARY_SEARCH_MAX },
  RC_PARAMS_END,
};

/* The members of @query named in @params, validated; NULL and 4002 otherwise. */
static JsonObject *
read_query (GHashTable *query, const RcParam *params, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();

  for (const RcParam *p = params; p->name != NULL; p++)
    {
      const char *value = query != NULL ? g_hash_table_lookup (query, p->name) : NULL;
      gint64 number;

      if (value == NULL)
        continue;
      if (p->type == RC_PARAM_INT
          && g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &number, NULL))
        json_object_set_int_member (o, p->name, number);
      else
        json_object_set_string_member (o, p->name, value);
    }
  if (!rc_validate_object (o, params, error))
    return NULL;
  return g_steal_pointer (&o);
}

static JsonArray *
songs_to_json (GPtrArray *songs)
{
  JsonArray *array = json_array_sized_new (songs->len);

  for (guint i = 0; i < songs->len; i++)
    json_array_add_element (array, rc_song_to_json (songs->pdata[i]));
  return array;
}

static void
list_songs (RcServer *server, SoupServerMessage *msg, GHashTable *query)
{
  RcLibrary *library = rc_server_get_library (server);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = read_query (query, list_params, &error);
  g_autoptr (GPtrArray) songs = NULL;
  g_autoptr (JsonNode) body = NULL;
  JsonObject *o;
  gint64 offset, limit;
  guint total = 0;

  if (params == NULL)
    {
      rc_http_send_gerror (msg, error);
      return;
    }
  offset = rc_json_get_int (params, "offset", 0);
  limit = rc_json_get_int (params, "limit", LIST_DEFAULT_LIMIT);
  songs = rc_library_list (library, (guint) offset, (guint) limit, &total);
  body = rc_json_message_new (NULL, &o);
  json_object_set_array_member (o, "songs", songs_to_json (songs));
  json_object_set_int_member (o, "total", total);
  json_object_set_int_member (o, "offset", offset);
  json_object_set_int_member (o, "limit", limit);
  json_object_set_boolean_member (o, "scanning", rc_library_is_scanning (library));
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

static void
search_songs (RcServer *server, SoupServerMessage *msg, GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = read_query (query, search_params, &error);
  g_autoptr (GPtrArray) songs = NULL;
  g_autoptr (JsonNode) body = NULL;
  JsonObject *o;

  if (params == NULL)
    {
      rc_http_send_gerror (msg, error);
      return;
    }
  songs = rc_library_search (rc_server_get_library (server), rc_json_get_string (params, "q"),
                             (guint) rc_json_get_int (params, "limit", RC_LIBRARY_SEARCH_MAX));
  body = rc_json_message_new (NULL, &o);
  json_object_set_array_member (o, "songs", songs_to_json (songs));
  rc_http_send_json (msg, SOUP_STATUS_OK, body);
}

void
rc_api_library_handle (RcServer *server, SoupServerMessage *msg, const char *path,
                       GHashTable *query)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean is_list = g_str_equal (path, "/api/library") || g_str_equal (path, "/api/library/");
  gboolean is_search = g_str_equal (path, "/api/search/songs");

  if (!is_list && !is_search)
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No such endpoint");
      return;
    }
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD"))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  if (is_list)
    list_songs (server, msg, query);
  else
    search_songs (server, msg, query);
}

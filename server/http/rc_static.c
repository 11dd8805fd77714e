/* SPDX-License-Identifier: MIT */
/*
 * Serves the browser client from --client-dir. The client is a single-page
 * app, so "/" and "/room/{id}" both get index.html and the client routes.
 * Paths are resolved inside the root only: no "..", no dot files, and
 * nothing from node_modules (development dependencies live there).
 */
#include "server/http/rc_server.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"

#include <string.h>

static const struct
{
  const char *suffix;
  const char *type;
} content_types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".js", "text/javascript; charset=utf-8" },
  { ".mjs", "text/javascript; charset=utf-8" },
  { ".css", "text/css; charset=utf-8" },
  { ".json", "application/json" },
  { ".svg", "image/svg+xml" },
  { ".png", "image/png" },
  { ".ico", "image/x-icon" },
  { ".wasm", "application/wasm" },
  { ".webmanifest", "application/manifest+json" },
};

static const char *
content_type_for (const char *path)
{
  for (guint i = 0; i < G_N_ELEMENTS (content_types); i++)
    if (g_str_has_suffix (path, content_types[i].suffix))
      return content_types[i].type;
  return "application/octet-stream";
}

static gboolean
path_is_safe (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);

  if (strchr (path, '\\') != NULL || strchr (path, '\0') != path + strlen (path))
    return FALSE;
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '.')
        return FALSE; /* "..", "." and dot files */
      if (g_str_equal (parts[i], "node_modules") || g_str_has_prefix (parts[i], "package"))
        return FALSE;
    }
  return TRUE;
}

static void
send_not_found (SoupServerMessage *msg)
{
  static const char body[] = "Not found\n";

  soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC, body,
                                    strlen (body));
}

void
rc_static_handle (const char *root, SoupServerMessage *msg, const char *path)
{
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *file = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD"))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  if (g_str_equal (path, "/") || g_str_has_prefix (path, "/room/"))
    path = "/index.html";
  if (!path_is_safe (path))
    {
      send_not_found (msg);
      return;
    }
  file = g_build_filename (root, path, NULL);
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR) || !g_file_get_contents (file, &contents, &length, NULL))
    {
      send_not_found (msg);
      return;
    }
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-cache");
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, content_type_for (file), SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&contents), length);
}

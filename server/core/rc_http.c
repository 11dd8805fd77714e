/* SPDX-License-Identifier: MIT */
/* JSON responses, error bodies from the shared table, and request helpers. */
#include "server/core/rc_http.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_validate.h"

#include <string.h>

void
rc_http_send_json (SoupServerMessage *msg, guint status, JsonNode *body)
{
  g_autofree char *text = rc_json_to_string (body);
  gsize len = strlen (text);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  soup_server_message_set_status (msg, status, NULL);
  /* The answer replaces any body set before (libsoup's set_response appends
   * to it): an early refusal replaces the guard's prefilled 400. */
  soup_message_body_truncate (soup_server_message_get_response_body (msg));
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&text), len);
}

gboolean
rc_http_require_get (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);

  if (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                "GET, HEAD");
  rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, NULL);
  return FALSE;
}

void
rc_http_send_error (SoupServerMessage *msg, int code, const char *message)
{
  g_autoptr (JsonNode) body = rc_error_to_json (code, message, NULL);

  rc_http_send_json (msg, rc_error_http_status (code), body);
}

void
rc_http_send_gerror (SoupServerMessage *msg, const GError *error)
{
  g_autoptr (JsonNode) body = rc_error_from_gerror (error, NULL);
  JsonObject *o = json_node_get_object (body);

  rc_http_send_json (msg, rc_error_http_status ((int) json_object_get_int_member (o, "code")),
                     body);
}

char *
rc_http_get_bearer (SoupServerMessage *msg)
{
  const char *value = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "Authorization");

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0)
    return NULL;
  value += 7;
  while (*value == ' ')
    value++;
  return *value ? g_strstrip (g_strdup (value)) : NULL;
}

JsonObject *
rc_http_read_json_object (SoupServerMessage *msg, gsize max_bytes, GError **error)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *type =
    soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  g_autoptr (GBytes) bytes = NULL;

  /* Only JSON: a web page can make a browser send text/plain or a form to
   * any site without asking (no CORS preflight), but not application/json. */
  if (type == NULL || g_ascii_strcasecmp (type, "application/json") != 0)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_UNSUPPORTED_MEDIA_TYPE,
                           "The body must be JSON sent as Content-Type: application/json");
      return NULL;
    }
  if (body->length > (goffset) max_bytes)
    {
      rc_error_set (error, RC_ERROR_TOO_LARGE);
      return NULL;
    }
  bytes = soup_message_body_flatten (body);
  return rc_validate_parse_object (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   error);
}

char *
rc_http_peer (SoupServerMessage *msg, gboolean with_port)
{
  GSocketAddress *addr = soup_server_message_get_remote_address (msg);
  g_autofree char *ip = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (addr))
    return g_strdup ("unknown");
  ip = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
  if (!with_port)
    return g_steal_pointer (&ip);
  return g_strdup_printf ("%s:%u", ip,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)));
}

gboolean
rc_http_allow_write (RcRateLimits *limits, SoupServerMessage *msg)
{
  g_autofree char *ip = rc_http_peer (msg, FALSE);

  if (rc_rate_limits_take (limits, ip, g_get_monotonic_time ()))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                "1");
  rc_http_send_error (msg, RC_ERROR_RATE_LIMITED, NULL);
  return FALSE;
}

GInetAddress *
rc_http_resolve_host (const char *host, GError **error)
{
  GInetAddress *addr = g_inet_address_new_from_string (host);
  g_autolist (GInetAddress) found = NULL;

  if (addr != NULL)
    return addr;
  found = g_resolver_lookup_by_name (g_resolver_get_default (), host, NULL, error);
  if (found == NULL)
    return NULL;
  return g_object_ref (found->data);
}

/* The holds on a message, and whether its client went away while held. */
static G_DEFINE_QUARK (rc-http-holds, holds)
static G_DEFINE_QUARK (rc-http-gone, gone)

/* The client went away while the answer was held: libsoup has dropped the
 * message's I/O, and unpausing it then is a critical warning. */
static void
on_held_disconnected (SoupServerMessage *msg, gpointer data)
{
  g_object_set_qdata (G_OBJECT (msg), gone_quark (), GINT_TO_POINTER (TRUE));
}

void
rc_http_hold (SoupServerMessage *msg)
{
  guint holds = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (msg), holds_quark ()));

  if (holds == 0)
    {
      soup_server_message_pause (msg);
      g_signal_connect (msg, "disconnected", G_CALLBACK (on_held_disconnected), NULL);
    }
  g_object_set_qdata (G_OBJECT (msg), holds_quark (), GUINT_TO_POINTER (holds + 1));
  g_object_ref (msg);
}

void
rc_http_release (SoupServerMessage *msg)
{
  guint holds = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (msg), holds_quark ()));

  g_return_if_fail (holds > 0);
  g_object_set_qdata (G_OBJECT (msg), holds_quark (), GUINT_TO_POINTER (holds - 1));
  if (holds == 1)
    {
      g_signal_handlers_disconnect_by_func (msg, on_held_disconnected, NULL);
      if (g_object_get_qdata (G_OBJECT (msg), gone_quark ()) == NULL)
        soup_server_message_unpause (msg);
    }
  g_object_unref (msg);
}

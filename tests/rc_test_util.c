/* SPDX-License-Identifier: MIT */
/* Helpers shared by every test program: main-context waiting, free ports. */
#include "rc_test_util.h"

#include <gio/gio.h>

static gboolean
wake (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
rc_test_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  g_log_set_debug_enabled (FALSE);
}

void
rc_test_iterate (guint max_ms)
{
  gboolean fired = FALSE;
  guint id = g_timeout_add (max_ms, wake, &fired);

  g_main_context_iteration (NULL, TRUE);
  if (!fired)
    g_source_remove (id);
}

void
rc_test_run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    rc_test_iterate (10);
}

static guint
free_port (GSocketType type, GSocketProtocol protocol)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, protocol, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, addr, type == G_SOCKET_TYPE_STREAM, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

guint
rc_test_free_port (void)
{
  return free_port (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP);
}

guint
rc_test_free_udp_port (void)
{
  return free_port (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP);
}

JsonNode *
rc_test_parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

const char *
rc_test_str (JsonObject *o, const char *name)
{
  return json_object_get_string_member_with_default (o, name, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Helpers shared by every test program: main-context waiting, free ports. */
#include "rc_test_util.h"
#include "tools/support/rc_roomcast_process.h"

#include <gio/gio.h>
#include <string.h>

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
free_port (GSocketType type)
{
  guint port = rc_roomcast_free_port (type);

  g_assert_cmpuint (port, !=, 0);
  return port;
}

guint
rc_test_free_port (void)
{
  return free_port (G_SOCKET_TYPE_STREAM);
}

guint
rc_test_free_udp_port (void)
{
  return free_port (G_SOCKET_TYPE_DATAGRAM);
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

const char *
rc_test_song_title (JsonObject *state)
{
  JsonNode *song = json_object_get_member (state, "song");

  if (song == NULL || JSON_NODE_HOLDS_NULL (song))
    return NULL;
  return rc_test_str (json_node_get_object (song), "title");
}

guint
rc_test_slowdown (void)
{
  const char *text = g_getenv ("RC_TEST_SLOWDOWN");
  guint64 factor = text != NULL ? g_ascii_strtoull (text, NULL, 10) : 1;

  return (guint) CLAMP (factor, 1, 10);
}

static GPtrArray *let_through; /* const char*, static strings */

static gboolean
fatal_unless_let_through (const char *domain, GLogLevelFlags level, const char *message,
                          gpointer data)
{
  if (g_strcmp0 (domain, "GStreamer") != 0 || message == NULL)
    return TRUE;
  for (guint i = 0; i < let_through->len; i++)
    if (strstr (message, g_ptr_array_index (let_through, i)) != NULL)
      {
        g_test_message ("GStreamer-internal warning let through: %s", message);
        return FALSE;
      }
  return TRUE;
}

void
rc_test_let_gstreamer_warning_through (const char *fragment)
{
  if (let_through == NULL)
    let_through = g_ptr_array_new ();
  g_ptr_array_add (let_through, (gpointer) fragment);
  g_test_log_set_fatal_handler (fatal_unless_let_through, NULL);
}

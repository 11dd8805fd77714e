/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the WebSocket message path. Each input is up to eight
 * text messages, one per line, received by a fresh socketless session
 * (rc_session_new_detached) that has first joined the one room of a real
 * registry on a memory store, so every message goes through the rate limit,
 * the size limit, the JSON parse, the validation and the handler table as it
 * does from a socket. Each input gets a new room, deleted after it (state
 * carried between inputs would look like leaks to libFuzzer and make it run
 * LeakSanitizer after every input).
 *
 * No audio: GStreamer starts with no plugins at all, so the room's pipeline
 * cannot be built and play/skip/seek change the player's state only (a
 * pipeline per input would be slow and reach for the URLs' hosts);
 * startMedia is left out for the same reason. The pipeline tests cover
 * that floor. Every reply must be valid UTF-8 JSON; a critical aborts.
 */
#include "signalling/rc_session.h"
#include "signalling/rc_presence.h"
#include "server/core/rc_json.h"
#include "server/core/rc_validate.h"
#include "server/rc_config.h"
#include "server/rooms/rc_registry.h"
#include "server/store/rc_store.h"

#include <gst/gst.h>
#include <string.h>

#define MAX_MESSAGES 8

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

typedef struct
{
  RcConfig *config;
  RcStore *store;
  RcRegistry *registry;
  RcSessionHost host;
  /* The join's replies (initialState and the rest) are the same for every
   * input: checked on the first input only, as parsing them again would
   * cost more than the input's own messages. */
  gboolean join_checked;
  gboolean checking;
} Fixture;

static void
ignore_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

static Fixture *
fixture_get (void)
{
  static Fixture *fixture;
  RcRoomSettings settings = { 0 };

  if (fixture != NULL)
    return fixture;
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  /* The replies are under test, not the log ("cannot build its pipeline"). */
  g_log_set_handler ("roomcast", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG
                                   | G_LOG_LEVEL_WARNING,
                     ignore_log, NULL);
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", TRUE);
  g_setenv ("GST_PLUGIN_PATH_1_0", "", TRUE);
  g_setenv ("GST_REGISTRY_1_0", "/nonexistent/roomcast-fuzz-registry.bin", TRUE);
  gst_init (NULL, NULL);
  fixture = g_new0 (Fixture, 1);
  fixture->config = rc_config_new ();
  fixture->store = rc_store_new ("memory", 1000, NULL);
  settings.empty_pause_s = (guint) fixture->config->empty_room_pause;
  settings.delay_min_ms = (double) fixture->config->playout_delay_min;
  settings.delay_initial_ms = (double) fixture->config->playout_delay;
  settings.delay_max_ms = (double) fixture->config->playout_delay_max;
  fixture->registry = rc_registry_new (fixture->store, NULL, 10, 50, &settings);
  fixture->host.config = fixture->config;
  fixture->host.registry = fixture->registry;
  fixture->host.presence = rc_presence_new ();
  return fixture;
}

/* Everything the server says must be a JSON object it could send. */
static void
check_reply (RcSession *session, const char *text, gsize length, gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) reply = NULL;

  if (!fixture->checking)
    return;
  g_assert (strlen (text) == length);
  reply = rc_validate_parse_object (text, length, &error);
  if (reply == NULL)
    g_error ("The server sent something that is not a valid message (%s): %s",
             error->message, text);
  g_assert (rc_json_get_string (reply, "type") != NULL);
}

/* TRUE for a message whose type is startMedia (see the top of the file).
 * Only a line that could name it (plainly, through an escape, or after a
 * NUL that strstr stops at) is parsed here as well. */
static gboolean
starts_media (const char *line, gsize length)
{
  g_autoptr (JsonObject) request = NULL;
  const char *type;

  if (strstr (line, "startMedia") == NULL && memchr (line, '\\', length) == NULL
      && strlen (line) == length)
    return FALSE;
  request = rc_validate_parse_object (line, length, NULL);
  type = request != NULL ? rc_json_get_string (request, "type") : NULL;
  return type != NULL && g_str_equal (type, "startMedia");
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  Fixture *fixture = fixture_get ();
  RcSession *session = rc_session_new_detached (&fixture->host, "fuzz", check_reply, fixture);
  const char *p = (const char *) data, *end = p + size;
  RcRoom *room = rc_registry_create_room (fixture->registry, "Fuzz room", NULL, NULL, NULL);
  g_autofree char *join = g_strdup_printf (
    "{\"type\":\"join\",\"id\":1,\"roomId\":\"%s\",\"name\":\"fuzz\"}", rc_room_get_id (room));

  fixture->checking = !fixture->join_checked;
  rc_session_receive_text (session, join, strlen (join));
  fixture->join_checked = fixture->checking = TRUE;
  for (guint n = 0; n < MAX_MESSAGES && p < end; n++)
    {
      const char *newline = memchr (p, '\n', (gsize) (end - p));
      gsize length = (gsize) ((newline != NULL ? newline : end) - p);
      g_autofree char *line = g_strndup (p, length); /* a frame is NUL-terminated, as libsoup's */

      if (!starts_media (line, length))
        rc_session_receive_text (session, line, length);
      p += length + 1;
    }
  rc_session_free (session);
  rc_registry_delete_room (fixture->registry, room);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}

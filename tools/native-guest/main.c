/* SPDX-License-Identifier: MIT */
/*
 * roomcast-guest: one native guest from the command line. It joins a room,
 * listens over WebRTC, prints a line each time its state changes and a
 * final line of receive figures, and can record what it hears to a WAV file.
 *
 *   roomcast-guest --server http://127.0.0.1:8080 --room ID --name Ann \
 *                  [--password P] [--owner-token T] [--record out.wav] [--duration 10]
 *
 * Exit status: 0 when audio arrived and nothing failed, 1 on a failure
 * (the message says which), 2 on bad usage.
 */
#include "rc_native_guest.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>

typedef struct
{
  RcNativeGuest *guest;
  GMainLoop *loop;
  gint64 started_us;
  RcNativeGuestStats shown; /* what has been printed so far */
  gboolean failed;
} App;

static void
say (App *app, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
say (App *app, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("[%6.2f s] %s\n", (g_get_monotonic_time () - app->started_us) / 1e6, text);
}

static void
on_message (RcNativeGuest *guest, JsonObject *message, gpointer data)
{
  App *app = data;
  const char *type = json_object_get_string_member_with_default (message, "type", "");

  if (g_str_equal (type, "initialState"))
    {
      JsonNode *room = json_object_get_member (message, "room");

      if (room != NULL && JSON_NODE_HOLDS_OBJECT (room))
        say (app, "joined room %s (\"%s\")",
             json_object_get_string_member_with_default (json_node_get_object (room), "id", "?"),
             json_object_get_string_member_with_default (json_node_get_object (room), "name", "?"));
      else
        say (app, "joined");
    }
  else if (g_str_equal (type, "mediaStopped"))
    say (app, "audio stopped by the server (%s)",
         json_object_get_string_member_with_default (message, "reason", "?"));
  else if (g_str_equal (type, "error"))
    say (app, "server error %" G_GINT64_FORMAT ": %s",
         json_object_get_int_member_with_default (message, "code", 0),
         json_object_get_string_member_with_default (message, "message", ""));
}

/* Prints what changed since the last look; stops on failure. */
static gboolean
watch (gpointer data)
{
  App *app = data;
  RcNativeGuestStats now;
  const char *failure = rc_native_guest_get_failure (app->guest);

  rc_native_guest_get_stats (app->guest, &now);
  if (now.connected && !app->shown.connected)
    say (app, "media connected (ICE and DTLS up)");
  if (now.packets > 0 && app->shown.packets == 0)
    say (app, "RTP arriving");
  if (now.first_audio_us != 0 && app->shown.first_audio_us == 0)
    say (app, "audio decoding (48 kHz stereo)");
  app->shown = now;
  if (failure != NULL)
    {
      say (app, "failed: %s", failure);
      app->failed = TRUE;
      g_main_loop_quit (app->loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
stop (gpointer data)
{
  g_main_loop_quit (((App *) data)->loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autofree char *server = NULL, *room = NULL, *name = NULL, *password = NULL;
  g_autofree char *owner_token = NULL, *record = NULL;
  double duration = 0;
  GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &server, "roomcast URL (http://host:port)", "URL" },
    { "room", 'r', 0, G_OPTION_ARG_STRING, &room, "Room id", "ID" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "Guest name", "NAME" },
    { "password", 'p', 0, G_OPTION_ARG_STRING, &password, "Room password", "P" },
    { "owner-token", 't', 0, G_OPTION_ARG_STRING, &owner_token, "Join as the owner", "T" },
    { "record", 'o', 0, G_OPTION_ARG_FILENAME, &record, "Write what is heard to a WAV file",
      "FILE" },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration,
      "Listen this long, then leave (default: until Ctrl-C)", "SECONDS" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- listen to a roomcast room");
  g_autoptr (GError) error = NULL;
  RcNativeGuestOptions options = { 0 };
  App app = { 0 };
  RcNativeGuestStats stats;
  guint watch_id;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("roomcast-guest: %s\n", error->message);
      return 2;
    }
  if (server == NULL || room == NULL || name == NULL || duration < 0)
    {
      g_printerr ("roomcast-guest: --server, --room and --name are required "
                  "(and --duration is not negative); see --help\n");
      return 2;
    }
  gst_init (NULL, NULL);

  app.started_us = g_get_monotonic_time ();
  app.loop = g_main_loop_new (NULL, FALSE);
  options.server_url = server;
  options.room_id = room;
  options.name = name;
  options.password = password;
  options.owner_token = owner_token;
  options.record_path = record;
  options.on_message = on_message;
  options.user_data = &app;
  say (&app, "connecting to %s", server);
  app.guest = rc_native_guest_new (&options);

  watch_id = g_timeout_add (50, watch, &app);
  g_unix_signal_add (SIGINT, stop, &app);
  g_unix_signal_add (SIGTERM, stop, &app);
  if (duration > 0)
    g_timeout_add ((guint) (duration * 1000), stop, &app);
  g_main_loop_run (app.loop);
  if (!app.failed)
    {
      g_source_remove (watch_id);
      watch (&app);
    }

  rc_native_guest_get_stats (app.guest, &stats);
  say (&app, "stats: packets=%" G_GUINT64_FORMAT " lost=%" G_GUINT64_FORMAT
             " max_gap_ms=%.1f audio_s=%.2f%s%s",
       stats.packets, stats.lost, stats.max_gap_us / 1000.0, stats.frames / 48000.0,
       record != NULL ? " recorded=" : "", record != NULL ? record : "");
  if (!app.failed && stats.packets == 0)
    {
      say (&app, "failed: no audio arrived");
      app.failed = TRUE;
    }
  rc_native_guest_free (app.guest);
  /* Let the leave and the close frame go out. */
  {
    gint64 end = g_get_monotonic_time () + 200 * G_TIME_SPAN_MILLISECOND;
    while (g_get_monotonic_time () < end)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5000);
  }
  g_main_loop_unref (app.loop);
  return app.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

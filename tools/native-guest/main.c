/* SPDX-License-Identifier: MIT */
/*
 * roomcast-guest: one native guest from the command line. It joins a room,
 * follows the server clock and renders the room's audio at C + D (over
 * WebRTC or the WebSocket), reports how well it keeps time, prints a line
 * each time its state changes and a final line of figures, and can record
 * what it rendered, placed by render time, to a WAV file with a JSON
 * sidecar (out.wav.json) giving the server time of its first sample.
 *
 *   roomcast-guest --server http://127.0.0.1:8080 --room ID --name Ann \
 *                  [--transport webrtc|ws] [--latency-offset MS] [--sink DESC] \
 *                  [--password P] [--owner-token T] [--record out.wav] [--duration 10] \
 *                  [--follow-cluster]
 *
 * --no-playout is the plain listener of earlier versions: WebRTC audio
 * decoded as it arrives (and recorded so), no clock, no reports.
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
    say (app, "audio out (48 kHz stereo)");
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
  g_autofree char *transport = NULL, *sink = NULL;
  double duration = 0, latency_offset = 0, report_interval = 3;
  gboolean no_playout = FALSE, no_realtime = FALSE, follow_cluster = FALSE;
  GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &server, "roomcast URL (http://host:port)", "URL" },
    { "room", 'r', 0, G_OPTION_ARG_STRING, &room, "Room id", "ID" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "Guest name", "NAME" },
    { "password", 'p', 0, G_OPTION_ARG_STRING, &password, "Room password", "P" },
    { "owner-token", 't', 0, G_OPTION_ARG_STRING, &owner_token, "Join as the owner", "T" },
    { "record", 'o', 0, G_OPTION_ARG_FILENAME, &record,
      "Write what is rendered to a WAV file, placed by render time, with FILE.json beside it",
      "FILE" },
    { "transport", 'T', 0, G_OPTION_ARG_STRING, &transport,
      "How the audio comes: webrtc (default) or ws", "webrtc|ws" },
    { "latency-offset", 'l', 0, G_OPTION_ARG_DOUBLE, &latency_offset,
      "Output delay after the sink to make up for, ms (rendered this much earlier)", "MS" },
    { "sink", 0, 0, G_OPTION_ARG_STRING, &sink,
      "Audio sink (gst-launch description; default autoaudiosink, or the measuring "
      "appsink when recording)", "DESC" },
    { "report-interval", 0, 0, G_OPTION_ARG_DOUBLE, &report_interval,
      "Seconds between syncReports (default 3)", "SECONDS" },
    { "no-realtime", 0, 0, G_OPTION_ARG_NONE, &no_realtime,
      "Leave the rendering thread at normal priority (default: SCHED_FIFO when allowed)", NULL },
    { "no-playout", 0, 0, G_OPTION_ARG_NONE, &no_playout,
      "Decode WebRTC audio as it arrives (no clock, no C + D, no reports)", NULL },
    { "follow-cluster", 0, 0, G_OPTION_ARG_NONE, &follow_cluster,
      "In a cluster: go where a join is sent (4208, 4209), and when the node is lost, reconnect "
      "and go round the nodes GET /api/nodes listed", NULL },
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
  if ((transport != NULL && !g_str_equal (transport, "webrtc") && !g_str_equal (transport, "ws"))
      || (no_playout && transport != NULL && g_str_equal (transport, "ws"))
      || report_interval < 0.1 || report_interval > 3600 || (record != NULL && sink != NULL))
    {
      g_printerr ("roomcast-guest: --transport is webrtc or ws (ws needs the playout), "
                  "--report-interval 0.1-3600, and a recording uses its own sink; see --help\n");
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
  options.playout = !no_playout;
  options.transport = transport;
  options.latency_offset_ms = latency_offset;
  options.sink = sink;
  options.report_interval_ms = (guint) (report_interval * 1000);
  options.realtime = !no_realtime;
  options.follow_cluster = follow_cluster;
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
  {
    RcNativePlayoutStats p;

    if (rc_native_guest_get_playout_stats (app.guest, &p))
      say (&app,
           "playout: clock_synced=%s realtime=%s delay_ms=%.1f rendered_s=%.2f render_error_ms p50=%.3f "
           "p95=%.3f max=%.3f underruns=%" G_GUINT64_FORMAT " early_drops=%" G_GUINT64_FORMAT
           " resyncs=%" G_GUINT64_FORMAT " device_delay_ms=%.1f output_steps=%" G_GUINT64_FORMAT
           " output_corrections=%" G_GUINT64_FORMAT " reports=%u",
           p.clock_synced ? "yes" : "no", p.realtime ? "yes" : "no", p.delay_ms, p.rendered_frames / 48000.0, p.error_p50,
           p.error_p95, p.error_max, p.underruns, p.early_drops, p.resyncs, p.device_delay_ms,
           p.output_steps, p.output_corrections, rc_native_guest_get_reports_sent (app.guest));
  }
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

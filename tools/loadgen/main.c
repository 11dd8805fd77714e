/* SPDX-License-Identifier: MIT */
/*
 * roomcast-loadgen: thousands of listeners of one roomcast room (WebSocket
 * guests) and/or one Icecast mount (HTTP listeners) from one thread; see
 * rc_loadgen.h. It prints one JSON line a second ("second"), a "joined"
 * line when every listener asked for first has audio (the window starts
 * there), and a "window" line at the end. With --commands it also reads
 * commands on stdin, one a line, which is how bench-fanout drives it:
 *
 *   ws N       hold N WebSocket guests        http N   hold N HTTP listeners
 *   mark       start a window ("marked")      window   print the window's figures
 *   rate N     start N connections a second   quit     end
 *   churn N S  N more guests join a second, each leaving S seconds after
 *              its first frame (churn 0: the churn ends, its guests leave)
 *
 * With --janus-url the guests watch a Janus Streaming mountpoint instead of
 * joining a roomcast room (rc_lg_janus.h).
 */
#include "rc_loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  RcLoadgen *lg;
  gboolean quiet;      /* no per-second lines */
  gboolean text;       /* a human line per second instead of JSON */
  gboolean joined;     /* the "joined" line was printed (not with --commands: the driver marks) */
  GString *line;       /* stdin, not yet a whole line */
} App;

static RcLoadgen *the_loadgen;

static void
on_signal (int sig)
{
  if (the_loadgen != NULL)
    rc_loadgen_quit (the_loadgen);
}

static void
print_window (App *app, const char *kind)
{
  RcLoadgenFigures w = { 0 };
  g_autofree char *json = NULL;

  rc_loadgen_get_window (app->lg, &w);
  json = rc_loadgen_figures_to_json (&w, kind);
  printf ("%s\n", json);
  fflush (stdout);
  rc_loadgen_figures_clear (&w);
}

static void
on_tick (RcLoadgen *lg, const RcLoadgenFigures *s, gpointer data)
{
  App *app = data;
  RcLoadgenPopulation ws = rc_loadgen_get_ws (lg), http = rc_loadgen_get_http (lg);

  if (!app->quiet)
    {
      if (app->text)
        printf ("ws %u/%u receiving (%u joining, %u failed): %" G_GUINT64_FORMAT
                " frames, %" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT
                " late, p50 %.0f p99 %.0f max %.0f ms | http %u/%u: %" G_GUINT64_FORMAT
                " pages, %" G_GUINT64_FORMAT " late, %" G_GUINT64_FORMAT " stalls | cpu %.0f%%\n",
                ws.receiving, ws.target, ws.joining, ws.failed, s->ws_counts.frames,
                s->ws_counts.lost, s->ws_counts.late, rc_lg_counts_quantile (&s->ws_counts, 0.5),
                rc_lg_counts_quantile (&s->ws_counts, 0.99), s->ws_counts.max_ms, http.receiving,
                http.target, s->http_counts.frames, s->http_counts.late, s->http_stalls,
                s->cpu_pct);
      else
        {
          g_autofree char *json = rc_loadgen_figures_to_json (s, "second");

          printf ("%s\n", json);
        }
      fflush (stdout);
    }
  if (!app->joined && ws.target + http.target > 0 && ws.receiving + ws.failed >= ws.target
      && http.receiving + http.failed >= http.target)
    {
      app->joined = TRUE;
      print_window (app, "joined");
      rc_loadgen_mark (lg);
    }
}

static void
run_command (App *app, const char *command)
{
  g_auto (GStrv) f = g_strsplit (command, " ", 3);
  guint64 n = 0;

  if (f[0] == NULL)
    return;
  if ((g_str_equal (f[0], "ws") || g_str_equal (f[0], "http")) && f[1] != NULL
      && g_ascii_string_to_unsigned (f[1], 10, 0, 1000000, &n, NULL))
    {
      if (g_str_equal (f[0], "ws"))
        rc_loadgen_set_ws_target (app->lg, (guint) n);
      else
        rc_loadgen_set_http_target (app->lg, (guint) n);
      printf ("{\"type\":\"ok\",\"command\":\"%s\"}\n", f[0]);
    }
  else if (g_str_equal (f[0], "rate") && f[1] != NULL
           && g_ascii_string_to_unsigned (f[1], 10, 1, 100000, &n, NULL))
    {
      rc_loadgen_set_join_rate (app->lg, (guint) n);
      printf ("{\"type\":\"ok\",\"command\":\"rate\"}\n");
    }
  else if (g_str_equal (f[0], "churn") && f[1] != NULL
           && g_ascii_string_to_unsigned (f[1], 10, 0, 100000, &n, NULL)
           && (n == 0 || (f[2] != NULL && g_ascii_strtod (f[2], NULL) > 0)))
    {
      rc_loadgen_set_churn (app->lg, (guint) n, n > 0 ? g_ascii_strtod (f[2], NULL) : 0);
      printf ("{\"type\":\"ok\",\"command\":\"churn\"}\n");
    }
  else if (g_str_equal (f[0], "mark"))
    {
      rc_loadgen_mark (app->lg);
      printf ("{\"type\":\"marked\"}\n");
    }
  else if (g_str_equal (f[0], "window"))
    print_window (app, "window");
  else if (g_str_equal (f[0], "quit"))
    rc_loadgen_quit (app->lg);
  else
    printf ("{\"type\":\"error\",\"message\":\"unknown command\"}\n");
  fflush (stdout);
}

static void
on_stdin (RcLoadgen *lg, int fd, gpointer data)
{
  App *app = data;
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf);
  char *nl;

  if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      rc_loadgen_quit (lg); /* stdin closed: the driver is gone */
      return;
    }
  g_string_append_len (app->line, buf, n);
  while ((nl = strchr (app->line->str, '\n')) != NULL)
    {
      g_autofree char *command = g_strndup (app->line->str, (gsize) (nl - app->line->str));

      g_string_erase (app->line, 0, (nl - app->line->str) + 1);
      run_command (app, g_strstrip (command));
    }
}

int
main (int argc, char **argv)
{
  RcLoadgenOptions o = { .late_ms = 60, .stall_ms = 500, .join_rate = 500, .max_pending = 64,
                         .sample_every = 100, .tone_hz = 440, .source_addresses = 8,
                         .join_timeout_s = 30 };
  int guests = 0, listeners = 0, rate = 500, pending = 64, sample = 100, sources = 8;
  int mountpoint = 1;
  char *janus = NULL;
  double duration = 0;
  gboolean commands = FALSE, quiet = FALSE, text = FALSE;
  char *server = NULL, *room = NULL, *http_url = NULL, *prefix = NULL, *transport = NULL;
  char *slot = NULL;
  GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &server, "The roomcast (http://127.0.0.1:PORT)", "URL" },
    { "room", 'r', 0, G_OPTION_ARG_STRING, &room, "The room the guests join", "ID" },
    { "guests", 'g', 0, G_OPTION_ARG_INT, &guests, "WebSocket guests to hold (0)", "N" },
    { "http-url", 0, 0, G_OPTION_ARG_STRING, &http_url,
      "An Icecast mount (http://HOST:PORT/mount) for HTTP listeners", "URL" },
    { "listeners", 'l', 0, G_OPTION_ARG_INT, &listeners, "HTTP listeners to hold (0)", "N" },
    { "late-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.late_ms,
      "A frame this far behind its slot is late (60)", "MS" },
    { "slot", 0, 0, G_OPTION_ARG_STRING, &slot,
      "A WebSocket frame's slot: frame (its C, the default), message (the C of its "
      "message's last frame: the bundling's own wait left out) or transit (that plus the "
      "listener's best transit so far, as HTTP listeners are measured)",
      "frame|message|transit" },
    { "stall-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.stall_ms,
      "An HTTP listener this long without a byte stalls (500)", "MS" },
    { "rate", 0, 0, G_OPTION_ARG_INT, &rate, "Connections started per second (500)", "N" },
    { "join-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.join_timeout_s,
      "A listener without audio this long after connecting fails (30)", "S" },
    { "pending", 0, 0, G_OPTION_ARG_INT, &pending, "Joins in flight at once (64)", "N" },
    { "sample", 0, 0, G_OPTION_ARG_INT, &sample,
      "One guest in N decodes its Opus and checks the tone (100; 0: none)", "N" },
    { "tone", 0, 0, G_OPTION_ARG_DOUBLE, &o.tone_hz, "The tone the sample expects (440 Hz)", "HZ" },
    { "source-addresses", 0, 0, G_OPTION_ARG_INT, &sources,
      "Connect from 127.0.0.1 up to 127.0.0.N (8)", "N" },
    { "name-prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "Guests' names: PREFIX-N (lg)", "TEXT" },
    { "transport", 't', 0, G_OPTION_ARG_STRING, &transport,
      "The guests' audio: ws (default) or webrtc (ICE, DTLS, RTP counted by its header)", "T" },
    { "janus-url", 0, 0, G_OPTION_ARG_STRING, &janus,
      "Instead of a roomcast: Janus's HTTP API (http://127.0.0.1:PORT/janus); the guests "
      "watch a Streaming mountpoint over WebRTC", "URL" },
    { "janus-mountpoint", 0, 0, G_OPTION_ARG_INT, &mountpoint,
      "--janus-url: the mountpoint's id (1)", "ID" },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration,
      "Seconds to run (0: until SIGINT, or stdin ends with --commands)", "S" },
    { "commands", 0, 0, G_OPTION_ARG_NONE, &commands, "Read commands on stdin", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No line per second", NULL },
    { "text", 0, 0, G_OPTION_ARG_NONE, &text, "A human line per second instead of JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- many listeners on one thread");
  g_autoptr (GError) error = NULL;
  g_autoptr (RcLoadgen) lg = NULL;
  App app = { 0 };

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("roomcast-loadgen: %s\n", error->message);
      return 2;
    }
  if (server == NULL && http_url == NULL && janus == NULL)
    {
      g_printerr ("roomcast-loadgen: give --server and --room, or --janus-url, or --http-url\n");
      return 2;
    }
  if (slot != NULL && !g_str_equal (slot, "frame") && !g_str_equal (slot, "message")
      && !g_str_equal (slot, "transit"))
    {
      g_printerr ("roomcast-loadgen: --slot is frame, message or transit\n");
      return 2;
    }
  o.slot = g_strcmp0 (slot, "message") == 0   ? RC_LG_SLOT_MESSAGE
           : g_strcmp0 (slot, "transit") == 0 ? RC_LG_SLOT_TRANSIT
                                              : RC_LG_SLOT_FRAME;
  o.server_url = server;
  o.room_id = room;
  o.http_url = http_url;
  o.name_prefix = prefix;
  o.transport = transport;
  o.janus_url = janus;
  o.janus_mountpoint = (guint) MAX (mountpoint, 0);
  o.join_rate = (guint) MAX (rate, 1);
  o.max_pending = (guint) MAX (pending, 1);
  o.sample_every = (guint) MAX (sample, 0);
  o.source_addresses = (guint) CLAMP (sources, 1, 250);
  lg = rc_loadgen_new (&o, &error);
  if (lg == NULL)
    {
      g_printerr ("roomcast-loadgen: %s\n", error->message);
      return 2;
    }
  app.lg = lg;
  app.quiet = quiet;
  app.text = text;
  app.line = g_string_new (NULL);
  app.joined = commands;
  the_loadgen = lg;
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  rc_loadgen_set_tick_func (lg, on_tick, &app);
  if (commands)
    {
      fcntl (STDIN_FILENO, F_SETFL, fcntl (STDIN_FILENO, F_GETFL) | O_NONBLOCK);
      rc_loadgen_watch_fd (lg, STDIN_FILENO, on_stdin, &app);
    }
  rc_loadgen_set_ws_target (lg, (guint) MAX (guests, 0));
  rc_loadgen_set_http_target (lg, (guint) MAX (listeners, 0));
  rc_loadgen_run (lg, duration > 0 ? duration * 1000 : -1);
  print_window (&app, "window");
  the_loadgen = NULL;
  g_string_free (app.line, TRUE);
  g_free (server);
  g_free (room);
  g_free (http_url);
  g_free (prefix);
  g_free (transport);
  g_free (janus);
  return 0;
}

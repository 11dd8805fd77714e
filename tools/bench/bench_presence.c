/* SPDX-License-Identifier: MIT */
/*
 * bench-presence: what filling a room costs the server's main thread, and
 * what each join costs the guests already in it. Why it exists: presence
 * used to send the whole participant list to every guest on every join
 * (41 ms of main-thread CPU per join at 200-300 guests, 3.4 MB of JSON per
 * join at 250, docs/benchmarks.md); this measures the same window with
 * nothing but WebSocket guests joining, so a server from before and after
 * the change can be compared in one command each.
 *
 * The main thread's CPU time is read from /proc/PID/task/PID/schedstat
 * (nanoseconds) before and after the guests from --from to --guests join,
 * in batches of --batch (each batch waits for every initialState). The
 * first guest counts every message and byte it receives in that window.
 */
#include "rc_bench_proc.h"
#include "rc_bench_server.h"

#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  SoupWebsocketConnection *conn;
  gboolean joined;
  gboolean failed;
  guint64 messages, bytes; /* received */
} Guest;

typedef struct
{
  const char *room_id;
  guint index;
} JoinData;

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  Guest *g = data;
  gsize size;
  const char *text = g_bytes_get_data (message, &size);

  g->messages++;
  g->bytes += size;
  if (!g->joined && type == SOUP_WEBSOCKET_DATA_TEXT && g_strstr_len (text, size, "\"initialState\""))
    g->joined = TRUE;
}

typedef struct
{
  Guest *guest;
  char *join;
} Pending;

static void
on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Pending *p = data;
  g_autoptr (GError) error = NULL;

  p->guest->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (p->guest->conn == NULL)
    {
      g_printerr ("bench-presence: a guest could not connect: %s\n", error->message);
      p->guest->failed = TRUE;
    }
  else
    {
      soup_websocket_connection_set_max_incoming_payload_size (p->guest->conn, 0);
      g_signal_connect (p->guest->conn, "message", G_CALLBACK (on_message), p->guest);
      soup_websocket_connection_send_text (p->guest->conn, p->join);
    }
  g_free (p->join);
  g_free (p);
}

typedef struct
{
  Guest *guests;
  guint from, to;
} Batch;

static gboolean
batch_done (gpointer data)
{
  Batch *b = data;

  for (guint i = b->from; i < b->to; i++)
    if (!b->guests[i].joined && !b->guests[i].failed)
      return FALSE;
  return TRUE;
}

int
main (int argc, char **argv)
{
  const char *roomcast = "build/roomcast";
  gint guests_n = 300, from = 200, batch = 10;
  GOptionEntry entries[] = {
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &roomcast, "The server binary", "PATH" },
    { "guests", 0, 0, G_OPTION_ARG_INT, &guests_n, "Guests to join (300)", "N" },
    { "from", 0, 0, G_OPTION_ARG_INT, &from, "Measure the joins from this many guests (200)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Guests joining at once (10)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) options = g_option_context_new ("- main-thread CPU per join");
  g_autoptr (GError) error = NULL;
  const char *const args[] = { "--max-guests", "100000", "--rate-limit", "0", NULL };
  g_autoptr (SoupSession) session = NULL;
  g_autofree char *room_id = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *ws_url = NULL;
  g_autofree Guest *guests = NULL;
  RcBenchServer *server;
  GPid pid;
  guint64 cpu_from = 0, messages_from = 0, bytes_from = 0;
  gint64 wall_from = 0;
  double load[3] = { 0 };
  FILE *loadavg;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || from < 1 || from >= guests_n
      || batch < 1)
    {
      g_printerr ("bench-presence: %s\n", error ? error->message : "need 1 <= --from < --guests");
      return 2;
    }
  rc_bench_catch_signals ();
  server = rc_bench_server_start (roomcast, args, "/dev/null", &error);
  if (server == NULL || !rc_bench_server_create_room (server, "Presence", &room_id, &owner, &error))
    {
      g_printerr ("bench-presence: %s\n", error->message);
      return 1;
    }
  ws_url = g_strdup_printf ("ws://127.0.0.1:%u/ws", rc_bench_server_get_port (server));
  pid = rc_bench_server_get_pid (server);
  guests = g_new0 (Guest, guests_n);
  session = soup_session_new_with_options ("max-conns", guests_n + 10, "max-conns-per-host",
                                           guests_n + 10, NULL);
  for (gint start = 0; start < guests_n && !rc_bench_interrupted (); start += batch)
    {
      Batch b = { guests, start, MIN (start + batch, guests_n) };

      if (start == from || (start < from && start + batch > from))
        {
          cpu_from = rc_bench_thread_cpu_ns (pid, pid);
          wall_from = g_get_monotonic_time ();
          messages_from = guests[0].messages;
          bytes_from = guests[0].bytes;
        }
      for (guint i = b.from; i < b.to; i++)
        {
          g_autoptr (SoupMessage) msg = soup_message_new ("GET", ws_url);
          Pending *p = g_new0 (Pending, 1);

          p->guest = &guests[i];
          p->join = g_strdup_printf ("{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"Guest %u\"}",
                                     room_id, i);
          soup_session_websocket_connect_async (session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                                on_connected, p);
        }
      if (!rc_bench_wait (batch_done, &b, 60000))
        {
          g_printerr ("bench-presence: guests %u-%u did not join within 60 s\n", b.from, b.to);
          return 1;
        }
      rc_bench_progress ("%u guests in", b.to);
    }
  {
    guint64 cpu = rc_bench_thread_cpu_ns (pid, pid) - cpu_from;
    guint joins = (guint) (guests_n - from);
    double wall = (g_get_monotonic_time () - wall_from) / 1e6;

    if ((loadavg = fopen ("/proc/loadavg", "r")) != NULL)
      {
        if (fscanf (loadavg, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
          load[0] = load[1] = load[2] = -1;
        fclose (loadavg);
      }
    printf ("\nguests %d, measured joins %d-%d (batches of %d), load average %.2f %.2f %.2f\n",
            guests_n, from, guests_n, batch, load[0], load[1], load[2]);
    printf ("main-thread CPU per join: %.2f ms (%.1f ms for %u joins in %.1f s)\n",
            cpu / 1e6 / joins, cpu / 1e6, joins, wall);
    printf ("the first guest received per join: %.1f messages, %.0f bytes\n",
            (double) (guests[0].messages - messages_from) / joins,
            (double) (guests[0].bytes - bytes_from) / joins);
  }
  for (gint i = 0; i < guests_n; i++)
    g_clear_object (&guests[i].conn);
  rc_bench_server_free (server);
  return 0;
}

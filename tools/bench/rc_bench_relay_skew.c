/* SPDX-License-Identifier: MIT */
/*
 * bench-relay --skew: native guests on two nodes of a cluster, one of them
 * an edge of the room, read from what they rendered (docs/benchmarks.md,
 * "The media relay between nodes"). Why it exists: the target is
 * that a guest of an edge is no further from a guest of the origin than
 * two guests of one node are from each other; only recordings, compared
 * click by click, show it. The guests are roomcast-guest processes, each
 * with its own network clock of the origin's clock (initialState names
 * the origin's host), as on separate machines.
 */
#include "rc_bench_relay_skew.h"
#include "rc_bench_proc.h"
#include "pipelines/rc_stats.h"
#include "tools/native-guest/rc_recording.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>

typedef struct
{
  char *name;
  char *wav;
  RcBenchNative *native;
} Listener;

static void
listener_clear (Listener *l)
{
  g_clear_pointer (&l->native, rc_bench_native_free);
  if (l->wav != NULL)
    {
      g_autofree char *json = g_strconcat (l->wav, ".json", NULL);

      g_unlink (l->wav);
      g_unlink (json);
    }
  g_free (l->wav);
  g_free (l->name);
}

static gboolean
all_listening (gpointer data)
{
  GArray *listeners = data;

  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *l = &g_array_index (listeners, Listener, i);

      if (rc_bench_native_get_failure (l->native) != NULL)
        return TRUE; /* seen below */
      if (!rc_bench_native_is_listening (l->native))
        return FALSE;
    }
  return TRUE;
}

/* One pair: skew by this machine's clock (what a listener hears), and by
 * the guests' own network clocks (their rendering alone); the difference
 * is the two network clocks' error. */
static void
print_pair (Listener *a, Listener *b, const char *what, double from, double to)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcRecording) ra = rc_recording_load (a->wav, &error);
  g_autoptr (RcRecording) rb = ra != NULL ? rc_recording_load (b->wav, &error) : NULL;
  g_autoptr (GArray) skews = NULL;
  g_autoptr (GArray) rendering = NULL;
  RcSkewStats stats, by_guest;

  if (rb == NULL)
    {
      printf ("| %s | %s | %s | (no recording: %s) | | | | | |\n", what, a->name, b->name,
              error->message);
      return;
    }
  skews = rc_recording_compare (ra, rb, RC_RECORDING_HOST, 0.1, 20, 0.8);
  rc_skew_stats (skews, from, to, &stats);
  rendering = rc_recording_compare (ra, rb, RC_RECORDING_GUEST, 0.1, 20, 0.8);
  rc_skew_stats (rendering, -INFINITY, INFINITY, &by_guest);
  printf ("| %s | %s | %s | %u | %+.3f | %.3f | %.3f | %.3f | %+.3f |\n", what, a->name, b->name,
          stats.n, stats.mean, stats.p50, stats.p95, stats.max, by_guest.mean);
}

/* A listener's network clock less this machine's (the server's) clock
 * while recording (@from to @to, ms on this machine's clock): its mean and
 * its spread, read from the sidecar's offsets once a second. */
static void
print_clock (Listener *l, double from, double to)
{
  g_autoptr (RcRecording) r = rc_recording_load (l->wav, NULL);
  g_autoptr (GArray) errors = g_array_new (FALSE, FALSE, sizeof (double));
  double sum = 0, first, last;

  if (r == NULL || rc_recording_get_length (r) == 0)
    return;
  first = MAX (0, rc_recording_index_of (r, from, RC_RECORDING_HOST));
  last = MIN (rc_recording_get_length (r), rc_recording_index_of (r, to, RC_RECORDING_HOST));
  for (double i = first; i < last; i += rc_recording_get_rate (r))
    {
      double e = rc_recording_time_of (r, i, RC_RECORDING_GUEST)
                 - rc_recording_time_of (r, i, RC_RECORDING_HOST);

      g_array_append_val (errors, e);
      sum += e;
    }
  if (errors->len == 0)
    return;
  printf ("| %s | %+.3f | %.3f | %.3f |\n", l->name, sum / errors->len,
          rc_percentile (errors, 0.05), rc_percentile (errors, 0.95));
}

int
rc_bench_relay_skew_run (RcBenchServer *origin, RcBenchServer *edge, const char *room_id,
                         const char *owner_token, const char *guest_program, const char *dir,
                         guint pairs, double seconds)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) songs = rc_bench_server_wait_library (origin, 1, 60, &error);
  g_autoptr (RcBenchControl) control = NULL;
  g_autoptr (GArray) listeners = g_array_new (FALSE, TRUE, sizeof (Listener));
  g_autofree char *machine = NULL;
  g_autofree char *load = NULL;
  double from, to;
  int status = 1;

  g_array_set_clear_func (listeners, (GDestroyNotify)listener_clear);
  if (songs == NULL)
    {
      g_printerr ("bench-relay: %s\n", error->message);
      return 1;
    }
  control = rc_bench_control_new (origin, room_id, owner_token, NULL, NULL);
  if (!rc_bench_control_wait_joined (control, 10000, &error))
    {
      g_printerr ("bench-relay: %s\n", error->message);
      return 1;
    }
  rc_bench_control_send (
      control, "{\"type\":\"addSong\",\"songId\":\"%s\"}",
      json_object_get_string_member (json_array_get_object_element (songs, 0), "id"));
  g_array_set_size (listeners, 2 * pairs);
  for (guint i = 0; i < 2 * pairs; i++)
    {
      Listener *l = &g_array_index (listeners, Listener, i);
      RcBenchServer *node = i < pairs ? origin : edge;
      RcBenchNativeOptions options = {
        .guest = guest_program,
        .server_url = rc_bench_server_get_url (node),
        .room_id = room_id,
        .transport = "ws",
      };

      l->name = g_strdup_printf ("%s%u", i < pairs ? "origin" : "edge", i % pairs);
      l->wav = g_strdup_printf ("%s/%s.wav", dir, l->name);
      options.name = l->name;
      options.record_path = l->wav;
      l->native = rc_bench_native_spawn (&options, &error);
      if (l->native == NULL)
        {
          g_printerr ("bench-relay: %s\n", error->message);
          return 1;
        }
    }
  rc_bench_progress ("%u native guests on each node, waiting for their audio", pairs);
  rc_bench_wait (all_listening, listeners, 60000);
  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *l = &g_array_index (listeners, Listener, i);

      if (!rc_bench_native_is_listening (l->native))
        {
          g_printerr ("bench-relay: %s does not listen: %s\n", l->name,
                      rc_bench_native_get_failure (l->native)
                          ? rc_bench_native_get_failure (l->native)
                          : rc_bench_native_get_last_line (l->native));
          return 1;
        }
    }
  rc_bench_wait (NULL, NULL, 5000); /* settle */
  rc_bench_progress ("recording %.0f s", seconds);
  from = g_get_monotonic_time () / 1000.0;
  rc_bench_wait (NULL, NULL, seconds * 1000);
  to = g_get_monotonic_time () / 1000.0;
  for (guint i = 0; i < listeners->len; i++)
    rc_bench_native_stop (g_array_index (listeners, Listener, i).native, 5);

  machine = rc_bench_machine_describe ();
  load = rc_bench_loadavg ();
  printf ("bench-relay --skew: Redis and two nodes on 127.0.0.1, %u WebSocket native guests on "
          "each, %.0f s; %s; load average %s\n",
          pairs, seconds, machine, load);
  printf ("| pair | A | B | clicks | mean ms | abs p50 | abs p95 | abs max "
          "| mean, guest clocks |\n");
  printf ("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (guint i = 0; i < pairs; i++)
    print_pair (&g_array_index (listeners, Listener, i),
                &g_array_index (listeners, Listener, pairs + i), "origin vs edge", from, to);
  for (guint i = 1; i < pairs; i++)
    print_pair (&g_array_index (listeners, Listener, 0), &g_array_index (listeners, Listener, i),
                "origin vs origin", from, to);
  for (guint i = 1; i < pairs; i++)
    print_pair (&g_array_index (listeners, Listener, pairs),
                &g_array_index (listeners, Listener, pairs + i), "edge vs edge", from, to);
  printf ("\n| guest | its network clock ahead of the server's, mean ms | p5 | p95 |\n");
  printf ("|---|---:|---:|---:|\n");
  for (guint i = 0; i < listeners->len; i++)
    print_clock (&g_array_index (listeners, Listener, i), from, to);
  status = 0;
  return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * bench-fanout --transport receivers (the default): WebRTC guests held by
 * receiver processes (this program with --receiver, rc_bench_receiver.h),
 * level by level in batches, each level's steady window read from /proc and
 * from the receivers' counts; then the leave cycles (every guest leaves,
 * the server drains). Split from bench_fanout.c, which keeps the options,
 * the server and main.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include "rc_bench_fanout.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- receivers ---- */

static void
window_clear (Window *w)
{
  g_clear_pointer (&w->thread_groups, g_ptr_array_unref);
  g_clear_pointer (&w->client_thread_groups, g_ptr_array_unref);
  memset (w, 0, sizeof *w);
}

static void
on_receiver_line (GObject *source, GAsyncResult *result, gpointer data)
{
  Receiver *r = data;
  g_autoptr (GError) error = NULL;
  char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);

  if (line == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        r->eof = TRUE;
      return;
    }
  g_queue_push_tail (&r->lines, line);
  g_data_input_stream_read_line_async (r->out, G_PRIORITY_DEFAULT, NULL, on_receiver_line, r);
}

/* Takes failure reports out of the queue into the bench's list. */
static void
collect_failures (Bench *b, Receiver *r)
{
  for (GList *l = r->lines.head; l != NULL;)
    {
      GList *next = l->next;
      char *line = l->data;

      if (g_str_has_prefix (line, "fail "))
        {
          b->guest_failure_count++;
          if (b->guest_failures->len < 10)
            g_ptr_array_add (b->guest_failures, g_strdup (line + 5));
          g_free (line);
          g_queue_delete_link (&r->lines, l);
        }
      l = next;
    }
}

typedef struct
{
  Bench *b;
  Receiver *r;
  const char *prefix;
} LineWait;

static gboolean
has_line (gpointer data)
{
  LineWait *w = data;

  collect_failures (w->b, w->r);
  for (GList *l = w->r->lines.head; l != NULL; l = l->next)
    if (g_str_has_prefix (l->data, w->prefix))
      return TRUE;
  return w->r->eof;
}

/* The first reply of @r starting with @prefix (lines before it are
 * dropped), or NULL on timeout or when the receiver is gone. */
static char *
receiver_wait (Bench *b, Receiver *r, const char *prefix, double timeout_ms)
{
  LineWait w = { b, r, prefix };

  if (!rc_bench_wait (has_line, &w, timeout_ms))
    return NULL;
  while (!g_queue_is_empty (&r->lines))
    {
      char *line = g_queue_pop_head (&r->lines);

      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }
  return NULL;
}

static gboolean
receiver_send (Receiver *r, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
receiver_send (Receiver *r, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  return g_output_stream_write_all (r->in, text, strlen (text), NULL, NULL, NULL)
         && g_output_stream_flush (r->in, NULL, NULL);
}

static Receiver *
spawn_receiver (Bench *b, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  Receiver *r = g_new0 (Receiver, 1);
  g_autofree char *late = g_strdup_printf ("%g", b->o->late_ms);
  g_autofree char *timeout = g_strdup_printf ("%u", b->o->join_timeout_s);
  g_autofree char *log = NULL;
  g_autofree char *line = NULL;
  GPtrArray *argv = g_ptr_array_new ();

  r->name = g_strdup_printf ("r%u", b->receivers->len);
  log = g_strdup_printf ("%s/receiver-%s.log", b->tmp_dir, r->name);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, rc_bench_fanout_child_setup, &b->receiver_setup, NULL);
  g_ptr_array_add (argv, b->self_exe);
  g_ptr_array_add (argv, "--receiver");
  g_ptr_array_add (argv, "--server");
  g_ptr_array_add (argv, (gpointer) b->base_url);
  g_ptr_array_add (argv, "--room");
  g_ptr_array_add (argv, b->room_id);
  g_ptr_array_add (argv, "--prefix");
  g_ptr_array_add (argv, r->name);
  g_ptr_array_add (argv, "--late-ms");
  g_ptr_array_add (argv, late);
  g_ptr_array_add (argv, "--join-timeout");
  g_ptr_array_add (argv, timeout);
  if (b->o->native)
    g_ptr_array_add (argv, "--native");
  if (b->o->decode)
    g_ptr_array_add (argv, "--decode");
  g_ptr_array_add (argv, NULL);
  r->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  g_ptr_array_free (argv, TRUE);
  if (r->proc == NULL)
    {
      g_free (r->name);
      g_free (r);
      return NULL;
    }
  r->pid = rc_bench_fanout_pid_of (r->proc);
  r->in = g_subprocess_get_stdin_pipe (r->proc);
  r->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (r->proc));
  g_data_input_stream_read_line_async (r->out, G_PRIORITY_DEFAULT, NULL, on_receiver_line, r);
  g_ptr_array_add (b->receivers, r);
  line = receiver_wait (b, r, "ready", 10000);
  if (line == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "receiver %s did not start (see %s)",
                   r->name, log);
      return NULL;
    }
  return r;
}

static gboolean
receiver_ended (gpointer data)
{
  return ((Receiver *) data)->eof;
}

void
rc_bench_fanout_stop_receivers (Bench *b)
{
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);

      receiver_send (r, "quit\n");
      g_output_stream_close (r->in, NULL, NULL);
    }
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);
      rc_bench_wait (receiver_ended, r, 5000);
      g_subprocess_force_exit (r->proc);
      g_subprocess_wait (r->proc, NULL, NULL);
    }
}

/* ---- measuring ---- */


void
rc_bench_fanout_snap_take (Bench *b, Snap *s, gboolean with_threads)
{
  RcBenchProc p;

  s->at_us = g_get_monotonic_time ();
  rc_bench_proc_read (b->server_pid, &s->server);
  s->threads = with_threads ? rc_bench_threads_read (b->server_pid) : NULL;
  s->client_threads =
    with_threads ? g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free) : NULL;
  s->client_ticks = 0;
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);

      if (rc_bench_proc_read (r->pid, &p))
        s->client_ticks += p.cpu_ticks;
      if (with_threads)
        {
          g_autoptr (GHashTable) t = rc_bench_threads_read (r->pid);
          GHashTableIter iter;
          gpointer key, value;

          g_hash_table_iter_init (&iter, t);
          while (g_hash_table_iter_next (&iter, &key, &value))
            {
              g_hash_table_iter_steal (&iter);
              g_hash_table_insert (s->client_threads, key, value);
            }
        }
    }
  if (rc_bench_proc_read (getpid (), &p))
    s->client_ticks += p.cpu_ticks;
  rc_bench_machine_read (&s->machine_busy, &s->machine_total);
  rc_bench_udp_read (&s->udp);
}

static void
snap_clear (Snap *s)
{
  g_clear_pointer (&s->threads, g_hash_table_unref);
  g_clear_pointer (&s->client_threads, g_hash_table_unref);
}

/* Percent of one core over the span between two snaps. */
double
rc_bench_fanout_pct (guint64 ticks, const Snap *a, const Snap *z)
{
  double wall = (z->at_us - a->at_us) / 1e6;

  return wall > 0 ? 100.0 * rc_bench_ticks_to_s (ticks) / wall : 0;
}

gboolean
rc_bench_fanout_server_alive (Bench *b)
{
  return !rc_bench_server_has_exited (b->server);
}

/* The next reply of @r (failure reports aside), or NULL. */
static char *
receiver_next (Bench *b, Receiver *r, double timeout_ms)
{
  return receiver_wait (b, r, "", timeout_ms);
}

/* Collects every receiver's per-guest figures into @level. All are asked
 * at once, so that their windows end together. */
static void
gather_stats (Bench *b, Window *w)
{
  double lost_sum = 0, late_sum = 0, pkts_sum = 0, due_sum = 0;
  guint guests = 0;

  for (guint i = 0; i < b->receivers->len; i++)
    receiver_send (g_ptr_array_index (b->receivers, i), "stats\n");
  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);
      guint here = 0;
      char *line;

      while ((line = receiver_next (b, r, 30000)) != NULL)
        {
          g_auto (GStrv) f = g_strsplit (line, " ", -1);

          g_free (line);
          if (g_str_equal (f[0], "end"))
            {
              double window_us = f[1] != NULL ? g_ascii_strtod (f[1], NULL) : 0;

              due_sum += here * window_us / 20000.0;
              break;
            }
          if (g_strv_length (f) != 8 || !g_str_equal (f[0], "g"))
            continue;
          {
            guint64 pkts = g_ascii_strtoull (f[3], NULL, 10);
            guint64 lost = g_ascii_strtoull (f[4], NULL, 10);
            gint64 late = g_ascii_strtoll (f[5], NULL, 10);
            gint64 gap = g_ascii_strtoll (f[6], NULL, 10);
            gint64 max_late = g_ascii_strtoll (f[7], NULL, 10);

            here++;
            if (g_str_equal (f[2], "failed"))
              w->failed++;
            else if (pkts == 0)
              w->waiting++;
            if (pkts == 0)
              continue;
            w->with_audio++;
            pkts_sum += (double) pkts;
            lost_sum += (double) lost;
            w->lost_max = MAX (w->lost_max, lost);
            w->lost_guests += lost > 0;
            if (late >= 0)
              {
                late_sum += (double) late;
                w->late_max = MAX (w->late_max, (guint64) late);
                w->late_guests += late > 0;
              }
            w->worst_gap_ms = MAX (w->worst_gap_ms, gap / 1000.0);
            w->worst_late_ms = MAX (w->worst_late_ms, max_late / 1000.0);
          }
        }
      guests += here;
    }
  if (guests > 0)
    w->expected_per_guest = due_sum / guests;
  if (due_sum > 0)
    w->delivered_pct = 100.0 * pkts_sum / due_sum;
  if (w->with_audio > 0)
    {
      w->pkts_mean = pkts_sum / w->with_audio;
      w->lost_mean = lost_sum / w->with_audio;
      w->late_mean = b->o->native ? -1 : late_sum / w->with_audio;
    }
}

static void
send_marks (Bench *b)
{
  for (guint i = 0; i < b->receivers->len; i++)
    receiver_send (g_ptr_array_index (b->receivers, i), "mark\n");
  for (guint i = 0; i < b->receivers->len; i++)
    g_free (receiver_wait (b, g_ptr_array_index (b->receivers, i), "marked", 10000));
}

/* ---- one level ---- */

static Receiver *
least_loaded (Bench *b, GError **error)
{
  Receiver *best = NULL;

  for (guint i = 0; i < b->receivers->len; i++)
    {
      Receiver *r = g_ptr_array_index (b->receivers, i);

      if (r->guests < b->o->per_receiver && (best == NULL || r->guests < best->guests))
        best = r;
    }
  if (best == NULL)
    best = spawn_receiver (b, error);
  return best;
}

/* Adds @count guests as one batch, spread over the receivers; waits for
 * every one to settle. FALSE when the run cannot go on. */
static gboolean
join_batch (Bench *b, Level *level, guint count, GError **error)
{
  g_autoptr (GHashTable) asked = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) share = g_hash_table_new (g_direct_hash, g_direct_equal);
  GHashTableIter iter;
  gpointer key, value;

  /* Who takes how many: fill the least loaded receivers first. */
  for (guint i = 0; i < count; i++)
    {
      Receiver *r = least_loaded (b, error);

      if (r == NULL)
        return FALSE;
      r->guests++;
      g_hash_table_insert (share, r,
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (share, r)) + 1));
    }
  g_hash_table_iter_init (&iter, share);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Receiver *r = key;
      guint n = GPOINTER_TO_UINT (value);

      receiver_send (r, "add %u %u\n", n, r->guests - n);
      g_hash_table_add (asked, r);
    }
  g_hash_table_iter_init (&iter, asked);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Receiver *r = key;
      g_autofree char *line =
        receiver_wait (b, r, "added ", (b->o->join_timeout_s + 15) * 1000.0);
      guint ok = 0, failed = 0, timed_out = 0;
      double sum = 0, max = 0;

      if (line == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       rc_bench_interrupted () ? "interrupted"
                                               : "receiver %s did not answer \"add\"%s",
                       r->name, r->eof ? " (it exited)" : "");
          return FALSE;
        }
      if (sscanf (line, "added %u %u %u %lf %lf", &ok, &failed, &timed_out, &sum, &max) != 5)
        continue;
      level->join_ok += ok;
      level->join_failed += failed;
      level->join_timed_out += timed_out;
      level->setup_sum_ms += sum;
      level->setup_max_ms = MAX (level->setup_max_ms, max);
    }
  b->guests += count;
  return TRUE;
}

void
rc_bench_fanout_note (Level *level, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (level->note == NULL)
    level->note = g_steal_pointer (&text);
  else
    {
      char *joined = g_strdup_printf ("%s; %s", level->note, text);

      g_free (level->note);
      level->note = joined;
    }
}

/* One steady window: marks the receivers, reads the server and the
 * machine before and after, collects the guests' figures. FALSE (with a
 * note) when the run cannot go on. */
static gboolean
measure_window (Bench *b, Level *level, Window *w)
{
  Snap w0 = { 0 }, w1 = { 0 };

  send_marks (b);
  rc_bench_fanout_snap_take (b, &w0, TRUE);
  rc_bench_wait (NULL, NULL, b->o->window_s * 1000);
  rc_bench_fanout_snap_take (b, &w1, TRUE);
  if (rc_bench_interrupted ())
    {
      rc_bench_fanout_note (level, "interrupted during the window: not measured");
      snap_clear (&w0);
      snap_clear (&w1);
      return FALSE;
    }
  if (!rc_bench_fanout_server_alive (b) || !w1.server.ok)
    {
      rc_bench_fanout_note (level, "roomcast exited (status %d) during the window",
            rc_bench_server_get_status (b->server));
      snap_clear (&w0);
      snap_clear (&w1);
      return FALSE;
    }
  w->measured = TRUE;
  w->present = b->guests;
  w->window_s = (w1.at_us - w0.at_us) / 1e6;
  w->server_pct = rc_bench_fanout_pct (w1.server.cpu_ticks - w0.server.cpu_ticks, &w0, &w1);
  w->server_cpu_per_s = w->server_pct / 100.0;
  w->client_pct = rc_bench_fanout_pct (w1.client_ticks - w0.client_ticks, &w0, &w1);
  w->other_pct = rc_bench_fanout_pct (w1.machine_busy - w0.machine_busy, &w0, &w1) - w->server_pct - w->client_pct;
  w->rss_kib = w1.server.rss_kib;
  w->threads = w1.server.threads;
  w->thread_groups = rc_bench_threads_diff (w0.threads, w1.threads);
  w->client_thread_groups = rc_bench_threads_diff (w0.client_threads, w1.client_threads);
  w->udp.in_datagrams = w1.udp.in_datagrams - w0.udp.in_datagrams;
  w->udp.out_datagrams = w1.udp.out_datagrams - w0.udp.out_datagrams;
  w->udp.no_ports = w1.udp.no_ports - w0.udp.no_ports;
  w->udp.in_errors = w1.udp.in_errors - w0.udp.in_errors;
  w->udp.rcvbuf_errors = w1.udp.rcvbuf_errors - w0.udp.rcvbuf_errors;
  w->udp.sndbuf_errors = w1.udp.sndbuf_errors - w0.udp.sndbuf_errors;
  snap_clear (&w0);
  snap_clear (&w1);
  gather_stats (b, w);
  return TRUE;
}

/* Joins up to @n guests and measures. FALSE when the run must stop. */
gboolean
rc_bench_fanout_run_level (Bench *b, Level *level, const Level *previous)
{
  g_autoptr (GError) error = NULL;
  Snap j0 = { 0 }, j1 = { 0 };
  guint to_add = level->n > b->guests ? level->n - b->guests : 0;
  gboolean go_on = TRUE;
  guint failures_before = b->guest_failure_count;

  rc_bench_progress ("N=%u: joining %u guests in batches of %u", level->n, to_add, b->o->batch);
  /* Receivers that this level needs are started before the join is timed. */
  while (b->receivers->len * b->o->per_receiver < level->n)
    if (spawn_receiver (b, &error) == NULL)
      {
        rc_bench_fanout_note (level, "%s", error->message);
        return FALSE;
      }

  rc_bench_fanout_snap_take (b, &j0, TRUE);
  level->added = to_add;
  for (guint done = 0; done < to_add;)
    {
      guint count = MIN (b->o->batch, to_add - done);
      guint bad_before = level->join_failed + level->join_timed_out;

      if (g_get_monotonic_time () > b->deadline_us)
        {
          rc_bench_fanout_note (level, "time budget spent after %u of %u joins", done, to_add);
          go_on = FALSE;
          break;
        }
      if (!join_batch (b, level, count, &error))
        {
          rc_bench_fanout_note (level, "%s", error->message);
          go_on = FALSE;
          break;
        }
      done += count;
      if (!rc_bench_fanout_server_alive (b))
        break;
      /* Most of a batch failing: the server is past what it can take. */
      if ((level->join_failed + level->join_timed_out) - bad_before > count / 2)
        {
          rc_bench_fanout_note (level, "more than half of a batch failed to get audio; joins stopped at %u",
                b->guests);
          go_on = FALSE;
          break;
        }
    }
  rc_bench_fanout_snap_take (b, &j1, TRUE);
  level->join_thread_groups = rc_bench_threads_diff (j0.threads, j1.threads);
  snap_clear (&j0);
  snap_clear (&j1);
  level->join_wall_s = (j1.at_us - j0.at_us) / 1e6;
  level->join_cpu_s = rc_bench_ticks_to_s (j1.server.cpu_ticks - j0.server.cpu_ticks);
  if (level->join_failed + level->join_timed_out > 0)
    rc_bench_fanout_note (level, "%u joins failed, %u timed out (no RTP within %u s)", level->join_failed,
          level->join_timed_out, b->o->join_timeout_s);
  if (!rc_bench_fanout_server_alive (b))
    {
      rc_bench_fanout_note (level, "roomcast exited (status %d) while guests joined",
            rc_bench_server_get_status (b->server));
      return FALSE;
    }
  rc_bench_progress ("N=%u: %u joined with audio in %.1f s; settling %.0f s, measuring %.0f s",
                     level->n, level->join_ok, level->join_wall_s, b->o->settle_s, b->o->window_s);

  rc_bench_wait (NULL, NULL, b->o->settle_s * 1000);
  /* Other people's work shares the machine: a disturbed window is
   * measured again (the guests stay), and the least disturbed one kept. */
  for (guint attempt = 0; attempt <= b->o->retries; attempt++)
    {
      Window w = { 0 };

      if (attempt > 0)
        {
          if (g_get_monotonic_time () > b->deadline_us)
            break;
          rc_bench_wait (NULL, NULL, 5000);
        }
      if (!measure_window (b, level, &w))
        return FALSE;
      if (w.other_pct > DISTURBED_PCT && attempt < b->o->retries)
        rc_bench_progress ("N=%u: other processes took %.0f%% of one core; measuring again",
                           level->n, w.other_pct);
      level->attempts++;
      if (!level->w.measured || w.other_pct < level->w.other_pct)
        {
          window_clear (&level->w);
          level->w = w;
        }
      else
        window_clear (&w);
      if (level->w.other_pct <= DISTURBED_PCT)
        break;
    }
  if (level->w.other_pct > DISTURBED_PCT)
    rc_bench_fanout_note (level, "other processes took %.0f%% of one core during the window (the least of %u "
          "attempts): the figures are disturbed", level->w.other_pct, level->attempts);
  if (b->guest_failure_count > failures_before)
    rc_bench_fanout_note (level, "%u guest failures reported so far (first: %s)", b->guest_failure_count,
          (const char *) g_ptr_array_index (b->guest_failures, 0));
  {
    g_autofree char *late = b->o->native ? g_strdup ("n/a")
                                         : g_strdup_printf ("%.2f", level->w.late_mean);

    rc_bench_progress ("N=%u: server %.1f%% CPU, %.1f MiB, %u threads; %u/%u guests with audio, "
                       "lost %.2f/guest, late %s/guest",
                       level->n, level->w.server_pct, level->w.rss_kib / 1024.0, level->w.threads,
                       level->w.with_audio, b->guests, level->w.lost_mean, late);
  }
  (void) previous;
  return go_on;
}

/* ---- output ---- */

static guint
health_guests (Bench *b)
{
  guint status = 0;
  g_autoptr (JsonNode) reply =
    rc_bench_server_request (b->server, "GET", "/health", NULL, NULL, &status, NULL);

  if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply))
    return G_MAXUINT;
  return (guint) json_object_get_int_member_with_default (json_node_get_object (reply), "guests",
                                                          -1);
}

/* Every guest leaves; the server is read 5 s later. Then, for the next
 * cycle, as many guests join again. A server that gives back what guests
 * took shows the same RSS and threads after every cycle; one that leaks
 * grows by about the same amount each time. */
void
rc_bench_fanout_leave_cycles (Bench *b)
{
  guint count = b->guests;

  for (guint c = 0; c < b->o->leave_cycles && !rc_bench_interrupted () && rc_bench_fanout_server_alive (b); c++)
    {
      Cycle cycle = { .guests = b->guests };

      rc_bench_progress ("cycle %u/%u: %u guests leave; reading the server 5 s later", c + 1,
                         b->o->leave_cycles, b->guests);
      for (guint i = 0; i < b->receivers->len; i++)
        receiver_send (g_ptr_array_index (b->receivers, i), "leave\n");
      for (guint i = 0; i < b->receivers->len; i++)
        {
          Receiver *r = g_ptr_array_index (b->receivers, i);

          g_free (receiver_wait (b, r, "left", 60000));
          r->guests = 0;
        }
      b->guests = 0;
      {
        gint64 left_us = g_get_monotonic_time ();
        RcBenchProc now;

        cycle.drain_s = -1;
        while (rc_bench_fanout_server_alive (b) && !rc_bench_interrupted ()
               && g_get_monotonic_time () - left_us < (gint64) 60 * G_USEC_PER_SEC)
          {
            double since = (g_get_monotonic_time () - left_us) / 1e6;

            if (!rc_bench_proc_read (b->server_pid, &now))
              break;
            {
              gint64 t0 = g_get_monotonic_time ();

              health_guests (b);
              cycle.health_max_ms =
                MAX (cycle.health_max_ms, (g_get_monotonic_time () - t0) / 1000.0);
            }
            if (since >= 5 && cycle.threads_at_5s == 0)
              cycle.threads_at_5s = now.threads;
            if (cycle.drain_s < 0 && now.threads <= b->baseline.threads + 2)
              cycle.drain_s = since;
            if (cycle.drain_s >= 0 && cycle.threads_at_5s > 0)
              break;
            rc_bench_wait (NULL, NULL, 250);
          }
      }
      rc_bench_wait (NULL, NULL, 2000);
      if (!rc_bench_fanout_server_alive (b))
        break;
      rc_bench_proc_read (b->server_pid, &cycle.after);
      cycle.health_guests = health_guests (b);
      g_array_append_val (b->cycles, cycle);
      if (c + 1 < b->o->leave_cycles && g_get_monotonic_time () > b->deadline_us)
        {
          rc_bench_progress ("the time budget is spent: no more leave cycles");
          break;
        }
      if (c + 1 < b->o->leave_cycles)
        {
          Level scratch = { 0 };
          g_autoptr (GError) error = NULL;

          rc_bench_progress ("cycle %u/%u: %u guests join again", c + 2, b->o->leave_cycles, count);
          for (guint done = 0; done < count; done += b->o->batch)
            if (!join_batch (b, &scratch, MIN (b->o->batch, count - done), &error))
              {
                rc_bench_progress ("rejoining failed: %s", error->message);
                return;
              }
          rc_bench_wait (NULL, NULL, b->o->settle_s * 1000);
          g_free (scratch.note);
        }
    }
}


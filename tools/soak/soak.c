/* SPDX-License-Identifier: MIT */
/*
 * soak: a roomcast under a whole event's worth of ordinary use, for a
 * bounded time, and what it looked like afterwards.
 *
 *   soak [--minutes 10] [--guests 200] [--churn 5] [-o FILE]
 *
 * It starts its own redis-server (a free port, a temporary folder) and a
 * roomcast on it (127.0.0.1 only), four demo songs on a looping queue, and
 * then, all at once: a room of steady guests over WebRTC and WebSocket
 * (most light; a few decode and are watched for audio gaps), churning
 * guests joining and leaving every second beside them, chat, skips and
 * seeks from the owner, a WHIP host going on and off air, and a Redis
 * outage in the middle (SIGKILL, restart on the same port and data).
 * Every 30 s it prints the server's RSS, fds and threads (from /proc); at
 * the end their slope after warm-up, the steady guests' largest audio gap,
 * what was done, and every error seen.
 *
 * Why it is built this way:
 * - The guests, the WHIP host and redis live in this process (or its
 *   children) pinned to --guest-cpus, the server to --server-cpus, as the
 *   benchmarks do, so the server's figures are its own.
 * - Everything runs off one main context turned in 20 ms steps; the
 *   schedule is a set of "next time" stamps checked at every step.
 * - It is bounded: it stops itself after --minutes, and an alarm a few
 *   minutes past that ends it whatever happens; every child dies with it
 *   (PR_SET_PDEATHSIG). Report lines go to stdout and, as they come, to -o.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include "rc_soak.h"

#include "tools/bench/rc_bench_proc.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <locale.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *
fold_digits (const char *text)
{
  char *folded = g_strdup (text);

  for (char *p = folded; *p != '\0'; p++)
    if (g_ascii_isdigit (*p))
      *p = '#';
  return folded;
}

/* An error of the run; the first 3 of a shape are kept word for word, the
 * rest counted. */
static void G_GNUC_PRINTF (2, 3)
error_seen (RcSoak *s, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;
  char *shape;
  guint n;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  shape = fold_digits (text);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->error_counts, shape)) + 1;
  g_hash_table_replace (s->error_counts, shape, GUINT_TO_POINTER (n));
  if (n <= 3)
    {
      g_ptr_array_add (s->errors, g_strdup_printf ("[%6.1f s] %s", rc_soak_t_s (s), text));
      rc_bench_progress ("error: %s", text);
    }
}

static void
log_line (RcSoak *s, const char *line)
{
  g_autofree char *shape = fold_digits (line);
  RcSoakLogShape *known = g_hash_table_lookup (s->log_shapes, shape);

  s->log_lines++;
  if (known == NULL)
    {
      known = g_new0 (RcSoakLogShape, 1);
      known->first = g_strdup (line);
      known->first_t_s = rc_soak_t_s (s);
      known->expected = strstr (line, "Redis") != NULL && s->redis_kill_us != 0
                        && g_get_monotonic_time () >= s->redis_kill_us
                        && g_get_monotonic_time () < s->redis_kill_us
                                                       + (REDIS_OUTAGE_S + 15) * G_USEC_PER_SEC;
      g_hash_table_insert (s->log_shapes, g_steal_pointer (&shape), known);
      rc_bench_progress ("server: %s", line);
    }
  known->count++;
  if (!known->expected)
    s->unexpected_log_lines++;
}

/* WARNING and CRITICAL lines; GLib puts a message that begins with a
 * newline (GStreamer's CRITICALs) on the next line: the two make one. */
static void
on_server_line (const char *line, gpointer data)
{
  RcSoak *s = data;

  if (s->log_head != NULL)
    {
      g_autofree char *head = g_steal_pointer (&s->log_head);
      g_autofree char *joined = g_strconcat (head, " ", line, NULL);

      log_line (s, joined);
      return;
    }
  if (strstr (line, "WARNING") == NULL && strstr (line, "CRITICAL") == NULL)
    return;
  if (g_str_has_suffix (line, ": ") || g_str_has_suffix (line, ":"))
    s->log_head = g_strdup (line);
  else
    log_line (s, line);
}

static void
log_shape_free (gpointer data)
{
  RcSoakLogShape *shape = data;

  g_free (shape->first);
  g_free (shape);
}

/* ---- CPUs ---- */

/* "1", "0-1", "0,2": a CPU set; FALSE when it is not one. */
static gboolean
cpu_list_to_set (const char *text, cpu_set_t *set)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);

  CPU_ZERO (set);
  for (guint i = 0; items[i] != NULL; i++)
    {
      unsigned first, last;
      int n = sscanf (items[i], "%u-%u", &first, &last);

      if (n == 1)
        last = first;
      if (n < 1 || first > last || last >= CPU_SETSIZE)
        return FALSE;
      for (unsigned c = first; c <= last; c++)
        CPU_SET (c, set);
    }
  return CPU_COUNT (set) > 0;
}

static cpu_set_t server_cpus;
static gboolean pin_server;

static void
pin_child (gpointer data)
{
  if (pin_server && sched_setaffinity (0, sizeof server_cpus, &server_cpus) != 0)
    _exit (127);
}

/* ---- the server's figures ---- */

static guint
count_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static guint
guests_present (RcSoak *s)
{
  return s->steady->len + s->churn->len;
}

static void
report_sample (RcSoak *s)
{
  RcSoakSample sample = { .t_s = rc_soak_t_s (s) };
  RcBenchProc proc;
  GPid pid = rc_bench_server_get_pid (s->server);

  if (!rc_bench_proc_read (pid, &proc))
    return;
  {
    RcBenchProc self;
    guint64 busy = 0, total = 0;

    rc_bench_proc_read (getpid (), &self);
    rc_bench_machine_read (&busy, &total);
    if (s->machine_total != 0 && total > s->machine_total)
      {
        double cores = sysconf (_SC_NPROCESSORS_ONLN), span = (total - s->machine_total) / cores;

        sample.server_pct = 100.0 * (proc.cpu_ticks - s->server_ticks) / span;
        sample.soak_pct = 100.0 * (self.cpu_ticks - s->soak_ticks) / span;
        sample.machine_pct = 100.0 * (busy - s->machine_busy) / span;
      }
    s->server_ticks = proc.cpu_ticks;
    s->soak_ticks = self.cpu_ticks;
    s->machine_busy = busy;
    s->machine_total = total;
    sample.soak_stall_ms = s->stall_us / 1e3;
    s->stall_us = 0;
  }
  sample.rss_kib = proc.rss_kib;
  sample.threads = proc.threads;
  sample.fds = count_fds (pid);
  sample.guests = guests_present (s);
  for (guint i = 0; i < s->steady->len; i++)
    {
      RcSoakGuestFigures f;
      guint64 *before = &g_array_index (s->steady_units, guint64, i);

      rc_soak_guest_get_figures (g_ptr_array_index (s->steady, i), &f);
      if (f.audio)
        sample.with_audio++;
      if (s->samples->len > 0 && f.units == *before && f.audio)
        error_seen (s, "steady guest %s received nothing for %u s",
                    rc_soak_guest_get_name (g_ptr_array_index (s->steady, i)), s->o->report_s);
      *before = f.units;
    }
  g_array_append_val (s->samples, sample);
  rc_soak_say (s, "| %5.0f | %7.1f | %5u | %5u | %4u | %4u | %5u | %5u | %4u | %4u | %4.0f | %4.0f | %4.0f | %5.0f |\n",
       sample.t_s, sample.rss_kib / 1024.0, sample.fds, sample.threads, sample.guests,
       sample.with_audio, s->joins, s->leaves, s->chats, s->skips + s->seeks, sample.server_pct,
       sample.soak_pct, sample.machine_pct, sample.soak_stall_ms);
}

/* ---- guests ---- */


static RcSoakGuest *
guest_join (RcSoak *s, RcSoakGuestKind kind, const char *prefix)
{
  g_autofree char *name = g_strdup_printf ("%s%u", prefix, ++s->serial);

  s->joins++;
  return rc_soak_guest_new (kind, s->server, s->room_id, name, s->session);
}

static void
guest_leave (RcSoak *s, RcSoakGuest *guest)
{
  s->leaves++;
  rc_soak_guest_free (guest);
}

static void
collect_errors (RcSoak *s, RcSoakGuest *guest)
{
  g_autoptr (GPtrArray) errors = rc_soak_guest_take_errors (guest);

  for (guint i = 0; errors != NULL && i < errors->len; i++)
    error_seen (s, "guest %s got error %s", rc_soak_guest_get_name (guest),
                (char *) g_ptr_array_index (errors, i));
}

/* The steady kinds, in order: the decoders first, then light WebRTC and
 * light WebSocket guests alternately. */
/* Light guests are WebRTC for @webrtc_pct of @i (Bresenham-like spread). */
static RcSoakGuestKind
light_kind (guint i, guint webrtc_pct)
{
  return (i + 1) * webrtc_pct / 100 > i * webrtc_pct / 100 ? RC_SOAK_GUEST_WEBRTC
                                                            : RC_SOAK_GUEST_WS;
}

static RcSoakGuestKind
steady_kind (guint i, guint webrtc_pct)
{
  if (i < STEADY_DECODE_WEBRTC)
    return RC_SOAK_GUEST_WEBRTC_DECODE;
  if (i < STEADY_DECODE_WEBRTC + STEADY_DECODE_WS)
    return RC_SOAK_GUEST_WS_PLAYOUT;
  return light_kind (i, webrtc_pct);
}

static gboolean
steady_all_heard (gpointer data)
{
  RcSoak *s = data;

  for (guint i = 0; i < s->steady->len; i++)
    {
      RcSoakGuest *guest = g_ptr_array_index (s->steady, i);
      RcSoakGuestFigures f;

      rc_soak_guest_get_figures (guest, &f);
      if (!f.audio && rc_soak_guest_get_failure (guest) == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Joins the steady guests ten at a time, each ten given up to 30 s to hear
 * something, so a join is not timed out by the ones queued before it. */
static void
steady_join_all (RcSoak *s)
{
  for (guint i = 0; i < s->o->guests && !rc_bench_interrupted (); i++)
    {
      guint64 zero = 0;

      g_ptr_array_add (s->steady, guest_join (s, steady_kind (i, s->o->webrtc_pct), "steady-"));
      g_array_append_val (s->steady_units, zero);
      if ((i + 1) % 10 == 0 || i + 1 == s->o->guests)
        rc_bench_wait (steady_all_heard, s, 30000);
    }
  for (guint i = 0; i < s->steady->len; i++)
    {
      RcSoakGuest *guest = g_ptr_array_index (s->steady, i);
      RcSoakGuestFigures f;

      rc_soak_guest_get_figures (guest, &f);
      if (!f.audio)
        error_seen (s, "steady guest %s never got audio (%s)", rc_soak_guest_get_name (guest),
                    rc_soak_guest_get_failure (guest) != NULL ? rc_soak_guest_get_failure (guest)
                                                              : "no failure said");
    }
}

/* A steady guest that failed is reported and replaced, so the room stays
 * as full as asked. */
static void
steady_check (RcSoak *s)
{
  for (guint i = 0; i < s->steady->len; i++)
    {
      RcSoakGuest *guest = g_ptr_array_index (s->steady, i);
      const char *failure = rc_soak_guest_get_failure (guest);

      collect_errors (s, guest);
      if (failure == NULL)
        continue;
      error_seen (s, "steady guest %s failed: %s", rc_soak_guest_get_name (guest), failure);
      g_ptr_array_index (s->steady, i) = guest_join (s, rc_soak_guest_get_kind (guest), "steady-");
      g_array_index (s->steady_units, guint64, i) = 0;
      guest_leave (s, guest);
      s->steady_rejoins++;
    }
}

/* Churning guests leave CHURN_HOLD_S after their audio came, or give up
 * after CHURN_GIVE_UP_S (an error: they never got audio). */
static void
churn_step (RcSoak *s, gint64 now)
{
  for (guint i = 0; i < s->churn->len;)
    {
      RcSoakGuest *guest = g_ptr_array_index (s->churn, i);
      RcSoakGuestFigures f;
      double age_s = (now - rc_soak_guest_get_started_us (guest)) / 1e6;
      const char *failure = rc_soak_guest_get_failure (guest);

      rc_soak_guest_get_figures (guest, &f);
      collect_errors (s, guest);
      if (f.audio && age_s < CHURN_HOLD_S && failure == NULL)
        {
          i++;
          continue;
        }
      if (!f.audio && failure == NULL && age_s < CHURN_GIVE_UP_S)
        {
          i++;
          continue;
        }
      if (!f.audio)
        error_seen (s, "churning guest %s (%s) never got audio in %.0f s (%s)",
                    rc_soak_guest_get_name (guest), rc_soak_kind_name (rc_soak_guest_get_kind (guest)), age_s,
                    failure != NULL ? failure : "no failure said");
      else if (failure != NULL)
        error_seen (s, "churning guest %s (%s) failed: %s", rc_soak_guest_get_name (guest),
                    rc_soak_kind_name (rc_soak_guest_get_kind (guest)), failure);
      g_ptr_array_remove_index_fast (s->churn, i);
      guest_leave (s, guest);
    }
  if (s->o->churn > 0 && now >= s->next_churn_us)
    {
      RcSoakGuestKind kind = light_kind (s->joins, s->o->webrtc_pct);

      g_ptr_array_add (s->churn, guest_join (s, kind, "churn-"));
      s->next_churn_us += G_USEC_PER_SEC / s->o->churn;
    }
}

/* A chat from a steady light guest, in turn. */
static void
chat_step (RcSoak *s)
{
  guint first = STEADY_DECODE_WEBRTC + STEADY_DECODE_WS;
  guint n = s->steady->len > first ? s->steady->len - first : 0;
  g_autofree char *json = NULL;
  RcSoakGuest *guest;

  if (n == 0)
    return;
  guest = g_ptr_array_index (s->steady, first + s->chats % n);
  json = g_strdup_printf ("{\"type\":\"chat\",\"id\":\"chat-%u\",\"text\":\"soak chat %u\"}",
                          s->chats, s->chats);
  if (rc_soak_guest_send (guest, json))
    s->chats++;
}

/* ---- the owner: queue, skips, seeks ---- */

static void
on_control_message (JsonObject *message, gpointer data)
{
  RcSoak *s = data;
  const char *type = json_object_get_string_member_with_default (message, "type", "");

  if (g_str_equal (type, "notification")
      && g_str_equal (json_object_get_string_member_with_default (message, "kind", ""), "live"))
    rc_bench_progress ("the room says: %s",
                       json_object_get_string_member_with_default (message, "text", "?"));
  else if (g_str_equal (type, "error"))
    error_seen (s, "the owner's request %s got error %" G_GINT64_FORMAT " %s",
                json_object_has_member (message, "id")
                  ? json_object_get_string_member_with_default (message, "id", "?")
                  : "(no id)",
                json_object_get_int_member_with_default (message, "code", 0),
                json_object_get_string_member_with_default (message, "message", "?"));
}

static gboolean
start_room (RcSoak *s, GError **error)
{
  g_autoptr (JsonArray) songs = NULL;
  const char *only[] = { "notification", NULL };

  songs = rc_bench_server_wait_library (s->server, 4, 30, error);
  if (songs == NULL
      || !rc_bench_server_create_room (s->server, "soak", &s->room_id, &s->owner_token, error)
      || (s->key = rc_bench_server_create_key (s->server, s->room_id, s->owner_token, error))
           == NULL)
    return FALSE;
  s->control = rc_bench_control_new (s->server, s->room_id, s->owner_token, on_control_message, s);
  rc_bench_control_only (s->control, only);
  if (!rc_bench_control_wait_joined (s->control, 10000, error))
    return FALSE;
  s->songs = json_array_get_length (songs);
  for (guint i = 0; i < s->songs; i++)
    rc_bench_control_send (
      s->control, "{\"type\":\"addSong\",\"id\":\"add-%u\",\"songId\":\"%s\"}", i,
      json_object_get_string_member (json_array_get_object_element (songs, i), "id"));
  rc_bench_control_send (s->control, "{\"type\":\"setLoop\",\"id\":\"loop\",\"mode\":\"queue\"}");
  rc_bench_control_send (s->control, "{\"type\":\"play\",\"id\":\"play\"}");
  return TRUE;
}

static void
owner_step (RcSoak *s, gint64 now)
{
  if (now >= s->next_skip_us)
    {
      rc_bench_progress ("skip");
      rc_bench_control_send (s->control, "{\"type\":\"skip\",\"id\":\"skip-%u\"}", s->skips++);
      s->next_skip_us += SKIP_EVERY_MS * 1000;
    }
  if (now >= s->next_seek_us)
    {
      /* The demo songs are 20 s long. */
      guint position = 1 + g_random_int_range (0, 15);

      rc_bench_progress ("seek to %u s", position);
      rc_bench_control_send (s->control,
                             "{\"type\":\"seek\",\"id\":\"seek-%u\",\"position\":%u}",
                             s->seeks, position);
      s->seeks++;
      s->next_seek_us += SEEK_EVERY_MS * 1000;
    }
}

/* ---- the WHIP host and the Redis outage ---- */

static void
whip_step (RcSoak *s, gint64 now)
{
  if (now < s->next_whip_us)
    return;
  if (s->whip == NULL)
    {
      RcWhipHostOptions options = {
        .base_url = rc_bench_server_get_url (s->server),
        .room_id = s->room_id,
        .key = s->key,
        .freq = 880,
      };
      guint status;

      rc_bench_progress ("WHIP host: on air");
      s->whip = rc_whip_host_new (&options);
      status = rc_whip_host_wait_answer (s->whip, 15000);
      s->whip_on++;
      if (status != 201)
        error_seen (s, "the WHIP host's POST got %u (%s)", status,
                    rc_whip_host_get_failure (s->whip) != NULL ? rc_whip_host_get_failure (s->whip)
                                                               : "no failure said");
      s->next_whip_us = now + WHIP_ON_AIR_S * G_USEC_PER_SEC;
      return;
    }
  if (!rc_whip_host_is_connected (s->whip))
    error_seen (s, "the WHIP host never connected (%s)",
                rc_whip_host_get_failure (s->whip) != NULL ? rc_whip_host_get_failure (s->whip)
                                                           : "no failure said");
  if (rc_whip_host_get_location (s->whip) != NULL)
    {
      guint status = rc_whip_host_delete (s->whip, NULL);

      if (status != 200)
        error_seen (s, "the WHIP host's DELETE got %u", status);
    }
  g_clear_pointer (&s->whip, rc_whip_host_free);
  rc_bench_progress ("WHIP host: off air");
  s->whip_off++;
  s->next_whip_us = now + (WHIP_PERIOD_S - WHIP_ON_AIR_S) * G_USEC_PER_SEC;
}

/* The outage: SIGKILL at half time, a restart REDIS_OUTAGE_S later, then a
 * PING at every step until it answers (nothing here blocks the guests). */
static void
redis_step (RcSoak *s, gint64 now)
{
  g_autoptr (GError) error = NULL;

  if (s->redis_state == REDIS_UP && now >= s->redis_kill_us)
    {
      rc_bench_progress ("Redis: SIGKILL (an outage of %d s)", REDIS_OUTAGE_S);
      rc_soak_redis_kill (s->redis);
      s->redis_state = REDIS_DOWN;
      s->redis_back_us = now + REDIS_OUTAGE_S * G_USEC_PER_SEC;
    }
  else if (s->redis_state == REDIS_DOWN && now >= s->redis_back_us)
    {
      if (!rc_soak_redis_respawn (s->redis, &error))
        {
          error_seen (s, "Redis could not be started again: %s", error->message);
          s->redis_state = REDIS_DONE;
          return;
        }
      s->redis_state = REDIS_STARTING;
      s->redis_restarts++;
    }
  else if (s->redis_state == REDIS_STARTING && now >= s->redis_back_us + 100000)
    {
      s->redis_back_us = now;
      if (rc_soak_redis_answers (s->redis))
        {
          rc_bench_progress ("Redis: back on the same port and data");
          s->redis_state = REDIS_DONE;
        }
      else if (now > s->redis_kill_us + (REDIS_OUTAGE_S + 30) * G_USEC_PER_SEC)
        {
          error_seen (s, "Redis did not answer within 30 s of its restart");
          s->redis_state = REDIS_DONE;
        }
    }
}

/* ---- the watchdog ---- */

static void
on_health (GObject *source, GAsyncResult *result, gpointer data)
{
  RcSoak *s = data;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               NULL);

  s->health_in_flight = FALSE;
  if (body != NULL)
    s->health_ok_us = g_get_monotonic_time ();
}

/* Every thread's stack of the stuck server (gdb, when it is installed),
 * into the kept folder; the report names the file. */
static void
dump_stacks (RcSoak *s, GPid pid)
{
  g_autofree char *gdb = g_find_program_in_path ("gdb");
  g_autofree char *pid_text = g_strdup_printf ("%d", (int) pid);
  g_autofree char *out = NULL;
  const char *argv[] = { gdb, "-batch", "-p", pid_text, "-ex", "thread apply all bt", NULL };

  if (gdb == NULL)
    return;
  s->stacks_path = g_build_filename (s->tmp_dir, "roomcast-stacks.txt", NULL);
  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                    NULL, NULL, NULL)
      && out != NULL)
    g_file_set_contents (s->stacks_path, out, -1, NULL);
  rc_bench_progress ("the stuck server's stacks: %s", s->stacks_path);
}

static void
health_step (RcSoak *s, gint64 now)
{
  gint64 silent_us = now - MAX (s->health_ok_us, s->t0_us);

  if (!s->hang_reported && silent_us > HANG_S * G_USEC_PER_SEC)
    {
      error_seen (s, "roomcast did not answer GET /health for %.0f s: its main loop is stuck",
                  silent_us / 1e6);
      s->hang_reported = TRUE;
      dump_stacks (s, rc_bench_server_get_pid (s->server));
    }
  if (!s->health_in_flight && now >= s->next_health_us)
    {
      g_autofree char *url = g_strconcat (rc_bench_server_get_url (s->server), "/health", NULL);
      g_autoptr (SoupMessage) message = soup_message_new ("GET", url);

      s->health_in_flight = TRUE;
      s->next_health_us = now + HEALTH_EVERY_S * G_USEC_PER_SEC;
      soup_session_send_and_read_async (s->health_session, message, G_PRIORITY_DEFAULT, NULL,
                                        on_health, s);
    }
}

/* ---- the run ---- */

static void
run (RcSoak *s)
{
  gint64 now = g_get_monotonic_time ();
  double span_s = (s->end_us - now) / 1e6;

  s->next_churn_us = s->next_chat_us = s->next_sample_us = now;
  s->next_seek_us = now + SEEK_EVERY_MS * 1000;
  s->next_skip_us = now + SKIP_EVERY_MS * 1000;
  s->next_report_us = now;
  s->next_whip_us = now + 15 * G_USEC_PER_SEC;
  s->redis_kill_us = (s->t0_us + s->end_us) / 2;
  /* Warm-up: a fifth of the run after the steady guests joined, 1 to 5 minutes. */
  s->warm_us = now + (gint64) (CLAMP (span_s / 5, 60, 300) * G_USEC_PER_SEC);
  if (s->warm_us > s->end_us - 60 * G_USEC_PER_SEC)
    s->warm_us = now + (gint64) (span_s / 3 * G_USEC_PER_SEC);
  rc_soak_say (s, "\n| t (s) | RSS (MiB) | fds | threads | guests | steady with audio | joins | leaves "
          "| chats | skips+seeks | server CPU %% | soak CPU %% | machine CPU %% | soak stall (ms) |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  while (!rc_bench_interrupted () && (now = g_get_monotonic_time ()) < s->end_us)
    {
      if (s->last_step_us != 0)
        {
          s->stall_us = MAX (s->stall_us, now - s->last_step_us);
          if (s->warmed)
            s->stall_after_warm_us = MAX (s->stall_after_warm_us, now - s->last_step_us);
        }
      s->last_step_us = now;
      if (rc_bench_server_has_exited (s->server))
        {
          error_seen (s, "roomcast exited (status %d)", rc_bench_server_get_status (s->server));
          return;
        }
      if (now >= s->next_sample_us)
        {
          for (guint i = 0; i < MIN (s->steady->len, STEADY_DECODE_WEBRTC + STEADY_DECODE_WS); i++)
            rc_soak_guest_sample (g_ptr_array_index (s->steady, i), now);
          s->next_sample_us = now + SAMPLE_EVERY_MS * 1000;
        }
      if (!s->warmed && now >= s->warm_us)
        {
          for (guint i = 0; i < s->steady->len; i++)
            rc_soak_guest_reset_gap (g_ptr_array_index (s->steady, i));
          rc_bench_progress ("warm-up over: gaps count from here");
          s->warmed = TRUE;
          s->fit_from_s = rc_soak_t_s (s);
        }
      churn_step (s, now);
      steady_check (s);
      if (now >= s->next_chat_us)
        {
          chat_step (s);
          s->next_chat_us += CHAT_EVERY_MS * 1000;
        }
      owner_step (s, now);
      health_step (s, now);
      if (s->hang_reported)
        {
          rc_bench_progress ("the server is stuck: the run ends here");
          break;
        }
      /* The WHIP host's DELETE is synchronous, with no time limit: never
       * ask a server that has stopped answering /health. */
      if (now - MAX (s->health_ok_us, s->t0_us) < 2 * HEALTH_EVERY_S * G_USEC_PER_SEC)
        whip_step (s, now);
      redis_step (s, now);
      if (now >= s->next_report_us)
        {
          report_sample (s);
          s->next_report_us += (gint64) s->o->report_s * G_USEC_PER_SEC;
        }
      rc_bench_wait (NULL, NULL, 10);
    }
  report_sample (s);
}

/* ---- main ---- */

static gboolean
make_music (RcSoak *s, const char *dir, GError **error)
{
  g_autofree char *script = g_build_filename (RC_SOURCE_ROOT, "tools", "make-demo-music", NULL);
  const char *argv[] = { script, dir, NULL };
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                     NULL, &status, error))
    return FALSE;
  return g_spawn_check_wait_status (status, error);
}

static gboolean
start (RcSoak *s, GError **error)
{
  g_autofree char *music = g_build_filename (s->tmp_dir, "music", NULL);
  g_autofree char *redis_dir = g_build_filename (s->tmp_dir, "redis", NULL);
  g_autofree char *log = g_build_filename (s->tmp_dir, "roomcast.log", NULL);
  const char *args[] = { "--store", NULL, "--music-dir", music, "--max-guests", "100000", NULL };
  RcBenchServerOptions options = {
    .roomcast = s->o->roomcast, .extra_args = args, .log_path = log,
    .child_setup = pin_child, .on_line = on_server_line, .user_data = s,
  };

  if (!make_music (s, music, error))
    return FALSE;
  s->redis = rc_soak_redis_start (redis_dir, error);
  if (s->redis == NULL)
    return FALSE;
  args[1] = rc_soak_redis_get_uri (s->redis);
  rc_bench_progress ("redis-server pid %d at %s", (int) rc_soak_redis_get_pid (s->redis), args[1]);
  s->server = rc_bench_server_start_with (&options, error);
  if (s->server == NULL || !start_room (s, error))
    return FALSE;
  rc_bench_progress ("roomcast pid %d at %s, room %s, %u songs looping",
                     (int) rc_bench_server_get_pid (s->server), rc_bench_server_get_url (s->server),
                     s->room_id, s->songs);
  return TRUE;
}

/* The summary's figures while the guests are still there, then everyone
 * leaves, the server stops, and the errors (shutdown's too) close it. */
static gboolean
finish (RcSoak *s)
{
  gboolean clean;

  if (s->whip != NULL)
    {
      if (s->hang_reported)
        rc_whip_host_kill (s->whip); /* a DELETE would wait for ever */
      else if (rc_whip_host_get_location (s->whip) != NULL)
        rc_whip_host_delete (s->whip, NULL);
      g_clear_pointer (&s->whip, rc_whip_host_free);
      s->whip_off++;
    }
  rc_soak_summarize (s);
  rc_bench_progress ("leaving: %u guests", guests_present (s));
  while (s->churn->len > 0)
    guest_leave (s, g_ptr_array_steal_index_fast (s->churn, s->churn->len - 1));
  while (s->steady->len > 0)
    guest_leave (s, g_ptr_array_steal_index_fast (s->steady, s->steady->len - 1));
  g_clear_pointer (&s->control, rc_bench_control_free);
  rc_bench_wait (NULL, NULL, 2000);
  clean = rc_bench_server_stop (s->server, 10) && rc_bench_server_get_status (s->server) == 0;
  rc_soak_summarize_errors (s);
  if (s->stacks_path != NULL)
    rc_soak_say (s, "\nThe stuck server's threads (gdb, before it was stopped): %s\n", s->stacks_path);
  rc_soak_say (s, "\nroomcast exit: %s (status %d)\n",
       clean ? "clean after SIGTERM" : "NOT clean (killed, or a non-zero status)",
       rc_bench_server_get_status (s->server));
  return clean;
}

static void
remove_folder (const char *path)
{
  const char *argv[] = { "rm", "-rf", "--", path, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
}

static gboolean
parse_options (int argc, char **argv, RcSoakOptions *o)
{
  double minutes = 10;
  int guests = 200, churn = 5, report_s = 30, webrtc_pct = 25;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "minutes", 'm', 0, G_OPTION_ARG_DOUBLE, &minutes, "How long it runs (default 10)", "M" },
    { "guests", 0, 0, G_OPTION_ARG_INT, &guests,
      "Steady guests in the room (default 200; 4 decode over WebRTC, 2 render over the "
      "WebSocket, the rest light: see --webrtc-percent)", "N" },
    { "churn", 0, 0, G_OPTION_ARG_INT, &churn,
      "Guests joining (and leaving) per second beside them (default 5)", "N" },
    { "report", 0, 0, G_OPTION_ARG_INT, &report_s, "Seconds between readings (default 30)", "S" },
    { "webrtc-percent", 0, 0, G_OPTION_ARG_INT, &webrtc_pct,
      "Of the light guests (steady and churning), the share over WebRTC; the rest use the "
      "WebSocket (default 25: the soak's one core holds that many beside the rest)", "P" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o->output,
      "Also write the report to FILE, as it comes", "FILE" },
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &o->roomcast,
      "The server binary (default: the build's)", "PATH" },
    { "server-cpus", 0, 0, G_OPTION_ARG_STRING, &o->server_cpus,
      "Pin the server to these CPUs (default 0)", "LIST" },
    { "guest-cpus", 0, 0, G_OPTION_ARG_STRING, &o->guest_cpus,
      "Pin the guests, the WHIP host and redis to these CPUs (default 1)", "LIST" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &o->keep,
      "Keep the temporary folder (logs, Redis data) even when no error was seen", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- a bounded soak of roomcast");

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("soak: %s\n", error->message);
      return FALSE;
    }
  if (minutes <= 0 || minutes > 24 * 60 || guests < STEADY_DECODE_WEBRTC + STEADY_DECODE_WS
      || churn < 0 || churn > 100 || report_s < 1 || webrtc_pct < 0 || webrtc_pct > 100)
    {
      g_printerr ("soak: --minutes 0-1440, --guests at least %d, --churn 0-100, --report ≥ 1, "
                  "--webrtc-percent 0-100\n",
                  STEADY_DECODE_WEBRTC + STEADY_DECODE_WS);
      return FALSE;
    }
  o->minutes = minutes;
  o->guests = (guint) guests;
  o->churn = (guint) churn;
  o->report_s = (guint) report_s;
  o->webrtc_pct = (guint) webrtc_pct;
  return TRUE;
}

/* Pins this process (and so every thread and child made after) to the
 * guests' CPUs, and remembers the server's for its child setup. */
static gboolean
pin_cpus (RcSoakOptions *o)
{
  gboolean two = sysconf (_SC_NPROCESSORS_ONLN) >= 2;
  cpu_set_t guests;

  if (o->server_cpus == NULL && two)
    o->server_cpus = g_strdup ("0");
  if (o->guest_cpus == NULL && two)
    o->guest_cpus = g_strdup ("1");
  if ((o->server_cpus != NULL && !(pin_server = cpu_list_to_set (o->server_cpus, &server_cpus)))
      || (o->guest_cpus != NULL && !cpu_list_to_set (o->guest_cpus, &guests)))
    {
      g_printerr ("soak: --server-cpus and --guest-cpus want CPU lists, e.g. 0, 1 or 0-1\n");
      return FALSE;
    }
  if (o->guest_cpus != NULL && sched_setaffinity (0, sizeof guests, &guests) != 0)
    {
      g_printerr ("soak: cannot pin to CPUs %s\n", o->guest_cpus);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  RcSoakOptions o = { 0 };
  RcSoak soak = { .o = &o }, *s = &soak;
  g_autoptr (GError) error = NULL;
  g_autofree char *machine = NULL, *load = NULL, *command = NULL;
  gboolean ok = FALSE;

  setlocale (LC_ALL, "");
  command = g_strjoinv (" ", argv);
  if (!parse_options (argc, argv, &o) || !pin_cpus (&o))
    return 2;
  /* Whatever happens, it ends: SIGALRM's default action kills us, and the
   * children die with us. */
  alarm ((guint) (o.minutes * 60) + 300);
  gst_init (NULL, NULL);
  rc_bench_catch_signals ();
  if (o.roomcast == NULL)
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *tools = g_path_get_dirname (self);
      g_autofree char *build = g_path_get_dirname (tools);

      o.roomcast = g_build_filename (build, "roomcast", NULL);
    }
  if (o.output != NULL && (s->out = fopen (o.output, "w")) == NULL)
    {
      g_printerr ("soak: cannot write %s\n", o.output);
      return 2;
    }
  s->steady = g_ptr_array_new ();
  s->churn = g_ptr_array_new ();
  s->steady_units = g_array_new (FALSE, TRUE, sizeof (guint64));
  s->samples = g_array_new (FALSE, TRUE, sizeof (RcSoakSample));
  s->log_shapes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, log_shape_free);
  s->errors = g_ptr_array_new_with_free_func (g_free);
  s->error_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->session = soup_session_new ();
  s->health_session = soup_session_new_with_options ("timeout", HANG_S, NULL);
  s->tmp_dir = g_dir_make_tmp ("roomcast-soak-XXXXXX", &error);
  machine = rc_bench_machine_describe_full (TRUE, NULL);
  load = rc_bench_loadavg ();
  rc_bench_progress_restart ();
  s->t0_us = g_get_monotonic_time ();
  s->end_us = s->t0_us + (gint64) (o.minutes * 60 * G_USEC_PER_SEC);
  rc_soak_say (s, "# roomcast soak\n\n`%s`\n\n%s; load average at the start %s; server on CPUs %s, "
          "guests on CPUs %s.\n%u steady guests (%d decode over WebRTC, %d render over the "
          "WebSocket, the rest light: %u%% over WebRTC, the others over the WebSocket), %u joins "
          "and leaves a second (light, the same shares), %.1f minutes.\n",
       command, machine, load, o.server_cpus != NULL ? o.server_cpus : "any",
       o.guest_cpus != NULL ? o.guest_cpus : "any", o.guests, STEADY_DECODE_WEBRTC,
       STEADY_DECODE_WS, o.webrtc_pct, o.churn, o.minutes);
  if (s->tmp_dir != NULL && start (s, &error))
    {
      rc_bench_progress ("joining %u steady guests", o.guests);
      steady_join_all (s);
      rc_bench_progress ("%u steady guests in; the soak runs until %.1f min", s->steady->len,
                         o.minutes);
      run (s);
      ok = finish (s);
    }
  else
    rc_soak_say (s, "\nsoak: could not start: %s\n", error != NULL ? error->message : "?");
  ok = ok && s->errors->len == 0 && s->unexpected_log_lines == 0;
  g_clear_pointer (&s->server, rc_bench_server_free);
  g_clear_pointer (&s->redis, rc_soak_redis_free);
  /* The logs (and a stuck server's stacks) stay when something went wrong. */
  if (s->tmp_dir != NULL && !o.keep && ok)
    remove_folder (s->tmp_dir);
  else if (s->tmp_dir != NULL)
    rc_soak_say (s, "soak: the server's log and Redis's data are kept in %s\n", s->tmp_dir);
  rc_soak_say (s, "\nsoak: %s\n", ok ? "no error seen" : "errors were seen (above)");
  g_clear_object (&s->session);
  g_clear_object (&s->health_session);
  if (s->out != NULL)
    fclose (s->out);
  return ok ? 0 : 1;
}

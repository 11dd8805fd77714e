/* SPDX-License-Identifier: MIT */
/*
 * bench-fanout: how many WebRTC guests one room holds, and what each costs.
 *
 *   bench-fanout [--levels 10,50,100,200] [--window 10] [--batch 10] ...
 *   bench-fanout --transport webrtc ...  (rc_bench_webrtc.h: the engine,
 *                webrtcbin and Janus, guests from roomcast-loadgen)
 *   bench-fanout --transport ws ...      (rc_bench_ws.h: WebSocket, Icecast)
 *
 * This file holds the options, the roomcast and its room, and main; the
 * default mode (--transport receivers) is rc_bench_fanout_receivers.c and
 * rc_bench_fanout_report.c. It starts a real roomcast on 127.0.0.1 (a free port, a generated track in
 * a temporary music folder, no rate limit, a high --max-guests), creates a
 * room and plays the track in it from one control connection, then adds
 * WebRTC guests level by level (cumulatively) from a few receiver processes
 * (this same program with --receiver; see rc_bench_receiver.h). At each
 * level it measures, over a steady window, the server's CPU (utime+stime
 * from /proc), RSS and thread count, and every guest's packets, lost and
 * late packets; while guests join it measures the server CPU spent per
 * join. It prints Markdown tables, and stops by itself.
 *
 * Why it is built this way:
 * - The server is a separate process so its figures are its own; the
 *   receivers are separate processes so their CPU is counted apart (they
 *   share the machine's cores with the server: the tables say how much
 *   they took, and how much the rest of the machine took).
 * - Levels are cumulative: the guests of level 50 are those of level 10
 *   plus 40. Joins go in batches, each waited for (first RTP, failure or
 *   timeout), so that a join is never timed out by the joins queued ahead
 *   of it.
 * - Every child gets PR_SET_PDEATHSIG (SIGKILL), the whole run has a time
 *   budget (--max-seconds) and an alarm beyond it, and SIGINT/SIGTERM end
 *   the run early with what has been measured.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include "rc_bench_fanout.h"
#include "rc_bench_receiver.h"
#include "rc_bench_webrtc.h"
#include "rc_bench_ws.h"
#include "tools/support/rc_tree.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- children ---- */

/* "0", "1-3", "0,2": a CPU set; FALSE when it is not one. */
static gboolean
parse_cpus (const char *text, cpu_set_t *set)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);

  CPU_ZERO (set);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto (GStrv) range = g_strsplit (parts[i], "-", 2);
      guint64 lo, hi;

      if (!g_ascii_string_to_unsigned (range[0], 10, 0, CPU_SETSIZE - 1, &lo, NULL))
        return FALSE;
      hi = lo;
      if (range[1] != NULL
          && !g_ascii_string_to_unsigned (range[1], 10, lo, CPU_SETSIZE - 1, &hi, NULL))
        return FALSE;
      for (guint64 c = lo; c <= hi; c++)
        CPU_SET (c, set);
    }
  return CPU_COUNT (set) > 0;
}


/* In the child, before exec: die with us; take the nice value and CPUs asked for. */
void
rc_bench_fanout_child_setup (gpointer data)
{
  const ChildSetup *setup = data;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (setup->nice > 0 && nice (setup->nice) == -1)
    _exit (127);
  if (setup->pin && sched_setaffinity (0, sizeof setup->cpus, &setup->cpus) != 0)
    _exit (127);
  /* Thousands of listeners are thousands of sockets on both sides; raising
   * the hard limit needs root (CAP_SYS_RESOURCE), else the soft one goes
   * up to it. */
  if (setup->nofile > 0)
    {
      struct rlimit rl = { setup->nofile, setup->nofile };

      if (setrlimit (RLIMIT_NOFILE, &rl) != 0 && getrlimit (RLIMIT_NOFILE, &rl) == 0)
        {
          rl.rlim_cur = rl.rlim_max;
          setrlimit (RLIMIT_NOFILE, &rl);
        }
    }
}

GPid
rc_bench_fanout_pid_of (GSubprocess *proc)
{
  const char *id = g_subprocess_get_identifier (proc);

  return id != NULL ? (GPid) atoi (id) : 0;
}

/* ---- the server ---- */

/* ---- the server ---- */

static void
on_server_line (const char *line, gpointer data)
{
  Bench *b = data;

  if (strstr (line, "WARNING") != NULL || strstr (line, "CRITICAL") != NULL)
    b->server_warnings++;
  if (strstr (line, "audio for guest") != NULL && strstr (line, "failed") != NULL)
    b->server_media_failures++;
}

static gboolean
start_server (Bench *b, GError **error)
{
  g_autofree char *log = g_build_filename (b->tmp_dir, "server.log", NULL);
  const char *args[] = { "--music-dir", b->music_dir, "--max-guests", "100000",
                         "--max-rooms", "10", b->fanout != NULL ? "--webrtc-fanout" : NULL,
                         b->fanout, NULL };
  RcBenchServerOptions options = {
    .roomcast = b->o->roomcast, .extra_args = args, .log_path = log,
    .child_setup = rc_bench_fanout_child_setup, .child_setup_data = &b->server_setup,
    .on_line = on_server_line, .user_data = b,
  };

  b->server = rc_bench_server_start_with (&options, error);
  if (b->server == NULL)
    return FALSE;
  b->server_pid = rc_bench_server_get_pid (b->server);
  b->base_url = rc_bench_server_get_url (b->server);
  return TRUE;
}

static void
stop_server (Bench *b)
{
  if (b->server != NULL && !rc_bench_server_stop (b->server, 10))
    rc_bench_progress ("roomcast did not stop within 10 s of SIGTERM: killing it");
}

/* The first song of the library, once the scan has finished. */
static gboolean
find_song (Bench *b, GError **error)
{
  g_autoptr (JsonArray) songs = rc_bench_server_wait_library (b->server, 1, 30, error);
  JsonObject *song;

  if (songs == NULL)
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (error);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "the library has no song after 30 s (music dir %s)", b->music_dir);
        }
      return FALSE;
    }
  song = json_array_get_object_element (songs, 0);
  b->song_id = g_strdup (json_object_get_string_member (song, "id"));
  b->song_title = g_strdup (json_object_get_string_member_with_default (song, "title", "?"));
  return TRUE;
}

/* ---- the control connection ---- */

static void
on_control_message (JsonObject *o, gpointer user_data)
{
  Bench *b = user_data;
  const char *kind = json_object_get_string_member_with_default (o, "type", "");

  if (g_str_equal (kind, "initialState"))
    {
      rc_bench_control_send (b->control,
                             "{\"type\":\"addSong\",\"id\":\"c-add\",\"songId\":\"%s\"}",
                             b->song_id);
      rc_bench_control_send (b->control,
                             "{\"type\":\"setLoop\",\"id\":\"c-loop\",\"mode\":\"track\"}");
      rc_bench_control_send (b->control, "{\"type\":\"play\",\"id\":\"c-play\"}");
    }
  else if (g_str_equal (kind, "stateUpdate"))
    b->playing = json_object_get_boolean_member_with_default (o, "playing", FALSE);
}

static gboolean
playing_or_error (gpointer data)
{
  Bench *b = data;

  return b->playing || rc_bench_control_get_failure (b->control) != NULL
         || rc_bench_server_has_exited (b->server);
}

static gboolean
start_playing (Bench *b, GError **error)
{
  /* viewersUpdated (the whole list, on every join) and the rest: not read. */
  const char *types[] = { "stateUpdate", NULL };
  const char *failure;

  b->control = rc_bench_control_new (b->server, b->room_id, b->owner_token, on_control_message, b);
  rc_bench_control_only (b->control, types);
  if (!rc_bench_wait (playing_or_error, b, 15000) || !b->playing)
    {
      failure = rc_bench_control_get_failure (b->control);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the room did not start playing: %s",
                   failure != NULL ? failure : "no stateUpdate within 15 s");
      return FALSE;
    }
  return TRUE;
}

/* ---- the track ---- */

/* A tone over quiet pink noise, Opus in Ogg: something the room's encoder
 * must spend its bitrate on, as on music (a pure tone would make packets
 * smaller than music does). */
static gboolean
make_track (Bench *b, const char *path, GError **error)
{
  guint buffers = b->o->track_seconds * 10;
  g_autofree char *description = g_strdup_printf (
    "audiotestsrc wave=pink-noise volume=0.08 samplesperbuffer=4800 num-buffers=%u "
    "! audio/x-raw,rate=48000,channels=2 ! mix. "
    "audiotestsrc wave=sine freq=440 volume=0.2 samplesperbuffer=4800 num-buffers=%u "
    "! audio/x-raw,rate=48000,channels=2 ! mix. "
    "audiomixer name=mix ! audioconvert ! opusenc bitrate=128000 "
    "! oggmux "
    "! filesink name=out",
    buffers, buffers);
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, error);
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) message = NULL;

  if (pipeline == NULL)
    return FALSE;
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_object_set (sink, "location", path, NULL);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
                                        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (message == NULL || GST_MESSAGE_TYPE (message) != GST_MESSAGE_EOS)
    {
      g_autoptr (GError) e = NULL;

      if (message != NULL)
        gst_message_parse_error (message, &e, NULL);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write the track: %s",
                   e != NULL ? e->message : "timed out");
      return FALSE;
    }
  return TRUE;
}

/* ---- --transport ws ---- */

static gboolean
is_ws (const Options *o)
{
  return o->transport != NULL && g_str_equal (o->transport, "ws");
}

/* --transport webrtc: through roomcast-loadgen (rc_bench_webrtc.c). */
static gboolean
is_webrtc (const Options *o)
{
  return o->transport != NULL && g_str_equal (o->transport, "webrtc");
}

static gboolean
uses_loadgen (const Options *o)
{
  return is_ws (o) || is_webrtc (o);
}

static void
stop_server_cb (gpointer data)
{
  stop_server (data);
}

static RcBenchSideOptions
side_options (Bench *b)
{
  RcBenchSideOptions common = {
    .loadgen = b->o->loadgen, .tmp_dir = b->tmp_dir, .window_s = b->o->window_s,
    .settle_s = b->o->settle_s, .late_ms = b->o->late_ms, .join_rate = b->o->join_rate,
    .join_timeout_s = b->o->join_timeout_s, .deadline_us = b->deadline_us,
    .loadgen_setup = rc_bench_fanout_child_setup, .loadgen_setup_data = &b->receiver_setup,
  };

  return common;
}

/* The WebSocket levels and Icecast beside them (rc_bench_ws.c). */
static gboolean
run_ws (Bench *b, GArray *levels, GString *out)
{
  RcBenchWsOptions wo = {
    .common = side_options (b), .server = b->server, .room_id = b->room_id,
    .baseline = b->baseline, .baseline_pct = b->baseline_pct,
    .levels = (const guint *) (gpointer) levels->data, .n_levels = levels->len,
    .icecast = !b->o->no_icecast, .server_setup = rc_bench_fanout_child_setup,
    .server_setup_data = &b->server_setup, .stop_server = stop_server_cb, .stop_data = b,
    .slot = b->o->slot,
  };

  return rc_bench_ws_run (&wo, out);
}

/* The webrtcbin side's server: this one stopped, another started with
 * --webrtc-fanout @fanout, a room playing in it. */
static gboolean
restart_server_cb (gpointer data, const char *fanout, RcBenchServer **server,
                   const char **room_id, GError **error)
{
  Bench *b = data;

  g_clear_pointer (&b->control, rc_bench_control_free);
  stop_server (b);
  g_clear_pointer (&b->server, rc_bench_server_free);
  g_clear_pointer (&b->room_id, g_free);
  g_clear_pointer (&b->owner_token, g_free);
  g_clear_pointer (&b->song_id, g_free);
  g_clear_pointer (&b->song_title, g_free);
  b->playing = FALSE;
  b->fanout = fanout;
  if (!start_server (b, error) || !find_song (b, error)
      || !rc_bench_server_create_room (b->server, "bench-fanout", &b->room_id, &b->owner_token,
                                       error)
      || !start_playing (b, error))
    return FALSE;
  *server = b->server;
  *room_id = b->room_id;
  return TRUE;
}

/* The engine, webrtcbin and Janus through the loadgen (rc_bench_webrtc.c). */
static gboolean
run_webrtc (Bench *b, GArray *levels, GArray *bin_levels, GArray *janus_levels, GString *out)
{
  RcBenchWebrtcOptions wo = {
    .common = side_options (b), .server = b->server, .room_id = b->room_id,
    .baseline = b->baseline, .baseline_pct = b->baseline_pct,
    .levels = (const guint *) (gpointer) levels->data, .n_levels = levels->len,
    .webrtcbin_levels = (const guint *) (gpointer) bin_levels->data,
    .n_webrtcbin_levels = bin_levels->len, .janus = !b->o->no_janus,
    .janus_levels = janus_levels->len > 0 ? (const guint *) (gpointer) janus_levels->data
                                          : (const guint *) (gpointer) levels->data,
    .n_janus_levels = janus_levels->len > 0 ? janus_levels->len : levels->len,
    .churn_rate = b->o->churn_rate, .churn_at = b->o->churn_at,
    .churn_life_s = b->o->churn_life_s, .server_setup = rc_bench_fanout_child_setup,
    .server_setup_data = &b->server_setup, .restart_server = restart_server_cb,
    .stop_server = stop_server_cb, .server_data = b,
  };

  return rc_bench_webrtc_run (&wo, out);
}

static void
report_ws (Bench *b, GString *out, const char *command_line, GString *tables)
{
  rc_bench_fanout_report_head (b, out,
               is_webrtc (b->o) ? "bench-fanout --transport webrtc results"
                                : "bench-fanout --transport ws results",
               command_line);
  g_string_append_printf (out, "- servers pinned to CPUs %s; the load generator (one "
                               "roomcast-loadgen process, one thread) to CPUs %s\n",
                          b->o->server_cpus != NULL ? b->o->server_cpus : "(any)",
                          b->o->receiver_cpus != NULL ? b->o->receiver_cpus : "(any)");
  g_string_append_printf (out, "- window %.0f s after %.0f s of settling; listeners started at "
                               "%u/s; late = more than %.0f ms behind the slot\n",
                          b->o->window_s, b->o->settle_s, b->o->join_rate, b->o->late_ms);
  if (is_webrtc (b->o))
    g_string_append_printf (out, "- roomcast room playing \"%s\" (tone over pink noise), Opus "
                                 "128 kb/s 20 ms; Janus's mountpoint: the same sound from a live "
                                 "sender in this process (opusenc 128 kb/s 20 ms, rtpopuspay, "
                                 "UDP); server-added latency: the engine's own, from the room "
                                 "packet's tap to its sendmmsg (room stats, webrtc member)\n\n",
                            b->song_title != NULL ? b->song_title : "?");
  else
    g_string_append_printf (out, "- roomcast room playing \"%s\" (tone over pink noise), Opus "
                                 "128 kb/s 20 ms; Icecast's mount: the same sound from a live "
                                 "source in this process (opusenc 128 kb/s 20 ms, oggmux 20 ms "
                                 "pages, shout2send)\n\n",
                            b->song_title != NULL ? b->song_title : "?");
  g_string_append (out, "CPU is percent of one core. Per-listener figures are the growth over "
                        "the server with no listener, divided by N. Join CPU is the server's "
                        "CPU while a level's listeners joined, per listener; \"net\" takes off "
                        "the streaming, which grows from the last level's rate to this one's "
                        "while they join (taken as a ramp). \"to audio\" is connect to first "
                        "frame (page, packet). The joins tables read the server's main "
                        "thread alone (/proc/PID/task/PID/schedstat: the main context, where "
                        "signalling, presence and every join run) over each level's joins; "
                        "\"net\" takes off its share at rest with the listeners already "
                        "there, and their frames during the joins are counted against their "
                        "slot as in the window.\n\n");
  g_string_append_len (out, tables->str, (gssize) tables->len);
}

/* ---- main ---- */

static gboolean
parse_levels (const char *text, GArray *levels)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  guint last = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 v;

      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, 100000, &v, NULL) || v <= last)
        return FALSE;
      last = (guint) v;
      g_array_append_val (levels, last);
    }
  return levels->len > 0;
}

static int
run_receiver (int argc, char **argv)
{
  g_autofree char *server = NULL, *room = NULL, *prefix = NULL;
  gboolean native = FALSE, decode = FALSE, receiver = FALSE;
  double late_ms = 60;
  int join_timeout = 40;
  GOptionEntry entries[] = {
    { "receiver", 0, 0, G_OPTION_ARG_NONE, &receiver, "", NULL },
    { "server", 0, 0, G_OPTION_ARG_STRING, &server, "", NULL },
    { "room", 0, 0, G_OPTION_ARG_STRING, &room, "", NULL },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "", NULL },
    { "native", 0, 0, G_OPTION_ARG_NONE, &native, "", NULL },
    { "decode", 0, 0, G_OPTION_ARG_NONE, &decode, "", NULL },
    { "late-ms", 0, 0, G_OPTION_ARG_DOUBLE, &late_ms, "", NULL },
    { "join-timeout", 0, 0, G_OPTION_ARG_INT, &join_timeout, "", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  RcBenchReceiverOptions options = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || server == NULL || room == NULL)
    {
      g_printerr ("bench-fanout --receiver: %s\n",
                  error != NULL ? error->message : "--server and --room are required");
      return 2;
    }
  gst_init (NULL, NULL);
  options.server_url = server;
  options.room_id = room;
  options.prefix = prefix != NULL ? prefix : "g";
  options.native = native;
  options.decode = decode;
  options.late_us = (gint64) (late_ms * 1000);
  options.join_timeout_s = (guint) MAX (join_timeout, 1);
  return rc_bench_receiver_run (&options);
}

int
main (int argc, char **argv)
{
  Options o = {
    .window_s = 10,
    .settle_s = 3,
    .batch = 10,
    .per_receiver = 50,
    .join_timeout_s = 40,
    .late_ms = 60,
    .max_seconds = 600,
    .track_seconds = 900,
    .top_threads = 6,
  };
  int window = 10, settle = 3, batch = 10, per_receiver = 50, join_timeout = 40;
  int max_seconds = 600, track_seconds = 900, top_threads = 6, n_cycles = 2, retries = 2;
  int join_rate = 500, churn_rate = 50, churn_at = 5000, churn_life = 10;
  gboolean receiver = FALSE;
  GOptionEntry entries[] = {
    { "levels", 'n', 0, G_OPTION_ARG_STRING, &o.levels,
      "Guest counts to measure, rising (default 10,50,100,200)", "N,N,..." },
    { "window", 'w', 0, G_OPTION_ARG_INT, &window, "Seconds of steady measuring per level (10)",
      "S" },
    { "settle", 0, 0, G_OPTION_ARG_INT, &settle, "Seconds to wait after joins before measuring (3)",
      "S" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Guests joining at once (10)", "N" },
    { "guests-per-receiver", 0, 0, G_OPTION_ARG_INT, &per_receiver,
      "Guests per receiver process (50)", "N" },
    { "join-timeout", 0, 0, G_OPTION_ARG_INT, &join_timeout,
      "Seconds a guest may take to get its first packet (40)", "S" },
    { "late-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.late_ms,
      "A packet this much behind its slot is late (60)", "MS" },
    { "slot", 0, 0, G_OPTION_ARG_STRING, &o.slot,
      "--transport ws: a frame's slot is its C (frame, the default), the C of its message's "
      "last frame (message: a bundle's frames are due when it is complete) or that plus the "
      "listener's best transit so far (transit: as the Icecast listeners are measured)",
      "frame|message|transit" },
    { "max-seconds", 0, 0, G_OPTION_ARG_INT, &max_seconds,
      "Time budget: no new joins after this (600)", "S" },
    { "track-seconds", 0, 0, G_OPTION_ARG_INT, &track_seconds,
      "Length of the generated track; it loops (900)", "S" },
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &o.roomcast,
      "The server binary (default: roomcast beside this program's build dir)", "PATH" },
    { "music-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.music_dir,
      "Use this folder's first song instead of generating a track", "DIR" },
    { "native", 0, 0, G_OPTION_ARG_NONE, &o.native,
      "Guests are RcNativeGuest (decode to PCM; no late count)", NULL },
    { "decode", 0, 0, G_OPTION_ARG_NONE, &o.decode, "Light guests decode the Opus too", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Also write the tables to FILE", "FILE" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &o.keep, "Keep the temporary folder (logs, track)", NULL },
    { "leave-cycles", 0, 0, G_OPTION_ARG_INT, &n_cycles,
      "After the levels: times every guest leaves (and, but the last, joins again), "
      "reading the server each time (2; 0 skips it)", "N" },
    { "receiver-nice", 0, 0, G_OPTION_ARG_INT, &o.receiver_nice,
      "Nice value of the receiver processes (0; 10 gives the server the CPU first)", "N" },
    { "server-cpus", 0, 0, G_OPTION_ARG_STRING, &o.server_cpus,
      "Pin the server to these CPUs (e.g. 0)", "LIST" },
    { "receiver-cpus", 0, 0, G_OPTION_ARG_STRING, &o.receiver_cpus,
      "Pin the receivers to these CPUs (e.g. 1)", "LIST" },
    { "retries", 0, 0, G_OPTION_ARG_INT, &retries,
      "Measure a window again, up to N times, when other processes disturbed it (2)", "N" },
    { "wait-quiet", 0, 0, G_OPTION_ARG_INT, &o.wait_quiet_s,
      "Before starting, wait up to S seconds for the machine to be under 25% busy (0)", "S" },
    { "top-threads", 0, 0, G_OPTION_ARG_INT, &top_threads, "Thread groups listed per level (6)",
      "N" },
    { "transport", 't', 0, G_OPTION_ARG_STRING, &o.transport,
      "receivers (WebRTC guests in receiver processes, the default), webrtc (WebRTC guests "
      "from one roomcast-loadgen: the engine, then webrtcbin, then Janus, in the same run) "
      "or ws (WebSocket guests from one roomcast-loadgen, then Icecast's HTTP listeners)", "T" },
    { "loadgen", 0, 0, G_OPTION_ARG_FILENAME, &o.loadgen,
      "--transport ws: the roomcast-loadgen program (default: beside this one)", "PATH" },
    { "no-icecast", 0, 0, G_OPTION_ARG_NONE, &o.no_icecast,
      "--transport ws: leave the Icecast side out", NULL },
    { "join-rate", 0, 0, G_OPTION_ARG_INT, &join_rate,
      "--transport ws/webrtc: listeners started per second (500)", "N" },
    { "webrtcbin-levels", 0, 0, G_OPTION_ARG_STRING, &o.webrtcbin_levels,
      "--transport webrtc: the webrtcbin side's guest counts (50,100,200,400; none: no side)",
      "N,N,..." },
    { "no-janus", 0, 0, G_OPTION_ARG_NONE, &o.no_janus, "--transport webrtc: leave Janus out",
      NULL },
    { "janus-levels", 0, 0, G_OPTION_ARG_STRING, &o.janus_levels,
      "--transport webrtc: Janus's viewer counts (default: --levels)", "N,N,..." },
    { "churn-rate", 0, 0, G_OPTION_ARG_INT, &churn_rate,
      "--transport webrtc: joins (and leaves) per second of the row \"joins and leaves while N "
      "listen\" (50; 0: none)",
      "N" },
    { "churn-life", 0, 0, G_OPTION_ARG_INT, &churn_life,
      "--transport webrtc: ... each joiner leaving S seconds after its first packet (10)", "S" },
    { "churn-at", 0, 0, G_OPTION_ARG_INT, &churn_at,
      "--transport webrtc: ... after the first level of at least N guests (5000; 0: the last)",
      "N" },
    { "receiver", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &receiver, "", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) levels = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *command_line = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  Bench bench = { 0 }, *b = &bench;
  g_autoptr (GString) ws_out = NULL;
  g_autoptr (GArray) bin_levels = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) janus_levels = g_array_new (FALSE, FALSE, sizeof (guint));

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--receiver"))
      return run_receiver (argc, argv);

  command_line = g_strjoinv (" ", argv);
  context = g_option_context_new ("- WebRTC fan-out benchmark of one roomcast room");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-fanout: %s\n", error->message);
      return 2;
    }
  o.window_s = MAX (window, 1);
  o.settle_s = MAX (settle, 0);
  o.batch = (guint) MAX (batch, 1);
  o.per_receiver = (guint) MAX (per_receiver, 1);
  o.join_timeout_s = (guint) MAX (join_timeout, 5);
  o.max_seconds = (guint) MAX (max_seconds, 30);
  o.track_seconds = (guint) MAX (track_seconds, 30);
  o.top_threads = (guint) MAX (top_threads, 1);
  o.leave_cycles = (guint) CLAMP (n_cycles, 0, 10);
  o.retries = (guint) CLAMP (retries, 0, 10);
  b->receiver_setup.nice = o.receiver_nice;
  if ((o.server_cpus != NULL
       && !(b->server_setup.pin = parse_cpus (o.server_cpus, &b->server_setup.cpus)))
      || (o.receiver_cpus != NULL
          && !(b->receiver_setup.pin = parse_cpus (o.receiver_cpus, &b->receiver_setup.cpus))))
    {
      g_printerr ("bench-fanout: --server-cpus and --receiver-cpus want CPU lists, e.g. 0 or 0-1\n");
      return 2;
    }
  o.receiver_nice = CLAMP (o.receiver_nice, 0, 19);
  o.join_rate = (guint) MAX (join_rate, 1);
  o.churn_rate = (guint) MAX (churn_rate, 0);
  o.churn_at = (guint) MAX (churn_at, 0);
  o.churn_life_s = MAX (churn_life, 1);
  if (o.transport != NULL && g_str_equal (o.transport, "receivers"))
    g_clear_pointer (&o.transport, g_free);
  if (o.transport != NULL && !is_webrtc (&o) && !is_ws (&o))
    {
      g_printerr ("bench-fanout: --transport is receivers, webrtc or ws\n");
      return 2;
    }
  if (o.slot != NULL && !g_str_equal (o.slot, "frame") && !g_str_equal (o.slot, "message")
      && !g_str_equal (o.slot, "transit"))
    {
      g_printerr ("bench-fanout: --slot is frame, message or transit\n");
      return 2;
    }
  if (!parse_levels (o.levels != NULL ? o.levels
                     : is_ws (&o)   ? "1000,2000,5000,10000,15000,20000"
                     : is_webrtc (&o) ? "1000,2000,5000,10000"
                                    : "10,50,100,200",
                     levels))
    {
      g_printerr ("bench-fanout: --levels wants rising numbers, e.g. 10,50,100,200\n");
      return 2;
    }
  if (is_webrtc (&o) && (o.webrtcbin_levels == NULL || !g_str_equal (o.webrtcbin_levels, "none"))
      && !parse_levels (o.webrtcbin_levels != NULL ? o.webrtcbin_levels : "50,100,200,400",
                        bin_levels))
    {
      g_printerr ("bench-fanout: --webrtcbin-levels wants rising numbers, or none\n");
      return 2;
    }
  if (o.janus_levels != NULL && !parse_levels (o.janus_levels, janus_levels))
    {
      g_printerr ("bench-fanout: --janus-levels wants rising numbers\n");
      return 2;
    }
  /* Every listener is a socket of the server's and of the load generator's
   * (a WebRTC guest: a UDP socket and a TCP one at the loadgen, and at
   * Janus an ICE socket and its HTTP connection while it joins). */
  b->server_setup.nofile = b->receiver_setup.nofile =
    (rlim_t) g_array_index (levels, guint, levels->len - 1) * (is_webrtc (&o) ? 3 : 1) + 4096;
  gst_init (NULL, NULL);

  b->o = &o;
  b->started_us = g_get_monotonic_time ();
  b->deadline_us = b->started_us + (gint64) o.max_seconds * G_USEC_PER_SEC;
  b->receivers = g_ptr_array_new ();
  b->levels = g_ptr_array_new ();
  b->guest_failures = g_ptr_array_new_with_free_func (g_free);
  b->cycles = g_array_new (FALSE, TRUE, sizeof (Cycle));
  b->self_exe = g_file_read_link ("/proc/self/exe", NULL);
  rc_bench_progress_restart ();
  rc_bench_catch_signals ();
  /* Whatever happens, the run ends: the default action of SIGALRM kills
   * us, and PR_SET_PDEATHSIG takes the children along. */
  alarm (o.max_seconds + MAX (o.wait_quiet_s, 0) + 240);

  if (o.roomcast == NULL)
    {
      g_autofree char *tools = g_path_get_dirname (b->self_exe);
      g_autofree char *build = g_path_get_dirname (tools);

      o.roomcast = g_build_filename (build, "roomcast", NULL);
    }
  if (o.loadgen == NULL)
    {
      g_autofree char *tools = g_path_get_dirname (b->self_exe);

      o.loadgen = g_build_filename (tools, "roomcast-loadgen", NULL);
    }
  if (uses_loadgen (&o) && !g_file_test (o.loadgen, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-fanout: no roomcast-loadgen at %s (use --loadgen PATH)\n", o.loadgen);
      return 2;
    }
  if (!g_file_test (o.roomcast, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-fanout: no roomcast at %s (use --roomcast PATH)\n", o.roomcast);
      return 2;
    }
  b->tmp_dir = g_dir_make_tmp ("bench-fanout-XXXXXX", &error);
  if (b->tmp_dir == NULL)
    {
      g_printerr ("bench-fanout: %s\n", error->message);
      return 1;
    }

  /* How busy the machine is without us; with --wait-quiet, wait for a
   * quieter moment (other people's builds and tests share it). */
  for (gint64 give_up = g_get_monotonic_time () + (gint64) o.wait_quiet_s * G_USEC_PER_SEC;;)
    {
      Snap a = { 0 }, z = { 0 };

      rc_bench_fanout_snap_take (b, &a, FALSE);
      rc_bench_wait (NULL, NULL, 3000);
      rc_bench_fanout_snap_take (b, &z, FALSE);
      b->busy_before_pct = rc_bench_fanout_pct (z.machine_busy - a.machine_busy, &a, &z);
      if (b->busy_before_pct < 25 || g_get_monotonic_time () >= give_up || rc_bench_interrupted ())
        break;
      rc_bench_progress ("the machine is %.0f%% busy (of one core); waiting for a quieter moment",
                         b->busy_before_pct);
    }
  rc_bench_progress ("the machine was %.0f%% busy (of one core; 200%% is all) before the run",
                     b->busy_before_pct);
  b->started_us = g_get_monotonic_time ();
  b->deadline_us = b->started_us + (gint64) o.max_seconds * G_USEC_PER_SEC;
  rc_bench_progress_restart ();
  alarm (o.max_seconds + 240);
  if (o.music_dir != NULL)
    b->music_dir = g_strdup (o.music_dir);
  else
    {
      g_autofree char *track = NULL;

      b->music_dir = g_build_filename (b->tmp_dir, "music", NULL);
      g_mkdir (b->music_dir, 0700);
      track = g_build_filename (b->music_dir, "bench-tone.opus", NULL);
      rc_bench_progress ("writing a %u s track to %s", o.track_seconds, track);
      if (!make_track (b, track, &error))
        goto fail;
    }
  rc_bench_progress ("starting %s", o.roomcast);
  if (!start_server (b, &error) || !find_song (b, &error)
      || !rc_bench_server_create_room (b->server, "bench-fanout", &b->room_id, &b->owner_token,
                                       &error)
      || !start_playing (b, &error))
    goto fail;
  rc_bench_progress ("roomcast pid %d at %s, room %s playing \"%s\"", (int) b->server_pid,
                     b->base_url, b->room_id, b->song_title);

  /* The empty room: playing, nobody listening. */
  {
    Snap a = { 0 }, z = { 0 };

    rc_bench_wait (NULL, NULL, 2000);
    rc_bench_fanout_snap_take (b, &a, FALSE);
    rc_bench_wait (NULL, NULL, MIN (o.window_s, 5) * 1000);
    rc_bench_fanout_snap_take (b, &z, FALSE);
    b->baseline = z.server;
    b->baseline_pct = rc_bench_fanout_pct (z.server.cpu_ticks - a.server.cpu_ticks, &a, &z);
    rc_bench_progress ("empty room: %.1f%% CPU, %.1f MiB, %u threads", b->baseline_pct,
                       b->baseline.rss_kib / 1024.0, b->baseline.threads);
  }

  if (uses_loadgen (&o))
    {
      ws_out = g_string_new (NULL);
      if (!(is_ws (&o) ? run_ws (b, levels, ws_out)
                       : run_webrtc (b, levels, bin_levels, janus_levels, ws_out)))
        b->failed = TRUE;
      goto done;
    }

  for (guint i = 0; i < levels->len && !rc_bench_interrupted (); i++)
    {
      Level *level = g_new0 (Level, 1);
      const Level *previous = i > 0 ? g_ptr_array_index (b->levels, i - 1) : NULL;

      level->n = g_array_index (levels, guint, i);
      g_ptr_array_add (b->levels, level);
      if (g_get_monotonic_time () > b->deadline_us)
        {
          rc_bench_fanout_note (level, "skipped: the time budget (--max-seconds %u) was spent", o.max_seconds);
          break;
        }
      if (!rc_bench_fanout_run_level (b, level, previous))
        {
          b->failed = TRUE;
          break;
        }
    }
  if (rc_bench_interrupted () && b->levels->len > 0)
    rc_bench_fanout_note (g_ptr_array_index (b->levels, b->levels->len - 1), "interrupted (signal)");
  if (!rc_bench_interrupted () && rc_bench_fanout_server_alive (b) && b->guests > 0)
    rc_bench_fanout_leave_cycles (b);
  goto done;

fail:
  rc_bench_progress ("failed: %s", error->message);
  b->failed = TRUE;

done:
  rc_bench_fanout_stop_receivers (b);
  g_clear_pointer (&b->control, rc_bench_control_free);
  stop_server (b);
  if (b->server != NULL && ws_out != NULL)
    {
      report_ws (b, out, command_line, ws_out);
      g_print ("\n%s", out->str);
      if (o.output != NULL && !g_file_set_contents (o.output, out->str, -1, &error))
        g_printerr ("bench-fanout: %s\n", error->message);
    }
  else if (b->server != NULL)
    {
      rc_bench_fanout_report (b, out, command_line);
      g_print ("\n%s", out->str);
      if (o.output != NULL && !g_file_set_contents (o.output, out->str, -1, &error))
        g_printerr ("bench-fanout: %s\n", error->message);
    }
  g_clear_pointer (&b->server, rc_bench_server_free);
  if (o.keep || b->failed || (b->server != NULL && rc_bench_server_died (b->server)))
    g_printerr ("bench-fanout: logs kept in %s\n", b->tmp_dir);
  else
    rc_remove_tree (b->tmp_dir);
  return b->failed ? 1 : 0;
}

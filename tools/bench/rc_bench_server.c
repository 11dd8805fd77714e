/* SPDX-License-Identifier: MIT */
/*
 * A roomcast, its REST API, a control WebSocket and native guest processes
 * for benchmarks (rc_bench_server.h). Why it is built this way:
 *
 * - The server and the guests are processes of their own, as in a real
 *   deployment: their CPU is theirs, and the benchmark's own work (a WHIP
 *   host, analysis) cannot delay their threads except through the cores.
 * - REST is synchronous: a benchmark asks, then measures; nothing of its
 *   own runs on the main context while the server answers.
 * - Asynchronous reads (the children's lines, the WebSocket) finish on the
 *   main context. Each object has a cancellable, cancelled when it is
 *   freed; a callback that sees the cancellation returns without touching
 *   its object (GTask reports a cancellation even for a read that
 *   completed just before), so freeing never waits for them.
 */
#include "rc_bench_server.h"
#include "rc_bench_proc.h"
#include "tools/support/rc_roomcast_process.h"

#include <glib-unix.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- waiting and children ---- */

static gboolean interrupted;

static gboolean
on_signal (gpointer data)
{
  interrupted = TRUE;
  return G_SOURCE_CONTINUE;
}

void
rc_bench_catch_signals (void)
{
  g_unix_signal_add (SIGINT, on_signal, NULL);
  g_unix_signal_add (SIGTERM, on_signal, NULL);
  g_unix_signal_add (SIGHUP, on_signal, NULL);
}

gboolean
rc_bench_interrupted (void)
{
  return interrupted;
}

static gint64 progress_start_us;

void
rc_bench_progress_restart (void)
{
  progress_start_us = g_get_monotonic_time ();
}

void
rc_bench_progress (const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  if (progress_start_us == 0)
    rc_bench_progress_restart ();
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("[%6.1f s] %s\n", (g_get_monotonic_time () - progress_start_us) / 1e6, text);
}

static gboolean
wake (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
rc_bench_wait (gboolean (*cond) (gpointer data), gpointer data, double timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_ms * 1000);

  while (cond == NULL || !cond (data))
    {
      gint64 left = end - g_get_monotonic_time ();
      gboolean fired = FALSE;
      guint id;

      if (interrupted || left <= 0)
        return cond != NULL && cond (data);
      /* Never block past the deadline (or 50 ms, to see an interrupt). */
      id = g_timeout_add ((guint) MIN (left / 1000 + 1, 50), wake, &fired);
      g_main_context_iteration (NULL, TRUE);
      if (!fired)
        g_source_remove (id);
    }
  return TRUE;
}

double
rc_bench_wait_quiet (double seconds, double busy_pct)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  double busy = 100;

  while (!interrupted)
    {
      guint64 b0 = 0, t0 = 0, b1 = 0, t1 = 0;

      rc_bench_machine_read (&b0, &t0);
      rc_bench_wait (NULL, NULL, 2000);
      rc_bench_machine_read (&b1, &t1);
      busy = t1 > t0 ? 100.0 * (double) (b1 - b0) / (double) (t1 - t0) : 100;
      if (busy < busy_pct || g_get_monotonic_time () >= end)
        break;
    }
  return busy;
}

/* ---- the server ---- */

struct _RcBenchServer
{
  RcRoomcastProcess *process;
  FILE *log;
  char *log_path;
  RcBenchLineFunc on_line;
  gpointer user_data;
  SoupSession *http;
};

/* Every line goes to the log, then to the caller. */
static void
on_server_line (const char *line, gpointer data)
{
  RcBenchServer *self = data;

  if (self->log != NULL)
    {
      fprintf (self->log, "%s\n", line);
      fflush (self->log);
    }
  if (self->on_line != NULL)
    self->on_line (line, self->user_data);
}

static gboolean
server_ready (gpointer data)
{
  RcBenchServer *self = data;

  return rc_roomcast_process_get_url (self->process) != NULL
         || rc_roomcast_process_has_exited (self->process);
}

RcBenchServer *
rc_bench_server_start_with (const RcBenchServerOptions *options, GError **error)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *fixed[] = { "--store", "memory", "--rate-limit", "0", "--empty-room-pause", "86400" };
  const char *log_path = options->log_path;
  g_autoptr (RcBenchServer) self = g_new0 (RcBenchServer, 1);
  RcRoomcastOptions process_options = {
    .program = options->roomcast,
    .merge_stderr = TRUE,
    .child_setup = options->child_setup,
    .child_setup_data = options->child_setup_data,
    .on_line = on_server_line,
    .user_data = self,
  };

  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (args, (gpointer) fixed[i]);
  for (guint i = 0; options->extra_args != NULL && options->extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) options->extra_args[i]);
  g_ptr_array_add (args, NULL);
  process_options.args = (const char *const *) args->pdata;

  self->on_line = options->on_line;
  self->user_data = options->user_data;
  /* A request that takes this long is a failure, not a figure. */
  self->http = soup_session_new_with_options ("timeout", 30, NULL);
  self->log_path = g_strdup (log_path);
  self->log = fopen (log_path, "w");
  if (self->log == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s", log_path);
      return NULL;
    }
  self->process = rc_roomcast_process_spawn (&process_options, error);
  if (self->process == NULL)
    return NULL;
  if (!rc_bench_wait (server_ready, self, 20000) || rc_roomcast_process_get_url (self->process) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "roomcast did not print its URL within 20 s (exited: %s); see %s",
                   rc_roomcast_process_has_exited (self->process) ? "yes" : "no", log_path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

RcBenchServer *
rc_bench_server_start (const char *roomcast, const char *const *extra_args, const char *log_path,
                       GError **error)
{
  RcBenchServerOptions options = {
    .roomcast = roomcast, .extra_args = extra_args, .log_path = log_path,
  };

  return rc_bench_server_start_with (&options, error);
}

gboolean
rc_bench_server_stop (RcBenchServer *self, double grace_s)
{
  return self->process == NULL || rc_roomcast_process_stop (self->process, grace_s);
}

void
rc_bench_server_free (RcBenchServer *self)
{
  if (self == NULL)
    return;
  rc_bench_server_stop (self, 10);
  g_clear_pointer (&self->process, rc_roomcast_process_free);
  g_clear_object (&self->http);
  if (self->log != NULL)
    fclose (self->log);
  g_free (self->log_path);
  g_free (self);
}

const char *
rc_bench_server_get_url (RcBenchServer *self)
{
  return rc_roomcast_process_get_url (self->process);
}

guint
rc_bench_server_get_port (RcBenchServer *self)
{
  return rc_roomcast_process_get_port (self->process);
}

GPid
rc_bench_server_get_pid (RcBenchServer *self)
{
  return rc_roomcast_process_get_pid (self->process);
}

gboolean
rc_bench_server_has_exited (RcBenchServer *self)
{
  return rc_roomcast_process_has_exited (self->process);
}

gboolean
rc_bench_server_died (RcBenchServer *self)
{
  return rc_roomcast_process_died (self->process);
}

int
rc_bench_server_get_status (RcBenchServer *self)
{
  return rc_roomcast_process_get_status (self->process);
}

JsonNode *
rc_bench_server_request (RcBenchServer *self, const char *method, const char *path,
                         const char *bearer, const char *body, guint *status, GError **error)
{
  g_autofree char *url = g_strconcat (rc_bench_server_get_url (self), path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) reply = NULL;
  g_autofree char *text = NULL;

  *status = 0;
  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad URL %s", url);
      return NULL;
    }
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  if (bearer != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", bearer);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  reply = soup_session_send_and_read (self->http, msg, NULL, error);
  if (reply == NULL)
    return NULL;
  *status = soup_message_get_status (msg);
  text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  return json_from_string (text, error);
}

/* @node's object when @status is @want, else an error naming the request. */
static JsonObject *
expect_object (JsonNode *node, guint status, guint want, const char *what, GError **error)
{
  if (node != NULL && status == want && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  if (error != NULL && *error == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s answered %u", what, status);
  return NULL;
}

gboolean
rc_bench_server_create_room (RcBenchServer *self, const char *name, char **room_id,
                             char **owner_token, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) request = NULL;
  g_autofree char *body = NULL;
  g_autoptr (JsonNode) reply = NULL;
  guint status = 0;
  JsonObject *o;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);
  body = json_to_string (request, FALSE);
  reply = rc_bench_server_request (self, "POST", "/api/rooms", NULL, body, &status, error);
  o = expect_object (reply, status, 201, "POST /api/rooms", error);
  if (o == NULL)
    return FALSE;
  *room_id = g_strdup (json_object_get_string_member_with_default (o, "id", ""));
  *owner_token = g_strdup (json_object_get_string_member_with_default (o, "ownerToken", ""));
  return TRUE;
}

char *
rc_bench_server_create_key (RcBenchServer *self, const char *room_id, const char *owner_token,
                            GError **error)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/keys", room_id);
  guint status = 0;
  g_autoptr (JsonNode) reply = rc_bench_server_request (self, "POST", path, owner_token,
                                                        "{\"label\":\"bench\"}", &status, error);
  JsonObject *o = expect_object (reply, status, 201, "POST /api/rooms/{id}/keys", error);

  return o != NULL ? g_strdup (json_object_get_string_member_with_default (o, "key", NULL))
                   : NULL;
}

JsonArray *
rc_bench_server_wait_library (RcBenchServer *self, guint count, double timeout_s, GError **error)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!rc_bench_interrupted ())
    {
      guint status = 0;
      g_autoptr (JsonNode) reply =
        rc_bench_server_request (self, "GET", "/api/library?limit=100", NULL, NULL, &status, error);
      JsonObject *o = expect_object (reply, status, 200, "GET /api/library", error);
      JsonArray *songs;

      if (o == NULL)
        return NULL;
      songs = json_object_has_member (o, "songs") ? json_object_get_array_member (o, "songs")
                                                  : NULL;
      if (songs != NULL && json_array_get_length (songs) >= count
          && !json_object_get_boolean_member_with_default (o, "scanning", FALSE))
        return json_array_ref (songs);
      if (g_get_monotonic_time () >= end)
        break;
      rc_bench_wait (NULL, NULL, 200);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "the library did not list %u songs", count);
  return NULL;
}

JsonObject *
rc_bench_server_room_stats (RcBenchServer *self, const char *room_id)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", room_id);
  guint status = 0;
  g_autoptr (JsonNode) reply = rc_bench_server_request (self, "GET", path, NULL, NULL, &status,
                                                        NULL);
  JsonObject *o = expect_object (reply, status, 200, "stats", NULL);

  return o != NULL ? json_object_ref (o) : NULL;
}

/* ---- the control connection ---- */

struct _RcBenchControl
{
  SoupSession *http;
  GCancellable *cancellable;
  SoupWebsocketConnection *ws;
  char *room_id;
  char *owner_token;
  RcBenchControlFunc on_message;
  gpointer user_data;
  RcBenchControlBinaryFunc on_binary;
  gpointer binary_data;
  GStrv prefixes; /* '{"type":"T"' of the types read, or NULL: all */
  gboolean joined;
  char *failure;
};

static void
control_fail (RcBenchControl *self, char *why)
{
  if (self->failure == NULL)
    self->failure = why;
  else
    g_free (why);
}

static void
on_control_message (SoupWebsocketConnection *ws, gint type, GBytes *data, gpointer user_data)
{
  RcBenchControl *self = user_data;
  gsize size;
  const char *text = g_bytes_get_data (data, &size);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o;
  const char *kind;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      if (self->on_binary != NULL)
        self->on_binary (data, self->binary_data);
      return;
    }
  if (self->prefixes != NULL && size > 10)
    {
      guint i;

      for (i = 0; self->prefixes[i] != NULL; i++)
        if (size >= strlen (self->prefixes[i])
            && strncmp (text, self->prefixes[i], strlen (self->prefixes[i])) == 0)
          break;
      if (self->prefixes[i] == NULL)
        return;
    }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) size, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  o = json_node_get_object (json_parser_get_root (parser));
  kind = json_object_get_string_member_with_default (o, "type", "");
  if (g_str_equal (kind, "initialState"))
    self->joined = TRUE;
  else if (g_str_equal (kind, "error"))
    control_fail (self, g_strdup_printf ("error %" G_GINT64_FORMAT ": %s",
                                         json_object_get_int_member_with_default (o, "code", 0),
                                         json_object_get_string_member_with_default (o, "message",
                                                                                     "?")));
  if (self->on_message != NULL)
    self->on_message (o, self->user_data);
}

static void
on_control_closed (SoupWebsocketConnection *ws, gpointer user_data)
{
  control_fail (user_data, g_strdup ("the control connection closed"));
}

static void
on_control_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *ws =
    soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  RcBenchControl *self = user_data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* freed */
  if (ws == NULL)
    {
      control_fail (self, g_strdup_printf ("cannot connect: %s", error->message));
      return;
    }
  self->ws = ws;
  soup_websocket_connection_set_max_incoming_payload_size (ws, 64 * 1024 * 1024);
  g_signal_connect (ws, "message", G_CALLBACK (on_control_message), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_control_closed), self);
  if (self->owner_token != NULL)
    rc_bench_control_send (self,
                           "{\"type\":\"join\",\"id\":\"join\",\"roomId\":\"%s\","
                           "\"name\":\"bench\",\"ownerToken\":\"%s\"}",
                           self->room_id, self->owner_token);
  else
    rc_bench_control_send (self,
                           "{\"type\":\"join\",\"id\":\"join\",\"roomId\":\"%s\",\"name\":\"bench\"}",
                           self->room_id);
}

RcBenchControl *
rc_bench_control_new (RcBenchServer *server, const char *room_id, const char *owner_token,
                      RcBenchControlFunc on_message, gpointer user_data)
{
  RcBenchControl *self = g_new0 (RcBenchControl, 1);
  g_autofree char *ws_url = g_strdup_printf ("ws%s/ws", rc_bench_server_get_url (server) + strlen ("http"));
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", ws_url);

  self->http = soup_session_new ();
  self->cancellable = g_cancellable_new ();
  self->room_id = g_strdup (room_id);
  self->owner_token = g_strdup (owner_token);
  self->on_message = on_message;
  self->user_data = user_data;
  soup_session_websocket_connect_async (self->http, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_control_connected, self);
  return self;
}

void
rc_bench_control_set_binary_func (RcBenchControl *self, RcBenchControlBinaryFunc func,
                                  gpointer user_data)
{
  self->on_binary = func;
  self->binary_data = user_data;
}

void
rc_bench_control_only (RcBenchControl *self, const char *const *types)
{
  g_autoptr (GPtrArray) prefixes = g_ptr_array_new ();

  g_ptr_array_add (prefixes, g_strdup ("{\"type\":\"initialState\""));
  g_ptr_array_add (prefixes, g_strdup ("{\"type\":\"error\""));
  for (guint i = 0; types != NULL && types[i] != NULL; i++)
    g_ptr_array_add (prefixes, g_strdup_printf ("{\"type\":\"%s\"", types[i]));
  g_ptr_array_add (prefixes, NULL);
  g_strfreev (self->prefixes);
  self->prefixes = (GStrv) g_ptr_array_free (g_steal_pointer (&prefixes), FALSE);
}

static gboolean
control_joined_or_failed (gpointer data)
{
  RcBenchControl *self = data;

  return self->joined || self->failure != NULL;
}

gboolean
rc_bench_control_wait_joined (RcBenchControl *self, double timeout_ms, GError **error)
{
  if (rc_bench_wait (control_joined_or_failed, self, timeout_ms) && self->joined)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the control connection did not join: %s",
               self->failure != NULL ? self->failure : "no initialState in time");
  return FALSE;
}

void
rc_bench_control_send (RcBenchControl *self, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (self->ws != NULL && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->ws, text);
}

const char *
rc_bench_control_get_failure (RcBenchControl *self)
{
  return self->failure;
}

void
rc_bench_control_free (RcBenchControl *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->ws);
    }
  g_clear_object (&self->cancellable);
  g_clear_object (&self->http);
  g_free (self->room_id);
  g_free (self->owner_token);
  g_strfreev (self->prefixes);
  g_free (self->failure);
  g_free (self);
}

/* ---- native guests ---- */

struct _RcBenchNative
{
  GSubprocess *proc;
  GDataInputStream *out;
  GCancellable *cancellable;
  char *name;
  gboolean listening;
  gboolean exited;
  gboolean stopping;
  char *failure;
  char *last_line;
};

static void
on_native_line (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  RcBenchNative *self = data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* freed */
  if (line == NULL)
    {
      self->exited = TRUE;
      if (self->failure == NULL && !self->stopping)
        self->failure = g_strdup_printf ("%s exited (last line: %s)", self->name,
                                         self->last_line != NULL ? self->last_line : "none");
      return;
    }
  if (strstr (line, "audio out") != NULL)
    self->listening = TRUE;
  if (strstr (line, "failed:") != NULL && self->failure == NULL)
    self->failure = g_strdup_printf ("%s %s", self->name, strstr (line, "failed:"));
  g_free (self->last_line);
  self->last_line = g_steal_pointer (&line);
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable,
                                       on_native_line, self);
}

RcBenchNative *
rc_bench_native_spawn (const RcBenchNativeOptions *options, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (RcBenchNative) self = g_new0 (RcBenchNative, 1);

  g_ptr_array_add (argv, (gpointer) options->guest);
  g_ptr_array_add (argv, "--server");
  g_ptr_array_add (argv, (gpointer) options->server_url);
  g_ptr_array_add (argv, "--room");
  g_ptr_array_add (argv, (gpointer) options->room_id);
  g_ptr_array_add (argv, "--name");
  g_ptr_array_add (argv, (gpointer) options->name);
  g_ptr_array_add (argv, "--transport");
  g_ptr_array_add (argv, (gpointer) (options->transport != NULL ? options->transport : "webrtc"));
  if (options->record_path != NULL)
    {
      g_ptr_array_add (argv, "--record");
      g_ptr_array_add (argv, (gpointer) options->record_path);
    }
  if (options->no_realtime)
    g_ptr_array_add (argv, "--no-realtime");
  g_ptr_array_add (argv, NULL);

  self->name = g_strdup (options->name);
  self->cancellable = g_cancellable_new ();
  self->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (self->proc == NULL)
    return NULL;
  self->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->proc));
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable,
                                       on_native_line, self);
  return g_steal_pointer (&self);
}

gboolean
rc_bench_native_is_listening (RcBenchNative *self)
{
  return self->listening;
}

const char *
rc_bench_native_get_failure (RcBenchNative *self)
{
  return self->failure;
}

const char *
rc_bench_native_get_last_line (RcBenchNative *self)
{
  return self->last_line;
}

void
rc_bench_native_stop (RcBenchNative *self, double grace_s)
{
  self->stopping = TRUE;
  rc_roomcast_child_stop (self->proc, grace_s);
}

void
rc_bench_native_free (RcBenchNative *self)
{
  if (self == NULL)
    return;
  if (self->proc != NULL)
    rc_bench_native_stop (self, 5);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->proc);
  g_clear_object (&self->out);
  g_clear_object (&self->cancellable);
  g_free (self->name);
  g_free (self->failure);
  g_free (self->last_line);
  g_free (self);
}

/* ---- servers of others the benchmarks start ---- */

gboolean
rc_bench_http_get_ok (guint port, const char *path)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.0\r\n\r\n", path);
  char head[16] = { 0 };
  gsize got = 0;

  g_socket_client_set_timeout (client, 2);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", (guint16) port, NULL, NULL);
  if (conn == NULL
      || !g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                                     strlen (request), NULL, NULL, NULL)
      || !g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (conn)), head,
                                   sizeof head - 1, &got, NULL, NULL))
    return FALSE;
  return strstr (head, " 200") != NULL;
}

static void
on_child_exited (GObject *source, GAsyncResult *result, gpointer data)
{
  gboolean *exited = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
  g_rc_box_release (exited);
}

gboolean *
rc_bench_watch_exit (GSubprocess *proc)
{
  gboolean *exited = g_rc_box_new0 (gboolean);

  /* The wait's callback holds its own reference. */
  g_subprocess_wait_async (proc, NULL, on_child_exited, g_rc_box_acquire (exited));
  return exited;
}

void
rc_bench_child_end (GSubprocess *proc, gboolean *exited)
{
  if (proc != NULL)
    {
      rc_roomcast_child_stop (proc, 5);
      g_object_unref (proc);
    }
  if (exited != NULL)
    g_rc_box_release (exited);
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * What a benchmark needs of a roomcast and its guests, in one place:
 *
 * - RcBenchServer: a roomcast process on 127.0.0.1 with a free port
 *   (--port 0, read back from its "listening on" line), --store memory,
 *   --rate-limit 0 and --empty-room-pause 86400 plus the caller's
 *   arguments, its output in a log file; and synchronous REST requests to
 *   it (rooms, publish keys, the library, stats).
 * - RcBenchControl: a WebSocket that joins a room (as its owner) to send
 *   commands and read what the room says.
 * - RcBenchNative: a roomcast-guest process (a native guest that renders
 *   at C + D and, with a record path, writes what it rendered with its
 *   server-time sidecar), watched through its output lines.
 *
 * Every child gets PR_SET_PDEATHSIG (SIGKILL): it dies with the benchmark,
 * however that ends. Sockets and children's output are served by the
 * thread-default main context of the thread that made them; the benchmark
 * spins it with rc_bench_wait(), which also ends early once SIGINT,
 * SIGTERM or SIGHUP came (rc_bench_catch_signals).
 */
typedef struct _RcBenchServer RcBenchServer;
typedef struct _RcBenchControl RcBenchControl;
typedef struct _RcBenchNative RcBenchNative;

/* ---- waiting and children ---- */

/* SIGINT, SIGTERM and SIGHUP set the flag rc_bench_interrupted() reads. */
void rc_bench_catch_signals (void);
gboolean rc_bench_interrupted (void);

/* Progress lines on stderr, "[  12.3 s] text", counted from the last
 * rc_bench_progress_restart() (from the first line, when never called). */
void rc_bench_progress_restart (void);
void rc_bench_progress (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Spins the thread-default main context until @cond (@data) holds (never,
 * when NULL), @timeout_ms pass, or an interrupt; returns whether @cond
 * held. */
gboolean rc_bench_wait (gboolean (*cond) (gpointer data), gpointer data, double timeout_ms);

/* Waits up to @seconds for the whole machine to be under @busy_pct busy
 * over 2 s; returns the last reading (%). */
double rc_bench_wait_quiet (double seconds, double busy_pct);

/* Children's launcher, stop and free ports: tools/support/rc_roomcast_process.h. */

/* ---- the server ---- */

typedef void (*RcBenchLineFunc) (const char *line, gpointer user_data);

typedef struct
{
  const char *roomcast;
  const char *const *extra_args; /* NULL-ended, may be NULL */
  const char *log_path;          /* its output */
  /* Run in the child before exec, after PR_SET_PDEATHSIG (nice, CPU
   * pinning); may be NULL. */
  GSpawnChildSetupFunc child_setup;
  gpointer child_setup_data;
  /* Every line it prints, on the main context; may be NULL. */
  RcBenchLineFunc on_line;
  gpointer user_data;
} RcBenchServerOptions;

/* Starts the server with the arguments above and @options->extra_args;
 * waits up to 20 s for its URL. */
RcBenchServer *rc_bench_server_start_with (const RcBenchServerOptions *options, GError **error);
/* The same with no child setup and no line callback. */
RcBenchServer *rc_bench_server_start (const char *roomcast, const char *const *extra_args,
                                      const char *log_path, GError **error);
/* SIGTERM, SIGKILL after @grace_s; FALSE when it had to be killed. */
gboolean rc_bench_server_stop (RcBenchServer *server, double grace_s);
/* Stops it (10 s grace) and frees. */
void rc_bench_server_free (RcBenchServer *server);

const char *rc_bench_server_get_url (RcBenchServer *server); /* http://127.0.0.1:PORT */
guint rc_bench_server_get_port (RcBenchServer *server);
GPid rc_bench_server_get_pid (RcBenchServer *server);
gboolean rc_bench_server_has_exited (RcBenchServer *server);
/* It exited before rc_bench_server_stop() asked it to. */
gboolean rc_bench_server_died (RcBenchServer *server);
/* Its exit status, or minus the signal that ended it (0 while it runs). */
int rc_bench_server_get_status (RcBenchServer *server);

/* One REST request, synchronous; the JSON answer (NULL when there was no
 * answer or it was not JSON, with @error). @bearer and @body may be NULL. */
JsonNode *rc_bench_server_request (RcBenchServer *server, const char *method, const char *path,
                                   const char *bearer, const char *body, guint *status,
                                   GError **error);
/* GET @path of 127.0.0.1:@port (HTTP/1.0, 2 s timeout) answers 200: a
 * server the benchmark started (Icecast, Janus) is up. */
gboolean rc_bench_http_get_ok (guint port, const char *path);
/* A flag (a g_rc_box, released by rc_bench_child_end) set when @proc ends. */
gboolean *rc_bench_watch_exit (GSubprocess *proc);
/* Stops @proc (SIGTERM, SIGKILL after 5 s) and drops it and its flag; either may be NULL. */
void rc_bench_child_end (GSubprocess *proc, gboolean *exited);

/* POST /api/rooms. */
gboolean rc_bench_server_create_room (RcBenchServer *server, const char *name, char **room_id,
                                      char **owner_token, GError **error);
/* POST /api/rooms/{id}/keys: the new key's secret, or NULL. */
char *rc_bench_server_create_key (RcBenchServer *server, const char *room_id,
                                  const char *owner_token, GError **error);
/* Waits up to @timeout_s for the library to hold @count songs; returns
 * them (GET /api/library's "songs", owned by the caller). */
JsonArray *rc_bench_server_wait_library (RcBenchServer *server, guint count, double timeout_s,
                                         GError **error);
/* GET /api/rooms/{id}/stats (NULL on failure). */
JsonObject *rc_bench_server_room_stats (RcBenchServer *server, const char *room_id);

/* ---- the control connection ---- */

typedef void (*RcBenchControlFunc) (JsonObject *message, gpointer user_data);
typedef void (*RcBenchControlBinaryFunc) (GBytes *frame, gpointer user_data);

/* Connects to /ws and joins @room_id as "bench" (the owner with
 * @owner_token, may be NULL); @on_message (may be NULL) gets every text
 * message. */
RcBenchControl *rc_bench_control_new (RcBenchServer *server, const char *room_id,
                                      const char *owner_token, RcBenchControlFunc on_message,
                                      gpointer user_data);
/* Binary frames (the WebSocket media) go to @func; unset, they are dropped.
 * Call it before the main context runs again. */
void rc_bench_control_set_binary_func (RcBenchControl *control, RcBenchControlBinaryFunc func,
                                       gpointer user_data);
/* Only text messages of these types (NULL-ended; initialState and error
 * always) are parsed and passed on; the rest (a room's viewersUpdated
 * grows with every guest) are dropped unread. Call it before the main
 * context runs again. */
void rc_bench_control_only (RcBenchControl *control, const char *const *types);
/* Waits for initialState; FALSE with @error on a failure or after @timeout_ms. */
gboolean rc_bench_control_wait_joined (RcBenchControl *control, double timeout_ms,
                                       GError **error);
void rc_bench_control_send (RcBenchControl *control, const char *format, ...)
  G_GNUC_PRINTF (2, 3);
/* The first error message or the close, or NULL. */
const char *rc_bench_control_get_failure (RcBenchControl *control);
void rc_bench_control_free (RcBenchControl *control);

/* ---- native guests ---- */

typedef struct
{
  const char *guest;       /* the roomcast-guest program */
  const char *server_url;
  const char *room_id;
  const char *name;
  const char *transport;   /* "webrtc" or "ws"; NULL: webrtc */
  const char *record_path; /* WAV of what it rendered (+ .json sidecar); may be NULL */
  gboolean no_realtime;
} RcBenchNativeOptions;

RcBenchNative *rc_bench_native_spawn (const RcBenchNativeOptions *options, GError **error);
/* Its "audio out" line came: it renders. */
gboolean rc_bench_native_is_listening (RcBenchNative *native);
/* Its "failed:" line, or that it exited; NULL while all is well. */
const char *rc_bench_native_get_failure (RcBenchNative *native);
const char *rc_bench_native_get_last_line (RcBenchNative *native);
/* Ends it (SIGTERM: it leaves and finishes its recording; SIGKILL after
 * @grace_s). */
void rc_bench_native_stop (RcBenchNative *native, double grace_s);
void rc_bench_native_free (RcBenchNative *native);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchServer, rc_bench_server_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchControl, rc_bench_control_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcBenchNative, rc_bench_native_free)

G_END_DECLS

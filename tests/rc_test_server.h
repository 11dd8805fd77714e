/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * A real roomcast process on 127.0.0.1 with a port it picked itself (--port
 * 0): started from $ROOMCAST_BIN (tools/support/rc_roomcast_process.h),
 * its printed URL parsed for the port, stopped with SIGTERM. Plus a small synchronous HTTP client for REST calls.
 */
typedef struct
{
  guint port;
  char *base_url; /* "http://127.0.0.1:PORT" (no trailing slash) */
  GString *output; /* everything it printed on stdout */
} RcTestServer;

/* @args: extra flags, NULL-terminated (may be NULL). Fails the test on error. */
RcTestServer *rc_test_server_start (const char *const *args);
/* Same, but returns NULL with @error when the server never prints its URL. */
RcTestServer *rc_test_server_try_start (const char *const *args, GError **error);
/* Same, with @setup run in the child before exec (e.g. setrlimit). */
RcTestServer *rc_test_server_start_with_setup (const char *const *args, GSpawnChildSetupFunc setup,
                                               gpointer setup_data);
/* SIGTERM, then wait; returns the exit status (SIGKILL after 10 s: -1). */
int rc_test_server_stop (RcTestServer *server);
void rc_test_server_free (RcTestServer *server);
/* Its process id (for /proc/PID reads); 0 once it has been reaped. */
GPid rc_test_server_get_pid (RcTestServer *server);

/* Runs roomcast with @args to completion; its exit status and stdout+stderr. */
int rc_test_run_roomcast (const char *const *args, const char *const *env, char **output);

/*
 * One HTTP request. @body: JSON text or NULL; @bearer: token or NULL.
 * Returns the parsed JSON body (NULL if not JSON) and the status.
 */
JsonNode *rc_test_http (RcTestServer *server, const char *method, const char *path,
                        const char *body, const char *bearer, guint *status);

/* The same with the body sent as @content_type (rc_test_http sends JSON). */
JsonNode *rc_test_http_typed (RcTestServer *server, const char *method, const char *path,
                              const char *content_type, const char *body, const char *bearer,
                              guint *status);
/* GET @path as text, 200 expected (else the test fails); its Content-Type
 * into @type when not NULL. */
char *rc_test_http_text (RcTestServer *server, const char *path, char **type);
/* POST /api/rooms; returns the response object (id, ownerToken, ...). */
JsonObject *rc_test_create_room (RcTestServer *server, const char *name, const char *password);

/* The library has finished scanning and holds @total songs. */
gboolean rc_test_library_has (RcTestServer *server, gint64 total);
/* The id of the library song titled @title (searched for; fails the test
 * when there is none). */
char *rc_test_song_id (RcTestServer *server, const char *title);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTestServer, rc_test_server_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "rc_test_server.h"

G_BEGIN_DECLS

/* A WebSocket client on /ws that queues every JSON message it receives. */
typedef struct
{
  SoupSession *session;
  SoupWebsocketConnection *conn;
  GQueue messages; /* JsonNode* in arrival order */
  GQueue binary;   /* GBytes* of binary frames, in arrival order */
  gboolean closed;
  gushort close_code;
} RcTestWs;

RcTestWs *rc_test_ws_connect (RcTestServer *server);
void rc_test_ws_free (RcTestWs *ws);

void rc_test_ws_send (RcTestWs *ws, const char *text);
/* printf-style JSON text. */
void rc_test_ws_sendf (RcTestWs *ws, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The next message (any type), waiting up to @timeout_ms; NULL on timeout. */
JsonObject *rc_test_ws_next (RcTestWs *ws, guint timeout_ms);
/* Drops messages until one of @type arrives; fails the test on timeout. */
JsonObject *rc_test_ws_expect (RcTestWs *ws, const char *type, guint timeout_ms);
/* Expects an error with @code next (skipping other types); returns it. */
JsonObject *rc_test_ws_expect_error (RcTestWs *ws, int code, guint timeout_ms);
/* Sends @request (a JSON object without "id") with an id, and returns the
 * direct reply to it (its result or its error), skipping broadcasts. */
JsonObject *rc_test_ws_command (RcTestWs *ws, const char *request);

/* Connects and joins; returns the initialState object. */
RcTestWs *rc_test_ws_join (RcTestServer *server, const char *room_id, const char *name,
                           const char *password, const char *owner_token,
                           JsonObject **initial_state);

/*
 * A raw client, for peers that misbehave: the WebSocket handshake and a
 * join by hand over a plain socket (its receive buffer @rcvbuf bytes when
 * not 0), after which the test decides whether it reads. Its inbound
 * frames are read one at a time (blocking): the payload (NUL-terminated
 * past its end) and @opcode, NULL when the socket ends.
 */
GSocketConnection *rc_test_ws_raw_join (RcTestServer *server, const char *room_id,
                                        const char *name, int rcvbuf);
/* The same, its join written with the upgrade request in one write, before
 * the 101 comes back (what the server's HTTP reading takes ahead). */
GSocketConnection *rc_test_ws_raw_join_eager (RcTestServer *server, const char *room_id,
                                              const char *name);
void rc_test_ws_raw_send (GSocketConnection *conn, const char *text);
GBytes *rc_test_ws_raw_read (GSocketConnection *conn, guint *opcode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTestWs, rc_test_ws_free)

G_END_DECLS

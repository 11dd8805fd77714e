/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "server/core/rc_activity_stream.h"
#include "server/core/rc_ws_writer.h"
#include "server/rc_config.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_rate_limit.h"
#include "server/rooms/rc_registry.h"

G_BEGIN_DECLS

/*
 * RcSession: one WebSocket connection on /ws. It owns the per-connection
 * limits, turns each text frame into a validated request, dispatches it
 * through the handler table (rc_handlers.c), and holds the guest while the
 * connection is in a room. Main context only.
 */
typedef struct _RcSession RcSession;

/* What a session needs from the server; borrowed, outlives every session. */
typedef struct
{
  const RcConfig *config;
  RcRegistry *registry;
  RcClock *clock;
  /* Password attempts, one bucket per room and address
   * (RC_SESSION_PASSWORD_ATTEMPTS), and one per address over every room
   * (RC_SESSION_PASSWORD_ADDRESS_ATTEMPTS); owned by the server, which
   * sweeps them. */
  RcRateLimits *password_limits;
  RcRateLimits *password_address_limits;
  /* Who is in each room as guests are told it; owned by the server. */
  struct _RcPresence *presence;
  /* Guests of rooms other nodes serve (a cluster; NULL: a lone node);
   * owned by the server. */
  struct _RcSessionRelay *relay;
} RcSessionHost;

/* Wrong or right, a client may try this many passwords a minute on one
 * room from one address; the next gets rate_limited (4300). */
#define RC_SESSION_PASSWORD_ATTEMPTS 5
/* …and this many over all rooms: a client cannot spread its guesses over
 * many rooms to spend the server's CPU on checks (each ~10 ms). */
#define RC_SESSION_PASSWORD_ADDRESS_ATTEMPTS 20

typedef void (*RcSessionClosedFunc) (RcSession *session, gpointer user_data);

/* @activity counts bytes received on @conn (pongs included); may be NULL.
 * @ws_peer: the writer that sends @conn's bytes (WebSocket audio joins its
 * queue); may be NULL. */
/* @peer: "address:port" for logs; @address: the client's address alone,
 * for the limits kept per address. */
RcSession *rc_session_new (const RcSessionHost *host, SoupWebsocketConnection *conn,
                           RcActivityStream *activity, RcWsPeer *ws_peer, const char *peer,
                           const char *address, RcSessionClosedFunc closed, gpointer user_data);
void rc_session_free (RcSession *session);

void rc_session_send (RcSession *session, JsonNode *message);
/* @text: a serialised message of @length bytes (NUL-terminated). */
void rc_session_send_text (RcSession *session, const char *text, gsize length);
/* @frame: a text message framed once for many (rc_ws_frame_text); only for
 * a session with a writer (its guest's send_frame is set then). */
void rc_session_send_frame (RcSession *session, GBytes *frame);
void rc_session_close (RcSession *session, gushort code, const char *reason);

/* Drops the session (leaving its room first) if it has been silent too long. */
void rc_session_check_idle (RcSession *session, gint64 now_us);

const char *rc_session_get_peer (RcSession *session);

/*
 * A session without a socket, for the fuzzers and tests: every text it would
 * send goes to @sink (may be NULL: dropped), binary frames are dropped, and
 * rc_session_receive_text() hands it inbound messages. Free it with
 * rc_session_free().
 */
typedef void (*RcSessionSinkFunc) (RcSession *session, const char *text, gsize length,
                                   gpointer user_data);
RcSession *rc_session_new_detached (const RcSessionHost *host, const char *peer,
                                    RcSessionSinkFunc sink, gpointer user_data);
/* One inbound text frame of @length bytes, handled exactly as one read from
 * the socket (rate limit, size limit, parse, validation, handler). */
void rc_session_receive_text (RcSession *session, const char *data, gsize length);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_loadgen_private.h"

G_BEGIN_DECLS

/*
 * RcLgJanus: a load generator guest that watches a Janus Streaming
 * mountpoint instead of joining a roomcast room (bench-fanout's Janus side,
 * issue 13). Janus's plain HTTP API on the guest's one keep-alive
 * connection, one request at a time: create a session, attach
 * janus.plugin.streaming, "watch" the mountpoint, long-poll the session
 * (GET ?maxev=1) for the event that carries Janus's offer, answer it with a
 * "start" message, trickle our one host candidate (and "completed"), then
 * keep one long poll open as Janus's own clients do (it also keeps the
 * session alive). The media side is the roomcast guests' (rc_lg_webrtc.h):
 * STUN as the controlling agent (Janus runs ice_lite), DTLS client, RTP
 * counted by its header.
 */
typedef struct _RcLgJanus RcLgJanus;

/* The connection is up: sends the "create". FALSE with @failure. */
gboolean rc_lg_janus_start (RcLoadgen *lg, RcLgConn *conn, char **failure);
/* @data[0..@length) arrived (with what was kept): returns the bytes used
 * (whole answers), -1 with @failure. */
gssize rc_lg_janus_read (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length,
                         char **failure);
void rc_lg_janus_free (RcLgJanus *janus);
/* One HTTP answer at @data (a head, then a Content-Length or chunked
 * body): its body into @body and the bytes it took; 0 while incomplete,
 * -1 with @failure when it is not a 200 or cannot be read. */
gssize rc_lg_janus_next_answer (const guint8 *data, gsize length, GString *body, char **failure);

G_END_DECLS

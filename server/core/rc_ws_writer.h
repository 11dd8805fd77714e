/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RcWsWriter: the thread that writes every WebSocket connection's bytes, so
 * the room's audio never waits for the main context and the main context
 * never waits for a socket (see docs/architecture.md, "The WebSocket
 * writer").
 *
 * A connection handed over with rc_ws_writer_attach() becomes an RcWsPeer:
 * libsoup still reads, parses and frames the control messages on the main
 * context (the writer's maker's: the peers must share it), waking on one
 * epoll set for every socket instead of one polled fd each, but what it
 * writes lands in the peer's queue (the output stream
 * always takes everything at once, so each of libsoup's frames is one
 * chunk), and the writer thread sends the queue with non-blocking sendmsg
 * of up to RC_WS_WRITER_IOV chunks at a time. Media frames join the same
 * queue from any thread through an RcWsGroup: one message, framed once, one
 * reference-counted buffer shared by every peer of the group.
 *
 * A peer whose socket has refused bytes for RC_WS_STALL_MS while media
 * waited, or with more than RC_WS_MAX_MEDIA_BACKLOG bytes of media queued,
 * loses its media: what was not started is dropped, nothing more is queued
 * for it, and the group's owner hears of it on its main context
 * (RC_WS_GROUP_DROPPED). Control messages still flow.
 */
typedef struct _RcWsWriter RcWsWriter;
typedef struct _RcWsPeer RcWsPeer;
typedef struct _RcWsGroup RcWsGroup;

#define RC_WS_WRITER_IOV 64
/* The kernel's send buffer of a peer (SO_SNDBUF; Linux doubles it). */
#define RC_WS_SNDBUF 32768
#define RC_WS_STALL_MS 1000
#define RC_WS_MAX_MEDIA_BACKLOG (64 * 1024)

RcWsWriter *rc_ws_writer_new (void);
/* Joins the thread; every peer must have been closed or dropped. */
void rc_ws_writer_free (RcWsWriter *writer);

/* Takes over writing to @connection (a GSocketConnection, or a wrapper of
 * one whose socket is @socket). Returns the stream to build the
 * SoupWebsocketConnection on: its input is @connection's, its output the
 * peer's queue; closing it closes @connection once the queue has been sent
 * (or after RC_WS_STALL_MS). @peer_out gets a reference to the peer. */
GIOStream *rc_ws_writer_attach (RcWsWriter *writer, GIOStream *connection, GSocket *socket,
                                RcWsPeer **peer_out);

RcWsPeer *rc_ws_peer_ref (RcWsPeer *peer);
void rc_ws_peer_unref (RcWsPeer *peer);
RcWsWriter *rc_ws_peer_get_writer (RcWsPeer *peer);
/* Queues a WebSocket ping (empty payload) between two of libsoup's frames:
 * one timer for every connection instead of libsoup's keepalive source per
 * connection on the main context. The caller checks the connection is
 * open (no frame may follow a close). */
void rc_ws_peer_ping (RcWsPeer *peer);
/* A text message framed once as a server sends it, for rc_ws_peer_send_frame
 * to every recipient of a broadcast. */
GBytes *rc_ws_frame_text (const char *text, gsize length);
/* Queues a whole frame (a reference to @frame) after what libsoup wrote so
 * far: libsoup writes each of its frames at once, so the order holds. The
 * caller checks the connection is open. */
void rc_ws_peer_send_frame (RcWsPeer *peer, GBytes *frame);

typedef enum
{
  RC_WS_GROUP_FIRST_FRAME, /* the peer's first media frame was queued */
  RC_WS_GROUP_DROPPED,     /* the peer could not keep up and lost its media */
} RcWsGroupEvent;

/* On the main context of the group's maker; @peer is borrowed. */
typedef void (*RcWsGroupFunc) (RcWsPeer *peer, RcWsGroupEvent event, gpointer user_data);

/* Peers that take the same media (one room's WebSocket listeners). */
RcWsGroup *rc_ws_group_new (RcWsWriter *writer, RcWsGroupFunc func, gpointer user_data);
/* No callback after this; the peers keep what was queued. Main context. */
void rc_ws_group_free (RcWsGroup *group);
/* Main context. A peer is in at most one group. */
void rc_ws_group_add (RcWsGroup *group, RcWsPeer *peer);
void rc_ws_group_remove (RcWsGroup *group, RcWsPeer *peer);
/* Any thread: @payload as one binary WebSocket message to every peer. */
void rc_ws_group_send (RcWsGroup *group, GBytes *payload);
/* Messages and bytes queued for peers so far (any thread). */
void rc_ws_group_get_sent (RcWsGroup *group, guint64 *messages, guint64 *bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWsPeer, rc_ws_peer_unref)

G_END_DECLS

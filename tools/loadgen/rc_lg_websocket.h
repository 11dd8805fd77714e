/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The load generator's own WebSocket client wire format (RFC 6455), small
 * enough to run for thousands of connections on one thread: the upgrade
 * request and the check of its answer, masked client frames, and an
 * incremental reader of the server's frames that never buffers more than
 * one media frame, skipping the body of large text messages (a room's
 * participant list) after reading their first bytes.
 */

#define RC_LG_WS_OP_CONTINUATION 0x0
#define RC_LG_WS_OP_TEXT 0x1
#define RC_LG_WS_OP_BINARY 0x2
#define RC_LG_WS_OP_CLOSE 0x8
#define RC_LG_WS_OP_PING 0x9
#define RC_LG_WS_OP_PONG 0xA

/* Text messages longer than this are handed on by their first
 * RC_LG_WS_TEXT_PREFIX bytes only; the rest is skipped as it arrives. */
#define RC_LG_WS_TEXT_WHOLE 8192
#define RC_LG_WS_TEXT_PREFIX 256
/* A binary message (media) larger than this is a protocol error here. */
#define RC_LG_WS_BINARY_MAX 65536
/* The most a reader ever keeps between two reads. */
#define RC_LG_WS_KEEP_MAX (RC_LG_WS_BINARY_MAX + 14)

/* The upgrade request for @path on @host (e.g. "127.0.0.1:8080"), and the
 * Sec-WebSocket-Key it carries (in @key, 24 characters + NUL). */
char *rc_lg_ws_upgrade_request (const char *host, const char *path, char key[25]);
/* Whether @head (the answer's status line and headers, up to the empty
 * line) is a 101 with the Sec-WebSocket-Accept @key asks for. */
gboolean rc_lg_ws_upgrade_ok (const char *head, gsize length, const char key[25]);

/* Writes one masked client frame (FIN set) into @out, which has room for
 * @length + 14 bytes; returns its size. */
gsize rc_lg_ws_frame_encode (guint8 opcode, const guint8 *payload, gsize length, guint32 mask,
                             guint8 *out);

typedef struct
{
  guint8 opcode;        /* of the message: a continuation is reported as its first frame's */
  gboolean fin;
  gboolean truncated;   /* a long text message: only its first bytes are in @data */
  gboolean continuation;/* a later fragment of a message (its data is skipped) */
  const guint8 *data;
  gsize length;         /* bytes in @data */
  guint64 total;        /* the frame's whole payload length */
} RcLgWsFrame;

typedef struct
{
  guint64 skip;        /* payload bytes still to skip */
  guint8 fragmented;   /* opcode of the message whose fragments are arriving, 0 when none */
} RcLgWsReader;

typedef enum
{
  RC_LG_WS_MORE,  /* need more bytes: keep the rest (see @used) */
  RC_LG_WS_FRAME, /* @frame is filled */
  RC_LG_WS_BAD,   /* a protocol error: close */
} RcLgWsResult;

/* Reads the next frame from @data; @used is how many bytes it consumed
 * (on MORE too: skipped bytes). Frames from a server are never masked. */
RcLgWsResult rc_lg_ws_read (RcLgWsReader *reader, const guint8 *data, gsize length,
                            gsize *used, RcLgWsFrame *frame);

/* Called for each frame rc_lg_ws_feed reads (later fragments of a message
 * are skipped, not reported); FALSE stops the feed. */
typedef gboolean (*RcLgWsFrameFunc) (const RcLgWsFrame *frame, gpointer user_data);

/* Reads every whole frame in @data and hands each to @func; returns the
 * bytes used (what is left is a frame's beginning, to be kept for the next
 * read), or -1 on a protocol error or when @func said stop. */
gssize rc_lg_ws_feed (RcLgWsReader *reader, const guint8 *data, gsize length,
                      RcLgWsFrameFunc func, gpointer user_data);

G_END_DECLS

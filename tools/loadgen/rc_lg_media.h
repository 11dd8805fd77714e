/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The media frames of one binary WebSocket message (docs/protocol.md,
 * "Audio over the WebSocket"): the message is one frame (first byte 1), or
 * a bundle of 2-5 consecutive frames (first byte 2: a count, a header
 * length, then each frame behind its 2-byte length). A client must accept
 * both at any time.
 */
/* Called with each frame (its version-1 bytes, where they lie in the
 * message: not aligned); FALSE stops. */
typedef gboolean (*RcLgMediaFrameFunc) (const guint8 *frame, gsize length, gpointer user_data);

/* Hands each frame of @data to @func in order; FALSE when the message is
 * neither form (a bundle's lengths must add up to the message exactly) or
 * @func stopped. */
gboolean rc_lg_media_split (const guint8 *data, gsize length, RcLgMediaFrameFunc func,
                            gpointer user_data);
/* The server time C (ms) of the last frame of @data that parses, or NAN:
 * when a bundle's frames are due (--slot message). */
double rc_lg_media_last_c (const guint8 *data, gsize length);

G_END_DECLS

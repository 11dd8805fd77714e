/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RcActivityStream: an input stream that passes bytes through from its base
 * stream and counts them. libsoup 3.2 answers pings but tells nobody when a
 * pong arrives, so the signalling layer watches this counter: a peer whose
 * byte count has not moved for the idle timeout, despite our pings, is dead.
 */
#define RC_TYPE_ACTIVITY_STREAM (rc_activity_stream_get_type ())
G_DECLARE_FINAL_TYPE (RcActivityStream, rc_activity_stream, RC, ACTIVITY_STREAM,
                      GFilterInputStream)

GInputStream *rc_activity_stream_new (GInputStream *base);
guint64 rc_activity_stream_get_bytes_read (RcActivityStream *self);
/* Bytes written to the peer through the stream made by
 * rc_activity_io_stream_new (what reached the socket, not what was queued). */
guint64 rc_activity_stream_get_bytes_written (RcActivityStream *self);

/* Wraps both sides of @stream: reads and writes are counted in @counter_out.
 * Closing the result closes @stream (and so its socket). */
GIOStream *rc_activity_io_stream_new (GIOStream *stream, RcActivityStream **counter_out);

G_END_DECLS

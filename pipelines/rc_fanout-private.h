/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/socket.h>

#include "pipelines/rc_fanout.h"

G_BEGIN_DECLS

/*
 * For the demultiplexer's fuzzer and tests only: an engine with its socket
 * but no threads, whose control path is run by hand, one datagram at a time.
 */
RcFanout *rc_fanout_new_detached (const RcFanoutOptions *options, GError **error);
void rc_fanout_receive (RcFanout *fanout, const guint8 *data, gsize length,
                        const struct sockaddr_storage *from, socklen_t from_length);

/* A guest with the given ICE credentials (a fuzzer's seeds can then hold
 * checks that pass); otherwise as rc_fanout_guest_new. */
RcFanoutGuest *rc_fanout_guest_new_with_credentials (RcFanoutStream *stream, const char *name,
                                                     const char *ufrag, const char *pwd,
                                                     const RcFanoutGuestCallbacks *callbacks,
                                                     gpointer user_data);

G_END_DECLS

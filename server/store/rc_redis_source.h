/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <hiredis/async.h>

G_BEGIN_DECLS

/*
 * Called when hiredis tears @ac down (I/O error, server closed the link,
 * failed connect, or redisAsyncFree()). By then every pending command
 * callback of @ac has already run with a NULL reply; @ac and its errstr are
 * still readable, and are freed right after this returns. Must not free @ac.
 */
typedef void (*RcRedisClosedFunc) (redisAsyncContext *ac, gpointer user_data);

/*
 * Drives the hiredis async context @ac from @context: installs the hiredis
 * event hooks and attaches a GSource watching the socket. The source belongs
 * to @ac and is destroyed by hiredis' cleanup hook, so the caller keeps no
 * handle to it. Call once, right after redisAsyncConnect() succeeded and
 * before any command is issued (hiredis asks to poll for writing then).
 */
void rc_redis_source_attach (redisAsyncContext *ac, GMainContext *context,
                             RcRedisClosedFunc closed, gpointer user_data);

G_END_DECLS

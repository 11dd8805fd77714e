/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcSoakRedis: the soak's own redis-server on 127.0.0.1, a free port and a
 * folder of its own (append-only file on, so what was acknowledged
 * survives a kill). It dies with the soak (PR_SET_PDEATHSIG). kill and
 * start again bring it back on the same port with the same data, as an
 * operator's restart would.
 */
typedef struct _RcSoakRedis RcSoakRedis;

/* Starts it in @dir (made if missing) and waits up to 10 s for a PONG. */
RcSoakRedis *rc_soak_redis_start (const char *dir, GError **error);
/* SIGKILL, no goodbye: the outage. Returns at once. */
void rc_soak_redis_kill (RcSoakRedis *self);
/* Starts it again on the same port and folder, and returns at once: ask
 * rc_soak_redis_answers() until it does (the caller's main loop goes on
 * meanwhile). */
gboolean rc_soak_redis_respawn (RcSoakRedis *self, GError **error);
/* One PING on a fresh connection: TRUE on PONG. */
gboolean rc_soak_redis_answers (RcSoakRedis *self);
/* "redis://127.0.0.1:PORT/0" */
const char *rc_soak_redis_get_uri (RcSoakRedis *self);
GPid rc_soak_redis_get_pid (RcSoakRedis *self);
/* Stops it (SIGTERM, SIGKILL after 5 s) and frees. */
void rc_soak_redis_free (RcSoakRedis *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSoakRedis, rc_soak_redis_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * RcHttpGuard watches every HTTP connection of a SoupServer: a request's
 * headers must arrive within the header timeout, its body within the body
 * timeout, and a keep-alive connection may sit idle between requests for the
 * idle timeout; past any of them the connection is closed. A request whose
 * body is larger than allowed (declared or chunked) is answered at once
 * (413, or whatever an early handler already set) and its body is never
 * buffered. It also closes keep-alive connections that the client closed
 * while idle: libsoup 3.2 never notices those and keeps their socket open.
 */
typedef struct _RcHttpGuard RcHttpGuard;

/* No body is refused below this, whatever --max-message-bytes says: a WHIP
 * offer may take up to 64 KiB (its own early handler refuses more). */
#define RC_HTTP_MAX_BODY_FLOOR (64 * 1024)

typedef struct
{
  guint header_timeout_s;
  guint body_timeout_s;
  guint idle_timeout_s;
  gsize max_body_bytes; /* largest body any request may carry */
} RcHttpGuardLimits;

RcHttpGuard *rc_http_guard_new (SoupServer *soup, const RcHttpGuardLimits *limits);
void rc_http_guard_free (RcHttpGuard *guard);

/* Forgets connections that are gone; call now and then (once a second). */
void rc_http_guard_sweep (RcHttpGuard *guard);

/* Connections being watched (for tests and /health). */
guint rc_http_guard_get_count (RcHttpGuard *guard);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcHttpGuard, rc_http_guard_free)

G_END_DECLS

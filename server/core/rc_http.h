/* SPDX-License-Identifier: MIT */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "server/core/rc_rate_limit.h"

G_BEGIN_DECLS

/* Response helpers shared by every REST route. */
void rc_http_send_json (SoupServerMessage *msg, guint status, JsonNode *body);
/* An error body is the same object a WebSocket error carries. */
void rc_http_send_error (SoupServerMessage *msg, int code, const char *message);
void rc_http_send_gerror (SoupServerMessage *msg, const GError *error);
/* TRUE for GET and HEAD; otherwise sends 405 with "Allow: GET, HEAD". */
gboolean rc_http_require_get (SoupServerMessage *msg);

/* The token of "Authorization: Bearer <token>", or NULL. */
char *rc_http_get_bearer (SoupServerMessage *msg);

/* The request body parsed as a JSON object (empty body: error); a body
 * not sent as application/json is refused with 4003 (415). */
JsonObject *rc_http_read_json_object (SoupServerMessage *msg, gsize max_bytes, GError **error);

/* "ip:port" of the client, for logs and per-client limits. */
char *rc_http_peer (SoupServerMessage *msg, gboolean with_port);

/* Takes one REST write from the client's budget in @limits; FALSE (and a
 * 429 with Retry-After sent) when it is spent. */
gboolean rc_http_allow_write (RcRateLimits *limits, SoupServerMessage *msg);

/* Holds @msg's answer back while something asynchronous works on it, and
 * takes a reference to @msg. Holds nest (libsoup's own pause does not: one
 * unpause resumes every pause): the message resumes when the last hold is
 * released, which also drops the reference. A client that went away
 * meanwhile is not resumed (libsoup has dropped its I/O). */
void rc_http_hold (SoupServerMessage *msg);
void rc_http_release (SoupServerMessage *msg);

/* @host as an address: a literal, or the first the resolver finds. */
GInetAddress *rc_http_resolve_host (const char *host, GError **error);

G_END_DECLS

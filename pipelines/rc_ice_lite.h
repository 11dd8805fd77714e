/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/*
 * ICE-lite (RFC 8445 §2.5) for the fan-out engine: the server only answers
 * the guests' connectivity checks, through libnice's STUN library. A check
 * is answered when its USERNAME ("ourUfrag:theirUfrag") names a guest and
 * its MESSAGE-INTEGRITY is keyed with that guest's ice-pwd; anything else is
 * dropped without an answer (an answer to an unauthenticated request would
 * make the port a reflector). One RcIceLite serves every guest of a port;
 * one thread at a time.
 */
typedef struct _RcIceLite RcIceLite;

#define RC_ICE_UFRAG_LEN 8
#define RC_ICE_PWD_LEN 24

typedef enum
{
  RC_ICE_LITE_REPLY,        /* an authentic binding request: send the reply */
  RC_ICE_LITE_IGNORED,      /* STUN that needs nothing (an indication, a response) */
  RC_ICE_LITE_MALFORMED,    /* not STUN, truncated, or a request we cannot read */
  RC_ICE_LITE_UNAUTHORIZED, /* unknown USERNAME or wrong MESSAGE-INTEGRITY */
  RC_ICE_LITE_ROLE_CONFLICT, /* authentic, from a peer that thinks it is controlled
                                too: send the 487 reply, nothing else */
} RcIceLiteResult;

/* Finds the guest whose local ufrag is @local_ufrag (and, when it knows
 * the guest's, whose remote ufrag is @remote_ufrag): returns it and sets
 * @password to its ice-pwd, or returns NULL. */
typedef gpointer (*RcIceLiteLookup) (const char *local_ufrag, const char *remote_ufrag,
                                     const char **password, gpointer user_data);

RcIceLite *rc_ice_lite_new (void);
void rc_ice_lite_free (RcIceLite *ice);

/* One datagram whose first byte is 0..3 from @from. On RC_ICE_LITE_REPLY
 * (and RC_ICE_LITE_ROLE_CONFLICT, @guest NULL),
 * @reply (at least RC_ICE_LITE_REPLY_MAX bytes) holds *@reply_length bytes
 * to send back, @guest is the lookup's guest and @nominated whether the
 * check carried USE-CANDIDATE. */
#define RC_ICE_LITE_REPLY_MAX 1280
RcIceLiteResult rc_ice_lite_handle (RcIceLite *ice, const guint8 *data, gsize length,
                                    const struct sockaddr_storage *from, socklen_t from_length,
                                    RcIceLiteLookup lookup, gpointer user_data, guint8 *reply,
                                    gsize *reply_length, gpointer *guest, gboolean *nominated);

/* New random credentials (ICE characters), NUL-terminated. */
void rc_ice_lite_make_credentials (char ufrag[RC_ICE_UFRAG_LEN + 1], char pwd[RC_ICE_PWD_LEN + 1]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcIceLite, rc_ice_lite_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The media floor's own error domain. pipelines/ knows nothing of the wire
 * protocol: it says what went wrong in these terms, and the layer above
 * (server/core/rc_error.c, rc_error_code_of) turns them into numbered codes.
 */
typedef enum
{
  RC_MEDIA_ERROR_FAILED,            /* the media path could not be built, or broke */
  RC_MEDIA_ERROR_INVALID,           /* a peer's SDP or candidate cannot be read */
  RC_MEDIA_ERROR_UNSUPPORTED_OFFER, /* readable, but nothing in it can be received */
} RcMediaErrorCode;

#define RC_MEDIA_ERROR (rc_media_error_quark ())
GQuark rc_media_error_quark (void);

G_END_DECLS

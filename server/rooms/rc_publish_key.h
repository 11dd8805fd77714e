/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Publish keys: secrets a host pushes live audio with (WHIP, SRT). A room
 * keeps only their SHA-256 hashes, in its stored state; the secret
 * ("rk_" + 43 base64url characters) is known once, when it is made.
 */
typedef struct
{
  char *id;    /* 8 base62 characters, names the key in the API */
  char *label; /* the owner's name for it, or NULL */
  char *hash;
  gint64 created_at;
} RcPublishKey;

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Unguessable identifiers and secrets. Room ids are short enough for a link
 * (10 base62 characters, ~59 bits from the kernel's CSPRNG); tokens carry 256
 * bits. Secrets are stored only as salted hashes and compared in constant time.
 */
#define RC_ROOM_ID_LENGTH 10

char *rc_secret_random_id (gsize length);  /* base62 */
char *rc_secret_random_token (void);       /* base64url, 43 chars */

/* "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" for a password. */
char *rc_secret_hash_password (const char *password);
gboolean rc_secret_check_password (const char *encoded, const char *password);

/* Hex SHA-256, for high-entropy tokens that need no salt or stretching. */
char *rc_secret_hash_token (const char *token);
gboolean rc_secret_check_token (const char *hashed, const char *token);

gboolean rc_secret_equal (const char *a, const char *b); /* constant time for equal lengths */

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Unguessable identifiers and secrets. Room ids are short enough for a link
 * (10 base62 characters, ~59 bits from the kernel's CSPRNG); tokens carry 256
 * bits. Secrets are stored only as salted hashes and compared in constant time.
 */
#define RC_ROOM_ID_LENGTH 10

char *rc_secret_random_id (gsize length);  /* base62 */
/* @id could be one rc_secret_random_id made: 1 to 64 base62 characters.
 * Checked before an id from the network names a store key. */
gboolean rc_secret_id_is_valid (const char *id);
char *rc_secret_random_token (void);       /* base64url, 43 chars */

/* "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" for a password. */
char *rc_secret_hash_password (const char *password);
gboolean rc_secret_check_password (const char *encoded, const char *password);
/*
 * The same check on a worker thread (GTask's pool): the stretching costs
 * ~10 ms of CPU, which the main context must not spend. @callback runs on
 * the thread-default main context of the caller; @encoded and @password are
 * copied. A cancelled check finishes with G_IO_ERROR_CANCELLED.
 */
void rc_secret_check_password_async (const char *encoded, const char *password,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
/* TRUE when the password matched; FALSE with @error only when cancelled. */
gboolean rc_secret_check_password_finish (GAsyncResult *result, GError **error);
/* rc_secret_hash_password on a worker thread, for the same reason. */
void rc_secret_hash_password_async (const char *password, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
/* The encoded hash (a new string), or NULL with @error when cancelled. */
char *rc_secret_hash_password_finish (GAsyncResult *result, GError **error);

/* Hex SHA-256, for high-entropy tokens that need no salt or stretching. */
char *rc_secret_hash_token (const char *token);
gboolean rc_secret_check_token (const char *hashed, const char *token);

gboolean rc_secret_equal (const char *a, const char *b); /* constant time for equal lengths */

G_END_DECLS

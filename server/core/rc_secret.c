/* SPDX-License-Identifier: MIT */
/*
 * Randomness comes from getrandom(2): room ids double as capabilities (a link
 * is an invitation), so GLib's non-cryptographic g_random is not enough.
 * Passwords are stretched with PBKDF2-HMAC-SHA256 built on GLib's GHmac.
 */
#include "server/core/rc_secret.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define PBKDF2_ITERATIONS 10000
#define SALT_BYTES 16

static void
fill_random (guint8 *buf, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = getrandom (buf + done, len - done, 0);
      if (n > 0)
        done += (gsize) n;
      else if (n < 0 && errno != EINTR)
        g_error ("getrandom failed: %s", g_strerror (errno));
    }
}

char *
rc_secret_random_id (gsize length)
{
  static const char alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  char *id = g_malloc (length + 1);
  gsize i = 0;

  while (i < length)
    {
      guint8 byte;
      fill_random (&byte, 1);
      /* 248 = 4 * 62: reject the tail so every character is equally likely. */
      if (byte < 248)
        id[i++] = alphabet[byte % 62];
    }
  id[length] = '\0';
  return id;
}

gboolean
rc_secret_id_is_valid (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]))
      return FALSE;
  return TRUE;
}

static char *
base64url (const guint8 *data, gsize len)
{
  char *b64 = g_base64_encode (data, len);

  for (char *p = b64; *p; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }
  return b64;
}

char *
rc_secret_random_token (void)
{
  guint8 raw[32];

  fill_random (raw, sizeof raw);
  return base64url (raw, sizeof raw);
}

static void
pbkdf2_sha256 (const char *password, const guint8 *salt, gsize salt_len, guint iterations,
               guint8 out[32])
{
  gsize pw_len = strlen (password);
  guint8 u[32];
  gsize len = 32;
  g_autoptr (GHmac) first = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) password, pw_len);
  const guint8 block_index[4] = { 0, 0, 0, 1 };

  /* One output block is enough: we want 32 bytes and SHA-256 gives 32. */
  g_hmac_update (first, salt, salt_len);
  g_hmac_update (first, block_index, sizeof block_index);
  g_hmac_get_digest (first, u, &len);
  memcpy (out, u, 32);

  for (guint i = 1; i < iterations; i++)
    {
      g_autoptr (GHmac) h = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) password, pw_len);
      g_hmac_update (h, u, 32);
      len = 32;
      g_hmac_get_digest (h, u, &len);
      for (guint j = 0; j < 32; j++)
        out[j] ^= u[j];
    }
}

char *
rc_secret_hash_password (const char *password)
{
  guint8 salt[SALT_BYTES];
  guint8 hash[32];
  g_autofree char *salt_b64 = NULL;
  g_autofree char *hash_b64 = NULL;

  fill_random (salt, sizeof salt);
  pbkdf2_sha256 (password, salt, sizeof salt, PBKDF2_ITERATIONS, hash);
  salt_b64 = g_base64_encode (salt, sizeof salt);
  hash_b64 = g_base64_encode (hash, sizeof hash);
  return g_strdup_printf ("pbkdf2-sha256$%u$%s$%s", PBKDF2_ITERATIONS, salt_b64, hash_b64);
}

gboolean
rc_secret_check_password (const char *encoded, const char *password)
{
  g_auto (GStrv) parts = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree char *hash_b64 = NULL;
  guint64 iterations;
  gsize salt_len;
  guint8 hash[32];

  if (encoded == NULL || password == NULL)
    return FALSE;
  parts = g_strsplit (encoded, "$", 4);
  if (g_strv_length (parts) != 4 || !g_str_equal (parts[0], "pbkdf2-sha256")
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, 10000000, &iterations, NULL))
    return FALSE;
  salt = g_base64_decode (parts[2], &salt_len);
  pbkdf2_sha256 (password, salt, salt_len, (guint) iterations, hash);
  hash_b64 = g_base64_encode (hash, sizeof hash);
  return rc_secret_equal (hash_b64, parts[3]);
}

typedef struct
{
  char *encoded;
  char *password;
} PasswordCheck;

static void
password_check_free (PasswordCheck *check)
{
  g_free (check->encoded);
  g_free (check->password);
  g_free (check);
}

static void
check_password_thread (GTask *task, gpointer source, gpointer task_data,
                       GCancellable *cancellable)
{
  PasswordCheck *check = task_data;

  g_task_return_boolean (task, rc_secret_check_password (check->encoded, check->password));
}

void
rc_secret_check_password_async (const char *encoded, const char *password,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  PasswordCheck *check = g_new0 (PasswordCheck, 1);

  check->encoded = g_strdup (encoded);
  check->password = g_strdup (password);
  g_task_set_source_tag (task, rc_secret_check_password_async);
  g_task_set_task_data (task, check, (GDestroyNotify) password_check_free);
  g_task_run_in_thread (task, check_password_thread);
}

gboolean
rc_secret_check_password_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hash_password_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_task_return_pointer (task, rc_secret_hash_password (task_data), g_free);
}

void
rc_secret_hash_password_async (const char *password, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, rc_secret_hash_password_async);
  g_task_set_task_data (task, g_strdup (password), g_free);
  g_task_run_in_thread (task, hash_password_thread);
}

char *
rc_secret_hash_password_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
rc_secret_hash_token (const char *token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

gboolean
rc_secret_check_token (const char *hashed, const char *token)
{
  g_autofree char *candidate = NULL;

  if (hashed == NULL || token == NULL)
    return FALSE;
  candidate = rc_secret_hash_token (token);
  return rc_secret_equal (hashed, candidate);
}

gboolean
rc_secret_equal (const char *a, const char *b)
{
  gsize la = strlen (a);
  gsize lb = strlen (b);
  guint8 diff = la != lb;

  for (gsize i = 0; i < MIN (la, lb); i++)
    diff |= (guint8) (a[i] ^ b[i]);
  return diff == 0;
}

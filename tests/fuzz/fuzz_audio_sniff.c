/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what the song cache reads of a download before it
 * keeps a byte (rc_audio_sniff_content_type on the media type, then
 * rc_audio_sniff_bytes on the first bytes). The input's first line is the
 * Content-Type, the rest the body. The verdict must not depend on bytes
 * after the first RC_AUDIO_SNIFF_BYTES, as the cache reads no more.
 */
#include <string.h>

#include "server/library/rc_audio_sniff.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  const guint8 *newline = memchr (data, '\n', size);
  gsize type_len = newline != NULL ? (gsize) (newline - data) : size;
  g_autofree char *type = g_strndup ((const char *) data, type_len);
  const guint8 *body = newline != NULL ? newline + 1 : data + size;
  gsize body_len = size - (gsize) (body - data);
  gboolean whole, head;

  (void) rc_audio_sniff_content_type (type);
  whole = rc_audio_sniff_bytes (body, body_len);
  head = rc_audio_sniff_bytes (body, MIN (body_len, RC_AUDIO_SNIFF_BYTES));
  g_assert (whole == head);
  return 0;
}

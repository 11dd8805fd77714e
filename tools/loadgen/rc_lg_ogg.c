/* SPDX-License-Identifier: MIT */
/*
 * Counting Ogg pages in a byte stream for the load generator's HTTP
 * listeners (see rc_lg_ogg.h). The page header is parsed here rather than
 * through libogg because a listener must not hold the pages: thousands of
 * listeners share one read buffer and each keeps only a header's bytes.
 */
#include "rc_lg_ogg.h"

#include <string.h>

#define OGG_FIXED 27

RcLgOggResult
rc_lg_ogg_read (RcLgOggReader *reader, const guint8 *data, gsize length, gsize *used,
                RcLgOggPage *page)
{
  gsize at = 0;

  *used = 0;
  if (reader->body_left > 0)
    {
      gsize n = (gsize) MIN (reader->body_left, (guint64) length);

      reader->body_left -= n;
      *used = n;
      return RC_LG_OGG_MORE;
    }
  for (;;)
    {
      guint8 *h = reader->header;
      guint want = reader->header_len < OGG_FIXED ? OGG_FIXED : OGG_FIXED + h[26];
      guint before = reader->header_len;
      guint n;

      if (reader->header_len >= OGG_FIXED && reader->header_len == want)
        {
          guint64 body = 0;
          guint64 granule = 0;

          for (guint i = 0; i < h[26]; i++)
            body += h[OGG_FIXED + i];
          for (int i = 7; i >= 0; i--)
            granule = (granule << 8) | h[6 + i];
          page->granule = (gint64) granule;
          page->serial = (guint32) h[14] | (guint32) h[15] << 8 | (guint32) h[16] << 16
                         | (guint32) h[17] << 24;
          page->flags = h[5];
          page->size = want + body;
          reader->body_left = body;
          reader->header_len = 0;
          *used = at;
          return RC_LG_OGG_PAGE;
        }
      if (at == length)
        break;
      n = (guint) MIN ((gsize) (want - reader->header_len), length - at);
      memcpy (h + reader->header_len, data + at, n);
      reader->header_len += n;
      at += n;
      /* The capture pattern, and version 0, as soon as they are in. */
      if (before < 5 && reader->header_len >= 5 && (memcmp (h, "OggS", 4) != 0 || h[4] != 0))
        {
          reader->header_len = 0;
          *used = at;
          return RC_LG_OGG_BAD;
        }
    }
  *used = at;
  return RC_LG_OGG_MORE;
}

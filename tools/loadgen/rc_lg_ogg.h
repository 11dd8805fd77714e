/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcLgOggReader: the Ogg pages of an HTTP stream (an Icecast mount),
 * counted as the bytes arrive, without keeping a page: only a page's
 * header (27 bytes and its segment table) is held between reads, its body
 * is skipped. Each page gives its granule position (48 kHz samples for
 * Opus), which is how an HTTP listener tells when its audio was due.
 */
typedef struct
{
  guint8 header[27 + 255];
  guint header_len;
  guint64 body_left;
} RcLgOggReader;

typedef struct
{
  gint64 granule;  /* -1 when no packet ends on the page */
  guint32 serial;
  guint8 flags;    /* 1 continued, 2 first page, 4 last page */
  gsize size;      /* header + body */
} RcLgOggPage;

typedef enum
{
  RC_LG_OGG_MORE, /* everything given was used */
  RC_LG_OGG_PAGE, /* a page's header is complete: @page; call again with the rest */
  RC_LG_OGG_BAD,  /* not an Ogg stream (no "OggS" where a page starts) */
} RcLgOggResult;

/* Reads from @data; @used is how many bytes it took. A page is reported
 * as soon as its header is in (its body is then skipped by later calls). */
RcLgOggResult rc_lg_ogg_read (RcLgOggReader *reader, const guint8 *data, gsize length,
                              gsize *used, RcLgOggPage *page);

G_END_DECLS

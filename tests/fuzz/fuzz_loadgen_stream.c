/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what a server sends the load generator
 * (tools/loadgen/), cut into reads of varying sizes as a socket would hand
 * them over. The first byte picks the reader: the WebSocket frame reader
 * (rc_lg_ws_feed over rc_lg_ws_read, then each binary message split by
 * rc_lg_media_split, one frame or a bundle's, and each frame through
 * rc_ws_frame_parse as a guest does; the message's slot through
 * rc_lg_media_last_c), the Ogg page reader (rc_lg_ogg_read), the upgrade
 * answer's check (rc_lg_ws_upgrade_ok), or the Janus viewer's HTTP answers
 * (rc_lg_janus_next_answer, then json-glib); the second byte seeds the read
 * sizes. A reader must consume only what it was given, hand out frames
 * that lie inside it, and keep no more than one frame between reads.
 */
#include "pipelines/rc_ws_branch.h"
#include "tools/loadgen/rc_lg_janus.h"
#include "tools/loadgen/rc_lg_media.h"
#include "tools/loadgen/rc_lg_ogg.h"
#include "tools/loadgen/rc_lg_websocket.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Reads of 1 to 64 bytes or the rest, as the seed decides. */
static gsize
next_read (guint32 *seed, gsize left)
{
  *seed = *seed * 1103515245u + 12345u;
  return MIN (left, (*seed >> 16) % 4 == 0 ? left : 1 + (*seed >> 16) % 64);
}

typedef struct
{
  const guint8 *buf;
  gsize have;
  guint parsed;  /* frames that parsed, and the last one's C */
  double last_c;
} Read;

/* Each frame of a message (one, or a bundle's), as a guest reads it. */
static gboolean
on_media_frame (const guint8 *data, gsize length, gpointer user_data)
{
  Read *r = user_data;
  guint32 rtp, seq;
  double c;
  const guint8 *payload;
  gsize payload_length;
  /* Aligned, as the guests copy it (rc_lg_conn.c, on_media_frame). */
  g_autofree guint8 *frame = g_memdup2 (data, length);

  g_assert (data >= r->buf && data + length <= r->buf + r->have);
  if (rc_ws_frame_parse (frame, length, &rtp, &c, &seq, &payload, &payload_length))
    {
      g_assert (payload >= frame && payload + payload_length == frame + length);
      r->parsed++;
      r->last_c = c;
    }
  return TRUE;
}

static gboolean
on_frame (const RcLgWsFrame *f, gpointer data)
{
  Read *r = data;

  g_assert (f->data >= r->buf && f->data + f->length <= r->buf + r->have);
  g_assert (f->length <= f->total);
  if (f->opcode == RC_LG_WS_OP_BINARY)
    {
      Read inner = { f->data, f->length, 0, NAN };
      double last_c = rc_lg_media_last_c (f->data, f->length);

      /* The slot (--slot message) is the last parsed frame's C, a time;
       * none without a frame that parses. */
      rc_lg_media_split (f->data, f->length, on_media_frame, &inner);
      if (inner.parsed > 0)
        g_assert (isfinite (last_c) && last_c == inner.last_c);
      else
        g_assert (isnan (last_c));
    }
  return TRUE;
}

static void
ws_stream (const guint8 *data, gsize size, guint32 seed)
{
  RcLgWsReader reader = { 0 };
  guint8 *buf = g_malloc (RC_LG_WS_KEEP_MAX + size + 1);
  gsize have = 0;

  for (gsize at = 0; at < size;)
    {
      gsize n = next_read (&seed, size - at);
      Read r = { buf, 0 };
      gssize used;

      memcpy (buf + have, data + at, n);
      at += n;
      have += n;
      r.have = have;
      used = rc_lg_ws_feed (&reader, buf, have, on_frame, &r);
      /* What the guest keeps for the next read: at most one frame. */
      if (used < 0 || have - (gsize) used > RC_LG_WS_KEEP_MAX)
        break;
      g_assert ((gsize) used <= have);
      memmove (buf, buf + used, have - (gsize) used);
      have -= (gsize) used;
    }
  g_free (buf);
}

static void
ogg_stream (const guint8 *data, gsize size, guint32 seed)
{
  RcLgOggReader reader = { 0 };

  for (gsize at = 0; at < size;)
    {
      gsize n = next_read (&seed, size - at);
      gsize pos = 0;

      while (pos < n)
        {
          RcLgOggPage page;
          gsize used = 0;
          RcLgOggResult r = rc_lg_ogg_read (&reader, data + at + pos, n - pos, &used, &page);

          g_assert (used <= n - pos);
          pos += used;
          if (r == RC_LG_OGG_BAD)
            return;
          if (r == RC_LG_OGG_PAGE)
            g_assert (page.size >= 27);
          else if (used == 0)
            break;
        }
      g_assert (pos == n);
      at += n;
    }
}

/* Janus's answers as they arrive, kept whole until each is complete. */
static void
janus_stream (const guint8 *data, gsize size, guint32 seed)
{
  g_autoptr (GByteArray) kept = g_byte_array_new ();
  g_autoptr (GString) body = g_string_new (NULL);

  for (gsize at = 0; at < size;)
    {
      gsize n = next_read (&seed, size - at);

      g_byte_array_append (kept, data + at, (guint) n);
      at += n;
      for (;;)
        {
          g_autofree char *failure = NULL;
          gssize took = rc_lg_janus_next_answer (kept->data, kept->len, body, &failure);
          g_autoptr (JsonParser) parser = NULL;

          if (took < 0)
            {
              g_assert (failure != NULL);
              return;
            }
          if (took == 0)
            break;
          g_assert ((gsize) took <= kept->len && body->len <= (gsize) took);
          parser = json_parser_new ();
          json_parser_load_from_data (parser, body->str, (gssize) body->len, NULL);
          g_byte_array_remove_range (kept, 0, (guint) took);
        }
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  guint32 seed;

  if (size < 2)
    return 0;
  seed = data[1];
  switch (data[0] % 4)
    {
    case 0:
      ws_stream (data + 2, size - 2, seed);
      break;
    case 1:
      ogg_stream (data + 2, size - 2, seed);
      break;
    case 3:
      janus_stream (data + 2, size - 2, seed);
      break;
    default:
      {
        char key[25];
        g_autofree char *request = rc_lg_ws_upgrade_request ("127.0.0.1:1", "/ws", key);

        rc_lg_ws_upgrade_ok ((const char *) data + 2, size - 2, key);
      }
      break;
    }
  return 0;
}

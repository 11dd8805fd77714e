/* SPDX-License-Identifier: MIT */
/*
 * The load generator's WebSocket client (see rc_lg_websocket.h): the
 * upgrade, masked frames out, and the server's frames read in place from
 * whatever a read returned. Thousands of connections share one read buffer,
 * so the reader keeps no state but the bytes still to skip: a caller keeps
 * the unread tail of a read (at most one frame) until the next.
 */
#include "rc_lg_websocket.h"

#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

char *
rc_lg_ws_upgrade_request (const char *host, const char *path, char key[25])
{
  guint8 nonce[16];
  g_autofree char *encoded = NULL;

  for (guint i = 0; i < sizeof nonce; i += 4)
    {
      guint32 r = g_random_int ();

      memcpy (nonce + i, &r, 4);
    }
  encoded = g_base64_encode (nonce, sizeof nonce);
  g_strlcpy (key, encoded, 25);
  return g_strdup_printf ("GET %s HTTP/1.1\r\n"
                          "Host: %s\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "Origin: http://%s\r\n"
                          "\r\n",
                          path, host, key, host);
}

gboolean
rc_lg_ws_upgrade_ok (const char *head, gsize length, const char key[25])
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  g_autofree char *accept = NULL;
  g_autofree char *text = g_strndup (head, length);
  g_auto (GStrv) lines = NULL;
  gboolean found = FALSE;

  if (length < 12 || strncmp (head, "HTTP/1.1 101", 12) != 0)
    return FALSE;
  g_checksum_update (sha1, (const guchar *) key, strlen (key));
  g_checksum_update (sha1, (const guchar *) WS_GUID, strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &digest_len);
  accept = g_base64_encode (digest, digest_len);
  lines = g_strsplit (text, "\r\n", -1);
  for (guint i = 1; lines[i] != NULL && !found; i++)
    {
      char *colon = strchr (lines[i], ':');

      if (colon == NULL)
        continue;
      *colon = '\0';
      if (g_ascii_strcasecmp (lines[i], "Sec-WebSocket-Accept") == 0)
        found = g_str_equal (g_strstrip (colon + 1), accept);
    }
  return found;
}

gsize
rc_lg_ws_frame_encode (guint8 opcode, const guint8 *payload, gsize length, guint32 mask,
                       guint8 *out)
{
  gsize at = 0;
  guint8 key[4] = { mask >> 24, mask >> 16, mask >> 8, mask };

  out[at++] = 0x80 | (opcode & 0x0f);
  if (length < 126)
    out[at++] = 0x80 | (guint8) length;
  else if (length <= G_MAXUINT16)
    {
      out[at++] = 0x80 | 126;
      out[at++] = (guint8) (length >> 8);
      out[at++] = (guint8) length;
    }
  else
    {
      out[at++] = 0x80 | 127;
      for (int shift = 56; shift >= 0; shift -= 8)
        out[at++] = (guint8) ((guint64) length >> shift);
    }
  memcpy (out + at, key, 4);
  at += 4;
  for (gsize i = 0; i < length; i++)
    out[at + i] = payload[i] ^ key[i & 3];
  return at + length;
}

/* The header of the frame at @data: its length in bytes (0 when more are
 * needed, -1 when it is not a server's frame). */
static int
read_header (const guint8 *data, gsize length, guint64 *payload)
{
  guint len7;

  if (length < 2)
    return 0;
  if ((data[0] & 0x70) != 0 || (data[1] & 0x80) != 0)
    return -1; /* no extension was agreed; a server never masks */
  len7 = data[1] & 0x7f;
  if (len7 < 126)
    {
      *payload = len7;
      return 2;
    }
  if (len7 == 126)
    {
      if (length < 4)
        return 0;
      *payload = ((guint64) data[2] << 8) | data[3];
      return 4;
    }
  if (length < 10)
    return 0;
  *payload = 0;
  for (int i = 0; i < 8; i++)
    *payload = (*payload << 8) | data[2 + i];
  if (*payload >> 63)
    return -1;
  return 10;
}

RcLgWsResult
rc_lg_ws_read (RcLgWsReader *reader, const guint8 *data, gsize length, gsize *used,
               RcLgWsFrame *frame)
{
  guint64 total = 0;
  guint8 opcode;
  gboolean fin;
  int header;
  gsize need;

  *used = 0;
  if (reader->skip > 0)
    {
      gsize n = (gsize) MIN (reader->skip, (guint64) length);

      reader->skip -= n;
      *used = n;
      return RC_LG_WS_MORE;
    }
  header = read_header (data, length, &total);
  if (header < 0)
    return RC_LG_WS_BAD;
  if (header == 0)
    return RC_LG_WS_MORE;
  opcode = data[0] & 0x0f;
  fin = (data[0] & 0x80) != 0;
  memset (frame, 0, sizeof *frame);
  frame->fin = fin;
  frame->total = total;

  switch (opcode)
    {
    case RC_LG_WS_OP_CLOSE:
    case RC_LG_WS_OP_PING:
    case RC_LG_WS_OP_PONG:
      if (!fin || total > 125)
        return RC_LG_WS_BAD;
      need = (gsize) total;
      break;
    case RC_LG_WS_OP_CONTINUATION:
      if (reader->fragmented == 0)
        return RC_LG_WS_BAD;
      /* Only a message's first bytes are ever read: skip the fragment. */
      frame->opcode = reader->fragmented;
      frame->continuation = TRUE;
      if (fin)
        reader->fragmented = 0;
      reader->skip = total;
      *used = (gsize) header;
      return RC_LG_WS_FRAME;
    case RC_LG_WS_OP_TEXT:
      if (reader->fragmented != 0)
        return RC_LG_WS_BAD;
      need = (gsize) MIN (total, (guint64) (total <= RC_LG_WS_TEXT_WHOLE ? total : RC_LG_WS_TEXT_PREFIX));
      break;
    case RC_LG_WS_OP_BINARY:
      if (reader->fragmented != 0 || total > RC_LG_WS_BINARY_MAX)
        return RC_LG_WS_BAD;
      need = (gsize) total;
      break;
    default:
      return RC_LG_WS_BAD;
    }
  if (length - (gsize) header < need)
    return RC_LG_WS_MORE;
  if (!fin && opcode < 8)
    reader->fragmented = opcode;
  frame->opcode = opcode;
  frame->data = data + header;
  frame->length = need;
  frame->truncated = need < total;
  reader->skip = total - need;
  *used = (gsize) header + need;
  return RC_LG_WS_FRAME;
}

gssize
rc_lg_ws_feed (RcLgWsReader *reader, const guint8 *data, gsize length, RcLgWsFrameFunc func,
               gpointer user_data)
{
  gsize at = 0;

  while (at < length)
    {
      RcLgWsFrame f;
      gsize used;
      RcLgWsResult r = rc_lg_ws_read (reader, data + at, length - at, &used, &f);

      at += used;
      if (r == RC_LG_WS_BAD)
        return -1;
      if (r == RC_LG_WS_MORE)
        {
          if (used == 0)
            break;
          continue;
        }
      if (!f.continuation && !func (&f, user_data))
        return -1;
    }
  return (gssize) at;
}

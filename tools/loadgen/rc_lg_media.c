/* SPDX-License-Identifier: MIT */
/*
 * Splitting a binary WebSocket message into its media frames (see
 * rc_lg_media.h): the load generator reads both forms because a room
 * switches between them as its listeners come and go.
 */
#include "rc_lg_media.h"

gboolean
rc_lg_media_split (const guint8 *data, gsize length, RcLgMediaFrameFunc func, gpointer user_data)
{
  guint count, header;
  gsize at;

  if (length < 1)
    return FALSE;
  if (data[0] == RC_LG_MEDIA_FRAME)
    return func (data, length, user_data);
  if (data[0] != RC_LG_MEDIA_BUNDLE || length < 4)
    return FALSE;
  count = data[1];
  header = (guint) data[2] << 8 | data[3];
  if (count < 1 || header < 4 || header > length)
    return FALSE;
  at = header;
  for (guint i = 0; i < count; i++)
    {
      gsize frame;

      if (length - at < 2)
        return FALSE;
      frame = (gsize) data[at] << 8 | data[at + 1];
      at += 2;
      if (frame > length - at || !func (data + at, frame, user_data))
        return FALSE;
      at += frame;
    }
  return at == length;
}

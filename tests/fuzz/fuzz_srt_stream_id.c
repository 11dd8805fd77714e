/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the SRT stream id an encoder sends before it is
 * accepted (rc_srt_parse_stream_id: "<room>/<key>" or the "#!::r=,s=,m="
 * access control form). Either both parts come back or neither does.
 */
#include "server/live/rc_srt.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *room_id = NULL, *key = NULL;
  int reject = rc_srt_parse_stream_id (text, &room_id, &key);

  if (reject == 0)
    g_assert (room_id != NULL && key != NULL);
  else
    g_assert (room_id == NULL && key == NULL);
  return 0;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/rooms/rc_live.h"

G_BEGIN_DECLS

/*
 * RcSrt: live hosts over SRT (what OBS sends as "srt://"), one UDP port
 * (--srt-port) for every room. A caller names its room and publish key in
 * its stream id; a wrong one is refused during the handshake. Its MPEG-TS
 * (AAC or Opus audio) is decoded into the room by pipelines/rc_srt_ingest.c
 * and the room's side of the host is server/rc_live.c.
 *
 * Main context only (the listener's own threads are internal).
 */
typedef struct _RcSrt RcSrt;

/* SRT's rejection reasons (the caller's srt_getrejectreason), as the SRT
 * access control guideline numbers them. */
#define RC_SRT_REJECT_BAD_REQUEST 1400  /* a stream id roomcast cannot read */
#define RC_SRT_REJECT_UNAUTHORIZED 1401 /* not a publish key of that room */
#define RC_SRT_REJECT_OVERLOAD 1402     /* --max-publishers hosts are live already */
#define RC_SRT_REJECT_NOT_FOUND 1404    /* no such room */
#define RC_SRT_REJECT_BAD_MODE 1405     /* m= other than publish */
#define RC_SRT_REJECT_CONFLICT 1409     /* the room has a host already */
#define RC_SRT_REJECT_UNAVAILABLE 1503  /* the server is stopping or too busy to answer */

/* Listens on --host:--srt-port (UDP). NULL with @error when the port
 * cannot be bound. */
RcSrt *rc_srt_new (RcLiveHost *host, GError **error);
/* Ends every SRT host and closes the port. */
void rc_srt_free (RcSrt *srt);

guint rc_srt_get_port (RcSrt *srt);
/* Connections accepted and not yet closed. */
guint rc_srt_get_connection_count (RcSrt *srt);

/*
 * Reads a stream id: "<roomId>/<publishKey>", or the SRT access control
 * form "#!::r=<roomId>,s=<publishKey>[,m=publish]" (other keys, such as
 * u= or t=, are ignored). 0 with the two parts, or the rejection reason:
 * RC_SRT_REJECT_BAD_REQUEST, or RC_SRT_REJECT_BAD_MODE for m= other than
 * publish.
 */
int rc_srt_parse_stream_id (const char *text, char **room_id, char **key);

G_END_DECLS

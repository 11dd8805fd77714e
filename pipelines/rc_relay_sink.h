/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * RcRelaySink: the origin's side of the media relay between nodes. A branch
 * on the room's RTP tee sends each packet, framed with its server time C
 * (pipelines/rc_relay_frame.h), once to every attached edge over UDP, on
 * the tee's streaming thread (no thread or queue of its own): one
 * sendmmsg per packet for all the edges, MSG_DONTWAIT, so a slow edge costs
 * the others nothing. Calls on the main context; the counters any thread.
 */
typedef struct _RcRelaySink RcRelaySink;

typedef struct
{
  guint edges;
  guint64 packets;     /* packets the branch saw */
  guint64 datagrams;   /* datagrams the kernel took */
  guint64 send_failed; /* datagrams refused or dropped (full buffer, unreachable) */
} RcRelaySinkStats;

/* Hangs the branch on @pipeline's tee. NULL with @error when no UDP
 * socket can be made. */
RcRelaySink *rc_relay_sink_new (RcRoomPipeline *pipeline, GError **error);
/* Takes the branch off (before its pipeline is freed, as for any branch);
 * no packet is sent once it returns. */
void rc_relay_sink_free (RcRelaySink *sink);

/* An edge listening on @address (numeric IPv4 or IPv6):@port, whose frames
 * carry @token. Another edge of the same token is replaced. FALSE with
 * RC_MEDIA_ERROR_INVALID for an address that is not one. */
gboolean rc_relay_sink_add_edge (RcRelaySink *sink, const char *address, guint port, guint64 token,
                                 GError **error);
/* FALSE when no edge has @token. */
gboolean rc_relay_sink_remove_edge (RcRelaySink *sink, guint64 token);
void rc_relay_sink_get_stats (RcRelaySink *sink, RcRelaySinkStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRelaySink, rc_relay_sink_free)

G_END_DECLS

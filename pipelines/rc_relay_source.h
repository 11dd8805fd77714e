/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcRelaySource: the edge's side of the media relay between nodes. A UDP
 * socket of its own takes the origin's frames (pipelines/rc_relay_frame.h);
 * its element (a udpsrc on that socket, and a probe that checks each frame,
 * strips the header and stamps the RTP packet with its C) is the input of
 * the edge's room pipeline (rc_room_pipeline_new_relayed). Frames that do
 * not parse or carry another token are dropped and counted, never passed
 * on. Calls on the main context; the counters any thread.
 */
typedef struct _RcRelaySource RcRelaySource;

/* The caps of the origin's payloader (rtpopuspay's defaults), which the
 * edge's packets keep. */
#define RC_RELAY_RTP_CAPS                                                                          \
  "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96"

typedef struct
{
  guint64 received;    /* packets passed on */
  guint64 refused;     /* datagrams that are no relay frame */
  guint64 wrong_token; /* frames of another attachment */
  guint64 lost;        /* gaps in the RTP sequence */
  /* Arrival on the pipeline's clock less C, over the recent packets (ms):
   * the relay's transit when the pipeline runs on the origin's clock. */
  double transit_p50_ms, transit_p95_ms;
  guint transit_count; /* 0: none yet */
} RcRelaySourceStats;

/* Binds @address (numeric; NULL: every address):@port (0: any free one)
 * and takes frames carrying @token. NULL with @error when it cannot. */
RcRelaySource *rc_relay_source_new (const char *address, guint port, guint64 token, GError **error);
void rc_relay_source_free (RcRelaySource *source);

guint rc_relay_source_get_port (RcRelaySource *source);
guint64 rc_relay_source_get_token (RcRelaySource *source);
/* The element for rc_room_pipeline_new_relayed (borrowed: the pipeline
 * takes its own reference). One "src" pad of RC_RELAY_RTP_CAPS. */
GstElement *rc_relay_source_get_element (RcRelaySource *source);
void rc_relay_source_get_stats (RcRelaySource *source, RcRelaySourceStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcRelaySource, rc_relay_source_free)

G_END_DECLS

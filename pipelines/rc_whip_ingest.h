/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

#include <gst/sdp/sdp.h>

G_BEGIN_DECLS

/*
 * RcWhipIngest: a live host's audio over WebRTC (WHIP), mixed into a room:
 *
 *   webrtcbin (recvonly Opus; video and extra audio answered inactive)
 *     ─ rtpopusdepay ─ opusdec ─ audioconvert ─ audioresample ─ S16LE 48 kHz stereo
 *     ─ volume ─ a new mixer pad (rc_room_pipeline_add_input)
 *
 * The host's offer is answered once ICE gathering is complete, so the answer
 * carries every server candidate (OBS does not trickle, and since 30.2 its
 * offer has no candidates at all). The host's DTLS certificate must be the
 * one its offer named before any of its audio is mixed.
 *
 * Main context only; callbacks arrive on the main context, never from inside
 * a call into this API.
 */
typedef struct _RcWhipIngest RcWhipIngest;

#define RC_WHIP_INGEST_DEFAULT_LATENCY_MS 30
#define RC_WHIP_INGEST_DEFAULT_SILENCE_TIMEOUT_MS 2000
#define RC_WHIP_INGEST_DEFAULT_SETUP_TIMEOUT_MS 15000

typedef struct
{
  /* The jitter buffer's wait for a missing packet, and as much again of
   * lead at the mixer for a late one (0: RC_WHIP_INGEST_DEFAULT_LATENCY_MS). */
  guint latency_ms;
  /* No RTP for this long once audio flowed ends the ingest (0: default). */
  guint silence_timeout_ms;
  /* No audio this long after the answer ends the ingest (0: default). */
  guint setup_timeout_ms;
} RcWhipIngestOptions;

typedef struct
{
  /* The answer SDP, with every local candidate and a=end-of-candidates. Once. */
  void (*answer) (RcWhipIngest *ingest, const char *sdp, gpointer user_data);
  /* The host's first audio is in the mix (guests hear it from now). Once. */
  void (*live) (RcWhipIngest *ingest, gpointer user_data);
  /* It is over and should be freed (which may be done from here): the offer
   * was refused (RC_MEDIA_ERROR_INVALID, or RC_MEDIA_ERROR_UNSUPPORTED_OFFER when
   * the answer takes no audio), or the connection failed, DTLS showed
   * another certificate, or no audio came (RC_MEDIA_ERROR_FAILED). */
  void (*ended) (RcWhipIngest *ingest, const GError *error, gpointer user_data);
} RcWhipIngestCallbacks;

typedef struct
{
  gboolean connected;    /* ICE and DTLS up */
  gboolean live;         /* audio has arrived */
  guint64 packets;       /* RTP packets of the host's audio */
  guint64 bytes;         /* their bytes */
  gint64 lost;           /* packets lost, as the RTP session counts them */
  double jitter_ms;      /* interarrival jitter (RFC 3550) */
  double bitrate;        /* bits/s over the last second or so */
  gint64 last_packet_us; /* g_get_monotonic_time() of the latest packet, 0: none */
} RcWhipIngestStats;

/* Builds the ingest in @pipeline (borrowed: it must outlive the ingest)
 * and starts answering @offer (from rc_sdp_parse_whip_offer; taken). */
RcWhipIngest *rc_whip_ingest_new (RcRoomPipeline *pipeline, const char *name, GstSDPMessage *offer,
                         const RcWhipIngestOptions *options, const RcWhipIngestCallbacks *callbacks,
                         gpointer user_data, GError **error);
/* Takes the host out of the mix (no gap for the room) and frees the ingest. */
void rc_whip_ingest_free (RcWhipIngest *ingest);

void rc_whip_ingest_get_stats (RcWhipIngest *ingest, RcWhipIngestStats *stats);
/* How long the host's audio waits between leaving the jitter buffer and
 * the mix (GST_CLOCK_TIME_NONE before it is mixed). */
GstClockTime rc_whip_ingest_get_mix_delay (RcWhipIngest *ingest);
/* The element mixed in (rc_room_pipeline_add_input); transfer none. */
GstElement *rc_whip_ingest_get_input (RcWhipIngest *ingest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWhipIngest, rc_whip_ingest_free)

G_END_DECLS

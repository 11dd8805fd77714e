/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * RcSrtIngest: a live host's MPEG-TS (as OBS sends it over SRT), mixed into
 * a room:
 *
 *   appsrc (the bytes, stamped with the running time they arrived at)
 *     ─ tsdemux ─┬─ AAC (ADTS): aacparse ─ avdec_aac ──────┐
 *                ├─ AAC (LATM): aacparse ─ avdec_aac_latm ─┼─ audioconvert ─ audioresample
 *                ├─ Opus: opusdec ─────────────────────────┘    ─ S16LE 48 kHz stereo
 *                └─ video, data, a second audio: fakesink        ─ a new mixer pad
 *
 * The transport (server/rc_srt.c) reads the connection on its own thread
 * and hands the bytes over with rc_srt_ingest_push.
 *
 * Main context only, except rc_srt_ingest_push; callbacks arrive on the
 * main context, never from inside a call into this API.
 */
typedef struct _RcSrtIngest RcSrtIngest;

#define RC_SRT_INGEST_DEFAULT_SILENCE_TIMEOUT_MS 2000
#define RC_SRT_INGEST_DEFAULT_SETUP_TIMEOUT_MS 5000

typedef struct
{
  /* No bytes from the host for this long ends the ingest (0: default). */
  guint silence_timeout_ms;
  /* No decoded audio for this long (from the start, or since the last)
   * ends it (0: default): a stream without AAC or Opus. */
  guint setup_timeout_ms;
} RcSrtIngestOptions;

typedef struct
{
  /* The host's audio reaches the mixer. Once. */
  void (*live) (RcSrtIngest *ingest, gpointer user_data);
  /* It is over and should be freed (which may be done from here):
   * RC_MEDIA_ERROR_FAILED with the reason (no data, no audio, an audio
   * codec other than AAC or Opus, a decoder error). */
  void (*ended) (RcSrtIngest *ingest, const GError *error, gpointer user_data);
} RcSrtIngestCallbacks;

typedef struct
{
  gboolean live;         /* audio reaches the mixer */
  guint64 bytes;         /* bytes pushed */
  guint64 messages;      /* pushes */
  gint64 last_data_us;   /* g_get_monotonic_time() of the latest push, 0: none */
  const char *codec;     /* "aac", "aac-latm", "opus", or NULL (none yet); static */
  double placement_ms;   /* how far the decoded audio was moved earlier to meet the mixer */
  double mix_offset_ms;  /* how much later than its timestamps it is mixed (0 until it is) */
} RcSrtIngestStats;

/* Builds the ingest in @pipeline (borrowed: it must outlive the ingest)
 * and starts it (rc_room_pipeline_add_input). */
RcSrtIngest *rc_srt_ingest_new (RcRoomPipeline *pipeline, const char *name,
                                const RcSrtIngestOptions *options,
                                const RcSrtIngestCallbacks *callbacks, gpointer user_data,
                                GError **error);
/* Takes the host out of the mix (no gap for the room) and frees the ingest. */
void rc_srt_ingest_free (RcSrtIngest *ingest);

/* Any thread: @size bytes of the host's transport stream (an SRT message
 * is seven 188-byte packets), as they arrive. Never blocks: when the
 * ingest falls seconds behind, the oldest bytes go. */
void rc_srt_ingest_push (RcSrtIngest *ingest, const guint8 *data, gsize size);

/* The element given to rc_room_pipeline_add_input (for rc_live_on_air). */
GstElement *rc_srt_ingest_get_element (RcSrtIngest *ingest);

void rc_srt_ingest_get_stats (RcSrtIngest *ingest, RcSrtIngestStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSrtIngest, rc_srt_ingest_free)

G_END_DECLS

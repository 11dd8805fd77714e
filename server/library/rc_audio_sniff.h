/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Is what a URL serves audio? Two checks on what a download's first moment
 * tells: its Content-Type (media type without parameters, NULL when the
 * server sent none) and its first bytes, against the signatures of the
 * formats GStreamer's usual plugins decode. Both face the network
 * (tests/fuzz/fuzz_audio_sniff.c).
 */

/* Bytes rc_audio_sniff_bytes wants (fewer only when the body is shorter). */
#define RC_AUDIO_SNIFF_BYTES 16

/* FALSE for a type that names something else than audio (a page, an image,
 * JSON...); TRUE for audio/, video/ (containers), the download types and none. */
gboolean rc_audio_sniff_content_type (const char *content_type);

/* TRUE when @data starts like an audio file (Ogg, FLAC, MP3, ADTS AAC, WAV,
 * AIFF, MP4/M4A, Matroska/WebM, ASF, CAF, WavPack, APE, Musepack, AMR, AU). */
gboolean rc_audio_sniff_bytes (const guint8 *data, gsize length);

G_END_DECLS

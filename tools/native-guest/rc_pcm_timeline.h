/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RcPcmTimeline: decoded PCM (S16LE stereo, 48 kHz) placed by the server
 * time at which it is to be heard. A position is a frame count of server
 * time: frame p is heard at p / 48000 s on the server clock. The decoder
 * writes each buffer at its position, the device feeder reads whatever
 * position its device will play next; what was never written (a lost
 * packet, a gap after a resync, anything older than the ring) reads as
 * silence. The ring holds RC_PCM_TIMELINE_SECONDS, more than the largest
 * playout delay the server allows plus a device's buffer.
 *
 * Thread safety: write and read may be called from any threads.
 */
#define RC_PCM_TIMELINE_RATE 48000
#define RC_PCM_TIMELINE_CHANNELS 2
#define RC_PCM_TIMELINE_SECONDS 10

typedef struct _RcPcmTimeline RcPcmTimeline;

RcPcmTimeline *rc_pcm_timeline_new (void);
void rc_pcm_timeline_free (RcPcmTimeline *timeline);

/* Writes @n_frames interleaved frames at @position. Returns how many of
 * them came too late: at positions the reader had already taken. */
guint rc_pcm_timeline_write (RcPcmTimeline *timeline, gint64 position, const gint16 *frames,
                             guint n_frames);
/* Reads @n_frames from @position into @out (silence where nothing was
 * written). Returns how many frames held written data. */
guint rc_pcm_timeline_read (RcPcmTimeline *timeline, gint64 position, gint16 *out,
                            guint n_frames);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcPcmTimeline, rc_pcm_timeline_free)

G_END_DECLS

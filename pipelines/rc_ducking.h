/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * Talk-over: the track is ducked under a live input. While the input's level
 * (RMS of each buffer, dBFS: a full-scale sine is -3) is above
 * @threshold_db, the track's gain ramps down to @duck_db over @attack_ms;
 * once the input has stayed below the threshold for @hold_ms, it ramps back
 * to 0 dB over @release_ms. Ramps move linearly in dB, sample by sample (no
 * clicks), on the track only (never on live inputs), and carry over from
 * track to track (a skip or seek while ducked starts the next one ducked).
 * @duck_db is kept within -96..0.
 */
typedef struct
{
  double duck_db;      /* e.g. -12 */
  double threshold_db; /* e.g. -40 */
  guint attack_ms;     /* e.g. 50 */
  guint hold_ms;       /* e.g. 500 */
  guint release_ms;    /* e.g. 400 */
} RcDuckingParams;

#define RC_DUCKING_DEFAULT { -12.0, -40.0, 50, 500, 400 }

/*
 * RcDucking: one room's talk-over state and the pad probes that run it. The
 * room pipeline owns one and tells it which pads carry the track into the
 * mixer and which pad carries the live input it listens to. Reference
 * counted: each probe holds a reference, so it lives as long as the pads
 * that call it. All calls on the main context; the probes run on the
 * streaming threads.
 */
typedef struct _RcDucking RcDucking;

RcDucking *rc_ducking_new (const char *room_id);
RcDucking *rc_ducking_ref (RcDucking *ducking);
void rc_ducking_unref (RcDucking *ducking);

/* Track @serial is now linked to the mixer through @mixer_pad: its samples
 * get the gain (and move the ramp while it is the followed track). */
void rc_ducking_watch_track (RcDucking *ducking, GstPad *mixer_pad, guint serial);
/* Track @serial is the current track: its samples move the ramp. */
void rc_ducking_follow_track (RcDucking *ducking, guint serial);

/* Listens to @input_pad (an input's output, named @input_name in logs)
 * with @params. The same pad again only changes the settings; another pad
 * replaces it. @input_pad NULL (or @params NULL) turns ducking off, the
 * gain ramping back up over the release time. */
void rc_ducking_set (RcDucking *ducking, GstPad *input_pad, const char *input_name,
                     const RcDuckingParams *params);
/* Stops listening to @input_pad if ducking listens to it (the input is going). */
void rc_ducking_forget (RcDucking *ducking, GstPad *input_pad);

/* The track's gain now, in dB (0 when not ducked), and the input's latest
 * level in dBFS (-inf without ducking, or before its first buffer). */
double rc_ducking_get_gain_db (RcDucking *ducking);
double rc_ducking_get_input_level_db (RcDucking *ducking);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcDucking, rc_ducking_unref)

G_END_DECLS

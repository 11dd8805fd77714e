/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * RcTrackBin: a bin whose ERROR messages reach the pipeline as element
 * messages named RC_TRACK_BIN_ERROR, with the GError in "error" and the
 * debug text in "debug", so a track that fails never fails the pipeline's
 * state changes.
 */
#define RC_TRACK_BIN_ERROR "rc-track-error"

#define RC_TYPE_TRACK_BIN (rc_track_bin_get_type ())
G_DECLARE_FINAL_TYPE (RcTrackBin, rc_track_bin, RC, TRACK_BIN, GstBin)

GstElement *rc_track_bin_new (const char *name);

G_END_DECLS

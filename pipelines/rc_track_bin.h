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

/*
 * Adds to @bin what reads and decodes @uri, its decoded audio (the first
 * audio stream) linked to @sink's "sink" pad once known (@sink is already in
 * @bin). A local file is read by one streaming thread from its demuxer or
 * parser to @sink (filesrc ─ parsebin ─ the best-ranked decoder for its
 * caps, no multiqueue); any other URI goes through uridecodebin, which
 * buffers a network stream. FALSE if the elements are missing.
 */
gboolean rc_track_bin_add_decoder (GstElement *bin, const char *uri, GstElement *sink);

/* Once @bin's audio flows: ends the thread its typefinder keeps waiting
 * when the demuxer pulls the file through it (a paused task keeps its
 * thread for the life of the track). Main context. */
void rc_track_bin_end_idle_threads (GstElement *bin);

G_END_DECLS

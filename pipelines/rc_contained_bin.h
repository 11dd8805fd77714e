/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * A bin for a live host's elements inside a room's pipeline: their ERROR
 * messages (a decoder, a demuxer, webrtcbin) never reach the pipeline's
 * bus, where they would count as the room's. Each goes to the handler
 * instead, on the thread that posted it, as "element: message".
 */
typedef void (*RcContainedErrorFunc) (const char *what, gpointer data);

GstElement *rc_contained_bin_new (const char *name);
/* Sets (or, with @func NULL, clears) the handler; safe against an error
 * being handled at the same time. Clear it before @data goes. */
void rc_contained_bin_set_handler (GstElement *bin, RcContainedErrorFunc func, gpointer data);

G_END_DECLS

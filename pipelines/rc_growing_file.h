/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * A file still being written (a song the server downloads), and a source
 * element that plays it as it grows.
 *
 * The writer registers the file under its path (rc_growing_file_begin),
 * says after each write how many bytes it holds, and ends it: whole (maybe
 * renamed) or failed. A track whose file is registered reads it with
 * RcGrowingSrc instead of filesrc: at the current end it waits for the
 * writer instead of ending, a byte seek past what has arrived waits for
 * those bytes, and the stream ends only once the writer says the file is
 * whole. A failed file plays what had arrived, then posts an error.
 *
 * The source offers push mode only while the file grows: in pull mode a
 * typefinder or a tag reader reads the end of the file first, which would
 * wait for the whole download.
 *
 * Thread-safe: the writer calls from its own context, the source reads on
 * its streaming thread.
 */
typedef struct _RcGrowingFile RcGrowingFile;

/* Registers @path (which may not exist yet); @expected_size is the bytes it
 * will hold, or -1 when unknown. Returns the writer's reference. */
RcGrowingFile *rc_growing_file_begin (const char *path, gint64 expected_size);
/* The file now holds @size bytes. */
void rc_growing_file_wrote (RcGrowingFile *file, guint64 size);
/* The file is whole, now at @whole_path (its path, or where it was renamed
 * to). It is no longer registered. */
void rc_growing_file_finish (RcGrowingFile *file, const char *whole_path);
/* The file will not be completed (@message says why; it may be deleted).
 * It is no longer registered. */
void rc_growing_file_fail (RcGrowingFile *file, const char *message);
void rc_growing_file_unref (RcGrowingFile *file);

/* A source for @path if it is registered as growing, else NULL. */
GstElement *rc_growing_src_new (const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcGrowingFile, rc_growing_file_unref)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Small tagged audio files made in-process with GStreamer, for library
 * tests. Call gst_init first.
 */
typedef enum
{
  RC_TEST_MUSIC_VORBIS, /* .ogg */
  RC_TEST_MUSIC_FLAC,   /* .flac */
  RC_TEST_MUSIC_WAV,    /* .wav, no tags */
  RC_TEST_MUSIC_OPUS,   /* .opus (Ogg) */
  RC_TEST_MUSIC_MP3,    /* .mp3, no tags */
  RC_TEST_MUSIC_AAC,    /* .m4a (AAC in MP4), no tags */
} RcTestMusicFormat;

/* A tone of @freq Hz, @duration_ms long; tags may be NULL. Fails the test on error. */
void rc_test_music_write (const char *path, RcTestMusicFormat format, double freq,
                          guint duration_ms, const char *title, const char *artist,
                          const char *album, const char *lyrics);

/*
 * A temp folder holding the standard test tree (see rc_test_music.c for its
 * list): accents, a subfolder, a near-duplicate, an untagged file, 22 bulk
 * songs, a text file and a corrupt .mp3. Remove it with rc_test_music_remove_tree.
 */
char *rc_test_music_make_tree (void);
/* Songs in the standard tree (readable audio files). */
#define RC_TEST_MUSIC_TREE_SONGS 28
void rc_test_music_remove_tree (const char *dir);

G_END_DECLS

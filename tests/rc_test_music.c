/* SPDX-License-Identifier: MIT */
/*
 * Test music made in-process: a GStreamer pipeline per file (audiotestsrc →
 * encoder with tags → file), run to EOS on its own bus. No gst-launch, so
 * tags with accents need no shell quoting.
 */
#include "rc_test_music.h"
#include "tools/support/rc_tree.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

void
rc_test_music_write (const char *path, RcTestMusicFormat format, double freq,
                     guint duration_ms, const char *title, const char *artist,
                     const char *album, const char *lyrics)
{
  static const char *const encoders[] = {
    [RC_TEST_MUSIC_VORBIS] = "vorbisenc name=enc ! oggmux",
    [RC_TEST_MUSIC_FLAC] = "flacenc name=enc",
    [RC_TEST_MUSIC_WAV] = "wavenc name=enc",
    [RC_TEST_MUSIC_OPUS] = "opusenc name=enc ! oggmux",
    [RC_TEST_MUSIC_MP3] = "lamemp3enc name=enc",
    [RC_TEST_MUSIC_AAC] = "voaacenc name=enc ! mp4mux",
  };
  g_autofree char *description = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstElement) enc = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;

  /* 10 ms buffers at 44.1 kHz: the duration is exact to the buffer. */
  description = g_strdup_printf ("audiotestsrc freq=%g samplesperbuffer=441 num-buffers=%u "
                                 "! audio/x-raw,rate=44100,channels=1 ! audioconvert ! audioresample ! %s "
                                 "! filesink name=sink",
                                 freq, duration_ms / 10, encoders[format]);
  pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (sink, "location", path, NULL);
  enc = gst_bin_get_by_name (GST_BIN (pipeline), "enc");
  if (format != RC_TEST_MUSIC_WAV && GST_IS_TAG_SETTER (enc))
    {
      GstTagSetter *setter = GST_TAG_SETTER (enc);
      if (title != NULL)
        gst_tag_setter_add_tags (setter, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, title, NULL);
      if (artist != NULL)
        gst_tag_setter_add_tags (setter, GST_TAG_MERGE_REPLACE, GST_TAG_ARTIST, artist, NULL);
      if (album != NULL)
        gst_tag_setter_add_tags (setter, GST_TAG_MERGE_REPLACE, GST_TAG_ALBUM, album, NULL);
      if (lyrics != NULL)
        {
          /* As taggers write it: a LYRICS Vorbis comment (GStreamer maps none). */
          g_autofree char *comment = g_strconcat ("LYRICS=", lyrics, NULL);
          gst_tag_setter_add_tags (setter, GST_TAG_MERGE_REPLACE, GST_TAG_EXTENDED_COMMENT,
                                   comment, NULL);
        }
    }
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) gerror = NULL;
      gst_message_parse_error (msg, &gerror, NULL);
      g_error ("Writing %s failed: %s", path, gerror->message);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static void
write_file (const char *dir, const char *rel_path, RcTestMusicFormat format, double freq,
            guint duration_ms, const char *title, const char *artist, const char *album,
            const char *lyrics)
{
  g_autofree char *path = g_build_filename (dir, rel_path, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  rc_test_music_write (path, format, freq, duration_ms, title, artist, album, lyrics);
}

/*
 * The standard tree:
 *   cafe.ogg               "Café del Mar" / "Beyoncé" / "Summer", 1500 ms, lyrics
 *   sub/cafe-copy.flac     "Café del Mar" / "Beyoncé" / "Other", 2500 ms (near-duplicate)
 *   sub/deeper/morning.ogg "Morning Cafe" / "Anna" / "Dawn", 1000 ms
 *   blue.ogg               "Blue" / "Cafe Trio" / "Night"
 *   red.ogg                "Red" / "Nobody" / "Cafe Songs"
 *   untagged.wav           no tags, 700 ms
 *   bulk/bulk-01.wav ... bulk-22.wav, 200 ms each
 *   notes.txt              not audio
 *   broken.mp3             random bytes
 */
char *
rc_test_music_make_tree (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("roomcast-music-XXXXXX", &error);
  g_autofree char *notes = NULL;
  g_autofree char *broken = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  guint8 junk[8192];

  g_assert_no_error (error);
  write_file (dir, "cafe.ogg", RC_TEST_MUSIC_VORBIS, 220, 1500, "Café del Mar", "Beyoncé",
              "Summer", "Line one\nLine two");
  write_file (dir, "sub/cafe-copy.flac", RC_TEST_MUSIC_FLAC, 330, 2500, "Café del Mar",
              "Beyoncé", "Other", NULL);
  write_file (dir, "sub/deeper/morning.ogg", RC_TEST_MUSIC_VORBIS, 440, 1000, "Morning Cafe",
              "Anna", "Dawn", NULL);
  write_file (dir, "blue.ogg", RC_TEST_MUSIC_VORBIS, 550, 500, "Blue", "Cafe Trio", "Night", NULL);
  write_file (dir, "red.ogg", RC_TEST_MUSIC_VORBIS, 660, 500, "Red", "Nobody", "Cafe Songs", NULL);
  write_file (dir, "untagged.wav", RC_TEST_MUSIC_WAV, 770, 700, NULL, NULL, NULL, NULL);
  for (guint i = 1; i <= 22; i++)
    {
      g_autofree char *name = g_strdup_printf ("bulk/bulk-%02u.wav", i);
      write_file (dir, name, RC_TEST_MUSIC_WAV, 200 + 10 * i, 200, NULL, NULL, NULL, NULL);
    }

  notes = g_build_filename (dir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "not music\n", -1, NULL));
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_rand_int_range (rand, 0, 256);
  broken = g_build_filename (dir, "broken.mp3", NULL);
  g_assert_true (g_file_set_contents (broken, (const char *) junk, sizeof junk, NULL));
  return dir;
}

void
rc_test_music_remove_tree (const char *dir)
{
  rc_remove_tree (dir);
}

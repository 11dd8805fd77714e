/* SPDX-License-Identifier: MIT */
/*
 * The song cache refuses what is not audio before it writes a byte of it:
 * an HTML error page served with status 200, a JSON reply, an image. The
 * Content-Type says so when the server is honest; the first bytes say so
 * when it is not (application/octet-stream for everything). Both checks
 * are tables, so a format is one row.
 */
#include <string.h>

#include "server/library/rc_audio_sniff.h"

/* Media types that are not audio but say nothing either way are let
 * through to the byte check. */
static const char *const download_types[] = {
  "application/ogg",       "application/x-ogg",          "application/octet-stream",
  "binary/octet-stream",   "application/force-download", "application/download",
  "application/mp4",       "application/x-flac",         "application/flac",
  "application/x-matroska",
};

gboolean
rc_audio_sniff_content_type (const char *content_type)
{
  if (content_type == NULL || *content_type == '\0')
    return TRUE;
  if (g_ascii_strncasecmp (content_type, "audio/", 6) == 0 ||
      g_ascii_strncasecmp (content_type, "video/", 6) == 0)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (download_types); i++)
    if (g_ascii_strcasecmp (content_type, download_types[i]) == 0)
      return TRUE;
  return FALSE;
}

typedef struct
{
  guint offset;
  const char *magic;
  guint length;
} Signature;

#define SIG(offset, magic) { offset, magic, sizeof (magic) - 1 }

static const Signature signatures[] = {
  SIG (0, "OggS"),
  SIG (0, "fLaC"),
  SIG (0, "ID3"),             /* MP3 (or AAC) behind an ID3v2 tag */
  SIG (4, "ftyp"),            /* MP4, M4A */
  SIG (0, "\x1a\x45\xdf\xa3"), /* Matroska, WebM */
  SIG (0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11"), /* ASF (WMA) */
  SIG (0, "caff"),
  SIG (0, "wvpk"),
  SIG (0, "MAC "),
  SIG (0, "MPCK"),
  SIG (0, "MP+"),
  SIG (0, "#!AMR"),
  SIG (0, ".snd"),
};

/* A RIFF or IFF container whose form type is audio. */
static gboolean
is_audio_form (const guint8 *data, gsize length)
{
  if (length < 12)
    return FALSE;
  if (memcmp (data, "RIFF", 4) == 0 || memcmp (data, "RIFX", 4) == 0)
    return memcmp (data + 8, "WAVE", 4) == 0;
  if (memcmp (data, "FORM", 4) == 0)
    return memcmp (data + 8, "AIFF", 4) == 0 || memcmp (data + 8, "AIFC", 4) == 0;
  return FALSE;
}

/* An MPEG audio frame header (MP1/2/3) or an ADTS AAC header: eleven sync
 * bits, then a version, layer and bitrate that are not the reserved ones. */
static gboolean
is_mpeg_frame (const guint8 *data, gsize length)
{
  guint version, layer, bitrate, rate;

  if (length < 3 || data[0] != 0xff || (data[1] & 0xe0) != 0xe0)
    return FALSE;
  version = (data[1] >> 3) & 3;
  layer = (data[1] >> 1) & 3;
  if (layer == 0)
    return version == 2 || version == 3; /* ADTS: MPEG-4 or MPEG-2 AAC */
  bitrate = data[2] >> 4;
  rate = (data[2] >> 2) & 3;
  return version != 1 && bitrate != 15 && rate != 3;
}

gboolean
rc_audio_sniff_bytes (const guint8 *data, gsize length)
{
  if (data == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (signatures); i++)
    {
      const Signature *s = &signatures[i];

      if (length >= s->offset + s->length && memcmp (data + s->offset, s->magic, s->length) == 0)
        return TRUE;
    }
  return is_audio_form (data, length) || is_mpeg_frame (data, length);
}

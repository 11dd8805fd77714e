/* SPDX-License-Identifier: MIT */
/*
 * SDP helpers for the WebRTC audio path. Why they exist:
 *
 * - webrtcbin writes the Opus fmtp from caps and leaves out `stereo=1`, and
 *   browsers downmix to mono without it; both ends set it by editing the SDP
 *   text they send (the protocol asks for `stereo=1;sprop-stereo=1` in the
 *   offer and `stereo=1` in the answer).
 * - An answer or candidate from a guest is untrusted input. webrtcbin checks
 *   it too, but only asynchronously, on its own thread; these checks refuse
 *   what cannot work at the edge, with a message for the client, so that a
 *   bad request gets an error reply instead of a dead session.
 * - A live host's WHIP offer is checked and normalised here, at the edge:
 *   webrtcbin 1.22 only reads a=setup in the media section, refuses an SDP
 *   with both a session and a media fingerprint, and compares media-level
 *   ICE credentials inside a bundle, while OBS (libdatachannel) and browsers
 *   spread these between the levels.
 */
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_media_error.h"

#include <string.h>

static gboolean
is_opus_rtpmap (const char *rtpmap, int *pt)
{
  char *end;
  long value;

  /* "111 opus/48000/2" */
  value = strtol (rtpmap, &end, 10);
  if (end == rtpmap || *end != ' ' || value < 0 || value > 127)
    return FALSE;
  while (*end == ' ')
    end++;
  if (g_ascii_strncasecmp (end, "opus/48000", 10) != 0)
    return FALSE;
  *pt = (int) value;
  return TRUE;
}

/* Index of @media's "fmtp" attribute for @pt, or -1. */
static int
find_fmtp (const GstSDPMedia *media, int pt)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
      char *end;

      if (g_strcmp0 (a->key, "fmtp") != 0 || a->value == NULL)
        continue;
      if (strtol (a->value, &end, 10) == pt && end != a->value && (*end == ' ' || *end == '\0'))
        return (int) i;
    }
  return -1;
}

/* The fmtp parameters after the payload type, "a=1;b=2", or "". */
static const char *
fmtp_params (const char *value)
{
  const char *p = strchr (value, ' ');

  if (p == NULL)
    return "";
  while (*p == ' ')
    p++;
  return p;
}

/* Splits "a=1; b=2" into trimmed "a=1", "b=2", dropping empties. */
static GPtrArray *
split_params (const char *params)
{
  g_auto (GStrv) parts = g_strsplit (params, ";", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *p = g_strstrip (parts[i]);

      if (*p != '\0')
        g_ptr_array_add (out, g_strdup (p));
    }
  return out;
}

static gboolean
same_key (const char *a, const char *b)
{
  gsize la = strcspn (a, "="), lb = strcspn (b, "=");

  return la == lb && g_ascii_strncasecmp (a, b, la) == 0;
}

/* @params first, in their order, then what @old_params had besides them:
 * "stereo=1;sprop-stereo=1;sprop-maxcapturerate=48000". */
static char *
merge_params (const char *old_params, const char *params)
{
  g_autoptr (GPtrArray) have = split_params (old_params);
  g_autoptr (GPtrArray) want = split_params (params);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint w = 0; w < want->len; w++)
    g_string_append_printf (out, "%s%s", w > 0 ? ";" : "", (char *) want->pdata[w]);
  for (guint h = 0; h < have->len; h++)
    {
      gboolean replaced = FALSE;

      for (guint w = 0; w < want->len && !replaced; w++)
        replaced = same_key (have->pdata[h], want->pdata[w]);
      if (!replaced)
        g_string_append_printf (out, "%s%s", out->len > 0 ? ";" : "", (char *) have->pdata[h]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

guint
rc_sdp_set_opus_fmtp (GstSDPMessage *sdp, const char *params)
{
  guint found = 0;

  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") != 0)
        continue;
      for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
        {
          const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
          g_autofree char *value = NULL, *merged = NULL;
          GstSDPAttribute attr;
          const char *old;
          int pt, at;

          if (g_strcmp0 (a->key, "rtpmap") != 0 || a->value == NULL
              || !is_opus_rtpmap (a->value, &pt))
            continue;
          found++;
          at = find_fmtp (media, pt);
          old = at >= 0 ? fmtp_params (gst_sdp_media_get_attribute (media, at)->value) : "";
          merged = merge_params (old, params);
          value = g_strdup_printf ("%d %s", pt, merged);
          if (at >= 0)
            {
              /* replace_attribute takes what attr holds */
              gst_sdp_attribute_set (&attr, "fmtp", value);
              gst_sdp_media_replace_attribute (media, at, &attr);
            }
          else
            gst_sdp_media_add_attribute (media, "fmtp", value);
        }
    }
  return found;
}

char *
rc_sdp_get_opus_fmtp (const GstSDPMessage *sdp, const char *key)
{
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
        {
          const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
          g_autoptr (GPtrArray) params = NULL;
          int pt, at;

          if (g_strcmp0 (a->key, "rtpmap") != 0 || a->value == NULL
              || !is_opus_rtpmap (a->value, &pt))
            continue;
          at = find_fmtp (media, pt);
          if (at < 0)
            return NULL;
          params = split_params (fmtp_params (gst_sdp_media_get_attribute (media, at)->value));
          for (guint p = 0; p < params->len; p++)
            if (same_key (params->pdata[p], key))
              {
                const char *eq = strchr (params->pdata[p], '=');
                return g_strdup (eq != NULL ? eq + 1 : "");
              }
          return NULL;
        }
    }
  return NULL;
}

static const char *
media_or_session (const GstSDPMessage *sdp, const GstSDPMedia *media, const char *key)
{
  const char *value = gst_sdp_media_get_attribute_val (media, key);

  if (value == NULL)
    value = gst_sdp_message_get_attribute_val (sdp, key);
  return value != NULL && *value != '\0' ? value : NULL;
}

static gboolean
has_opus (const GstSDPMedia *media)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
      int pt;

      if (g_strcmp0 (a->key, "rtpmap") == 0 && a->value != NULL && is_opus_rtpmap (a->value, &pt))
        return TRUE;
    }
  return FALSE;
}

static gboolean
fail (GError **error, guint m, const char *what)
{
  g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, "\"sdp\" section %u %s", m, what);
  return FALSE;
}

gboolean
rc_sdp_check_answer (const GstSDPMessage *sdp, guint n_media, GError **error)
{
  if (gst_sdp_message_medias_len (sdp) != n_media)
    {
      g_set_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                   "\"sdp\" must answer the offer's %u audio section(s); it has %u", n_media,
                   gst_sdp_message_medias_len (sdp));
      return FALSE;
    }
  for (guint m = 0; m < n_media; m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
      const char *setup = media_or_session (sdp, media, "setup");

      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") != 0)
        return fail (error, m, "is not audio");
      if (gst_sdp_media_get_port (media) == 0)
        return fail (error, m, "is rejected (port 0)");
      if (gst_sdp_media_get_proto (media) == NULL
          || strstr (gst_sdp_media_get_proto (media), "SAVPF") == NULL)
        return fail (error, m, "is not DTLS-SRTP (UDP/TLS/RTP/SAVPF)");
      if (gst_sdp_media_get_attribute_val (media, "mid") == NULL)
        return fail (error, m, "has no a=mid");
      if (gst_sdp_media_get_attribute_val (media, "recvonly") == NULL)
        return fail (error, m, "must be recvonly (the server only sends)");
      if (media_or_session (sdp, media, "ice-ufrag") == NULL
          || media_or_session (sdp, media, "ice-pwd") == NULL)
        return fail (error, m, "has no ICE credentials");
      if (media_or_session (sdp, media, "fingerprint") == NULL)
        return fail (error, m, "has no DTLS fingerprint");
      if (g_strcmp0 (setup, "active") != 0 && g_strcmp0 (setup, "passive") != 0)
        return fail (error, m, "needs a=setup:active or passive");
      if (!has_opus (media))
        return fail (error, m, "does not accept Opus at 48 kHz");
    }
  return TRUE;
}

static gboolean
all_chars (const char *s, const char *allowed_extra)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && strchr (allowed_extra, *s) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
is_number (const char *s, guint64 max)
{
  guint64 value;

  return all_chars (s, "") && g_ascii_string_to_unsigned (s, 10, 0, max, &value, NULL);
}

gboolean
rc_sdp_check_candidate (const char *candidate, GError **error)
{
  g_auto (GStrv) t = NULL;
  static const char *const types[] = { "host", "srflx", "prflx", "relay", NULL };

  if (!g_str_has_prefix (candidate, "candidate:"))
    goto bad;
  for (const char *c = candidate; *c != '\0'; c++)
    if ((guchar) *c < 0x20 || (guchar) *c > 0x7e)
      goto bad;
  t = g_strsplit (candidate + strlen ("candidate:"), " ", -1);
  if (g_strv_length (t) < 8)
    goto bad;
  if (!all_chars (t[0], "+/") || !is_number (t[1], 256)
      || (g_ascii_strcasecmp (t[2], "udp") != 0 && g_ascii_strcasecmp (t[2], "tcp") != 0)
      || !is_number (t[3], G_MAXUINT32) || !all_chars (t[4], ".:-_%") || !is_number (t[5], 65535)
      || g_strcmp0 (t[6], "typ") != 0 || !g_strv_contains (types, t[7]))
    goto bad;
  return TRUE;

bad:
  g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                       "\"candidate\" is not an ICE candidate (\"candidate:... typ host\")");
  return FALSE;
}

gboolean
rc_sdp_check_answer_turn (gboolean offer_sent, gboolean answered, GError **error)
{
  if (!offer_sent)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                           "No offer has been sent yet; wait for it");
      return FALSE;
    }
  if (answered)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID,
                           "This offer has been answered already; send startMedia for a new one");
      return FALSE;
    }
  return TRUE;
}

gboolean
rc_sdp_read_trickled (const char *candidate, const char **value, GError **error)
{
  *value = NULL;
  if (candidate == NULL || *candidate == '\0')
    return TRUE; /* end of candidates: nothing to do */
  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  if (!rc_sdp_check_candidate (candidate, error))
    return FALSE;
  *value = candidate;
  return TRUE;
}

const char *
rc_sdp_get_fingerprint (const GstSDPMessage *sdp)
{
  const char *value = gst_sdp_message_get_attribute_val (sdp, "fingerprint");

  if (value == NULL && gst_sdp_message_medias_len (sdp) > 0)
    value = gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, 0), "fingerprint");
  return value;
}

/* The DER bytes of the first certificate in @pem. */
static GBytes *
pem_to_der (const char *pem)
{
  const char *begin = strstr (pem, "-----BEGIN CERTIFICATE-----");
  const char *end;
  g_autofree char *body = NULL;
  guchar *der;
  gsize len;

  if (begin == NULL)
    return NULL;
  begin += strlen ("-----BEGIN CERTIFICATE-----");
  end = strstr (begin, "-----END CERTIFICATE-----");
  if (end == NULL)
    return NULL;
  body = g_strndup (begin, end - begin);
  der = g_base64_decode (g_strstrip (body), &len);
  if (len == 0)
    {
      g_free (der);
      return NULL;
    }
  return g_bytes_new_take (der, len);
}

gboolean
rc_sdp_fingerprint_matches (const char *fingerprint, const char *pem)
{
  static const struct
  {
    const char *name;
    GChecksumType type;
  } hashes[] = {
    { "sha-1", G_CHECKSUM_SHA1 },
    { "sha-256", G_CHECKSUM_SHA256 },
    { "sha-384", G_CHECKSUM_SHA384 },
    { "sha-512", G_CHECKSUM_SHA512 },
  };
  g_auto (GStrv) parts = NULL;
  g_autofree char *copy = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GChecksum) checksum = NULL;
  g_autoptr (GString) expected = NULL;
  const char *hex;

  if (fingerprint == NULL || pem == NULL)
    return FALSE;
  copy = g_strstrip (g_strdup (fingerprint));
  parts = g_strsplit (copy, " ", 2);
  if (g_strv_length (parts) != 2 || (der = pem_to_der (pem)) == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (hashes) && checksum == NULL; i++)
    if (g_ascii_strcasecmp (parts[0], hashes[i].name) == 0)
      checksum = g_checksum_new (hashes[i].type);
  if (checksum == NULL)
    return FALSE;
  g_checksum_update (checksum, g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  hex = g_checksum_get_string (checksum);
  expected = g_string_new (NULL);
  for (const char *c = hex; *c != '\0'; c += 2)
    g_string_append_printf (expected, "%s%c%c", c == hex ? "" : ":", c[0], c[1]);
  return g_ascii_strcasecmp (g_strstrip (parts[1]), expected->str) == 0;
}

/* ---- WHIP offers ----------------------------------------------------------- */

#define MAX_SECTIONS 16

/* Port 0 rejects a section, unless it is bundle-only (RFC 8843: it rides
 * on the bundle's transport; webrtcbin offers every section but the first
 * that way with max-bundle). */
gboolean
rc_sdp_media_is_rejected (const GstSDPMedia *media)
{
  return gst_sdp_media_get_port (media) == 0
         && gst_sdp_media_get_attribute_val (media, "bundle-only") == NULL;
}

static gboolean
media_sends (const GstSDPMedia *media)
{
  return gst_sdp_media_get_attribute_val (media, "recvonly") == NULL
         && gst_sdp_media_get_attribute_val (media, "inactive") == NULL;
}

static gboolean
media_is_dtls_srtp (const GstSDPMedia *media)
{
  const char *proto = gst_sdp_media_get_proto (media);

  return proto != NULL && strstr (proto, "SAVPF") != NULL && strstr (proto, "TLS") != NULL;
}

static int
find_audio_section (const GstSDPMessage *sdp)
{
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") == 0 && !rc_sdp_media_is_rejected (media)
          && media_sends (media) && has_opus (media) && media_is_dtls_srtp (media))
        return (int) m;
    }
  return -1;
}

/* Why no section can be taken, for the host. */
static void
explain_no_audio (const GstSDPMessage *sdp, GError **error)
{
  gboolean audio = FALSE, sending = FALSE, opus = FALSE;

  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") != 0 || rc_sdp_media_is_rejected (media))
        continue;
      audio = TRUE;
      if (!media_sends (media))
        continue;
      sending = TRUE;
      if (has_opus (media))
        opus = TRUE;
    }
  g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_UNSUPPORTED_OFFER,
                       !audio     ? "The offer has no audio section; roomcast takes audio only"
                       : !sending ? "The offer's audio is not sent (recvonly or inactive)"
                       : !opus    ? "The offer's audio has no Opus at 48 kHz; choose Opus"
                                  : "The offer's audio is not DTLS-SRTP (UDP/TLS/RTP/SAVPF)");
}

int
rc_sdp_find_whip_audio (const GstSDPMessage *sdp, GError **error)
{
  int m = find_audio_section (sdp);

  if (m < 0)
    explain_no_audio (sdp, error);
  return m;
}

static const char *
value_or_null (const char *value)
{
  return value != NULL && *value != '\0' ? value : NULL;
}

/* Every section gets @key's value: its own, else the session's. FALSE
 * (with the section's index) when neither has one. */
static gboolean
spread_attribute (GstSDPMessage *sdp, const char *key, guint *missing)
{
  const char *session = value_or_null (gst_sdp_message_get_attribute_val (sdp, key));

  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      if (value_or_null (gst_sdp_media_get_attribute_val (media, key)) != NULL)
        continue;
      if (session == NULL)
        {
          *missing = m;
          return FALSE;
        }
      gst_sdp_media_add_attribute (media, key, session);
    }
  return TRUE;
}

static void
remove_session_attribute (GstSDPMessage *sdp, const char *key)
{
  for (guint i = gst_sdp_message_attributes_len (sdp); i > 0; i--)
    if (g_strcmp0 (gst_sdp_message_get_attribute (sdp, i - 1)->key, key) == 0)
      gst_sdp_message_remove_attribute (sdp, i - 1);
}

void
rc_sdp_remove_attribute (GstSDPMessage *sdp, const char *key)
{
  remove_session_attribute (sdp, key);
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (sdp, m);

      for (guint i = gst_sdp_media_attributes_len (media); i > 0; i--)
        if (g_strcmp0 (gst_sdp_media_get_attribute (media, i - 1)->key, key) == 0)
          gst_sdp_media_remove_attribute (media, i - 1);
    }
}

static gboolean
bad_offer (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad_offer (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, text);
  return FALSE;
}

/* webrtcbin's requirements, checked here so that a bad offer gets a 400
 * with a reason instead of a refusal on webrtcbin's thread. */
static gboolean
check_sections (GstSDPMessage *sdp, GError **error)
{
  static const char *const setups[] = { "actpass", "active", "passive", NULL };
  static const char *const keys[] = { "ice-ufrag", "ice-pwd", "setup", "fingerprint" };
  const char *fingerprint = NULL;
  guint missing = 0;

  if (value_or_null (gst_sdp_message_get_key (sdp)->type) != NULL)
    return bad_offer (error, "The offer has a k= line");
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
      const char *fp = value_or_null (gst_sdp_media_get_attribute_val (media, "fingerprint"));

      if (value_or_null (gst_sdp_media_get_attribute_val (media, "mid")) == NULL)
        return bad_offer (error, "Section %u of the offer has no a=mid", m);
      if (fp != NULL && fingerprint != NULL && g_strcmp0 (fp, fingerprint) != 0)
        return bad_offer (error, "The offer's sections have different DTLS fingerprints");
      if (fp != NULL)
        fingerprint = fp;
    }
  /* A media fingerprint and a different session one: which is it? */
  if (fingerprint != NULL && gst_sdp_message_get_attribute_val (sdp, "fingerprint") != NULL
      && g_strcmp0 (fingerprint, gst_sdp_message_get_attribute_val (sdp, "fingerprint")) != 0)
    return bad_offer (error, "The offer's session and media DTLS fingerprints differ");
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    if (!spread_attribute (sdp, keys[k], &missing))
      return bad_offer (error, "Section %u of the offer has no a=%s", missing, keys[k]);
  /* Each section has its own now; a session one as well is refused by webrtcbin. */
  remove_session_attribute (sdp, "fingerprint");
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);

      if (!g_strv_contains (setups, gst_sdp_media_get_attribute_val (media, "setup")))
        return bad_offer (error, "Section %u of the offer has an unknown a=setup", m);
      if (!g_str_has_prefix (gst_sdp_media_get_attribute_val (media, "fingerprint"), "sha-"))
        return bad_offer (error, "Section %u of the offer has no usable DTLS fingerprint", m);
    }
  return TRUE;
}

GstSDPMessage *
rc_sdp_parse_whip_offer (const char *text, gsize length, GError **error)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  g_autofree char *copy = NULL;
  const char *start;

  if (length == 0)
    {
      bad_offer (error, "The body is empty; send the SDP offer");
      return NULL;
    }
  if (memchr (text, '\0', length) != NULL || !g_utf8_validate (text, (gssize) length, NULL))
    {
      bad_offer (error, "The body is not SDP text");
      return NULL;
    }
  copy = g_strndup (text, length);
  for (start = copy; g_ascii_isspace (*start); start++)
    ;
  if (!g_str_has_prefix (start, "v=0"))
    {
      bad_offer (error, "The body is not an SDP offer (it must begin with v=0)");
      return NULL;
    }
  if (gst_sdp_message_new_from_text (start, &sdp) != GST_SDP_OK || sdp == NULL)
    {
      bad_offer (error, "The offer is not valid SDP");
      return NULL;
    }
  if (gst_sdp_message_medias_len (sdp) == 0)
    {
      bad_offer (error, "The offer has no media section");
      return NULL;
    }
  if (gst_sdp_message_medias_len (sdp) > MAX_SECTIONS)
    {
      bad_offer (error, "The offer has more than %d media sections", MAX_SECTIONS);
      return NULL;
    }
  if (rc_sdp_find_whip_audio (sdp, error) < 0)
    return NULL;
  if (!check_sections (sdp, error))
    return NULL;
  return g_steal_pointer (&sdp);
}

char *
rc_sdp_make_lite_offer (const RcSdpLiteOffer *o)
{
  const char *ip = strchr (o->address, ':') != NULL ? "IP6" : "IP4";
  guint64 session = ((guint64) g_random_int () << 31) | g_random_int ();

  /* Written out rather than built with GstSDPMessage: every line is fixed
   * but the values, and a GstSDPMessage would only be printed again. */
  return g_strdup_printf ("v=0\r\n"
                          "o=- %" G_GUINT64_FORMAT " 2 IN %s %s\r\n"
                          "s=-\r\n"
                          "t=0 0\r\n"
                          "a=group:BUNDLE 0\r\n"
                          "a=ice-lite\r\n"
                          "a=msid-semantic: WMS roomcast\r\n"
                          "m=audio %u UDP/TLS/RTP/SAVPF %u\r\n"
                          "c=IN %s %s\r\n"
                          "a=rtcp:%u IN %s %s\r\n"
                          "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n"
                          "a=end-of-candidates\r\n"
                          "a=ice-ufrag:%s\r\n"
                          "a=ice-pwd:%s\r\n"
                          "a=fingerprint:%s\r\n"
                          "a=setup:actpass\r\n"
                          "a=mid:0\r\n"
                          "a=sendonly\r\n"
                          "a=rtcp-mux\r\n"
                          "a=msid:roomcast audio\r\n"
                          "a=rtpmap:%u OPUS/48000/2\r\n"
                          "a=fmtp:%u minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1\r\n"
                          "a=ssrc:%u cname:%s\r\n"
                          "a=ssrc:%u msid:roomcast audio\r\n",
                          session, ip, o->address, o->port, o->payload_type, ip, o->address,
                          o->port, ip, o->address, o->address, o->port, o->ice_ufrag, o->ice_pwd,
                          o->fingerprint, o->payload_type, o->payload_type, o->ssrc, o->cname,
                          o->ssrc);
}

gboolean
rc_sdp_read_lite_answer (const char *text, RcSdpLiteAnswer *answer, GError **error)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  const GstSDPMedia *media;

  memset (answer, 0, sizeof *answer);
  if (gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK || sdp == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID, "\"sdp\" is not SDP");
      return FALSE;
    }
  if (!rc_sdp_check_answer (sdp, 1, error))
    return FALSE;
  media = gst_sdp_message_get_media (sdp, 0);
  answer->ice_ufrag = g_strdup (media_or_session (sdp, media, "ice-ufrag"));
  answer->ice_pwd = g_strdup (media_or_session (sdp, media, "ice-pwd"));
  answer->fingerprint = g_strdup (media_or_session (sdp, media, "fingerprint"));
  answer->dtls_client = g_strcmp0 (media_or_session (sdp, media, "setup"), "active") == 0;
  return TRUE;
}

void
rc_sdp_lite_answer_clear (RcSdpLiteAnswer *answer)
{
  g_clear_pointer (&answer->ice_ufrag, g_free);
  g_clear_pointer (&answer->ice_pwd, g_free);
  g_clear_pointer (&answer->fingerprint, g_free);
}

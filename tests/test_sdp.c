/* SPDX-License-Identifier: MIT */
/*
 * The SDP helpers that face the network (pipelines/rc_sdp.c): the Opus
 * stereo munging a browser needs to hear two channels, which answers and
 * candidates are refused at the edge, the certificate fingerprint check,
 * and that random bytes never crash any of them.
 */
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"
#include "rc_test_util.h"

#include <string.h>

/* What Chrome answers to the server's offer, trimmed. */
static const char answer[] =
  "v=0\r\n"
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
  "s=-\r\n"
  "t=0 0\r\n"
  "a=group:BUNDLE audio0\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
  "c=IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:EEtu\r\n"
  "a=ice-pwd:asd88fgpdd777uzjYhagZg\r\n"
  "a=fingerprint:sha-256 07:47:B7:A8:56:36:5B:E4:D2:BF:EA:9A:C2:A7:02:91:71:01:C3:BE:CC:81:71:"
  "71:02:A1:17:42:A0:FC:C7:CF\r\n"
  "a=setup:active\r\n"
  "a=mid:audio0\r\n"
  "a=recvonly\r\n"
  "a=rtcp-mux\r\n"
  "a=rtpmap:96 opus/48000/2\r\n"
  "a=fmtp:96 minptime=10;useinbandfec=1;stereo=0\r\n";

/* The certificate whose digests the answer above names. */
static const char pem[] = "-----BEGIN CERTIFICATE-----\n"
                          "MIIBcDCCARWgAwIBAgIUDlsj+2o+IOYQN1tSYdnEVFh1wlcwCgYIKoZIzj0EAwIw\n"
                          "DTELMAkGA1UEAwwCcmMwHhcNMjYxMTIxMTQyMDAzWhcNMzYxMTE4MTQyMDAzWjAN\n"
                          "MQswCQYDVQQDDAJyYzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEsPhaSf4dkm\n"
                          "LJG9ravaTC5plWN9XBfKqYYJUG9waShf42fnCI4c+6/pyvYztEntllYOVUmYhilD\n"
                          "C9gUKqMDF1ujUzBRMB0GA1UdDgQWBBQt0OcJy4tKo/MqQssE1NLA70cFvjAfBgNV\n"
                          "HSMEGDAWgBQt0OcJy4tKo/MqQssE1NLA70cFvjAPBgNVHRMBAf8EBTADAQH/MAoG\n"
                          "CCqGSM49BAMCA0kAMEYCIQDH4LYyfTJBAMk9112NxmDCXYF8uQACArMeuf5hGAa9\n"
                          "dAIhAMDSQXU9Ddu3H2q6EXRKaWzbIB3RUEu+oXEnrIvi1JgI\n"
                          "-----END CERTIFICATE-----\n";

static GstSDPMessage *
parse (const char *text)
{
  GstSDPMessage *sdp = NULL;

  g_assert_cmpint (gst_sdp_message_new_from_text (text, &sdp), ==, GST_SDP_OK);
  return sdp;
}

/* @answer with @from replaced by @to (which must be there). */
static GstSDPMessage *
answer_with (const char *from, const char *to)
{
  g_autoptr (GString) text = g_string_new (answer);

  g_assert_nonnull (strstr (answer, from));
  g_string_replace (text, from, to, 1);
  return parse (text->str);
}

static void
test_opus_fmtp (void)
{
  g_autoptr (GstSDPMessage) sdp = parse (answer);
  g_autoptr (GstSDPMessage) bare = answer_with ("a=fmtp:96 minptime=10;useinbandfec=1;stereo=0\r\n",
                                                "");
  g_autofree char *text = NULL;
  g_autofree char *stereo = NULL;
  g_autofree char *bare_text = NULL;

  /* An existing value is replaced; the others are kept, after ours. */
  g_assert_cmpuint (rc_sdp_set_opus_fmtp (sdp, "stereo=1;sprop-stereo=1"), ==, 1);
  text = gst_sdp_message_as_text (sdp);
  g_assert_nonnull (
    strstr (text, "a=fmtp:96 stereo=1;sprop-stereo=1;minptime=10;useinbandfec=1\r\n"));
  stereo = rc_sdp_get_opus_fmtp (sdp, "stereo");
  g_assert_cmpstr (stereo, ==, "1");

  /* No fmtp line: one is added. */
  g_assert_cmpuint (rc_sdp_set_opus_fmtp (bare, "stereo=1"), ==, 1);
  bare_text = gst_sdp_message_as_text (bare);
  g_assert_nonnull (strstr (bare_text, "a=fmtp:96 stereo=1\r\n"));
}

static void
test_answer_checks (void)
{
  static const struct
  {
    const char *from, *to;
  } broken[] = {
    { "m=audio 9 ", "m=audio 0 " },
    { "m=audio 9 ", "m=video 9 " },
    { "UDP/TLS/RTP/SAVPF", "RTP/AVP" },
    { "a=mid:audio0\r\n", "" },
    { "a=recvonly\r\n", "a=sendrecv\r\n" },
    { "a=ice-ufrag:EEtu\r\n", "" },
    { "a=ice-pwd:asd88fgpdd777uzjYhagZg\r\n", "" },
    { "a=fingerprint:sha-256 ", "a=notafingerprint:sha-256 " },
    { "a=setup:active", "a=setup:actpass" },
    { "opus/48000/2", "PCMU/8000" },
  };
  g_autoptr (GstSDPMessage) good = parse (answer);
  g_autoptr (GstSDPMessage) garbage = parse ("hello, this is not SDP");
  g_autoptr (GError) error = NULL;

  g_assert_true (rc_sdp_check_answer (good, 1, &error));
  g_assert_no_error (error);
  g_assert_false (rc_sdp_check_answer (good, 2, &error));
  g_assert_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (rc_sdp_check_answer (garbage, 1, &error));
  g_assert_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID);
  g_clear_error (&error);
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autoptr (GstSDPMessage) sdp = answer_with (broken[i].from, broken[i].to);

      g_assert_false (rc_sdp_check_answer (sdp, 1, &error));
      g_assert_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID);
      g_test_message ("%s → %s: %s", broken[i].from, broken[i].to, error->message);
      g_clear_error (&error);
    }
}

static void
test_candidates (void)
{
  static const char *const good[] = {
    "candidate:1 1 UDP 2015363327 127.0.0.1 40123 typ host",
    "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 "
    "generation 0 ufrag EEtu network-cost 999",
    "candidate:3 1 udp 2113937151 0c4e2a8e-8b0d-4d49-9b1c-6a3c1f1e2d3a.local 54321 typ host",
    "candidate:4 1 tcp 1518280447 2001:db8::1 9 typ host tcptype active",
    "candidate:a+b/c 2 UDP 1 10.0.0.1 1 typ relay raddr 10.0.0.2 rport 3",
  };
  static const char *const bad[] = {
    "",
    "candidate:",
    "candidate:garbage",
    "a=candidate:1 1 UDP 2015363327 127.0.0.1 40123 typ host",
    "candidate:1 1 SCTP 2015363327 127.0.0.1 40123 typ host",
    "candidate:1 1 UDP 2015363327 127.0.0.1 99999 typ host",
    "candidate:1 1 UDP 2015363327 127.0.0.1 40123 type host",
    "candidate:1 1 UDP 2015363327 127.0.0.1 40123 typ lan",
    "candidate:1 1 UDP -5 127.0.0.1 40123 typ host",
    "candidate:1 1 UDP 2015363327 127.0.0.1;rm 40123 typ host",
    "candidate:1 1 UDP 2015363327 127.0.0.1 40123 typ host\r\na=evil",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (rc_sdp_check_candidate (good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (rc_sdp_check_candidate (bad[i], &error));
      g_assert_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID);
    }
}

static void
test_fingerprint (void)
{
  g_autoptr (GstSDPMessage) sdp = parse (answer);
  const char *fingerprint = rc_sdp_get_fingerprint (sdp);

  g_assert_nonnull (fingerprint);
  g_assert_true (rc_sdp_fingerprint_matches (fingerprint, pem));
  g_assert_true (rc_sdp_fingerprint_matches (
    "sha-1 3e:ad:a6:3b:26:9f:b3:92:43:2e:57:77:61:56:8f:92:12:70:0d:2e", pem));
  /* One digit off, a hash we do not know, no certificate at all. */
  g_assert_false (rc_sdp_fingerprint_matches (
    "sha-1 3E:AD:A6:3B:26:9F:B3:92:43:2E:57:77:61:56:8F:92:12:70:0D:2F", pem));
  g_assert_false (rc_sdp_fingerprint_matches ("md5 00:11", pem));
  g_assert_false (rc_sdp_fingerprint_matches (fingerprint, "not a certificate"));
  g_assert_false (rc_sdp_fingerprint_matches (NULL, pem));
  g_assert_false (rc_sdp_fingerprint_matches ("sha-256", pem));
}

/* Random bytes and mangled answers: refused or accepted, never a crash. */
static void
test_noise (void)
{
  for (guint round = 0; round < 2000; round++)
    {
      guint len = g_test_rand_int_range (0, 400);
      g_autofree char *noise = g_malloc (len + 1);
      g_autoptr (GString) mangled = g_string_new (answer);
      GstSDPMessage *sdp = NULL;
      g_autoptr (GError) error = NULL;

      for (guint i = 0; i < len; i++)
        noise[i] = (char) g_test_rand_int_range (1, 256);
      noise[len] = '\0';
      rc_sdp_check_candidate (noise, NULL);
      rc_sdp_fingerprint_matches (noise, pem);
      rc_sdp_fingerprint_matches ("sha-256 00", noise);
      /* Cut the answer somewhere and splice noise in. */
      g_string_truncate (mangled, g_test_rand_int_range (0, (gint32) mangled->len));
      g_string_append (mangled, noise);
      /* GStreamer refuses empty text with a critical (the server never
       * parses one: answers are 1 character at least, offers begin "v=0"). */
      if (mangled->len > 0 && gst_sdp_message_new_from_text (mangled->str, &sdp) == GST_SDP_OK
          && sdp != NULL)
        {
          g_autofree char *value = NULL;

          rc_sdp_check_answer (sdp, 1, &error);
          rc_sdp_set_opus_fmtp (sdp, "stereo=1");
          value = rc_sdp_get_opus_fmtp (sdp, "stereo");
          rc_sdp_get_fingerprint (sdp);
        }
      g_clear_pointer (&sdp, gst_sdp_message_free); /* made even when the parse fails */
    }
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  g_test_add_func ("/sdp/opus-fmtp", test_opus_fmtp);
  g_test_add_func ("/sdp/answer-checks", test_answer_checks);
  g_test_add_func ("/sdp/candidates", test_candidates);
  g_test_add_func ("/sdp/fingerprint", test_fingerprint);
  g_test_add_func ("/sdp/noise", test_noise);
  return g_test_run ();
}

/* SPDX-License-Identifier: MIT */
/*
 * Going live over WHIP, heard by a guest. A room plays a 440 Hz song from
 * its queue; an OBS-like host (tools/whip-host/rc_whip_host.c: Opus plus an H264
 * video section, non-trickle) POSTs its offer with a publish key and sends
 * a 660 Hz tone. A native guest hears the queue give way to the host (the
 * queue pauses: stateUpdate playing=false, notification "live") and come
 * back when the host DELETEs its session, is cut off by revoking its key,
 * or dies without a word (within 3 s). Bad requests get the protocol's
 * status and error code and leave the room playing. The room pipeline's
 * live input is also heard in-process, without WebRTC.
 */
#include "pipelines/rc_media_error.h"
#include "server/core/rc_error.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_whip_ingest.h"
#include "tools/native-guest/rc_native_guest.h"
#include "tools/whip-host/rc_whip_host.h"
#include "pipelines/rc_room_pipeline.h"
#include "rc_test_audio.h"
#include "rc_test_live.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <math.h>
#include <string.h>

#define SONG_HZ 440.0
#define HOST_HZ 660.0

/* A video-only offer, as a camera-only browser page would send. */
#define VIDEO_ONLY_OFFER                                                                          \
  "v=0\r\no=- 1 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"                       \
  "a=fingerprint:sha-256 "                                                                        \
  "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99" \
  "\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"            \
  "a=setup:actpass\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"                 \
  "a=rtcp-mux\r\na=rtpmap:96 H264/90000\r\n"

typedef RcTestLiveRoom Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  /* @data: a --whip-ice-server value, or NULL. */
  const char *args[] = { "--max-publishers", "1", NULL, NULL, NULL };

  if (data != NULL)
    {
      args[2] = "--whip-ice-server";
      args[3] = data;
    }
  rc_test_live_room_start (f, SONG_HZ, args);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rc_test_live_room_stop (f);
}

static RcWhipHost *
host_new (Fixture *f, const char *key, gboolean strip_candidates, gboolean send_video,
          gboolean forge_fingerprint)
{
  /* Every other host offers its video first (and so its audio bundle-only). */
  static guint hosts;
  RcWhipHostOptions options = {
    .video_first = hosts++ % 2 == 1,
    .base_url = f->server->base_url,
    .room_id = f->room_id,
    .key = key,
    .freq = HOST_HZ,
    .strip_candidates = strip_candidates,
    .send_video = send_video,
    .forge_fingerprint = forge_fingerprint,
  };

  return rc_whip_host_new (&options);
}

static RcWhipHost *
go_live (Fixture *f, const char *key, gboolean strip_candidates, gboolean send_video)
{
  RcWhipHost *whip = host_new (f, key, strip_candidates, send_video, FALSE);

  g_assert_cmpuint (rc_whip_host_wait_answer (whip, 15000), ==, 201);
  return whip;
}

/* The answer a WHIP host gets: its audio taken (recvonly), its video
 * refused (inactive or rejected), every server candidate in it. */
static void
check_answer (Fixture *f, RcWhipHost *whip)
{
  const char *text = rc_whip_host_get_answer (whip);
  g_autofree char *prefix = g_strdup_printf ("/whip/%s/", f->room_id);
  g_autoptr (GstSDPMessage) sdp = NULL;
  const GstSDPMedia *audio, *video;

  g_assert_true (g_str_has_prefix (rc_whip_host_get_location (whip), prefix));
  g_assert_null (strstr (rc_whip_host_get_offer (whip), "a=candidate"));
  g_assert_cmpint (gst_sdp_message_new_from_text (text, &sdp), ==, GST_SDP_OK);
  g_assert_cmpuint (gst_sdp_message_medias_len (sdp), ==, 2);
  audio = gst_sdp_message_get_media (sdp, 0);
  video = gst_sdp_message_get_media (sdp, 1);
  if (g_strcmp0 (gst_sdp_media_get_media (audio), "video") == 0)
    {
      const GstSDPMedia *first = audio;

      audio = video;
      video = first;
    }
  g_assert_cmpstr (gst_sdp_media_get_media (audio), ==, "audio");
  g_assert_nonnull (gst_sdp_media_get_attribute_val (audio, "recvonly"));
  g_assert_cmpstr (gst_sdp_media_get_media (video), ==, "video");
  g_assert_true (gst_sdp_media_get_port (video) == 0
                 || gst_sdp_media_get_attribute_val (video, "inactive") != NULL);
  g_assert_nonnull (strstr (text, "a=candidate:"));
  g_assert_nonnull (strstr (text, " 127.0.0.1 "));
  g_assert_nonnull (strstr (text, "a=end-of-candidates"));
  /* It does not trickle, and says so by not saying it does. */
  g_assert_null (strstr (text, "a=ice-options"));
  g_assert_cmpstr (soup_message_headers_get_content_type (rc_whip_host_get_headers (whip), NULL),
                   ==, "application/sdp");
  g_assert_cmpstr (
    soup_message_headers_get_one (rc_whip_host_get_headers (whip), "Access-Control-Allow-Origin"),
    ==, "*");
}

/* The DELETE's answer: the session's figures. It counted the host's
 * packets (50 a second, for more than two seconds) and its bitrate (96 kb/s
 * of Opus, plus headers). */
static void
check_host_figures (const char *text)
{
  g_autoptr (JsonNode) body = rc_test_parse (text);
  JsonObject *o = json_node_get_object (body);
  JsonObject *stats = json_object_get_object_member (o, "stats");

  g_test_message ("host figures: %s", text);
  g_assert_true (json_object_get_boolean_member (o, "deleted"));
  g_assert_cmpint (json_object_get_int_member (stats, "durationMs"), >, 2000);
  g_assert_cmpint (json_object_get_int_member (stats, "packets"), >, 100);
  g_assert_cmpint (json_object_get_int_member (stats, "lost"), >=, 0);
  g_assert_cmpfloat (json_object_get_double_member (stats, "jitter"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (stats, "bitrate"), >, 40000);
  g_assert_cmpint (json_object_get_int_member (stats, "bitrate"), <, 400000);
}

/* The whole takeover: the queue's song, the host over it, the song back. */
static void
test_live_and_leave (Fixture *f, gconstpointer data)
{
  g_autofree char *key = rc_test_live_room_make_key (f, NULL, NULL, NULL);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (RcWhipHost) whip = NULL;
  g_autofree char *figures = NULL;

  rc_test_live_room_play_song (f);
  guest = rc_test_live_room_listen (f);
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 5000));

  /* OBS 30.2+: no candidates in the offer, a real H264 stream offered. */
  whip = go_live (f, key, TRUE, TRUE);
  check_answer (f, whip);
  g_assert_null (soup_message_headers_get_one (rc_whip_host_get_headers (whip), "Link"));
  rc_test_live_room_expect_change (f, "Host is live", FALSE, 10000);
  g_assert_true (rc_test_guest_waits_for (guest, HOST_HZ, 5000));
  g_assert_true (rc_test_guest_keeps_hearing (guest, HOST_HZ, SONG_HZ));
  g_assert_true (rc_whip_host_is_connected (whip));
  g_assert_null (rc_whip_host_get_failure (whip));

  /* The host leaves: the queue comes back. */
  g_assert_cmpuint (rc_whip_host_delete (whip, &figures), ==, 200);
  check_host_figures (figures);
  rc_test_live_room_expect_change (f, "Host has left", TRUE, 5000);
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 5000));
  g_assert_true (rc_test_guest_keeps_hearing (guest, SONG_HZ, HOST_HZ));
  g_assert_cmpuint (rc_whip_host_delete (whip, NULL), ==, 404);
}

/* The song's level (dB, RMS of its 440 Hz) in what the guest heard over
 * the last 200 ms, averaged over @windows windows 200 ms apart; -200 when
 * too little came. */
static double
song_level_db (RcNativeGuest *guest, guint windows)
{
  double sum = 0;
  guint n = 0;

  for (guint i = 0; i < windows; i++)
    {
      gsize frames = 0;
      g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);

      if (frames >= 48000 / 5 - 960)
        {
          sum += 20 * log10 (MAX (rc_test_audio_tone_level_s16 (pcm, frames, SONG_HZ), 1e-9));
          n++;
        }
      rc_test_run_for (200);
    }
  return n > 0 ? sum / n : -200;
}

/* The next stateUpdate whose "playing" is @playing, within 5 s. */
static void
expect_playing (Fixture *f, gboolean playing)
{
  for (int i = 0; i < 20; i++)
    {
      g_autoptr (JsonObject) state = rc_test_ws_expect (f->ws, "stateUpdate", 5000);

      if (json_object_get_boolean_member (state, "playing") == playing)
        return;
    }
  g_error ("no stateUpdate with playing=%d", playing);
}

static void
set_mix_policy (RcTestWs *owner, const char *mode)
{
  g_autofree char *request = g_strdup_printf ("{\"type\":\"setMixPolicy\",\"mode\":\"%s\"}", mode);
  g_autoptr (JsonObject) reply = rc_test_ws_command (owner, request);

  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "mixPolicy");
  g_assert_cmpstr (rc_test_str (reply, "mode"), ==, mode);
}

/* Talk-over: the owner keeps the music under the host. The song plays on,
 * 12 dB down while the host talks, back to its level when the host leaves;
 * a switch to takeover mid-broadcast pauses it. Every guest sees the
 * policy and the broadcast's figures (over /ws and REST). */
static void
test_talkover_and_stats (Fixture *f, gconstpointer data)
{
  g_autofree char *key = rc_test_live_room_make_key (f, NULL, NULL, NULL);
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", f->room_id);
  g_autoptr (RcTestWs) owner = rc_test_ws_join (f->server, f->room_id, "Owner", NULL,
                                                f->owner_token, NULL);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (RcWhipHost) whip = NULL;
  g_autoptr (JsonObject) policy = NULL, stats = NULL, err = NULL, last = NULL;
  g_autoptr (JsonNode) rest = NULL;
  JsonObject *broadcast;
  double before, ducked, after;
  guint status = 0;

  /* Only the owner sets it, and only to a known mode. */
  rc_test_ws_send (f->ws, "{\"type\":\"setMixPolicy\",\"mode\":\"talkover\"}");
  err = rc_test_ws_expect_error (f->ws, RC_ERROR_NOT_OWNER, 5000);
  g_clear_pointer (&err, json_object_unref);
  rc_test_ws_send (owner, "{\"type\":\"setMixPolicy\",\"mode\":\"karaoke\"}");
  err = rc_test_ws_expect_error (owner, RC_ERROR_INVALID_PARAM, 5000);
  g_clear_pointer (&err, json_object_unref);
  rc_test_ws_send (owner, "{\"type\":\"setMixPolicy\",\"mode\":\"talkover\",\"duckDb\":-90}");
  err = rc_test_ws_expect_error (owner, RC_ERROR_INVALID_PARAM, 5000);
  set_mix_policy (owner, "talkover");
  policy = rc_test_ws_expect (f->ws, "mixPolicy", 5000);
  g_assert_cmpstr (rc_test_str (policy, "mode"), ==, "talkover");
  g_assert_cmpfloat (json_object_get_double_member (policy, "duckDb"), ==, -12);

  rc_test_live_room_play_song (f);
  guest = rc_test_live_room_listen (f);
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 5000));
  before = song_level_db (guest, 5);

  whip = go_live (f, key, TRUE, FALSE);
  stats = rc_test_live_room_broadcast_stats (f, TRUE);
  g_assert_cmpstr (rc_test_str (stats, "protocol"), ==, "whip");
  g_assert_cmpstr (rc_test_str (stats, "mixMode"), ==, "talkover");
  g_assert_cmpint (json_object_get_int_member (stats, "guests"), >=, 3);
  /* The song never paused. */
  {
    g_autoptr (JsonObject) state = rc_test_ws_expect (f->ws, "stateUpdate", 5000);

    g_assert_true (json_object_get_boolean_member (state, "playing"));
  }
  g_assert_true (RC_WAIT_UNTIL (
    ({
      gsize frames = 0;
      g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);
      frames > 0 && rc_test_audio_tone_level_s16 (pcm, frames, HOST_HZ) > 0.1;
    }),
    5000));
  rc_test_run_for (500); /* past the attack */
  ducked = song_level_db (guest, 8);
  g_test_message ("song level: %.1f dB before the host, %.1f dB under it", before, ducked);
  g_assert_cmpfloat (ducked - before, <, -9);
  g_assert_cmpfloat (ducked - before, >, -15);

  /* A few seconds in, the figures are the stream's. */
  g_clear_pointer (&stats, json_object_unref);
  rc_test_run_for (2500);
  stats = rc_test_live_room_broadcast_stats (f, TRUE);
  g_test_message ("broadcastStats: packets %" G_GINT64_FORMAT ", bitrate %" G_GINT64_FORMAT
                  ", jitter %.2f ms, delay %.1f ms, duck %.1f dB",
                  json_object_get_int_member (stats, "packets"),
                  json_object_get_int_member (stats, "bitrate"),
                  json_object_get_double_member (stats, "jitterMs"),
                  json_object_get_double_member (stats, "delayMs"),
                  json_object_get_double_member (stats, "duckDb"));
  g_assert_cmpint (json_object_get_int_member (stats, "packets"), >, 100);
  g_assert_cmpint (json_object_get_int_member (stats, "bitrate"), >, 40000);
  g_assert_cmpfloat (json_object_get_double_member (stats, "packetLoss"), <, 0.05);
  g_assert_cmpfloat (json_object_get_double_member (stats, "delayMs"), >, 0);
  g_assert_cmpfloat (json_object_get_double_member (stats, "duckDb"), <, -9);
  rest = rc_test_http (f->server, "GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  broadcast = json_object_get_object_member (json_node_get_object (rest), "broadcast");
  g_assert_true (json_object_get_boolean_member (broadcast, "live"));
  g_assert_cmpint (json_object_get_int_member (broadcast, "packets"), >, 100);

  /* Takeover mid-broadcast: the song pauses; talk-over again: it plays. */
  set_mix_policy (owner, "takeover");
  expect_playing (f, FALSE);
  g_assert_true (rc_test_guest_waits_for (guest, HOST_HZ, 5000));
  set_mix_policy (owner, "talkover");
  expect_playing (f, TRUE);

  /* The host leaves: the song comes back up. */
  g_assert_cmpuint (rc_whip_host_delete (whip, NULL), ==, 200);
  last = rc_test_live_room_broadcast_stats (f, FALSE);
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 5000));
  rc_test_run_for (1000); /* past the release */
  after = song_level_db (guest, 5);
  g_test_message ("song level after the host: %.1f dB", after);
  g_assert_cmpfloat (fabs (after - before), <, 1.5);
}

/* A POST with @key, @content_type and @body; checks status and error code. */
static void
expect_post_error (Fixture *f, const char *path, const char *content_type, const char *body,
                   const char *key, guint status, int code, SoupMessageHeaders **headers)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) json = NULL;

  g_assert_cmpuint (rc_whip_host_request (f->server->base_url, "POST", path, content_type, body,
                                          key, headers, &text),
                    ==, status);
  json = rc_test_parse (text);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (json), "code"), ==, code);
}

static void
check_options (Fixture *f, const char *path, const char *method)
{
  g_autoptr (SoupMessageHeaders) h = NULL;

  g_assert_cmpuint (
    rc_whip_host_request (f->server->base_url, "OPTIONS", path, NULL, NULL, NULL, &h, NULL), ==,
    204);
  g_assert_cmpstr (soup_message_headers_get_one (h, "Access-Control-Allow-Origin"), ==, "*");
  g_assert_nonnull (strstr (soup_message_headers_get_one (h, "Access-Control-Allow-Methods"),
                            method));
  g_assert_cmpstr (soup_message_headers_get_one (h, "Access-Control-Allow-Headers"), ==,
                   "Authorization, Content-Type, If-Match");
  g_assert_cmpstr (soup_message_headers_get_one (h, "Access-Control-Expose-Headers"), ==,
                   "Location, Link");
  g_assert_cmpstr (soup_message_headers_get_one (h, "Accept-Post"), ==, "application/sdp");
}

/* Every refusal, with the room playing on and its guest hearing it. */
static void
test_bad_requests (Fixture *f, gconstpointer data)
{
  g_autofree char *key = rc_test_live_room_make_key (f, NULL, NULL, NULL);
  g_autofree char *path = g_strdup_printf ("/whip/%s", f->room_id);
  g_autofree char *resource = g_strdup_printf ("/whip/%s/NoSuchSession", f->room_id);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (SoupMessageHeaders) h = NULL;
  g_autofree char *offer = NULL;

  rc_test_live_room_play_song (f);
  guest = rc_test_live_room_listen (f);

  /* Keys. */
  expect_post_error (f, path, "application/sdp", "v=0", NULL, 401, RC_ERROR_UNAUTHORIZED, &h);
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (h, "WWW-Authenticate"),
                                   "Bearer"));
  g_clear_pointer (&h, soup_message_headers_unref);
  expect_post_error (f, path, "application/sdp", "v=0", "rk_not-a-key", 401,
                     RC_ERROR_UNAUTHORIZED, &h);
  g_assert_nonnull (soup_message_headers_get_one (h, "WWW-Authenticate"));
  expect_post_error (f, "/whip/NoSuchRoom", "application/sdp", "v=0", key, 404,
                     RC_ERROR_NOT_FOUND, NULL);
  /* The body. */
  expect_post_error (f, path, "application/json", "{}", key, 415,
                     RC_ERROR_UNSUPPORTED_MEDIA_TYPE, NULL);
  expect_post_error (f, path, "application/sdp", "hello, server", key, 400,
                     RC_ERROR_INVALID_PARAM, NULL);
  expect_post_error (f, path, "application/sdp", "v=0\r\ns=-\r\n", key, 400,
                     RC_ERROR_INVALID_PARAM, NULL);
  expect_post_error (f, path, "application/sdp", VIDEO_ONLY_OFFER, key, 422,
                     RC_ERROR_UNSUPPORTED_OFFER, NULL);
  /* The same offer with PCMU audio beside the video: still no Opus. */
  offer = g_strconcat (VIDEO_ONLY_OFFER,
                       "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
                       "a=sendonly\r\na=setup:actpass\r\na=ice-ufrag:abcd\r\n"
                       "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=rtpmap:0 PCMU/8000\r\n",
                       NULL);
  expect_post_error (f, path, "application/sdp", offer, key, 422, RC_ERROR_UNSUPPORTED_OFFER,
                     NULL);
  {
    g_autofree char *huge = g_strnfill (70000, 'a');

    expect_post_error (f, path, "application/sdp", huge, key, 413, RC_ERROR_TOO_LARGE, NULL);
  }
  /* Methods. */
  g_clear_pointer (&h, soup_message_headers_unref);
  g_assert_cmpuint (rc_whip_host_request (f->server->base_url, "PATCH", resource,
                                          "application/trickle-ice-sdpfrag", "a=end-of-candidates",
                                          key, &h, NULL),
                    ==, 405);
  g_assert_nonnull (strstr (soup_message_headers_get_one (h, "Allow"), "DELETE"));
  g_clear_pointer (&h, soup_message_headers_unref);
  g_assert_cmpuint (
    rc_whip_host_request (f->server->base_url, "GET", path, NULL, NULL, key, &h, NULL), ==, 405);
  g_assert_nonnull (strstr (soup_message_headers_get_one (h, "Allow"), "POST"));
  g_assert_cmpuint (rc_whip_host_request (f->server->base_url, "DELETE", resource, NULL, NULL,
                                          key, NULL, NULL),
                    ==, 404);
  check_options (f, path, "POST");
  check_options (f, resource, "DELETE");
  /* A browser's trickle PATCH passes the preflight, to get the 405. */
  check_options (f, resource, "PATCH");

  /* None of it touched the room. */
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 3000));
  g_assert_true (rc_test_guest_keeps_hearing (guest, SONG_HZ, HOST_HZ));
}

/* One host per room, --max-publishers per server; a revoked key cuts the
 * host off; a host that dies is gone within 3 s. The guest hears it all. */
static void
test_conflicts_revoke_and_drop (Fixture *f, gconstpointer data)
{
  g_autofree char *key_id = NULL;
  g_autofree char *key = rc_test_live_room_make_key (f, NULL, NULL, &key_id);
  g_autofree char *second = rc_test_live_room_make_key (f, NULL, NULL, NULL);
  g_autoptr (JsonObject) other = rc_test_create_room (f->server, "Other room", NULL);
  g_autofree char *other_key = rc_test_live_room_make_key (f, rc_test_str (other, "id"),
                                         rc_test_str (other, "ownerToken"), NULL);
  g_autofree char *path = g_strdup_printf ("/whip/%s", f->room_id);
  g_autofree char *other_path = g_strdup_printf ("/whip/%s", rc_test_str (other, "id"));
  g_autofree char *revoke = g_strdup_printf ("/api/rooms/%s/keys/%s", f->room_id, key_id);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (RcWhipHost) host = NULL;
  g_autoptr (SoupMessageHeaders) h = NULL;
  g_autoptr (JsonNode) revoked = NULL;
  guint status = 0;
  gint64 killed_us, back_us;

  rc_test_live_room_play_song (f);
  guest = rc_test_live_room_listen (f);

  /* OBS before 30.2: every candidate in the offer. */
  host = go_live (f, key, FALSE, FALSE);
  {
    const char *links = soup_message_headers_get_list (rc_whip_host_get_headers (host), "Link");

    g_assert_nonnull (strstr (links, "<stun:stun.example.net:3478>; rel=\"ice-server\""));
    g_assert_nonnull (strstr (links, "<turn:turn.example.net:3478?transport=udp>; "
                                     "rel=\"ice-server\"; username=\"ann\"; "
                                     "credential=\"s3cret\"; credential-type=\"password\""));
  }
  rc_test_live_room_expect_change (f, "Host is live", FALSE, 10000);
  g_assert_true (rc_test_guest_waits_for (guest, HOST_HZ, 5000));

  /* A second host in the room: 409. Another room, over the server's one
   * publisher: 503 with Retry-After. The offers are real ones. */
  expect_post_error (f, path, "application/sdp", rc_whip_host_get_offer (host), second, 409,
                     RC_ERROR_ALREADY_LIVE, NULL);
  expect_post_error (f, other_path, "application/sdp", rc_whip_host_get_offer (host), other_key,
                     503, RC_ERROR_TOO_MANY_PUBLISHERS, &h);
  g_assert_nonnull (soup_message_headers_get_one (h, "Retry-After"));
  /* Only the session's own key ends it. */
  g_assert_cmpuint (rc_whip_host_request (f->server->base_url, "DELETE",
                                          rc_whip_host_get_location (host), NULL, NULL, second,
                                          NULL, NULL),
                    ==, 401);

  /* The owner revokes the key: the host is cut off, the queue is back. */
  revoked = rc_test_http (f->server, "DELETE", revoke, NULL, f->owner_token, &status);
  g_assert_cmpuint (status, ==, 200);
  rc_test_live_room_expect_change (f, "Host has left", TRUE, 5000);
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 5000));
  expect_post_error (f, path, "application/sdp", rc_whip_host_get_offer (host), key, 401,
                     RC_ERROR_UNAUTHORIZED, NULL);
  g_clear_pointer (&host, rc_whip_host_free);

  /* A host that dies without DELETE: within 3 s the room is its queue again. */
  host = go_live (f, second, TRUE, FALSE);
  rc_test_live_room_expect_change (f, "Host is live", FALSE, 10000);
  g_assert_true (rc_test_guest_waits_for (guest, HOST_HZ, 5000));
  rc_whip_host_kill (host);
  killed_us = g_get_monotonic_time ();
  back_us = rc_test_live_room_expect_change (f, "Host has left", TRUE, 6000);
  g_test_message ("the room noticed the host was gone after %.2f s",
                  (back_us - killed_us) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (back_us - killed_us, <, 3 * G_USEC_PER_SEC);
  g_assert_true (rc_test_guest_waits_for (guest, SONG_HZ, 3000));
  g_assert_true (rc_test_guest_keeps_hearing (guest, SONG_HZ, HOST_HZ));
  g_assert_null (rc_native_guest_get_failure (guest));

  /* The server stops with a host live (the teardown wants exit status 0). */
  g_clear_pointer (&host, rc_whip_host_free);
  host = go_live (f, second, TRUE, FALSE);
  rc_test_live_room_expect_change (f, "Host is live", FALSE, 10000);
}

/* A host whose DTLS certificate is not the one its offer named (a man in
 * the middle) is answered but never mixed in: no "live", the song plays on,
 * and an honest host gets the room right after; deleting the room ends
 * that host too. */
static void
test_forged_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *key = rc_test_live_room_make_key (f, NULL, NULL, NULL);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (RcWhipHost) forged = NULL;
  g_autoptr (RcWhipHost) honest = NULL;
  gint64 deadline;

  rc_test_live_room_play_song (f);
  guest = rc_test_live_room_listen (f);
  forged = host_new (f, key, TRUE, FALSE, TRUE);
  g_assert_cmpuint (rc_whip_host_wait_answer (forged, 15000), ==, 201);
  /* The slot frees once DTLS has shown the wrong certificate. */
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (honest == NULL && g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (f->ws, 200);
      RcWhipHost *attempt;

      g_assert_false (o != NULL && g_strcmp0 (rc_test_str (o, "type"), "notification") == 0
                      && g_strcmp0 (rc_test_str (o, "kind"), "live") == 0);
      g_assert_false (rc_test_guest_hears (guest, HOST_HZ));
      attempt = host_new (f, key, TRUE, FALSE, FALSE);
      if (rc_whip_host_wait_answer (attempt, 15000) == 201)
        honest = attempt;
      else
        {
          g_assert_cmpuint (rc_whip_host_get_status (attempt), ==, 409);
          rc_whip_host_free (attempt);
        }
    }
  g_assert_nonnull (honest);
  g_assert_cmpuint (rc_whip_host_delete (forged, NULL), ==, 404);
  rc_test_live_room_expect_change (f, "Host is live", FALSE, 10000);
  g_assert_true (rc_test_guest_waits_for (guest, HOST_HZ, 5000));

  /* The owner deletes the room while the host is live: the session ends
   * with it, and the server's one publisher slot (--max-publishers 1) is
   * free for another room. */
  {
    g_autofree char *path = g_strdup_printf ("/api/rooms/%s", f->room_id);
    g_autoptr (JsonNode) deleted = NULL;
    g_autoptr (JsonObject) other = rc_test_create_room (f->server, "Next room", NULL);
    g_autofree char *other_key = rc_test_live_room_make_key (f, rc_test_str (other, "id"),
                                           rc_test_str (other, "ownerToken"), NULL);
    RcWhipHostOptions options = {
      .base_url = f->server->base_url,
      .room_id = rc_test_str (other, "id"),
      .key = other_key,
      .freq = HOST_HZ,
    };
    g_autoptr (RcWhipHost) next = NULL;
    guint status = 0;

    deleted = rc_test_http (f->server, "DELETE", path, NULL, f->owner_token, &status);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpuint (rc_whip_host_delete (honest, NULL), ==, 404);
    next = rc_whip_host_new (&options);
    g_assert_cmpuint (rc_whip_host_wait_answer (next, 15000), ==, 201);
  }
}

/* An unusable --whip-ice-server keeps the server from starting. */
static void
test_bad_ice_server_option (void)
{
  const char *args[] = { "--port", "0", "--whip-ice-server", "http://stun.example.net", NULL };
  g_autofree char *output = NULL;

  g_assert_cmpint (rc_test_run_roomcast (args, NULL, &output), ==, 1);
  g_assert_nonnull (strstr (output, "--whip-ice-server"));
}

/* ---- in process: WHIP offers as the edge reads them ---------------------- */

/* An OBS 30.2 offer, as libdatachannel writes it: session-level
 * fingerprint, media-level role and credentials, no candidates. */
#define OBS_OFFER                                                                                 \
  "v=0\r\no=rtc 3506283711 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"                            \
  "a=group:BUNDLE 0 1\r\na=group:LS 0 1\r\na=msid-semantic:WMS *\r\n"                           \
  "a=ice-options:ice2,trickle\r\n"                                                               \
  "a=fingerprint:sha-256 "                                                                        \
  "4C:ED:78:83:F2:AA:6E:5E:B5:80:44:55:C3:DD:D9:53:CE:B2:E2:8F:8B:35:6D:D9:8B:FF:FA:CD:4C:27:81:6B" \
  "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"      \
  "a=ssrc:1234 cname:obs\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"                        \
  "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1\r\n"     \
  "a=setup:actpass\r\na=ice-ufrag:Hk2P\r\na=ice-pwd:Zr0bQ2x8MmVq1c7Yf3LnTg\r\n"                 \
  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n"            \
  "a=ssrc:1235 cname:obs\r\na=rtcp-mux\r\na=rtpmap:96 H264/90000\r\n"                           \
  "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 goog-remb\r\n"                     \
  "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1\r\n"        \
  "a=setup:actpass\r\na=ice-ufrag:Hk2P\r\na=ice-pwd:Zr0bQ2x8MmVq1c7Yf3LnTg\r\n"

static GstSDPMessage *
parse (const char *text, int want_code)
{
  g_autoptr (GError) error = NULL;
  GstSDPMessage *sdp = rc_sdp_parse_whip_offer (text, strlen (text), &error);

  if (want_code == 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (sdp);
    }
  else
    {
      g_assert_error (error, RC_MEDIA_ERROR, want_code);
      g_assert_null (sdp);
      g_assert_nonnull (error->message);
    }
  return sdp;
}

/* @offer with the first @from replaced by @to. */
static char *
edit (const char *offer, const char *from, const char *to)
{
  const char *at = strstr (offer, from);

  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - offer), offer, to, at + strlen (from));
}

static void
test_offer_edge (void)
{
  g_autoptr (GstSDPMessage) obs = parse (OBS_OFFER, 0);
  const char *fingerprint = NULL;
  struct
  {
    const char *from, *to;
    int code;
  } cases[] = {
    /* Refusals webrtcbin would make later, with a reason now. */
    { "a=mid:0\r\n", "", RC_MEDIA_ERROR_INVALID },
    { "a=ice-ufrag:Hk2P\r\n", "", RC_MEDIA_ERROR_INVALID },
    { "a=setup:actpass", "a=setup:sideways", RC_MEDIA_ERROR_INVALID },
    { "a=fingerprint:sha-256 ", "a=fingerprint:md5 ", RC_MEDIA_ERROR_INVALID },
    { "t=0 0\r\n", "t=0 0\r\nk=clear:secret\r\n", RC_MEDIA_ERROR_INVALID },
    { "a=rtcp-mux\r\na=rtpmap:111", "a=fingerprint:sha-256 AB:CD\r\na=rtpmap:111",
      RC_MEDIA_ERROR_INVALID },
    /* Audio the room cannot take. */
    { "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000", RC_MEDIA_ERROR_UNSUPPORTED_OFFER },
    { "a=mid:0\r\na=sendonly", "a=mid:0\r\na=recvonly", RC_MEDIA_ERROR_UNSUPPORTED_OFFER },
    { "m=audio 9 UDP/TLS/RTP/SAVPF", "m=audio 0 UDP/TLS/RTP/SAVPF", RC_MEDIA_ERROR_UNSUPPORTED_OFFER },
    /* Port 0 with bundle-only is not a rejection (RFC 8843). */
    { "a=mid:0\r\n", "a=mid:0\r\na=bundle-only\r\n", 0 },
    { "m=audio 9 UDP/TLS/RTP/SAVPF", "m=audio 9 RTP/AVP", RC_MEDIA_ERROR_UNSUPPORTED_OFFER },
  };

  /* Session-level fingerprint now in every section, and only there. */
  g_assert_null (gst_sdp_message_get_attribute_val (obs, "fingerprint"));
  for (guint m = 0; m < gst_sdp_message_medias_len (obs); m++)
    {
      const char *fp = gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (obs, m),
                                                        "fingerprint");

      g_assert_true (g_str_has_prefix (fp, "sha-256 4C:ED"));
      g_assert_true (fingerprint == NULL || g_str_equal (fp, fingerprint));
      fingerprint = fp;
    }
  /* A session-level role and credentials are spread too. */
  {
    g_autofree char *a = edit (OBS_OFFER, "a=setup:actpass\r\na=ice-ufrag:Hk2P\r\n", "");
    g_autofree char *b = edit (a, "a=setup:actpass\r\na=ice-ufrag:Hk2P\r\n", "");
    g_autofree char *c = edit (b, "t=0 0\r\n", "t=0 0\r\na=setup:actpass\r\na=ice-ufrag:Hk2P\r\n");
    g_autoptr (GstSDPMessage) spread = parse (c, 0);

    g_assert_cmpstr (gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (spread, 1),
                                                      "setup"),
                     ==, "actpass");
  }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *offer = edit (OBS_OFFER, cases[i].from, cases[i].to);
      g_autofree char *zero = cases[i].code == 0 ? edit (offer, "m=audio 9", "m=audio 0")
                                                 : g_strdup (offer);
      g_autoptr (GstSDPMessage) sdp = parse (zero, cases[i].code);
    }
  parse ("", RC_MEDIA_ERROR_INVALID);
  parse ("hello", RC_MEDIA_ERROR_INVALID);
  parse ("v=0\r\ns=-\r\n", RC_MEDIA_ERROR_INVALID);
  {
    static const char bytes[] = "v=0\r\n\xff\xfe\r\n";
    g_autoptr (GError) error = NULL;

    g_assert_null (rc_sdp_parse_whip_offer (bytes, sizeof bytes - 1, &error));
    g_assert_error (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_INVALID);
  }
}

/* 3000 rounds of noise through the offer reader: cut, flipped, doubled,
 * shuffled lines. It answers or refuses; it never crashes or takes an
 * offer without a sending Opus section. */
static void
test_offer_noise (void)
{
  g_auto (GStrv) lines = g_strsplit (OBS_OFFER, "\r\n", -1);
  guint n = g_strv_length (lines);
  GRand *rand = g_rand_new_with_seed (20250725);
  guint taken = 0;

  for (int round = 0; round < 3000; round++)
    {
      g_autoptr (GString) text = g_string_new (NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (GstSDPMessage) sdp = NULL;

      for (guint i = 0; i < n; i++)
        {
          guint pick = g_rand_int_range (rand, 0, 10) == 0 ? (guint) g_rand_int_range (rand, 0, (gint32) n)
                                                           : i;

          if (g_rand_int_range (rand, 0, 12) == 0)
            continue; /* a line lost */
          g_string_append_printf (text, "%s\r\n", lines[pick]);
        }
      for (int k = g_rand_int_range (rand, 0, 4); k > 0 && text->len > 0; k--)
        text->str[g_rand_int_range (rand, 0, (gint32) text->len)] =
          (char) g_rand_int_range (rand, 1, 256);
      if (g_rand_int_range (rand, 0, 5) == 0)
        g_string_truncate (text, g_rand_int_range (rand, 0, (gint32) text->len + 1));
      sdp = rc_sdp_parse_whip_offer (text->str, text->len, &error);
      g_assert_true ((sdp == NULL) != (error == NULL));
      if (sdp != NULL)
        {
          taken++;
          g_assert_nonnull (strstr (text->str, "opus/48000"));
        }
      else
        g_assert_true (error->domain == RC_MEDIA_ERROR
                       && (error->code == RC_MEDIA_ERROR_INVALID
                           || error->code == RC_MEDIA_ERROR_UNSUPPORTED_OFFER));
    }
  g_test_message ("%u of 3000 noisy offers were still usable", taken);
  g_rand_free (rand);
}

/* ---- in process: the room pipeline's live input, without WebRTC -------- */

#define INPUT_LATE (200 * GST_MSECOND)

/* Stamps each buffer INPUT_LATE earlier: it comes out that late, as a
 * host's audio comes out of a jitter buffer. */
static GstPadProbeReturn
make_late (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!GST_BUFFER_PTS_IS_VALID (buffer) || GST_BUFFER_PTS (buffer) < INPUT_LATE)
    return GST_PAD_PROBE_DROP;
  buffer = gst_buffer_make_writable (buffer);
  GST_BUFFER_PTS (buffer) -= INPUT_LATE;
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  return GST_PAD_PROBE_OK;
}

/* A live source on the pipeline's clock, as a host's stream is, whose
 * audio arrives 200 ms after its time: placed by its running time alone it
 * would miss the mixer's deadline, and be dropped. */
static GstElement *
live_input (double hz)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf (
    "audiotestsrc name=src is-live=true freq=%g volume=0.4 samplesperbuffer=480 "
    "! capsfilter caps=audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2",
    hz);
  GstElement *bin = gst_parse_bin_from_description (text, TRUE, &error);
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstPad) pad = NULL;

  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (bin), "src");
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, make_late, NULL, NULL);
  return bin;
}

static void
test_pipeline_input (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcRoomPipeline) pipeline = rc_room_pipeline_new ("input-test", NULL, NULL, &error);
  RcTestEar *ear = rc_test_ear_new ();
  GstElement *branch = rc_test_ear_branch (ear);
  GstElement *input = live_input (550);
  gint64 since;

  g_assert_no_error (error);
  g_assert_true (rc_room_pipeline_add_branch (pipeline, branch));
  g_assert_true (RC_WAIT_UNTIL (rc_test_ear_hears_silence (ear), 5000));
  since = g_get_monotonic_time ();
  gst_object_ref (input);
  g_assert_true (rc_room_pipeline_add_input (pipeline, input, 20 * GST_MSECOND));
  g_assert_true (RC_WAIT_UNTIL (rc_test_ear_hears (ear, 550), 3000));
  g_assert_true (rc_room_pipeline_input_is_linked (pipeline, input));
  rc_test_run_for (1000);
  g_assert_true (rc_test_ear_hears (ear, 550));
  rc_room_pipeline_remove_input (pipeline, input);
  g_assert_true (RC_WAIT_UNTIL (rc_test_ear_hears_silence (ear), 3000));
  g_assert_false (rc_room_pipeline_input_is_linked (pipeline, input));
  g_assert_null (GST_OBJECT_PARENT (input));
  /* The room's stream ran on throughout. */
  g_assert_cmpuint (rc_test_ear_lost (ear, since), ==, 0);
  gst_object_unref (input);
  rc_room_pipeline_remove_branch (pipeline, branch);
  rc_test_run_for (100);
  g_clear_pointer (&pipeline, rc_room_pipeline_free);
  rc_test_ear_free (ear);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add_func ("/whip/offer-edge", test_offer_edge);
  g_test_add_func ("/whip/offer-noise", test_offer_noise);
  g_test_add_func ("/whip/pipeline-input", test_pipeline_input);
  g_test_add_func ("/whip/bad-ice-server-option", test_bad_ice_server_option);
  g_test_add ("/whip/live-and-leave", Fixture, NULL, fixture_setup, test_live_and_leave,
              fixture_teardown);
  g_test_add ("/whip/talkover-and-stats", Fixture, NULL, fixture_setup, test_talkover_and_stats,
              fixture_teardown);
  g_test_add ("/whip/bad-requests", Fixture, NULL, fixture_setup, test_bad_requests,
              fixture_teardown);
  g_test_add ("/whip/conflicts-revoke-and-drop", Fixture,
              "stun:stun.example.net:3478, turn:ann:s3cret@turn.example.net:3478?transport=udp",
              fixture_setup, test_conflicts_revoke_and_drop, fixture_teardown);
  g_test_add ("/whip/forged-certificate-and-room-deleted", Fixture, NULL, fixture_setup,
              test_forged_certificate, fixture_teardown);
  return g_test_run ();
}

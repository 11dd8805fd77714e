/* SPDX-License-Identifier: MIT */
/*
 * Going live over WHIP, heard by a guest. A room plays a 440 Hz song from
 * its queue; an OBS-like host (tests/rc_test_whip.c: Opus plus an H264
 * video section, non-trickle) POSTs its offer with a publish key and sends
 * a 660 Hz tone. A native guest hears the queue give way to the host (the
 * queue pauses: stateUpdate playing=false, notification "live") and come
 * back when the host DELETEs its session, is cut off by revoking its key,
 * or dies without a word (within 3 s). Bad requests get the protocol's
 * status and error code and leave the room playing. The room pipeline's
 * live input is also heard in-process, without WebRTC.
 */
#include "rc_error.h"
#include "rc_native_guest.h"
#include "rc_room_pipeline.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_whip.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
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

typedef struct
{
  char *dir;
  RcTestServer *server;
  char *room_id;
  char *owner_token;
  RcTestWs *ws; /* a guest in the room who reads its messages */
} Fixture;

/* A new publish key of @room_id: its secret, and its id in @key_id. */
static char *
make_key (Fixture *f, const char *room_id, const char *owner_token, char **key_id)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/keys", room_id);
  guint status = 0;
  g_autoptr (JsonNode) reply = rc_test_http (f->server, "POST", path, "{\"label\":\"OBS\"}",
                                             owner_token, &status);
  JsonObject *o;

  g_assert_cmpuint (status, ==, 201);
  o = json_node_get_object (reply);
  if (key_id != NULL)
    *key_id = g_strdup (rc_test_str (o, "id"));
  return g_strdup (rc_test_str (o, "key"));
}

static gboolean
library_ready (RcTestServer *server)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);

  return status == 200 && json_object_get_int_member (json_node_get_object (body), "total") == 1;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *song = NULL;
  g_autoptr (JsonObject) room = NULL;
  const char *args[] = { "--music-dir", NULL, "--max-publishers", "1", NULL };

  f->dir = g_dir_make_tmp ("rc-whip-XXXXXX", NULL);
  song = g_build_filename (f->dir, "tone.ogg", NULL);
  rc_test_music_write (song, RC_TEST_MUSIC_VORBIS, SONG_HZ, 120000, "Tone", "Tests", NULL, NULL);
  args[1] = f->dir;
  f->server = rc_test_server_start (args);
  g_assert_true (RC_WAIT_UNTIL (library_ready (f->server), 30000));
  room = rc_test_create_room (f->server, "Live room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));
  f->owner_token = g_strdup (rc_test_str (room, "ownerToken"));
  f->ws = rc_test_ws_join (f->server, f->room_id, "Remote", NULL, NULL, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rc_test_ws_free (f->ws);
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->room_id);
  g_free (f->owner_token);
}

/* The room plays its song: added over /ws, it starts at once. */
static void
play_song (Fixture *f)
{
  guint status = 0;
  g_autoptr (JsonNode) found = rc_test_http (f->server, "GET", "/api/search/songs?q=Tone", NULL,
                                             NULL, &status);
  JsonArray *songs = json_object_get_array_member (json_node_get_object (found), "songs");
  g_autoptr (JsonObject) state = NULL;

  g_assert_cmpuint (json_array_get_length (songs), ==, 1);
  rc_test_ws_sendf (f->ws, "{\"type\":\"addSong\",\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (songs, 0), "id"));
  do
    {
      g_clear_pointer (&state, json_object_unref);
      state = rc_test_ws_expect (f->ws, "stateUpdate", 5000);
    }
  while (!json_object_get_boolean_member (state, "playing"));
}

static RcNativeGuest *
listen (Fixture *f)
{
  RcNativeGuestOptions options = {
    .server_url = f->server->base_url,
    .room_id = f->room_id,
    .name = "Native ear",
    .keep_pcm = TRUE,
  };
  RcNativeGuest *guest = rc_native_guest_new (&options);
  RcNativeGuestStats stats = { 0 };

  g_assert_true (RC_WAIT_UNTIL ((rc_native_guest_get_stats (guest, &stats), stats.frames > 48000)
                                  || rc_native_guest_get_failure (guest) != NULL,
                                20000));
  g_assert_null (rc_native_guest_get_failure (guest));
  return guest;
}

/* Pitch and level of the last 200 ms the guest heard; FALSE if less came. */
static gboolean
heard (RcNativeGuest *guest, double *freq, double *rms)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);

  if (frames < 48000 / 5 - 960)
    return FALSE;
  rc_test_audio_analyse_s16 (pcm, frames, freq, rms);
  return TRUE;
}

/* The last 200 ms the guest heard are a clear tone of @hz. */
static gboolean
hears (RcNativeGuest *guest, double hz)
{
  double freq, rms;

  return heard (guest, &freq, &rms) && rc_test_audio_is_tone (freq, rms, hz);
}

/* It keeps hearing @hz: ten windows over two seconds, and never the other
 * tone. One window may be off (a packet the loaded machine lost on
 * loopback is concealed, not a tone); a host still mixed in, or the song
 * still paused, fails every window. */
static gboolean
keeps_hearing (RcNativeGuest *guest, double hz, double other_hz)
{
  guint good = 0;

  for (int i = 0; i < 10; i++)
    {
      double freq = 0, rms = 0;

      if (heard (guest, &freq, &rms) && rc_test_audio_is_tone (freq, rms, hz))
        good++;
      else
        g_test_message ("window %d: %.1f Hz at %.3f, wanted %.0f Hz", i, freq, rms, hz);
      if (rc_test_audio_is_tone (freq, rms, other_hz))
        return FALSE;
      rc_test_run_for (200);
    }
  return good >= 9;
}

/* Reads the room's messages until both a notification of kind "live"
 * with @text and a stateUpdate with "playing": @playing have come, in any
 * order; fails the test after @timeout_ms. Returns when the notification
 * came (g_get_monotonic_time). */
static gint64
expect_live_change (Fixture *f, const char *text, gboolean playing, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint64 notified = 0;
  gboolean state = FALSE;

  while ((notified == 0 || !state) && g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (f->ws, 20);
      const char *type = o != NULL ? rc_test_str (o, "type") : NULL;

      if (g_strcmp0 (type, "notification") == 0 && g_strcmp0 (rc_test_str (o, "kind"), "live") == 0
          && g_strcmp0 (rc_test_str (o, "text"), text) == 0)
        notified = g_get_monotonic_time ();
      else if (g_strcmp0 (type, "stateUpdate") == 0
               && json_object_get_boolean_member (o, "playing") == playing)
        state = TRUE;
    }
  if (notified == 0 || !state)
    g_error ("within %u ms: notification \"%s\" %s, stateUpdate playing=%d %s", timeout_ms,
             text, notified ? "came" : "did not come", playing, state ? "came" : "did not come");
  return notified;
}

static RcTestWhip *
go_live (Fixture *f, const char *key, gboolean strip_candidates, gboolean send_video)
{
  RcTestWhipOptions options = {
    .base_url = f->server->base_url,
    .room_id = f->room_id,
    .key = key,
    .freq = HOST_HZ,
    .strip_candidates = strip_candidates,
    .send_video = send_video,
  };
  RcTestWhip *whip = rc_test_whip_new (&options);

  g_assert_cmpuint (rc_test_whip_wait_answer (whip, 15000), ==, 201);
  return whip;
}

/* The answer a WHIP host gets: its audio taken (recvonly), its video
 * refused (inactive or rejected), every server candidate in it. */
static void
check_answer (Fixture *f, RcTestWhip *whip)
{
  const char *text = rc_test_whip_get_answer (whip);
  g_autofree char *prefix = g_strdup_printf ("/whip/%s/", f->room_id);
  g_autoptr (GstSDPMessage) sdp = NULL;
  const GstSDPMedia *audio, *video;

  g_assert_true (g_str_has_prefix (rc_test_whip_get_location (whip), prefix));
  g_assert_null (strstr (rc_test_whip_get_offer (whip), "a=candidate"));
  g_assert_cmpint (gst_sdp_message_new_from_text (text, &sdp), ==, GST_SDP_OK);
  g_assert_cmpuint (gst_sdp_message_medias_len (sdp), ==, 2);
  audio = gst_sdp_message_get_media (sdp, 0);
  video = gst_sdp_message_get_media (sdp, 1);
  g_assert_cmpstr (gst_sdp_media_get_media (audio), ==, "audio");
  g_assert_nonnull (gst_sdp_media_get_attribute_val (audio, "recvonly"));
  g_assert_cmpstr (gst_sdp_media_get_media (video), ==, "video");
  g_assert_true (gst_sdp_media_get_port (video) == 0
                 || gst_sdp_media_get_attribute_val (video, "inactive") != NULL);
  g_assert_nonnull (strstr (text, "a=candidate:"));
  g_assert_nonnull (strstr (text, " 127.0.0.1 "));
  g_assert_nonnull (strstr (text, "a=end-of-candidates"));
}

/* The whole takeover: the queue's song, the host over it, the song back. */
static void
test_live_and_leave (Fixture *f, gconstpointer data)
{
  g_autofree char *key = make_key (f, f->room_id, f->owner_token, NULL);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (RcTestWhip) whip = NULL;

  play_song (f);
  guest = listen (f);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, SONG_HZ), 5000));

  /* OBS 30.2+: no candidates in the offer, a real H264 stream offered. */
  whip = go_live (f, key, TRUE, TRUE);
  check_answer (f, whip);
  expect_live_change (f, "Host is live", FALSE, 10000);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, HOST_HZ), 5000));
  g_assert_true (keeps_hearing (guest, HOST_HZ, SONG_HZ));
  g_assert_true (rc_test_whip_is_connected (whip));
  g_assert_null (rc_test_whip_get_failure (whip));

  /* The host leaves: the queue comes back. */
  g_assert_cmpuint (rc_test_whip_delete (whip), ==, 200);
  expect_live_change (f, "Host has left", TRUE, 5000);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, SONG_HZ), 5000));
  g_assert_true (keeps_hearing (guest, SONG_HZ, HOST_HZ));
  g_assert_cmpuint (rc_test_whip_delete (whip), ==, 404);
}

/* A POST with @key, @content_type and @body; checks status and error code. */
static void
expect_post_error (Fixture *f, const char *path, const char *content_type, const char *body,
                   const char *key, guint status, int code, SoupMessageHeaders **headers)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) json = NULL;

  g_assert_cmpuint (rc_test_whip_request (f->server->base_url, "POST", path, content_type, body,
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
    rc_test_whip_request (f->server->base_url, "OPTIONS", path, NULL, NULL, NULL, &h, NULL), ==,
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
  g_autofree char *key = make_key (f, f->room_id, f->owner_token, NULL);
  g_autofree char *path = g_strdup_printf ("/whip/%s", f->room_id);
  g_autofree char *resource = g_strdup_printf ("/whip/%s/NoSuchSession", f->room_id);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (SoupMessageHeaders) h = NULL;
  g_autofree char *offer = NULL;

  play_song (f);
  guest = listen (f);

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
  /* Methods. */
  g_clear_pointer (&h, soup_message_headers_unref);
  g_assert_cmpuint (rc_test_whip_request (f->server->base_url, "PATCH", resource,
                                          "application/trickle-ice-sdpfrag", "a=end-of-candidates",
                                          key, &h, NULL),
                    ==, 405);
  g_assert_nonnull (strstr (soup_message_headers_get_one (h, "Allow"), "DELETE"));
  g_clear_pointer (&h, soup_message_headers_unref);
  g_assert_cmpuint (
    rc_test_whip_request (f->server->base_url, "GET", path, NULL, NULL, key, &h, NULL), ==, 405);
  g_assert_nonnull (strstr (soup_message_headers_get_one (h, "Allow"), "POST"));
  g_assert_cmpuint (rc_test_whip_request (f->server->base_url, "DELETE", resource, NULL, NULL,
                                          key, NULL, NULL),
                    ==, 404);
  check_options (f, path, "POST");
  check_options (f, resource, "DELETE");

  /* None of it touched the room. */
  g_assert_true (RC_WAIT_UNTIL (hears (guest, SONG_HZ), 3000));
  g_assert_true (keeps_hearing (guest, SONG_HZ, HOST_HZ));
}

/* One host per room, --max-publishers per server; a revoked key cuts the
 * host off; a host that dies is gone within 3 s. The guest hears it all. */
static void
test_conflicts_revoke_and_drop (Fixture *f, gconstpointer data)
{
  g_autofree char *key_id = NULL;
  g_autofree char *key = make_key (f, f->room_id, f->owner_token, &key_id);
  g_autofree char *second = make_key (f, f->room_id, f->owner_token, NULL);
  g_autoptr (JsonObject) other = rc_test_create_room (f->server, "Other room", NULL);
  g_autofree char *other_key = make_key (f, rc_test_str (other, "id"),
                                         rc_test_str (other, "ownerToken"), NULL);
  g_autofree char *path = g_strdup_printf ("/whip/%s", f->room_id);
  g_autofree char *other_path = g_strdup_printf ("/whip/%s", rc_test_str (other, "id"));
  g_autofree char *revoke = g_strdup_printf ("/api/rooms/%s/keys/%s", f->room_id, key_id);
  g_autoptr (RcNativeGuest) guest = NULL;
  g_autoptr (RcTestWhip) host = NULL;
  g_autoptr (SoupMessageHeaders) h = NULL;
  g_autoptr (JsonNode) revoked = NULL;
  guint status = 0;
  gint64 killed_us, back_us;

  play_song (f);
  guest = listen (f);

  /* OBS before 30.2: every candidate in the offer. */
  host = go_live (f, key, FALSE, FALSE);
  expect_live_change (f, "Host is live", FALSE, 10000);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, HOST_HZ), 5000));

  /* A second host in the room: 409. Another room, over the server's one
   * publisher: 503 with Retry-After. The offers are real ones. */
  expect_post_error (f, path, "application/sdp", rc_test_whip_get_offer (host), second, 409,
                     RC_ERROR_ALREADY_LIVE, NULL);
  expect_post_error (f, other_path, "application/sdp", rc_test_whip_get_offer (host), other_key,
                     503, RC_ERROR_TOO_MANY_PUBLISHERS, &h);
  g_assert_nonnull (soup_message_headers_get_one (h, "Retry-After"));
  /* Only the session's own key ends it. */
  g_assert_cmpuint (rc_test_whip_request (f->server->base_url, "DELETE",
                                          rc_test_whip_get_location (host), NULL, NULL, second,
                                          NULL, NULL),
                    ==, 401);

  /* The owner revokes the key: the host is cut off, the queue is back. */
  revoked = rc_test_http (f->server, "DELETE", revoke, NULL, f->owner_token, &status);
  g_assert_cmpuint (status, ==, 200);
  expect_live_change (f, "Host has left", TRUE, 5000);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, SONG_HZ), 5000));
  expect_post_error (f, path, "application/sdp", rc_test_whip_get_offer (host), key, 401,
                     RC_ERROR_UNAUTHORIZED, NULL);
  g_clear_pointer (&host, rc_test_whip_free);

  /* A host that dies without DELETE: within 3 s the room is its queue again. */
  host = go_live (f, second, TRUE, FALSE);
  expect_live_change (f, "Host is live", FALSE, 10000);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, HOST_HZ), 5000));
  rc_test_whip_kill (host);
  killed_us = g_get_monotonic_time ();
  back_us = expect_live_change (f, "Host has left", TRUE, 6000);
  g_test_message ("the room noticed the host was gone after %.2f s",
                  (back_us - killed_us) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (back_us - killed_us, <, 3 * G_USEC_PER_SEC);
  g_assert_true (RC_WAIT_UNTIL (hears (guest, SONG_HZ), 3000));
  g_assert_true (keeps_hearing (guest, SONG_HZ, HOST_HZ));
  g_assert_null (rc_native_guest_get_failure (guest));
}

/* ---- in process: the room pipeline's live input, without WebRTC -------- */

static GstElement *
listening_branch (RcTestEar *ear)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description ("queue ! " RC_TEST_EAR_DECODER, TRUE, &error);
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstElement) depay = NULL;
  g_autoptr (GstPad) rtp = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  depay = gst_bin_get_by_name (GST_BIN (bin), "depay");
  rtp = gst_element_get_static_pad (depay, "sink");
  g_signal_connect (sink, "new-sample", G_CALLBACK (rc_test_ear_on_sample), ear);
  rc_test_ear_watch_rtp (ear, rtp);
  return bin;
}

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
  GstElement *branch = listening_branch (ear);
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
  g_test_add_func ("/whip/pipeline-input", test_pipeline_input);
  g_test_add ("/whip/live-and-leave", Fixture, NULL, fixture_setup, test_live_and_leave,
              fixture_teardown);
  g_test_add ("/whip/bad-requests", Fixture, NULL, fixture_setup, test_bad_requests,
              fixture_teardown);
  g_test_add ("/whip/conflicts-revoke-and-drop", Fixture, NULL, fixture_setup,
              test_conflicts_revoke_and_drop, fixture_teardown);
  return g_test_run ();
}

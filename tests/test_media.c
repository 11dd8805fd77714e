/* SPDX-License-Identifier: MIT */
/*
 * WebRTC audio end to end: a real roomcast with a music dir plays a tone in
 * a room; native guests (tools/native-guest) join over /ws, ask for audio,
 * answer, trickle candidates over 127.0.0.1 and decode what arrives. The
 * checks are what a listener would notice: the tone's pitch, audio stopping
 * when asked, the error code of each bad request, and that twenty guests
 * all hear the room while one of them leaving leaves no hole in the others'
 * packets.
 */
#include "server/core/rc_error.h"
#include "tools/native-guest/rc_native_guest.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>

#define TONE_HZ 440
#define CROWD 20
/* With the native guest's own id, so an error to it counts as its failure. */
#define START_MEDIA "{\"type\":\"startMedia\",\"id\":\"media\",\"transport\":\"webrtc\"}"

/* One folder with the tone, shared by every test's server. */
static char *music_dir;

typedef struct
{
  RcTestServer *server;
  char *room_id;
  RcTestWs *dj; /* a guest who queues the tone */
} Fixture;

/* A native guest and every message it was sent besides offer/ice. */
typedef struct
{
  RcNativeGuest *guest;
  GQueue messages; /* JsonNode* */
} Listener;

static char *
tone_song_id (RcTestServer *server)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);
  JsonArray *songs = json_object_get_array_member (json_node_get_object (body), "songs");

  g_assert_cmpuint (json_array_get_length (songs), ==, 1);
  return g_strdup (rc_test_str (json_array_get_object_element (songs, 0), "id"));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *song = NULL;
  g_autoptr (JsonObject) room = NULL;
  g_autoptr (JsonObject) state = NULL;
  JsonObject *reply;

  f->server = rc_test_server_start ((const char *const[]){ "--music-dir", music_dir, NULL });
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (f->server, 1), 30000));
  room = rc_test_create_room (f->server, "Media room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));

  /* Someone in the room plays the tone (addSong starts an idle room). */
  f->dj = rc_test_ws_join (f->server, f->room_id, "DJ", NULL, NULL, &state);
  song = tone_song_id (f->server);
  rc_test_ws_sendf (f->dj, "{\"type\":\"addSong\",\"id\":\"add\",\"songId\":\"%s\"}", song);
  reply = rc_test_ws_expect (f->dj, "queueUpdated", 5000);
  json_object_unref (reply);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rc_test_ws_free (f->dj);
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  g_free (f->room_id);
}

static void
on_message (RcNativeGuest *guest, JsonObject *message, gpointer data)
{
  Listener *l = data;
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, message);
  g_queue_push_tail (&l->messages, node);
}

static Listener *
listener_new (Fixture *f, const char *name, gboolean keep_pcm)
{
  Listener *l = g_new0 (Listener, 1);
  RcNativeGuestOptions options = {
    .server_url = f->server->base_url,
    .room_id = f->room_id,
    .name = name,
    .keep_pcm = keep_pcm,
    .on_message = on_message,
    .user_data = l,
  };

  g_queue_init (&l->messages);
  l->guest = rc_native_guest_new (&options);
  return l;
}

static void
listener_free (Listener *l)
{
  rc_native_guest_free (l->guest);
  g_queue_clear_full (&l->messages, (GDestroyNotify) json_node_unref);
  g_free (l);
}

/* The message of @type (and @id, if not NULL) this listener got, or NULL. */
static JsonObject *
received (Listener *l, const char *type, const char *id)
{
  for (GList *m = l->messages.head; m != NULL; m = m->next)
    {
      JsonObject *o = json_node_get_object (m->data);

      if (g_strcmp0 (rc_test_str (o, "type"), type) == 0
          && (id == NULL || g_strcmp0 (rc_test_str (o, "id"), id) == 0))
        return o;
    }
  return NULL;
}

static RcNativeGuestStats
stats_of (Listener *l)
{
  RcNativeGuestStats s;

  rc_native_guest_get_stats (l->guest, &s);
  return s;
}

/* The last 200 ms this listener heard are the room's tone. */
static gboolean
hears_tone (Listener *l)
{
  gsize n = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (l->guest, 200, &n);
  double freq, rms;

  if (n < 48 * 200)
    return FALSE;
  rc_test_audio_analyse_s16 (pcm, n, &freq, &rms);
  return rc_test_audio_is_tone (freq, rms, TONE_HZ);
}

static void
assert_not_failed (Listener *l)
{
  g_assert_cmpstr (rc_native_guest_get_failure (l->guest), ==, NULL);
}

static void
test_guest_hears_the_room (Fixture *f, gconstpointer data)
{
  Listener *l = listener_new (f, "Ann", TRUE);
  RcNativeGuestStats s;
  JsonObject *stopped;
  guint64 packets;

  g_assert_true (RC_WAIT_UNTIL (hears_tone (l) || rc_native_guest_get_failure (l->guest), 15000));
  assert_not_failed (l);
  g_assert_true (hears_tone (l));
  s = stats_of (l);
  g_assert_true (s.joined);
  g_assert_true (s.connected);
  g_assert_cmpuint (s.packets, >=, 10);
  g_assert_cmpuint (s.frames, >=, 48 * 200);

  /* stopMedia: the reply, and the audio stops coming. */
  rc_native_guest_send (l->guest, "{\"type\":\"stopMedia\",\"id\":\"stop\"}");
  g_assert_true (RC_WAIT_UNTIL (received (l, "mediaStopped", "stop") != NULL, 5000));
  stopped = received (l, "mediaStopped", "stop");
  g_assert_cmpstr (rc_test_str (stopped, "reason"), ==, "stopped");
  s = stats_of (l);
  g_assert_false (s.connected);
  packets = s.packets;
  rc_test_run_for (500);
  g_assert_cmpuint (stats_of (l).packets, ==, packets);
  assert_not_failed (l);

  /* Asking again brings the audio back; asking while it plays replaces the
   * session with a new offer, and the audio carries on. */
  rc_native_guest_send (l->guest, START_MEDIA);
  g_assert_true (RC_WAIT_UNTIL (hears_tone (l) || rc_native_guest_get_failure (l->guest), 15000));
  assert_not_failed (l);
  rc_native_guest_send (l->guest, START_MEDIA);
  g_assert_true (RC_WAIT_UNTIL (stats_of (l).packets == 0, 5000)); /* the new session's receiver */
  g_assert_true (RC_WAIT_UNTIL (hears_tone (l) || rc_native_guest_get_failure (l->guest), 15000));
  assert_not_failed (l);
  g_assert_true (stats_of (l).connected);
  listener_free (l);
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (RcTestWs) outsider = rc_test_ws_connect (f->server);
  g_autoptr (RcTestWs) ws = rc_test_ws_join (f->server, f->room_id, "Careless", NULL, NULL, &state);
  Listener *l = listener_new (f, "Bea", TRUE);
  JsonObject *o;

  /* Not in a room. */
  rc_test_ws_send (outsider, "{\"type\":\"startMedia\",\"id\":1,\"transport\":\"webrtc\"}");
  json_object_unref (rc_test_ws_expect_error (outsider, RC_ERROR_NOT_IN_ROOM, 5000));

  /* No media session yet. */
  rc_test_ws_send (ws, "{\"type\":\"answer\",\"id\":2,\"sdp\":\"v=0\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_NO_MEDIA, 5000));
  rc_test_ws_send (ws, "{\"type\":\"ice\",\"id\":3,\"candidate\":\"candidate:1 1 UDP 1 "
                       "127.0.0.1 9 typ host\",\"sdpMLineIndex\":0}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_NO_MEDIA, 5000));

  /* Unknown transports (the ws transport is tested in test_sync), and no transport. */
  rc_test_ws_send (ws, "{\"type\":\"startMedia\",\"id\":5,\"transport\":\"carrier-pigeon\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (ws, "{\"type\":\"startMedia\",\"id\":6,\"transport\":7}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));

  /* A real offer, answered with garbage. */
  rc_test_ws_send (ws, "{\"type\":\"startMedia\",\"id\":7,\"transport\":\"webrtc\"}");
  o = rc_test_ws_expect (ws, "offer", 10000);
  g_assert_cmpint (json_object_get_int_member (o, "id"), ==, 7);
  g_assert_nonnull (strstr (rc_test_str (o, "sdp"), "stereo=1;sprop-stereo=1"));
  json_object_unref (o);
  rc_test_ws_send (ws, "{\"type\":\"answer\",\"id\":8,\"sdp\":\"this is not an answer\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (ws, "{\"type\":\"answer\",\"id\":9}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (ws, "{\"type\":\"ice\",\"id\":10,\"candidate\":\"candidate:nonsense\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
  rc_test_ws_send (ws, "{\"type\":\"ice\",\"id\":11,\"candidate\":\"\",\"sdpMLineIndex\":16}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_INVALID_PARAM, 5000));
  /* End of candidates is accepted without a reply. */
  rc_test_ws_send (ws, "{\"type\":\"ice\",\"candidate\":\"\",\"sdpMLineIndex\":0}");

  /* The room plays on for everyone else. */
  g_assert_true (RC_WAIT_UNTIL (hears_tone (l) || rc_native_guest_get_failure (l->guest), 15000));
  assert_not_failed (l);
  g_assert_true (hears_tone (l));

  /* The careless guest stops; afterwards there is no session to answer. */
  rc_test_ws_send (ws, "{\"type\":\"stopMedia\",\"id\":12}");
  o = rc_test_ws_expect (ws, "mediaStopped", 5000);
  g_assert_cmpint (json_object_get_int_member (o, "id"), ==, 12);
  g_assert_cmpstr (rc_test_str (o, "reason"), ==, "stopped");
  json_object_unref (o);
  rc_test_ws_send (ws, "{\"type\":\"answer\",\"id\":13,\"sdp\":\"v=0\"}");
  json_object_unref (rc_test_ws_expect_error (ws, RC_ERROR_NO_MEDIA, 5000));

  rc_test_run_for (300);
  g_assert_true (hears_tone (l));
  assert_not_failed (l);
  listener_free (l);
}

static gboolean
all_hear (Listener **crowd, guint n)
{
  for (guint i = 0; i < n; i++)
    if (crowd[i] != NULL && !hears_tone (crowd[i]))
      return FALSE;
  return TRUE;
}

static gboolean
any_failed (Listener **crowd, guint n)
{
  for (guint i = 0; i < n; i++)
    if (crowd[i] != NULL && rc_native_guest_get_failure (crowd[i]->guest) != NULL)
      return TRUE;
  return FALSE;
}

static void
reset_gaps (gpointer data, guint n)
{
  Listener **crowd = data;

  for (guint i = 0; i < n; i++)
    rc_native_guest_reset_gap (crowd[i]->guest);
}

static gint64
worst_gap (gpointer data, guint n, guint64 *lost)
{
  Listener **crowd = data;
  gint64 worst = 0;

  *lost = 0;
  for (guint i = 0; i < n; i++)
    {
      RcNativeGuestStats s = stats_of (crowd[i]);

      worst = MAX (worst, s.max_gap_us);
      *lost += s.lost;
    }
  return worst;
}

static void
leave (gpointer data, guint index)
{
  Listener **crowd = data;

  g_clear_pointer (&crowd[index], listener_free);
}

static const RcTestLeaving leaving = { reset_gaps, worst_gap, leave };

static void
test_crowd (Fixture *f, gconstpointer data)
{
  Listener *crowd[CROWD];

  for (guint i = 0; i < CROWD; i++)
    {
      g_autofree char *name = g_strdup_printf ("guest-%02u", i);
      crowd[i] = listener_new (f, name, TRUE);
    }
  g_assert_true (RC_WAIT_UNTIL (all_hear (crowd, CROWD) || any_failed (crowd, CROWD), 60000));
  for (guint i = 0; i < CROWD; i++)
    {
      assert_not_failed (crowd[i]);
      g_assert_true (hears_tone (crowd[i]));
      g_assert_true (stats_of (crowd[i]).connected);
    }
  rc_test_run_for (1000);

  /* Guests leave at the end of the list; the rest must not notice. */
  rc_test_audio_time_leaving (&leaving, crowd, CROWD, 3);
  for (guint i = 0; i < CROWD; i++)
    if (crowd[i] != NULL)
      {
        g_assert_true (hears_tone (crowd[i]));
        assert_not_failed (crowd[i]);
      }
  for (guint i = 0; i < CROWD; i++)
    g_clear_pointer (&crowd[i], listener_free);
}

int
main (int argc, char **argv)
{
  g_autofree char *tone = NULL;
  int status;

  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  music_dir = g_dir_make_tmp ("rc-media-XXXXXX", NULL);
  tone = g_build_filename (music_dir, "tone.ogg", NULL);
  /* Long enough that no test hears it end. */
  rc_test_music_write (tone, RC_TEST_MUSIC_VORBIS, TONE_HZ, 120000, "Tone", "roomcast tests",
                       NULL, NULL);
  g_test_add ("/media/guest-hears-the-room", Fixture, NULL, fixture_setup,
              test_guest_hears_the_room, fixture_teardown);
  g_test_add ("/media/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
  g_test_add ("/media/crowd", Fixture, NULL, fixture_setup, test_crowd, fixture_teardown);
  status = g_test_run ();
  g_remove (tone);
  g_rmdir (music_dir);
  g_free (music_dir);
  return status;
}

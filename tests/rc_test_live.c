/* SPDX-License-Identifier: MIT */
#include "rc_test_live.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_util.h"

#define RATE 48000

static gboolean
library_ready (RcTestServer *server)
{
  guint status = 0;
  g_autoptr (JsonNode) body = rc_test_http (server, "GET", "/api/library", NULL, NULL, &status);

  return status == 200 && json_object_get_int_member (json_node_get_object (body), "total") == 1;
}

void
rc_test_live_room_start (RcTestLiveRoom *room, double song_hz, const char *const *args)
{
  g_autofree char *song = NULL;
  g_autoptr (JsonObject) made = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  room->dir = g_dir_make_tmp ("rc-live-XXXXXX", NULL);
  song = g_build_filename (room->dir, "tone.ogg", NULL);
  rc_test_music_write (song, RC_TEST_MUSIC_VORBIS, song_hz, 120000, "Tone", "Tests", NULL, NULL);
  g_ptr_array_add (argv, (gpointer) "--music-dir");
  g_ptr_array_add (argv, room->dir);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  room->server = rc_test_server_start ((const char *const *) argv->pdata);
  g_assert_true (RC_WAIT_UNTIL (library_ready (room->server), 30000));
  made = rc_test_create_room (room->server, "Live room", NULL);
  room->room_id = g_strdup (rc_test_str (made, "id"));
  room->owner_token = g_strdup (rc_test_str (made, "ownerToken"));
  room->ws = rc_test_ws_join (room->server, room->room_id, "Remote", NULL, NULL, NULL);
}

void
rc_test_live_room_stop (RcTestLiveRoom *room)
{
  rc_test_ws_free (room->ws);
  g_assert_cmpint (rc_test_server_stop (room->server), ==, 0);
  rc_test_server_free (room->server);
  rc_test_music_remove_tree (room->dir);
  g_free (room->dir);
  g_free (room->room_id);
  g_free (room->owner_token);
}

char *
rc_test_live_room_make_key (RcTestLiveRoom *room, const char *room_id, const char *owner_token,
                            char **key_id)
{
  g_autofree char *path =
    g_strdup_printf ("/api/rooms/%s/keys", room_id != NULL ? room_id : room->room_id);
  guint status = 0;
  g_autoptr (JsonNode) reply =
    rc_test_http (room->server, "POST", path, "{\"label\":\"OBS\"}",
                  owner_token != NULL ? owner_token : room->owner_token, &status);
  JsonObject *o;

  g_assert_cmpuint (status, ==, 201);
  o = json_node_get_object (reply);
  if (key_id != NULL)
    *key_id = g_strdup (rc_test_str (o, "id"));
  return g_strdup (rc_test_str (o, "key"));
}

void
rc_test_live_room_play_song (RcTestLiveRoom *room)
{
  guint status = 0;
  g_autoptr (JsonNode) found = rc_test_http (room->server, "GET", "/api/search/songs?q=Tone", NULL,
                                             NULL, &status);
  JsonArray *songs = json_object_get_array_member (json_node_get_object (found), "songs");
  g_autoptr (JsonObject) state = NULL;

  g_assert_cmpuint (json_array_get_length (songs), ==, 1);
  rc_test_ws_sendf (room->ws, "{\"type\":\"addSong\",\"songId\":\"%s\"}",
                    rc_test_str (json_array_get_object_element (songs, 0), "id"));
  do
    {
      g_clear_pointer (&state, json_object_unref);
      state = rc_test_ws_expect (room->ws, "stateUpdate", 5000);
    }
  while (!json_object_get_boolean_member (state, "playing"));
}

RcNativeGuest *
rc_test_live_room_listen (RcTestLiveRoom *room)
{
  RcNativeGuestOptions options = {
    .server_url = room->server->base_url,
    .room_id = room->room_id,
    .name = "Native ear",
    .keep_pcm = TRUE,
  };
  RcNativeGuest *guest = rc_native_guest_new (&options);
  RcNativeGuestStats stats = { 0 };

  g_assert_true (RC_WAIT_UNTIL ((rc_native_guest_get_stats (guest, &stats), stats.frames > RATE)
                                  || rc_native_guest_get_failure (guest) != NULL,
                                20000));
  g_assert_null (rc_native_guest_get_failure (guest));
  return guest;
}

gint64
rc_test_live_room_expect_change (RcTestLiveRoom *room, const char *text, gboolean playing,
                                 guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint64 notified = 0;
  gboolean state = FALSE;

  while ((notified == 0 || !state) && g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (room->ws, 20);
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

JsonObject *
rc_test_live_room_broadcast_stats (RcTestLiveRoom *room, gboolean live)
{
  JsonObject *found = NULL;

  for (int i = 0; i < 8 && found == NULL; i++)
    {
      g_autoptr (JsonObject) o = rc_test_ws_expect (room->ws, "broadcastStats", 5000);

      if (json_object_get_boolean_member (o, "live") == live)
        found = g_steal_pointer (&o);
    }
  if (found == NULL)
    g_error ("no broadcastStats with live=%d", live);
  for (;;)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (room->ws, 50);

      if (o == NULL)
        return found;
      if (g_strcmp0 (rc_test_str (o, "type"), "broadcastStats") == 0
          && json_object_get_boolean_member (o, "live") == live)
        {
          json_object_unref (found);
          found = g_steal_pointer (&o);
        }
    }
}

gboolean
rc_test_guest_heard (RcNativeGuest *guest, double *freq, double *rms)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);

  if (frames < RATE / 5 - 960)
    return FALSE;
  rc_test_audio_analyse_s16 (pcm, frames, freq, rms);
  return TRUE;
}

gboolean
rc_test_guest_hears (RcNativeGuest *guest, double hz)
{
  double freq, rms;

  return rc_test_guest_heard (guest, &freq, &rms) && rc_test_audio_is_tone (freq, rms, hz);
}

gboolean
rc_test_guest_waits_for (RcNativeGuest *guest, double hz, guint timeout_ms)
{
  RcNativeGuestStats stats = { 0 };
  double freq = 0, rms = 0;

  if (RC_WAIT_UNTIL (rc_test_guest_hears (guest, hz), timeout_ms))
    return TRUE;
  /* On stderr, which meson prints for a failed test. */
  rc_test_guest_heard (guest, &freq, &rms);
  rc_native_guest_get_stats (guest, &stats);
  g_printerr ("waited %u ms for %.0f Hz: the last 200 ms held %.1f Hz at rms %.3f; "
              "%" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " lost, longest gap %.0f ms, "
              "%" G_GUINT64_FORMAT " frames decoded\n",
              timeout_ms, hz, freq, rms, stats.packets, stats.lost, stats.max_gap_us / 1000.0,
              stats.frames);
  return FALSE;
}

gboolean
rc_test_guest_keeps_hearing (RcNativeGuest *guest, double hz, double other_hz)
{
  guint good = 0;

  for (int i = 0; i < 10; i++)
    {
      double freq = 0, rms = 0;

      if (rc_test_guest_heard (guest, &freq, &rms) && rc_test_audio_is_tone (freq, rms, hz))
        good++;
      else
        g_printerr ("window %d: %.1f Hz at %.3f, wanted %.0f Hz\n", i, freq, rms, hz);
      if (rc_test_audio_is_tone (freq, rms, other_hz))
        return FALSE;
      rc_test_run_for (200);
    }
  return good >= 7;
}

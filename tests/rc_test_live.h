/* SPDX-License-Identifier: MIT */
#pragma once

#include "tools/native-guest/rc_native_guest.h"
#include "rc_test_server.h"
#include "rc_test_ws.h"

G_BEGIN_DECLS

/*
 * A room for live-host tests (WHIP, SRT): a server whose library is one
 * song, "Tone", a steady tone; a room; and a guest, "Remote", on /ws who
 * reads the room's messages. A native guest listens on demand, and its
 * ears are judged by pitch over its last 200 ms.
 */
typedef struct
{
  char *dir;
  RcTestServer *server;
  char *room_id;
  char *owner_token;
  RcTestWs *ws;
} RcTestLiveRoom;

/* @args: more server options (NULL-terminated, may be NULL). */
void rc_test_live_room_start (RcTestLiveRoom *room, double song_hz, const char *const *args);
void rc_test_live_room_stop (RcTestLiveRoom *room);

/* A new publish key of the room @room_id (NULL: this one) made with
 * @owner_token: its secret, and its id in @key_id (may be NULL). */
char *rc_test_live_room_make_key (RcTestLiveRoom *room, const char *room_id,
                                  const char *owner_token, char **key_id);
/* The room plays its song: added over /ws, it starts at once. */
void rc_test_live_room_play_song (RcTestLiveRoom *room);
/* A native guest in the room, once it has heard a second of audio. */
RcNativeGuest *rc_test_live_room_listen (RcTestLiveRoom *room);
/* Reads the room's messages until a notification of kind "live" with
 * @text and a stateUpdate with "playing": @playing have both come; fails
 * the test after @timeout_ms. Returns when the notification came
 * (g_get_monotonic_time). */
gint64 rc_test_live_room_expect_change (RcTestLiveRoom *room, const char *text, gboolean playing,
                                        guint timeout_ms);
/* The latest broadcastStats whose "live" is @live: waits for one (failing
 * the test after a few), then takes any newer ones already there. */
JsonObject *rc_test_live_room_broadcast_stats (RcTestLiveRoom *room, gboolean live);

/* Pitch and level of the last 200 ms @guest heard; FALSE if less came. */
gboolean rc_test_guest_heard (RcNativeGuest *guest, double *freq, double *rms);
/* The last 200 ms are a clear tone of @hz. */
gboolean rc_test_guest_hears (RcNativeGuest *guest, double hz);
/* Waits up to @timeout_ms for @hz; on failure prints to stderr what the
 * guest heard last and its packet counts. */
gboolean rc_test_guest_waits_for (RcNativeGuest *guest, double hz, guint timeout_ms);
/* It keeps hearing @hz: ten windows over two seconds, and never @other_hz.
 * Three windows may be off: on a loaded machine a late packet is
 * concealed, and a window holding it is no clean tone; a host still mixed
 * in, or a song still paused, fails every window. */
gboolean rc_test_guest_keeps_hearing (RcNativeGuest *guest, double hz, double other_hz);

G_END_DECLS

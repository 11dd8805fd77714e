/* SPDX-License-Identifier: MIT */
/*
 * The WebRTC fan-out engine (pipelines/rc_fanout.c) in a real roomcast
 * (the live tests' room, tests/rc_test_live.h: one steady tone playing):
 * the offer a guest gets (ICE-lite, one host candidate on the engine's
 * port, the process's fingerprint, actpass, rtcp-mux), a native guest
 * hearing the room through it while the port is hit with everything a
 * hostile or broken network sends (garbage, truncated packets, DTLS and
 * RTP from unknown addresses, STUN with an unknown username or a wrong
 * MESSAGE-INTEGRITY, DTLS and SRTCP garbage from a proven address): each
 * is dropped and counted in /api/rooms/{id}/stats, the listener keeps its
 * tone without a gap; a guest that proves its address and then says
 * nothing is dropped after 30 s; --webrtc-fanout webrtcbin still serves
 * the native guest the old way; a wrong mode or a taken port stops the
 * server at start with a clear message.
 */
#include "rc_test_live.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>
#include <stdlib.h>
#include <string.h>

#define TONE_HZ 440

/* What Chrome answers (trimmed): recvonly Opus, setup:active. */
#define CHROME_ANSWER                                                                          \
  "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"              \
  "a=group:BUNDLE 0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 96\\r\\nc=IN IP4 0.0.0.0\\r\\n"           \
  "a=ice-ufrag:EEtu\\r\\na=ice-pwd:asd88fgpdd777uzjYhagZg\\r\\n"                                \
  "a=fingerprint:sha-256 07:47:B7:A8:56:36:5B:E4:D2:BF:EA:9A:C2:A7:02:91:71:01:C3:BE:CC:81:71:" \
  "71:02:A1:17:42:A0:FC:C7:CF\\r\\na=setup:active\\r\\na=mid:0\\r\\na=recvonly\\r\\n"           \
  "a=rtcp-mux\\r\\na=rtpmap:96 opus/48000/2\\r\\na=fmtp:96 minptime=10;useinbandfec=1\\r\\n"

/* The live tests' room: a server whose library is one steady tone, a room
 * playing it, a guest on /ws. */
typedef RcTestLiveRoom Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *args[] = { "--webrtc-fanout", data != NULL ? data : "engine", NULL };

  rc_test_live_room_start (f, TONE_HZ, args);
  rc_test_live_room_play_song (f);
}

static void
fixture_setup_two_senders (Fixture *f, gconstpointer data)
{
  const char *args[] = { "--webrtc-senders", "2", NULL };

  rc_test_live_room_start (f, TONE_HZ, args);
  rc_test_live_room_play_song (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rc_test_live_room_stop (f);
}

static JsonObject *
webrtc_stats (Fixture *f)
{
  guint status = 0;
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/stats", f->room_id);
  g_autoptr (JsonNode) body = rc_test_http (f->server, "GET", path, NULL, NULL, &status);

  g_assert_cmpuint (status, ==, 200);
  return json_object_ref (json_object_get_object_member (json_node_get_object (body), "webrtc"));
}

static gint64
dropped (Fixture *f, const char *why)
{
  g_autoptr (JsonObject) stats = webrtc_stats (f);

  return json_object_get_int_member (json_object_get_object_member (stats, "dropped"), why);
}

static gint64
engine_guests (Fixture *f)
{
  g_autoptr (JsonObject) stats = webrtc_stats (f);

  return json_object_get_int_member (stats, "engineGuests");
}

/* The value of "a=@key:" in @sdp, or NULL. */
static char *
sdp_value (const char *sdp, const char *key)
{
  g_autofree char *needle = g_strdup_printf ("a=%s:", key);
  const char *at = strstr (sdp, needle), *end;

  if (at == NULL)
    return NULL;
  at += strlen (needle);
  end = strpbrk (at, "\r\n");
  return g_strndup (at, end != NULL ? (gsize) (end - at) : strlen (at));
}

typedef struct
{
  RcTestWs *ws;
  char *sdp;
  char *ufrag, *pwd;
  GSocketAddress *port; /* the engine's, from the candidate */
} Offer;

static void
offer_free (Offer *o)
{
  rc_test_ws_free (o->ws);
  g_free (o->sdp);
  g_free (o->ufrag);
  g_free (o->pwd);
  g_clear_object (&o->port);
  g_free (o);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Offer, offer_free)

/* A guest of our own over /ws that asks for WebRTC and gets the offer. */
static Offer *
take_offer (Fixture *f, const char *name)
{
  Offer *o = g_new0 (Offer, 1);
  g_autoptr (JsonObject) state = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autofree char *candidate = NULL;
  g_auto (GStrv) fields = NULL;

  o->ws = rc_test_ws_join (f->server, f->room_id, name, NULL, NULL, &state);
  rc_test_ws_send (o->ws, "{\"type\":\"startMedia\",\"id\":1,\"transport\":\"webrtc\"}");
  reply = rc_test_ws_expect (o->ws, "offer", 10000);
  o->sdp = g_strdup (rc_test_str (reply, "sdp"));
  o->ufrag = sdp_value (o->sdp, "ice-ufrag");
  o->pwd = sdp_value (o->sdp, "ice-pwd");
  candidate = sdp_value (o->sdp, "candidate");
  g_assert_nonnull (candidate);
  fields = g_strsplit (candidate, " ", -1);
  g_assert_cmpuint (g_strv_length (fields), >=, 8);
  o->port = g_inet_socket_address_new_from_string (fields[4], (guint) atoi (fields[5]));
  g_assert_nonnull (o->port);
  return o;
}

static void
test_offer (Fixture *f, gconstpointer data)
{
  g_autoptr (Offer) o = take_offer (f, "Reader");
  g_autoptr (JsonObject) stats = webrtc_stats (f);
  g_autofree char *fingerprint = sdp_value (o->sdp, "fingerprint");
  g_autoptr (Offer) other = take_offer (f, "Second");
  g_autofree char *other_fingerprint = sdp_value (other->sdp, "fingerprint");

  g_assert_nonnull (strstr (o->sdp, "a=ice-lite\r\n"));
  g_assert_nonnull (strstr (o->sdp, "a=setup:actpass\r\n"));
  g_assert_nonnull (strstr (o->sdp, "a=rtcp-mux\r\n"));
  g_assert_nonnull (strstr (o->sdp, "a=sendonly\r\n"));
  g_assert_nonnull (strstr (o->sdp, "stereo=1;sprop-stereo=1"));
  g_assert_nonnull (strstr (o->sdp, " typ host\r\n"));
  g_assert_true (g_str_has_prefix (fingerprint, "sha-256 "));
  g_assert_cmpuint (strlen (o->ufrag), >=, 4);
  g_assert_cmpuint (strlen (o->pwd), >=, 22);
  /* One port and one certificate for the process, new credentials per guest. */
  g_assert_cmpstr (rc_test_str (stats, "fanout"), ==, "engine");
  g_assert_cmpint (json_object_get_int_member (stats, "port"), ==,
                   g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (o->port)));
  g_assert_cmpstr (fingerprint, ==, other_fingerprint);
  g_assert_cmpstr (o->ufrag, !=, other->ufrag);
  g_assert_true (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (o->port))
                 == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (other->port)));
}

static void
send_bytes (GSocket *socket, GSocketAddress *to, const guint8 *data, gsize length)
{
  g_socket_send_to (socket, to, (const char *) data, length, NULL, NULL);
}

/* A connectivity check as a browser makes it, keyed with @password. */
static gsize
make_check_as (StunAgent *agent, guint8 *buffer, gsize size, const char *username,
               const char *password, gboolean controlling)
{
  StunMessage msg;

  return stun_usage_ice_conncheck_create (agent, &msg, buffer, size, (const uint8_t *) username,
                                          strlen (username), (const uint8_t *) password,
                                          strlen (password), controlling, controlling, 0x6e7f00ff,
                                          g_random_int (), NULL,
                                          STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

static bool
give_password (StunAgent *agent, StunMessage *message, uint8_t *username, uint16_t username_len,
               uint8_t **password, size_t *password_len, void *user_data)
{
  *password = user_data;
  *password_len = strlen (user_data);
  return true;
}

static gsize
make_check (StunAgent *agent, guint8 *buffer, gsize size, const char *username,
            const char *password)
{
  return make_check_as (agent, buffer, size, username, password, TRUE);
}

/* The class of the answer @socket gets (STUN_RESPONSE, STUN_ERROR), or -1. */
static int
answer_class (StunAgent *agent, GSocket *socket, const char *password)
{
  guint8 buffer[1500];
  gssize n;
  StunMessage msg;

  g_socket_set_timeout (socket, 5);
  n = g_socket_receive (socket, (char *) buffer, sizeof buffer, NULL, NULL);
  if (n <= 0
      || stun_agent_validate (agent, &msg, buffer, (size_t) n, give_password, (gpointer) password)
           != STUN_VALIDATION_SUCCESS)
    return -1;
  return stun_message_get_class (&msg);
}

/* Garbage of every kind at the port; @proven is a socket whose address has
 * passed a check. */
static void
hit_the_port (GSocket *stranger, GSocket *proven, GSocketAddress *port, StunAgent *agent,
              const Offer *o)
{
  guint8 buffer[1500];
  g_autofree char *username = g_strdup_printf ("%s:EEtu", o->ufrag);
  gsize n;

  for (guint i = 0; i < 300; i++)
    {
      gsize length = (gsize) g_random_int_range (1, 1200);

      for (gsize j = 0; j < length; j++)
        buffer[j] = (guint8) g_random_int ();
      send_bytes (stranger, port, buffer, length); /* anything at all */
      buffer[0] = 0x16;                            /* DTLS from a stranger */
      send_bytes (stranger, port, buffer, MIN (length, 200));
      buffer[0] = 0x80;                            /* RTP from a stranger */
      send_bytes (stranger, port, buffer, MIN (length, 200));
      buffer[0] = 0x00;                            /* truncated STUN */
      send_bytes (stranger, port, buffer, MIN (length, 19));
      buffer[0] = 0xff;                            /* no protocol of the port */
      send_bytes (stranger, port, buffer, length);
      send_bytes (proven, port, (const guint8 *) "\x16\xfe\xfd", 3); /* truncated DTLS */
      buffer[0] = 0x16;
      send_bytes (proven, port, buffer, MIN (length, 300)); /* DTLS garbage, proven address */
      buffer[0] = 0x80;
      buffer[1] = 0xc9;
      send_bytes (proven, port, buffer, MIN (length + 8, 300)); /* SRTCP that is not */
    }
  /* STUN: the right username with the wrong key; a username nobody has. */
  n = make_check (agent, buffer, sizeof buffer, username, "not-the-password-at-all");
  for (guint i = 0; i < 50; i++)
    send_bytes (stranger, port, buffer, n);
  n = make_check (agent, buffer, sizeof buffer, "nobody:EEtu", o->pwd);
  for (guint i = 0; i < 50; i++)
    send_bytes (stranger, port, buffer, n);
}

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  RcNativeGuest *listener = rc_test_live_room_listen (f);
  g_autoptr (Offer) o = take_offer (f, "Prober");
  g_autoptr (GSocket) stranger = NULL, proven = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autofree char *username = g_strdup_printf ("%s:EEtu", o->ufrag);
  g_autoptr (JsonObject) failed = NULL;
  StunAgent agent;
  guint8 check[1500];
  gsize n;
  RcNativeGuestStats s;

  stun_agent_init (&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
  stranger = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  proven = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  g_assert_true (g_socket_bind (stranger, any, FALSE, NULL));
  g_assert_true (g_socket_bind (proven, any, FALSE, NULL));

  g_assert_true (RC_WAIT_UNTIL (rc_test_guest_hears (listener, TONE_HZ) || rc_native_guest_get_failure (listener),
                                20000));
  g_assert_cmpstr (rc_native_guest_get_failure (listener), ==, NULL);

  /* The prober proves its address with a right check (the one answer
   * anything here gets) and never answers the offer: its DTLS is refused. */
  n = make_check (&agent, check, sizeof check, username, o->pwd);
  send_bytes (proven, o->port, check, n);
  g_assert_cmpint (answer_class (&agent, proven, o->pwd), ==, STUN_RESPONSE);
  /* A peer that says it is controlled too (it missed a=ice-lite) is told
   * 487, role conflict, and its address is not taken. */
  n = make_check_as (&agent, check, sizeof check, username, o->pwd, FALSE);
  send_bytes (stranger, o->port, check, n);
  g_assert_cmpint (answer_class (&agent, stranger, o->pwd), ==, STUN_ERROR);

  rc_native_guest_reset_gap (listener);
  hit_the_port (stranger, proven, o->port, &agent, o);
  rc_test_run_for (1500);

  /* Every kind counted, nobody answered the strangers, the room played on. */
  g_assert_cmpint (dropped (f, "unknownAddress"), >=, 600);
  g_assert_cmpint (dropped (f, "malformed"), >=, 300);
  g_assert_cmpint (dropped (f, "stunRefused"), >=, 100);
  g_assert_cmpint (dropped (f, "dtls"), >=, 300);
  g_assert_cmpint (dropped (f, "srtp"), >=, 1);
  {
    /* The storm took no packet from the listener: none waited past the
     * playout delay; the wait is part of the latency the stats show. */
    g_autoptr (JsonObject) stats = webrtc_stats (f);

    g_assert_cmpint (json_object_get_int_member (stats, "stalePackets"), ==, 0);
    g_assert_cmpfloat (json_object_get_double_member (stats, "waitP99Ms"), <=,
                       json_object_get_double_member (stats, "latencyP99Ms"));
  }
  g_socket_set_blocking (stranger, FALSE);
  g_assert_cmpint (g_socket_receive (stranger, (char *) check, sizeof check, NULL, NULL), <, 0);
  rc_native_guest_get_stats (listener, &s);
  g_test_message ("listener's longest gap during the storm: %.1f ms, %" G_GUINT64_FORMAT " lost",
                  s.max_gap_us / 1000.0, s.lost);
  g_assert_cmpint (s.max_gap_us, <, 200 * 1000);
  g_assert_true (rc_test_guest_hears (listener, TONE_HZ));
  g_assert_cmpstr (rc_native_guest_get_failure (listener), ==, NULL);

  /* The prober never connects and then says nothing: dropped 30 s after
   * its last check, and told so; the listener is still in. An answer now
   * is read (Chrome's) but changes nothing. */
  rc_test_ws_send (o->ws, "{\"type\":\"answer\",\"id\":2,\"sdp\":\"" CHROME_ANSWER "\"}");
  failed = rc_test_ws_expect (o->ws, "mediaStopped", 40000);
  g_assert_cmpstr (rc_test_str (failed, "reason"), ==, "failed");
  g_assert_cmpint (dropped (f, "timedOut"), >=, 1);
  g_assert_true (rc_test_guest_hears (listener, TONE_HZ));
  /* The one guest connected leaves: the engine counts none. */
  g_assert_cmpint (engine_guests (f), ==, 1);
  rc_native_guest_free (listener);
  g_assert_true (RC_WAIT_UNTIL (engine_guests (f) == 0, 10000));
}

static void
test_webrtcbin_still_serves (Fixture *f, gconstpointer data)
{
  RcNativeGuest *listener = rc_test_live_room_listen (f);
  g_autoptr (JsonObject) stats = NULL;

  g_assert_true (RC_WAIT_UNTIL (rc_test_guest_hears (listener, TONE_HZ) || rc_native_guest_get_failure (listener),
                                20000));
  g_assert_cmpstr (rc_native_guest_get_failure (listener), ==, NULL);
  stats = webrtc_stats (f);
  g_assert_cmpstr (rc_test_str (stats, "fanout"), ==, "webrtcbin");
  g_assert_false (json_object_has_member (stats, "port"));
  rc_native_guest_free (listener);
}

/* --webrtc-senders 2: the guests are dealt to the two sender threads in
 * turn (0, 1, 0); each of them hears the room, and leaving takes each off
 * its own thread's list. */
static void
test_two_senders (Fixture *f, gconstpointer data)
{
  RcNativeGuest *listeners[3];

  for (guint i = 0; i < G_N_ELEMENTS (listeners); i++)
    listeners[i] = rc_test_live_room_listen (f);
  for (guint i = 0; i < G_N_ELEMENTS (listeners); i++)
    {
      g_assert_true (RC_WAIT_UNTIL (rc_test_guest_hears (listeners[i], TONE_HZ)
                                      || rc_native_guest_get_failure (listeners[i]),
                                    20000));
      g_assert_cmpstr (rc_native_guest_get_failure (listeners[i]), ==, NULL);
    }
  g_assert_cmpint (engine_guests (f), ==, 3);
  rc_native_guest_free (listeners[1]);
  g_assert_true (RC_WAIT_UNTIL (engine_guests (f) == 2, 10000));
  g_assert_true (rc_test_guest_hears (listeners[0], TONE_HZ));
  g_assert_true (rc_test_guest_hears (listeners[2], TONE_HZ));
  rc_native_guest_free (listeners[0]);
  rc_native_guest_free (listeners[2]);
  g_assert_true (RC_WAIT_UNTIL (engine_guests (f) == 0, 10000));
}

/* A thread's nice value from /proc/@pid/task/@tid/stat (field 19, counted
 * after the name's closing parenthesis), and its name. */
static gboolean
thread_nice (GPid pid, const char *tid, int *nice_value, char **name)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/task/%s/stat", pid, tid);
  g_autofree char *comm_path = g_strdup_printf ("/proc/%d/task/%s/comm", pid, tid);
  g_autofree char *stat = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (stat_path, &stat, NULL, NULL)
      || !g_file_get_contents (comm_path, name, NULL, NULL)
      || (after = strrchr (stat, ')')) == NULL)
    return FALSE;
  g_strstrip (*name);
  fields = g_strsplit (after + 2, " ", -1);
  /* after ") ": state is field 3, so nice (19) is the 17th from here */
  if (g_strv_length (fields) < 17)
    return FALSE;
  *nice_value = atoi (fields[16]);
  return TRUE;
}

/* The engine's control thread (ICE, DTLS) runs level with the main loop,
 * whose joins send guests to it: 10 steps below it, it starved while 500
 * joins a second kept the main loop busy, and none of 1,000 guests got
 * audio (bench-fanout, 2026-12-07). */
static void
test_control_thread_level_with_main_loop (Fixture *f, gconstpointer data)
{
  GPid pid = rc_test_server_get_pid (f->server);
  g_autofree char *task = g_strdup_printf ("/proc/%d/task", pid);
  g_autofree char *main_tid = g_strdup_printf ("%d", pid);
  g_autofree char *main_name = NULL;
  g_autoptr (GDir) dir = g_dir_open (task, 0, NULL);
  const char *tid;
  int main_nice = 0, control_nice = 0;
  gboolean found = FALSE;

  g_assert_nonnull (dir);
  g_assert_true (thread_nice (pid, main_tid, &main_nice, &main_name));
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *name = NULL;
      int value;

      if (thread_nice (pid, tid, &value, &name) && g_str_equal (name, "rc-fanout-ctl"))
        {
          control_nice = value;
          found = TRUE;
        }
    }
  g_test_message ("main loop nice %d, rc-fanout-ctl nice %d", main_nice, control_nice);
  g_assert_true (found);
  g_assert_cmpint (control_nice, ==, main_nice);
}

/* What an operator sees for a wrong mode or a port that is taken: the
 * server does not start, and says why. */
static void
test_start_refused (void)
{
  g_autoptr (GSocket) taken = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *port = NULL, *mode_output = NULL, *port_output = NULL;

  g_assert_true (g_socket_bind (taken, any, FALSE, NULL));
  bound = g_socket_get_local_address (taken, NULL);
  port = g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_assert_cmpint (rc_test_run_roomcast ((const char *const[]){ "--port", "0", "--webrtc-fanout",
                                                                "turbo", NULL },
                                         NULL, &mode_output),
                   ==, 1);
  g_assert_nonnull (strstr (mode_output, "--webrtc-fanout must be"));
  g_assert_cmpint (rc_test_run_roomcast ((const char *const[]){ "--port", "0", "--webrtc-port",
                                                                port, NULL },
                                         NULL, &port_output),
                   ==, 1);
  g_assert_nonnull (strstr (port_output, "Cannot open the WebRTC UDP port"));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/fanout/start-refused", test_start_refused);
  g_test_add ("/fanout/offer", Fixture, NULL, fixture_setup, test_offer, fixture_teardown);
  g_test_add ("/fanout/control-thread-level-with-main-loop", Fixture, NULL, fixture_setup,
              test_control_thread_level_with_main_loop, fixture_teardown);
  g_test_add ("/fanout/bad-input", Fixture, NULL, fixture_setup, test_bad_input,
              fixture_teardown);
  g_test_add ("/fanout/webrtcbin-still-serves", Fixture, "webrtcbin", fixture_setup,
              test_webrtcbin_still_serves, fixture_teardown);
  g_test_add ("/fanout/two-senders", Fixture, NULL, fixture_setup_two_senders, test_two_senders,
              fixture_teardown);
  return g_test_run ();
}

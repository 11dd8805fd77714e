/* SPDX-License-Identifier: MIT */
/*
 * Password checks against a real roomcast: a flood of wrong-password joins
 * does not stall other rooms (the stretching runs off the main loop, so a
 * listener's 1 s stateUpdate keeps coming), one address gets a handful of
 * attempts a minute on one room and then rate_limited (4300), and a session
 * that closes while its password is checked is forgotten cleanly. Making
 * password rooms (a burst of them) does not stall other rooms either.
 */
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <string.h>

#define PASSWORD_ROOMS 40
#define ATTACKERS 10
#define JOINS_EACH 40 /* 400 joins: twice the 200, since this machine hashes faster */
#define ATTEMPTS_PER_MINUTE 5          /* docs/protocol.md */
#define ADDRESS_ATTEMPTS_PER_MINUTE 20 /* over all rooms */

typedef struct
{
  char *dir;
  RcTestServer *server;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *song = NULL;
  const char *args[] = { "--music-dir", NULL, "--rate-burst", "200", NULL };

  f->dir = g_dir_make_tmp ("rc-password-XXXXXX", NULL);
  song = g_build_filename (f->dir, "long.ogg", NULL);
  rc_test_music_write (song, RC_TEST_MUSIC_VORBIS, 440, 60000, "Long One", "Tone", "T", NULL);
  args[1] = f->dir;
  f->server = rc_test_server_start (args);
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (f->server, 1), 30000));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
create_room (Fixture *f, const char *name, const char *password)
{
  g_autoptr (JsonObject) room = rc_test_create_room (f->server, name, password);

  return g_strdup (rc_test_str (room, "id"));
}

/* An owner in an open room with a song playing: stateUpdate every second. */
static RcTestWs *
start_listener (Fixture *f)
{
  g_autoptr (JsonObject) created = rc_test_create_room (f->server, "Open", NULL);
  g_autofree char *song_id = rc_test_song_id (f->server, "Long One");
  g_autoptr (JsonObject) reply = NULL;
  RcTestWs *ws = rc_test_ws_join (f->server, rc_test_str (created, "id"), "listener", NULL,
                                  rc_test_str (created, "ownerToken"), NULL);

  rc_test_ws_sendf (ws, "{\"type\":\"addSong\",\"songId\":\"%s\"}", song_id);
  reply = rc_test_ws_expect (ws, "stateUpdate", 5000);
  return ws;
}

/* Errors waiting in @ws's queue, by code; other messages are dropped. */
static guint
count_errors (RcTestWs *ws, GHashTable *codes)
{
  guint n = 0;
  JsonNode *node;

  while ((node = g_queue_pop_head (&ws->messages)) != NULL)
    {
      JsonObject *o = json_node_get_object (node);

      if (g_strcmp0 (rc_test_str (o, "type"), "error") == 0)
        {
          gint64 code = json_object_get_int_member (o, "code");
          gpointer seen = g_hash_table_lookup (codes, GINT_TO_POINTER (code));

          g_hash_table_insert (codes, GINT_TO_POINTER (code),
                               GUINT_TO_POINTER (GPOINTER_TO_UINT (seen) + 1));
          n++;
        }
      json_node_unref (node);
    }
  return n;
}

static void
test_flood_does_not_stall_rooms (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) listener = start_listener (f);
  g_autoptr (GPtrArray) rooms = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) attackers = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_test_ws_free);
  g_autoptr (GHashTable) codes = g_hash_table_new (NULL, NULL);
  gint64 last_update, worst_gap = 0, deadline;
  guint answered = 0;

  for (guint i = 0; i < PASSWORD_ROOMS; i++)
    {
      g_autofree char *name = g_strdup_printf ("Locked %u", i);
      g_ptr_array_add (rooms, create_room (f, name, "right horse battery"));
    }
  for (guint i = 0; i < ATTACKERS; i++)
    g_ptr_array_add (attackers, rc_test_ws_connect (f->server));

  /* Each socket sends its joins back to back, as a guessing script would. */
  for (guint i = 0; i < ATTACKERS; i++)
    for (guint j = 0; j < JOINS_EACH; j++)
      rc_test_ws_sendf (attackers->pdata[i],
                        "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"guess\","
                        "\"password\":\"wrong %u\"}",
                        (char *) rooms->pdata[(i * JOINS_EACH + j) % PASSWORD_ROOMS], j);

  last_update = g_get_monotonic_time ();
  deadline = last_update + 20 * G_USEC_PER_SEC;
  while (answered < ATTACKERS * JOINS_EACH && g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (listener, 100);
      gint64 now = g_get_monotonic_time ();

      if (o != NULL && g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0)
        {
          worst_gap = MAX (worst_gap, now - last_update);
          last_update = now;
        }
      for (guint i = 0; i < ATTACKERS; i++)
        answered += count_errors (attackers->pdata[i], codes);
    }
  /* Keep listening a little after the last answer: a stall shows there too. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (listener, 100);
      gint64 now = g_get_monotonic_time ();

      if (o != NULL && g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0)
        {
          worst_gap = MAX (worst_gap, now - last_update);
          last_update = now;
        }
    }
  worst_gap = MAX (worst_gap, g_get_monotonic_time () - last_update);
  g_test_message ("%u answers (wrong password %u, a join already checked %u, rate limited %u); "
                  "longest gap between stateUpdates %.2f s",
                  answered,
                  GPOINTER_TO_UINT (g_hash_table_lookup (codes, GINT_TO_POINTER (4101))),
                  GPOINTER_TO_UINT (g_hash_table_lookup (codes, GINT_TO_POINTER (4202))),
                  GPOINTER_TO_UINT (g_hash_table_lookup (codes, GINT_TO_POINTER (4300))),
                  (double) worst_gap / G_USEC_PER_SEC);
  /* Every join is answered, none lets anyone in, and the other room never stalls. */
  g_assert_cmpuint (answered, ==, ATTACKERS * JOINS_EACH);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (codes, GINT_TO_POINTER (4101))), >=,
                    ATTACKERS);
  g_assert_cmpint (worst_gap, <, 3 * G_USEC_PER_SEC / 2);
}

/* CREATIONS password rooms asked for at once (every request written before
 * any answer is read): their hashing runs off the main loop, so a guest's
 * timeSync, answered on the main loop, is not queued behind it. */
#define CREATIONS 100
/* The slowest timeSync answer allowed meanwhile (with the hashing on the
 * main loop it took 920 ms). */
#define PROBE_MS 300

static void
test_creations_do_not_stall_rooms (Fixture *f, gconstpointer data)
{
  g_autoptr (RcTestWs) probe = rc_test_ws_connect (f->server);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GPtrArray) conns = g_ptr_array_new_with_free_func (g_object_unref);
  const char *body = "{\"name\":\"Locked\",\"password\":\"right horse battery\"}";
  g_autofree char *request = g_strdup_printf (
    "POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen (body), body);
  gint64 deadline;
  double worst = 0;
  guint created = 0, probes = 0;

  for (guint i = 0; i < CREATIONS; i++)
    {
      GSocketConnection *conn = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                                 (guint16) f->server->port,
                                                                 NULL, NULL);

      g_assert_nonnull (conn);
      g_ptr_array_add (conns, conn);
    }
  for (guint i = 0; i < conns->len; i++)
    g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (conns->pdata[i]),
                                              request, strlen (request), NULL, NULL, NULL));
  /* While the server works through them, the main loop's answers. */
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      gint64 sent = g_get_monotonic_time ();
      g_autoptr (JsonObject) reply = rc_test_ws_command (probe, "{\"type\":\"timeSync\",\"t0\":1}");

      g_assert_cmpstr (rc_test_str (reply, "type"), ==, "timeSync");
      worst = MAX (worst, (g_get_monotonic_time () - sent) / 1000.0);
      probes++;
      rc_test_run_for (10);
    }
  for (guint i = 0; i < conns->len; i++)
    {
      char answer[64] = { 0 };
      gsize n = 0;

      g_input_stream_read_all (g_io_stream_get_input_stream (conns->pdata[i]), answer,
                               sizeof answer - 1, &n, NULL, NULL);
      created += g_str_has_prefix (answer, "HTTP/1.1 201");
    }
  g_test_message ("%u of %u password rooms created at once; slowest of %u timeSync answers "
                  "meanwhile %.1f ms", created, CREATIONS, probes, worst);
  g_assert_cmpuint (created, ==, CREATIONS);
  g_assert_cmpfloat (worst, <, PROBE_MS);
}

/* Sends a join and returns the direct reply. */
static JsonObject *
join (RcTestWs *ws, const char *room_id, const char *password)
{
  g_autofree char *request = g_strdup_printf (
    "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"guest\",\"password\":\"%s\"}", room_id,
    password);

  return rc_test_ws_command (ws, request);
}

static void
test_attempts_limited (Fixture *f, gconstpointer data)
{
  g_autofree char *locked = create_room (f, "Locked", "right horse battery");
  g_autofree char *other = create_room (f, "Other", "staple");
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (f->server);
  g_autoptr (RcTestWs) second = rc_test_ws_connect (f->server);
  g_autoptr (JsonObject) reply = NULL;

  for (guint i = 0; i < ATTEMPTS_PER_MINUTE; i++)
    {
      g_clear_pointer (&reply, json_object_unref);
      reply = join (ws, locked, "wrong");
      g_assert_cmpstr (rc_test_str (reply, "type"), ==, "error");
      g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, 4101);
    }
  /* The next attempt from this address, even on a new socket and even with
   * the right password, is refused without being checked. */
  g_clear_pointer (&reply, json_object_unref);
  reply = join (second, locked, "right horse battery");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "error");
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, 4300);
  g_assert_nonnull (g_strstr_len (rc_test_str (reply, "message"), -1, "password"));

  /* Another room keeps its own count: the right password gets in. */
  g_clear_pointer (&reply, json_object_unref);
  reply = join (second, other, "staple");
  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "initialState");
}

/* Guesses spread over many rooms: each room would take 5 a minute, but the
 * address takes 20 a minute over all of them, then 4300. */
static void
test_attempts_limited_per_address (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) rooms = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (RcTestWs) ws = rc_test_ws_connect (f->server);
  guint wrong = 0;

  for (guint i = 0; i < 8; i++)
    g_ptr_array_add (rooms, create_room (f, "Locked", "right horse battery"));
  for (guint i = 0; i < 32; i++)
    {
      g_autoptr (JsonObject) reply = join (ws, rooms->pdata[i % rooms->len], "wrong");

      g_assert_cmpstr (rc_test_str (reply, "type"), ==, "error");
      if (json_object_get_int_member (reply, "code") == 4101)
        {
          wrong++;
          continue;
        }
      g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, 4300);
      g_assert_nonnull (g_strstr_len (rc_test_str (reply, "message"), -1, "address"));
      break;
    }
  g_test_message ("%u checked before the address was refused", wrong);
  /* 20, and the one that refills every 3 s while they run. */
  g_assert_cmpuint (wrong, >=, ADDRESS_ATTEMPTS_PER_MINUTE);
  g_assert_cmpuint (wrong, <=, ADDRESS_ATTEMPTS_PER_MINUTE + 2);
}

/* A socket that closes while its password is being checked: the check ends
 * with nobody to answer, and the server carries on. */
static void
test_close_during_check (Fixture *f, gconstpointer data)
{
  g_autofree char *locked = create_room (f, "Locked", "right horse battery");
  g_autoptr (JsonNode) health = NULL;
  guint status = 0;

  for (guint i = 0; i < 3; i++)
    {
      RcTestWs *ws = rc_test_ws_connect (f->server);

      rc_test_ws_sendf (ws, "{\"type\":\"join\",\"roomId\":\"%s\",\"name\":\"gone\","
                            "\"password\":\"right horse battery\"}", locked);
      rc_test_ws_free (ws);
    }
  rc_test_run_for (500);
  health = rc_test_http (f->server, "GET", "/health", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (health), "guests"), ==, 0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add ("/password/flood-does-not-stall-rooms", Fixture, NULL, fixture_setup,
              test_flood_does_not_stall_rooms, fixture_teardown);
  g_test_add ("/password/creations-do-not-stall-the-main-loop", Fixture, NULL, fixture_setup,
              test_creations_do_not_stall_rooms, fixture_teardown);
  g_test_add ("/password/attempts-limited", Fixture, NULL, fixture_setup, test_attempts_limited,
              fixture_teardown);
  g_test_add ("/password/attempts-limited-per-address", Fixture, NULL, fixture_setup,
              test_attempts_limited_per_address, fixture_teardown);
  g_test_add ("/password/close-during-check", Fixture, NULL, fixture_setup,
              test_close_during_check, fixture_teardown);
  return g_test_run ();
}

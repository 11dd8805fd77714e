/* SPDX-License-Identifier: MIT */
/*
 * The Telegram bot against a stand-in for the Bot API: an HTTP server in
 * this test on 127.0.0.1 that answers getMe, getUpdates (long polling with
 * the offset), sendMessage, editMessageText, editMessageReplyMarkup and
 * answerCallbackQuery as core.telegram.org/bots/api documents, and records
 * every call. A real roomcast is started with --telegram-api-url pointing
 * at it. What is checked is what the chat's people and the room's guests
 * notice: the replies and buttons in the chat, the "now playing" message
 * being edited, and the tone a native guest hears.
 */
#include "server/core/rc_json.h"
#include "tools/native-guest/rc_native_guest.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <gst/gst.h>
#include <libsoup/soup.h>
#include <string.h>

#define BOT_TOKEN "4242:stand-in-token"
#define BOT_NAME "roomcast_test_bot"
#define OWNER 100       /* a Telegram user who links the room */
#define MEMBER 300      /* someone else in the group */
#define GROUP (-500)    /* a group chat (negative id, as Telegram's are) */
#define ALPHA_HZ 440.0
#define BETA_HZ 660.0
/* How long the stand-in holds a getUpdates with nothing to deliver. */
#define HOLD_MS 400

/* ---- the stand-in ---- */

typedef struct
{
  char *method;
  JsonObject *params;
  gint64 at_us;
  gint64 message_id; /* what a sendMessage was answered with */
  gboolean seen;     /* taken by expect_call */
  gboolean failed;   /* answered with an error (never taken) */
} Call;

typedef struct
{
  SoupServer *soup;
  guint port;
  GPtrArray *calls;  /* Call*, in arrival order */
  GQueue updates;    /* JsonObject* not yet confirmed by an offset */
  gint64 next_update_id;
  gint64 next_message_id;
  GPtrArray *held;   /* SoupServerMessage* of getUpdates waiting for updates */
  guint hold_timer;
  guint fail_polls_429; /* the next getUpdates answered 429 ... */
  gint64 retry_after;
  guint fail_polls_502; /* ... or 502 with an HTML page */
  guint fail_sends_429; /* the next sendMessage answered 429 */
} StandIn;

static void
call_free (Call *call)
{
  g_free (call->method);
  json_object_unref (call->params);
  g_free (call);
}

static void
answer_raw (SoupServerMessage *msg, guint status, const char *type, const char *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
answer (SoupServerMessage *msg, JsonNode *result)
{
  JsonObject *o;
  g_autoptr (JsonNode) node = rc_json_message_new (NULL, &o);
  g_autofree char *text = NULL;

  json_object_set_boolean_member (o, "ok", TRUE);
  json_object_set_member (o, "result", result);
  text = rc_json_to_string (node);
  answer_raw (msg, 200, "application/json", text);
}

static void
answer_error (SoupServerMessage *msg, guint code, const char *description, gint64 retry_after)
{
  g_autofree char *text = NULL;

  if (retry_after > 0)
    text = g_strdup_printf ("{\"ok\":false,\"error_code\":%u,\"description\":\"%s\","
                            "\"parameters\":{\"retry_after\":%" G_GINT64_FORMAT "}}",
                            code, description, retry_after);
  else
    text = g_strdup_printf ("{\"ok\":false,\"error_code\":%u,\"description\":\"%s\"}", code,
                            description);
  answer_raw (msg, code, "application/json", text);
}

/* The updates from @offset on (older ones are confirmed and dropped). */
static JsonNode *
updates_from (StandIn *s, gint64 offset)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  while (!g_queue_is_empty (&s->updates)
         && json_object_get_int_member (g_queue_peek_head (&s->updates), "update_id") < offset)
    json_object_unref (g_queue_pop_head (&s->updates));
  for (GList *l = s->updates.head; l != NULL; l = l->next)
    json_array_add_object_element (array, json_object_ref (l->data));
  json_node_take_array (node, array);
  return node;
}

static gint64
poll_offset (SoupServerMessage *msg)
{
  return GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "offset"));
}

/* Answers every held getUpdates with what is there now. */
static void
release_held (StandIn *s)
{
  g_clear_handle_id (&s->hold_timer, g_source_remove);
  for (guint i = 0; i < s->held->len; i++)
    {
      SoupServerMessage *msg = s->held->pdata[i];

      answer (msg, updates_from (s, poll_offset (msg)));
      soup_server_message_unpause (msg);
    }
  g_ptr_array_set_size (s->held, 0);
}

static gboolean
on_hold_timer (gpointer data)
{
  StandIn *s = data;

  s->hold_timer = 0;
  release_held (s);
  return G_SOURCE_REMOVE;
}

static JsonNode *
message_result (StandIn *s, JsonObject *params, gint64 message_id)
{
  JsonObject *o, *chat;
  JsonNode *node = rc_json_message_new (NULL, &o);
  JsonNode *chat_node = rc_json_message_new (NULL, &chat);
  gint64 chat_id = json_object_get_int_member (params, "chat_id");

  json_object_set_int_member (chat, "id", chat_id);
  json_object_set_string_member (chat, "type", chat_id > 0 ? "private" : "group");
  json_object_set_int_member (o, "message_id", message_id);
  json_object_set_int_member (o, "date", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_member (o, "chat", chat_node);
  if (json_object_has_member (params, "text"))
    json_object_set_string_member (o, "text", json_object_get_string_member (params, "text"));
  return node;
}

static void
handle_method (StandIn *s, SoupServerMessage *msg, Call *call)
{
  const char *m = call->method;

  if (g_str_equal (m, "getMe"))
    {
      g_autoptr (JsonNode) me = rc_test_parse ("{\"id\":4242,\"is_bot\":true,"
                                               "\"first_name\":\"Roomcast\","
                                               "\"username\":\"" BOT_NAME "\"}");
      answer (msg, g_steal_pointer (&me));
    }
  else if (g_str_equal (m, "getUpdates"))
    {
      gint64 offset = json_object_has_member (call->params, "offset")
                        ? json_object_get_int_member (call->params, "offset")
                        : 0;
      g_autoptr (JsonNode) ready = NULL;

      call->failed = s->fail_polls_429 > 0 || s->fail_polls_502 > 0;
      if (s->fail_polls_429 > 0 && s->fail_polls_429--)
        return answer_error (msg, 429, "Too Many Requests: retry after 2", s->retry_after);
      if (s->fail_polls_502 > 0 && s->fail_polls_502--)
        return answer_raw (msg, 502, "text/html", "<html><body>502 Bad Gateway</body></html>");
      ready = updates_from (s, offset);
      if (json_array_get_length (json_node_get_array (ready)) > 0)
        return answer (msg, g_steal_pointer (&ready));
      /* Long polling: hold the request until an update comes, or a while. */
      g_object_set_data (G_OBJECT (msg), "offset", GSIZE_TO_POINTER ((gsize) offset));
      soup_server_message_pause (msg);
      g_ptr_array_add (s->held, msg);
      if (s->hold_timer == 0)
        s->hold_timer = g_timeout_add (HOLD_MS, on_hold_timer, s);
    }
  else if (g_str_equal (m, "sendMessage"))
    {
      call->failed = s->fail_sends_429 > 0;
      if (s->fail_sends_429 > 0 && s->fail_sends_429--)
        return answer_error (msg, 429, "Too Many Requests: retry after 1", 1);
      call->message_id = ++s->next_message_id;
      answer (msg, message_result (s, call->params, call->message_id));
    }
  else if (g_str_equal (m, "editMessageText") || g_str_equal (m, "editMessageReplyMarkup"))
    answer (msg, message_result (s, call->params,
                                 json_object_get_int_member (call->params, "message_id")));
  else if (g_str_equal (m, "answerCallbackQuery"))
    answer (msg, json_node_init_boolean (json_node_alloc (), TRUE));
  else
    answer_error (msg, 404, "Not Found", 0);
}

static void
on_request (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  StandIn *s = user_data;
  const char *prefix = "/bot" BOT_TOKEN "/";
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr (JsonNode) params = NULL;
  Call *call;

  if (!g_str_has_prefix (path, prefix))
    return answer_error (msg, 401, "Unauthorized", 0);
  params = g_bytes_get_size (body) > 0 ? rc_test_parse (g_bytes_get_data (body, NULL))
                                       : rc_test_parse ("{}");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (params));
  call = g_new0 (Call, 1);
  call->method = g_strdup (path + strlen (prefix));
  call->params = json_object_ref (json_node_get_object (params));
  call->at_us = g_get_monotonic_time ();
  g_ptr_array_add (s->calls, call);
  handle_method (s, msg, call);
}

static void
stand_in_listen (StandIn *s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, s->port);

  s->soup = soup_server_new ("server-header", "stand-in", NULL);
  soup_server_add_handler (s->soup, NULL, on_request, s, NULL);
  /* The port may take a moment to come free after the stand-in went away. */
  for (int i = 0; i < 50 && !soup_server_listen (s->soup, address, 0, &error); i++)
    {
      g_clear_error (&error);
      rc_test_run_for (100);
    }
  g_assert_no_error (error);
}

/* Goes away: held polls and the listening socket close. */
static void
stand_in_stop (StandIn *s)
{
  g_clear_handle_id (&s->hold_timer, g_source_remove);
  for (guint i = 0; i < s->held->len; i++)
    soup_server_message_unpause (s->held->pdata[i]);
  g_ptr_array_set_size (s->held, 0);
  soup_server_disconnect (s->soup);
  g_clear_object (&s->soup);
}

static StandIn *
stand_in_new (void)
{
  StandIn *s = g_new0 (StandIn, 1);

  s->port = rc_test_free_port ();
  s->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) call_free);
  s->held = g_ptr_array_new ();
  s->next_update_id = 1000;
  g_queue_init (&s->updates);
  stand_in_listen (s);
  return s;
}

static void
stand_in_free (StandIn *s)
{
  if (s->soup != NULL)
    stand_in_stop (s);
  g_ptr_array_unref (s->held);
  g_ptr_array_unref (s->calls);
  g_queue_clear_full (&s->updates, (GDestroyNotify) json_object_unref);
  g_free (s);
}

static JsonObject *
user_json (gint64 id, const char *name)
{
  JsonObject *user = json_object_new ();

  json_object_set_int_member (user, "id", id);
  json_object_set_boolean_member (user, "is_bot", FALSE);
  json_object_set_string_member (user, "first_name", name);
  return user;
}

static JsonObject *
message_json (StandIn *s, gint64 chat_id, gint64 from, const char *name, const char *text)
{
  JsonObject *message = json_object_new ();
  JsonObject *chat = json_object_new ();

  json_object_set_int_member (chat, "id", chat_id);
  json_object_set_string_member (chat, "type", chat_id > 0 ? "private" : "group");
  json_object_set_int_member (message, "message_id", ++s->next_message_id);
  json_object_set_int_member (message, "date", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_object_member (message, "chat", chat);
  json_object_set_object_member (message, "from", user_json (from, name));
  if (text != NULL)
    json_object_set_string_member (message, "text", text);
  return message;
}

static void
push_update (StandIn *s, const char *kind, JsonObject *body)
{
  JsonObject *update = json_object_new ();

  json_object_set_int_member (update, "update_id", ++s->next_update_id);
  json_object_set_object_member (update, kind, body);
  g_queue_push_tail (&s->updates, update);
  release_held (s);
}

/* A user writes @text in @chat_id; @reply_to: the author of the message
 * it answers (0: none). */
static void
say (StandIn *s, gint64 chat_id, gint64 from, const char *text, gint64 reply_to)
{
  JsonObject *message = message_json (s, chat_id, from, from == OWNER ? "Olga" : "Max", text);

  if (reply_to != 0)
    json_object_set_object_member (message, "reply_to_message",
                                   message_json (s, chat_id, reply_to, "Max", "hi"));
  push_update (s, "message", message);
}

/* A user presses the button with @data on message @message_id. */
static void
press (StandIn *s, gint64 chat_id, gint64 from, gint64 message_id, const char *id,
       const char *data)
{
  JsonObject *callback = json_object_new ();
  JsonObject *message = message_json (s, chat_id, 4242, "Roomcast", "🎵");

  json_object_set_int_member (message, "message_id", message_id);
  json_object_set_string_member (callback, "id", id);
  json_object_set_object_member (callback, "from", user_json (from, "Someone"));
  json_object_set_object_member (callback, "message", message);
  json_object_set_string_member (callback, "chat_instance", "42");
  json_object_set_string_member (callback, "data", data);
  push_update (s, "callback_query", callback);
}

static const char *
call_text (Call *call)
{
  return json_object_has_member (call->params, "text")
           ? json_object_get_string_member (call->params, "text")
           : "";
}

static gboolean
call_matches (Call *call, const char *method, gint64 chat_id, const char *text)
{
  return !call->seen && !call->failed && g_str_equal (call->method, method)
         && (chat_id == 0 || (json_object_has_member (call->params, "chat_id")
                              && json_object_get_int_member (call->params, "chat_id") == chat_id))
         && (text == NULL || strstr (call_text (call), text) != NULL);
}

static Call *
find_call (StandIn *s, const char *method, gint64 chat_id, const char *text)
{
  for (guint i = 0; i < s->calls->len; i++)
    if (call_matches (s->calls->pdata[i], method, chat_id, text))
      return s->calls->pdata[i];
  return NULL;
}

/* The first call not yet taken of @method to @chat_id (0: any) whose text
 * holds @text (NULL: any); fails the test after @timeout_ms. */
static Call *
expect_call (StandIn *s, const char *method, gint64 chat_id, const char *text, guint timeout_ms)
{
  Call *call = NULL;

  /* (Longer under the sanitizers: RC_TEST_SLOWDOWN.) */
  timeout_ms *= rc_test_slowdown ();
  if (!RC_WAIT_UNTIL ((call = find_call (s, method, chat_id, text)) != NULL, timeout_ms))
    g_error ("no %s to %" G_GINT64_FORMAT " with \"%s\" within %u ms", method, chat_id,
             text ? text : "", timeout_ms);
  call->seen = TRUE;
  g_test_message ("%s → %" G_GINT64_FORMAT ": %s", method, chat_id, call_text (call));
  return call;
}

static Call *
last_call (StandIn *s, const char *method)
{
  for (guint i = s->calls->len; i > 0; i--)
    if (g_str_equal (((Call *) s->calls->pdata[i - 1])->method, method))
      return s->calls->pdata[i - 1];
  return NULL;
}

static guint
count_calls (StandIn *s, const char *method)
{
  guint n = 0;

  for (guint i = 0; i < s->calls->len; i++)
    n += g_str_equal (((Call *) s->calls->pdata[i])->method, method);
  return n;
}

/* The callback_data of every button of @call's reply_markup, joined by ' '. */
static char *
buttons (Call *call)
{
  GString *out = g_string_new (NULL);
  JsonObject *markup = json_object_has_member (call->params, "reply_markup")
                         ? json_object_get_object_member (call->params, "reply_markup")
                         : NULL;
  JsonArray *rows = markup ? json_object_get_array_member (markup, "inline_keyboard") : NULL;

  for (guint r = 0; rows != NULL && r < json_array_get_length (rows); r++)
    {
      JsonArray *row = json_array_get_array_element (rows, r);

      for (guint b = 0; b < json_array_get_length (row); b++)
        {
          JsonObject *button = json_array_get_object_element (row, b);

          if (json_object_has_member (button, "callback_data"))
            g_string_append_printf (out, "%s ", json_object_get_string_member (button,
                                                                                "callback_data"));
          if (json_object_has_member (button, "web_app"))
            g_string_append (out, "web_app ");
        }
    }
  return g_string_free (out, FALSE);
}

/* ---- the fixture ---- */

typedef struct
{
  char *dir;
  StandIn *api;
  RcTestRedis *redis; /* with_redis only */
  GPtrArray *args;    /* roomcast's flags, for a restart */
  RcTestServer *server;
  char *room_id;
  char *owner_token;
} Fixture;

/* Starts roomcast, waits for its library, and for the bot to ask who it
 * is and start polling. */
static void
start_roomcast (Fixture *f)
{
  f->server = rc_test_server_start ((const char *const *) f->args->pdata);
  g_assert_true (RC_WAIT_UNTIL (rc_test_library_has (f->server, 2), 30000));
  expect_call (f->api, "getMe", 0, NULL, 10000);
  expect_call (f->api, "getUpdates", 0, NULL, 10000);
}

static void
fixture_setup (Fixture *f, gconstpointer with_redis)
{
  g_autofree char *alpha = NULL;
  g_autofree char *beta = NULL;
  g_autoptr (JsonObject) room = NULL;
  const char *const flags[] = { "--telegram-token", BOT_TOKEN, "--telegram-webapp-url",
                                "https://music.example.org", "--telegram-api-url" };

  f->dir = g_dir_make_tmp ("rc-telegram-XXXXXX", NULL);
  alpha = g_build_filename (f->dir, "alpha.ogg", NULL);
  beta = g_build_filename (f->dir, "beta.ogg", NULL);
  rc_test_music_write (alpha, RC_TEST_MUSIC_VORBIS, ALPHA_HZ, 30000, "Alpha Tone", "Testers",
                       NULL, NULL);
  rc_test_music_write (beta, RC_TEST_MUSIC_VORBIS, BETA_HZ, 30000, "Beta Tone", "Testers", NULL,
                       NULL);
  f->api = stand_in_new ();
  f->args = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    g_ptr_array_add (f->args, g_strdup (flags[i]));
  g_ptr_array_add (f->args, g_strdup_printf ("http://127.0.0.1:%u/", f->api->port));
  g_ptr_array_add (f->args, g_strdup ("--music-dir"));
  g_ptr_array_add (f->args, g_strdup (f->dir));
  if (with_redis)
    {
      g_autoptr (GError) error = NULL;

      f->redis = rc_test_redis_start (&error);
      g_assert_no_error (error);
      g_ptr_array_add (f->args, g_strdup ("--store"));
      g_ptr_array_add (f->args, g_strdup (rc_test_redis_get_uri (f->redis)));
    }
  g_ptr_array_add (f->args, NULL);
  start_roomcast (f);
  room = rc_test_create_room (f->server, "Telegram room", NULL);
  f->room_id = g_strdup (rc_test_str (room, "id"));
  f->owner_token = g_strdup (rc_test_str (room, "ownerToken"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  stand_in_free (f->api);
  rc_test_redis_stop (f->redis);
  g_ptr_array_unref (f->args);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->room_id);
  g_free (f->owner_token);
}

static RcNativeGuest *
native_ear (Fixture *f)
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
                                20000 * rc_test_slowdown ()));
  g_assert_null (rc_native_guest_get_failure (guest));
  return guest;
}

static gboolean
ear_hears (RcNativeGuest *guest, double hz)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);
  double freq, rms;

  rc_test_audio_analyse_s16 (pcm, frames, &freq, &rms);
  return hz > 0 ? rc_test_audio_is_tone (freq, rms, hz) : rms < 0.01;
}

/* Links the owner's private chat with the token, then the group. */
static gint64
link_chats (Fixture *f)
{
  g_autofree char *link = g_strdup_printf ("/link %s %s", f->room_id, f->owner_token);
  g_autofree char *link_group = g_strdup_printf ("/link@" BOT_NAME " %s", f->room_id);
  g_autofree char *keys = NULL;
  Call *now;

  /* The token proves the owner; in a group it is refused (a secret). */
  say (f->api, GROUP, OWNER, link, 0);
  expect_call (f->api, "sendMessage", GROUP, "only in a private chat", 10000);
  say (f->api, OWNER, OWNER, link, 0);
  expect_call (f->api, "sendMessage", OWNER, "now plays in “Telegram room”", 10000);
  now = expect_call (f->api, "sendMessage", OWNER, "Nothing is playing", 10000);
  keys = buttons (now);
  g_assert_cmpstr (keys, ==, "ctl:prev ctl:toggle ctl:next ctl:loop web_app ");
  /* The group, by the Telegram owner, without the token. */
  say (f->api, GROUP, OWNER, link_group, 0);
  expect_call (f->api, "sendMessage", GROUP, "now plays in", 10000);
  now = expect_call (f->api, "sendMessage", GROUP, "Nothing is playing", 10000);
  g_clear_pointer (&keys, g_free);
  keys = buttons (now);
  /* No Mini App button in a group (Telegram allows it in private chats). */
  g_assert_cmpstr (keys, ==, "ctl:prev ctl:toggle ctl:next ctl:loop ");
  return now->message_id;
}

static void
test_play_skip_refuse (Fixture *f, gconstpointer data)
{
  g_autoptr (RcNativeGuest) ear = NULL;
  g_autoptr (RcTestWs) web = NULL;
  g_autoptr (JsonObject) told = NULL;
  g_autofree char *beta_id = rc_test_song_id (f->server, "Beta Tone");
  g_autofree char *choose = g_strdup_printf ("play:%s", beta_id);
  g_autofree char *keys = NULL;
  gint64 now_playing = link_chats (f);
  Call *call;

  /* Anyone in the group queues; the song is found and the room plays it. */
  say (f->api, GROUP, MEMBER, "/play@" BOT_NAME " alpha tone", 0);
  expect_call (f->api, "sendMessage", GROUP, "Queued “Alpha Tone” — Testers for Max", 10000);
  /* A command for another bot is not ours. */
  say (f->api, GROUP, MEMBER, "/play@some_other_bot beta", 0);
  ear = native_ear (f);
  g_assert_true (RC_WAIT_UNTIL (ear_hears (ear, ALPHA_HZ), 5000 * rc_test_slowdown ()));

  /* An unclear query offers the matches as buttons; one press queues it. */
  say (f->api, GROUP, MEMBER, "/play tone", 0);
  call = expect_call (f->api, "sendMessage", GROUP, "Which one?", 10000);
  keys = buttons (call);
  g_assert_nonnull (strstr (keys, choose));
  press (f->api, GROUP, MEMBER, call->message_id, "cb-choose", choose);
  expect_call (f->api, "answerCallbackQuery", 0, NULL, 10000);
  expect_call (f->api, "sendMessage", GROUP, "Queued “Beta Tone”", 10000);
  /* The queue shows each song under the Telegram user who queued it. */
  say (f->api, GROUP, MEMBER, "/queue", 0);
  expect_call (f->api, "sendMessage", GROUP,
               "▶️ Alpha Tone — Testers (Max)\n1. Beta Tone — Testers (Someone)", 10000);

  /* Nothing found says so. */
  say (f->api, GROUP, MEMBER, "/play zzyzx qwerty", 0);
  expect_call (f->api, "sendMessage", GROUP, "Nothing found for “zzyzx qwerty”", 10000);

  /* Steering is for the owner and admins: the member's /skip and ⏭ are
   * refused, politely, and the song plays on. */
  say (f->api, GROUP, MEMBER, "/skip", 0);
  expect_call (f->api, "sendMessage", GROUP, "only the room's owner and the admins", 10000);
  press (f->api, GROUP, MEMBER, now_playing, "cb-refused", "ctl:next");
  call = expect_call (f->api, "answerCallbackQuery", 0, NULL, 10000);
  g_assert_cmpstr (json_object_get_string_member (call->params, "callback_query_id"), ==,
                   "cb-refused");
  g_assert_nonnull (strstr (call_text (call), "only the room's owner"));
  rc_test_run_for (1000);
  g_assert_true (RC_WAIT_UNTIL (ear_hears (ear, ALPHA_HZ), 3000 * rc_test_slowdown ()));

  /* The owner's ⏭ skips: the guest hears the next song, the page's
   * guests are told who skipped what (as when a guest skips in the page),
   * and the group's "now playing" message is edited to say so. */
  web = rc_test_ws_join (f->server, f->room_id, "Webby", NULL, NULL, NULL);
  press (f->api, GROUP, OWNER, now_playing, "cb-next", "ctl:next");
  told = rc_test_ws_expect (web, "notification", 10000);
  g_assert_cmpstr (json_object_get_string_member (told, "kind"), ==, "skip");
  g_assert_cmpstr (json_object_get_string_member (told, "text"), ==,
                   "Someone skipped Alpha Tone (from Telegram)");
  call = expect_call (f->api, "answerCallbackQuery", 0, NULL, 10000);
  g_assert_cmpstr (json_object_get_string_member (call->params, "callback_query_id"), ==,
                   "cb-next");
  g_assert_true (RC_WAIT_UNTIL (ear_hears (ear, BETA_HZ), 5000 * rc_test_slowdown ()));
  call = expect_call (f->api, "editMessageText", GROUP, "Beta Tone", 10000);
  g_assert_cmpint (json_object_get_int_member (call->params, "message_id"), ==, now_playing);

  /* The owner names the member an admin by replying to them; their
   * /pause then works. */
  say (f->api, GROUP, OWNER, "/admin", MEMBER);
  expect_call (f->api, "sendMessage", GROUP, "may now steer", 10000);
  say (f->api, GROUP, MEMBER, "/pause", 0);
  expect_call (f->api, "sendMessage", GROUP, "Paused.", 10000);
  g_assert_true (RC_WAIT_UNTIL (ear_hears (ear, 0), 3000 * rc_test_slowdown ()));
}

static void
test_rides_out_failures (Fixture *f, gconstpointer data)
{
  Call *before, *after;
  g_autoptr (JsonNode) rooms = NULL;
  g_autofree char *listed = NULL;
  guint polls;

  /* 429 with retry_after: the next poll comes no sooner. */
  f->api->retry_after = 2;
  f->api->fail_polls_429 = 1;
  g_assert_true (RC_WAIT_UNTIL ((before = last_call (f->api, "getUpdates"))->failed,
                                5000 * rc_test_slowdown ()));
  after = NULL;
  g_assert_true (RC_WAIT_UNTIL ((after = last_call (f->api, "getUpdates")) != before,
                                10000 * rc_test_slowdown ()));
  g_test_message ("after the 429: next poll %.2f s later",
                  (after->at_us - before->at_us) / 1e6);
  g_assert_cmpint (after->at_us - before->at_us, >=, 1900000);

  /* 502 (an HTML page) twice, and a sendMessage answered 429: the reply
   * still comes. */
  f->api->fail_polls_502 = 2;
  f->api->fail_sends_429 = 1;
  polls = count_calls (f->api, "getUpdates");
  g_assert_true (RC_WAIT_UNTIL (count_calls (f->api, "getUpdates") >= polls + 3,
                                15000 * rc_test_slowdown ()));
  say (f->api, OWNER, OWNER, "/help", 0);
  after = expect_call (f->api, "sendMessage", OWNER, "/play <song>", 15000);
  /* (It was sent twice: the first answered 429.) */
  g_assert_cmpuint (f->api->fail_sends_429, ==, 0);
  for (guint i = 0; i < f->api->calls->len; i++)
    if (((Call *) f->api->calls->pdata[i])->failed
        && g_str_equal (((Call *) f->api->calls->pdata[i])->method, "sendMessage"))
      before = f->api->calls->pdata[i];
  g_assert_true (before->failed && g_str_equal (before->method, "sendMessage"));
  g_assert_cmpint (after->at_us - before->at_us, >=, 900000);

  /* The API goes away for 10 s; once back, the bot answers again. */
  stand_in_stop (f->api);
  rc_test_run_for (10000);
  stand_in_listen (f->api);
  say (f->api, OWNER, OWNER, "/newroom Party", 0);
  expect_call (f->api, "sendMessage", OWNER, "Made “Party”", 25000);
  expect_call (f->api, "sendMessage", OWNER, "now plays in “Party”", 10000);
  rooms = rc_test_http (f->server, "GET", "/api/rooms", NULL, NULL, NULL);
  listed = rc_json_to_string (rooms);
  g_assert_nonnull (strstr (listed, "\"Party\""));
}

/* With Redis, a restarted roomcast still knows the links, the owner, the
 * admins and the "now playing" message it keeps editing. */
static void
test_links_survive_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *link = g_strdup_printf ("/link %s %s", f->room_id, f->owner_token);
  g_autofree char *link_group = g_strdup_printf ("/link %s", f->room_id);
  g_autofree char *room_key = g_strdup_printf ("telegram:room:%s", f->room_id);
  g_autofree char *chat = NULL;
  g_autofree char *people = NULL;
  g_autofree char *member = NULL;
  g_autofree char *want = NULL;
  gint64 message_id;
  Call *call;

  say (f->api, OWNER, OWNER, link, 0);
  expect_call (f->api, "sendMessage", OWNER, "now plays in", 10000);
  message_id = expect_call (f->api, "sendMessage", OWNER, "Nothing is playing", 10000)->message_id;
  say (f->api, OWNER, OWNER, "/admin 300", 0);
  expect_call (f->api, "sendMessage", OWNER, "User 300 may now steer", 10000);
  say (f->api, GROUP, OWNER, link_group, 0);
  expect_call (f->api, "sendMessage", GROUP, "now plays in", 10000);

  /* The keys docs/architecture.md lists. */
  want = g_strdup_printf ("{\"roomId\":\"%s\",\"messageId\":%" G_GINT64_FORMAT "}", f->room_id,
                          message_id);
  g_assert_true (RC_WAIT_UNTIL ((g_free (chat),
                                 chat = rc_test_redis_call (f->redis, "GET", "telegram:chat:100",
                                                            NULL))
                                  && g_str_equal (chat, want),
                                5000));
  member = rc_test_redis_call (f->redis, "SISMEMBER", "telegram:chats", "-500", NULL);
  g_assert_cmpstr (member, ==, "1");
  people = rc_test_redis_call (f->redis, "GET", room_key, NULL);
  g_assert_cmpstr (people, ==, "{\"owners\":[100],\"admins\":[300]}");

  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  g_clear_pointer (&f->server, rc_test_server_free);
  start_roomcast (f);

  /* The room changes: the owner's "now playing" message from before the
   * restart is the one edited. */
  say (f->api, OWNER, OWNER, "/play alpha tone", 0);
  expect_call (f->api, "sendMessage", OWNER, "Queued “Alpha Tone”", 10000);
  call = expect_call (f->api, "editMessageText", OWNER, "Alpha Tone", 10000);
  g_assert_cmpint (json_object_get_int_member (call->params, "message_id"), ==, message_id);
  /* The admin named before the restart still steers in the group. */
  say (f->api, GROUP, MEMBER, "/pause", 0);
  expect_call (f->api, "sendMessage", GROUP, "Paused.", 10000);
}

int
main (int argc, char **argv)
{
  rc_test_init (&argc, &argv);
  gst_init (&argc, &argv);
  g_test_add ("/telegram-bot/play-skip-refuse", Fixture, NULL, fixture_setup,
              test_play_skip_refuse, fixture_teardown);
  g_test_add ("/telegram-bot/rides-out-failures", Fixture, NULL, fixture_setup,
              test_rides_out_failures, fixture_teardown);
  g_test_add ("/telegram-bot/links-survive-restart", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_links_survive_restart, fixture_teardown);
  return g_test_run ();
}

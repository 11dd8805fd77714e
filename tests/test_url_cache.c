/* SPDX-License-Identifier: MIT */
/*
 * URL songs and the server's song cache (issue 17, part 3), with no
 * network: an HTTP server inside this test on 127.0.0.1 serves a song
 * slowly (SLOW_RATE bytes a second per connection), an HTML page, a 404,
 * and files larger than the cache. A room plays the song while the cache
 * fills; a second room, and a room after a restart, play it from the
 * cache without fetching it again; time to first audio is measured by a
 * native guest in each room (printed: speed is the benchmarks' business).
 * What is not audio, or too large, or missing, is refused with its code,
 * told to the guest who queued it, and never reaches the room's pipeline
 * (a song plays only once the cache has accepted its URL; one skipped
 * while it waits stays skipped); the folder never holds more than
 * --cache-max-bytes of songs, checked on disk while a download grows.
 */
#include "server/core/rc_error.h"
#include "server/library/rc_audio_sniff.h"
#include "server/library/rc_url_cache.h"
#include "tools/native-guest/rc_native_guest.h"
#include "rc_test_audio.h"
#include "rc_test_music.h"
#include "rc_test_server.h"
#include "rc_test_util.h"
#include "rc_test_ws.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <libsoup/soup.h>
#include <string.h>

#define SONG_HZ 440.0
#define SONG_SECONDS 40
/* Per connection; a sanitized run (rc_test_slowdown) serves slower still,
 * so that the first play is still heard before the download ends. The
 * song needs 4 KB/s. */
#define SLOW_RATE (20 * 1024 / rc_test_slowdown ())
#define TICK_MS 50
#define CACHE_MAX 250000
#define BIG_BYTES 400000
/* /broken.mp3's server closes the connection after this part of the song. */
#define BROKEN_PART 4
/* /late.mp3's server answers this late (times rc_test_slowdown). */
#define LATE_MS 3000
/* A refused URL's request other than the cache's is answered this late. */
#define ROOM_LAG_MS 300

/* ---- the song server ---------------------------------------------------- */

typedef struct
{
  SoupServer *server;
  char *base_url;
  GBytes *song; /* an MP3 tone, 32 kb/s: the slow server sends it 5 times faster */
  GBytes *big;  /* "OggS" and noise, BIG_BYTES */
  GHashTable *requests; /* path → count */
  GPtrArray *timers;    /* GSource*: the responses still being made; freed with it */
} SongServer;

/* Runs @func(@data) every @ms until it returns G_SOURCE_REMOVE or the
 * server goes; @free_data then frees @data. */
static void
add_timer (SongServer *s, guint ms, GSourceFunc func, gpointer data, GDestroyNotify free_data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, free_data);
  g_source_attach (source, NULL);
  g_ptr_array_add (s->timers, source);
}

static void
drop_timer (SongServer *s)
{
  if (s->timers != NULL)
    g_ptr_array_remove (s->timers, g_main_current_source ());
}

/* One slow response; it holds the message until its timer stops. */
typedef struct
{
  SongServer *s;
  SoupServerMessage *msg;
  GBytes *body;
  gsize offset;
  gsize per_tick;
  gsize break_at;    /* > 0: the connection is closed once this much is sent */
  gboolean finished; /* the client went, or the body was all sent */
} Trickle;

static void
on_finished (SoupServerMessage *msg, Trickle *t)
{
  t->finished = TRUE;
}

static gboolean
on_trickle (gpointer data)
{
  Trickle *t = data;
  SoupMessageBody *body = soup_server_message_get_response_body (t->msg);
  gsize size = g_bytes_get_size (t->body);
  gsize n = MIN (t->per_tick, size - t->offset);

  if (!t->finished && t->break_at > 0 && t->offset >= t->break_at)
    {
      /* A server that dies in the middle of the song. */
      g_autoptr (GIOStream) connection = soup_server_message_steal_connection (t->msg);

      t->finished = TRUE;
      if (connection != NULL)
        g_io_stream_close (connection, NULL, NULL);
    }
  if (!t->finished && t->offset < size)
    {
      if (n > 0)
        {
          g_autoptr (GBytes) chunk = g_bytes_new_from_bytes (t->body, t->offset, n);

          soup_message_body_append_bytes (body, chunk);
          t->offset += n;
        }
      if (t->offset == size)
        soup_message_body_complete (body);
      soup_server_message_unpause (t->msg);
      return G_SOURCE_CONTINUE;
    }
  drop_timer (t->s);
  return G_SOURCE_REMOVE;
}

static void
trickle_free (gpointer data)
{
  Trickle *t = data;

  g_signal_handlers_disconnect_by_data (t->msg, t);
  g_object_unref (t->msg);
  g_bytes_unref (t->body);
  g_free (t);
}

/* Serves @body at @rate bytes a second, with a Content-Length (and byte
 * ranges, as web servers do: a demuxer looks at the end first) or chunked. */
static void
serve_slowly (SongServer *s, SoupServerMessage *msg, const char *type, GBytes *body, gsize rate,
              gboolean chunked, gsize break_at)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  goffset total = (goffset) g_bytes_get_size (body);
  Trickle *t = g_new0 (Trickle, 1);
  SoupRange *ranges = NULL;
  int n_ranges = 0;

  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_content_type (headers, type, NULL);
  if (chunked)
    {
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      body = g_bytes_ref (body);
    }
  else
    {
      soup_message_headers_replace (headers, "Accept-Ranges", "bytes");
      if (soup_message_headers_get_ranges (request, total, &ranges, &n_ranges) && n_ranges == 1)
        {
          soup_server_message_set_status (msg, 206, NULL);
          soup_message_headers_set_content_range (headers, ranges[0].start, ranges[0].end, total);
          body = g_bytes_new_from_bytes (body, (gsize) ranges[0].start,
                                         (gsize) (ranges[0].end - ranges[0].start + 1));
        }
      else
        body = g_bytes_ref (body);
      if (ranges != NULL)
        soup_message_headers_free_ranges (request, ranges);
      soup_message_headers_set_content_length (headers, (goffset) g_bytes_get_size (body));
    }
  t->s = s;
  t->msg = g_object_ref (msg);
  t->body = body;
  t->per_tick = MAX (rate * TICK_MS / 1000, 1);
  t->break_at = break_at;
  add_timer (s, TICK_MS, on_trickle, t, trickle_free);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), t);
  soup_server_message_pause (msg);
}

/* TRUE when the whole response is set; FALSE when it trickles (its timer
 * unpauses it). */
static gboolean
respond (SongServer *s, SoupServerMessage *msg, const char *path)
{
  const char *page = "<!DOCTYPE html><html><body>Not a song</body></html>";

  if (g_str_equal (path, "/song.mp3") || g_str_equal (path, "/again.mp3") ||
      g_str_equal (path, "/late.mp3"))
    serve_slowly (s, msg, "audio/mpeg", s->song, SLOW_RATE, FALSE, 0);
  else if (g_str_equal (path, "/broken.mp3"))
    serve_slowly (s, msg, "audio/mpeg", s->song, SLOW_RATE, FALSE,
                  g_bytes_get_size (s->song) / BROKEN_PART);
  else if (g_str_has_prefix (path, "/fast-"))
    serve_slowly (s, msg, "audio/mpeg", s->song, 4 << 20, FALSE, 0);
  else if (g_str_equal (path, "/big.ogg"))
    serve_slowly (s, msg, "audio/ogg", s->big, 1 << 20, FALSE, 0);
  else if (g_str_equal (path, "/big-chunked.ogg"))
    serve_slowly (s, msg, "application/octet-stream", s->big, 1 << 20, TRUE, 0);
  else if (g_str_equal (path, "/page.html") || g_str_equal (path, "/disguised.ogg"))
    {
      /* An HTML page, named as one or as a download. */
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, g_str_equal (path, "/page.html")
                                               ? "text/html" : "application/octet-stream",
                                        SOUP_MEMORY_STATIC, page, strlen (page));
      return TRUE;
    }
  else
    {
      soup_server_message_set_status (msg, 404, NULL);
      return TRUE;
    }
  return FALSE;
}

/* A response that starts later: held, then answered as respond() would,
 * unless the client went meanwhile. */
typedef struct
{
  SongServer *s;
  SoupServerMessage *msg;
  char *path;
  gboolean gone;
} Later;

static void
on_later_gone (SoupServerMessage *msg, Later *later)
{
  later->gone = TRUE;
}

static gboolean
on_later (gpointer data)
{
  Later *later = data;

  g_signal_handlers_disconnect_by_data (later->msg, later);
  if (!later->gone && respond (later->s, later->msg, later->path))
    soup_server_message_unpause (later->msg);
  drop_timer (later->s);
  return G_SOURCE_REMOVE;
}

static void
later_free (gpointer data)
{
  Later *later = data;

  g_signal_handlers_disconnect_by_data (later->msg, later);
  g_object_unref (later->msg);
  g_free (later->path);
  g_free (later);
}

static void
respond_later (SongServer *s, SoupServerMessage *msg, const char *path, guint ms)
{
  Later *later = g_new0 (Later, 1);

  later->s = s;
  later->msg = g_object_ref (msg);
  later->path = g_strdup (path);
  g_signal_connect (msg, "finished", G_CALLBACK (on_later_gone), later);
  soup_server_message_pause (msg);
  add_timer (s, ms, on_later, later, later_free);
}

/*
 * /late.mp3 answers LATE_MS late. A request for a URL the cache refuses
 * that is not the cache's own (a room's stream, as roomcast made before it
 * waited for the cache's verdict) is answered ROOM_LAG_MS late: on a busy
 * machine a pipeline's source asks after the cache did, and was stopped by
 * the refusal in the middle of its request (the crash of GStreamer 1.22's
 * souphttpsrc that the sanitizer pass saw); this makes that the rule.
 */
static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer data)
{
  SongServer *s = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *agent = soup_message_headers_get_one (headers, "User-Agent");
  gboolean from_cache = agent != NULL && strstr (agent, "roomcast-song-cache") != NULL;

  g_hash_table_insert (s->requests, g_strdup (path),
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (s->requests, path)) + 1));
  if (g_str_equal (path, "/late.mp3"))
    respond_later (s, msg, path, LATE_MS * rc_test_slowdown ());
  else if (!from_cache && (g_str_equal (path, "/missing.ogg") || g_str_equal (path, "/page.html")
                           || g_str_equal (path, "/disguised.ogg") || g_str_equal (path, "/big.ogg")))
    respond_later (s, msg, path, ROOM_LAG_MS * rc_test_slowdown ());
  else
    respond (s, msg, path);
}

static guint
requests_for (SongServer *s, const char *path)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (s->requests, path));
}

static char *
song_url (SongServer *s, const char *path)
{
  return g_strconcat (s->base_url, path, NULL);
}

/*
 * The song is an MP3, not the Ogg Vorbis of the other tests: oggdemux,
 * reading an HTTP stream, checks the duration by reading on to the last
 * page before it plays, so a slow Ogg would start only once it has all
 * arrived (docs/architecture.md, the song cache).
 */
static void
write_mp3 (const char *path)
{
  g_autofree char *description = g_strdup_printf (
    "audiotestsrc freq=%f num-buffers=%d samplesperbuffer=1600 "
    "! audio/x-raw,rate=16000,channels=1 ! lamemp3enc target=bitrate bitrate=32 cbr=true "
    "! filesink location=\"%s\"", SONG_HZ, SONG_SECONDS * 10, path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static SongServer *
song_server_new (const char *dir)
{
  SongServer *s = g_new0 (SongServer, 1);
  g_autofree char *path = g_build_filename (dir, "tone.mp3", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSList) listeners = NULL;
  char *data = NULL;
  gsize length = 0;
  guint8 *big = g_malloc (BIG_BYTES);

  write_mp3 (path);
  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  s->song = g_bytes_new_take (data, length);
  for (guint i = 0; i < BIG_BYTES; i++)
    big[i] = (guint8) g_random_int ();
  memcpy (big, "OggS", 4);
  s->big = g_bytes_new_take (big, BIG_BYTES);
  s->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->timers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  s->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (s->server, NULL, on_request, s, NULL);
  /* soup_server_listen_local would leak its listener's address (libsoup
   * 3.2.3, fixed upstream); this is how rc_server.c listens. */
  g_assert_true (soup_server_listen (s->server, address, 0, &error));
  g_assert_no_error (error);
  listeners = soup_server_get_listeners (s->server);
  local = g_socket_get_local_address (listeners->data, &error);
  g_assert_no_error (error);
  s->base_url = g_strdup_printf ("http://127.0.0.1:%u",
                                 g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  g_test_message ("song: %zu bytes, served at %u bytes/s (%.1f s)", length, SLOW_RATE,
                  (double) length / SLOW_RATE);
  return s;
}

static void
song_server_free (SongServer *s)
{
  /* A response still trickling (a stream roomcast was reading when it
   * stopped) must not run on into the next test. */
  g_autoptr (GPtrArray) timers = g_steal_pointer (&s->timers);

  for (guint i = 0; i < timers->len; i++)
    g_source_destroy (timers->pdata[i]);
  soup_server_disconnect (s->server);
  g_object_unref (s->server);
  g_bytes_unref (s->song);
  g_bytes_unref (s->big);
  g_hash_table_unref (s->requests);
  g_free (s->base_url);
  g_free (s);
}

/* ---- the cache folder on disk ---------------------------------------------- */

/* Bytes of song files (whole and partial) in @dir: all but the index and lock. */
static guint64
songs_on_disk (const char *dir, guint *parts)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint64 total = 0;

  *parts = 0;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;

      if (g_str_equal (name, "index.json") || g_str_equal (name, "lock") ||
          g_str_has_prefix (name, "index.json.") || g_stat (path, &st) != 0)
        continue;
      total += (guint64) st.st_size;
      if (g_str_has_suffix (name, ".part"))
        (*parts)++;
    }
  return total;
}

/* The cache's whole copy of @url (named by its SHA-256) is in @dir. */
static gboolean
is_cached (const char *dir, const char *url)
{
  g_autofree char *name = g_compute_checksum_for_string (G_CHECKSUM_SHA256, url, -1);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

/* ---- fixture ------------------------------------------------------------------ */

typedef struct
{
  char *dir;       /* music dir (empty) and the tone's source */
  char *cache_dir; /* --cache-dir */
  SongServer *songs;
  RcTestServer *server;
} Fixture;

static RcTestServer *
start_roomcast (Fixture *f)
{
  g_autofree char *max = g_strdup_printf ("%d", CACHE_MAX);
  const char *args[] = { "--cache-dir", f->cache_dir, "--cache-max-bytes", max, NULL };

  return rc_test_server_start (args);
}

/* The song server alone: the cache is made in this process. */
static void
fixture_setup_local (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("rc-url-cache-XXXXXX", NULL);
  f->cache_dir = g_build_filename (f->dir, "cache", NULL);
  f->songs = song_server_new (f->dir);
}

static void
fixture_teardown_local (Fixture *f, gconstpointer data)
{
  song_server_free (f->songs);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->cache_dir);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("rc-url-cache-XXXXXX", NULL);
  f->cache_dir = g_build_filename (f->dir, "cache", NULL);
  f->songs = song_server_new (f->dir);
  f->server = start_roomcast (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  song_server_free (f->songs);
  rc_test_music_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->cache_dir);
}

static char *
new_room (RcTestServer *server, const char *name)
{
  g_autoptr (JsonObject) room = rc_test_create_room (server, name, NULL);

  return g_strdup (rc_test_str (room, "id"));
}

static RcTestWs *
add_url (RcTestServer *server, const char *room_id, const char *url)
{
  RcTestWs *ws = rc_test_ws_join (server, room_id, "DJ", NULL, NULL, NULL);
  g_autofree char *request = g_strdup_printf ("{\"type\":\"addSong\",\"url\":\"%s\"}", url);
  g_autoptr (JsonObject) reply = rc_test_ws_command (ws, request);

  g_assert_cmpstr (rc_test_str (reply, "type"), ==, "queueUpdated");
  return ws;
}

static gboolean
hears_tone (RcNativeGuest *guest)
{
  gsize frames = 0;
  g_autofree gint16 *pcm = rc_native_guest_get_recent_pcm (guest, 200, &frames);
  double freq = 0, rms = 0;

  if (frames < 48000 / 5 - 960)
    return FALSE;
  rc_test_audio_analyse_s16 (pcm, frames, &freq, &rms);
  return rc_test_audio_is_tone (freq, rms, SONG_HZ);
}

/*
 * A native guest listens to @room_id (silence at first); the song is added;
 * returns the ms from the addSong to the tone heard. @while_fetching: the
 * cache must still be fetching the song when the guest hears it.
 */
static double
time_to_first_audio (Fixture *f, RcTestServer *server, const char *room_id, const char *url,
                     gboolean while_fetching)
{
  RcNativeGuestOptions options = {
    .server_url = server->base_url, .room_id = room_id, .name = "Ear", .keep_pcm = TRUE,
  };
  g_autoptr (RcNativeGuest) guest = rc_native_guest_new (&options);
  g_autoptr (RcTestWs) dj = NULL;
  RcNativeGuestStats stats = { 0 };
  g_autoptr (JsonObject) reply = NULL;
  gint64 added;
  double heard;

  g_assert_true (RC_WAIT_UNTIL ((rc_native_guest_get_stats (guest, &stats), stats.frames > 9600)
                                  || rc_native_guest_get_failure (guest) != NULL,
                                20000 * rc_test_slowdown ()));
  g_assert_null (rc_native_guest_get_failure (guest));
  added = g_get_monotonic_time ();
  dj = add_url (server, room_id, url);
  g_assert_true (RC_WAIT_UNTIL (hears_tone (guest), 30000 * rc_test_slowdown ()));
  heard = (g_get_monotonic_time () - added) / 1000.0;
  g_test_message ("heard after %.0f ms; cached by then: %d", heard, is_cached (f->cache_dir, url));
  if (while_fetching)
    g_assert_false (is_cached (f->cache_dir, url));
  /* The room stops: the next room's play starts on its own. */
  reply = rc_test_ws_command (dj, "{\"type\":\"pause\"}");
  g_assert_false (json_object_get_boolean_member (reply, "playing"));
  return heard;
}

/* ---- tests ------------------------------------------------------------------ */

/* The first room plays the cache's download while it fills, from the one
 * request; a second room, and a room after a restart, play from the cache
 * without fetching again, and start sooner than the song trickles in. */
static void
test_second_room_plays_from_cache (Fixture *f, gconstpointer data)
{
  g_autofree char *url = song_url (f->songs, "/song.mp3");
  g_autofree char *first_room = new_room (f->server, "First");
  g_autofree char *second_room = NULL;
  g_autofree char *third_room = NULL;
  double first_ms, second_ms, restarted_ms;
  guint fetches, parts;
  g_autofree char *load = NULL;

  first_ms = time_to_first_audio (f, f->server, first_room, url, TRUE);
  g_assert_true (RC_WAIT_UNTIL (is_cached (f->cache_dir, url), 60000 * rc_test_slowdown ()));
  g_assert_cmpuint (songs_on_disk (f->cache_dir, &parts), ==, g_bytes_get_size (f->songs->song));
  g_assert_cmpuint (parts, ==, 0);
  /* Fetched once: the first room played the cache's download as it grew. */
  fetches = requests_for (f->songs, "/song.mp3");
  g_assert_cmpuint (fetches, ==, 1);

  second_room = new_room (f->server, "Second");
  second_ms = time_to_first_audio (f, f->server, second_room, url, FALSE);
  g_assert_cmpuint (requests_for (f->songs, "/song.mp3"), ==, fetches);

  /* The index survives a restart. */
  g_assert_cmpint (rc_test_server_stop (f->server), ==, 0);
  rc_test_server_free (f->server);
  f->server = start_roomcast (f);
  third_room = new_room (f->server, "Third");
  restarted_ms = time_to_first_audio (f, f->server, third_room, url, FALSE);
  g_assert_cmpuint (requests_for (f->songs, "/song.mp3"), ==, fetches);

  g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);
  g_test_message ("time to first audio: while caching %.0f ms, from the cache "
                  "%.0f ms, from the cache after a restart %.0f ms (load average %s)",
                  first_ms, second_ms, restarted_ms, load != NULL ? g_strstrip (load) : "?");
}

static JsonObject *
expect_refusal (RcTestWs *ws, int code, const char *url)
{
  JsonObject *error = rc_test_ws_expect_error (ws, code, 30000 * rc_test_slowdown ());

  g_assert_cmpstr (rc_test_str (error, "url"), ==, url);
  g_assert_false (json_object_has_member (error, "id"));
  return error;
}

/* A 404, an HTML page (by its type, and by its bytes), and songs larger
 * than the cache are refused with their codes, told to the guest who
 * queued them; a dead link queued again is refused at once. The room
 * never opens what the cache refuses by its answer (requested once each,
 * though the room's own request would be answered late: ROOM_LAG_MS). */
static void
test_refusals (Fixture *f, gconstpointer data)
{
  g_autofree char *room = new_room (f->server, "Refusals");
  const struct
  {
    const char *path;
    int code;
  } cases[] = {
    { "/missing.ogg", RC_ERROR_URL_FETCH_FAILED },
    { "/page.html", RC_ERROR_URL_NOT_AUDIO },
    { "/disguised.ogg", RC_ERROR_URL_NOT_AUDIO },
    { "/big.ogg", RC_ERROR_URL_TOO_LARGE },
    { "/big-chunked.ogg", RC_ERROR_URL_TOO_LARGE },
  };
  g_autoptr (RcTestWs) other = rc_test_ws_join (f->server, room, "Other", NULL, NULL, NULL);
  g_autofree char *dead = song_url (f->songs, "/missing.ogg");
  g_autofree char *request = g_strdup_printf ("{\"type\":\"addSong\",\"url\":\"%s\"}", dead);
  g_autoptr (JsonObject) reply = NULL;
  guint parts;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = song_url (f->songs, cases[i].path);
      g_autoptr (RcTestWs) ws = add_url (f->server, room, url);
      g_autoptr (JsonObject) error = expect_refusal (ws, cases[i].code, url);

      g_test_message ("%s: %s", cases[i].path, rc_test_str (error, "message"));
      g_assert_false (is_cached (f->cache_dir, url));
    }
  /* Nobody else was told; the room carries on and answers. */
  rc_test_run_for (300);
  for (JsonObject *o; (o = rc_test_ws_next (other, 10)) != NULL; json_object_unref (o))
    g_assert_cmpstr (rc_test_str (o, "type"), !=, "error");
  reply = rc_test_ws_command (other, request);
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, RC_ERROR_URL_FETCH_FAILED);
  /* What the cache refused by its answer was never opened by the room's
   * pipeline: only the cache asked for it (the chunked one, accepted by its
   * first bytes, the room may have streamed before it outgrew the cache). */
  for (guint i = 0; i < G_N_ELEMENTS (cases) - 1; i++)
    g_assert_cmpuint (requests_for (f->songs, cases[i].path), ==, 1);
  g_assert_cmpuint (songs_on_disk (f->cache_dir, &parts), ==, 0);
  g_assert_cmpuint (parts, ==, 0);
}

/* A room whose first songs are a 404 and an HTML page, then a song whose
 * server takes LATE_MS to answer, skipped while it waits, then a song: the
 * guest listening hears the last one. None of the first three was opened
 * by the room's pipeline (each was requested once, by the cache): a URL
 * plays only once the cache has accepted it, so no HTTP source in the room
 * is torn down in the middle of a refused or unanswered request; the
 * waiting song's position holds at 0 for every guest. */
static void
test_waits_for_acceptance (Fixture *f, gconstpointer data)
{
  g_autofree char *room = new_room (f->server, "Waits");
  RcNativeGuestOptions options = {
    .server_url = f->server->base_url, .room_id = room, .name = "Ear", .keep_pcm = TRUE,
  };
  g_autoptr (RcNativeGuest) guest = rc_native_guest_new (&options);
  g_autoptr (RcTestWs) watcher = rc_test_ws_join (f->server, room, "Watcher", NULL, NULL, NULL);
  const char *paths[] = { "/missing.ogg", "/page.html", "/late.mp3", "/song.mp3" };
  RcTestWs *by[G_N_ELEMENTS (paths)];
  RcNativeGuestStats stats = { 0 };
  g_autoptr (JsonObject) reply = NULL;
  guint held = 0;
  gint64 deadline;

  g_assert_true (RC_WAIT_UNTIL ((rc_native_guest_get_stats (guest, &stats), stats.frames > 9600)
                                  || rc_native_guest_get_failure (guest) != NULL,
                                20000 * rc_test_slowdown ()));
  g_assert_null (rc_native_guest_get_failure (guest));
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *url = song_url (f->songs, paths[i]);

      by[i] = add_url (f->server, room, url);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *url = song_url (f->songs, paths[i]);
      g_autoptr (JsonObject) error
        = expect_refusal (by[i], i == 0 ? RC_ERROR_URL_FETCH_FAILED : RC_ERROR_URL_NOT_AUDIO, url);
    }
  /* The late song is current and waits: its position stays 0 across the
   * heartbeats, and nobody hears it. */
  deadline = g_get_monotonic_time () + (gint64) LATE_MS * 1000 * rc_test_slowdown () / 2;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (watcher, 100);
      JsonObject *song;

      if (o == NULL || g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") != 0 ||
          json_object_get_int_member (o, "index") != 2)
        continue;
      song = json_object_get_object_member (o, "song");
      g_assert_true (g_str_has_suffix (json_object_get_string_member (song, "url"), "/late.mp3"));
      g_assert_cmpfloat (json_object_get_double_member (o, "position"), ==, 0.0);
      g_assert_true (json_object_get_boolean_member (o, "playing"));
      held++;
    }
  g_assert_cmpuint (held, >=, 2);
  g_assert_false (hears_tone (guest));
  g_assert_cmpuint (requests_for (f->songs, "/late.mp3"), ==, 1);
  reply = rc_test_ws_command (by[2], "{\"type\":\"skip\"}");
  g_assert_cmpstr (rc_test_str (reply, "type"), !=, "error");
  g_assert_true (RC_WAIT_UNTIL (hears_tone (guest), 30000 * rc_test_slowdown ()));
  /* The late server answers meanwhile: the skipped song stays skipped
   * (the last one may end meanwhile under ASan and load: index -1). */
  deadline = g_get_monotonic_time () + (gint64) LATE_MS * 1000 * rc_test_slowdown ();
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (watcher, 100);

      if (o != NULL && g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0)
        g_assert_cmpint (json_object_get_int_member (o, "index"), !=, 2);
    }
  g_assert_cmpuint (requests_for (f->songs, "/missing.ogg"), ==, 1);
  g_assert_cmpuint (requests_for (f->songs, "/page.html"), ==, 1);
  g_assert_cmpuint (requests_for (f->songs, "/late.mp3"), ==, 1);
  g_assert_cmpuint (requests_for (f->songs, "/song.mp3"), ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    rc_test_ws_free (by[i]);
}

/* The song's server dies a quarter into it while the room plays the
 * download: the room plays what had arrived, the guest who queued it is
 * told (4210), nothing of it stays in the cache, and the next song plays. */
static void
test_broken_while_playing (Fixture *f, gconstpointer data)
{
  g_autofree char *room = new_room (f->server, "Broken");
  g_autofree char *broken = song_url (f->songs, "/broken.mp3");
  g_autofree char *next = song_url (f->songs, "/fast-next.mp3");
  RcNativeGuestOptions options = {
    .server_url = f->server->base_url, .room_id = room, .name = "Ear", .keep_pcm = TRUE,
  };
  g_autoptr (RcNativeGuest) guest = rc_native_guest_new (&options);
  g_autoptr (RcTestWs) watcher = rc_test_ws_join (f->server, room, "Watcher", NULL, NULL, NULL);
  g_autoptr (RcTestWs) dj = NULL;
  g_autoptr (RcTestWs) dj2 = NULL;
  g_autoptr (JsonObject) error = NULL;
  RcNativeGuestStats stats = { 0 };
  gboolean moved_on = FALSE;
  guint parts;
  gint64 deadline;

  g_assert_true (RC_WAIT_UNTIL ((rc_native_guest_get_stats (guest, &stats), stats.frames > 9600)
                                  || rc_native_guest_get_failure (guest) != NULL,
                                20000 * rc_test_slowdown ()));
  g_assert_null (rc_native_guest_get_failure (guest));
  dj = add_url (f->server, room, broken);
  dj2 = add_url (f->server, room, next);
  g_assert_true (RC_WAIT_UNTIL (hears_tone (guest), 30000 * rc_test_slowdown ()));
  g_assert_false (is_cached (f->cache_dir, broken));
  error = expect_refusal (dj, RC_ERROR_URL_FETCH_FAILED, broken);
  /* A quarter of the song is SONG_SECONDS / BROKEN_PART of audio; then the
   * next song is current, and heard. */
  deadline = g_get_monotonic_time ()
             + (SONG_SECONDS / BROKEN_PART + 15) * G_USEC_PER_SEC * rc_test_slowdown ();
  while (!moved_on && g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonObject) o = rc_test_ws_next (watcher, 100);

      moved_on = o != NULL && g_strcmp0 (rc_test_str (o, "type"), "stateUpdate") == 0
                 && json_object_get_int_member (o, "index") == 1
                 && json_object_get_boolean_member (o, "playing");
    }
  g_assert_true (moved_on);
  g_assert_true (RC_WAIT_UNTIL (hears_tone (guest), 10000 * rc_test_slowdown ()));
  g_assert_cmpuint (requests_for (f->songs, "/broken.mp3"), ==, 1);
  g_assert_false (is_cached (f->cache_dir, broken));
  g_assert_true (RC_WAIT_UNTIL (is_cached (f->cache_dir, next), 10000 * rc_test_slowdown ()));
  g_assert_cmpuint (songs_on_disk (f->cache_dir, &parts), ==, g_bytes_get_size (f->songs->song));
  g_assert_cmpuint (parts, ==, 0);
}

/* A download of unknown length grows past the cache: the least recently
 * played song is deleted to make room, the download is refused when it
 * outgrows the whole cache, and at no moment does the folder hold more
 * than the bound. */
static void
test_bound_on_disk (Fixture *f, gconstpointer data)
{
  g_autofree char *room = new_room (f->server, "Bound");
  g_autofree char *song = song_url (f->songs, "/again.mp3");
  g_autofree char *big = song_url (f->songs, "/big-chunked.ogg");
  g_autoptr (RcTestWs) first = add_url (f->server, room, song);
  g_autoptr (RcTestWs) second = NULL;
  g_autoptr (JsonObject) error = NULL;
  guint64 most = 0;
  guint parts, samples = 0;
  gint64 deadline;

  g_assert_true (RC_WAIT_UNTIL (is_cached (f->cache_dir, song), 60000 * rc_test_slowdown ()));
  second = add_url (f->server, room, big);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC * rc_test_slowdown ();
  while (error == NULL && g_get_monotonic_time () < deadline)
    {
      JsonObject *o = rc_test_ws_next (second, 1);

      most = MAX (most, songs_on_disk (f->cache_dir, &parts));
      samples++;
      if (o != NULL && g_strcmp0 (rc_test_str (o, "type"), "error") == 0)
        error = g_steal_pointer (&o);
      g_clear_pointer (&o, json_object_unref);
    }
  g_test_message ("largest folder seen: %" G_GUINT64_FORMAT " bytes in %u samples (bound %d)",
                  most, samples, CACHE_MAX);
  g_assert_nonnull (error);
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, RC_ERROR_URL_TOO_LARGE);
  g_assert_cmpuint (most, <=, CACHE_MAX);
  g_assert_cmpuint (most, >, g_bytes_get_size (f->songs->song));
  /* The growing download took the older song's place, and left nothing. */
  g_assert_false (is_cached (f->cache_dir, song));
  g_assert_true (RC_WAIT_UNTIL (songs_on_disk (f->cache_dir, &parts) == 0, 5000));
  g_assert_cmpuint (parts, ==, 0);
}

/* What the cache takes for audio: by type, then by the first bytes. */
static void
test_sniff (void)
{
  const char *audio_types[] = { NULL, "", "audio/mpeg", "AUDIO/OGG", "video/webm",
                                "application/ogg", "application/octet-stream" };
  const char *other_types[] = { "text/html", "text/plain", "application/json", "image/png",
                                "application/xhtml+xml", "multipart/form-data" };
  const struct
  {
    const char *bytes;
    gsize length;
    gboolean audio;
  } heads[] = {
    { "OggS\0\2", 6, TRUE },
    { "fLaC\0\0\0\x22", 8, TRUE },
    { "ID3\4\0\0", 6, TRUE },
    { "\xff\xfb\x90\x64", 4, TRUE },            /* MPEG-1 layer III */
    { "\xff\xf1\x50\x80", 4, TRUE },            /* ADTS AAC */
    { "RIFF\x24\0\0\0WAVEfmt ", 16, TRUE },
    { "\0\0\0\x20" "ftypM4A ", 12, TRUE },
    { "\x1a\x45\xdf\xa3", 4, TRUE },
    { "<!DOCTYPE html>", 15, FALSE },
    { "{\"error\":1}", 11, FALSE },
    { "RIFF\x24\0\0\0AVI LIST", 16, FALSE },   /* a RIFF that is not WAVE */
    { "\xff\xfb\xf0\x64", 4, FALSE },           /* bitrate index 15: not a frame */
    { "Ogg", 3, FALSE },
    { "", 0, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (audio_types); i++)
    g_assert_true (rc_audio_sniff_content_type (audio_types[i]));
  for (guint i = 0; i < G_N_ELEMENTS (other_types); i++)
    g_assert_false (rc_audio_sniff_content_type (other_types[i]));
  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    g_assert_cmpint (rc_audio_sniff_bytes ((const guint8 *) heads[i].bytes, heads[i].length), ==,
                     heads[i].audio);
}

typedef struct
{
  guint ended;
  int code; /* of the last refusal; 0: cached */
} Ended;

static void
on_download_ended (const char *url, RcUrlCacheEvent event, const GError *error, gpointer data)
{
  Ended *ended = data;

  if (event != RC_URL_CACHE_ENDED)
    return;

  ended->ended++;
  ended->code = error != NULL ? error->code : 0;
}

/* Asks @cache for @path's song and waits for the whole of it. */
static void
cache_song (Fixture *f, RcUrlCache *cache, Ended *ended, const char *path)
{
  g_autofree char *url = song_url (f->songs, path);
  const GError *refusal = NULL;
  g_autofree char *uri = rc_url_cache_lookup (cache, url, &refusal);
  guint before = ended->ended;

  g_assert_null (uri);
  g_assert_null (refusal);
  g_assert_true (RC_WAIT_UNTIL (ended->ended > before, 30000 * rc_test_slowdown ()));
  g_assert_cmpint (ended->code, ==, 0);
  g_assert_true (is_cached (f->cache_dir, url));
  g_assert_cmpuint (rc_url_cache_get_used_bytes (cache), <=, rc_url_cache_get_max_bytes (cache));
}

static gboolean
cached_path (Fixture *f, const char *path)
{
  g_autofree char *url = song_url (f->songs, path);

  return is_cached (f->cache_dir, url);
}

/* The least recently played song goes first, not the oldest download; a
 * restart with a smaller bound drops the least recently played songs. */
static void
test_least_recently_played_first (Fixture *f, gconstpointer data)
{
  gsize song = g_bytes_get_size (f->songs->song);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcUrlCache) cache = rc_url_cache_new (f->cache_dir, song * 2 + 1000, &error);
  g_autoptr (RcUrlCache) second = NULL;
  g_autofree char *a = song_url (f->songs, "/fast-a.mp3");
  g_autofree char *uri = NULL;
  const GError *refusal = NULL;
  Ended ended = { 0 };
  guint parts;

  g_assert_no_error (error);
  rc_url_cache_add_listener (cache, on_download_ended, &ended);
  cache_song (f, cache, &ended, "/fast-a.mp3");
  cache_song (f, cache, &ended, "/fast-b.mp3");
  rc_test_run_for (20);
  /* A plays again: B is now the least recently played. */
  uri = rc_url_cache_lookup (cache, a, &refusal);
  g_assert_nonnull (uri);
  g_assert_true (g_str_has_prefix (uri, "file:///"));
  rc_test_run_for (20);
  cache_song (f, cache, &ended, "/fast-c.mp3");
  g_assert_true (cached_path (f, "/fast-a.mp3"));
  g_assert_false (cached_path (f, "/fast-b.mp3"));
  g_assert_true (cached_path (f, "/fast-c.mp3"));
  g_assert_cmpuint (songs_on_disk (f->cache_dir, &parts), ==, song * 2);

  /* A second process is kept out of the folder. */
  second = rc_url_cache_new (f->cache_dir, song * 2 + 1000, &error);
  g_assert_null (second);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);

  /* Restarted with room for one song: A, played before C, goes. */
  g_clear_pointer (&cache, rc_url_cache_free);
  cache = rc_url_cache_new (f->cache_dir, song + 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rc_url_cache_get_used_bytes (cache), ==, song);
  g_assert_false (cached_path (f, "/fast-a.mp3"));
  g_assert_true (cached_path (f, "/fast-c.mp3"));
  g_assert_cmpuint (songs_on_disk (f->cache_dir, &parts), ==, song);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  rc_test_init (&argc, &argv);
  g_test_add_func ("/url-cache/sniff", test_sniff);
  g_test_add ("/url-cache/least-recently-played-first", Fixture, NULL, fixture_setup_local,
              test_least_recently_played_first, fixture_teardown_local);
  g_test_add ("/url-cache/second-room-from-cache", Fixture, NULL, fixture_setup,
              test_second_room_plays_from_cache, fixture_teardown);
  g_test_add ("/url-cache/refusals", Fixture, NULL, fixture_setup, test_refusals,
              fixture_teardown);
  g_test_add ("/url-cache/waits-for-acceptance", Fixture, NULL, fixture_setup,
              test_waits_for_acceptance, fixture_teardown);
  g_test_add ("/url-cache/broken-while-playing", Fixture, NULL, fixture_setup,
              test_broken_while_playing, fixture_teardown);
  g_test_add ("/url-cache/bound-on-disk", Fixture, NULL, fixture_setup, test_bound_on_disk,
              fixture_teardown);
  return g_test_run ();
}

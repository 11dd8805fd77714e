/* SPDX-License-Identifier: MIT */
/*
 * The room's player. Guests send commands; the player changes its state,
 * tells the pipeline what to mix in, and tells the room what changed. The
 * pipeline never decides anything: when a track ends or fails it reports
 * back, and the player picks what comes next.
 *
 * The queue is one list. Items before `index` were played, `index` is the
 * current song, later items are upcoming; index == queue->len means "no
 * current song" (an empty queue, or the end was reached). Keeping played
 * items makes `previous` and loop-queue simple, and the cap drops them first.
 *
 * Position: the room's timeline runs on the server clock. Paused,
 * `position_ms` is where the song stands; playing, it is the position at
 * the clock time `anchor`, and the song moves on with the clock. While the
 * room's pipeline plays the track (someone listens), the pipeline knows
 * where it is and reports the track's end; with nobody listening there is
 * no pipeline and a timer at the song's library duration ends it, the next
 * song starting exactly where that one ended. When the pipeline comes back
 * it joins the timeline in step (rc_room_pipeline_play_at); when it goes,
 * its position becomes the clock's. A song whose duration is not known (a
 * URL) needs the pipeline to know when it ends: it keeps one while it plays.
 * That part lives in rc_player_clock.c; URL songs and the song cache live
 * in rc_player_url.c; the state they share is in rc_player-private.h.
 *
 * Store keys: room:{id}:player (JSON state, written on every change and once
 * a second while playing), room:{id}:recent (list of song keys recently
 * played, for autoplay). The listeners' history is rc_history.c's; the
 * pipeline's lifetime is the room's (rc_room_ensure_pipeline).
 */
#include "server/rooms/rc_player.h"
#include "server/rooms/rc_player-private.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_history.h"
#include "server/rooms/rc_room.h"
#include "server/core/rc_secret.h"
#include "server/core/rc_text.h"
#include "server/core/rc_validate.h"

#define TICK_MS 1000
#define RECENT_MAX 50
#define PREVIOUS_RESTART_MS 3000

typedef RcPlayerItem Item;

static const char *const loop_names[] = { "off", "track", "queue" };

static void item_free (Item *item);
static void start_current (RcPlayer *self, gint64 position_ms, gboolean fresh);
static void advance (RcPlayer *self, gboolean by_user);
static void halt (RcPlayer *self);

/* ---- items ---------------------------------------------------------------- */

static void
item_free (Item *item)
{
  g_free (item->id);
  g_free (item->song_id);
  g_free (item->url);
  g_free (item->uri);
  g_free (item->title);
  g_free (item->artist);
  g_free (item->album);
  g_free (item->added_by_id);
  g_free (item->added_by_name);
  g_free (item);
}

Item *
rc_player_item_new (const char *by_id, const char *by_name)
{
  Item *item = g_new0 (Item, 1);

  item->id = rc_secret_random_id (8);
  item->added_by_id = g_strdup (by_id);
  item->added_by_name = g_strdup (by_name);
  item->added_at = g_get_real_time () / 1000;
  return item;
}

static Item *
item_from_song (const RcSong *song, const char *by_id, const char *by_name)
{
  Item *item = rc_player_item_new (by_id, by_name);

  item->song_id = g_strdup (song->id);
  item->uri = rc_library_get_uri (song);
  item->title = g_strdup (song->title);
  item->artist = g_strdup (song->artist);
  item->album = g_strdup (song->album);
  item->duration_ms = song->duration_ms;
  return item;
}

static void
set_nullable (JsonObject *o, const char *name, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

static JsonNode *
item_to_json (const Item *item)
{
  JsonObject *o, *by;
  JsonNode *node = rc_json_message_new (NULL, &o);
  JsonNode *by_node = rc_json_message_new (NULL, &by);

  json_object_set_string_member (o, "id", item->id);
  set_nullable (o, "songId", item->song_id);
  set_nullable (o, "url", item->url);
  json_object_set_string_member (o, "title", item->title);
  set_nullable (o, "artist", item->artist);
  set_nullable (o, "album", item->album);
  json_object_set_double_member (o, "duration", item->duration_ms / 1000.0);
  json_object_set_string_member (by, "id", item->added_by_id);
  json_object_set_string_member (by, "name", item->added_by_name);
  json_object_set_member (o, "addedBy", by_node);
  json_object_set_int_member (o, "addedAt", item->added_at);
  return node;
}

/* The stored form adds what clients never see (the URI). */
static JsonNode *
item_to_store (const Item *item)
{
  JsonNode *node = item_to_json (item);

  json_object_set_string_member (json_node_get_object (node), "uri", item->uri);
  return node;
}

/* A stored item; only one without a URI (nothing to play) is dropped. Other
 * bad fields take their defaults and are named in @bad. */
static Item *
item_from_store (JsonObject *o, GPtrArray *bad)
{
  const char *uri = rc_json_read_string (o, "uri", bad);
  const char *id = rc_json_read_string (o, "id", bad);
  const char *title = rc_json_read_string (o, "title", bad);
  JsonObject *by = rc_json_read_object (o, "addedBy", bad);
  const char *by_id = by != NULL ? rc_json_read_string (by, "id", bad) : NULL;
  const char *by_name = by != NULL ? rc_json_read_string (by, "name", bad) : NULL;
  Item *item;

  if (uri == NULL)
    {
      rc_json_note_bad (bad, "uri (item dropped)");
      return NULL;
    }
  if (id == NULL)
    rc_json_note_bad (bad, "id");
  if (title == NULL)
    rc_json_note_bad (bad, "title");
  if (by_id == NULL || by_name == NULL)
    rc_json_note_bad (bad, "addedBy");
  item = g_new0 (Item, 1);
  item->id = id != NULL ? g_strdup (id) : rc_secret_random_id (8);
  item->uri = g_strdup (uri);
  item->title = title != NULL ? g_strdup (title) : g_path_get_basename (uri);
  item->song_id = g_strdup (rc_json_read_string (o, "songId", bad));
  item->url = g_strdup (rc_json_read_string (o, "url", bad));
  item->artist = g_strdup (rc_json_read_string (o, "artist", bad));
  item->album = g_strdup (rc_json_read_string (o, "album", bad));
  item->duration_ms =
    (gint64) (rc_json_read_number (o, "duration", 0, 1e9, 0, bad) * 1000.0);
  item->added_by_id = g_strdup (by_id != NULL ? by_id : "");
  item->added_by_name = g_strdup (by_name != NULL ? by_name : "");
  item->added_at = rc_json_read_int (o, "addedAt", 0, G_MAXINT64, 0, bad);
  return item;
}

/* What identifies a song for autoplay and history: library id, else URL. */
static const char *
item_key (const Item *item)
{
  return item->song_id != NULL ? item->song_id : item->url;
}

static Item *
current (RcPlayer *self)
{
  return rc_player_current_item (self);
}

/* ---- telling the room and the store --------------------------------------- */

JsonNode *
rc_player_queue_json (RcPlayer *self)
{
  JsonArray *array = json_array_sized_new (self->queue->len);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < self->queue->len; i++)
    json_array_add_element (array, item_to_json (self->queue->pdata[i]));
  json_node_take_array (node, array);
  return node;
}

static void
fill_state (RcPlayer *self, JsonObject *o)
{
  Item *item = current (self);
  gint64 pos = item != NULL ? rc_player_position_now (self) : 0;

  if (item != NULL && item->duration_ms > 0)
    pos = CLAMP (pos, 0, item->duration_ms);
  json_object_set_member (o, "song", item != NULL ? item_to_json (item) : json_node_new (JSON_NODE_NULL));
  json_object_set_int_member (o, "index", item != NULL ? (gint64) self->index : -1);
  json_object_set_int_member (o, "played", MIN (self->index, self->queue->len));
  json_object_set_double_member (o, "position", pos / 1000.0);
  json_object_set_double_member (o, "duration", item != NULL ? item->duration_ms / 1000.0 : 0.0);
  json_object_set_boolean_member (o, "playing", self->playing);
  json_object_set_string_member (o, "loop", loop_names[self->loop]);
  json_object_set_boolean_member (o, "autoplay", self->autoplay);
  json_object_set_int_member (o, "serverTime", g_get_real_time () / 1000);
}

JsonNode *
rc_player_now_playing_json (RcPlayer *self)
{
  Item *item = current (self);
  JsonObject *o;
  JsonNode *node;

  if (item == NULL)
    return json_node_new (JSON_NODE_NULL);
  node = rc_json_message_new (NULL, &o);
  json_object_set_string_member (o, "title", item->title);
  set_nullable (o, "artist", item->artist);
  json_object_set_boolean_member (o, "playing", self->playing);
  return node;
}

const char *
rc_player_get_current_title (RcPlayer *self)
{
  Item *item = current (self);

  return item ? item->title : NULL;
}

JsonNode *
rc_player_state_json (RcPlayer *self)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  fill_state (self, o);
  return node;
}

JsonNode *
rc_player_state_message (RcPlayer *self)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new ("stateUpdate", &o);

  fill_state (self, o);
  return node;
}

JsonNode *
rc_player_queue_message (RcPlayer *self)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new ("queueUpdated", &o);
  Item *item = current (self);

  json_object_set_member (o, "queue", rc_player_queue_json (self));
  json_object_set_int_member (o, "index", item != NULL ? (gint64) self->index : -1);
  json_object_set_int_member (o, "played", MIN (self->index, self->queue->len));
  return node;
}

static char *
store_key (RcPlayer *self, const char *suffix)
{
  return g_strdup_printf ("room:%s:%s", rc_room_get_id (self->room), suffix);
}

static void
save (RcPlayer *self)
{
  g_autofree char *key = store_key (self, "player");
  JsonObject *o;
  g_autoptr (JsonNode) node = rc_json_message_new (NULL, &o);
  JsonArray *queue = json_array_sized_new (self->queue->len);
  g_autofree char *text = NULL;

  for (guint i = 0; i < self->queue->len; i++)
    json_array_add_element (queue, item_to_store (self->queue->pdata[i]));
  json_object_set_array_member (o, "queue", queue);
  json_object_set_int_member (o, "index", self->index);
  json_object_set_int_member (o, "positionMs", current (self) ? rc_player_position_now (self) : 0);
  json_object_set_boolean_member (o, "playing", self->playing);
  json_object_set_string_member (o, "loop", loop_names[self->loop]);
  json_object_set_boolean_member (o, "autoplay", self->autoplay);
  json_object_set_int_member (o, "savedAt", g_get_real_time () / 1000);
  text = rc_json_to_string (node);
  rc_store_set (self->store, key, text);
}

static void
broadcast_state (RcPlayer *self)
{
  g_autoptr (JsonNode) message = rc_player_state_message (self);

  rc_room_broadcast (self->room, message, NULL);
}

static void
broadcast_queue (RcPlayer *self)
{
  g_autoptr (JsonNode) message = rc_player_queue_message (self);

  rc_room_broadcast (self->room, message, NULL);
}

static void
notify (RcPlayer *self, const char *kind, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
notify (RcPlayer *self, const char *kind, const char *format, ...)
{
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("notification", &o);
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  json_object_set_string_member (o, "kind", kind);
  json_object_set_string_member (o, "text", text);
  rc_room_broadcast (self->room, message, NULL);
}

/* ---- what the pipeline reports (the room owns its lifetime) --------------- */

void
rc_player_song_ended (RcPlayer *self)
{
  self->failures = 0;
  if (self->loop == RC_LOOP_TRACK && current (self) != NULL)
    start_current (self, 0, FALSE);
  else
    advance (self, FALSE);
  save (self);
  broadcast_state (self);
}

static void
on_track_ended (RcRoomPipeline *pipeline, gpointer data)
{
  rc_player_song_ended (data);
}

void
rc_player_on_track_failed (RcRoomPipeline *pipeline, const GError *error, gpointer data)
{
  RcPlayer *self = data;
  Item *item = current (self);

  g_message ("Room %s: could not play %s: %s", rc_room_get_id (self->room),
             item ? item->uri : "(nothing)", error ? error->message : "unknown error");
  if (item != NULL)
    notify (self, "error", "Could not play %s; skipped", item->title);
  /* Every item failing in a row (a looped queue of dead links) stops the room
   * rather than spinning through it forever. */
  if (++self->failures > self->queue->len)
    {
      self->failures = 0;
      self->position_ms = 0;
      halt (self);
    }
  else
    advance (self, FALSE);
  save (self);
  broadcast_state (self);
}

/* Takes the tag @name from @tags into *@field when it says something new. */
static gboolean
take_tag (const GstTagList *tags, const char *name, char **field)
{
  g_autofree char *value = NULL;
  g_autofree char *clean = NULL;

  if (!gst_tag_list_get_string (tags, name, &value))
    return FALSE;
  clean = rc_text_sanitize (value, RC_PLAYER_TITLE_CHARS);
  if (*clean == '\0' || g_strcmp0 (clean, *field) == 0)
    return FALSE;
  g_free (*field);
  *field = g_steal_pointer (&clean);
  return TRUE;
}

static void
on_track_tags (RcRoomPipeline *pipeline, const GstTagList *tags, gpointer data)
{
  RcPlayer *self = data;
  Item *item = current (self);
  gboolean changed = FALSE;

  /* Library songs have their tags already; URLs learn theirs as they play. */
  if (item == NULL || item->url == NULL)
    return;
  changed |= take_tag (tags, GST_TAG_TITLE, &item->title);
  changed |= take_tag (tags, GST_TAG_ARTIST, &item->artist);
  changed |= take_tag (tags, GST_TAG_ALBUM, &item->album);
  if (!changed)
    return;
  save (self);
  broadcast_queue (self);
  broadcast_state (self);
}

static const RcRoomPipelineCallbacks pipeline_callbacks = {
  .track_ended = on_track_ended,
  .track_failed = rc_player_on_track_failed,
  .track_tags = on_track_tags,
};

const RcRoomPipelineCallbacks *
rc_player_get_pipeline_callbacks (void)
{
  return &pipeline_callbacks;
}

gboolean
rc_player_is_playing (RcPlayer *self)
{
  return self->playing;
}

/* A song started from its beginning: remember it for the room (autoplay) and
 * in the history of everyone listening. */
static void
record_played (RcPlayer *self, const Item *item)
{
  const char *song_key = item_key (item);
  JsonObject *o;
  g_autoptr (JsonNode) entry = NULL;
  g_autofree char *recent_key = store_key (self, "recent");
  GList *link;

  if (song_key == NULL)
    return;
  link = g_queue_find_custom (&self->recent, song_key, (GCompareFunc) g_strcmp0);
  if (link != NULL)
    {
      g_free (link->data);
      g_queue_delete_link (&self->recent, link);
    }
  g_queue_push_head (&self->recent, g_strdup (song_key));
  while (self->recent.length > RECENT_MAX)
    g_free (g_queue_pop_tail (&self->recent));
  rc_store_list_push (self->store, recent_key, song_key, RECENT_MAX);

  entry = rc_json_message_new (NULL, &o);
  set_nullable (o, "songId", item->song_id);
  set_nullable (o, "url", item->url);
  json_object_set_string_member (o, "title", item->title);
  set_nullable (o, "artist", item->artist);
  rc_history_record (self->room, entry);
}

/* ---- playback --------------------------------------------------------------- */

/* Every playing room's 1 s tick (save, stateUpdate) comes from one timer:
 * a wake-up a second for the whole server. A timer per room woke the main
 * loop once per room a second, and each wake-up polls every socket on it,
 * so 1,000 rooms cost O(rooms²) (docs/benchmarks.md, issue 14). */
static GHashTable *ticking; /* RcPlayer* set, borrowed */
static guint ticking_id;

static gboolean
on_tick (gpointer data)
{
  g_autofree gpointer *players = NULL;
  guint n = 0;

  /* A room's tick may end another's (a store write-out failing, say):
   * each is looked up again before it runs. */
  players = g_hash_table_get_keys_as_array (ticking, &n);
  for (guint i = 0; i < n; i++)
    {
      RcPlayer *self = players[i];

      if (!g_hash_table_contains (ticking, self))
        continue;
      save (self);
      if (rc_room_get_guest_count (self->room) > 0)
        broadcast_state (self);
    }
  return G_SOURCE_CONTINUE;
}

static void
set_ticking (RcPlayer *self, gboolean on)
{
  if (on)
    {
      if (ticking == NULL)
        ticking = g_hash_table_new (NULL, NULL);
      g_hash_table_add (ticking, self);
      if (ticking_id == 0)
        ticking_id = g_timeout_add (TICK_MS, on_tick, NULL);
    }
  else if (ticking != NULL && g_hash_table_remove (ticking, self)
           && g_hash_table_size (ticking) == 0)
    g_clear_handle_id (&ticking_id, g_source_remove);
}

/* The 1 s tick while playing, and the song's end on the clock. */
static void
update_timers (RcPlayer *self)
{
  set_ticking (self, self->playing);
  rc_player_clock_update (self);
}

/* Plays the current item from @position_ms; @fresh: a new song, not a
 * resume. The timeline starts now (or where the last song ended on the
 * clock); a pipeline, if the room has one, plays it as soon as it can. */
static void
start_current (RcPlayer *self, gint64 position_ms, gboolean fresh)
{
  Item *item = current (self);
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);

  if (item != NULL && pipeline == NULL && item->duration_ms <= 0)
    {
      /* Only decoding tells where a song of unknown length ends. */
      self->starting = TRUE;
      pipeline = rc_room_ensure_pipeline (self->room, NULL);
      self->starting = FALSE;
      if (pipeline == NULL)
        item = NULL;
    }
  if (item == NULL)
    {
      self->playing = FALSE;
      self->position_ms = 0;
      if (pipeline != NULL)
        rc_room_pipeline_stop_track (pipeline);
      update_timers (self);
      rc_room_idle_pipeline (self->room);
      return;
    }
  self->playing = TRUE;
  self->position_ms = position_ms;
  self->anchor = self->next_anchor != 0 ? self->next_anchor : rc_clock_now ();
  if (pipeline != NULL)
    rc_player_play_item (self, pipeline, item, position_ms, GST_CLOCK_TIME_NONE);
  if (fresh && position_ms == 0)
    record_played (self, item);
  update_timers (self);
  /* A song of unknown length may have kept a pipeline nobody hears. */
  rc_room_idle_pipeline (self->room);
}

/* Leaves the current song where it is, silent. */
static void
halt (RcPlayer *self)
{
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);

  if (pipeline != NULL && rc_room_pipeline_has_track (pipeline))
    rc_room_pipeline_stop_track (pipeline);
  self->playing = FALSE;
  self->url_waiting = FALSE;
  update_timers (self);
  rc_room_idle_pipeline (self->room);
}

/* Autoplay: a library song not played recently in this room, by the same
 * artist as the last song when there is one, else any. */
static Item *
autoplay_pick (RcPlayer *self)
{
  g_autoptr (GPtrArray) songs = NULL;
  g_autoptr (GPtrArray) fresh = g_ptr_array_new ();
  g_autoptr (GPtrArray) same_artist = g_ptr_array_new ();
  const char *artist = NULL;
  GPtrArray *pool;
  RcSong *pick;
  guint total = 0;

  if (self->library == NULL)
    return NULL;
  songs = rc_library_list (self->library, 0, G_MAXUINT, &total);
  if (songs->len == 0)
    return NULL;
  if (self->queue->len > 0)
    {
      Item *last = self->queue->pdata[self->queue->len - 1];

      artist = last->artist;
    }
  for (guint i = 0; i < songs->len; i++)
    {
      RcSong *song = songs->pdata[i];

      if (g_queue_find_custom (&self->recent, song->id, (GCompareFunc) g_strcmp0) != NULL)
        continue;
      g_ptr_array_add (fresh, song);
      if (artist != NULL && song->artist != NULL && g_str_equal (song->artist, artist))
        g_ptr_array_add (same_artist, song);
    }
  if (same_artist->len > 0)
    pool = same_artist;
  else if (fresh->len > 0)
    pool = fresh;
  else
    {
      /* Everything was played lately: the least recent one. */
      const char *oldest = g_queue_peek_tail (&self->recent);

      for (guint i = 0; i < songs->len; i++)
        if (g_strcmp0 (((RcSong *) songs->pdata[i])->id, oldest) == 0)
          return item_from_song (songs->pdata[i], "autoplay", "Autoplay");
      pool = songs;
    }
  pick = pool->pdata[g_random_int_range (0, (gint32) pool->len)];
  return item_from_song (pick, "autoplay", "Autoplay");
}

/* Drops played items from the front so the queue has room for one more. */
static gboolean
make_room (RcPlayer *self)
{
  if (self->queue->len < RC_PLAYER_QUEUE_MAX)
    return TRUE;
  if (self->index == 0)
    return FALSE;
  g_ptr_array_remove_index (self->queue, 0);
  self->index--;
  return TRUE;
}

static void
append (RcPlayer *self, Item *item)
{
  gboolean was_at_end = current (self) == NULL;

  g_ptr_array_add (self->queue, item);
  if (was_at_end)
    self->index = self->queue->len - 1;
}

/* To the next song: the next item, the first again with loop queue, or
 * autoplay's pick. At the very end the room stops with no current song. */
static void
advance (RcPlayer *self, gboolean by_user)
{
  gboolean was_playing = self->playing || !by_user;

  if (self->index + 1 < self->queue->len)
    self->index++;
  else if (self->loop == RC_LOOP_QUEUE && self->queue->len > 0)
    self->index = 0;
  else
    {
      Item *pick = self->autoplay ? autoplay_pick (self) : NULL;

      if (pick != NULL && make_room (self))
        {
          g_ptr_array_add (self->queue, pick);
          self->index = self->queue->len - 1;
          broadcast_queue (self);
        }
      else
        {
          if (pick != NULL)
            item_free (pick);
          self->index = self->queue->len;
          self->position_ms = 0;
          halt (self);
          return;
        }
    }
  self->position_ms = 0;
  if (was_playing)
    start_current (self, 0, TRUE);
  else
    halt (self);
}

void
rc_player_play (RcPlayer *self)
{
  if (self->playing)
    return;
  if (current (self) == NULL)
    {
      if (self->queue->len > 0 && self->index >= self->queue->len && self->loop == RC_LOOP_QUEUE)
        self->index = 0;
      else if (self->queue->len > 0 && self->index >= self->queue->len)
        {
          /* The end was reached: play again from autoplay's pick, or stay. */
          Item *pick = self->autoplay ? autoplay_pick (self) : NULL;

          if (pick == NULL || !make_room (self))
            {
              if (pick != NULL)
                item_free (pick);
              return;
            }
          g_ptr_array_add (self->queue, pick);
          self->index = self->queue->len - 1;
          broadcast_queue (self);
          self->position_ms = 0;
        }
      else
        {
          Item *pick = self->autoplay ? autoplay_pick (self) : NULL;

          if (pick == NULL)
            return;
          g_ptr_array_add (self->queue, pick);
          self->index = self->queue->len - 1;
          broadcast_queue (self);
          self->position_ms = 0;
        }
    }
  self->failures = 0;
  start_current (self, self->position_ms, self->position_ms == 0);
  save (self);
  broadcast_state (self);
}

void
rc_player_pause (RcPlayer *self)
{
  if (!self->playing)
    return;
  self->position_ms = rc_player_position_now (self);
  halt (self);
  save (self);
  broadcast_state (self);
}

void
rc_player_skip (RcPlayer *self)
{
  Item *item = current (self);

  if (item == NULL && !self->playing)
    return;
  self->failures = 0;
  advance (self, TRUE);
  save (self);
  broadcast_state (self);
}

void
rc_player_previous (RcPlayer *self)
{
  guint before = self->index;

  if (self->queue->len == 0)
    return;
  if (current (self) != NULL && rc_player_position_now (self) <= PREVIOUS_RESTART_MS && self->index > 0)
    self->index--;
  else if (current (self) == NULL)
    self->index = self->queue->len - 1;
  self->position_ms = 0;
  if (self->playing)
    start_current (self, 0, self->index != before);
  save (self);
  broadcast_state (self);
}

gboolean
rc_player_seek (RcPlayer *self, double seconds, GError **error)
{
  Item *item = current (self);
  gint64 ms = (gint64) (seconds * 1000.0);

  if (item == NULL)
    {
      rc_error_set (error, RC_ERROR_NOTHING_PLAYING);
      return FALSE;
    }
  if (seconds < 0 || (item->duration_ms > 0 && ms >= item->duration_ms))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                   "\"position\" must be from 0 to below the song's duration (%.3f s)",
                   item->duration_ms / 1000.0);
      return FALSE;
    }
  self->position_ms = ms;
  if (self->playing)
    start_current (self, ms, FALSE);
  save (self);
  broadcast_state (self);
  return TRUE;
}

gboolean
rc_player_parse_loop (const char *name, RcLoopMode *mode)
{
  for (guint i = 0; i < G_N_ELEMENTS (loop_names); i++)
    if (g_strcmp0 (name, loop_names[i]) == 0)
      {
        *mode = (RcLoopMode) i;
        return TRUE;
      }
  return FALSE;
}

void
rc_player_set_loop (RcPlayer *self, RcLoopMode mode)
{
  self->loop = mode;
  save (self);
  broadcast_state (self);
}

void
rc_player_set_autoplay (RcPlayer *self, gboolean enabled)
{
  self->autoplay = enabled;
  save (self);
  broadcast_state (self);
}

/* ---- queue ------------------------------------------------------------------ */

gboolean
rc_player_queue_item (RcPlayer *self, Item *item, GError **error)
{
  gboolean start;

  if (!make_room (self))
    {
      item_free (item);
      rc_error_set (error, RC_ERROR_QUEUE_FULL);
      return FALSE;
    }
  start = !self->playing && current (self) == NULL;
  append (self, item);
  notify (self, "add", "%s added %s", item->added_by_name, item->title);
  if (start)
    {
      self->failures = 0;
      start_current (self, 0, TRUE);
    }
  save (self);
  broadcast_queue (self);
  broadcast_state (self);
  return TRUE;
}

gboolean
rc_player_add_song (RcPlayer *self, RcGuest *by, const char *song_id, GError **error)
{
  RcSong *song = self->library != NULL ? rc_library_lookup (self->library, song_id) : NULL;

  if (song == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_NOT_FOUND, "No song with that id");
      return FALSE;
    }
  return rc_player_queue_item (self, item_from_song (song, by->id, by->name), error);
}

gboolean
rc_player_remove (RcPlayer *self, gint64 index, GError **error)
{
  gboolean was_current;

  if (self->queue->len == 0)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "The queue is empty");
      return FALSE;
    }
  if (index < 0 || index >= self->queue->len)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "\"index\" must be from 0 to %u",
                   self->queue->len - 1);
      return FALSE;
    }
  was_current = (guint) index == self->index;
  g_ptr_array_remove_index (self->queue, (guint) index);
  if ((guint) index < self->index)
    self->index--;
  if (was_current)
    {
      /* The item now at index is the next one (or none). */
      self->position_ms = 0;
      if (self->playing && current (self) != NULL)
        start_current (self, 0, TRUE);
      else if (self->playing)
        {
          self->index = self->queue->len;
          halt (self);
        }
    }
  save (self);
  broadcast_queue (self);
  broadcast_state (self);
  return TRUE;
}

gboolean
rc_player_move (RcPlayer *self, gint64 from, gint64 to, GError **error)
{
  gpointer item;
  Item *playing_item = current (self);

  if (self->queue->len == 0)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "The queue is empty");
      return FALSE;
    }
  if (from < 0 || from >= self->queue->len || to < 0 || to >= self->queue->len)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                   "\"from\" and \"to\" must be from 0 to %u", self->queue->len - 1);
      return FALSE;
    }
  item = g_ptr_array_steal_index (self->queue, (guint) from);
  g_ptr_array_insert (self->queue, (gint) to, item);
  if (playing_item != NULL)
    {
      guint i;

      g_ptr_array_find (self->queue, playing_item, &i);
      self->index = i;
    }
  save (self);
  broadcast_queue (self);
  broadcast_state (self);
  return TRUE;
}

void
rc_player_set_live (RcPlayer *self, gboolean live)
{
  if (live)
    {
      self->resume_after_live = self->playing;
      if (self->playing)
        rc_player_pause (self);
      return;
    }
  if (self->resume_after_live)
    {
      self->resume_after_live = FALSE;
      rc_player_play (self);
    }
}

/* ---- room membership and life cycle ------------------------------------------- */

static gboolean
on_empty_pause (gpointer data)
{
  RcPlayer *self = data;

  self->empty_pause_id = 0;
  if (self->playing && rc_room_get_guest_count (self->room) == 0)
    {
      g_message ("Room %s: nobody here for %u s; pausing", rc_room_get_id (self->room),
                 self->empty_pause_s);
      rc_player_pause (self);
      notify (self, "pause", "Paused: nobody was listening");
    }
  return G_SOURCE_REMOVE;
}

void
rc_player_guests_changed (RcPlayer *self)
{
  if (rc_room_get_guest_count (self->room) > 0)
    g_clear_handle_id (&self->empty_pause_id, g_source_remove);
  else if (self->empty_pause_id == 0)
    self->empty_pause_id = g_timeout_add_seconds (self->empty_pause_s, on_empty_pause, self);
}

RcPlayer *
rc_player_new (RcRoom *room, RcStore *store, RcLibrary *library, guint empty_pause_s)
{
  RcPlayer *self = g_new0 (RcPlayer, 1);

  self->empty_pause_s = MAX (empty_pause_s, 1);
  self->room = room;
  self->store = rc_store_ref (store);
  self->library = library;
  self->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  self->autoplay = TRUE;
  g_queue_init (&self->recent);
  return self;
}

void
rc_player_free (RcPlayer *self)
{
  if (self == NULL)
    return;
  set_ticking (self, FALSE);
  g_clear_handle_id (&self->end_id, g_source_remove);
  g_clear_handle_id (&self->empty_pause_id, g_source_remove);
  rc_player_set_url_cache (self, NULL);
  g_clear_handle_id (&self->refused_id, g_source_remove);
  g_clear_handle_id (&self->accepted_id, g_source_remove);
  g_free (self->accepted_url);
  g_ptr_array_unref (self->queue);
  g_queue_clear_full (&self->recent, g_free);
  rc_store_unref (self->store);
  g_free (self);
}

static void
restore_queue (RcPlayer *self, JsonArray *queue, GPtrArray *bad)
{
  g_autoptr (GPtrArray) inner = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (queue) && i < RC_PLAYER_QUEUE_MAX; i++)
    {
      JsonNode *node = json_array_get_element (queue, i);
      Item *item = JSON_NODE_HOLDS_OBJECT (node)
                     ? item_from_store (json_node_get_object (node), inner) : NULL;

      if (item != NULL)
        g_ptr_array_add (self->queue, item);
      else if (!JSON_NODE_HOLDS_OBJECT (node))
        rc_json_note_bad (inner, "(item dropped: not an object)");
    }
  rc_json_note_bad_all (bad, "queue[].", inner);
}

/*
 * Field by field, as rc_room_new_from_state does: an older build's numbers
 * are repaired, a field of the wrong type or out of range takes its default
 * (logged once), and the rest of the state survives.
 */
void
rc_player_restore (RcPlayer *self, const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = rc_json_parse_stored (json, &error);
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  const char *room_id = rc_room_get_id (self->room);
  JsonObject *o;
  JsonArray *queue;
  const char *loop_name;
  RcLoopMode loop;
  gboolean playing;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_warning ("Room %s: stored player state is not a JSON object (%s); starting empty",
                 room_id, error != NULL ? error->message : "wrong type");
      return;
    }
  o = json_node_get_object (root);
  if ((queue = rc_json_read_array (o, "queue", bad)) != NULL)
    restore_queue (self, queue, bad);
  self->index = (guint) rc_json_read_int (o, "index", 0, self->queue->len, 0, bad);
  self->position_ms = rc_json_read_int (o, "positionMs", 0, G_MAXINT64, 0, bad);
  loop_name = rc_json_read_string (o, "loop", bad);
  if (rc_player_parse_loop (loop_name, &loop))
    self->loop = loop;
  else if (loop_name != NULL)
    rc_json_note_bad (bad, "loop");
  self->autoplay = rc_json_read_boolean (o, "autoplay", TRUE, bad);
  playing = rc_json_read_boolean (o, "playing", FALSE, bad);
  rc_json_warn_bad (bad, "Room %s (room:%s:player)", room_id, room_id);
  if (playing && current (self) != NULL)
    {
      g_message ("Room %s: resuming %s at %.1f s", room_id, current (self)->title,
                 self->position_ms / 1000.0);
      start_current (self, self->position_ms, FALSE);
      /* Nobody is here yet; the usual empty-room pause applies. */
      rc_player_guests_changed (self);
    }
}

void
rc_player_restore_recent (RcPlayer *self, GPtrArray *keys)
{
  /* The stored list is oldest first. */
  for (guint i = 0; i < keys->len; i++)
    g_queue_push_head (&self->recent, g_strdup (keys->pdata[i]));
}

void
rc_player_erase (RcPlayer *self)
{
  g_autofree char *player = store_key (self, "player");
  g_autofree char *recent = store_key (self, "recent");

  rc_store_del (self->store, player);
  rc_store_del (self->store, recent);
}

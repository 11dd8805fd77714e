/* SPDX-License-Identifier: MIT */
/*
 * A room's URL songs and the song cache, split from rc_player.c to keep it
 * to one job. A guest adds an http(s) URL, or a file: URL inside the music
 * folder; a web URL starts the song cache's download at once
 * (rc_url_cache_lookup), and one the cache refused lately is not queued.
 * The pipeline plays the cache's whole copy when it has one, else its
 * download as it grows once the cache has accepted it (until the
 * response's status, type and first bytes pass, the song waits, silent,
 * its position held), else (the cache gave up on it) the URL itself. When
 * the cache refuses a URL, every guest here who queued it is told, and
 * the current song, if it waits for that one, fails from an idle as a
 * track would (one already playing plays what had arrived, then fails)
 * (rc_player_on_track_failed). The state is the player's
 * (rc_player-private.h). Main context only.
 */
#include <stdlib.h>

#include "server/rooms/rc_player-private.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_error.h"
#include "server/core/rc_text.h"
#include "server/rooms/rc_room.h"

typedef RcPlayerItem Item;

/* file: URLs must name something inside the music dir. */
static gboolean
file_url_allowed (RcPlayer *self, GUri *uri)
{
  const char *dir = self->library ? rc_library_get_music_dir (self->library) : NULL;
  g_autofree char *real_dir = NULL;
  g_autofree char *real_file = NULL;
  g_autofree char *prefix = NULL;
  const char *path = g_uri_get_path (uri);
  const char *host = g_uri_get_host (uri);

  if (dir == NULL || path == NULL || *path != '/')
    return FALSE;
  if (host != NULL && *host != '\0' && !g_str_equal (host, "localhost"))
    return FALSE;
  real_dir = realpath (dir, NULL);
  real_file = realpath (path, NULL);
  if (real_dir == NULL)
    return FALSE;
  if (real_file == NULL)
    {
      /* A file that does not exist (yet): judge the folder it would be in. */
      g_autofree char *parent = g_path_get_dirname (path);
      g_autofree char *real_parent = realpath (parent, NULL);
      g_autofree char *base = g_path_get_basename (path);

      if (real_parent == NULL || g_str_equal (base, "..") || g_str_equal (base, "."))
        return FALSE;
      real_file = g_build_filename (real_parent, base, NULL);
    }
  prefix = g_strconcat (real_dir, "/", NULL);
  return g_str_has_prefix (real_file, prefix);
}

/* ---- URL songs and the song cache ------------------------------------------- */

static gboolean
is_web_url (const char *url)
{
  return url != NULL && (g_ascii_strncasecmp (url, "http:", 5) == 0 ||
                         g_ascii_strncasecmp (url, "https:", 6) == 0);
}

/* Starts the cache's download; FALSE when the cache refused @url lately. */
static gboolean
fetch_url (RcPlayer *self, const char *url, GError **error)
{
  const GError *refusal = NULL;
  g_autofree char *cached = NULL;

  if (self->url_cache == NULL || !is_web_url (url))
    return TRUE;
  cached = rc_url_cache_lookup (self->url_cache, url, &refusal);
  if (refusal != NULL)
    g_propagate_error (error, g_error_copy (refusal));
  return refusal == NULL;
}

static gboolean
on_refused_idle (gpointer data)
{
  RcPlayer *self = data;
  Item *item = rc_player_current_item (self);
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);
  const GError *refusal = NULL;
  g_autofree char *cached = NULL;

  self->refused_id = 0;
  if (item == NULL || !self->playing || pipeline == NULL || self->url_cache == NULL ||
      !is_web_url (item->url))
    return G_SOURCE_REMOVE;
  cached = rc_url_cache_lookup (self->url_cache, item->url, &refusal);
  if (refusal != NULL)
    {
      self->url_waiting = FALSE;
      rc_player_on_track_failed (pipeline, refusal, self);
    }
  return G_SOURCE_REMOVE;
}

/* The pipeline starts @item: the cache's whole copy (@cached), else the
 * download in progress, else the URI itself. */
static void
start_track (RcPlayer *self, RcRoomPipeline *pipeline, Item *item, const char *cached,
             gint64 position_ms, GstClockTime due_at)
{
  g_autofree char *growing = NULL;
  const char *uri = cached;

  if (uri == NULL && self->url_cache != NULL && is_web_url (item->url))
    uri = growing = rc_url_cache_get_growing (self->url_cache, item->url);
  if (uri == NULL)
    uri = item->uri;
  if (GST_CLOCK_TIME_IS_VALID (due_at))
    rc_room_pipeline_play_at (pipeline, uri, position_ms, due_at);
  else
    rc_room_pipeline_play (pipeline, uri, position_ms);
}

/* The current URL song waited for the cache, which has now accepted it (or
 * ended its download): it starts where it waited, the timeline from now.
 * Not asking the cache again whether it is accepted: a download the cache
 * gave up on after accepting it (full of other downloads) is forgotten,
 * and the song streams. */
static gboolean
on_accepted_idle (gpointer data)
{
  RcPlayer *self = data;
  Item *item = rc_player_current_item (self);
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);
  const GError *refusal = NULL;
  g_autofree char *cached = NULL;
  g_autofree char *accepted = g_steal_pointer (&self->accepted_url);

  self->accepted_id = 0;
  if (item == NULL || !self->playing || !self->url_waiting || pipeline == NULL
      || g_strcmp0 (item->url, accepted) != 0)
    return G_SOURCE_REMOVE;
  self->url_waiting = FALSE;
  cached = rc_url_cache_lookup (self->url_cache, item->url, &refusal);
  if (refusal != NULL)
    {
      rc_player_on_track_failed (pipeline, refusal, self);
      return G_SOURCE_REMOVE;
    }
  self->anchor = rc_clock_now ();
  start_track (self, pipeline, item, cached, self->position_ms, GST_CLOCK_TIME_NONE);
  return G_SOURCE_REMOVE;
}

/*
 * What the pipeline plays for @item: the cache's whole copy of a URL song,
 * else, once the cache has accepted it, its download as it grows. Until
 * then the room plays nothing: a URL that answers 404, or HTML, never
 * reaches the pipeline. A URL the cache refused plays nothing and fails
 * as a track would.
 */
void
rc_player_play_item (RcPlayer *self, RcRoomPipeline *pipeline, RcPlayerItem *item,
                     gint64 position_ms, GstClockTime due_at)
{
  const GError *refusal = NULL;
  g_autofree char *cached = NULL;
  gboolean web = self->url_cache != NULL && is_web_url (item->url);

  self->url_waiting = FALSE;
  if (web)
    cached = rc_url_cache_lookup (self->url_cache, item->url, &refusal);
  if (refusal == NULL && (cached != NULL || !web || rc_url_cache_want_now (self->url_cache,
                                                                              item->url)))
    {
      start_track (self, pipeline, item, cached, position_ms, due_at);
      return;
    }
  if (rc_room_pipeline_has_track (pipeline))
    rc_room_pipeline_stop_track (pipeline);
  if (refusal == NULL)
    {
      /* Not accepted yet: the position holds until it is (on_url_event). */
      self->url_waiting = TRUE;
      self->position_ms = position_ms;
      return;
    }
  if (self->refused_id == 0)
    self->refused_id = g_idle_add (on_refused_idle, self);
}

/* Tells each guest here who queued @url that the cache refused it. */
static void
tell_refusal (RcPlayer *self, const char *url, const GError *error)
{
  g_autoptr (GHashTable) told = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < self->queue->len; i++)
    {
      Item *it = self->queue->pdata[i];
      RcGuest *guest;

      if (g_strcmp0 (it->url, url) != 0 || !g_hash_table_add (told, it->added_by_id))
        continue;
      guest = rc_room_find_guest (self->room, it->added_by_id);
      if (guest != NULL)
        {
          g_autoptr (JsonNode) message = rc_error_to_json (error->code, error->message, NULL);

          json_object_set_string_member (json_node_get_object (message), "url", url);
          guest->send (guest, message, guest->send_data);
        }
    }
}

/*
 * The cache accepted @url, or ended its download. A current song that
 * waits for it starts from an idle, or, refused, fails from an idle. A
 * refusal after acceptance (a chunked song that outgrows the cache, the
 * cache's connection breaking) is told; a song already playing its
 * download plays what had arrived, then its track fails
 * (pipelines/rc_growing_file.h).
 */
static void
on_url_event (const char *url, RcUrlCacheEvent event, const GError *error, gpointer data)
{
  RcPlayer *self = data;
  Item *item = rc_player_current_item (self);
  gboolean current_url = item != NULL && self->playing && g_strcmp0 (item->url, url) == 0;
  gboolean refused = event == RC_URL_CACHE_ENDED && error != NULL && error->domain == RC_ERROR;

  if (refused)
    tell_refusal (self, url, error);
  if (!current_url || !self->url_waiting)
    return;
  if (refused && self->refused_id == 0)
    self->refused_id = g_idle_add (on_refused_idle, self);
  else if (!refused)
    {
      g_free (self->accepted_url);
      self->accepted_url = g_strdup (url);
      if (self->accepted_id == 0)
        self->accepted_id = g_idle_add (on_accepted_idle, self);
    }
}

void
rc_player_set_url_cache (RcPlayer *self, RcUrlCache *cache)
{
  if (self->url_cache != NULL)
    rc_url_cache_remove_listener (self->url_cache, self->url_listener);
  self->url_cache = cache;
  self->url_listener = cache != NULL ? rc_url_cache_add_listener (cache, on_url_event, self) : 0;
}

gboolean
rc_player_add_url (RcPlayer *self, RcGuest *by, const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  g_autofree char *base = NULL;
  g_autofree char *title = NULL;
  Item *item;

  if (uri == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "\"url\" is not a valid URL");
      return FALSE;
    }
  if (g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "https") == 0)
    {
      if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
        {
          g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "\"url\" has no host");
          return FALSE;
        }
    }
  else if (g_ascii_strcasecmp (scheme, "file") == 0)
    {
      if (!file_url_allowed (self, uri))
        {
          g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                               "\"url\": file URLs must point inside the music folder");
          return FALSE;
        }
    }
  else
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "\"url\" must be an http, https or file URL");
      return FALSE;
    }

  {
    const char *path = g_uri_get_path (uri);

    base = path && *path ? g_path_get_basename (path) : NULL;
    title = rc_text_sanitize (base && !g_str_equal (base, "/") ? base : g_uri_get_host (uri),
                              RC_PLAYER_TITLE_CHARS);
  }
  if (!fetch_url (self, url, error))
    return FALSE;
  item = rc_player_item_new (by->id, by->name);
  item->url = g_strdup (url);
  item->uri = g_strdup (url);
  item->title = *title ? g_steal_pointer (&title) : g_strdup (url);
  return rc_player_queue_item (self, item, error);
}

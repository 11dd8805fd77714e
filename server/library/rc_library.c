/* SPDX-License-Identifier: MIT */
/*
 * The music library: scan --music-dir, read tags and durations with
 * GstDiscoverer, answer list, lookup and search.
 *
 * A scan has two steps and neither blocks the main loop: the folder walk
 * (blocking GIO calls) runs in a GTask worker thread and hands back a plain
 * list of (relative path, mtime, size); then the files whose mtime or size
 * differ from the cache go to one GstDiscoverer in async mode, whose
 * "discovered" signal arrives on the main context one file at a time.
 * Ordering rules: the cache is read from the store before the first walk, so
 * unchanged files are never re-read after a restart; a rescan requested
 * during a scan runs after it, never beside it. Unreadable files are cached
 * too (as unreadable) so they are not retried until they change.
 */
#include "server/library/rc_library.h"
#include "server/core/rc_json.h"
#include "server/library/rc_search.h"

#include <gst/pbutils/pbutils.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (rc_library_debug);
#define GST_CAT_DEFAULT rc_library_debug

#define CACHE_KEY "library:cache"
#define CACHE_VERSION 1
#define DISCOVER_TIMEOUT (15 * GST_SECOND)
#define MAX_DEPTH 32
#define PROGRESS_EVERY 100

static const char *const audio_extensions[] = {
  ".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", NULL,
};

/* What the walk saw of one file. */
typedef struct
{
  char *rel_path;
  gint64 mtime_us;
  gint64 size;
} FileStat;

/* One known file: a song, or NULL when it could not be read. */
typedef struct
{
  gint64 mtime_us;
  gint64 size;
  RcSong *song;
} Entry;

/* The pending store read; cleared when the library goes first. */
typedef struct
{
  RcLibrary *library;
} CacheRead;

struct _RcLibrary
{
  RcStore *store;        /* nullable */
  char *music_dir;       /* NULL: no library */
  GHashTable *entries;   /* rel_path -> Entry* (owned) */
  GHashTable *by_id;     /* song id -> RcSong* (borrowed from entries) */
  GPtrArray *sorted;     /* RcSong* refs in rel_path order; NULL when stale */
  GCancellable *cancellable;
  CacheRead *cache_read; /* nullable */
  GstDiscoverer *discoverer;
  GHashTable *pending;   /* uri -> FileStat* awaiting discovery */
  guint scan_total;      /* files to discover in this scan */
  guint scan_done;
  gint64 last_progress_us;
  guint discovered_count;
  gboolean cache_dirty;
  gboolean started;
  gboolean scanning;
  gboolean rescan_requested;
  gboolean ready;
};

static void scan_begin (RcLibrary *library);

static void
file_stat_free (FileStat *stat)
{
  if (stat == NULL)
    return;
  g_free (stat->rel_path);
  g_free (stat);
}

static void
entry_free (Entry *entry)
{
  g_clear_pointer (&entry->song, rc_song_unref);
  g_free (entry);
}

RcLibrary *
rc_library_new (RcStore *store, const char *music_dir)
{
  RcLibrary *library = g_new0 (RcLibrary, 1);

  GST_DEBUG_CATEGORY_INIT (rc_library_debug, "rclibrary", 0, "roomcast music library");
  library->store = store != NULL ? rc_store_ref (store) : NULL;
  if (music_dir != NULL && *music_dir != '\0')
    {
      g_autoptr (GFile) dir = g_file_new_for_commandline_arg (music_dir);
      library->music_dir = g_file_get_path (dir);
    }
  library->entries =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  library->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  library->pending =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) file_stat_free);
  library->cancellable = g_cancellable_new ();
  return library;
}

void
rc_library_free (RcLibrary *library)
{
  if (library == NULL)
    return;
  g_cancellable_cancel (library->cancellable);
  if (library->cache_read != NULL)
    library->cache_read->library = NULL;
  if (library->discoverer != NULL)
    {
      g_signal_handlers_disconnect_by_data (library->discoverer, library);
      gst_discoverer_stop (library->discoverer);
      gst_object_unref (library->discoverer);
    }
  g_clear_pointer (&library->sorted, g_ptr_array_unref);
  g_hash_table_unref (library->pending);
  g_hash_table_unref (library->by_id);
  g_hash_table_unref (library->entries);
  g_object_unref (library->cancellable);
  g_clear_pointer (&library->store, rc_store_unref);
  g_free (library->music_dir);
  g_free (library);
}

/* Takes @song (may be NULL: unreadable) as the entry of @rel_path. */
static void
set_entry (RcLibrary *library, const char *rel_path, gint64 mtime_us, gint64 size, RcSong *song)
{
  Entry *old = g_hash_table_lookup (library->entries, rel_path);
  Entry *entry = g_new0 (Entry, 1);

  if (old != NULL && old->song != NULL)
    g_hash_table_remove (library->by_id, old->song->id);
  entry->mtime_us = mtime_us;
  entry->size = size;
  entry->song = song;
  g_hash_table_replace (library->entries, g_strdup (rel_path), entry);
  if (song != NULL)
    g_hash_table_replace (library->by_id, song->id, song);
  g_clear_pointer (&library->sorted, g_ptr_array_unref);
}

static void
remove_entry (RcLibrary *library, const char *rel_path)
{
  Entry *old = g_hash_table_lookup (library->entries, rel_path);

  if (old == NULL)
    return;
  if (old->song != NULL)
    g_hash_table_remove (library->by_id, old->song->id);
  g_hash_table_remove (library->entries, rel_path);
  g_clear_pointer (&library->sorted, g_ptr_array_unref);
}

/* ---- the cache in the store ---- */

static void
load_cache (RcLibrary *library, const char *text)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *o, *files;
  JsonObjectIter iter;
  const char *rel_path;
  JsonNode *node;

  root = json_from_string (text, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  o = json_node_get_object (root);
  if (json_object_get_int_member_with_default (o, "version", 0) != CACHE_VERSION
      || g_strcmp0 (json_object_get_string_member_with_default (o, "musicDir", NULL),
                    library->music_dir) != 0
      || !json_object_has_member (o, "files")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "files")))
    return;
  files = json_object_get_object_member (o, "files");
  json_object_iter_init (&iter, files);
  while (json_object_iter_next (&iter, &rel_path, &node))
    {
      JsonObject *e;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      e = json_node_get_object (node);
      if (json_object_get_boolean_member_with_default (e, "unreadable", FALSE))
        set_entry (library, rel_path, json_object_get_int_member_with_default (e, "mtime", 0),
                   json_object_get_int_member_with_default (e, "size", 0), NULL);
      else
        {
          RcSong *song = rc_song_new_from_cache (library->music_dir, rel_path, e);
          if (song != NULL)
            set_entry (library, rel_path, song->mtime_us, song->size, song);
        }
    }
  GST_INFO ("Loaded %u cached entries", g_hash_table_size (library->entries));
}

static void
save_cache (RcLibrary *library)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  JsonObject *o, *files;
  GHashTableIter iter;
  gpointer key, value;

  library->cache_dirty = FALSE;
  if (library->store == NULL)
    return;
  o = json_object_new ();
  files = json_object_new ();
  g_hash_table_iter_init (&iter, library->entries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Entry *entry = value;
      JsonObject *e;

      if (entry->song != NULL)
        e = rc_song_to_cache (entry->song);
      else
        {
          e = json_object_new ();
          json_object_set_int_member (e, "mtime", entry->mtime_us);
          json_object_set_int_member (e, "size", entry->size);
          json_object_set_boolean_member (e, "unreadable", TRUE);
        }
      json_object_set_object_member (files, key, e);
    }
  json_object_set_int_member (o, "version", CACHE_VERSION);
  json_object_set_string_member (o, "musicDir", library->music_dir);
  json_object_set_object_member (o, "files", files);
  json_node_take_object (root, o);
  text = rc_json_to_string (root);
  rc_store_set (library->store, CACHE_KEY, text);
}

static void
on_cache_read (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  CacheRead *read = user_data;
  RcLibrary *library = read->library;

  g_free (read);
  if (library == NULL)
    return; /* freed meanwhile */
  library->cache_read = NULL;
  if (error != NULL)
    g_message ("Library: cache not read (%s); reading every file", error->message);
  else if (value != NULL)
    load_cache (library, value);
  scan_begin (library);
}

/* ---- the folder walk (worker thread: touches nothing of the library) ---- */

#define WALK_ATTRIBUTES                                                                          \
  G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE                              \
  "," G_FILE_ATTRIBUTE_STANDARD_IS_SYMLINK "," G_FILE_ATTRIBUTE_STANDARD_SIZE                    \
  "," G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC

static gboolean
is_audio_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  for (guint i = 0; audio_extensions[i] != NULL; i++)
    if (g_str_has_suffix (lower, audio_extensions[i]))
      return TRUE;
  return FALSE;
}

static void
walk_dir (GFile *root, GFile *dir, guint depth, GPtrArray *out, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (dir, WALK_ATTRIBUTES, G_FILE_QUERY_INFO_NONE,
                                        cancellable, &error);
  if (children == NULL)
    {
      g_message ("Library: cannot read folder %s: %s", g_file_peek_path (dir), error->message);
      return;
    }
  while ((info = g_file_enumerator_next_file (children, cancellable, NULL)) != NULL)
    {
      g_autoptr (GFileInfo) owned = info;
      const char *name = g_file_info_get_name (info);
      g_autoptr (GFile) child = NULL;
      FileStat *stat;

      if (name[0] == '.')
        continue; /* hidden files and folders */
      child = g_file_get_child (dir, name);
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        {
          /* Linked folders can form loops; they are not followed. */
          if (!g_file_info_get_is_symlink (info) && depth < MAX_DEPTH)
            walk_dir (root, child, depth + 1, out, cancellable);
          continue;
        }
      if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR || !is_audio_name (name))
        continue;
      stat = g_new0 (FileStat, 1);
      stat->rel_path = g_file_get_relative_path (root, child);
      if (stat->rel_path == NULL || !g_utf8_validate (stat->rel_path, -1, NULL))
        {
          g_message ("Library: skipping %s: the name is not UTF-8", g_file_peek_path (child));
          file_stat_free (stat);
          continue;
        }
      stat->mtime_us =
        (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED)
          * G_USEC_PER_SEC
        + g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
      stat->size = g_file_info_get_size (info);
      g_ptr_array_add (out, stat);
    }
}

static int
compare_stats (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(FileStat *const *) a)->rel_path, (*(FileStat *const *) b)->rel_path);
}

static void
walk_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GFile) root = g_file_new_for_path (task_data);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) file_stat_free);

  walk_dir (root, root, 0, out, cancellable);
  g_ptr_array_sort (out, compare_stats);
  g_task_return_pointer (task, out, (GDestroyNotify) g_ptr_array_unref);
}

/* ---- discovery (main context) ---- */

/* A tag from the audio stream, else from the container. */
static char *
lookup_tag (GstDiscovererInfo *info, GstDiscovererStreamInfo *audio, const char *tag)
{
  g_autoptr (GstDiscovererStreamInfo) top = gst_discoverer_info_get_stream_info (info);
  const GstTagList *tags = gst_discoverer_stream_info_get_tags (audio);
  char *value = NULL;

  if (tags != NULL && gst_tag_list_get_string (tags, tag, &value))
    return value;
  if (top != NULL && GST_IS_DISCOVERER_CONTAINER_INFO (top))
    {
      tags = gst_discoverer_container_info_get_tags (GST_DISCOVERER_CONTAINER_INFO (top));
      if (tags != NULL && gst_tag_list_get_string (tags, tag, &value))
        return value;
    }
  return NULL;
}

/* The value of an extended comment "KEY=value" or "KEY[lang]=value", or NULL. */
static const char *
comment_value (const char *comment, const char *key)
{
  gsize len = strlen (key);

  if (g_ascii_strncasecmp (comment, key, len) != 0
      || (comment[len] != '=' && comment[len] != '['))
    return NULL;
  comment = strchr (comment + len, '=');
  return comment != NULL ? comment + 1 : NULL;
}

/*
 * Lyrics: GST_TAG_LYRICS (ID3 USLT, MP4), else a LYRICS or UNSYNCEDLYRICS
 * Vorbis comment (Ogg, Opus, FLAC), which GStreamer does not map and passes
 * on as an extended comment.
 */
static char *
lookup_lyrics (GstDiscovererInfo *info, GstDiscovererStreamInfo *audio)
{
  char *lyrics = lookup_tag (info, audio, GST_TAG_LYRICS);
  const GstTagList *tags = gst_discoverer_stream_info_get_tags (audio);
  guint n = tags != NULL ? gst_tag_list_get_tag_size (tags, GST_TAG_EXTENDED_COMMENT) : 0;

  for (guint i = 0; lyrics == NULL && i < n; i++)
    {
      const char *comment = NULL;
      const char *value = NULL;

      if (gst_tag_list_peek_string_index (tags, GST_TAG_EXTENDED_COMMENT, i, &comment))
        value = comment_value (comment, "LYRICS");
      if (value == NULL && comment != NULL)
        value = comment_value (comment, "UNSYNCEDLYRICS");
      if (value != NULL && *value != '\0')
        lyrics = g_strdup (value);
    }
  return lyrics;
}

static RcSong *
song_from_info (RcLibrary *library, const FileStat *stat, GstDiscovererInfo *info,
                const GError *error)
{
  GList *audio = NULL;
  g_autofree char *title = NULL, *artist = NULL, *album = NULL, *lyrics = NULL;
  GstClockTime duration;
  RcSong *song;

  if (gst_discoverer_info_get_result (info) == GST_DISCOVERER_OK)
    audio = gst_discoverer_info_get_audio_streams (info);
  if (audio == NULL)
    {
      g_message ("Library: skipping %s: %s", stat->rel_path,
                 error != NULL ? error->message : "no audio stream");
      return NULL;
    }
  title = lookup_tag (info, audio->data, GST_TAG_TITLE);
  artist = lookup_tag (info, audio->data, GST_TAG_ARTIST);
  album = lookup_tag (info, audio->data, GST_TAG_ALBUM);
  lyrics = lookup_lyrics (info, audio->data);
  gst_discoverer_stream_info_list_free (audio);
  duration = gst_discoverer_info_get_duration (info);
  song = rc_song_new (library->music_dir, stat->rel_path, title, artist, album,
                      GST_CLOCK_TIME_IS_VALID (duration) ? (gint64) (duration / GST_MSECOND) : 0,
                      lyrics, stat->mtime_us, stat->size);
  return song;
}

static void
log_progress (RcLibrary *library)
{
  gint64 now = g_get_monotonic_time ();

  if (library->scan_done != library->scan_total && library->scan_done % PROGRESS_EVERY != 0
      && now - library->last_progress_us < G_USEC_PER_SEC)
    return;
  library->last_progress_us = now;
  g_message ("Library: scanned %u/%u", library->scan_done, library->scan_total);
}

static void
scan_finish (RcLibrary *library)
{
  guint unreadable = g_hash_table_size (library->entries) - g_hash_table_size (library->by_id);

  if (library->cache_dirty)
    save_cache (library);
  library->scanning = FALSE;
  library->ready = TRUE;
  g_message ("Library: %u songs in %s (%u unreadable files, %u read this scan)",
             g_hash_table_size (library->by_id), library->music_dir, unreadable,
             library->scan_total);
  if (library->rescan_requested)
    {
      library->rescan_requested = FALSE;
      scan_begin (library);
    }
}

static void
on_discovered (GstDiscoverer *discoverer, GstDiscovererInfo *info, GError *error,
               gpointer user_data)
{
  RcLibrary *library = user_data;
  const char *uri = gst_discoverer_info_get_uri (info);
  FileStat *stat = g_hash_table_lookup (library->pending, uri);

  if (stat == NULL)
    return;
  set_entry (library, stat->rel_path, stat->mtime_us, stat->size,
             song_from_info (library, stat, info, error));
  library->cache_dirty = TRUE;
  g_hash_table_remove (library->pending, uri);
  library->scan_done++;
  log_progress (library);
  if (g_hash_table_size (library->pending) == 0)
    scan_finish (library);
}

static gboolean
ensure_discoverer (RcLibrary *library)
{
  g_autoptr (GError) error = NULL;

  if (library->discoverer != NULL)
    return TRUE;
  library->discoverer = gst_discoverer_new (DISCOVER_TIMEOUT, &error);
  if (library->discoverer == NULL)
    {
      g_warning ("Library: GstDiscoverer unavailable: %s", error->message);
      return FALSE;
    }
  g_signal_connect (library->discoverer, "discovered", G_CALLBACK (on_discovered), library);
  gst_discoverer_start (library->discoverer);
  return TRUE;
}

/* Drops entries the walk did not see and queues new or changed files. */
static void
scan_apply_walk (RcLibrary *library, GPtrArray *stats)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < stats->len; i++)
    {
      FileStat *stat = stats->pdata[i];
      Entry *entry = g_hash_table_lookup (library->entries, stat->rel_path);
      g_autofree char *path = NULL;
      g_autofree char *uri = NULL;

      g_hash_table_add (seen, stat->rel_path);
      if (entry != NULL && entry->mtime_us == stat->mtime_us && entry->size == stat->size)
        continue;
      path = g_build_filename (library->music_dir, stat->rel_path, NULL);
      uri = g_filename_to_uri (path, NULL, NULL);
      if (uri != NULL)
        g_hash_table_insert (library->pending, g_steal_pointer (&uri),
                             g_steal_pointer (&stats->pdata[i]));
    }
  g_hash_table_iter_init (&iter, library->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (seen, key))
      g_ptr_array_add (gone, g_strdup (key));
  for (guint i = 0; i < gone->len; i++)
    remove_entry (library, gone->pdata[i]);
  if (gone->len > 0)
    library->cache_dirty = TRUE;
}

static void
on_walked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GPtrArray) stats = g_task_propagate_pointer (G_TASK (result), NULL);
  RcLibrary *library = user_data;
  GHashTableIter iter;
  gpointer key;

  if (stats == NULL)
    return; /* cancelled: the library is gone */
  scan_apply_walk (library, stats);
  library->scan_total = g_hash_table_size (library->pending);
  g_message ("Library: %u audio files found, %u to read", stats->len, library->scan_total);
  if (library->scan_total == 0 || !ensure_discoverer (library))
    {
      g_hash_table_remove_all (library->pending);
      scan_finish (library);
      return;
    }
  g_hash_table_iter_init (&iter, library->pending);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      library->discovered_count++;
      if (!gst_discoverer_discover_uri_async (library->discoverer, key))
        GST_WARNING ("Could not queue %s", (const char *) key);
    }
}

static void
scan_begin (RcLibrary *library)
{
  g_autoptr (GTask) task = g_task_new (NULL, library->cancellable, on_walked, library);

  library->scanning = TRUE;
  library->scan_total = 0;
  library->scan_done = 0;
  library->last_progress_us = g_get_monotonic_time ();
  g_message ("Library: scanning %s", library->music_dir);
  g_task_set_task_data (task, g_strdup (library->music_dir), g_free);
  g_task_run_in_thread (task, walk_thread);
}

void
rc_library_start (RcLibrary *library)
{
  if (library->started)
    return;
  library->started = TRUE;
  if (library->music_dir == NULL)
    {
      library->ready = TRUE;
      return;
    }
  library->scanning = TRUE;
  if (library->store == NULL)
    {
      scan_begin (library);
      return;
    }
  library->cache_read = g_new0 (CacheRead, 1);
  library->cache_read->library = library;
  rc_store_get (library->store, CACHE_KEY, on_cache_read, library->cache_read);
}

void
rc_library_rescan (RcLibrary *library)
{
  if (!library->started || library->music_dir == NULL)
    return;
  if (library->scanning)
    library->rescan_requested = TRUE;
  else
    scan_begin (library);
}

const char *
rc_library_get_music_dir (RcLibrary *library)
{
  return library->music_dir;
}

gboolean
rc_library_is_ready (RcLibrary *library)
{
  return library->ready;
}

gboolean
rc_library_is_scanning (RcLibrary *library)
{
  return library->scanning;
}

guint
rc_library_get_discovered_count (RcLibrary *library)
{
  return library->discovered_count;
}

RcSong *
rc_library_lookup (RcLibrary *library, const char *song_id)
{
  return song_id != NULL ? g_hash_table_lookup (library->by_id, song_id) : NULL;
}

static int
compare_songs_by_path (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(RcSong *const *) a)->rel_path, (*(RcSong *const *) b)->rel_path);
}

static GPtrArray *
sorted_songs (RcLibrary *library)
{
  GHashTableIter iter;
  gpointer value;

  if (library->sorted != NULL)
    return library->sorted;
  library->sorted = g_ptr_array_new_full (g_hash_table_size (library->by_id),
                                          (GDestroyNotify) rc_song_unref);
  g_hash_table_iter_init (&iter, library->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (library->sorted, rc_song_ref (value));
  g_ptr_array_sort (library->sorted, compare_songs_by_path);
  return library->sorted;
}

GPtrArray *
rc_library_list (RcLibrary *library, guint offset, guint limit, guint *total)
{
  GPtrArray *songs = sorted_songs (library);
  GPtrArray *page = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_song_unref);

  for (guint i = offset; i < songs->len && i - offset < limit; i++)
    g_ptr_array_add (page, rc_song_ref (songs->pdata[i]));
  if (total != NULL)
    *total = songs->len;
  return page;
}

GPtrArray *
rc_library_search (RcLibrary *library, const char *query, guint limit)
{
  return rc_search_songs (sorted_songs (library), query, MIN (limit, RC_LIBRARY_SEARCH_MAX));
}

char *
rc_library_get_uri (const RcSong *song)
{
  return g_filename_to_uri (song->path, NULL, NULL);
}

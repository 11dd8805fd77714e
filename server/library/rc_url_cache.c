/* SPDX-License-Identifier: MIT */
/*
 * The song cache for URL songs (see rc_url_cache.h for the contract).
 *
 * Why a cache and not only streaming: a song is fetched once. The first
 * play reads the part file as it grows (pipelines/rc_growing_file.h: the
 * track waits at the end of what has arrived instead of ending); every
 * later play, in any room, is a local file that starts at once and seeks
 * without the network. docs/architecture.md has the measured figures.
 *
 * A download, on the main context: send (libsoup) → status, Content-Type
 * and Content-Length checks → the first RC_AUDIO_SNIFF_BYTES read and
 * sniffed (accepted: the part file registered as growing, listeners told,
 * a room may play it now) → NAME.part opened (GIO) → read 64 KiB / write
 * (each write told to the growing file), reserving space
 * before each write → close, rename NAME.part to NAME. Any refusal deletes
 * the part file and gives its reservation back. Ordering rule: `used`
 * counts every song file and every reservation, and a reservation is taken
 * (evicting least recently used songs) before the bytes it covers are
 * written, so the folder never holds more than max_bytes of songs.
 *
 * File names are the URL's SHA-256 in hex, never anything a server sent.
 * The index (index.json: url, size, lastUsed per whole song) is written
 * in a worker thread, debounced; it is a file beside the songs and not the
 * store because the songs are this machine's files (several nodes sharing
 * Redis each have their own folder).
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pipelines/rc_growing_file.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_text.h"
#include "server/library/rc_audio_sniff.h"
#include "server/library/rc_url_cache.h"

#define INDEX_NAME "index.json"
#define LOCK_NAME "lock"
#define PART_SUFFIX ".part"
#define MAX_ACTIVE 3
#define READ_CHUNK (64 * 1024)
#define GROWTH_RESERVE (256 * 1024)
#define REFUSAL_TTL_S 600
#define SAVE_DELAY_MS 500
#define IO_TIMEOUT_S 30
#define FREE_WAIT_MS 3000

typedef enum
{
  ENTRY_WAITING,
  ENTRY_FETCHING,
  ENTRY_CACHED,
  ENTRY_REFUSED,
} EntryState;

typedef struct _Download Download;

typedef struct
{
  char *url;
  char *name; /* file name: the URL's SHA-256 in hex */
  EntryState state;
  guint64 size;          /* CACHED: bytes on disk; FETCHING: bytes reserved */
  gint64 last_used;      /* real time, ms */
  GError *refusal;       /* REFUSED */
  gint64 refused_until;  /* REFUSED: monotonic µs */
  SoupMessage *message;  /* WAITING: the request to send */
  Download *download;    /* FETCHING */
  gboolean accepted;     /* FETCHING: the response passed its checks */
} Entry;

struct _Download
{
  RcUrlCache *cache;
  Entry *entry;
  GInputStream *in;
  GOutputStream *out;
  GFile *part;
  guint8 *buffer; /* READ_CHUNK bytes */
  gsize pending;  /* bytes in buffer still to write */
  guint64 written;
  guint64 expected; /* Content-Length, or 0 when unknown */
  RcGrowingFile *growing; /* once accepted: the part file, for rooms playing it */
};

typedef struct
{
  guint id;
  RcUrlCacheFunc func;
  gpointer data;
} Listener;

struct _RcUrlCache
{
  char *dir;
  guint64 max_bytes;
  guint64 used;        /* song files plus reservations */
  GHashTable *entries; /* url → Entry* (owned) */
  GQueue waiting;      /* Entry* in ENTRY_WAITING, oldest first */
  guint active;        /* downloads under way */
  SoupSession *session;
  GCancellable *cancellable; /* cancelled when the cache goes */
  GArray *listeners;         /* Listener */
  guint next_listener;
  guint save_id;
  gboolean saving; /* an index write runs in a worker */
  gboolean dirty;  /* and another is due after it */
  int lock_fd;
};

static void start_waiting (RcUrlCache *self);
static void schedule_save (RcUrlCache *self);

/* ---- entries ------------------------------------------------------------- */

static void
entry_free (Entry *entry)
{
  g_free (entry->url);
  g_free (entry->name);
  g_clear_error (&entry->refusal);
  g_clear_object (&entry->message);
  g_free (entry);
}

static Entry *
entry_new (RcUrlCache *self, const char *url, EntryState state)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->url = g_strdup (url);
  entry->name = g_compute_checksum_for_string (G_CHECKSUM_SHA256, url, -1);
  entry->state = state;
  entry->last_used = g_get_real_time () / 1000;
  g_hash_table_replace (self->entries, entry->url, entry);
  return entry;
}

static char *
entry_path (RcUrlCache *self, const Entry *entry, const char *suffix)
{
  g_autofree char *name = g_strconcat (entry->name, suffix, NULL);

  return g_build_filename (self->dir, name, NULL);
}

/* Deletes a whole song's file and forgets it. */
static void
evict (RcUrlCache *self, Entry *entry)
{
  g_autofree char *path = entry_path (self, entry, "");

  g_debug ("Song cache: evicting %s (%" G_GUINT64_FORMAT " bytes)", entry->url, entry->size);
  if (g_unlink (path) != 0 && errno != ENOENT)
    g_warning ("Song cache: could not delete %s: %s", path, g_strerror (errno));
  self->used -= entry->size;
  g_hash_table_remove (self->entries, entry->url);
  schedule_save (self);
}

static Entry *
least_recently_used (RcUrlCache *self)
{
  GHashTableIter iter;
  Entry *entry, *oldest = NULL;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->state == ENTRY_CACHED && (oldest == NULL || entry->last_used < oldest->last_used))
      oldest = entry;
  return oldest;
}

/* Takes @bytes more for @entry's download, deleting least recently used
 * songs to make room; FALSE when only other downloads hold the rest. */
static gboolean
reserve (RcUrlCache *self, Entry *entry, guint64 bytes)
{
  while (self->used + bytes > self->max_bytes)
    {
      Entry *oldest = least_recently_used (self);

      if (oldest == NULL)
        return FALSE;
      evict (self, oldest);
    }
  self->used += bytes;
  entry->size += bytes;
  return TRUE;
}

/* How much a download of unknown length reserves to write @need more
 * bytes: a chunk from the free space when there is one, so that growing
 * evicts songs only when it must, else just @need. */
static guint64
growth_step (RcUrlCache *self, guint64 need)
{
  guint64 spare = self->max_bytes > self->used ? self->max_bytes - self->used : 0;

  return MAX (need, MIN ((guint64) GROWTH_RESERVE, spare));
}

static gboolean
refusal_expired (gpointer key, gpointer value, gpointer data)
{
  Entry *entry = value;

  return entry->state == ENTRY_REFUSED && entry->refused_until <= *(gint64 *) data;
}

/* ---- listeners ------------------------------------------------------------- */

guint
rc_url_cache_add_listener (RcUrlCache *self, RcUrlCacheFunc func, gpointer user_data)
{
  Listener l = { ++self->next_listener, func, user_data };

  g_array_append_val (self->listeners, l);
  return l.id;
}

void
rc_url_cache_remove_listener (RcUrlCache *self, guint id)
{
  for (guint i = 0; i < self->listeners->len; i++)
    if (g_array_index (self->listeners, Listener, i).id == id)
      {
        g_array_remove_index (self->listeners, i);
        return;
      }
}

static gboolean
has_listener (RcUrlCache *self, guint id)
{
  for (guint i = 0; i < self->listeners->len; i++)
    if (g_array_index (self->listeners, Listener, i).id == id)
      return TRUE;
  return FALSE;
}

/* A listener may remove itself or others while being told. */
static void
tell_listeners (RcUrlCache *self, const char *url, RcUrlCacheEvent event, const GError *error)
{
  g_autoptr (GArray) copy = g_array_copy (self->listeners);

  for (guint i = 0; i < copy->len; i++)
    {
      Listener *l = &g_array_index (copy, Listener, i);

      if (has_listener (self, l->id))
        l->func (url, event, error, l->data);
    }
}

/* ---- one download ------------------------------------------------------------ */

static void
on_input_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_input_stream_close_finish (G_INPUT_STREAM (source), result, NULL);
}

/*
 * The end of a download: @error NULL (the song is whole under its name),
 * an RC_ERROR refusal (remembered), or anything else (the URL is simply
 * forgotten). Takes @error.
 */
static void
download_end (Download *dl, GError *error)
{
  RcUrlCache *self = dl->cache;
  Entry *entry = dl->entry;
  g_autofree char *url = g_strdup (entry->url);
  g_autofree char *part = entry_path (self, entry, PART_SUFFIX);

  if (dl->out != NULL && !g_output_stream_is_closed (dl->out))
    g_output_stream_close (dl->out, NULL, NULL);
  if (dl->in != NULL)
    g_input_stream_close_async (dl->in, G_PRIORITY_LOW, NULL, on_input_closed, NULL);
  g_clear_object (&dl->in);
  g_clear_object (&dl->out);
  g_clear_object (&dl->part);
  g_free (dl->buffer);
  if (dl->growing != NULL && error == NULL)
    {
      g_autofree char *whole = entry_path (self, entry, "");

      rc_growing_file_finish (dl->growing, whole);
    }
  else if (dl->growing != NULL)
    rc_growing_file_fail (dl->growing, error->message);
  rc_growing_file_unref (dl->growing);
  g_free (dl);
  entry->download = NULL;
  self->active--;

  if (error == NULL)
    {
      g_message ("Song cache: cached %s", url);
      entry->state = ENTRY_CACHED;
      entry->last_used = g_get_real_time () / 1000;
      schedule_save (self);
    }
  else
    {
      g_unlink (part);
      self->used -= entry->size;
      entry->size = 0;
      if (error->domain == RC_ERROR)
        {
          g_message ("Song cache: refused %s: %s", url, error->message);
          entry->state = ENTRY_REFUSED;
          entry->refusal = g_error_copy (error);
          entry->refused_until = g_get_monotonic_time () + REFUSAL_TTL_S * G_USEC_PER_SEC;
        }
      else
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_message ("Song cache: not caching %s: %s", url, error->message);
          g_hash_table_remove (self->entries, url);
        }
    }
  tell_listeners (self, url, RC_URL_CACHE_ENDED, error);
  g_clear_error (&error);
  start_waiting (self);
}

static void
download_refuse (Download *dl, RcErrorCode code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
download_refuse (Download *dl, RcErrorCode code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  download_end (dl, g_error_new_literal (RC_ERROR, code, message));
}

/* A failure of the network (refusal) or of this side (cancelled, disk). */
static void
download_failed (Download *dl, GError *error, gboolean network)
{
  if (network && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      download_refuse (dl, RC_ERROR_URL_FETCH_FAILED, "The song could not be fetched: %s",
                       error->message);
      g_error_free (error);
      return;
    }
  download_end (dl, error);
}

static void on_read (GObject *source, GAsyncResult *result, gpointer data);

static void
on_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Download *dl = data;
  GError *error = NULL;
  g_autoptr (GFile) whole = NULL;
  g_autofree char *path = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      download_failed (dl, error, FALSE);
      return;
    }
  path = entry_path (dl->cache, dl->entry, "");
  whole = g_file_new_for_path (path);
  /* A rename within the folder. */
  if (!g_file_move (dl->part, whole, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error))
    {
      download_failed (dl, error, FALSE);
      return;
    }
  /* The reservation shrinks to what was written. */
  dl->cache->used -= dl->entry->size - dl->written;
  dl->entry->size = dl->written;
  download_end (dl, NULL);
}

static void
read_next (Download *dl)
{
  g_input_stream_read_async (dl->in, dl->buffer, READ_CHUNK, G_PRIORITY_LOW,
                             dl->cache->cancellable, on_read, dl);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  Download *dl = data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      download_failed (dl, error, FALSE);
      return;
    }
  dl->written += dl->pending;
  dl->pending = 0;
  rc_growing_file_wrote (dl->growing, dl->written);
  read_next (dl);
}

/* Writes the buffer's pending bytes once the reservation covers them. */
static void
write_pending (Download *dl)
{
  RcUrlCache *self = dl->cache;
  guint64 after = dl->written + dl->pending;

  if (after > self->max_bytes)
    {
      download_refuse (dl, RC_ERROR_URL_TOO_LARGE,
                       "The song is larger than the server's song cache (%" G_GUINT64_FORMAT
                       " bytes)", self->max_bytes);
      return;
    }
  if (after > dl->entry->size &&
      !reserve (self, dl->entry,
                MIN (growth_step (self, after - dl->entry->size), self->max_bytes - dl->entry->size)))
    {
      download_end (dl, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                             "the cache is full of other downloads"));
      return;
    }
  g_output_stream_write_all_async (dl->out, dl->buffer, dl->pending, G_PRIORITY_LOW,
                                   self->cancellable, on_written, dl);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Download *dl = data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      download_failed (dl, error, TRUE);
      return;
    }
  if (n == 0)
    {
      g_output_stream_close_async (dl->out, G_PRIORITY_LOW, dl->cache->cancellable, on_closed, dl);
      return;
    }
  dl->pending = (gsize) n;
  write_pending (dl);
}

static void
on_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  Download *dl = data;
  GError *error = NULL;
  GFileOutputStream *out = g_file_replace_finish (G_FILE (source), result, &error);

  if (out == NULL)
    {
      download_failed (dl, error, FALSE);
      return;
    }
  dl->out = G_OUTPUT_STREAM (out);
  write_pending (dl);
}

static void
on_sniffed (GObject *source, GAsyncResult *result, gpointer data)
{
  Download *dl = data;
  GError *error = NULL;
  gsize n = 0;
  g_autofree char *part = NULL;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    {
      download_failed (dl, error, TRUE);
      return;
    }
  if (!rc_audio_sniff_bytes (dl->buffer, n))
    {
      download_refuse (dl, RC_ERROR_URL_NOT_AUDIO,
                       "The URL does not serve an audio file (its first bytes are not audio)");
      return;
    }
  dl->entry->accepted = TRUE;
  part = entry_path (dl->cache, dl->entry, PART_SUFFIX);
  dl->growing = rc_growing_file_begin (part, dl->expected > 0 ? (gint64) dl->expected : -1);
  {
    g_autofree char *url = g_strdup (dl->entry->url);

    /* A listener may call into the cache; this download is not touched. */
    tell_listeners (dl->cache, url, RC_URL_CACHE_ACCEPTED, NULL);
  }
  /* Only now, so that what is refused never evicts a song. */
  if (!reserve (dl->cache, dl->entry,
                dl->expected > 0 ? dl->expected : growth_step (dl->cache, 0)))
    {
      download_end (dl, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                             "the cache is full of other downloads"));
      return;
    }
  dl->pending = n;
  /* Written in place, never through a temporary file that replaces it at
   * the end: a room reads the part file as it grows. */
  g_unlink (part);
  dl->part = g_file_new_for_path (part);
  g_file_replace_async (dl->part, NULL, FALSE,
                        G_FILE_CREATE_PRIVATE | G_FILE_CREATE_REPLACE_DESTINATION,
                        G_PRIORITY_LOW, dl->cache->cancellable, on_opened, dl);
}

/* Status, Content-Type and Content-Length, before a byte is read. */
static gboolean
check_response (Download *dl, SoupMessage *message)
{
  RcUrlCache *self = dl->cache;
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  guint status = soup_message_get_status (message);
  const char *type = soup_message_headers_get_content_type (headers, NULL);

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      download_refuse (dl, RC_ERROR_URL_FETCH_FAILED,
                       "The song could not be fetched: HTTP %u %s", status,
                       soup_status_get_phrase (status));
      return FALSE;
    }
  if (!rc_audio_sniff_content_type (type))
    {
      g_autofree char *clean = rc_text_sanitize (type, 100);

      download_refuse (dl, RC_ERROR_URL_NOT_AUDIO, "The URL serves %s, not audio", clean);
      return FALSE;
    }
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    dl->expected = (guint64) soup_message_headers_get_content_length (headers);
  if (dl->expected > self->max_bytes)
    {
      download_refuse (dl, RC_ERROR_URL_TOO_LARGE,
                       "The song (%" G_GUINT64_FORMAT " bytes) is larger than the server's "
                       "song cache (%" G_GUINT64_FORMAT " bytes)", dl->expected, self->max_bytes);
      return FALSE;
    }
  return TRUE;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Download *dl = data;
  GError *error = NULL;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GInputStream *in = soup_session_send_finish (SOUP_SESSION (source), result, &error);

  if (in == NULL)
    {
      download_failed (dl, error, TRUE);
      return;
    }
  dl->in = in;
  if (!check_response (dl, message))
    return;
  dl->buffer = g_malloc (READ_CHUNK);
  g_input_stream_read_all_async (dl->in, dl->buffer, RC_AUDIO_SNIFF_BYTES, G_PRIORITY_LOW,
                                 dl->cache->cancellable, on_sniffed, dl);
}

/* Sends @entry's request (taken off the waiting queue). */
static void
start_entry (RcUrlCache *self, Entry *entry)
{
  Download *dl = g_new0 (Download, 1);
  g_autoptr (SoupMessage) message = g_steal_pointer (&entry->message);

  dl->cache = self;
  dl->entry = entry;
  entry->download = dl;
  entry->state = ENTRY_FETCHING;
  self->active++;
  g_debug ("Song cache: fetching %s", entry->url);
  soup_session_send_async (self->session, message, G_PRIORITY_LOW, self->cancellable, on_sent,
                           dl);
}

static void
start_waiting (RcUrlCache *self)
{
  while (self->active < MAX_ACTIVE && !g_queue_is_empty (&self->waiting)
         && !g_cancellable_is_cancelled (self->cancellable))
    start_entry (self, g_queue_pop_head (&self->waiting));
}

/* ---- lookups ----------------------------------------------------------------- */

char *
rc_url_cache_lookup (RcUrlCache *self, const char *url, const GError **refusal)
{
  Entry *entry = g_hash_table_lookup (self->entries, url);
  gint64 now = g_get_monotonic_time ();
  SoupMessage *message;

  *refusal = NULL;
  if (entry != NULL && entry->state == ENTRY_CACHED)
    {
      g_autofree char *path = entry_path (self, entry, "");

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          entry->last_used = g_get_real_time () / 1000;
          schedule_save (self);
          return g_filename_to_uri (path, NULL, NULL);
        }
      g_message ("Song cache: %s was deleted from the folder; fetching it again", path);
      evict (self, entry);
      entry = NULL;
    }
  if (entry != NULL && entry->state == ENTRY_REFUSED && entry->refused_until > now)
    {
      *refusal = entry->refusal;
      return NULL;
    }
  if (entry != NULL && entry->state != ENTRY_REFUSED)
    return NULL; /* under way */

  g_hash_table_foreach_remove (self->entries, refusal_expired, &now);
  message = soup_message_new ("GET", url);
  if (message == NULL)
    {
      entry = entry_new (self, url, ENTRY_REFUSED);
      entry->refusal = g_error_new_literal (RC_ERROR, RC_ERROR_URL_FETCH_FAILED,
                                            "The song could not be fetched: not an http(s) URL");
      entry->refused_until = now + REFUSAL_TTL_S * G_USEC_PER_SEC;
      *refusal = entry->refusal;
      return NULL;
    }
  entry = entry_new (self, url, ENTRY_WAITING);
  entry->message = message;
  g_queue_push_tail (&self->waiting, entry);
  start_waiting (self);
  return NULL;
}

gboolean
rc_url_cache_want_now (RcUrlCache *self, const char *url)
{
  Entry *entry = g_hash_table_lookup (self->entries, url);

  if (entry == NULL)
    return FALSE;
  /* Beyond MAX_ACTIVE: a room waits for this one, not for its turn. */
  if (entry->state == ENTRY_WAITING && !g_cancellable_is_cancelled (self->cancellable))
    {
      g_queue_remove (&self->waiting, entry);
      start_entry (self, entry);
    }
  return entry->state == ENTRY_CACHED || (entry->state == ENTRY_FETCHING && entry->accepted);
}

char *
rc_url_cache_get_growing (RcUrlCache *self, const char *url)
{
  Entry *entry = g_hash_table_lookup (self->entries, url);
  g_autofree char *part = NULL;

  if (entry == NULL || entry->state != ENTRY_FETCHING || entry->download == NULL
      || entry->download->growing == NULL)
    return NULL;
  part = entry_path (self, entry, PART_SUFFIX);
  return g_filename_to_uri (part, NULL, NULL);
}

guint64
rc_url_cache_get_max_bytes (RcUrlCache *self)
{
  return self->max_bytes;
}

guint64
rc_url_cache_get_used_bytes (RcUrlCache *self)
{
  return self->used;
}

char *
rc_url_cache_default_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "roomcast", "songs", NULL);
}

/* ---- the index ------------------------------------------------------------------ */

static GBytes *
index_bytes (RcUrlCache *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  GHashTableIter iter;
  Entry *entry;
  g_autofree char *text = NULL;
  gsize length;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "songs");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      if (entry->state != ENTRY_CACHED)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "url");
      json_builder_add_string_value (b, entry->url);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) entry->size);
      json_builder_set_member_name (b, "lastUsed");
      json_builder_add_int_value (b, entry->last_used);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = rc_json_to_string (root);
  length = strlen (text);
  return g_bytes_new_take (g_steal_pointer (&text), length);
}

static gboolean
write_index (const char *dir, GBytes *bytes, GError **error)
{
  g_autofree char *path = g_build_filename (dir, INDEX_NAME, NULL);
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  return g_file_set_contents_full (path, data, (gssize) length, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}

static void
save_in_worker (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  GBytes *bytes = task_data;
  const char *dir = g_object_get_data (G_OBJECT (task), "dir");

  if (write_index (dir, bytes, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void save_now (RcUrlCache *self);

static void
on_saved (GObject *source, GAsyncResult *result, gpointer data)
{
  RcUrlCache *self = data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Song cache: could not write its index: %s", error->message);
  self->saving = FALSE;
  if (self->dirty && self->save_id == 0)
    save_now (self);
}

static void
save_now (RcUrlCache *self)
{
  g_autoptr (GTask) task = NULL;

  if (self->saving)
    {
      self->dirty = TRUE;
      return;
    }
  self->dirty = FALSE;
  self->saving = TRUE;
  task = g_task_new (NULL, NULL, on_saved, self);
  g_object_set_data_full (G_OBJECT (task), "dir", g_strdup (self->dir), g_free);
  g_task_set_task_data (task, index_bytes (self), (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (task, save_in_worker);
}

static gboolean
on_save_due (gpointer data)
{
  RcUrlCache *self = data;

  self->save_id = 0;
  save_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (RcUrlCache *self)
{
  if (self->save_id == 0)
    self->save_id = g_timeout_add (SAVE_DELAY_MS, on_save_due, self);
}

/* One song of the index, kept when its file is there with its size. */
static void
load_song (RcUrlCache *self, JsonObject *o, GPtrArray *bad)
{
  const char *url = rc_json_read_string (o, "url", bad);
  gint64 size = rc_json_read_int (o, "size", 0, G_MAXINT64, -1, bad);
  gint64 last_used = rc_json_read_int (o, "lastUsed", 0, G_MAXINT64, 0, bad);
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  GStatBuf st;
  Entry *entry;

  if (url == NULL || size < 0 || g_hash_table_contains (self->entries, url))
    return;
  name = g_compute_checksum_for_string (G_CHECKSUM_SHA256, url, -1);
  path = g_build_filename (self->dir, name, NULL);
  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size != size)
    return;
  entry = entry_new (self, url, ENTRY_CACHED);
  entry->size = (guint64) size;
  entry->last_used = last_used;
  self->used += entry->size;
}

static void
load_index (RcUrlCache *self)
{
  g_autofree char *path = g_build_filename (self->dir, INDEX_NAME, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  JsonArray *songs;

  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Song cache: could not read %s: %s", path, error->message);
      return;
    }
  root = rc_json_parse_stored (text, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_warning ("Song cache: %s is not a JSON object; starting empty", path);
      return;
    }
  songs = rc_json_read_array (json_node_get_object (root), "songs", bad);
  for (guint i = 0; songs != NULL && i < json_array_get_length (songs); i++)
    {
      JsonNode *node = json_array_get_element (songs, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        load_song (self, json_node_get_object (node), bad);
    }
  rc_json_warn_bad (bad, "Song cache (%s)", path);
}

/* A name this cache gives its files: 64 hex digits, maybe ".part". */
static gboolean
is_own_name (const char *name)
{
  gsize n = strspn (name, "0123456789abcdef");

  return n == 64 && (name[64] == '\0' || g_str_equal (name + 64, PART_SUFFIX));
}

/* Partial downloads and songs the index does not know go. */
static void
remove_strays (RcUrlCache *self)
{
  g_autoptr (GDir) dir = g_dir_open (self->dir, 0, NULL);
  g_autoptr (GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  Entry *entry;
  const char *name;

  if (dir == NULL)
    return;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    g_hash_table_add (known, entry->name);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (is_own_name (name) && !g_hash_table_contains (known, name))
      {
        g_autofree char *path = g_build_filename (self->dir, name, NULL);

        g_unlink (path);
      }
}

/* ---- life cycle ---------------------------------------------------------------- */

static gboolean
take_lock (RcUrlCache *self, GError **error)
{
  g_autofree char *path = g_build_filename (self->dir, LOCK_NAME, NULL);

  self->lock_fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (self->lock_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot open %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  if (flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "%s is in use by another roomcast process", self->dir);
      return FALSE;
    }
  return TRUE;
}

RcUrlCache *
rc_url_cache_new (const char *dir, guint64 max_bytes, GError **error)
{
  g_autoptr (RcUrlCache) self = g_new0 (RcUrlCache, 1);

  self->lock_fd = -1;
  self->dir = g_canonicalize_filename (dir, NULL);
  self->max_bytes = max_bytes;
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) entry_free);
  g_queue_init (&self->waiting);
  self->listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  self->cancellable = g_cancellable_new ();
  self->session = soup_session_new_with_options ("timeout", IO_TIMEOUT_S, "user-agent",
                                                 "roomcast-song-cache", NULL);
  /* Content-Length must count the bytes written: no compressed bodies. */
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_CONTENT_DECODER);
  if (g_mkdir_with_parents (self->dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot make %s: %s",
                   self->dir, g_strerror (errno));
      return NULL;
    }
  if (!take_lock (self, error))
    return NULL;
  load_index (self);
  remove_strays (self);
  while (self->used > self->max_bytes)
    evict (self, least_recently_used (self));
  g_message ("Song cache: %s, %u songs, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
             self->dir, g_hash_table_size (self->entries), self->used, self->max_bytes);
  return g_steal_pointer (&self);
}

static gboolean
on_free_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
rc_url_cache_free (RcUrlCache *self)
{
  gboolean late = FALSE;
  guint deadline_id;

  if (self == NULL)
    return;
  /* Downloads end through their callbacks (cancelled), and a running index
   * write finishes; then the last index is written here. */
  g_array_set_size (self->listeners, 0);
  g_cancellable_cancel (self->cancellable);
  deadline_id = g_timeout_add (FREE_WAIT_MS, on_free_deadline, &late);
  while ((self->active > 0 || self->saving) && !late)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (deadline_id);
  if (self->active > 0 || self->saving)
    {
      g_warning ("Song cache: downloads did not stop within %u ms; leaving them", FREE_WAIT_MS);
      return;
    }
  if (self->save_id != 0 || self->dirty)
    {
      g_autoptr (GBytes) bytes = index_bytes (self);
      g_autoptr (GError) error = NULL;

      if (!write_index (self->dir, bytes, &error))
        g_warning ("Song cache: could not write its index: %s", error->message);
    }
  g_clear_handle_id (&self->save_id, g_source_remove);
  g_queue_clear (&self->waiting);
  g_hash_table_unref (self->entries);
  g_array_unref (self->listeners);
  g_clear_object (&self->session);
  g_object_unref (self->cancellable);
  if (self->lock_fd >= 0)
    close (self->lock_fd);
  g_free (self->dir);
  g_free (self);
}

/* SPDX-License-Identifier: MIT */
/*
 * Growing files and their source (rc_growing_file.h says what and why).
 *
 * Each file has a lock, a condition and a generation that every change
 * bumps (bytes written, finished, failed). The source reads with pread at
 * the offset GstBaseSrc asks for; when that returns nothing it waits on
 * the condition, but only if the generation is still the one it read
 * before trying: a write that lands between the read and the wait is not
 * missed. The wait is also bounded (WAIT_MS), and GstBaseSrc's unlock (a
 * flush, the track being stopped) wakes it at once.
 */
#include "pipelines/rc_growing_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/base/gstbasesrc.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS 200
#define BLOCK_SIZE (32 * 1024)

typedef enum
{
  GROWING,
  WHOLE,
  FAILED,
} GrowState;

struct _RcGrowingFile
{
  gint refs;
  char *path;       /* registered under it; immutable */
  GMutex lock;
  GCond changed;
  guint64 generation;
  GrowState state;
  guint64 size;     /* bytes written so far */
  gint64 expected;  /* -1: unknown */
  char *whole_path; /* WHOLE */
  char *message;    /* FAILED */
};

static GMutex registry_lock;
static GHashTable *registry; /* path → RcGrowingFile (a reference) */

static RcGrowingFile *
file_ref (RcGrowingFile *file)
{
  g_atomic_int_inc (&file->refs);
  return file;
}

void
rc_growing_file_unref (RcGrowingFile *file)
{
  if (file == NULL || !g_atomic_int_dec_and_test (&file->refs))
    return;
  g_mutex_clear (&file->lock);
  g_cond_clear (&file->changed);
  g_free (file->path);
  g_free (file->whole_path);
  g_free (file->message);
  g_free (file);
}

RcGrowingFile *
rc_growing_file_begin (const char *path, gint64 expected_size)
{
  RcGrowingFile *file = g_new0 (RcGrowingFile, 1);

  file->refs = 1;
  file->path = g_strdup (path);
  file->expected = expected_size;
  g_mutex_init (&file->lock);
  g_cond_init (&file->changed);
  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) rc_growing_file_unref);
  g_hash_table_replace (registry, file->path, file_ref (file));
  g_mutex_unlock (&registry_lock);
  return file;
}

static void
unregister (RcGrowingFile *file)
{
  g_mutex_lock (&registry_lock);
  if (registry != NULL && g_hash_table_lookup (registry, file->path) == file)
    g_hash_table_remove (registry, file->path);
  g_mutex_unlock (&registry_lock);
}

static RcGrowingFile *
lookup (const char *path)
{
  RcGrowingFile *file;

  g_mutex_lock (&registry_lock);
  file = registry != NULL ? g_hash_table_lookup (registry, path) : NULL;
  if (file != NULL)
    file_ref (file);
  g_mutex_unlock (&registry_lock);
  return file;
}

/* Changes @file under its lock; @update runs with it held. */
#define CHANGE(file, update)                                                                       \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_mutex_lock (&(file)->lock);                                                                  \
    update;                                                                                        \
    (file)->generation++;                                                                          \
    g_cond_broadcast (&(file)->changed);                                                           \
    g_mutex_unlock (&(file)->lock);                                                                \
  }                                                                                                \
  G_STMT_END

void
rc_growing_file_wrote (RcGrowingFile *file, guint64 size)
{
  CHANGE (file, file->size = size);
}

/* The writer is done: WHOLE at @text (the whole file's path), or FAILED
 * for @text (why). */
static void
end_file (RcGrowingFile *file, GrowState state, const char *text)
{
  unregister (file);
  CHANGE (file, {
    file->state = state;
    *(state == WHOLE ? &file->whole_path : &file->message) = g_strdup (text);
  });
}

void
rc_growing_file_finish (RcGrowingFile *file, const char *whole_path)
{
  end_file (file, WHOLE, whole_path);
}

void
rc_growing_file_fail (RcGrowingFile *file, const char *message)
{
  end_file (file, FAILED, message);
}

/* ---- the source ------------------------------------------------------------- */

#define RC_TYPE_GROWING_SRC (rc_growing_src_get_type ())
G_DECLARE_FINAL_TYPE (RcGrowingSrc, rc_growing_src, RC, GROWING_SRC, GstBaseSrc)

struct _RcGrowingSrc
{
  GstBaseSrc parent;
  RcGrowingFile *file;
  int fd;             /* streaming thread only; -1 until opened */
  gboolean flushing;  /* under file->lock */
};

G_DEFINE_TYPE (RcGrowingSrc, rc_growing_src, GST_TYPE_BASE_SRC)

GstElement *
rc_growing_src_new (const char *path)
{
  RcGrowingFile *file = lookup (path);
  RcGrowingSrc *src;

  if (file == NULL)
    return NULL;
  src = g_object_new (RC_TYPE_GROWING_SRC, NULL);
  src->file = file;
  return GST_ELEMENT (src);
}

static void
rc_growing_src_init (RcGrowingSrc *self)
{
  self->fd = -1;
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_BYTES);
  gst_base_src_set_blocksize (GST_BASE_SRC (self), BLOCK_SIZE);
}

static void
rc_growing_src_finalize (GObject *object)
{
  RcGrowingSrc *self = RC_GROWING_SRC (object);

  if (self->fd >= 0)
    close (self->fd);
  rc_growing_file_unref (self->file);
  G_OBJECT_CLASS (rc_growing_src_parent_class)->finalize (object);
}

static gboolean
src_stop (GstBaseSrc *base)
{
  RcGrowingSrc *self = RC_GROWING_SRC (base);

  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  return TRUE;
}

static gboolean
src_is_seekable (GstBaseSrc *base)
{
  return TRUE;
}

static gboolean
src_get_size (GstBaseSrc *base, guint64 *size)
{
  RcGrowingFile *file = RC_GROWING_SRC (base)->file;
  gboolean known;

  g_mutex_lock (&file->lock);
  known = file->state == WHOLE || file->expected >= 0;
  *size = file->state == WHOLE ? file->size : (guint64) MAX (file->expected, 0);
  g_mutex_unlock (&file->lock);
  return known;
}

static gboolean
src_query (GstBaseSrc *base, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_SCHEDULING)
    {
      gst_query_set_scheduling (query, GST_SCHEDULING_FLAG_SEEKABLE, 1, -1, 0);
      gst_query_add_scheduling_mode (query, GST_PAD_MODE_PUSH);
      return TRUE;
    }
  return GST_BASE_SRC_CLASS (rc_growing_src_parent_class)->query (base, query);
}

static gboolean
src_unlock (GstBaseSrc *base)
{
  RcGrowingSrc *self = RC_GROWING_SRC (base);

  CHANGE (self->file, self->flushing = TRUE);
  return TRUE;
}

static gboolean
src_unlock_stop (GstBaseSrc *base)
{
  RcGrowingSrc *self = RC_GROWING_SRC (base);

  g_mutex_lock (&self->file->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->file->lock);
  return TRUE;
}

/* Waits (lock held) until the generation moves past @seen, a flush, or
 * WAIT_MS; FALSE on a flush. */
static gboolean
wait_change (RcGrowingSrc *self, guint64 seen)
{
  RcGrowingFile *file = self->file;
  gint64 until = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (file->generation == seen && !self->flushing)
    if (!g_cond_wait_until (&file->changed, &file->lock, until))
      break;
  return !self->flushing;
}

/* Opens the file (or, once renamed, its whole copy); -1 and errno
 * ENOENT while it does not exist yet. */
static int
open_file (RcGrowingSrc *self)
{
  RcGrowingFile *file = self->file;
  g_autofree char *whole = NULL;
  int fd = open (file->path, O_RDONLY | O_CLOEXEC);

  if (fd >= 0 || errno != ENOENT)
    return fd;
  g_mutex_lock (&file->lock);
  whole = g_strdup (file->whole_path);
  g_mutex_unlock (&file->lock);
  if (whole == NULL)
    {
      errno = ENOENT;
      return -1;
    }
  return open (whole, O_RDONLY | O_CLOEXEC);
}

static GstFlowReturn
src_fill (GstBaseSrc *base, guint64 offset, guint length, GstBuffer *buffer)
{
  RcGrowingSrc *self = RC_GROWING_SRC (base);
  RcGrowingFile *file = self->file;
  GstMapInfo map;

  for (;;)
    {
      guint64 seen;
      GrowState state;
      ssize_t n = 0;
      int error = 0;

      g_mutex_lock (&file->lock);
      seen = file->generation;
      g_mutex_unlock (&file->lock);

      if (self->fd < 0)
        self->fd = open_file (self);
      if (self->fd >= 0)
        {
          if (!gst_buffer_map (buffer, &map, GST_MAP_WRITE))
            return GST_FLOW_ERROR;
          do
            n = pread (self->fd, map.data, MIN (length, map.size), (off_t) offset);
          while (n < 0 && errno == EINTR);
          error = n < 0 ? errno : 0;
          gst_buffer_unmap (buffer, &map);
          if (n > 0)
            {
              gst_buffer_resize (buffer, 0, n);
              GST_BUFFER_OFFSET (buffer) = offset;
              GST_BUFFER_OFFSET_END (buffer) = offset + n;
              return GST_FLOW_OK;
            }
        }
      else if (errno != ENOENT)
        error = errno;
      if (error != 0)
        {
          GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Could not read the song's file"),
                             ("%s: %s", file->path, g_strerror (error)));
          return GST_FLOW_ERROR;
        }

      /* Nothing at @offset: wait for the writer, or end. */
      g_mutex_lock (&file->lock);
      state = file->state;
      if (state == GROWING)
        {
          gboolean go_on = wait_change (self, seen);

          g_mutex_unlock (&file->lock);
          if (!go_on)
            return GST_FLOW_FLUSHING;
          continue;
        }
      g_mutex_unlock (&file->lock);
      if (state == WHOLE && self->fd >= 0)
        return GST_FLOW_EOS;
      if (state == WHOLE)
        {
          GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("The song's file is gone"),
                             ("%s", file->path));
          return GST_FLOW_ERROR;
        }
      GST_ELEMENT_ERROR (self, RESOURCE, READ, ("The song's download failed"),
                         ("%s: %s", file->path, file->message));
      return GST_FLOW_ERROR;
    }
}

static void
rc_growing_src_class_init (RcGrowingSrcClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *base_class = GST_BASE_SRC_CLASS (klass);
  static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

  object_class->finalize = rc_growing_src_finalize;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "roomcast growing file source",
                                         "Source/File",
                                         "Reads a file while it is still being written",
                                         "roomcast");
  base_class->stop = src_stop;
  base_class->is_seekable = src_is_seekable;
  base_class->get_size = src_get_size;
  base_class->query = src_query;
  base_class->unlock = src_unlock;
  base_class->unlock_stop = src_unlock_stop;
  base_class->fill = src_fill;
}

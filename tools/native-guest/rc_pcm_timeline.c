/* SPDX-License-Identifier: MIT */
/*
 * The native guest's decoded audio, kept by the time it is to be heard, so
 * that the device feeder can take the samples its device will play next
 * (rc_device_feeder.c) instead of being handed buffers on a clock.
 *
 * A ring of frames indexed by position modulo its size, in blocks; each
 * block remembers which block of the timeline it holds (its tag), so a
 * block never written since the ring last came round reads as silence,
 * not as audio of ten seconds ago. A write into a block whose tag is
 * another clears the block first.
 */
#include "rc_pcm_timeline.h"

#include <string.h>

#define BLOCK_FRAMES 256
#define N_BLOCKS (RC_PCM_TIMELINE_SECONDS * RC_PCM_TIMELINE_RATE / BLOCK_FRAMES)
#define RING_FRAMES ((gint64) N_BLOCKS * BLOCK_FRAMES)
#define FRAME_SAMPLES RC_PCM_TIMELINE_CHANNELS

struct _RcPcmTimeline
{
  GMutex lock; /* protects everything below */
  gint16 *ring;
  gint64 *tags;     /* per block: the timeline block it holds, -1 none */
  gint64 read_upto; /* the furthest position read, G_MININT64 before any */
};

RcPcmTimeline *
rc_pcm_timeline_new (void)
{
  RcPcmTimeline *self = g_new0 (RcPcmTimeline, 1);

  g_mutex_init (&self->lock);
  self->ring = g_new0 (gint16, RING_FRAMES * FRAME_SAMPLES);
  self->tags = g_new (gint64, N_BLOCKS);
  for (guint i = 0; i < N_BLOCKS; i++)
    self->tags[i] = -1;
  self->read_upto = G_MININT64;
  return self;
}

void
rc_pcm_timeline_free (RcPcmTimeline *self)
{
  if (self == NULL)
    return;
  g_mutex_clear (&self->lock);
  g_free (self->ring);
  g_free (self->tags);
  g_free (self);
}

static gint64
block_of (gint64 position)
{
  /* Floor division: positions are never negative in use, but be exact. */
  return position >= 0 ? position / BLOCK_FRAMES : -((-position + BLOCK_FRAMES - 1) / BLOCK_FRAMES);
}

static gint16 *
slot (RcPcmTimeline *self, gint64 position)
{
  gint64 index = position % RING_FRAMES;

  if (index < 0)
    index += RING_FRAMES;
  return self->ring + index * FRAME_SAMPLES;
}

/* Of @left frames from @at, how many lie in @at's block (*@block). */
static guint
span (gint64 at, guint left, gint64 *block)
{
  *block = block_of (at);
  return (guint) MIN ((gint64) left, (*block + 1) * BLOCK_FRAMES - at);
}

static gint64 *
tag_of (RcPcmTimeline *self, gint64 block)
{
  return &self->tags[(block % N_BLOCKS + N_BLOCKS) % N_BLOCKS];
}

guint
rc_pcm_timeline_write (RcPcmTimeline *self, gint64 position, const gint16 *frames,
                       guint n_frames)
{
  guint late = 0, done = 0;

  g_mutex_lock (&self->lock);
  if (self->read_upto > position)
    late = (guint) MIN ((gint64) n_frames, self->read_upto - position);
  while (done < n_frames)
    {
      gint64 at = position + done, block;
      guint n = span (at, n_frames - done, &block);
      gint64 *tag = tag_of (self, block);

      if (*tag != block)
        {
          memset (slot (self, block * BLOCK_FRAMES), 0, BLOCK_FRAMES * FRAME_SAMPLES * sizeof (gint16));
          *tag = block;
        }
      memcpy (slot (self, at), frames + (gsize) done * FRAME_SAMPLES,
              (gsize) n * FRAME_SAMPLES * sizeof (gint16));
      done += n;
    }
  g_mutex_unlock (&self->lock);
  return late;
}

guint
rc_pcm_timeline_read (RcPcmTimeline *self, gint64 position, gint16 *out, guint n_frames)
{
  guint done = 0, held = 0;

  g_mutex_lock (&self->lock);
  while (done < n_frames)
    {
      gint64 at = position + done, block;
      guint n = span (at, n_frames - done, &block);
      gsize bytes = (gsize) n * FRAME_SAMPLES * sizeof (gint16);

      if (*tag_of (self, block) == block)
        {
          memcpy (out + (gsize) done * FRAME_SAMPLES, slot (self, at), bytes);
          held += n;
        }
      else
        memset (out + (gsize) done * FRAME_SAMPLES, 0, bytes);
      done += n;
    }
  self->read_upto = MAX (self->read_upto, position + n_frames);
  g_mutex_unlock (&self->lock);
  return held;
}

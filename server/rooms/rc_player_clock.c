/* SPDX-License-Identifier: MIT */
/*
 * A room's timeline on the server clock, and its pipeline coming and going.
 *
 * Playing, the player keeps the position its song had at a server clock
 * time (position_ms at anchor) and the song moves on with the clock. While
 * the room's pipeline plays the track (someone listens), the pipeline's
 * position is read instead and its end of stream ends the song. With
 * nobody listening the room has no pipeline: a timer at the song's library
 * duration ends it, and the next song starts at the clock time that one
 * ended (next_anchor), however late the timer ran. When the pipeline comes
 * back the song joins the timeline in step (rc_room_pipeline_play_at); when
 * it goes, its position becomes the clock's. A song of unknown length (a
 * URL) needs the pipeline to end: it keeps one while it plays.
 */
#include "server/rooms/rc_player-private.h"
#include "server/core/rc_clock.h"
#include "server/rooms/rc_room.h"

/* Where the timeline is by the server clock alone (playing). */
static gint64
clock_position (RcPlayer *self)
{
  GstClockTime now = rc_clock_now ();
  gint64 pos = self->position_ms;

  if (now >= self->anchor)
    pos += (gint64) ((now - self->anchor) / GST_MSECOND);
  else
    pos -= (gint64) ((self->anchor - now) / GST_MSECOND);
  return MAX (pos, 0);
}

gint64
rc_player_position_now (RcPlayer *self)
{
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);

  if (!self->playing || self->url_waiting)
    return self->position_ms;
  if (pipeline != NULL && rc_room_pipeline_has_track (pipeline))
    {
      gint64 pos = rc_room_pipeline_get_position_ms (pipeline);

      if (pos >= 0)
        return pos;
    }
  return clock_position (self);
}

/* The current song reached its duration on the clock (nobody listens). The
 * next starts where it ended, however late this runs. */
static gboolean
on_clock_end (gpointer data)
{
  RcPlayer *self = data;
  RcPlayerItem *item = rc_player_current_item (self);
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);

  self->end_id = 0;
  if (!self->playing || item == NULL
      || (pipeline != NULL && rc_room_pipeline_has_track (pipeline)))
    return G_SOURCE_REMOVE;
  /* (A position past the library's duration, from a stored state or a
   * pipeline whose file runs longer, ends at once.) */
  self->next_anchor = self->anchor + (GstClockTime) MAX (item->duration_ms - self->position_ms, 0)
                                       * GST_MSECOND;
  rc_player_song_ended (self);
  self->next_anchor = 0;
  return G_SOURCE_REMOVE;
}

void
rc_player_clock_update (RcPlayer *self)
{
  RcPlayerItem *item = rc_player_current_item (self);
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);

  g_clear_handle_id (&self->end_id, g_source_remove);
  if (self->playing && item != NULL && item->duration_ms > 0
      && (pipeline == NULL || !rc_room_pipeline_has_track (pipeline)))
    {
      gint64 left = item->duration_ms - clock_position (self);

      self->end_id = g_timeout_add_full (G_PRIORITY_HIGH, (guint) CLAMP (left, 0, G_MAXINT),
                                         on_clock_end, self, NULL);
    }
}

gboolean
rc_player_needs_pipeline (RcPlayer *self)
{
  RcPlayerItem *item = rc_player_current_item (self);

  return self->playing && item != NULL && item->duration_ms <= 0;
}

void
rc_player_pipeline_started (RcPlayer *self, RcRoomPipeline *pipeline)
{
  RcPlayerItem *item = rc_player_current_item (self);

  if (self->starting)
    return;
  if (self->playing && item != NULL)
    rc_player_play_item (self, pipeline, item, self->position_ms, self->anchor);
  rc_player_clock_update (self);
}

void
rc_player_pipeline_stopping (RcPlayer *self, RcRoomPipeline *pipeline)
{
  if (self->playing && rc_room_pipeline_has_track (pipeline))
    {
      gint64 pos = rc_room_pipeline_get_position_ms (pipeline);

      self->position_ms = pos >= 0 ? pos : clock_position (self);
      self->anchor = rc_clock_now ();
    }
}

void
rc_player_pipeline_stopped (RcPlayer *self)
{
  rc_player_clock_update (self);
}

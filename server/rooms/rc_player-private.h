/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/rooms/rc_player.h"

G_BEGIN_DECLS

/*
 * The player's private state, shared by rc_player.c (queue, commands,
 * store), rc_player_clock.c (the timeline on the server clock and the
 * pipeline's comings and goings) and rc_player_url.c (URL songs and the
 * song cache). Main context only.
 */

/* The longest title an item gets (from a tag or a URL), in characters. */
#define RC_PLAYER_TITLE_CHARS 200

typedef struct _RcPlayerItem RcPlayerItem;

struct _RcPlayerItem
{
  char *id;
  char *song_id; /* library song, or NULL */
  char *url;     /* URL item, or NULL */
  char *uri;     /* what the pipeline plays; never sent to clients */
  char *title;
  char *artist;
  char *album;
  gint64 duration_ms; /* 0: unknown */
  char *added_by_id;
  char *added_by_name;
  gint64 added_at;
};

struct _RcPlayer
{
  RcRoom *room; /* borrowed: the room owns us */
  RcStore *store;
  RcLibrary *library;

  GPtrArray *queue; /* RcPlayerItem* */
  guint index;
  gboolean playing;
  gint64 position_ms;   /* paused: the position; playing: the position at anchor */
  GstClockTime anchor;  /* playing: the server clock time of position_ms */
  GstClockTime next_anchor; /* a song that ended on the clock: when the next starts */
  gboolean starting;    /* building the pipeline for a song being started */
  RcLoopMode loop;
  gboolean autoplay;

  guint failures; /* consecutive items that failed to play */

  GQueue recent; /* char* song keys, newest first, at most RECENT_MAX */

  gboolean resume_after_live;

  guint end_id; /* the song's end on the clock, while no pipeline plays it */
  guint empty_pause_id;
  guint empty_pause_s;

  RcUrlCache *url_cache; /* borrowed, may be NULL */
  guint url_listener;
  guint refused_id; /* the current URL song was refused: it fails from an idle */
  /* The current URL song waits for the cache to accept its URL before the
   * pipeline opens it; its position holds meanwhile. */
  gboolean url_waiting;
  guint accepted_id;  /* ... and was accepted (or its download ended): it plays from an idle */
  char *accepted_url; /* the URL accepted_id was armed for */
};

static inline RcPlayerItem *
rc_player_current_item (RcPlayer *self)
{
  return self->index < self->queue->len ? self->queue->pdata[self->index] : NULL;
}

/* rc_player.c: the current song ended (its end of stream, or its duration
 * on the clock): loop it, or what comes next. */
void rc_player_song_ended (RcPlayer *self);

/* rc_player.c: a new item queued by the guest @by_id (@by_name). */
RcPlayerItem *rc_player_item_new (const char *by_id, const char *by_name);

/* rc_player.c: appends @item (taking it) to the queue, starting it when
 * nothing plays; FALSE with RC_ERROR_QUEUE_FULL when there is no room. */
gboolean rc_player_queue_item (RcPlayer *self, RcPlayerItem *item, GError **error);

/* rc_player.c: the current track failed (the pipeline's track_failed
 * callback, @data the player): the next song plays, or the room stops when
 * every item failed in a row. */
void rc_player_on_track_failed (RcRoomPipeline *pipeline, const GError *error, gpointer data);

/* rc_player_url.c: the pipeline plays @item from @position_ms (the song
 * cache's copy of a URL song when it has the whole of it), due at clock
 * time @due_at (GST_CLOCK_TIME_NONE: at once); a URL the cache refused
 * fails as a track would, and one it has not accepted yet waits
 * (url_waiting) with no track, then starts from @position_ms when the
 * cache accepts it. */
void rc_player_play_item (RcPlayer *self, RcRoomPipeline *pipeline, RcPlayerItem *item,
                          gint64 position_ms, GstClockTime due_at);

/* rc_player_clock.c: where the song is now (the pipeline's position while
 * it plays the track, else the clock's); (re)arms the song's end on the
 * clock while no pipeline plays it, or cancels it. */
gint64 rc_player_position_now (RcPlayer *self);
void rc_player_clock_update (RcPlayer *self);

G_END_DECLS

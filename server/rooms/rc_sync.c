/* SPDX-License-Identifier: MIT */
/*
 * The playout delay D is the one number every guest of a room agrees on:
 * a packet stamped C (server clock) is heard at C + D everywhere. It must
 * cover the slowest guest's arrivals (arrival = receive time − C, reported
 * as a 99th percentile) plus a margin for decoding and scheduling, or that
 * guest starts dropping late packets; every millisecond more is latency for
 * everyone (a skip is heard D later). So D rises at once when a report
 * needs it and falls only after reports have asked for less for a while,
 * in steps, so one quiet period does not undo a real need.
 *
 * The timeline message maps RTP timestamps to C with one pair from the
 * pipeline (RTP time is linear in C at 48 kHz), so it is the same for both
 * transports and for every guest.
 *
 * A change of D is announced ahead, with the heard time H (server clock)
 * from which it holds: every player keeps the old D until its output
 * reaches H and then steps to the new one, at the same sample everywhere.
 * Applied when each message arrives instead, players that got it tens of
 * ms apart (or resynced at their own moments) would drift apart with every
 * change. H is placed so that no packet straddles it under the old D
 * (H − D_old is a packet's C), which lets a native guest switch between
 * whole packets; a rise leaves a silence of the rise at H, a fall skips
 * that much audio, the same for everyone.
 */
#include "server/rooms/rc_sync.h"
#include "server/core/rc_clock.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_guest_media.h"
#include "server/rooms/rc_room.h"
#include "pipelines/rc_stats.h"
#include "pipelines/rc_relay_sink.h"
#include "pipelines/rc_ws_branch.h"

#include <math.h>

/* What D keeps above the latest arrivals (decode, render quantum, scheduling). */
#define DELAY_MARGIN_MS 25.0
/* D changes only by more than this. */
#define DELAY_STEP_MS 5.0
/* A rise goes this far past what is needed, rounded up to whole steps of
 * DELAY_STEP_MS: every change of D makes each guest jump (an audible
 * resync), so a slowly growing need should cost one rise, not many. */
#define DELAY_HEADROOM_MS 15.0
#define DELAY_HEADROOM_SHARE 0.2 /* or a fifth of the need, when that is more */
/* The notice a change of D gives beyond the old D: H is at least this far
 * past the content now being made, so the message is everywhere before
 * any player renders H (its output latency included). */
#define DELAY_CHANGE_LEAD_MS 300.0
/* A pending change can still take a new value while H is this far off. */
#define DELAY_CHANGE_NOTICE_MS 250.0
/* The room's packets: C advances this much from one to the next. */
#define PACKET_MS 20.0
/* D falls only after this long of reports asking for less. */
#define DELAY_FALL_AFTER_US (20 * G_USEC_PER_SEC)
/* A report older than this no longer counts toward D. */
#define REPORT_STALE_US (15 * G_USEC_PER_SEC)
/* Frames per message from --ws-bundle-from listeners: 60 ms, which D
 * covers; from --ws-bundle-large-from, RC_WS_BUNDLE_MAX (100 ms): each
 * listener costs the writer one send per message, nearly all of it the
 * kernel's TCP path (docs/benchmarks.md), so fewer, larger messages are
 * what brings one core near 10,000 listeners. */
#define WS_BUNDLE_FRAMES 3
/* How often the WebSocket audio's counters reach the metrics. */
#define WS_COUNT_PERIOD_S 1
#define TIMELINE_RETRY_MS 20
#define TIMELINE_GIVE_UP_MS 5000

struct _RcSync
{
  RcRoom *room; /* borrowed: the room owns us */
  double min_ms, max_ms;
  double delay_ms;            /* D, from delay_change_at_ms on */
  double delay_before_ms;     /* D until then */
  double delay_change_at_ms;  /* heard time H (server clock, ms); 0: none pending */
  guint delay_retry_id;       /* a change that waited for the pending one */
  gint64 wants_less_since_us; /* 0: no report asks for less */

  GHashTable *reports; /* RcGuest* -> RcSyncReport* (guests borrowed) */

  /* RcWsPeer* -> RcGuestMedia* (both borrowed): each listener by its
   * connection, so that a join or a writer's event finds it in O(1). */
  GHashTable *ws_listeners;
  RcWsBranch *ws_branch;
  RcWsGroup *ws_group; /* the listeners' connections (after their timeline) */
  guint ws_bundle_from;
  guint ws_bundle_large_from;
  guint64 ws_dropped;  /* listeners dropped for falling behind */
  guint64 ws_counted_messages, ws_counted_bytes; /* of the group's, in the metrics */
  guint ws_count_id;

  GPtrArray *timeline_waiting; /* guest ids (char*) */
  guint timeline_retry_id;
  gint64 timeline_waiting_since_us;

  /* The origin → edge relay: the room's packets to the edges (other nodes)
   * whose guests listen, while any does. */
  RcRelaySink *relay_sink;
  GHashTable *edges; /* token (gint64*, owned) -> its node's listeners (GUINT_TO_POINTER) */
};

static void stop_ws (RcSync *self);

RcSync *
rc_sync_new (RcRoom *room, const RcRoomSettings *settings)
{
  RcSync *self = g_new0 (RcSync, 1);

  self->room = room;
  self->min_ms = settings->delay_min_ms;
  self->max_ms = MAX (settings->delay_max_ms, self->min_ms);
  self->delay_ms = CLAMP (settings->delay_initial_ms, self->min_ms, self->max_ms);
  self->ws_bundle_from = settings->ws_bundle_from;
  self->ws_bundle_large_from = settings->ws_bundle_large_from;
  self->reports = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->ws_listeners = g_hash_table_new (NULL, NULL);
  self->timeline_waiting = g_ptr_array_new_with_free_func (g_free);
  self->edges = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  return self;
}

void
rc_sync_free (RcSync *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->timeline_retry_id, g_source_remove);
  g_clear_handle_id (&self->delay_retry_id, g_source_remove);
  stop_ws (self);
  g_clear_pointer (&self->relay_sink, rc_relay_sink_free);
  g_hash_table_unref (self->edges);
  g_hash_table_unref (self->ws_listeners);
  g_ptr_array_unref (self->timeline_waiting);
  g_hash_table_unref (self->reports);
  g_free (self);
}

double
rc_sync_get_delay (RcSync *self)
{
  return self->delay_ms;
}

static JsonNode *
timeline_message (RcSync *self)
{
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);
  guint32 rtp;
  GstClockTime when;
  JsonObject *o;
  JsonNode *node;

  if (pipeline == NULL || !rc_room_pipeline_get_timeline (pipeline, &rtp, &when))
    return NULL;
  node = rc_json_message_new ("timeline", &o);
  json_object_set_int_member (o, "rtpTimestamp", rtp);
  json_object_set_double_member (o, "serverTime", (double) when / GST_MSECOND);
  json_object_set_int_member (o, "clockRate", RC_ROOM_PIPELINE_CLOCK_RATE);
  json_object_set_double_member (o, "playoutDelay", self->delay_ms);
  if (self->delay_change_at_ms > rc_clock_now_ms ())
    {
      json_object_set_double_member (o, "previousPlayoutDelay", self->delay_before_ms);
      json_object_set_double_member (o, "playoutDelayAt", self->delay_change_at_ms);
    }
  return node;
}

/* Sends @message (a timeline) to @guest if it has a media session. */
static void
deliver_timeline (RcSync *self, RcGuest *guest, JsonNode *message)
{
  RcGuestMedia *media = rc_room_get_media (self->room, guest);

  if (media != NULL)
    rc_guest_media_deliver_timeline (media, message);
}

static gboolean
on_timeline_retry (gpointer data)
{
  RcSync *self = data;
  g_autoptr (JsonNode) message = timeline_message (self);

  if (message == NULL
      && g_get_monotonic_time () - self->timeline_waiting_since_us < TIMELINE_GIVE_UP_MS * 1000)
    return G_SOURCE_CONTINUE;
  if (message == NULL)
    g_warning ("Room %s: no timeline after %d ms; guests wait for the next change",
               rc_room_get_id (self->room), TIMELINE_GIVE_UP_MS);
  for (guint i = 0; message != NULL && i < self->timeline_waiting->len; i++)
    {
      RcGuest *guest = rc_room_find_guest (self->room, self->timeline_waiting->pdata[i]);

      if (guest != NULL)
        deliver_timeline (self, guest, message);
    }
  g_ptr_array_set_size (self->timeline_waiting, 0);
  self->timeline_retry_id = 0;
  return G_SOURCE_REMOVE;
}

void
rc_sync_send_timeline (RcSync *self, RcGuest *guest)
{
  g_autoptr (JsonNode) message = timeline_message (self);

  if (message != NULL)
    {
      deliver_timeline (self, guest, message);
      return;
    }
  /* A pipeline that has just been built has no packet yet. */
  g_ptr_array_add (self->timeline_waiting, g_strdup (guest->id));
  if (self->timeline_retry_id == 0)
    {
      self->timeline_waiting_since_us = g_get_monotonic_time ();
      self->timeline_retry_id = g_timeout_add (TIMELINE_RETRY_MS, on_timeline_retry, self);
    }
}

static void
broadcast_timeline (RcSync *self)
{
  g_autoptr (JsonNode) message = timeline_message (self);
  GPtrArray *guests = rc_room_get_guests (self->room);

  if (message == NULL)
    return;
  for (guint i = 0; i < guests->len; i++)
    deliver_timeline (self, guests->pdata[i], message);
}

/* The delay the current reports ask for. */
static double
needed_delay (RcSync *self)
{
  GHashTableIter iter;
  gpointer value;
  double worst = 0;
  gint64 now = g_get_real_time ();

  g_hash_table_iter_init (&iter, self->reports);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RcSyncReport *r = value;

      /* A guest that plays early to make up for its own output delay
       * (latencyOffset L > 0) needs each packet L sooner. */
      if ((now - r->reported_at * 1000) < REPORT_STALE_US)
        worst = MAX (worst, r->arrival + r->jitter + MAX (r->latency_offset, 0));
    }
  return CLAMP (worst + DELAY_MARGIN_MS, self->min_ms, self->max_ms);
}

/* What D becomes for @needed: headroom added, rounded up to a whole step. */
static double
with_headroom (double needed)
{
  double headroom = MAX (DELAY_HEADROOM_MS, needed * DELAY_HEADROOM_SHARE);

  return ceil ((needed + headroom) / DELAY_STEP_MS) * DELAY_STEP_MS;
}

/* When a change of D from @before can take effect: the heard time H of a
 * packet far enough ahead, under @before; 0 when no audio plays (nobody to
 * keep in step: it holds at once). */
static double
change_time (RcSync *self, double before)
{
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);
  double now_ms = rc_clock_now_ms ();
  double first_ms, c_ms;
  guint32 rtp;
  GstClockTime when;

  if (pipeline == NULL || !rc_room_pipeline_get_timeline (pipeline, &rtp, &when))
    return 0;
  first_ms = (double) when / GST_MSECOND;
  c_ms = now_ms + DELAY_CHANGE_LEAD_MS;
  c_ms = first_ms + ceil ((c_ms - first_ms) / PACKET_MS) * PACKET_MS;
  return c_ms + before;
}

static void update_delay (RcSync *self);

static gboolean
on_delay_retry (gpointer data)
{
  RcSync *self = data;

  self->delay_retry_id = 0;
  update_delay (self);
  return G_SOURCE_REMOVE;
}

/* Makes @before -> self->delay_ms take effect in step everywhere; FALSE
 * (and D left at @before) when a change already pending is too close to
 * take another value: the next report tries again. */
static gboolean
schedule_change (RcSync *self, double before)
{
  double now_ms = rc_clock_now_ms ();

  if (self->delay_change_at_ms > now_ms)
    {
      if (self->delay_change_at_ms - now_ms < DELAY_CHANGE_NOTICE_MS)
        {
          self->delay_ms = before;
          if (self->delay_retry_id == 0)
            self->delay_retry_id = g_timeout_add (
              (guint) (self->delay_change_at_ms - now_ms) + 1, on_delay_retry, self);
          return FALSE;
        }
      /* Still far off: the pending change takes the new value instead. */
      if (fabs (self->delay_ms - self->delay_before_ms) < 0.5)
        self->delay_change_at_ms = 0;
      return TRUE;
    }
  self->delay_before_ms = before;
  self->delay_change_at_ms = change_time (self, before);
  return TRUE;
}

static void
update_delay (RcSync *self)
{
  double needed = needed_delay (self);
  gint64 now = g_get_monotonic_time ();
  double before = self->delay_ms;

  if (needed > self->delay_ms + 0.5)
    {
      /* Late packets are dropped audio: rise at once, with headroom. */
      self->delay_ms = MIN (with_headroom (needed), self->max_ms);
      self->wants_less_since_us = 0;
    }
  else if (with_headroom (needed) < self->delay_ms - DELAY_STEP_MS)
    {
      if (self->wants_less_since_us == 0)
        self->wants_less_since_us = now;
      else if (now - self->wants_less_since_us >= DELAY_FALL_AFTER_US)
        {
          /* Halfway down each time: a few steps to settle, none too big;
           * in whole packets, so the audio a fall skips is whole packets
           * for every guest (see the top of this file). */
          double floor_ms = MAX (with_headroom (needed), self->min_ms);
          double room = self->delay_ms - floor_ms;

          if (room >= PACKET_MS)
            self->delay_ms -= MAX (floor (room / 2 / PACKET_MS), 1) * PACKET_MS;
          self->wants_less_since_us = now;
        }
    }
  else
    self->wants_less_since_us = 0;

  if (fabs (self->delay_ms - before) >= 0.5 && schedule_change (self, before))
    {
      g_message ("Room %s: playout delay %.0f -> %.0f ms from heard time %.0f",
                 rc_room_get_id (self->room), before, self->delay_ms, self->delay_change_at_ms);
      broadcast_timeline (self);
    }
}

void
rc_sync_report (RcSync *self, RcGuest *guest, const RcSyncReport *report)
{
  RcSyncReport *copy = g_memdup2 (report, sizeof *report);

  copy->valid = TRUE;
  copy->reported_at = g_get_real_time () / 1000;
  rc_metrics_observe (rc_room_get_metrics (self->room), RC_METRIC_SYNC_ERROR, NULL,
                      fabs (report->error) / 1000);
  g_hash_table_replace (self->reports, guest, copy);
  update_delay (self);
}

void
rc_sync_forget (RcSync *self, RcGuest *guest)
{
  g_hash_table_remove (self->reports, guest);
}

/* ---- WebSocket audio ------------------------------------------------------- */

/* Streaming thread: one message for every listener, framed once. */
static void
on_ws_message (GBytes *message, gpointer data)
{
  rc_ws_group_send (data, message);
}

void
rc_sync_count_ws (RcSync *self)
{
  RcMetrics *metrics = rc_room_get_metrics (self->room);
  guint64 messages, bytes;

  if (self->ws_group == NULL)
    return;
  rc_ws_group_get_sent (self->ws_group, &messages, &bytes);
  rc_metrics_add_sent (metrics, "ws", messages, bytes, &self->ws_counted_messages,
                       &self->ws_counted_bytes);
}

static gboolean
on_ws_count (gpointer data)
{
  rc_sync_count_ws (data);
  return G_SOURCE_CONTINUE;
}

static RcGuestMedia *
ws_listener_of (RcSync *self, RcWsPeer *peer)
{
  return g_hash_table_lookup (self->ws_listeners, peer);
}

/* Main context: what the writer saw happen to a listener's connection. */
static void
on_ws_event (RcWsPeer *peer, RcWsGroupEvent event, gpointer data)
{
  RcSync *self = data;
  RcGuestMedia *media = ws_listener_of (self, peer);

  if (media == NULL)
    return;
  if (event == RC_WS_GROUP_FIRST_FRAME)
    rc_guest_media_first_audio (media);
  else
    {
      self->ws_dropped++;
      rc_guest_media_fail_slow (media); /* removes it from the listeners */
    }
}

/* Frames per WebSocket message: bundled in a big room. */
static guint
ws_frames_per_message (RcSync *self)
{
  guint listeners = g_hash_table_size (self->ws_listeners);

  if (self->ws_bundle_large_from > 0 && listeners >= self->ws_bundle_large_from)
    return RC_WS_BUNDLE_MAX;
  if (self->ws_bundle_from > 0 && listeners >= self->ws_bundle_from)
    return WS_BUNDLE_FRAMES;
  return 1;
}

static void
update_bundling (RcSync *self)
{
  if (self->ws_branch != NULL)
    rc_ws_branch_set_frames_per_message (self->ws_branch, ws_frames_per_message (self));
}

/* No callback from the branch or the group after this. */
static void
stop_ws (RcSync *self)
{
  g_clear_pointer (&self->ws_branch, rc_ws_branch_free);
  rc_sync_count_ws (self);
  g_clear_pointer (&self->ws_group, rc_ws_group_free);
  g_clear_handle_id (&self->ws_count_id, g_source_remove);
  self->ws_counted_messages = self->ws_counted_bytes = 0;
}

gboolean
rc_sync_add_ws_listener (RcSync *self, RcGuestMedia *media, GError **error)
{
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);
  RcWsPeer *peer = rc_guest_media_get_guest (media)->ws_peer;

  if (pipeline == NULL || peer == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_MEDIA_FAILED,
                           pipeline == NULL ? "The room has no pipeline"
                                            : "This connection cannot carry audio");
      return FALSE;
    }
  g_hash_table_insert (self->ws_listeners, peer, media);
  if (self->ws_group == NULL)
    {
      self->ws_group = rc_ws_group_new (rc_ws_peer_get_writer (peer), on_ws_event, self);
      self->ws_count_id = g_timeout_add_seconds (WS_COUNT_PERIOD_S, on_ws_count, self);
    }
  if (self->ws_branch == NULL)
    self->ws_branch = rc_ws_branch_new (pipeline, on_ws_message, self->ws_group);
  update_bundling (self);
  return TRUE;
}

void
rc_sync_start_ws_frames (RcSync *self, RcGuestMedia *media)
{
  RcWsPeer *peer = rc_guest_media_get_guest (media)->ws_peer;

  if (self->ws_group != NULL && ws_listener_of (self, peer) == media)
    rc_ws_group_add (self->ws_group, peer);
}

void
rc_sync_remove_ws_listener (RcSync *self, RcGuestMedia *media)
{
  RcWsPeer *peer = rc_guest_media_get_guest (media)->ws_peer;

  if (ws_listener_of (self, peer) != media)
    return;
  g_hash_table_remove (self->ws_listeners, peer);
  rc_ws_group_remove (self->ws_group, peer);
  if (g_hash_table_size (self->ws_listeners) == 0)
    stop_ws (self);
  else
    update_bundling (self);
}

/* ---- the origin → edge relay ----------------------------------------------- */

gboolean
rc_sync_add_edge (RcSync *self, const RcGuestMediaEdge *edge, GError **error)
{
  RcRoomPipeline *pipeline = rc_room_get_pipeline (self->room);
  gint64 key = (gint64) edge->token;
  guint listeners = GPOINTER_TO_UINT (g_hash_table_lookup (self->edges, &key));
  g_autoptr (GError) local = NULL;

  if (pipeline == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_MEDIA_FAILED, "The room has no pipeline");
      return FALSE;
    }
  if (self->relay_sink == NULL && (self->relay_sink = rc_relay_sink_new (pipeline, &local)) == NULL)
    {
      g_warning ("Room %s: no media relay: %s", rc_room_get_id (self->room), local->message);
      g_set_error_literal (error, RC_ERROR, RC_ERROR_MEDIA_FAILED, "The room cannot feed an edge");
      return FALSE;
    }
  if (listeners == 0
      && !rc_relay_sink_add_edge (self->relay_sink, edge->address, edge->port, edge->token, &local))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "\"edge\": %s", local->message);
      if (g_hash_table_size (self->edges) == 0)
        g_clear_pointer (&self->relay_sink, rc_relay_sink_free);
      return FALSE;
    }
  g_hash_table_replace (self->edges, g_memdup2 (&key, sizeof key), GUINT_TO_POINTER (listeners + 1));
  return TRUE;
}

void
rc_sync_remove_edge (RcSync *self, guint64 token)
{
  gint64 key = (gint64) token;
  guint listeners = GPOINTER_TO_UINT (g_hash_table_lookup (self->edges, &key));

  if (listeners == 0)
    return;
  if (listeners > 1)
    {
      g_hash_table_replace (self->edges, g_memdup2 (&key, sizeof key),
                            GUINT_TO_POINTER (listeners - 1));
      return;
    }
  g_hash_table_remove (self->edges, &key);
  rc_relay_sink_remove_edge (self->relay_sink, token);
  /* The branch goes with the last edge, before the pipeline can. */
  if (g_hash_table_size (self->edges) == 0)
    g_clear_pointer (&self->relay_sink, rc_relay_sink_free);
}

/* ---- stats ------------------------------------------------------------------- */

JsonNode *
rc_sync_stats_json (RcSync *self)
{
  JsonObject *o, *sync;
  JsonNode *node = rc_json_message_new (NULL, &o);
  JsonNode *sync_node = rc_json_message_new (NULL, &sync);
  JsonArray *guests = json_array_new ();
  g_autoptr (GArray) errors = g_array_new (FALSE, FALSE, sizeof (double));
  GPtrArray *members = rc_room_get_guests (self->room);

  json_object_set_string_member (o, "roomId", rc_room_get_id (self->room));
  json_object_set_double_member (o, "playoutDelay", self->delay_ms);
  json_object_set_int_member (o, "clockRate", RC_ROOM_PIPELINE_CLOCK_RATE);
  json_object_set_int_member (o, "wsListeners", g_hash_table_size (self->ws_listeners));
  json_object_set_int_member (o, "wsDropped", (gint64) self->ws_dropped);
  json_object_set_int_member (o, "wsFramesPerMessage", ws_frames_per_message (self));
  if (self->relay_sink != NULL)
    {
      RcRelaySinkStats relay;
      JsonObject *r;
      JsonNode *r_node = rc_json_message_new (NULL, &r);

      rc_relay_sink_get_stats (self->relay_sink, &relay);
      json_object_set_int_member (r, "edges", relay.edges);
      json_object_set_int_member (r, "packets", (gint64) relay.packets);
      json_object_set_int_member (r, "datagrams", (gint64) relay.datagrams);
      json_object_set_int_member (r, "sendFailed", (gint64) relay.send_failed);
      json_object_set_member (o, "relay", r_node);
    }
  /* In join order, like the participants list. */
  for (guint i = 0; i < members->len; i++)
    {
      RcGuest *guest = members->pdata[i];
      RcSyncReport *r = g_hash_table_lookup (self->reports, guest);
      JsonObject *g;
      JsonNode *g_node;
      double abs_error;

      if (r == NULL)
        continue;
      g_node = rc_json_message_new (NULL, &g);
      json_object_set_string_member (g, "id", guest->id);
      json_object_set_string_member (g, "name", guest->name);
      json_object_set_string_member (g, "transport", r->transport);
      json_object_set_double_member (g, "error", r->error);
      json_object_set_double_member (g, "arrival", r->arrival);
      json_object_set_double_member (g, "jitter", r->jitter);
      json_object_set_double_member (g, "latencyOffset", r->latency_offset);
      json_object_set_int_member (g, "underruns", r->underruns);
      json_object_set_int_member (g, "reportedAt", r->reported_at);
      json_array_add_element (guests, g_node);
      abs_error = fabs (r->error);
      g_array_append_val (errors, abs_error);
    }
  json_object_set_array_member (o, "guests", guests);
  json_object_set_int_member (sync, "reporting", errors->len);
  json_object_set_double_member (sync, "errorP50", rc_percentile (errors, 0.50));
  json_object_set_double_member (sync, "errorP95", rc_percentile (errors, 0.95));
  json_object_set_double_member (sync, "errorMax", rc_percentile (errors, 1.0));
  json_object_set_member (o, "sync", sync_node);
  return node;
}

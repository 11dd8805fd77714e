/* SPDX-License-Identifier: MIT */
/*
 * The room's side of a live host. Why it is built this way:
 *
 * - WHIP and SRT differ only in how the host's audio arrives; what a host
 *   does to a room (one at a time, the queue paused or ducked, guests told,
 *   figures published) is the same, so it lives here once and the
 *   transports only report "begun", "on air" and "ended".
 * - The publisher slot is taken at rc_live_begin, before any media flows,
 *   so a second host is refused at once (HTTP 409, or SRT's handshake) and
 *   revoking a key or closing the room reaches a host still connecting.
 * - The policy applies only when audio reaches the mixer: a host that never
 *   connects costs the room nothing. It is re-applied when the owner
 *   changes it mid-broadcast, so a switch between takeover and talkover is
 *   heard at once.
 * - Stats are pushed on a timer while on air (not per packet): a guest
 *   display and an operator's dashboard need a figure every few seconds,
 *   and packet loss is a fraction over the last period.
 *
 * Main context only.
 */
#include "server/rooms/rc_live.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"

struct _RcLive
{
  RcLiveHost *host;
  RcRoom *room; /* strong */
  char *key_id;
  const char *protocol;
  RcLiveTransport transport;
  gpointer data;
  RcRoomPipeline *pipeline; /* held (rc_room_acquire_pipeline) */
  GstElement *input;        /* strong, once on air */
  gint64 begun_us;
  gint64 on_air_us; /* 0 until on air */
  guint stats_id;
  /* What the policy did, to undo exactly that. */
  gboolean queue_held;
  gboolean ducking;
  /* For the loss fraction over the last period. */
  guint64 last_packets;
  gint64 last_lost;
  double loss_fraction;
};

static void
notify_room (RcRoom *room, const char *text)
{
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("notification", &o);

  json_object_set_string_member (o, "kind", "live");
  json_object_set_string_member (o, "text", text);
  rc_room_broadcast (room, message, NULL);
}

/* ---- the mixing policy ---------------------------------------------------- */

static void
policy_undo (RcLive *live)
{
  RcPlayer *player = rc_room_get_player (live->room);

  if (live->ducking)
    {
      live->ducking = FALSE;
      rc_room_pipeline_set_ducking (live->pipeline, NULL, NULL);
    }
  if (live->queue_held)
    {
      live->queue_held = FALSE;
      if (player != NULL)
        rc_player_set_live (player, FALSE);
    }
}

static void
policy_apply (RcLive *live)
{
  const RcMixPolicy *policy = rc_room_get_mix_policy (live->room);
  RcPlayer *player = rc_room_get_player (live->room);

  if (policy->mode == RC_MIX_TALKOVER)
    {
      RcDuckingParams ducking = RC_DUCKING_DEFAULT;

      if (live->queue_held)
        {
          live->queue_held = FALSE;
          if (player != NULL)
            rc_player_set_live (player, FALSE);
        }
      ducking.duck_db = policy->duck_db;
      ducking.threshold_db = policy->threshold_db;
      rc_room_pipeline_set_ducking (live->pipeline, live->input, &ducking);
      live->ducking = TRUE;
      return;
    }
  if (live->ducking)
    {
      live->ducking = FALSE;
      rc_room_pipeline_set_ducking (live->pipeline, NULL, NULL);
    }
  if (!live->queue_held && player != NULL)
    {
      live->queue_held = TRUE;
      rc_player_set_live (player, TRUE);
    }
}

void
rc_live_policy_changed (RcRoom *room)
{
  RcLive *live = rc_live_for_room (room);

  if (live != NULL && live->on_air_us != 0)
    policy_apply (live);
}

/* ---- stats ----------------------------------------------------------------- */

static void
fill_stats_json (RcLive *live, const RcLiveStats *figures, JsonObject *o)
{
  RcLiveStats stats = *figures;
  double delay;

  json_object_set_boolean_member (o, "live", live->on_air_us != 0);
  json_object_set_string_member (o, "protocol", live->protocol);
  json_object_set_int_member (o, "durationMs",
                              live->on_air_us != 0
                                ? (g_get_monotonic_time () - live->on_air_us) / 1000
                                : 0);
  json_object_set_int_member (o, "bitrate", (gint64) stats.bitrate);
  json_object_set_int_member (o, "packets", (gint64) stats.packets);
  json_object_set_int_member (o, "lost", stats.lost);
  json_object_set_double_member (o, "packetLoss", live->loss_fraction);
  json_object_set_double_member (o, "jitterMs", stats.jitter_ms);
  if (stats.rtt_ms >= 0)
    json_object_set_double_member (o, "rttMs", stats.rtt_ms);
  else
    json_object_set_null_member (o, "rttMs");
  /* Host→server: half the round trip (when the transport knows it) plus
   * the time the audio waits at the server before it is mixed. */
  delay = stats.buffer_ms + (stats.rtt_ms > 0 ? stats.rtt_ms / 2 : 0);
  json_object_set_double_member (o, "delayMs", delay);
  json_object_set_string_member (o, "mixMode",
                                 rc_mix_mode_to_string (rc_room_get_mix_policy (live->room)->mode));
  if (live->ducking)
    {
      json_object_set_double_member (o, "duckDb",
                                     rc_room_pipeline_get_duck_gain_db (live->pipeline));
    }
}

static void
get_stats (RcLive *live, RcLiveStats *stats)
{
  *stats = (RcLiveStats) { .rtt_ms = -1 };
  live->transport.stats (live, stats, live->data);
}

/* Moves the loss fraction on by one period. */
static void
sample_loss (RcLive *live, const RcLiveStats *stats)
{
  guint64 packets;
  gint64 lost;

  packets = stats->packets - MIN (stats->packets, live->last_packets);
  lost = MAX (stats->lost - live->last_lost, 0);
  live->loss_fraction = packets + lost > 0 ? (double) lost / (double) (packets + lost) : 0.0;
  live->last_packets = stats->packets;
  live->last_lost = stats->lost;
}

/* broadcastStats for @room, with @live's @stats (or without a host). */
static JsonNode *
stats_message (RcRoom *room, RcLive *live, const RcLiveStats *stats)
{
  JsonObject *o;
  JsonNode *node = rc_json_message_new ("broadcastStats", &o);

  if (live != NULL)
    fill_stats_json (live, stats, o);
  else
    json_object_set_boolean_member (o, "live", FALSE);
  json_object_set_int_member (o, "guests", rc_room_get_guest_count (room));
  return node;
}

JsonNode *
rc_live_stats_json (RcRoom *room)
{
  RcLive *live = rc_live_for_room (room);
  RcLiveStats stats = { .rtt_ms = -1 };

  if (live != NULL)
    get_stats (live, &stats);
  return stats_message (room, live, &stats);
}

static gboolean
on_stats_tick (gpointer data)
{
  RcLive *live = data;
  g_autoptr (JsonNode) message = NULL;
  RcLiveStats stats;

  get_stats (live, &stats);
  sample_loss (live, &stats);
  message = stats_message (live->room, live, &stats);
  rc_room_broadcast (live->room, message, NULL);
  return G_SOURCE_CONTINUE;
}

/* ---- life cycle ------------------------------------------------------------ */

/* The room ends its host: its key was revoked (gone from the room
 * already), or the room is being deleted (the key is still there). */
static void
on_publisher_end (RcRoom *room, gpointer data)
{
  RcLive *live = data;
  GPtrArray *keys = rc_room_get_publish_keys (room);

  for (guint i = 0; i < keys->len; i++)
    if (g_str_equal (((RcPublishKey *) keys->pdata[i])->id, live->key_id))
      {
        live->transport.end (live, RC_ERROR_NOT_FOUND, "The room was closed", live->data);
        return;
      }
  live->transport.end (live, RC_ERROR_UNAUTHORIZED, "The publish key was revoked", live->data);
}

RcLive *
rc_live_begin (RcLiveHost *host, RcRoom *room, const char *key_id, const char *protocol,
               const RcLiveTransport *transport, gpointer data, GError **error)
{
  guint max = (guint) host->config->max_publishers;
  RcRoomPipeline *pipeline;
  RcLive *live;

  if (rc_room_has_publisher (room))
    {
      rc_error_set (error, RC_ERROR_ALREADY_LIVE);
      return NULL;
    }
  if (host->hosts >= max)
    {
      if (max == 0)
        g_set_error_literal (error, RC_ERROR, RC_ERROR_TOO_MANY_PUBLISHERS,
                             "Live ingest is turned off on this server");
      else
        rc_error_set (error, RC_ERROR_TOO_MANY_PUBLISHERS);
      return NULL;
    }
  pipeline = rc_room_acquire_pipeline (room, error);
  if (pipeline == NULL)
    return NULL;
  live = g_new0 (RcLive, 1);
  live->host = host;
  live->room = rc_room_ref (room);
  live->key_id = g_strdup (key_id);
  live->protocol = protocol;
  live->transport = *transport;
  live->data = data;
  live->pipeline = pipeline;
  live->begun_us = g_get_monotonic_time ();
  host->hosts++;
  rc_room_set_publisher (room, key_id, on_publisher_end, live);
  return live;
}

RcRoomPipeline *
rc_live_get_pipeline (RcLive *live)
{
  return live->pipeline;
}

RcRoom *
rc_live_get_room (RcLive *live)
{
  return live->room;
}

const char *
rc_live_get_key_id (RcLive *live)
{
  return live->key_id;
}

RcLive *
rc_live_for_room (RcRoom *room)
{
  return rc_room_get_publisher_data (room);
}

void
rc_live_on_air (RcLive *live, GstElement *input)
{
  if (live->on_air_us != 0)
    return;
  live->on_air_us = g_get_monotonic_time ();
  live->input = gst_object_ref (input);
  g_message ("Room %s: a host is on air over %s (%s)", rc_room_get_id (live->room),
             live->protocol, rc_mix_mode_to_string (rc_room_get_mix_policy (live->room)->mode));
  policy_apply (live);
  notify_room (live->room, "Host is live");
  live->stats_id = g_timeout_add_seconds (RC_LIVE_STATS_PERIOD_S, on_stats_tick, live);
  on_stats_tick (live);
}

void
rc_live_end (RcLive *live, const char *why)
{
  gboolean was_on_air = live->on_air_us != 0;

  g_clear_handle_id (&live->stats_id, g_source_remove);
  policy_undo (live);
  live->on_air_us = 0;
  rc_room_clear_publisher (live->room);
  g_warn_if_fail (live->host->hosts > 0);
  live->host->hosts -= MIN (live->host->hosts, 1);
  if (was_on_air)
    {
      g_autoptr (JsonNode) last = rc_live_stats_json (live->room);

      notify_room (live->room, "Host has left");
      rc_room_broadcast (live->room, last, NULL);
    }
  g_debug ("Room %s: host over %s ended: %s", rc_room_get_id (live->room), live->protocol, why);
  gst_clear_object (&live->input);
  rc_room_release_pipeline (live->room);
  rc_room_unref (live->room);
  g_free (live->key_id);
  g_free (live);
}

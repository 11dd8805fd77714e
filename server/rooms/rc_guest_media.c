/* SPDX-License-Identifier: MIT */
/*
 * A guest's audio session in one place. Why it exists: the session has a
 * pipeline to hold, a transport (a WebRTC branch on the room's pipeline, or
 * the room's WebSocket frames), a timeline message that must reach the
 * guest before any frame, and an end that must undo all of it whoever
 * causes it (stopMedia, a new startMedia, a failed branch, the guest
 * leaving, the room going). The signalling handler only checks requests and
 * turns the callbacks into replies.
 *
 * A WebRTC guest is served by the process's fan-out engine
 * (pipelines/rc_fanout.c: one stream per room pipeline, hung on its RTP tap
 * by the first guest and freed with the pipeline) or, with
 * --webrtc-fanout webrtcbin, by a webrtcbin branch of its own.
 *
 * It also counts what reaches the guest for the metrics: WebSocket frames as
 * they are handed out; WebRTC packets by polling the branch's or the
 * engine's counters (often until the first, then each second, and at its
 * end), since they pass on another thread.
 *
 * Ordering rule: the WebRTC offer (the "started" callback) goes out before
 * the timeline; a WebSocket session is told it started, then gets the
 * timeline, then frames. Everything here runs on the main context, the
 * branch's callbacks included.
 */
#include "server/rooms/rc_guest_media.h"
#include "server/core/rc_error.h"
#include "server/rooms/rc_room.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_sync.h"
#include "pipelines/rc_fanout.h"
#include "pipelines/rc_fanout_tap.h"
#include "pipelines/rc_webrtc_branch.h"

/* How often a WebRTC branch is looked at until its first packet. */
#define POLL_FIRST_MS 20

struct _RcGuestMedia
{
  RcRoom *room;   /* strong, for giving the pipeline back */
  RcGuest *guest; /* borrowed: the room ends us before the guest goes */
  RcGuestMediaTransport transport;
  RcWebrtcBranch *branch; /* webrtc through webrtcbin */
  RcFanoutGuest *fanout;  /* webrtc through the fan-out engine */
  gboolean ws_listening;  /* ws: on the room's listener list */
  gboolean edge_feeding;  /* edge: its node is fed the room's packets for it */
  guint64 edge_token;
  gboolean has_timeline;  /* the guest was told the timeline */
  guint poll_id;          /* webrtc: counting the branch's packets */
  guint64 counted_packets, counted_bytes; /* webrtc: of them, in the metrics already */
  RcGuestMediaCallbacks callbacks;
  gpointer user_data;
  GDestroyNotify destroy;
};

/* The first audio the guest gets ends its join's latency. */
static void
count_first_audio (RcGuestMedia *media)
{
  if (media->guest->joined_us == 0)
    return;
  rc_metrics_observe (rc_room_get_metrics (media->room), RC_METRIC_JOIN_LATENCY, "first_audio",
                      (g_get_monotonic_time () - media->guest->joined_us) / 1e6);
  media->guest->joined_us = 0;
}

static guint64
get_sent (RcGuestMedia *media, guint64 *bytes)
{
  RcFanoutGuestStats stats;

  if (media->branch != NULL)
    return rc_webrtc_branch_get_sent (media->branch, bytes);
  rc_fanout_guest_get_stats (media->fanout, &stats);
  *bytes = stats.bytes_sent;
  return stats.packets_sent;
}

static void
count_branch (RcGuestMedia *media)
{
  RcMetrics *metrics = rc_room_get_metrics (media->room);
  guint64 bytes, packets = get_sent (media, &bytes);

  if (packets > 0)
    count_first_audio (media);
  rc_metrics_add_sent (metrics, "webrtc", packets, bytes, &media->counted_packets,
                       &media->counted_bytes);
}

static gboolean
poll_branch (gpointer data)
{
  RcGuestMedia *media = data;
  gboolean was_silent = media->counted_packets == 0;

  count_branch (media);
  if (was_silent && media->counted_packets > 0)
    {
      /* Heard: from now on once a second is enough. */
      media->poll_id = g_timeout_add_seconds (1, poll_branch, media);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

void
rc_guest_media_free (RcGuestMedia *media)
{
  if (media == NULL)
    return;
  g_clear_handle_id (&media->poll_id, g_source_remove);
  if (media->branch != NULL || media->fanout != NULL)
    count_branch (media);
  g_clear_pointer (&media->branch, rc_webrtc_branch_free);
  g_clear_pointer (&media->fanout, rc_fanout_guest_free);
  if (media->ws_listening)
    rc_sync_remove_ws_listener (rc_room_get_sync (media->room), media);
  if (media->edge_feeding)
    rc_sync_remove_edge (rc_room_get_sync (media->room), media->edge_token);
  rc_room_release_pipeline (media->room);
  if (media->destroy != NULL)
    media->destroy (media->user_data);
  rc_room_unref (media->room);
  g_free (media);
}

static void
send_offer (RcGuestMedia *media, const char *sdp)
{

  if (media->callbacks.started != NULL)
    media->callbacks.started (media->guest, sdp, media->user_data);
  rc_sync_send_timeline (rc_room_get_sync (media->room), media->guest);
}

static void
on_ice (RcWebrtcBranch *branch, guint mline_index, const char *candidate, gpointer data)
{
  RcGuestMedia *media = data;

  if (media->callbacks.ice != NULL)
    media->callbacks.ice (media->guest, mline_index, candidate, media->user_data);
}

/* Ends the session, then tells whoever started it. */
static void
on_offer (RcWebrtcBranch *branch, const char *sdp, gpointer data)
{
  send_offer (data, sdp);
}

static void
end_failed (RcGuestMedia *media, const char *reason, int code)
{
  RcGuest *guest = media->guest;
  RcGuestMediaCallbacks callbacks = media->callbacks;
  gpointer user_data = media->user_data;
  GDestroyNotify destroy = media->destroy;

  g_message ("Room %s: audio for guest %s failed: %s", rc_room_get_id (media->room), guest->id,
             reason);
  /* The session is over before the guest hears of it; its data lives until
   * the callback has run. */
  media->destroy = NULL;
  rc_room_stop_media (media->room, guest); /* frees @media */
  if (callbacks.failed != NULL)
    callbacks.failed (guest, reason, code, user_data);
  if (destroy != NULL)
    destroy (user_data);
}

static void
on_failed (RcWebrtcBranch *branch, const char *reason, gpointer data)
{
  end_failed (data, reason, 0);
}

static const RcWebrtcBranchCallbacks branch_callbacks = {
  .offer = on_offer,
  .ice = on_ice,
  .failed = on_failed,
};

static void
on_fanout_offer (RcFanoutGuest *guest, const char *sdp, gpointer data)
{
  send_offer (data, sdp);
}

static void
on_fanout_failed (RcFanoutGuest *guest, const char *reason, gpointer data)
{
  end_failed (data, reason, 0);
}

static const RcFanoutGuestCallbacks fanout_callbacks = {
  .offer = on_fanout_offer,
  .failed = on_fanout_failed,
};

RcGuestMedia *
rc_guest_media_new (RcRoom *room, RcGuest *guest, RcRoomPipeline *pipeline,
                    RcGuestMediaTransport transport, const RcGuestMediaEdge *edge,
                    const RcGuestMediaCallbacks *callbacks,
                    gpointer user_data, GDestroyNotify destroy, GError **error)
{
  RcGuestMedia *media = g_new0 (RcGuestMedia, 1);
  g_autoptr (GError) local = NULL;

  media->room = rc_room_ref (room);
  media->guest = guest;
  media->transport = transport;
  media->callbacks = *callbacks;
  media->user_data = user_data;
  media->destroy = destroy;
  if (transport == RC_GUEST_MEDIA_WS)
    {
      if (!rc_sync_add_ws_listener (rc_room_get_sync (room), media, error))
        {
          rc_guest_media_free (media);
          return NULL;
        }
      media->ws_listening = TRUE;
      return media;
    }
  if (transport == RC_GUEST_MEDIA_EDGE)
    {
      if (edge == NULL || !rc_sync_add_edge (rc_room_get_sync (room), edge, error))
        {
          rc_guest_media_free (media);
          return NULL;
        }
      media->edge_feeding = TRUE;
      media->edge_token = edge->token;
      return media;
    }
  if (rc_room_get_fanout (room) != NULL)
    {
      RcFanoutStream *stream =
        rc_fanout_tap_stream (rc_room_get_fanout (room), pipeline, rc_room_get_id (room));

      media->fanout = rc_fanout_guest_new (stream, guest->id, &fanout_callbacks, media);
      media->poll_id = g_timeout_add (POLL_FIRST_MS, poll_branch, media);
      return media;
    }
  media->branch = rc_webrtc_branch_new (pipeline, guest->id, &branch_callbacks, media, &local);
  if (media->branch == NULL)
    {
      g_warning ("Room %s: cannot start audio for guest %s: %s", rc_room_get_id (room), guest->id,
                 local->message);
      rc_guest_media_free (media);
      rc_error_set (error, RC_ERROR_MEDIA_FAILED);
      return NULL;
    }
  media->poll_id = g_timeout_add (POLL_FIRST_MS, poll_branch, media);
  return media;
}

/* Called by the room once @media is the guest's session: a WebSocket
 * (or an edge's) session has started, and its timeline follows its start. */
void
rc_guest_media_begin (RcGuestMedia *media)
{
  if (media->transport == RC_GUEST_MEDIA_WEBRTC)
    return;
  if (media->callbacks.started != NULL)
    media->callbacks.started (media->guest, NULL, media->user_data);
  rc_sync_send_timeline (rc_room_get_sync (media->room), media->guest);
}

static gboolean
check_webrtc (RcGuestMedia *media, const char *what, GError **error)
{
  if (media->branch != NULL || media->fanout != NULL)
    return TRUE;
  g_set_error (error, RC_ERROR, RC_ERROR_NO_MEDIA,
               "This media session is on the WebSocket; it takes no %s", what);
  return FALSE;
}

gboolean
rc_guest_media_set_answer (RcGuestMedia *media, const char *sdp, GError **error)
{
  if (!check_webrtc (media, "answer", error))
    return FALSE;
  if (media->fanout != NULL)
    return rc_fanout_guest_set_answer (media->fanout, sdp, error);
  return rc_webrtc_branch_set_answer (media->branch, sdp, error);
}

gboolean
rc_guest_media_add_ice (RcGuestMedia *media, guint mline_index, const char *candidate,
                        GError **error)
{
  if (!check_webrtc (media, "candidates", error))
    return FALSE;
  if (media->fanout != NULL)
    return rc_fanout_guest_add_ice (media->fanout, mline_index, candidate, error);
  return rc_webrtc_branch_add_ice (media->branch, mline_index, candidate, error);
}

RcGuestMediaTransport
rc_guest_media_get_transport (RcGuestMedia *media)
{
  return media->transport;
}

RcGuest *
rc_guest_media_get_guest (RcGuestMedia *media)
{
  return media->guest;
}

void
rc_guest_media_deliver_timeline (RcGuestMedia *media, JsonNode *message)
{
  media->guest->send (media->guest, message, media->guest->send_data);
  /* The timeline is queued on the connection before any frame. */
  if (media->ws_listening && !media->has_timeline)
    rc_sync_start_ws_frames (rc_room_get_sync (media->room), media);
  media->has_timeline = TRUE;
}

void
rc_guest_media_first_audio (RcGuestMedia *media)
{
  count_first_audio (media);
}

void
rc_guest_media_fail_slow (RcGuestMedia *media)
{
  end_failed (media, "tooSlow", RC_ERROR_TOO_SLOW);
}

static JsonNode *
fanout_guest_json (RcGuest *guest, RcFanoutGuest *fanout_guest)
{
  RcFanoutGuestStats stats;
  JsonObject *g;
  JsonNode *node = rc_json_message_new (NULL, &g);

  rc_fanout_guest_get_stats (fanout_guest, &stats);
  json_object_set_string_member (g, "id", guest->id);
  json_object_set_boolean_member (g, "connected", stats.connected);
  json_object_set_int_member (g, "packetsSent", (gint64) stats.packets_sent);
  json_object_set_int_member (g, "receiverReports", (gint64) stats.reports);
  json_object_set_double_member (g, "fractionLost", stats.fraction_lost);
  json_object_set_int_member (g, "cumulativeLost", stats.cumulative_lost);
  json_object_set_double_member (g, "jitterMs", stats.jitter_ms);
  if (stats.rtt_ms >= 0)
    json_object_set_double_member (g, "rttMs", stats.rtt_ms);
  else
    json_object_set_null_member (g, "rttMs");
  return node;
}

JsonNode *
rc_guest_media_webrtc_stats_json (RcRoom *room, gboolean with_guests)
{
  RcFanout *fanout = rc_room_get_fanout (room);
  GPtrArray *members = rc_room_get_guests (room);
  JsonArray *guests = json_array_new ();
  RcFanoutStats stats;
  JsonObject *o;
  JsonNode *node = rc_json_message_new (NULL, &o);

  json_object_set_string_member (o, "fanout", fanout != NULL ? "engine" : "webrtcbin");
  for (guint i = 0; with_guests && i < members->len; i++)
    {
      RcGuest *guest = members->pdata[i];
      RcGuestMedia *media = rc_room_get_media (room, guest);

      if (media != NULL && media->fanout != NULL)
        json_array_add_element (guests, fanout_guest_json (guest, media->fanout));
    }
  json_object_set_array_member (o, "guests", guests);
  if (fanout == NULL)
    return node;
  /* The engine's figures are the process's: every room shares its port. */
  rc_fanout_get_stats (fanout, &stats);
  json_object_set_int_member (o, "port", rc_fanout_get_port (fanout));
  json_object_set_int_member (o, "engineGuests", stats.guests);
  json_object_set_int_member (o, "packetsSent", (gint64) stats.packets_sent);
  json_object_set_int_member (o, "sendFailed", (gint64) stats.send_failed);
  json_object_set_int_member (o, "batches", (gint64) stats.batches);
  json_object_set_double_member (o, "latencyP50Ms", stats.latency_p50_ms);
  json_object_set_double_member (o, "latencyP99Ms", stats.latency_p99_ms);
  json_object_set_double_member (o, "waitP50Ms", stats.wait_p50_ms);
  json_object_set_double_member (o, "waitP99Ms", stats.wait_p99_ms);
  json_object_set_int_member (o, "stalePackets", (gint64) stats.stale_packets);
  {
    JsonObject *d;
    JsonNode *dropped = rc_json_message_new (NULL, &d);

    json_object_set_int_member (d, "unknownAddress", (gint64) stats.dropped_unknown);
    json_object_set_int_member (d, "stunRefused", (gint64) stats.dropped_stun);
    json_object_set_int_member (d, "malformed", (gint64) stats.dropped_malformed);
    json_object_set_int_member (d, "dtls", (gint64) stats.dropped_dtls);
    json_object_set_int_member (d, "srtp", (gint64) stats.dropped_srtp);
    json_object_set_int_member (d, "timedOut", (gint64) stats.guests_timed_out);
    json_object_set_member (o, "dropped", dropped);
  }
  return node;
}

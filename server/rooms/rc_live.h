/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/core/rc_rate_limit.h"
#include "server/rc_config.h"
#include "server/rooms/rc_registry.h"
#include "server/rooms/rc_room.h"

G_BEGIN_DECLS

/*
 * RcLive: a live host in a room, whatever carries its audio (WHIP, SRT).
 * The transport (server/rc_whip.c, server/rc_srt.c) owns the connection and
 * the elements that decode it; RcLive is the room's side of it:
 *
 * - the room's publisher slot (one host per room) and the server-wide
 *   limit (--max-publishers), taken by rc_live_begin;
 * - the room's pipeline, held while the host is on;
 * - the room's mixing policy once the host's audio reaches the mixer
 *   (rc_live_on_air): takeover pauses the queue until the host ends;
 *   talkover keeps it playing, ducked under the host's voice;
 * - the guests' notifications (kind "live") and broadcast stats: pushed
 *   as broadcastStats every RC_LIVE_STATS_PERIOD_S while on air, and in
 *   GET /api/rooms/{id}/stats.
 *
 * Main context only.
 */
typedef struct _RcLive RcLive;

/*
 * What the live transports need of the rest of the server, handed down by
 * whoever starts them (server/http/rc_app.c) and outliving them: the options,
 * the rooms, the REST write budget (WHIP's POST and DELETE are REST writes)
 * and the server-wide count of hosts against --max-publishers.
 */
typedef struct
{
  const RcConfig *config;
  RcRegistry *registry;
  RcRateLimits *rest_limits;
  guint hosts; /* hosts on air or being set up; changed by rc_live_begin/_end only */
} RcLiveHost;

#define RC_LIVE_STATS_PERIOD_S 2

/* What the transport knows of the host's stream; fill what applies. */
typedef struct
{
  guint64 packets;   /* media packets received */
  guint64 bytes;     /* their payload bytes */
  gint64 lost;       /* packets lost */
  double jitter_ms;  /* interarrival jitter, ms */
  double bitrate;    /* bits/s, recent */
  double rtt_ms;     /* round trip to the host, or < 0 when unknown */
  double buffer_ms;  /* how long audio waits at the server before the mix */
} RcLiveStats;

typedef struct
{
  /* The room ends the host (its key was revoked: RC_ERROR_UNAUTHORIZED; the
   * room is closing: RC_ERROR_NOT_FOUND). The transport must tear its side
   * down and call rc_live_end, which it may do from here. */
  void (*end) (RcLive *live, int code, const char *why, gpointer data);
  /* The current figures (for stats). */
  void (*stats) (RcLive *live, RcLiveStats *stats, gpointer data);
} RcLiveTransport;

/*
 * Takes @room's publisher slot and its pipeline for a host with @key_id
 * over @protocol ("whip", "srt"; static). NULL with @error:
 * RC_ERROR_ALREADY_LIVE (another host), RC_ERROR_TOO_MANY_PUBLISHERS (the
 * server's limit), RC_ERROR_MEDIA_FAILED (no pipeline).
 */
RcLive *rc_live_begin (RcLiveHost *host, RcRoom *room, const char *key_id, const char *protocol,
                       const RcLiveTransport *transport, gpointer data, GError **error);
RcRoomPipeline *rc_live_get_pipeline (RcLive *live);
RcRoom *rc_live_get_room (RcLive *live);
const char *rc_live_get_key_id (RcLive *live);

/* The host's audio reaches the mixer through @input (the element handed to
 * rc_room_pipeline_add_input): the room's policy applies and guests are
 * told. */
void rc_live_on_air (RcLive *live, GstElement *input);

/* Undoes all of it (guests are told if it was on air) and frees @live. */
void rc_live_end (RcLive *live, const char *why);

/* The room's host, or NULL. */
RcLive *rc_live_for_room (RcRoom *room);
/* {live, protocol, ...figures, guests}: what broadcastStats carries. */
JsonNode *rc_live_stats_json (RcRoom *room);
/* The room's mixing policy changed (rc_room_set_mix_policy): apply it to a
 * host on air. */
void rc_live_policy_changed (RcRoom *room);

G_END_DECLS

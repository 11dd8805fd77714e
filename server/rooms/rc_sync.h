/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

#include "server/rooms/rc_guest_media.h"

G_BEGIN_DECLS

typedef struct _RcRoom RcRoom;
typedef struct _RcGuest RcGuest;
typedef struct _RcGuestMedia RcGuestMedia;
typedef struct _RcRoomSettings RcRoomSettings;

/*
 * RcSync: one room's shared timeline as guests see it. It owns the playout
 * delay D (every guest renders the packet of server time C at C + D), keeps
 * each guest's latest syncReport, moves D to cover the latest arrivals, and
 * tells guests with media the timeline (RTP timestamp ↔ server time, D)
 * when they start and whenever D changes. It also carries the room's
 * WebSocket audio: one RcWsBranch on the room pipeline while any guest
 * listens that way, its messages handed on the streaming thread to an
 * RcWsGroup of the listeners' connections (server/core/rc_ws_writer.h),
 * bundled 3 to a message from --ws-bundle-from listeners and 5 from
 * --ws-bundle-large-from. In a cluster it
 * feeds the edges (other nodes) whose guests listen: one RcRelaySink on the
 * pipeline while any does (the origin → edge relay).
 * Main context only.
 */
typedef struct _RcSync RcSync;

typedef struct
{
  gboolean valid;
  char transport[8]; /* "webrtc", "ws", "native" */
  double error;      /* ms, rendered minus C + D */
  double arrival;    /* ms after C, 99th percentile */
  double jitter;     /* ms */
  double latency_offset;
  gint64 underruns;
  gint64 reported_at; /* ms since the epoch */
} RcSyncReport;

/* D starts at @settings' initial delay and stays within its bounds (ms). */
RcSync *rc_sync_new (RcRoom *room, const RcRoomSettings *settings);
void rc_sync_free (RcSync *sync);

double rc_sync_get_delay (RcSync *sync);

/* Sends @guest the timeline as soon as the room's pipeline has one. */
void rc_sync_send_timeline (RcSync *sync, RcGuest *guest);

/* A guest's report; may move D (then every guest with media hears of it). */
void rc_sync_report (RcSync *sync, RcGuest *guest, const RcSyncReport *report);
/* The guest's media ended or it left: its report no longer counts. */
void rc_sync_forget (RcSync *sync, RcGuest *guest);

/* @media (a guest's session, see rc_guest_media.h) becomes one of the
 * room's WebSocket listeners: FALSE with @error when the room has no
 * pipeline or the guest no connection to write to. Frames reach it once
 * rc_sync_start_ws_frames is called (after its timeline). */
gboolean rc_sync_add_ws_listener (RcSync *sync, RcGuestMedia *media, GError **error);
void rc_sync_start_ws_frames (RcSync *sync, RcGuestMedia *media);
void rc_sync_remove_ws_listener (RcSync *sync, RcGuestMedia *media);
/* Adds what the WebSocket audio sent since the last count to the metrics
 * (done every second too). */
void rc_sync_count_ws (RcSync *sync);

/* The origin → edge relay: one more listener of the edge @edge (its token
 * names it): the room's packets go there while it has any. FALSE with
 * @error when the room has no pipeline or @edge's address is not one. */
gboolean rc_sync_add_edge (RcSync *sync, const RcGuestMediaEdge *edge, GError **error);
/* One listener fewer of the edge of @token; its packets stop with its last. */
void rc_sync_remove_edge (RcSync *sync, guint64 token);

/* GET /api/rooms/{id}/stats. */
JsonNode *rc_sync_stats_json (RcSync *sync);

G_END_DECLS

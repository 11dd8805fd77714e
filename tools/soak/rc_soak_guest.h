/* SPDX-License-Identifier: MIT */
#pragma once

#include "tools/bench/rc_bench_server.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * One guest of the soak, of one of four kinds:
 *
 * - WEBRTC: a light WebRTC listener (RcNativeGuest, decoding off): it
 *   costs the server what a browser costs, and the soak little.
 * - WS: a light WebSocket listener (RcBenchControl, startMedia "ws"): it
 *   counts the binary frames and the longest time between two.
 * - WEBRTC_DECODE: a steady WebRTC listener that decodes to PCM.
 * - WS_PLAYOUT: a steady WebSocket listener that renders at C + D on the
 *   server clock (into a fakesink).
 *
 * "Audio" means RTP packets or WebSocket frames arrived (decoded frames for
 * the decoding kinds). All of it runs on the soak's main context.
 */
typedef enum
{
  RC_SOAK_GUEST_WEBRTC,
  RC_SOAK_GUEST_WS,
  RC_SOAK_GUEST_WEBRTC_DECODE,
  RC_SOAK_GUEST_WS_PLAYOUT,
} RcSoakGuestKind;

typedef struct _RcSoakGuest RcSoakGuest;

typedef struct
{
  gboolean audio;       /* audio has arrived */
  guint64 units;        /* packets or frames received */
  guint64 frames;       /* PCM frames decoded or rendered (the decoding kinds) */
  guint64 lost;         /* RTP or frame sequence gaps */
  gint64 max_gap_us;    /* longest time between two packets/frames since the last reset */
  gint64 max_gap_end_us; /* WS: g_get_monotonic_time() when that gap ended (else 0) */
  gint64 max_stall_us;  /* longest time the decoded frames did not grow (sampled) */
  guint64 underruns;    /* WS_PLAYOUT: packets after their C + D */
  guint64 discontinuities; /* WS_PLAYOUT: gaps in C */
} RcSoakGuestFigures;

RcSoakGuest *rc_soak_guest_new (RcSoakGuestKind kind, RcBenchServer *server,
                                const char *room_id, const char *name, SoupSession *session);
/* Leaves (closing its socket and media) and frees. */
void rc_soak_guest_free (RcSoakGuest *self);

RcSoakGuestKind rc_soak_guest_get_kind (RcSoakGuest *self);
const char *rc_soak_guest_get_name (RcSoakGuest *self);
/* g_get_monotonic_time() when it was made. */
gint64 rc_soak_guest_get_started_us (RcSoakGuest *self);
/* Its failure (refused, closed, an error reply, media failed), or NULL. */
const char *rc_soak_guest_get_failure (RcSoakGuest *self);
/* Sends one request (JSON text) once it has joined; FALSE before. */
gboolean rc_soak_guest_send (RcSoakGuest *self, const char *json);
/* The error replies it got since the last call ("CODE message"), or NULL
 * when none came. */
GPtrArray *rc_soak_guest_take_errors (RcSoakGuest *self);

/* Samples the decoded frames (the decoding kinds; call it often: its
 * period is the stall's resolution). */
void rc_soak_guest_sample (RcSoakGuest *self, gint64 now_us);
void rc_soak_guest_get_figures (RcSoakGuest *self, RcSoakGuestFigures *out);
/* Starts a new gap and stall window (after warm-up). */
void rc_soak_guest_reset_gap (RcSoakGuest *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcSoakGuest, rc_soak_guest_free)

G_END_DECLS

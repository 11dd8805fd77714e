/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_native_playout.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * RcNativeGuest: a guest that is a program, not a browser. It joins a room
 * over /ws (libsoup), asks for audio (startMedia, transport webrtc), answers
 * the server's offer with a recvonly webrtcbin, and decodes the Opus it
 * receives to PCM: S16LE, 48 kHz, stereo, interleaved.
 *
 * It keeps everything it has heard in memory (tests read it back) and can
 * stream it to a WAV file. It also keeps receive figures: RTP packets, lost
 * packets (sequence gaps) and the longest gap between arriving packets.
 *
 * Against a server on a loopback address it gathers and accepts loopback
 * ICE candidates only. Its own join and startMedia carry the ids "join" and
 * "media"; an error to either is a failure. The media half is
 * RcNativeReceiver (rc_native_receiver.h), usable without signalling.
 *
 * With `playout` it is a synced listener (rc_native_playout.h): it follows
 * the server clock (initialState.clock.port), renders each packet of server
 * time C at C + D (the room's timeline messages), over WebRTC or over the
 * WebSocket (`transport` "ws": binary frames carrying C, decoded here), and
 * sends a syncReport (transport "native") every `report_interval_ms`. Its
 * PCM, WAV file and frame count are then what was rendered, when it was
 * rendered. Without `playout` it decodes WebRTC audio as it arrives.
 *
 * Runs on the thread-default main context of the thread that created it;
 * callbacks arrive there. Used by tools/native-guest/main.c (the
 * roomcast-guest program), by tests and by benchmarks.
 */
typedef struct _RcNativeGuest RcNativeGuest;

/* What a WebRTC listener does with the audio it receives. */
typedef enum
{
  RC_NATIVE_DECODE_PCM,     /* decode to PCM, kept and/or recorded (the default) */
  RC_NATIVE_DECODE_DISCARD, /* decode the Opus and drop it: a player's cost, nothing kept */
  RC_NATIVE_DECODE_OFF,     /* decode nothing: a light listener (benchmarks) */
} RcNativeDecode;

typedef struct
{
  const char *server_url;  /* "http://127.0.0.1:8080" */
  const char *room_id;
  const char *name;
  const char *password;    /* may be NULL */
  const char *owner_token; /* may be NULL */
  const char *record_path; /* WAV file written as audio arrives; may be NULL */
  gboolean keep_pcm;       /* keep all decoded PCM in memory (tests) */
  /* Every message from the server except offer/ice (initialState,
   * stateUpdate, errors...), borrowed. May be NULL. */
  void (*on_message) (RcNativeGuest *guest, JsonObject *message, gpointer user_data);
  gpointer user_data;
  /* Synced playout (all zero: the plain WebRTC listener above). */
  gboolean playout;          /* render at C + D on the server clock */
  const char *transport;     /* "webrtc" (default) or "ws" (implies playout) */
  double latency_offset_ms;  /* output delay after the sink, rendered ahead of (see playout) */
  const char *sink;          /* playout sink description; NULL: see RcNativePlayoutOptions */
  guint report_interval_ms;  /* syncReport period; 0: 3000 */
  gboolean realtime;         /* see RcNativePlayoutOptions */
  /* Without playout: see RcNativeDecode and RcNativeReceiverOptions. */
  RcNativeDecode decode;
  gint64 late_us;            /* see RcNativeReceiverOptions */
  /* Shared by many guests of one process (benchmarks); NULL: its own. */
  SoupSession *session;
  /* A cluster (docs/protocol.md, "A cluster of nodes"): follow a join's
   * 4208/4209 nodeUrl, join again after roomClosed "moved", and when the
   * socket is lost, reconnect (backoff) and after two failed connects go
   * on to the next node GET /api/nodes listed, as the browser client does.
   * FALSE: a lost socket is a failure. */
  gboolean follow_cluster;
} RcNativeGuestOptions;

typedef struct
{
  gboolean joined;        /* initialState received */
  gboolean connected;     /* ICE + DTLS connected */
  guint64 packets;        /* RTP packets received */
  guint64 lost;           /* RTP packets missing from the sequence */
  gint64 max_gap_us;      /* longest time between two packets since the last reset */
  guint64 frames;         /* PCM frames (one sample per channel) decoded */
  gint64 first_audio_us;  /* g_get_monotonic_time() of the first decoded audio, or 0 */
  gint64 first_packet_us; /* g_get_monotonic_time() of the first RTP packet, or 0 */
  guint64 late;           /* packets late for their slot (RcNativeReceiverOptions.late_us) */
  gint64 max_late_us;     /* the worst transit above the best since the last reset */
} RcNativeGuestStats;

/* Copies @options; starts connecting at once. */
RcNativeGuest *rc_native_guest_new (const RcNativeGuestOptions *options);
/* Stops media, leaves, closes the socket and the WAV file (header fixed up). */
void rc_native_guest_free (RcNativeGuest *guest);

/* Sends one request (JSON text) on the guest's socket. */
void rc_native_guest_send (RcNativeGuest *guest, const char *json);

void rc_native_guest_get_stats (RcNativeGuest *guest, RcNativeGuestStats *stats);
/* Starts a new max_gap_us and max_late_us measurement window. */
void rc_native_guest_reset_gap (RcNativeGuest *guest);

/* With keep_pcm: the last @ms milliseconds heard (interleaved S16 stereo),
 * or fewer if less has arrived; @n_frames receives the frame count. */
gint16 *rc_native_guest_get_recent_pcm (RcNativeGuest *guest, guint ms, gsize *n_frames);

/* With playout: its figures (FALSE before the guest has joined). */
gboolean rc_native_guest_get_playout_stats (RcNativeGuest *guest, RcNativePlayoutStats *stats);
/* With playout: syncReports sent so far. */
guint rc_native_guest_get_reports_sent (RcNativeGuest *guest);

/* Set when the guest failed for good (socket closed, join refused, media
 * failed); NULL while all is well. */
const char *rc_native_guest_get_failure (RcNativeGuest *guest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcNativeGuest, rc_native_guest_free)

G_END_DECLS

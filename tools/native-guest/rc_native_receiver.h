/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_native_guest.h"

G_BEGIN_DECLS

/*
 * RcNativeReceiver: the media half of a native guest, without signalling.
 * A recvonly webrtcbin takes the server's offer and makes the answer (with
 * `stereo=1` in the Opus fmtp); the audio it receives is decoded to S16LE
 * 48 kHz stereo, kept in memory and/or written to a WAV file. A probe on the
 * depayloader's sink pad counts RTP packets, sequence gaps and the longest
 * time between two packets. With its decoding off (a light listener, as
 * bench-fanout's guests are) it keeps the whole WebRTC path but no PCM.
 *
 * RcNativeGuest carries its SDP and candidates over /ws; tests can also wire
 * it straight to an RcWebrtcBranch in the same process.
 *
 * Main context of the creating thread only; callbacks arrive there, never
 * from inside a call into this API.
 */
typedef struct _RcNativeReceiver RcNativeReceiver;

typedef struct
{
  /* The answer to send back, once. */
  void (*answer) (RcNativeReceiver *receiver, const char *sdp, gpointer user_data);
  /* A local candidate to trickle to the server. */
  void (*ice) (RcNativeReceiver *receiver, guint mline_index, const char *candidate,
               gpointer user_data);
  /* Negotiation or the connection failed; the receiver should be freed. */
  void (*failed) (RcNativeReceiver *receiver, const char *reason, gpointer user_data);
} RcNativeReceiverCallbacks;

typedef struct
{
  const char *name;
  /* Gather and accept only loopback candidates (a server on this machine). */
  gboolean loopback_only;
  gboolean keep_pcm;
  const char *record_path; /* may be NULL */
  /* When set, nothing is decoded here: every RTP packet webrtcbin delivers
   * (after SRTP and its jitter buffer) is handed to @rtp on a streaming
   * thread, borrowed (a player that schedules by RTP timestamp). The
   * packet figures are kept as before; keep_pcm and record_path do nothing. */
  void (*rtp) (GstBuffer *packet, gpointer rtp_data);
  gpointer rtp_data;
  /* webrtcbin's jitter buffer latency, ms (how long it waits for a missing
   * packet); 0 keeps its default (200). */
  guint jitterbuffer_ms;
  /* Without @rtp: RC_NATIVE_DECODE_DISCARD or _OFF keep no PCM (keep_pcm
   * and record_path do nothing), and the packets are counted as they enter
   * webrtcbin's rtpbin (after SRTP, before the jitter buffer, which then
   * neither hides nor adds delay). */
  RcNativeDecode decode;
  /* A packet's transit is its arrival time minus its RTP time; one whose
   * transit exceeds the best so far by more than this came late for its
   * slot (the stats' `late`). Arrival is the receiving thread's clock, so a
   * starved receiver looks late too. */
  gint64 late_us;
} RcNativeReceiverOptions;

RcNativeReceiver *rc_native_receiver_new (const RcNativeReceiverOptions *options,
                                          const RcNativeReceiverCallbacks *callbacks,
                                          gpointer user_data, GError **error);
/* Stops the pipeline and finishes the WAV file (sizes written into its header). */
void rc_native_receiver_free (RcNativeReceiver *receiver);

/* The server's offer; the answer follows by callback. FALSE if it is not SDP. */
gboolean rc_native_receiver_set_offer (RcNativeReceiver *receiver, const char *sdp,
                                       GError **error);
/* A remote candidate (ignored when empty, or not loopback with loopback_only). */
void rc_native_receiver_add_ice (RcNativeReceiver *receiver, guint mline_index,
                                 const char *candidate);

/* Fills the media fields of @stats (all but `joined`). */
void rc_native_receiver_get_stats (RcNativeReceiver *receiver, RcNativeGuestStats *stats);
void rc_native_receiver_reset_gap (RcNativeReceiver *receiver);
/* See rc_native_guest_get_recent_pcm(). */
gint16 *rc_native_receiver_get_recent_pcm (RcNativeReceiver *receiver, guint ms,
                                           gsize *n_frames);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcNativeReceiver, rc_native_receiver_free)

G_END_DECLS

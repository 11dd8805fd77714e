/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/webrtc/webrtc.h>

G_BEGIN_DECLS

/*
 * RcWebrtcPeer: one webrtcbin and what every user of it in the project needs
 * the same way: ICE set-up (rc_webrtc_util.h), the promise chains of offer,
 * answer and set-description, trickled candidates, the connection's states,
 * the check of the remote DTLS certificate, and events from webrtcbin's
 * threads brought to the main context of the thread that made the peer.
 *
 * The owner puts rc_webrtc_peer_get_webrtcbin() into its bin or pipeline,
 * adds transceivers and links pads itself, and hears back through the
 * callbacks. They run on that main context, never from inside a call into
 * this API, and never after rc_webrtc_peer_close().
 *
 * The owner (the callbacks' user_data) lives as long as the peer: whatever
 * may still run on webrtcbin's threads after the owner is done (its signal
 * handlers, pad probes, promises) holds the peer, and the owner's memory is
 * freed with the peer's last reference.
 *
 * Used by the guest branch, the WHIP ingest and the native guest's receiver.
 */
typedef struct _RcWebrtcPeer RcWebrtcPeer;

typedef struct
{
  /* The offer (rc_webrtc_peer_create_offer) or the answer to a remote offer
   * that webrtcbin made, with the options' Opus fmtp, already set as the
   * local description; @text is its SDP to send. Borrowed. */
  void (*description) (RcWebrtcPeer *peer, GstWebRTCSessionDescription *description,
                       const char *text, gpointer user_data);
  /* A new local candidate ("candidate:..."). */
  void (*candidate) (RcWebrtcPeer *peer, guint mline_index, const char *candidate,
                     gpointer user_data);
  /* ICE gathering is complete (after the last candidate). */
  void (*gathered) (RcWebrtcPeer *peer, gpointer user_data);
  /* ICE and DTLS are up; once. */
  void (*connected) (RcWebrtcPeer *peer, gpointer user_data);
  /* Something is over: webrtcbin refused a description or could not make
   * one, ICE or DTLS failed, the remote certificate is not the one expected,
   * or the owner said so (rc_webrtc_peer_fail). @code is an RC_MEDIA_ERROR
   * code: RC_MEDIA_ERROR_INVALID when the remote description is to blame,
   * RC_MEDIA_ERROR_UNSUPPORTED_OFFER when ours has no Opus. Once: the peer
   * is closed then (nothing more comes). */
  void (*failed) (RcWebrtcPeer *peer, int code, const char *reason, gpointer user_data);
  /* The owner's own event (rc_webrtc_peer_post), brought over. */
  void (*event) (RcWebrtcPeer *peer, guint kind, gpointer user_data);
} RcWebrtcPeerCallbacks;

typedef struct
{
  const char *name;       /* webrtcbin's element name; NULL: "webrtcbin" */
  gboolean loopback_only; /* gather on 127.0.0.1 alone */
  guint latency_ms;       /* its jitter buffer latency; 0 keeps webrtcbin's */
  /* "key=value;..." set in the Opus fmtp of every description it makes
   * (webrtcbin leaves stereo=1 out); NULL: none. */
  const char *opus_fmtp;
} RcWebrtcPeerOptions;

/* A webrtcbin (max-bundle, ICE set up) with its signals forwarded.
 * @user_data_free frees the owner with the peer's last reference (on the
 * main context). NULL with @error (RC_MEDIA_ERROR_FAILED) when webrtcbin is
 * missing: then the owner is not freed. */
RcWebrtcPeer *rc_webrtc_peer_new (const RcWebrtcPeerOptions *options,
                                  const RcWebrtcPeerCallbacks *callbacks, gpointer user_data,
                                  GDestroyNotify user_data_free, GError **error);
/* Main context: no callback runs after this, and the forwarded signals and
 * every handler connected with @user_data as data are disconnected from
 * webrtcbin (they would keep it and their owner alive). */
void rc_webrtc_peer_close (RcWebrtcPeer *peer);
/* Main context, as the owner @user_data goes: closes @peer and drops the
 * owner's reference (the owner is freed with the last one). With no peer
 * (it could not be made), @user_data_free frees the owner at once. */
void rc_webrtc_peer_release (RcWebrtcPeer *peer, gpointer user_data,
                             GDestroyNotify user_data_free);
/* Any thread. The peer and webrtcbin go with the last reference, webrtcbin
 * on the main context (never on a thread of its own). */
RcWebrtcPeer *rc_webrtc_peer_ref (RcWebrtcPeer *peer);
void rc_webrtc_peer_unref (RcWebrtcPeer *peer);

/* Main context: ICE and DTLS came up (and did not fail since). */
gboolean rc_webrtc_peer_is_connected (RcWebrtcPeer *peer);
/* Transfer none; valid while the peer lives. */
GstElement *rc_webrtc_peer_get_webrtcbin (RcWebrtcPeer *peer);
gpointer rc_webrtc_peer_get_user_data (RcWebrtcPeer *peer);

/* Connects @callback to @instance's @signal with the owner as its data,
 * holding the peer (and so the owner) while connected. Handlers on
 * webrtcbin are disconnected by rc_webrtc_peer_close(); on any other
 * instance the owner disconnects them (by its data). */
void rc_webrtc_peer_connect (RcWebrtcPeer *peer, gpointer instance, const char *signal,
                             GCallback callback);
/* Emits webrtcbin's action @signal (@argument, promise) with a promise
 * whose @func gets the peer as data once webrtcbin answers (not for an
 * answer that comes after the peer closed). @func must not unref the
 * promise: the peer owns it. */
void rc_webrtc_peer_request (RcWebrtcPeer *peer, const char *signal, gpointer argument,
                             GstPromiseChangeFunc func);

/* Asks for an offer; it comes as `description`. */
void rc_webrtc_peer_create_offer (RcWebrtcPeer *peer);
/* Sets the remote description (@sdp taken); an offer is answered, the
 * answer coming as `description`. */
void rc_webrtc_peer_set_remote (RcWebrtcPeer *peer, GstWebRTCSDPType type, GstSDPMessage *sdp);
/* A remote candidate, as is. */
void rc_webrtc_peer_add_ice (RcWebrtcPeer *peer, guint mline_index, const char *candidate);

/* From now on the remote DTLS certificate must have @fingerprint (an
 * a=fingerprint value); any other is a `failed`. Any thread. */
void rc_webrtc_peer_expect_fingerprint (RcWebrtcPeer *peer, const char *fingerprint);
/* Any thread: TRUE once the remote certificate was shown and is the
 * expected one (media must not flow before). */
gboolean rc_webrtc_peer_certificate_ok (RcWebrtcPeer *peer);

/* Any thread: `event` with @kind later, on the main context. */
void rc_webrtc_peer_post (RcWebrtcPeer *peer, guint kind);
/* Any thread: `failed` with @code and @reason later, on the main context
 * (unless the peer has failed or was closed by then). */
void rc_webrtc_peer_fail (RcWebrtcPeer *peer, int code, const char *reason);

/* Streaming threads: each RTP packet of a buffer or buffer list passing
 * @pad, with the time it arrived (g_get_monotonic_time) and the owner.
 * FALSE from @func drops the buffer (or list). One @func per peer, on as
 * many pads as wanted. The probe holds the peer; returns its id. */
typedef gboolean (*RcRtpPacketFunc) (GstBuffer *packet, gint64 arrival_us, gpointer user_data);
gulong rc_webrtc_peer_add_rtp_probe (RcWebrtcPeer *peer, GstPad *pad, RcRtpPacketFunc func);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWebrtcPeer, rc_webrtc_peer_unref)

G_END_DECLS

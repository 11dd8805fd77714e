/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/webrtc/webrtc.h>

G_BEGIN_DECLS

/*
 * webrtcbin set-up shared by the server's branch and the native guest.
 */

/* ICE for @webrtcbin, before it gathers: no UPnP, UDP only, no STUN; host
 * candidates on every local address that is up, loopback included, or with
 * @loopback_only on 127.0.0.1 alone. */
void rc_webrtc_setup_ice (GstElement *webrtcbin, gboolean loopback_only);

/* Waits for @promise's reply; its error as "@what: message", or NULL when
 * it succeeded. */
char *rc_webrtc_promise_error (GstPromise *promise, const char *what);

/*
 * Events from webrtcbin's threads (its signals, promises, pad probes) for
 * an owner whose state lives on one main context. Each is queued, holding a
 * reference to the owner, and dispatched there later: never run right away,
 * so the owner's callbacks never run from inside a call into it.
 */
typedef enum
{
  RC_WEBRTC_EV_CANDIDATE,        /* number: its mline; text: the candidate */
  RC_WEBRTC_EV_GATHERING_STATE,  /* number: a GstWebRTCICEGatheringState */
  RC_WEBRTC_EV_CONNECTION_STATE, /* number: a GstWebRTCPeerConnectionState */
  RC_WEBRTC_EV_ICE_STATE,        /* number: a GstWebRTCICEConnectionState */
  RC_WEBRTC_EV_OWN,              /* the owner's own kinds start here */
} RcWebrtcEventKind;

typedef struct
{
  int kind;
  guint number;
  char *text;                       /* freed after dispatch */
  GstWebRTCSessionDescription *sdp; /* freed after dispatch */
} RcWebrtcEvent;

/* Kept inside the owner (the address must stay valid while it lives). */
typedef struct
{
  GMainContext *context;
  gpointer owner;
  gpointer (*ref) (gpointer owner);
  void (*unref) (gpointer owner);
  /* Main context. */
  void (*dispatch) (gpointer owner, const RcWebrtcEvent *event);
} RcWebrtcEvents;

/* Any thread: queues an event; @text and @sdp are taken. */
void rc_webrtc_post (const RcWebrtcEvents *events, int kind, guint number, char *text,
                     GstWebRTCSessionDescription *sdp);
/* Posts @webrtcbin's new local candidates and its gathering, connection
 * and ICE state changes. Each connection holds a reference to the owner
 * until @webrtcbin is gone or disconnects it. */
void rc_webrtc_forward_signals (GstElement *webrtcbin, const RcWebrtcEvents *events);
/* Disconnects them (letting the owner go): the owner must, as it goes,
 * since it holds @webrtcbin and the connections hold the owner. */
void rc_webrtc_stop_forwarding (GstElement *webrtcbin, const RcWebrtcEvents *events);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/webrtc/webrtc.h>

G_BEGIN_DECLS

/*
 * webrtcbin set-up under the WebRTC peer (rc_webrtc_peer.h), and for the
 * tests' own hosts.
 */

/* ICE for @webrtcbin, before it gathers: no UPnP, UDP only, no STUN; host
 * candidates on every local address that is up, loopback included, or with
 * @loopback_only on 127.0.0.1 alone. */
void rc_webrtc_setup_ice (GstElement *webrtcbin, gboolean loopback_only);

/* Waits for @promise's reply; its error as "@what: message", or NULL when
 * it succeeded. */
char *rc_webrtc_promise_error (GstPromise *promise, const char *what);

G_END_DECLS

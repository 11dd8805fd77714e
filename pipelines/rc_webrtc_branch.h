/* SPDX-License-Identifier: MIT */
#pragma once

#include "pipelines/rc_room_pipeline.h"

G_BEGIN_DECLS

/*
 * RcWebrtcBranch: one guest's WebRTC audio, hung off a room pipeline's RTP
 * tee: leaky queue ─ webrtcbin (one sendonly Opus stereo transceiver).
 *
 * The branch makes the offer (its Opus fmtp carries stereo=1;sprop-stereo=1);
 * the guest answers; both trickle ICE. The branch joins the tee only once
 * its webrtcbin has reached the pipeline's state, and leaves it in an IDLE
 * probe (rc_room_pipeline_add_branch and _remove_branch), so no other guest
 * ever hears it come or go. Every webrtcbin in the process presents the same
 * DTLS certificate; the guest's must match the answer's fingerprint before
 * any audio is sent to it.
 *
 * Main context only; callbacks arrive on the main context, never from inside
 * a call into this API.
 */
typedef struct _RcWebrtcBranch RcWebrtcBranch;

typedef struct
{
  /* The offer, once: send it to the guest as {"type":"offer","sdp"}. */
  void (*offer) (RcWebrtcBranch *branch, const char *sdp, gpointer user_data);
  /* A local candidate to trickle as {"type":"ice","candidate","sdpMLineIndex"}. */
  void (*ice) (RcWebrtcBranch *branch, guint mline_index, const char *candidate,
               gpointer user_data);
  /* The connection failed or could not be set up (webrtcbin refused the
   * answer, ICE or DTLS failed, the guest's certificate is not the one its
   * answer named, or nothing connected within 30 s); the branch is dead and
   * should be freed, which may be done from this callback. @reason is for
   * the log. */
  void (*failed) (RcWebrtcBranch *branch, const char *reason, gpointer user_data);
} RcWebrtcBranchCallbacks;

/* Builds the branch and starts making the offer (delivered by callback). */
RcWebrtcBranch *rc_webrtc_branch_new (RcRoomPipeline *pipeline, const char *name,
                                      const RcWebrtcBranchCallbacks *callbacks,
                                      gpointer user_data, GError **error);
/* Removes the branch from the pipeline (without a gap for others) and frees it. */
void rc_webrtc_branch_free (RcWebrtcBranch *branch);

/* The guest's answer. FALSE with @error (RC_MEDIA_ERROR_INVALID) if it is not
 * a usable SDP answer to our offer (one recvonly audio section with Opus,
 * ICE credentials, a fingerprint and an active or passive DTLS role), if the
 * offer has not gone out yet, or if an answer was already given. What
 * webrtcbin refuses after these checks arrives as `failed`. */
gboolean rc_webrtc_branch_set_answer (RcWebrtcBranch *branch, const char *sdp, GError **error);
/* A remote candidate; an empty @candidate (end of candidates) is ignored.
 * FALSE with @error (RC_MEDIA_ERROR_INVALID) when it cannot be a candidate. */
gboolean rc_webrtc_branch_add_ice (RcWebrtcBranch *branch, guint mline_index,
                                   const char *candidate, GError **error);

/* TRUE once ICE and DTLS are connected. */
gboolean rc_webrtc_branch_is_connected (RcWebrtcBranch *branch);
/* RTP packets (and their @bytes) handed to webrtcbin for the guest so far:
 * none before the guest's certificate has passed. Any thread. */
guint64 rc_webrtc_branch_get_sent (RcWebrtcBranch *branch, guint64 *bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWebrtcBranch, rc_webrtc_branch_free)

G_END_DECLS

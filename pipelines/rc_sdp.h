/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/sdp/sdp.h>

G_BEGIN_DECLS

/*
 * SDP helpers shared by the server's WebRTC branch, the WHIP ingest and the
 * native guest: the Opus fmtp munging both sides need, and the checks an SDP
 * answer, a WHIP offer or an ICE candidate from the network passes before it
 * reaches webrtcbin.
 * Errors are RC_MEDIA_ERROR_INVALID with a message fit for the client.
 */

/* Sets each "key=value" of @params ("stereo=1;sprop-stereo=1") in the fmtp
 * of every Opus payload of @sdp's audio sections, replacing a value the key
 * had and adding the fmtp line where there is none. Returns how many Opus
 * payloads it found. */
guint rc_sdp_set_opus_fmtp (GstSDPMessage *sdp, const char *params);

/* The value of @key in the fmtp of @sdp's first Opus payload, or NULL. */
char *rc_sdp_get_opus_fmtp (const GstSDPMessage *sdp, const char *key);

/* Checks that @sdp can answer our offer of @n_media sendonly Opus audio
 * sections: as many sections, each audio, not rejected, recvonly, with a
 * mid, ICE credentials, a DTLS fingerprint and role, and Opus at 48 kHz. */
gboolean rc_sdp_check_answer (const GstSDPMessage *sdp, guint n_media, GError **error);

/* Checks the grammar of an ICE candidate attribute value,
 * "candidate:<foundation> <component> <udp|tcp> <priority> <address> <port> typ <type> ...". */
gboolean rc_sdp_check_candidate (const char *candidate, GError **error);

/* An answer may come once, after the offer: FALSE with @error
 * (RC_MEDIA_ERROR_INVALID, saying which) otherwise. */
gboolean rc_sdp_check_answer_turn (gboolean offer_sent, gboolean answered, GError **error);

/* A trickled candidate from a guest (`ice`'s "candidate", with or without
 * "a="): TRUE and @value set to the attribute value when it is one, TRUE
 * and @value NULL for the end of candidates (empty or NULL), FALSE with
 * @error (RC_MEDIA_ERROR_INVALID) when it is not a candidate. */
gboolean rc_sdp_read_trickled (const char *candidate, const char **value, GError **error);

/* The a=fingerprint value (session level, else the first section's), or NULL. */
const char *rc_sdp_get_fingerprint (const GstSDPMessage *sdp);

/* Whether @fingerprint (an a=fingerprint value, "sha-256 AB:CD:...") is the
 * digest of the certificate in @pem (PEM text, as the dtls elements give
 * it). FALSE for an unknown hash or unreadable input. */
gboolean rc_sdp_fingerprint_matches (const char *fingerprint, const char *pem);

/*
 * Reads and checks a WHIP offer from the network. NULL with @error:
 * RC_MEDIA_ERROR_INVALID when it is not usable SDP for WebRTC (not text, no
 * v=0, no media, a section without mid, ICE credentials, DTLS fingerprint
 * or role), RC_MEDIA_ERROR_UNSUPPORTED_OFFER when it has no section sending Opus
 * audio over DTLS-SRTP (a video-only offer). The message returned has its
 * session-level ICE and DTLS attributes copied into every section, as
 * webrtcbin 1.22 wants them.
 */
GstSDPMessage *rc_sdp_parse_whip_offer (const char *text, gsize length, GError **error);
/* The section of a WHIP offer whose audio is taken: the first one sending
 * Opus over DTLS-SRTP; -1 with @error (RC_MEDIA_ERROR_UNSUPPORTED_OFFER,
 * saying why) when there is none. */
int rc_sdp_find_whip_audio (const GstSDPMessage *sdp, GError **error);
/* Port 0, and not bundle-only (RFC 8843). */
gboolean rc_sdp_media_is_rejected (const GstSDPMedia *media);
/* Removes every @key attribute, at the session level and in each section. */
void rc_sdp_remove_attribute (GstSDPMessage *sdp, const char *key);


/*
 * The fan-out engine's offer: one sendonly Opus section from an ICE-lite
 * server with one host candidate, DTLS role actpass, rtcp-mux, one SSRC.
 */
typedef struct
{
  const char *address; /* the candidate's address (IPv4 or IPv6 literal) */
  guint port;
  const char *ice_ufrag;
  const char *ice_pwd;
  const char *fingerprint; /* "sha-256 AB:…" */
  guint payload_type;
  guint32 ssrc;
  const char *cname;
} RcSdpLiteOffer;

char *rc_sdp_make_lite_offer (const RcSdpLiteOffer *offer);

/* What the engine needs of a guest's answer to that offer. */
typedef struct
{
  char *ice_ufrag;
  char *ice_pwd;
  char *fingerprint;
  gboolean dtls_client; /* a=setup:active: the guest sends the ClientHello */
} RcSdpLiteAnswer;

/* Reads @text and checks it answers the offer (rc_sdp_check_answer with one
 * section). FALSE with @error (RC_MEDIA_ERROR_INVALID) otherwise. */
gboolean rc_sdp_read_lite_answer (const char *text, RcSdpLiteAnswer *answer, GError **error);
void rc_sdp_lite_answer_clear (RcSdpLiteAnswer *answer);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include "tools/whip-host/rc_bursts.h"

G_BEGIN_DECLS

/*
 * A WHIP client for tests and benchmarks, shaped like OBS: webrtcbin
 * sending an audiotestsrc tone as Opus (payload 111) and offering an H264
 * video section (payload 96) beside it, non-trickle. The offer is made as
 * libdatachannel writes it (session-level fingerprint, ice-options
 * ice2,trickle, a=group:LS), either after ICE gathering with every
 * candidate (OBS before 30.2) or with none at all (OBS 30.2 and later:
 * the server's answer must carry everything). Loopback candidates only.
 *
 * Runs on the thread-default main context of the thread that made it;
 * its user spins it.
 */
typedef struct _RcWhipHost RcWhipHost;

typedef struct
{
  const char *base_url; /* "http://127.0.0.1:PORT" */
  const char *room_id;
  const char *key;      /* the Bearer token, or NULL */
  double freq;          /* the tone, Hz */
  gboolean strip_candidates; /* OBS 30.2+: the offer carries none */
  gboolean send_video;  /* encode a small H264 picture for the video section (x264enc) */
  /* Name another certificate's fingerprint in the offer than the one DTLS
   * will show (a man in the middle, as the server sees it). */
  gboolean forge_fingerprint;
  /* Video first, audio second: with max-bundle, webrtcbin then offers the
   * audio section bundle-only (port 0), as GStreamer's own WHIP clients do. */
  gboolean video_first;
  /* Send these bursts instead of a steady tone of `freq` (NULL: the tone).
   * The host's pipeline then runs on the system clock, so that a burst's
   * onset is at rc_whip_host_get_base_time () + k × period_ms on the
   * monotonic clock (the server's clock on the same machine). */
  const RcBursts *bursts;
} RcWhipHostOptions;

RcWhipHost *rc_whip_host_new (const RcWhipHostOptions *options);
void rc_whip_host_free (RcWhipHost *whip);

/* Waits for the POST's answer; its HTTP status (0 if none came in time). */
guint rc_whip_host_wait_answer (RcWhipHost *whip, guint timeout_ms);
guint rc_whip_host_get_status (RcWhipHost *whip);
const char *rc_whip_host_get_offer (RcWhipHost *whip);    /* as sent */
const char *rc_whip_host_get_answer (RcWhipHost *whip);   /* the response body */
const char *rc_whip_host_get_location (RcWhipHost *whip); /* NULL without one */
/* The POST's response headers (NULL before it is answered). */
SoupMessageHeaders *rc_whip_host_get_headers (RcWhipHost *whip);
gboolean rc_whip_host_is_connected (RcWhipHost *whip);
/* The host's failure (its webrtcbin refused the answer, the connection
 * failed), or NULL. */
const char *rc_whip_host_get_failure (RcWhipHost *whip);

/* The host pipeline's base time (ns on its clock), or GST_CLOCK_TIME_NONE
 * before it plays. Running time 0 of what it sends is this clock time. */
GstClockTime rc_whip_host_get_base_time (RcWhipHost *whip);

/* DELETE on the Location, with the key; the HTTP status. @body_out (may
 * be NULL) receives the response body. */
guint rc_whip_host_delete (RcWhipHost *whip, char **body_out);
/* The host dies without a word: its pipeline goes to NULL, no DELETE. */
void rc_whip_host_kill (RcWhipHost *whip);

/*
 * One plain HTTP request (synchronous). @content_type and @body may be
 * NULL, @bearer too. Returns the status; @headers (may be NULL) receives
 * the response headers, @body_out (may be NULL) the body as text.
 */
guint rc_whip_host_request (const char *base_url, const char *method, const char *path,
                            const char *content_type, const char *body, const char *bearer,
                            SoupMessageHeaders **headers, char **body_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWhipHost, rc_whip_host_free)

G_END_DECLS

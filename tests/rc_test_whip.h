/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * A WHIP client for tests, shaped like OBS: webrtcbin sending an
 * audiotestsrc tone as Opus (payload 111) and offering an H264 video
 * section (payload 96) beside it, non-trickle. The offer is made as
 * libdatachannel writes it (session-level fingerprint, ice-options
 * ice2,trickle, a=group:LS), either after ICE gathering with every
 * candidate (OBS before 30.2) or with none at all (OBS 30.2 and later:
 * the server's answer must carry everything). Loopback candidates only.
 *
 * Runs on the thread-default main context; the test spins it.
 */
typedef struct _RcTestWhip RcTestWhip;

/*
 * Timed tone bursts, for latency measurements (tools/bench-latency): a
 * source of silence in which burst k (k = 0, 1, ...) is a sine of `freq`
 * starting at phase 0 exactly at running time k × period_ms, lasting
 * burst_ms + 10 × (k mod 4) ms, so that a burst's length says which of
 * four it is (a listener can tell burst k from k ± 1..3 however late it
 * comes). Works on S16LE interleaved audio of any rate and channels.
 */
typedef struct
{
  double freq;      /* Hz */
  double amplitude; /* full scale 1 */
  double burst_ms;  /* length of bursts 0, 4, 8, ... */
  double period_ms; /* from one onset to the next */
} RcTestBursts;

/* Rewrites every buffer leaving @pad (raw S16LE audio) into the bursts. */
void rc_test_bursts_attach (GstPad *pad, const RcTestBursts *bursts);
/* The length of burst @k, ms. */
double rc_test_bursts_length_ms (const RcTestBursts *bursts, guint64 k);

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
   * onset is at rc_test_whip_get_base_time () + k × period_ms on the
   * monotonic clock (the server's clock on the same machine). */
  const RcTestBursts *bursts;
} RcTestWhipOptions;

RcTestWhip *rc_test_whip_new (const RcTestWhipOptions *options);
void rc_test_whip_free (RcTestWhip *whip);

/* Waits for the POST's answer; its HTTP status (0 if none came in time). */
guint rc_test_whip_wait_answer (RcTestWhip *whip, guint timeout_ms);
guint rc_test_whip_get_status (RcTestWhip *whip);
const char *rc_test_whip_get_offer (RcTestWhip *whip);    /* as sent */
const char *rc_test_whip_get_answer (RcTestWhip *whip);   /* the response body */
const char *rc_test_whip_get_location (RcTestWhip *whip); /* NULL without one */
/* The POST's response headers (NULL before it is answered). */
SoupMessageHeaders *rc_test_whip_get_headers (RcTestWhip *whip);
gboolean rc_test_whip_is_connected (RcTestWhip *whip);
/* The host's failure (its webrtcbin refused the answer, the connection
 * failed), or NULL. */
const char *rc_test_whip_get_failure (RcTestWhip *whip);

/* The host pipeline's base time (ns on its clock), or GST_CLOCK_TIME_NONE
 * before it plays. Running time 0 of what it sends is this clock time. */
GstClockTime rc_test_whip_get_base_time (RcTestWhip *whip);

/* DELETE on the Location, with the key; the HTTP status. @body_out (may
 * be NULL) receives the response body. */
guint rc_test_whip_delete (RcTestWhip *whip, char **body_out);
/* The host dies without a word: its pipeline goes to NULL, no DELETE. */
void rc_test_whip_kill (RcTestWhip *whip);

/*
 * One plain HTTP request (synchronous). @content_type and @body may be
 * NULL, @bearer too. Returns the status; @headers (may be NULL) receives
 * the response headers, @body_out (may be NULL) the body as text.
 */
guint rc_test_whip_request (const char *base_url, const char *method, const char *path,
                            const char *content_type, const char *body, const char *bearer,
                            SoupMessageHeaders **headers, char **body_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcTestWhip, rc_test_whip_free)

G_END_DECLS

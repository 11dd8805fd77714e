/* SPDX-License-Identifier: MIT */
/*
 * A load-generator WebRTC guest's UDP side (see rc_lg_webrtc.h). One socket
 * a guest, on the loop's epoll set (tagged apart from the TCP connections);
 * every datagram is told by its first byte (RFC 7983): 0-3 STUN, 20-63
 * DTLS, 128-191 RTP or RTCP. Nothing is decrypted: an SRTP packet's header
 * is in the clear, and the header is all a count needs.
 *
 * Order: offer → answer and our candidate; checks to every server
 * candidate every 50 ms until one succeeds (USE-CANDIDATE: nominated at
 * once); then the DTLS handshake as client (a=setup:active); then RTP.
 * The server's own checks are answered at any time, and one check every
 * 2.5 s keeps the consent fresh.
 */
#define _GNU_SOURCE
#include "rc_lg_webrtc.h"

#include "pipelines/rc_dtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REMOTES 4
#define CHECK_EVERY_US (50 * 1000)
#define CONSENT_EVERY_US (2500 * 1000)
#define ICE_GIVE_UP_US ((gint64) 15 * G_USEC_PER_SEC)
#define LOCAL_PRIORITY 2130706431u
/* The largest tie-breaker: a full agent that also thinks itself
 * controlling yields the role to us (RFC 8445, 7.3.1.1). */
#define TIE_BREAKER G_MAXUINT64

typedef struct
{
  StunAgent agent;
  RcDtlsCert *cert;
} Shared;

typedef enum
{
  RTC_WAIT_OFFER,
  RTC_CHECKING,
  RTC_DTLS,
  RTC_MEDIA,
} RtcState;

struct _RcLgRtc
{
  int fd;
  RtcState state;
  RcLgConn *conn;
  char local_ufrag[9];
  char local_pwd[25];
  char *remote_ufrag;
  char *remote_pwd;
  char *remote_fingerprint;
  struct sockaddr_in remotes[MAX_REMOTES];
  guint n_remotes;
  struct sockaddr_in selected;
  gint64 started_us, next_check_us;
  RcDtls *dtls;
  gint64 dtls_due_us;
  gboolean have_timeline;
  guint32 rtp0;
  double server0_ms, rate;
  gboolean have_seq;
  guint16 last_seq;
  /* Without a timeline (a Janus mountpoint): the slot is the packet's RTP
   * time plus the best transit seen so far, as for Icecast's pages. */
  guint32 first_ts;
  double best_transit_ms;
};

static Shared *
shared_of (RcLoadgen *lg, char **failure)
{
  Shared *s = lg->rtc_shared;
  g_autoptr (GError) error = NULL;

  if (s != NULL)
    return s;
  s = g_new0 (Shared, 1);
  stun_agent_init (&s->agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
  s->cert = rc_dtls_cert_new (&error);
  if (s->cert == NULL)
    {
      *failure = g_strdup_printf ("no DTLS certificate: %s", error->message);
      g_free (s);
      return NULL;
    }
  lg->rtc_shared = s;
  return s;
}

void
rc_lg_rtc_shared_free (gpointer data)
{
  Shared *s = data;

  if (s == NULL)
    return;
  rc_dtls_cert_unref (s->cert);
  g_free (s);
}

static void
random_text (char *out, gsize length)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

  for (gsize i = 0; i < length; i++)
    out[i] = alphabet[g_random_int_range (0, sizeof alphabet - 1)];
  out[length] = '\0';
}

RcLgRtc *
rc_lg_rtc_new (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  RcLgRtc *rtc;
  struct sockaddr_in local = { .sin_family = AF_INET };
  struct epoll_event ev = { .events = EPOLLIN };

  if (shared_of (lg, failure) == NULL)
    return NULL;
  rtc = g_new0 (RcLgRtc, 1);
  rtc->conn = conn;
  rtc->state = RTC_WAIT_OFFER;
  rtc->best_transit_ms = INFINITY;
  random_text (rtc->local_ufrag, 8);
  random_text (rtc->local_pwd, 24);
  rtc->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  /* Janus never offers a loopback candidate (it skips lo): its guests
   * listen on every address, and name the one Janus offered (this host's). */
  local.sin_addr.s_addr = htonl (lg->janus_path != NULL ? INADDR_ANY : INADDR_LOOPBACK);
  if (rtc->fd < 0 || bind (rtc->fd, (struct sockaddr *) &local, sizeof local) != 0)
    {
      *failure = g_strdup_printf ("UDP socket: %s", g_strerror (errno));
      if (rtc->fd >= 0)
        close (rtc->fd);
      g_free (rtc);
      return NULL;
    }
  /* Tagged by bit 62: a UDP side, not a connection (rc_loadgen.c). */
  ev.data.u64 = ((guint64) 1 << 62) | (guint64) (guintptr) rtc;
  epoll_ctl (lg->epoll_fd, EPOLL_CTL_ADD, rtc->fd, &ev);
  g_ptr_array_add (lg->rtcs, rtc);
  return rtc;
}

void
rc_lg_rtc_close (RcLoadgen *lg, RcLgRtc *rtc)
{
  g_ptr_array_remove_fast (lg->rtcs, rtc);
  if (rtc->fd >= 0)
    {
      epoll_ctl (lg->epoll_fd, EPOLL_CTL_DEL, rtc->fd, NULL);
      close (rtc->fd);
      rtc->fd = -1;
    }
}

void
rc_lg_rtc_free (RcLgRtc *rtc)
{
  if (rtc == NULL)
    return;
  g_clear_pointer (&rtc->dtls, rc_dtls_free);
  g_free (rtc->remote_ufrag);
  g_free (rtc->remote_pwd);
  g_free (rtc->remote_fingerprint);
  g_free (rtc);
}

RcLgConn *
rc_lg_rtc_get_conn (RcLgRtc *rtc)
{
  return rtc->conn;
}

/* ---- SDP ---- */

/* "candidate:F 1 UDP P 127.0.0.1 40123 typ host" → the address (IPv4,
 * UDP, component 1 only). */
static gboolean
parse_candidate (const char *text, struct sockaddr_in *out)
{
  char foundation[64], transport[8], ip[64];
  unsigned component, port;
  unsigned long priority;

  if (g_str_has_prefix (text, "a="))
    text += 2;
  if (g_str_has_prefix (text, "candidate:"))
    text += strlen ("candidate:");
  if (sscanf (text, "%63s %u %7s %lu %63s %u", foundation, &component, transport, &priority, ip,
              &port)
        != 6
      || component != 1 || g_ascii_strcasecmp (transport, "udp") != 0 || port == 0 || port > 65535)
    return FALSE;
  memset (out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons ((guint16) port);
  return inet_pton (AF_INET, ip, &out->sin_addr) == 1;
}

void
rc_lg_rtc_add_candidate (RcLgRtc *rtc, const char *candidate)
{
  struct sockaddr_in a;

  if (rtc->n_remotes < MAX_REMOTES && parse_candidate (candidate, &a))
    rtc->remotes[rtc->n_remotes++] = a;
}

void
rc_lg_rtc_set_timeline (RcLgRtc *rtc, guint32 rtp, double server_ms, double clock_rate)
{
  rtc->have_timeline = clock_rate > 0;
  rtc->rtp0 = rtp;
  rtc->server0_ms = server_ms;
  rtc->rate = clock_rate;
}

gboolean
rc_lg_rtc_take_offer (RcLoadgen *lg, RcLgRtc *rtc, const char *sdp, char **answer,
                      char **candidate, char **failure)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\n", -1);
  const char *mid = "0";
  g_autofree char *mid_owned = NULL;
  int pt = -1;
  Shared *s = lg->rtc_shared;
  struct sockaddr_in local;
  socklen_t len = sizeof local;
  char address[INET_ADDRSTRLEN] = "127.0.0.1";

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *l = g_strstrip (lines[i]);
      int n;

      if (g_str_has_prefix (l, "a=ice-ufrag:") && rtc->remote_ufrag == NULL)
        rtc->remote_ufrag = g_strdup (l + strlen ("a=ice-ufrag:"));
      else if (g_str_has_prefix (l, "a=ice-pwd:") && rtc->remote_pwd == NULL)
        rtc->remote_pwd = g_strdup (l + strlen ("a=ice-pwd:"));
      else if (g_str_has_prefix (l, "a=fingerprint:") && rtc->remote_fingerprint == NULL)
        rtc->remote_fingerprint = g_strdup (l + strlen ("a=fingerprint:"));
      else if (g_str_has_prefix (l, "a=mid:") && mid_owned == NULL)
        mid = mid_owned = g_strdup (l + strlen ("a=mid:"));
      else if (g_str_has_prefix (l, "a=candidate:"))
        rc_lg_rtc_add_candidate (rtc, l);
      else if (pt < 0 && sscanf (l, "a=rtpmap:%d", &n) == 1 && strstr (l, "/48000") != NULL
               && g_ascii_strncasecmp (strchr (l, ' ') != NULL ? strchr (l, ' ') + 1 : "", "opus", 4)
                    == 0)
        pt = n;
    }
  if (rtc->remote_ufrag == NULL || rtc->remote_pwd == NULL || rtc->remote_fingerprint == NULL
      || pt < 0)
    {
      *failure = g_strdup ("an offer without ICE credentials, fingerprint or Opus");
      return FALSE;
    }
  getsockname (rtc->fd, (struct sockaddr *) &local, &len);
  *answer = g_strdup_printf (
    "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE %s\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s\r\na=setup:active\r\na=mid:%s\r\n"
    "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:%d OPUS/48000/2\r\n"
    "a=fmtp:%d minptime=10;useinbandfec=1;stereo=1\r\n",
    g_random_int (), mid, pt, rtc->local_ufrag, rtc->local_pwd,
    rc_dtls_cert_get_fingerprint (s->cert), mid, pt, pt);
  if (lg->janus_path != NULL && rtc->n_remotes > 0)
    inet_ntop (AF_INET, &rtc->remotes[0].sin_addr, address, sizeof address);
  *candidate = g_strdup_printf ("candidate:1 1 UDP %u %s %u typ host", LOCAL_PRIORITY, address,
                                ntohs (local.sin_port));
  rtc->state = RTC_CHECKING;
  rtc->started_us = rc_lg_now_us ();
  return TRUE;
}

/* ---- ICE ---- */

static void
send_to (RcLgRtc *rtc, const struct sockaddr_in *to, const guint8 *data, gsize length)
{
  if (sendto (rtc->fd, data, length, MSG_DONTWAIT, (const struct sockaddr *) to, sizeof *to) < 0)
    {
      /* A lost datagram: the check or the flight is sent again. */
    }
}

static void
send_check (Shared *s, RcLgRtc *rtc, const struct sockaddr_in *to)
{
  g_autofree char *username = g_strdup_printf ("%s:%s", rtc->remote_ufrag, rtc->local_ufrag);
  StunMessage msg;
  guint8 buf[512];
  gsize len = stun_usage_ice_conncheck_create (
    &s->agent, &msg, buf, sizeof buf, (const guint8 *) username, strlen (username),
    (const guint8 *) rtc->remote_pwd, strlen (rtc->remote_pwd), TRUE, TRUE, LOCAL_PRIORITY,
    TIE_BREAKER, NULL, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);

  if (len > 0)
    send_to (rtc, to, buf, len);
}

typedef struct
{
  RcLgRtc *rtc;
} Validating;

/* The server's checks are signed with our password. */
static bool
validate_request (StunAgent *agent, StunMessage *message, uint8_t *username,
                  uint16_t username_len, uint8_t **password, size_t *password_len,
                  void *user_data)
{
  Validating *v = user_data;
  gsize ufrag = strlen (v->rtc->local_ufrag);

  if (username_len < ufrag + 1 || memcmp (username, v->rtc->local_ufrag, ufrag) != 0
      || username[ufrag] != ':')
    return false;
  *password = (uint8_t *) v->rtc->local_pwd;
  *password_len = strlen (v->rtc->local_pwd);
  return true;
}

static void
on_dtls_send (const guint8 *data, gsize length, gpointer user_data)
{
  RcLgRtc *rtc = user_data;

  send_to (rtc, &rtc->selected, data, length);
}

static gboolean
start_dtls (Shared *s, RcLgRtc *rtc, char **failure)
{
  g_autoptr (GError) error = NULL;

  rtc->dtls = rc_dtls_new (s->cert, RC_DTLS_CLIENT, rtc->remote_fingerprint, on_dtls_send, rtc,
                           &error);
  if (rtc->dtls == NULL)
    {
      *failure = g_strdup_printf ("DTLS: %s", error->message);
      return FALSE;
    }
  rtc->state = RTC_DTLS;
  rc_dtls_start (rtc->dtls);
  return TRUE;
}

static gboolean
on_stun (RcLoadgen *lg, RcLgRtc *rtc, const guint8 *data, gsize length,
         const struct sockaddr_in *from, char **failure)
{
  Shared *s = lg->rtc_shared;
  StunMessage msg;
  Validating v = { rtc };
  StunValidationStatus status =
    stun_agent_validate (&s->agent, &msg, data, length, validate_request, &v);

  if (status != STUN_VALIDATION_SUCCESS)
    return TRUE; /* not ours, or not for this guest: dropped */
  switch (stun_message_get_class (&msg))
    {
    case STUN_REQUEST:
      {
        StunMessage reply;
        guint8 buf[512];
        size_t len = sizeof buf;
        bool control = TRUE;
        struct sockaddr_storage src = { 0 };

        memcpy (&src, from, sizeof *from);
        if (stun_usage_ice_conncheck_create_reply (&s->agent, &msg, &reply, buf, &len, &src,
                                                   sizeof *from, &control, TIE_BREAKER,
                                                   STUN_USAGE_ICE_COMPATIBILITY_RFC5245)
              == STUN_USAGE_ICE_RETURN_SUCCESS
            && len > 0)
          send_to (rtc, from, buf, len);
        return TRUE;
      }
    case STUN_RESPONSE:
      {
        struct sockaddr_storage mapped;
        socklen_t mapped_len = sizeof mapped;

        if (stun_usage_ice_conncheck_process (&msg, &mapped, &mapped_len,
                                              STUN_USAGE_ICE_COMPATIBILITY_RFC5245)
              == STUN_USAGE_ICE_RETURN_SUCCESS
            && rtc->state == RTC_CHECKING)
          {
            rtc->selected = *from;
            return start_dtls (s, rtc, failure);
          }
        return TRUE;
      }
    default:
      return TRUE;
    }
}

/* ---- media ---- */

static void
on_rtp (RcLoadgen *lg, RcLgRtc *rtc, const guint8 *data, gsize length, gint64 now_us)
{
  guint8 pt = data[1] & 0x7f;
  guint16 seq;
  guint32 ts;

  /* RTCP multiplexed on the port (RFC 5761): types 64-95 here. */
  if (length < 12 || (pt >= 64 && pt <= 95))
    return;
  seq = (guint16) (data[2] << 8 | data[3]);
  ts = (guint32) data[4] << 24 | (guint32) data[5] << 16 | (guint32) data[6] << 8 | data[7];
  if (rtc->conn->counted_joining)
    {
      rc_lg_conn_first_frame (lg, rtc->conn, now_us);
      rtc->state = RTC_MEDIA;
    }
  else if (rtc->have_seq)
    {
      guint16 gap = (guint16) (seq - rtc->last_seq - 1);

      if (gap < 0x8000)
        rc_lg_count_lost (lg, rtc->conn, gap);
    }
  if (!rtc->have_seq)
    rtc->first_ts = ts;
  rtc->have_seq = TRUE;
  rtc->last_seq = seq;
  rtc->conn->frames++;
  if (rtc->have_timeline)
    {
      double c = rtc->server0_ms + (double) (gint32) (ts - rtc->rtp0) * 1000.0 / rtc->rate;

      rc_lg_count_frame (lg, rtc->conn, now_us / 1000.0 + lg->clock.offset_ms - c);
    }
  else
    {
      double transit = now_us / 1000.0 - (double) (gint32) (ts - rtc->first_ts) / 48.0;

      rtc->best_transit_ms = MIN (rtc->best_transit_ms, transit);
      rc_lg_count_frame (lg, rtc->conn, transit - rtc->best_transit_ms);
    }
}

gboolean
rc_lg_rtc_readable (RcLoadgen *lg, RcLgRtc *rtc, char **failure)
{
  for (guint i = 0; i < 16; i++)
    {
      guint8 buf[2048];
      struct sockaddr_in from;
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom (rtc->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &from,
                            &from_len);
      gint64 now_us;

      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      if (n == 0)
        continue;
      now_us = rc_lg_now_us ();
      if (buf[0] < 4)
        {
          if (!on_stun (lg, rtc, buf, (gsize) n, &from, failure))
            return FALSE;
        }
      else if (buf[0] >= 20 && buf[0] <= 63 && rtc->dtls != NULL)
        {
          RcDtlsState st = rc_dtls_receive (rtc->dtls, buf, (gsize) n);

          if (st == RC_DTLS_FAILED || st == RC_DTLS_CLOSED)
            {
              const char *why = rc_dtls_get_error (rtc->dtls);

              *failure = g_strdup_printf ("DTLS %s", why != NULL ? why : "closed");
              return FALSE;
            }
        }
      else if (buf[0] >= 128 && buf[0] <= 191 && rtc->dtls != NULL
               && rc_dtls_get_state (rtc->dtls) == RC_DTLS_CONNECTED)
        on_rtp (lg, rtc, buf, (gsize) n, now_us);
    }
  return TRUE;
}

gboolean
rc_lg_rtc_turn (RcLoadgen *lg, RcLgRtc *rtc, gint64 now_us, char **failure)
{
  Shared *s = lg->rtc_shared;

  switch (rtc->state)
    {
    case RTC_WAIT_OFFER:
      return TRUE;
    case RTC_CHECKING:
      if (now_us - rtc->started_us > ICE_GIVE_UP_US)
        {
          *failure = g_strdup_printf ("no ICE check answered in %d s (%u candidates)",
                                      (int) (ICE_GIVE_UP_US / G_USEC_PER_SEC), rtc->n_remotes);
          return FALSE;
        }
      if (now_us >= rtc->next_check_us)
        {
          rtc->next_check_us = now_us + CHECK_EVERY_US;
          for (guint i = 0; i < rtc->n_remotes; i++)
            send_check (s, rtc, &rtc->remotes[i]);
        }
      return TRUE;
    case RTC_DTLS:
      {
        int ms = rc_dtls_get_timeout_ms (rtc->dtls);

        if (ms == 0 || (ms > 0 && rtc->dtls_due_us == 0))
          rtc->dtls_due_us = now_us + (gint64) ms * 1000;
        if (rtc->dtls_due_us > 0 && now_us >= rtc->dtls_due_us)
          {
            rtc->dtls_due_us = 0;
            if (rc_dtls_tick (rtc->dtls) == RC_DTLS_FAILED)
              {
                *failure = g_strdup_printf ("DTLS %s", rc_dtls_get_error (rtc->dtls));
                return FALSE;
              }
          }
      }
      /* Consent while the handshake runs too. */
      G_GNUC_FALLTHROUGH;
    case RTC_MEDIA:
      if (now_us >= rtc->next_check_us)
        {
          rtc->next_check_us = now_us + CONSENT_EVERY_US;
          send_check (s, rtc, &rtc->selected);
        }
      return TRUE;
    }
  return TRUE;
}

/* SPDX-License-Identifier: MIT */
/*
 * One load-generator connection from connect to close (see
 * rc_loadgen_private.h): a WebSocket guest (upgrade → join → startMedia →
 * media frames counted against their C), the clock connection (timeSync
 * exchanges only) or an HTTP listener (GET of an Icecast mount → Ogg pages
 * counted against the stream's timeline).
 *
 * Reads go into the loop's one shared buffer, preceded by what the last
 * read of this connection left unparsed (at most one frame), so a
 * connection costs a socket and a few dozen bytes. Text messages are told
 * apart by their "type" alone, read from their first bytes; only the
 * clock's timeSync replies are parsed as JSON.
 */
#define _GNU_SOURCE
#include "rc_loadgen_private.h"

#include "pipelines/rc_ws_branch.h"
#include "rc_lg_janus.h"
#include "rc_lg_media.h"
#include "rc_lg_webrtc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define HEAD_MAX 8192

static RcLoadgenPopulation *
population_of (RcLoadgen *lg, RcLgConn *conn)
{
  if (conn->kind == RC_LG_KIND_WS)
    return &lg->ws_pop;
  if (conn->kind == RC_LG_KIND_HTTP)
    return &lg->http_pop;
  return NULL;
}

static GPtrArray *
list_of (RcLoadgen *lg, RcLgConn *conn)
{
  if (conn->kind == RC_LG_KIND_WS)
    return lg->ws;
  if (conn->kind == RC_LG_KIND_HTTP)
    return lg->http;
  return NULL;
}

RcLgConn *
rc_lg_conn_open (RcLoadgen *lg, RcLgKind kind)
{
  RcLgConn *conn = g_new0 (RcLgConn, 1);
  struct sockaddr_in to = { .sin_family = AF_INET };
  struct epoll_event ev = { .events = EPOLLOUT };
  int one = 1;
  guint number = lg->next_number++;

  conn->kind = (guint8) kind;
  conn->number = number;
  conn->started_us = rc_lg_now_us ();
  conn->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  to.sin_port = htons (kind == RC_LG_KIND_HTTP ? lg->http_port : lg->port);
  to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (kind == RC_LG_KIND_HTTP && lg->http_host != NULL
      && !g_str_has_prefix (lg->http_host, "127.0.0.1"))
    inet_pton (AF_INET, lg->http_host, &to.sin_addr);
  conn->state = RC_LG_CONNECTING;
  if (conn->fd >= 0)
    {
      /* Spread the connections over several loopback addresses: each has
       * its own ephemeral ports. */
      if (lg->o.source_addresses > 1)
        {
          struct sockaddr_in from = { .sin_family = AF_INET };

          from.sin_addr.s_addr = htonl (INADDR_LOOPBACK + number % lg->o.source_addresses);
          setsockopt (conn->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
          if (bind (conn->fd, (struct sockaddr *) &from, sizeof from) != 0)
            {
              /* Not fatal: connect from the default address. */
            }
        }
      setsockopt (conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect (conn->fd, (struct sockaddr *) &to, sizeof to) != 0 && errno != EINPROGRESS)
        {
          close (conn->fd);
          conn->fd = -1;
        }
    }
  conn->best_transit_ms = INFINITY;
  if (kind == RC_LG_KIND_HTTP)
    conn->ogg = g_new0 (RcLgOggReader, 1);
  if (kind == RC_LG_KIND_WS && !lg->webrtc && lg->o.sample_every > 0
      && lg->ws_opened++ % lg->o.sample_every == 0)
    {
      int err = 0;

      conn->sample = g_new0 (RcLgSample, 1);
      conn->sample->decoder = opus_decoder_create (48000, 2, &err);
    }
  if (population_of (lg, conn) != NULL)
    {
      population_of (lg, conn)->joining++;
      conn->counted_joining = TRUE;
    }
  if (list_of (lg, conn) != NULL)
    {
      conn->index = list_of (lg, conn)->len;
      g_ptr_array_add (list_of (lg, conn), conn);
    }
  else
    lg->clock_conn = conn;
  if (conn->fd < 0)
    {
      g_autofree char *why = g_strdup_printf ("socket: %s", g_strerror (errno));

      rc_lg_conn_close (lg, conn, why);
      return NULL;
    }
  ev.data.ptr = conn;
  epoll_ctl (lg->epoll_fd, EPOLL_CTL_ADD, conn->fd, &ev);
  return conn;
}

static void
note_failure (RcLoadgen *lg, char *why)
{
  if (lg->window.first_failure == NULL)
    lg->window.first_failure = g_strdup (why);
  if (lg->second.first_failure == NULL)
    lg->second.first_failure = g_strdup (why);
}

void
rc_lg_conn_close (RcLoadgen *lg, RcLgConn *conn, const char *failure)
{
  RcLoadgenPopulation *pop = population_of (lg, conn);
  GPtrArray *list = list_of (lg, conn);

  if (conn->fd >= 0)
    {
      epoll_ctl (lg->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
      close (conn->fd);
    }
  if (pop != NULL)
    {
      if (conn->counted_joining)
        pop->joining--;
      else
        pop->receiving--;
      if (failure != NULL)
        pop->failed++;
    }
  if (failure != NULL)
    {
      g_autofree char *why = g_strdup_printf ("%s %u: %s",
                                              conn->kind == RC_LG_KIND_HTTP  ? "listener"
                                              : conn->kind == RC_LG_KIND_WS ? "guest"
                                                                            : "clock",
                                              conn->number, failure);

      note_failure (lg, why);
    }
  if (list != NULL)
    {
      /* Swap-remove: the last one takes this one's place. */
      RcLgConn *last = g_ptr_array_index (list, list->len - 1);

      last->index = conn->index;
      g_ptr_array_index (list, conn->index) = last;
      g_ptr_array_set_size (list, list->len - 1);
    }
  else if (lg->clock_conn == conn)
    lg->clock_conn = NULL;
  if (conn->rtc != NULL)
    rc_lg_rtc_close (lg, conn->rtc);
  if (conn->churner)
    lg->churners--;
  if (conn->churn_link != NULL)
    g_queue_delete_link (&lg->churn_leaving, g_steal_pointer (&conn->churn_link));
  /* Freed after the loop's batch of events, which may still name it. */
  conn->fd = -1;
  conn->state = RC_LG_CLOSED;
  g_ptr_array_add (lg->closed, conn);
}

void
rc_lg_conn_free (RcLgConn *conn)
{
  g_clear_pointer (&conn->rtc, rc_lg_rtc_free);
  g_clear_pointer (&conn->janus, rc_lg_janus_free);
  if (conn->sample != NULL)
    {
      if (conn->sample->decoder != NULL)
        opus_decoder_destroy (conn->sample->decoder);
      g_free (conn->sample);
    }
  g_free (conn->ogg);
  g_free (conn->keep);
  g_free (conn->out);
  g_free (conn);
}

gboolean
rc_lg_conn_write (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length)
{
  ssize_t n = 0;

  if (conn->out_len == 0)
    {
      n = send (conn->fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return FALSE;
      if (n < 0)
        n = 0;
    }
  if ((gsize) n < length)
    {
      struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = conn };

      conn->out = g_realloc (conn->out, conn->out_len + (length - (gsize) n));
      memcpy (conn->out + conn->out_len, data + n, length - (gsize) n);
      conn->out_len += (guint32) (length - (gsize) n);
      epoll_ctl (lg->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev);
    }
  return TRUE;
}

static gboolean
conn_flush (RcLoadgen *lg, RcLgConn *conn)
{
  ssize_t n = send (conn->fd, conn->out, conn->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK;
  memmove (conn->out, conn->out + n, conn->out_len - (gsize) n);
  conn->out_len -= (guint32) n;
  if (conn->out_len == 0)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = conn };

      epoll_ctl (lg->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev);
    }
  return TRUE;
}

static gboolean
send_frame (RcLoadgen *lg, RcLgConn *conn, guint8 opcode, const guint8 *payload, gsize length)
{
  guint8 stack[512];
  g_autofree guint8 *heap = length + 14 > sizeof stack ? g_malloc (length + 14) : NULL;
  guint8 *out = heap != NULL ? heap : stack;
  gsize n = rc_lg_ws_frame_encode (opcode, payload, length, g_random_int (), out);

  return rc_lg_conn_write (lg, conn, out, n);
}

void
rc_lg_conn_send_text (RcLoadgen *lg, RcLgConn *conn, const char *text)
{
  if (conn->state >= RC_LG_JOINING && conn->state < RC_LG_CLOSED)
    send_frame (lg, conn, RC_LG_WS_OP_TEXT, (const guint8 *) text, strlen (text));
}

/* The connect finished: send the upgrade (or the GET). */
static gboolean
on_connected (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  int err = 0;
  socklen_t len = sizeof err;
  g_autofree char *request = NULL;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = conn };

  if (getsockopt (conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
    {
      *failure = g_strdup_printf ("connect: %s", g_strerror (err != 0 ? err : errno));
      return FALSE;
    }
  if (lg->janus_path != NULL && conn->kind == RC_LG_KIND_WS)
    {
      conn->state = RC_LG_JOINING;
      epoll_ctl (lg->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev);
      return rc_lg_janus_start (lg, conn, failure);
    }
  if (conn->kind == RC_LG_KIND_HTTP)
    request = g_strdup_printf ("GET %s HTTP/1.0\r\nHost: %s:%u\r\nUser-Agent: roomcast-loadgen\r\n"
                               "Accept: */*\r\n\r\n",
                               lg->http_path, lg->http_host, lg->http_port);
  else
    request = rc_lg_ws_upgrade_request (lg->host, "/ws", conn->key);
  conn->state = RC_LG_UPGRADING;
  epoll_ctl (lg->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev);
  if (!rc_lg_conn_write (lg, conn, (const guint8 *) request, strlen (request)))
    {
      *failure = g_strdup_printf ("send: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* ---- text messages ---- */

/* The "type" of a message from its first bytes (the server writes it first). */
static gboolean
message_type (const guint8 *data, gsize length, char *type, gsize size)
{
  const char *key = "\"type\":";
  const char *at = g_strstr_len ((const char *) data, (gssize) MIN (length, 64), key);
  const char *end;
  const char *stop = (const char *) data + length;

  if (at == NULL)
    return FALSE;
  at += strlen (key);
  while (at < stop && *at == ' ')
    at++;
  if (at >= stop || *at != '"')
    return FALSE;
  at++;
  end = memchr (at, '"', (gsize) (stop - at));
  if (end == NULL || (gsize) (end - at) >= size)
    return FALSE;
  memcpy (type, at, (gsize) (end - at));
  type[end - at] = '\0';
  return TRUE;
}

static void
on_time_sync (RcLoadgen *lg, const guint8 *data, gsize length, gint64 now_us)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  double t0, t1, t2, t3 = now_us / 1000.0;
  RcLgClock *c = &lg->clock;
  guint slot, n;
  double best = INFINITY;

  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) length, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  o = json_node_get_object (json_parser_get_root (parser));
  t0 = json_object_get_double_member_with_default (o, "t0", NAN);
  t1 = json_object_get_double_member_with_default (o, "t1", NAN);
  t2 = json_object_get_double_member_with_default (o, "t2", NAN);
  if (!isfinite (t0) || !isfinite (t1) || !isfinite (t2))
    return;
  /* Keep the last 16 exchanges; trust the one with the smallest round trip. */
  slot = c->samples % G_N_ELEMENTS (c->rtts);
  c->rtts[slot] = (t3 - t0) - (t2 - t1);
  c->offsets[slot] = ((t1 - t0) + (t2 - t3)) / 2;
  c->samples++;
  n = MIN (c->samples, G_N_ELEMENTS (c->rtts));
  for (guint i = 0; i < n; i++)
    if (c->rtts[i] < best)
      {
        best = c->rtts[i];
        c->offset_ms = c->offsets[i];
        c->rtt_ms = best;
      }
}

static gboolean
send_json (RcLoadgen *lg, RcLgConn *conn, JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  return send_frame (lg, conn, RC_LG_WS_OP_TEXT, (const guint8 *) text, strlen (text));
}

/* A WebRTC guest's offer, trickled candidate or timeline (parsed whole:
 * they are small and come once or a few times). */
static gboolean
on_webrtc_message (RcLoadgen *lg, RcLgConn *conn, const char *type, const RcLgWsFrame *f,
                   char **failure)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  if (f->truncated || !json_parser_load_from_data (parser, (const char *) f->data,
                                                   (gssize) f->length, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *failure = g_strdup_printf ("an unreadable %s", type);
      return FALSE;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  if (g_str_equal (type, "offer"))
    {
      g_autofree char *answer = NULL, *candidate = NULL;
      g_autoptr (JsonBuilder) a = json_builder_new ();
      g_autoptr (JsonBuilder) c = json_builder_new ();

      if (!rc_lg_rtc_take_offer (lg, conn->rtc, json_object_get_string_member_with_default (o, "sdp", ""),
                                 &answer, &candidate, failure))
        return FALSE;
      json_builder_begin_object (a);
      json_builder_set_member_name (a, "type");
      json_builder_add_string_value (a, "answer");
      json_builder_set_member_name (a, "sdp");
      json_builder_add_string_value (a, answer);
      json_builder_end_object (a);
      json_builder_begin_object (c);
      json_builder_set_member_name (c, "type");
      json_builder_add_string_value (c, "ice");
      json_builder_set_member_name (c, "candidate");
      json_builder_add_string_value (c, candidate);
      json_builder_set_member_name (c, "sdpMLineIndex");
      json_builder_add_int_value (c, 0);
      json_builder_end_object (c);
      return send_json (lg, conn, a) && send_json (lg, conn, c);
    }
  if (g_str_equal (type, "ice"))
    rc_lg_rtc_add_candidate (conn->rtc, json_object_get_string_member_with_default (o, "candidate", ""));
  else
    rc_lg_rtc_set_timeline (conn->rtc, (guint32) json_object_get_int_member_with_default (o, "rtpTimestamp", 0),
                            json_object_get_double_member_with_default (o, "serverTime", 0),
                            json_object_get_double_member_with_default (o, "clockRate", 0));
  return TRUE;
}

/* A text message (maybe only its first bytes). FALSE: close with @failure. */
static gboolean
on_text (RcLoadgen *lg, RcLgConn *conn, const RcLgWsFrame *f, gint64 now_us, char **failure)
{
  char type[32];

  if (!message_type (f->data, f->length, type, sizeof type))
    return TRUE;
  if (g_str_equal (type, "error"))
    {
      const char *code = g_strstr_len ((const char *) f->data, (gssize) f->length, "\"code\":");

      *failure = g_strdup_printf ("error %.*s", code != NULL ? 12 : 0, code != NULL ? code + 7 : "");
      return FALSE;
    }
  if (conn->kind == RC_LG_KIND_CLOCK)
    {
      if (g_str_equal (type, "timeSync") && !f->truncated)
        on_time_sync (lg, f->data, f->length, now_us);
      return TRUE;
    }
  if (conn->state == RC_LG_JOINING && g_str_equal (type, "initialState"))
    {
      const char *start = lg->webrtc
                            ? "{\"type\":\"startMedia\",\"id\":2,\"transport\":\"webrtc\"}"
                            : "{\"type\":\"startMedia\",\"id\":2,\"transport\":\"ws\"}";

      if (lg->webrtc && (conn->rtc = rc_lg_rtc_new (lg, conn, failure)) == NULL)
        return FALSE;
      conn->state = RC_LG_STARTING;
      return send_frame (lg, conn, RC_LG_WS_OP_TEXT, (const guint8 *) start, strlen (start));
    }
  if (conn->rtc != NULL
      && (g_str_equal (type, "offer") || g_str_equal (type, "ice") || g_str_equal (type, "timeline")))
    return on_webrtc_message (lg, conn, type, f, failure);
  if (g_str_equal (type, "mediaStopped"))
    {
      /* (A reader too slow for the server gets reason "tooSlow".) */
      *failure = g_strdup_printf ("%.*s", (int) MIN (f->length, 120), (const char *) f->data);
      return FALSE;
    }
  return TRUE;
}

/* ---- media ---- */

void
rc_lg_count_frame (RcLoadgen *lg, RcLgConn *conn, double behind_ms)
{
  rc_lg_counts_add (&lg->second.ws_counts, behind_ms, lg->o.late_ms);
  rc_lg_counts_add (&lg->window.ws_counts, behind_ms, lg->o.late_ms);
  if (conn->settled)
    rc_lg_counts_add (&lg->window.ws_settled, behind_ms, lg->o.late_ms);
}

void
rc_lg_count_lost (RcLoadgen *lg, RcLgConn *conn, guint64 lost)
{
  lg->second.ws_counts.lost += lost;
  lg->window.ws_counts.lost += lost;
  if (conn->settled)
    lg->window.ws_settled.lost += lost;
}

void
rc_lg_conn_first_frame (RcLoadgen *lg, RcLgConn *conn, gint64 now_us)
{
  RcLoadgenPopulation *pop = population_of (lg, conn);
  double join = (now_us - conn->started_us) / 1000.0;

  conn->counted_joining = FALSE;
  pop->joining--;
  pop->receiving++;
  conn->state = RC_LG_RECEIVING;
  g_array_append_val (lg->join_ms, join);
  if (conn->churner)
    {
      conn->leave_us = now_us + lg->churn_life_us;
      g_queue_push_tail (&lg->churn_leaving, conn);
      conn->churn_link = lg->churn_leaving.tail;
    }
}

/* How strongly a 20 ms frame holds @hz: the Goertzel power at @hz over the
 * whole frame's energy (1 for a pure tone, ~0 without it). */
static double
tone_share (const opus_int16 *pcm, int frames, double hz)
{
  double coeff = 2 * cos (2 * G_PI * hz / 48000.0);
  double s1 = 0, s2 = 0, energy = 0;

  for (int i = 0; i < frames; i++)
    {
      double x = (pcm[2 * i] + pcm[2 * i + 1]) / 65536.0;
      double s = x + coeff * s1 - s2;

      s2 = s1;
      s1 = s;
      energy += x * x;
    }
  if (energy < 1e-9)
    return 0;
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (frames / 2.0 * energy);
}

static void
sample_decode (RcLoadgen *lg, RcLgSample *sample, const guint8 *payload, gsize length)
{
  opus_int16 pcm[5760 * 2];
  int frames;

  if (sample->decoder == NULL)
    return;
  frames = opus_decode (sample->decoder, payload, (opus_int32) length, pcm, 5760, 0);
  if (frames <= 0)
    return;
  sample->frames++;
  if (lg->o.tone_hz > 0 && tone_share (pcm, frames, lg->o.tone_hz) > 0.2)
    sample->tone_frames++;
}

typedef struct
{
  RcLoadgen *lg;
  RcLgConn *conn;
  gint64 now_us;
  double slot_ms; /* every frame's slot (--slot message, transit), or NAN: each its own C */
} Media;

/* One media frame (docs/protocol.md), counted against its C. */
static gboolean
on_media_frame (const guint8 *data, gsize length, gpointer user_data)
{
  Media *m = user_data;
  RcLgConn *conn = m->conn;
  guint32 rtp, seq;
  double c_ms, behind_ms;
  const guint8 *payload;
  gsize payload_length;
  /* rc_ws_frame_parse reads at any address (a frame inside the shared
   * read buffer or a bundle is not aligned). */
  if (!rc_ws_frame_parse (data, length, &rtp, &c_ms, &seq, &payload, &payload_length))
    return FALSE;
  if (conn->counted_joining)
    {
      rc_lg_conn_first_frame (m->lg, conn, m->now_us);
      conn->have_seq = FALSE;
    }
  if (conn->have_seq && seq != conn->last_seq + 1)
    {
      guint32 gap = seq - conn->last_seq - 1;

      /* A sequence going back (a new stream) is no loss. */
      if (gap < 0x80000000u)
        rc_lg_count_lost (m->lg, conn, gap);
    }
  conn->last_seq = seq;
  conn->have_seq = TRUE;
  conn->frames++;
  behind_ms = m->now_us / 1000.0 + m->lg->clock.offset_ms
              - (isnan (m->slot_ms) ? c_ms : m->slot_ms);
  if (m->lg->o.slot == RC_LG_SLOT_TRANSIT)
    {
      conn->best_transit_ms = MIN (conn->best_transit_ms, behind_ms);
      behind_ms -= conn->best_transit_ms;
    }
  rc_lg_count_frame (m->lg, conn, behind_ms);
  if (conn->sample != NULL)
    sample_decode (m->lg, conn->sample, payload, payload_length);
  return TRUE;
}

/* One binary message: a frame or a bundle of them. */
static gboolean
on_media (RcLoadgen *lg, RcLgConn *conn, const RcLgWsFrame *f, gint64 now_us, char **failure)
{
  Media m = { lg, conn, now_us, NAN };

  if (lg->o.slot != RC_LG_SLOT_FRAME && f->fin)
    m.slot_ms = rc_lg_media_last_c (f->data, f->length); /* NAN fails in the split below */

  if (!f->fin || !rc_lg_media_split (f->data, f->length, on_media_frame, &m))
    {
      *failure = g_strdup ("a binary message that is not a media frame or bundle");
      return FALSE;
    }
  return TRUE;
}

/* ---- reading ---- */

typedef struct
{
  RcLoadgen *lg;
  RcLgConn *conn;
  gint64 now_us;
  char *failure;
} Reading;

static gboolean
on_frame (const RcLgWsFrame *f, gpointer data)
{
  Reading *r = data;

  switch (f->opcode)
    {
    case RC_LG_WS_OP_BINARY:
      return on_media (r->lg, r->conn, f, r->now_us, &r->failure);
    case RC_LG_WS_OP_TEXT:
      return on_text (r->lg, r->conn, f, r->now_us, &r->failure);
    case RC_LG_WS_OP_PING:
      if (send_frame (r->lg, r->conn, RC_LG_WS_OP_PONG, f->data, f->length))
        return TRUE;
      r->failure = g_strdup ("send failed");
      return FALSE;
    case RC_LG_WS_OP_CLOSE:
      r->lg->second.closed_by_peer++;
      r->lg->window.closed_by_peer++;
      send_frame (r->lg, r->conn, RC_LG_WS_OP_CLOSE, f->data, MIN (f->length, 2));
      r->failure = g_strdup_printf ("closed by the server (%u)",
                                    f->length >= 2 ? (guint) (f->data[0] << 8 | f->data[1]) : 1005);
      return FALSE;
    default:
      return TRUE;
    }
}

/* Parses WebSocket frames from @data; returns how many bytes were used, or
 * -1 to close (with @failure). */
static gssize
read_ws (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length, gint64 now_us,
         char **failure)
{
  Reading r = { lg, conn, now_us, NULL };
  gssize used = rc_lg_ws_feed (&conn->ws, data, length, on_frame, &r);

  if (used < 0)
    *failure = r.failure != NULL ? r.failure : g_strdup ("a WebSocket protocol error from the server");
  else
    g_free (r.failure);
  return used;
}

/* The Ogg pages of an HTTP listener's body. */
static gssize
read_http_body (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length, gint64 now_us,
                char **failure)
{
  gsize at = 0;
  double now_ms = now_us / 1000.0;

  if (conn->last_read_us > 0 && (now_us - conn->last_read_us) / 1000.0 > lg->o.stall_ms)
    {
      lg->second.http_stalls++;
      lg->window.http_stalls++;
    }
  conn->last_read_us = now_us;
  lg->second.http_bytes += length;
  lg->window.http_bytes += length;
  while (at < length)
    {
      RcLgOggPage page;
      gsize used;
      RcLgOggResult r = rc_lg_ogg_read (conn->ogg, data + at, length - at, &used, &page);

      at += used;
      if (r == RC_LG_OGG_BAD)
        {
          *failure = g_strdup ("the stream is not Ogg");
          return -1;
        }
      if (r != RC_LG_OGG_PAGE || page.granule < 0)
        continue;
      {
        double media_ms = page.granule / 48.0;
        double transit = now_ms - media_ms;

        if (conn->counted_joining)
          rc_lg_conn_first_frame (lg, conn, now_us);
        /* The slot is the listener's best transit so far: an Ogg stream
         * carries no server time. */
        if (transit < conn->best_transit_ms)
          conn->best_transit_ms = transit;
        conn->frames++;
        rc_lg_counts_add (&lg->second.http_counts, transit - conn->best_transit_ms, lg->o.late_ms);
        rc_lg_counts_add (&lg->window.http_counts, transit - conn->best_transit_ms,
                          lg->o.late_ms);
      }
    }
  return (gssize) at;
}

/* The answer's head (up to the empty line): returns its length, 0 while
 * incomplete, -1 on failure. */
static gssize
read_head (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length, char **failure)
{
  const char *end = g_strstr_len ((const char *) data, (gssize) MIN (length, HEAD_MAX), "\r\n\r\n");
  gsize head;

  if (end == NULL)
    {
      if (length >= HEAD_MAX)
        {
          *failure = g_strdup ("an answer's head longer than 8 KiB");
          return -1;
        }
      return 0;
    }
  head = (gsize) (end - (const char *) data) + 4;
  if (conn->kind == RC_LG_KIND_HTTP)
    {
      if (length < 12 || (strncmp ((const char *) data, "HTTP/1.0 200", 12) != 0
                          && strncmp ((const char *) data, "HTTP/1.1 200", 12) != 0
                          && strncmp ((const char *) data, "ICY 200", 7) != 0))
        {
          *failure = g_strdup_printf ("GET answered \"%.*s\"",
                                      (int) MIN (40, strcspn ((const char *) data, "\r\n")),
                                      (const char *) data);
          return -1;
        }
      conn->state = RC_LG_STARTING;
      return (gssize) head;
    }
  if (!rc_lg_ws_upgrade_ok ((const char *) data, head, conn->key))
    {
      *failure = g_strdup_printf ("the upgrade was answered \"%.*s\"",
                                  (int) MIN (40, strcspn ((const char *) data, "\r\n")),
                                  (const char *) data);
      return -1;
    }
  conn->state = RC_LG_JOINING;
  if (conn->kind == RC_LG_KIND_WS)
    {
      g_autofree char *join = g_strdup_printf (
        "{\"type\":\"join\",\"id\":1,\"roomId\":\"%s\",\"name\":\"%s-%u\"}", lg->o.room_id,
        lg->o.name_prefix, conn->number);

      if (!send_frame (lg, conn, RC_LG_WS_OP_TEXT, (const guint8 *) join, strlen (join)))
        {
          *failure = g_strdup ("send failed");
          return -1;
        }
    }
  return (gssize) head;
}

/* Keeps @data[@used..@length) for the next read. */
static void
keep_rest (RcLgConn *conn, const guint8 *data, gsize used, gsize length)
{
  gsize rest = length - used;

  if (rest > conn->keep_cap)
    {
      conn->keep_cap = (guint32) MAX (rest, 256);
      conn->keep = g_realloc (conn->keep, conn->keep_cap);
    }
  if (rest > 0)
    memmove (conn->keep, data + used, rest);
  conn->keep_len = (guint32) rest;
  if (rest == 0 && conn->keep_cap > 4096)
    {
      g_clear_pointer (&conn->keep, g_free);
      conn->keep_cap = 0;
    }
}

/* FALSE: the connection ended (@failure says why; NULL for a clean end). */
static gboolean
on_readable (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  guint8 *buf = lg->rbuf;
  gsize have = conn->keep_len;
  gsize at = 0;
  ssize_t n;
  gint64 now_us;

  if (have > 0)
    memcpy (buf, conn->keep, have);
  n = recv (conn->fd, buf + have, lg->rbuf_size - have, MSG_DONTWAIT);
  if (n < 0)
    {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return TRUE;
      *failure = g_strdup_printf ("recv: %s", g_strerror (errno));
      return FALSE;
    }
  if (n == 0)
    {
      *failure = g_strdup ("the server closed the connection");
      return FALSE;
    }
  now_us = rc_lg_now_us ();
  have += (gsize) n;
  if (conn->janus != NULL)
    {
      gssize used = rc_lg_janus_read (lg, conn, buf, have, failure);

      if (used < 0)
        return FALSE;
      keep_rest (conn, buf, (gsize) used, have);
      return TRUE;
    }
  if (conn->state == RC_LG_UPGRADING)
    {
      gssize head = read_head (lg, conn, buf, have, failure);

      if (head < 0)
        return FALSE;
      if (head == 0)
        {
          keep_rest (conn, buf, 0, have);
          return TRUE;
        }
      at = (gsize) head;
    }
  {
    gssize used = conn->kind == RC_LG_KIND_HTTP
                    ? read_http_body (lg, conn, buf + at, have - at, now_us, failure)
                    : read_ws (lg, conn, buf + at, have - at, now_us, failure);

    if (used < 0)
      return FALSE;
    at += (gsize) used;
  }
  if (have - at > RC_LG_WS_KEEP_MAX)
    {
      *failure = g_strdup ("an unread frame larger than 64 KiB");
      return FALSE;
    }
  keep_rest (conn, buf, at, have);
  return TRUE;
}

void
rc_lg_conn_ready (RcLoadgen *lg, RcLgConn *conn, guint32 events)
{
  g_autofree char *failure = NULL;

  /* A Janus viewer whose HTTP connection is done (an event of the same batch). */
  if (conn->fd < 0)
    return;
  if (conn->state == RC_LG_CONNECTING)
    {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && !on_connected (lg, conn, &failure))
        goto close;
      return;
    }
  if ((events & EPOLLOUT) && conn->out_len > 0 && !conn_flush (lg, conn))
    {
      failure = g_strdup_printf ("send: %s", g_strerror (errno));
      goto close;
    }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !on_readable (lg, conn, &failure))
    goto close;
  return;

close:
  rc_lg_conn_close (lg, conn, failure != NULL ? failure : "closed");
}

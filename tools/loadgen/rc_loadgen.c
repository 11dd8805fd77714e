/* SPDX-License-Identifier: MIT */
/*
 * The load generator's loop (see rc_loadgen.h): one epoll set for every
 * connection, the ramp that opens connections at the join rate, the clock
 * connection's timeSync schedule, and the figures of each second and of
 * the window since the last mark. The protocol of one connection is in
 * rc_lg_conn.c.
 *
 * Order of a turn: epoll_wait (at most 10 ms, so the ramp and the clock
 * keep their pace), every ready connection, then the ramp, then the second's
 * tick. WebSocket guests start only once the clock connection has three
 * exchanges: before that no frame could be placed against its slot.
 */
#define _GNU_SOURCE
#include "rc_loadgen_private.h"

#include "pipelines/rc_stats.h"
#include "rc_lg_webrtc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define READ_BUFFER (256 * 1024)
#define TURN_MS 10
#define CLOCK_SAMPLES_NEEDED 3

typedef struct
{
  int fd;
  RcLoadgenInputFunc func;
  gpointer data;
} Input;

/* Tags in epoll's data for what is not a connection. */
static char wake_tag;

gint64
rc_lg_now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
         + ru.ru_stime.tv_usec / 1e6;
}

/* "http://HOST:PORT[/path]" → host, port, path. */
static gboolean
parse_url (const char *url, char **host, guint *port, char **path, GError **error)
{
  const char *rest;
  const char *slash;
  g_autofree char *authority = NULL;
  const char *colon;
  guint64 p = 80;

  if (!g_str_has_prefix (url, "http://"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an http:// URL: %s", url);
      return FALSE;
    }
  rest = url + strlen ("http://");
  slash = strchr (rest, '/');
  authority = slash != NULL ? g_strndup (rest, (gsize) (slash - rest)) : g_strdup (rest);
  colon = strrchr (authority, ':');
  if (colon != NULL && !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &p, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad port in %s", url);
      return FALSE;
    }
  *host = colon != NULL ? g_strndup (authority, (gsize) (colon - authority)) : g_strdup (authority);
  if (!g_str_equal (*host, "127.0.0.1") && !g_str_equal (*host, "localhost"))
    {
      struct in_addr a;

      if (inet_aton (*host, &a) == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "the load generator takes IPv4 addresses only: %s", url);
          g_clear_pointer (host, g_free);
          return FALSE;
        }
    }
  if (g_str_equal (*host, "localhost"))
    {
      g_free (*host);
      *host = g_strdup ("127.0.0.1");
    }
  *port = (guint) p;
  if (path != NULL)
    *path = g_strdup (slash != NULL ? slash : "/");
  return TRUE;
}

RcLoadgen *
rc_loadgen_new (const RcLoadgenOptions *options, GError **error)
{
  g_autoptr (RcLoadgen) lg = g_new0 (RcLoadgen, 1);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_tag };
  struct rlimit rl;

  lg->o = *options;
  lg->o.room_id = g_strdup (options->room_id);
  lg->o.server_url = g_strdup (options->server_url);
  lg->o.http_url = g_strdup (options->http_url);
  lg->o.name_prefix = g_strdup (options->name_prefix != NULL ? options->name_prefix : "lg");
  if (lg->o.late_ms <= 0)
    lg->o.late_ms = 60;
  if (lg->o.stall_ms <= 0)
    lg->o.stall_ms = 500;
  if (lg->o.join_rate == 0)
    lg->o.join_rate = 500;
  if (lg->o.max_pending == 0)
    lg->o.max_pending = 64;
  if (lg->o.join_timeout_s <= 0)
    lg->o.join_timeout_s = 30;
  lg->epoll_fd = -1;
  lg->wake_fd = -1;
  lg->ws = g_ptr_array_new ();
  lg->http = g_ptr_array_new ();
  lg->join_ms = g_array_new (FALSE, FALSE, sizeof (double));
  lg->inputs = g_array_new (FALSE, FALSE, sizeof (Input));
  lg->rtcs = g_ptr_array_new ();
  lg->closed = g_ptr_array_new_with_free_func ((GDestroyNotify) rc_lg_conn_free);
  lg->o.transport = NULL;
  lg->webrtc = g_strcmp0 (options->transport, "webrtc") == 0;
  if (options->transport != NULL && !lg->webrtc && !g_str_equal (options->transport, "ws"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the transport is ws or webrtc, not %s", options->transport);
      return NULL;
    }
  if (options->janus_url != NULL)
    {
      g_autofree char *host = NULL;

      /* Janus's guests are WebRTC guests without a roomcast (rc_lg_janus.h). */
      if (!parse_url (options->janus_url, &host, &lg->port, &lg->janus_path, error))
        return NULL;
      lg->host = g_strdup_printf ("%s:%u", host, lg->port);
      lg->webrtc = TRUE;
    }
  else if (options->server_url != NULL)
    {
      g_autofree char *host = NULL;

      if (options->room_id == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no room to join");
          return NULL;
        }
      if (!parse_url (options->server_url, &host, &lg->port, NULL, error))
        return NULL;
      lg->host = g_strdup_printf ("%s:%u", host, lg->port);
    }
  if (options->http_url != NULL
      && !parse_url (options->http_url, &lg->http_host, &lg->http_port, &lg->http_path, error))
    return NULL;
  /* Every listener is a socket: take all the descriptors we may. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  lg->rbuf_size = READ_BUFFER + RC_LG_WS_KEEP_MAX;
  lg->rbuf = g_malloc (lg->rbuf_size);
  lg->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  lg->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (lg->epoll_fd < 0 || lg->wake_fd < 0
      || epoll_ctl (lg->epoll_fd, EPOLL_CTL_ADD, lg->wake_fd, &ev) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "epoll: %s",
                   g_strerror (errno));
      return NULL;
    }
  lg->second_start_us = lg->window_start_us = rc_lg_now_us ();
  lg->cpu_second_s = lg->cpu_window_s = cpu_seconds ();
  return g_steal_pointer (&lg);
}

void
rc_loadgen_figures_clear (RcLoadgenFigures *figures)
{
  g_free (figures->first_failure);
  memset (figures, 0, sizeof *figures);
}

void
rc_loadgen_free (RcLoadgen *lg)
{
  if (lg == NULL)
    return;
  while (lg->ws != NULL && lg->ws->len > 0)
    rc_lg_conn_close (lg, g_ptr_array_index (lg->ws, lg->ws->len - 1), NULL);
  while (lg->http != NULL && lg->http->len > 0)
    rc_lg_conn_close (lg, g_ptr_array_index (lg->http, lg->http->len - 1), NULL);
  if (lg->clock_conn != NULL)
    rc_lg_conn_close (lg, lg->clock_conn, NULL);
  g_clear_pointer (&lg->closed, g_ptr_array_unref);
  if (lg->epoll_fd >= 0)
    close (lg->epoll_fd);
  if (lg->wake_fd >= 0)
    close (lg->wake_fd);
  g_clear_pointer (&lg->ws, g_ptr_array_unref);
  g_clear_pointer (&lg->http, g_ptr_array_unref);
  g_clear_pointer (&lg->join_ms, g_array_unref);
  g_clear_pointer (&lg->inputs, g_array_unref);
  g_clear_pointer (&lg->rtcs, g_ptr_array_unref);
  g_clear_pointer (&lg->rtc_shared, rc_lg_rtc_shared_free);
  rc_loadgen_figures_clear (&lg->second);
  rc_loadgen_figures_clear (&lg->window);
  g_free ((char *) lg->o.room_id);
  g_free ((char *) lg->o.server_url);
  g_free (lg->janus_path);
  g_free ((char *) lg->o.http_url);
  g_free ((char *) lg->o.name_prefix);
  g_free (lg->host);
  g_free (lg->http_host);
  g_free (lg->http_path);
  g_free (lg->rbuf);
  g_free (lg);
}

/* ---- targets ---- */

static void
close_newest (RcLoadgen *lg, GPtrArray *list, guint keep, guint *started)
{
  /* The list is unordered after swap-removes: close from its end, passing
   * over the churners (they leave by themselves). */
  for (guint i = list->len; i > 0 && *started > keep; i--)
    {
      RcLgConn *c = g_ptr_array_index (list, i - 1);

      if (c->churner)
        continue;
      rc_lg_conn_close (lg, c, NULL);
      (*started)--;
    }
  if (*started > keep)
    *started = keep;
}

void
rc_loadgen_set_ws_target (RcLoadgen *lg, guint count)
{
  lg->ws_pop.target = count;
  close_newest (lg, lg->ws, count, &lg->ws_started);
}

void
rc_loadgen_set_http_target (RcLoadgen *lg, guint count)
{
  lg->http_pop.target = count;
  close_newest (lg, lg->http, count, &lg->http_started);
}

RcLoadgenPopulation
rc_loadgen_get_ws (RcLoadgen *lg)
{
  return lg->ws_pop;
}

RcLoadgenPopulation
rc_loadgen_get_http (RcLoadgen *lg)
{
  return lg->http_pop;
}

void
rc_loadgen_set_join_rate (RcLoadgen *lg, guint per_second)
{
  lg->o.join_rate = MAX (per_second, 1);
  /* No burst of saved-up joins at the new rate. */
  lg->join_tokens = MIN (lg->join_tokens, 1);
}

void
rc_loadgen_set_churn (RcLoadgen *lg, guint per_second, double life_s)
{
  lg->churn_rate = per_second;
  lg->churn_life_us = (gint64) (MAX (life_s, 0) * G_USEC_PER_SEC);
  lg->churn_tokens = MIN (lg->churn_tokens, 1);
  if (per_second > 0)
    return;
  /* Backwards: a closed one leaves the list by a swap with the last. */
  for (guint i = lg->ws->len; i > 0; i--)
    {
      RcLgConn *c = g_ptr_array_index (lg->ws, i - 1);

      if (c->churner)
        {
          rc_lg_conn_close (lg, c, NULL);
          lg->window.leaves++;
        }
    }
}

/* Churners whose time is up leave (the queue is in leaving order: one life
 * after each first frame). */
static void
churn_leave (RcLoadgen *lg, gint64 now_us)
{
  RcLgConn *c;

  while ((c = g_queue_peek_head (&lg->churn_leaving)) != NULL && c->leave_us <= now_us)
    {
      rc_lg_conn_close (lg, c, NULL); /* takes it off the queue */
      lg->window.leaves++;
    }
}

gboolean
rc_loadgen_clock_ready (RcLoadgen *lg)
{
  return lg->clock.samples >= CLOCK_SAMPLES_NEEDED;
}

void
rc_loadgen_set_tick_func (RcLoadgen *lg, RcLoadgenTickFunc func, gpointer user_data)
{
  lg->tick = func;
  lg->tick_data = user_data;
}

void
rc_loadgen_watch_fd (RcLoadgen *lg, int fd, RcLoadgenInputFunc func, gpointer user_data)
{
  Input in = { fd, func, user_data };
  struct epoll_event ev = { .events = EPOLLIN };

  g_array_append_val (lg->inputs, in);
  /* Tagged by its top bit (no connection's address has it): the array of
   * inputs may move, so an input is found by its fd. */
  ev.data.u64 = ((guint64) 1 << 63) | (guint64) (guint) fd;
  epoll_ctl (lg->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- the ramp and the clock ---- */

static void
ramp (RcLoadgen *lg, gint64 now_us)
{
  double elapsed = lg->last_ramp_us > 0 ? (now_us - lg->last_ramp_us) / 1e6 : 0;
  guint pending;

  lg->last_ramp_us = now_us;
  lg->join_tokens = MIN (lg->join_tokens + elapsed * lg->o.join_rate, (double) lg->o.max_pending);
  pending = lg->ws_pop.joining + lg->http_pop.joining;
  if (lg->churn_rate > 0)
    lg->churn_tokens = MIN (lg->churn_tokens + elapsed * lg->churn_rate,
                            (double) lg->o.max_pending);
  /* The churn's joins, at their own rate. */
  while (lg->churn_rate > 0 && lg->churn_tokens >= 1 && pending < lg->o.max_pending
         && lg->host != NULL && (rc_loadgen_clock_ready (lg) || lg->janus_path != NULL))
    {
      RcLgConn *c = rc_lg_conn_open (lg, RC_LG_KIND_WS);

      if (c != NULL)
        {
          c->churner = TRUE;
          lg->churners++;
        }
      lg->churn_tokens -= 1;
      pending++;
    }
  while (lg->join_tokens >= 1 && pending < lg->o.max_pending)
    {
      if (lg->http_path != NULL && lg->http_started < lg->http_pop.target)
        {
          lg->http_started++;
          rc_lg_conn_open (lg, RC_LG_KIND_HTTP);
        }
      else if (lg->host != NULL && (rc_loadgen_clock_ready (lg) || lg->janus_path != NULL)
               && lg->ws_started < lg->ws_pop.target)
        {
          lg->ws_started++;
          rc_lg_conn_open (lg, RC_LG_KIND_WS);
        }
      else
        break;
      lg->join_tokens -= 1;
      pending++;
    }
}

static void
follow_clock (RcLoadgen *lg, gint64 now_us)
{
  g_autofree char *request = NULL;

  if (lg->host == NULL || lg->janus_path != NULL)
    return;
  if (lg->clock_conn == NULL)
    {
      if (now_us < lg->next_sync_us)
        return;
      /* (Re)connect; a failed clock connection is retried every second. */
      lg->next_sync_us = now_us + G_USEC_PER_SEC;
      rc_lg_conn_open (lg, RC_LG_KIND_CLOCK);
      return;
    }
  if (lg->clock_conn->state < RC_LG_JOINING || now_us < lg->next_sync_us)
    return;
  /* A burst at the start, then one exchange every 2 s. */
  lg->next_sync_us = now_us + (lg->syncs_sent < 10 ? 100 : 2000) * (gint64) 1000;
  lg->syncs_sent++;
  request = g_strdup_printf ("{\"type\":\"timeSync\",\"id\":%u,\"t0\":%.3f}", lg->syncs_sent,
                             rc_lg_now_us () / 1000.0);
  rc_lg_conn_send_text (lg, lg->clock_conn, request);
}

/* ---- figures ---- */

static void
fill_population (RcLoadgen *lg, RcLoadgenFigures *f, gint64 now_us, gint64 start_us, double cpu0)
{
  f->span_s = (now_us - start_us) / 1e6;
  f->ws = lg->ws_pop;
  f->http = lg->http_pop;
  f->cpu_pct = f->span_s > 0 ? 100.0 * (cpu_seconds () - cpu0) / f->span_s : 0;
}

/* Listeners that never got a frame fail after the join timeout (a server
 * at its fd limit leaves them connected and unanswered). Backwards: a
 * closed one leaves its list by a swap with the last. */
static void
give_up_joins (RcLoadgen *lg, GPtrArray *list, gint64 now_us)
{
  gint64 limit = (gint64) (lg->o.join_timeout_s * G_USEC_PER_SEC);

  for (guint i = list->len; i > 0; i--)
    {
      RcLgConn *c = g_ptr_array_index (list, i - 1);

      if (c->counted_joining && now_us - c->started_us > limit)
        {
          g_autofree char *why = g_strdup_printf ("no audio within %.0f s of connecting",
                                                  lg->o.join_timeout_s);

          rc_lg_conn_close (lg, c, why);
        }
    }
}

static void
tick (RcLoadgen *lg, gint64 now_us)
{
  give_up_joins (lg, lg->ws, now_us);
  give_up_joins (lg, lg->http, now_us);
  fill_population (lg, &lg->second, now_us, lg->second_start_us, lg->cpu_second_s);
  if (lg->tick != NULL)
    lg->tick (lg, &lg->second, lg->tick_data);
  rc_loadgen_figures_clear (&lg->second);
  lg->second_start_us = now_us;
  lg->cpu_second_s = cpu_seconds ();
}

void
rc_loadgen_mark (RcLoadgen *lg)
{
  rc_loadgen_figures_clear (&lg->window);
  g_array_set_size (lg->join_ms, 0);
  for (guint i = 0; i < lg->ws->len; i++)
    {
      RcLgConn *c = g_ptr_array_index (lg->ws, i);

      c->frames_at_mark = c->frames;
      c->settled = c->state == RC_LG_RECEIVING && !c->churner;
      if (c->sample != NULL)
        c->sample->frames = c->sample->tone_frames = 0;
    }
  for (guint i = 0; i < lg->http->len; i++)
    {
      RcLgConn *c = g_ptr_array_index (lg->http, i);

      c->frames_at_mark = c->frames;
    }
  lg->window_start_us = rc_lg_now_us ();
  lg->cpu_window_s = cpu_seconds ();
}

static guint
silent (GPtrArray *list)
{
  guint n = 0;

  for (guint i = 0; i < list->len; i++)
    {
      RcLgConn *c = g_ptr_array_index (list, i);

      n += c->state == RC_LG_RECEIVING && c->frames == c->frames_at_mark;
    }
  return n;
}

void
rc_loadgen_get_window (RcLoadgen *lg, RcLoadgenFigures *out)
{
  *out = lg->window;
  out->first_failure = g_strdup (lg->window.first_failure);
  fill_population (lg, out, rc_lg_now_us (), lg->window_start_us, lg->cpu_window_s);
  out->silent_ws = silent (lg->ws);
  out->silent_http = silent (lg->http);
  out->joins = lg->join_ms->len;
  out->churners = lg->churners;
  if (lg->join_ms->len > 0)
    {
      double sum = 0;

      for (guint i = 0; i < lg->join_ms->len; i++)
        sum += g_array_index (lg->join_ms, double, i);
      out->join_mean_ms = sum / lg->join_ms->len;
      out->join_p99_ms = rc_percentile (lg->join_ms, 0.99);
      out->join_max_ms = rc_percentile (lg->join_ms, 1.0);
    }
  for (guint i = 0; i < lg->ws->len; i++)
    {
      RcLgConn *c = g_ptr_array_index (lg->ws, i);

      if (c->sample == NULL || c->sample->frames == 0)
        continue;
      out->sampled++;
      out->sample_frames += c->sample->frames;
      if (c->sample->tone_frames * 2 >= c->sample->frames)
        out->sampled_with_tone++;
    }
}

static void
add_counts (JsonBuilder *b, const char *name, const RcLgCounts *c)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, (gint64) c->frames);
  json_builder_set_member_name (b, "lost");
  json_builder_add_int_value (b, (gint64) c->lost);
  json_builder_set_member_name (b, "late");
  json_builder_add_int_value (b, (gint64) c->late);
  json_builder_set_member_name (b, "early");
  json_builder_add_int_value (b, (gint64) c->early);
  json_builder_set_member_name (b, "p50");
  json_builder_add_double_value (b, rc_lg_counts_quantile (c, 0.5));
  json_builder_set_member_name (b, "p99");
  json_builder_add_double_value (b, rc_lg_counts_quantile (c, 0.99));
  json_builder_set_member_name (b, "p999");
  json_builder_add_double_value (b, rc_lg_counts_quantile (c, 0.999));
  json_builder_set_member_name (b, "max");
  json_builder_add_double_value (b, c->max_ms);
  json_builder_end_object (b);
}

static void
add_population (JsonBuilder *b, const char *name, const RcLoadgenPopulation *p)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "target");
  json_builder_add_int_value (b, p->target);
  json_builder_set_member_name (b, "joining");
  json_builder_add_int_value (b, p->joining);
  json_builder_set_member_name (b, "receiving");
  json_builder_add_int_value (b, p->receiving);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, p->failed);
  json_builder_end_object (b);
}

#define MEMBER_INT(b, name, v)                                                                     \
  do                                                                                               \
    {                                                                                              \
      json_builder_set_member_name (b, name);                                                      \
      json_builder_add_int_value (b, (gint64) (v));                                                \
    }                                                                                              \
  while (0)
#define MEMBER_DOUBLE(b, name, v)                                                                  \
  do                                                                                               \
    {                                                                                              \
      json_builder_set_member_name (b, name);                                                      \
      json_builder_add_double_value (b, (v));                                                      \
    }                                                                                              \
  while (0)

char *
rc_loadgen_figures_to_json (const RcLoadgenFigures *f, const char *kind)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, kind);
  MEMBER_DOUBLE (b, "span", f->span_s);
  MEMBER_DOUBLE (b, "cpu", f->cpu_pct);
  add_population (b, "wsGuests", &f->ws);
  add_population (b, "httpListeners", &f->http);
  add_counts (b, "ws", &f->ws_counts);
  add_counts (b, "http", &f->http_counts);
  add_counts (b, "wsSettled", &f->ws_settled);
  MEMBER_INT (b, "httpBytes", f->http_bytes);
  MEMBER_INT (b, "httpStalls", f->http_stalls);
  MEMBER_INT (b, "closedByPeer", f->closed_by_peer);
  MEMBER_INT (b, "silentWs", f->silent_ws);
  MEMBER_INT (b, "silentHttp", f->silent_http);
  MEMBER_INT (b, "joins", f->joins);
  MEMBER_INT (b, "leaves", f->leaves);
  MEMBER_INT (b, "churners", f->churners);
  MEMBER_DOUBLE (b, "joinMeanMs", f->join_mean_ms);
  MEMBER_DOUBLE (b, "joinP99Ms", f->join_p99_ms);
  MEMBER_DOUBLE (b, "joinMaxMs", f->join_max_ms);
  MEMBER_INT (b, "sampled", f->sampled);
  MEMBER_INT (b, "sampledWithTone", f->sampled_with_tone);
  MEMBER_INT (b, "sampleFrames", f->sample_frames);
  json_builder_set_member_name (b, "firstFailure");
  if (f->first_failure != NULL)
    json_builder_add_string_value (b, f->first_failure);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* ---- the loop ---- */

void
rc_loadgen_quit (RcLoadgen *lg)
{
  guint64 one = 1;

  g_atomic_int_set (&lg->quit, TRUE);
  if (write (lg->wake_fd, &one, sizeof one) < 0)
    {
      /* The counter is full: a wake-up is pending anyway. */
    }
}

static void
on_input (RcLoadgen *lg, int fd)
{
  for (guint i = 0; i < lg->inputs->len; i++)
    {
      Input *in = &g_array_index (lg->inputs, Input, i);

      if (in->fd == fd)
        {
          in->func (lg, fd, in->data);
          return;
        }
    }
}

void
rc_loadgen_run (RcLoadgen *lg, double ms)
{
  struct epoll_event events[512];
  int inputs[8];
  gint64 end_us = ms >= 0 ? rc_lg_now_us () + (gint64) (ms * 1000) : G_MAXINT64;

  g_atomic_int_set (&lg->quit, FALSE);
  while (!g_atomic_int_get (&lg->quit))
    {
      gint64 now_us = rc_lg_now_us ();
      int n;
      guint n_inputs = 0;

      if (now_us >= end_us)
        break;
      n = epoll_wait (lg->epoll_fd, events, G_N_ELEMENTS (events), TURN_MS);
      for (int i = 0; i < n; i++)
        {
          if (events[i].data.ptr == &wake_tag)
            {
              guint64 v;

              if (read (lg->wake_fd, &v, sizeof v) < 0)
                {
                  /* Nothing to read: fine. */
                }
              continue;
            }
          if ((events[i].data.u64 >> 62) == 1)
            {
              RcLgRtc *rtc = (RcLgRtc *) (guintptr) (events[i].data.u64 & ~((guint64) 1 << 62));
              g_autofree char *failure = NULL;

              if (rc_lg_rtc_get_conn (rtc)->state != RC_LG_CLOSED
                  && !rc_lg_rtc_readable (lg, rtc, &failure))
                rc_lg_conn_close (lg, rc_lg_rtc_get_conn (rtc), failure);
              continue;
            }
          if (events[i].data.u64 >> 63)
            {
              if (n_inputs < G_N_ELEMENTS (inputs))
                inputs[n_inputs++] = (int) (events[i].data.u64 & 0x7fffffff);
              continue;
            }
          if (((RcLgConn *) events[i].data.ptr)->state != RC_LG_CLOSED)
            rc_lg_conn_ready (lg, events[i].data.ptr, events[i].events);
        }
      /* After the connections: an input may close some of them, whose
       * events would otherwise still be in this batch. */
      for (guint i = 0; i < n_inputs; i++)
        on_input (lg, inputs[i]);
      now_us = rc_lg_now_us ();
      /* Backwards: a failed guest leaves the array by a swap with the last. */
      for (guint i = lg->rtcs->len; i > 0; i--)
        {
          RcLgRtc *rtc = g_ptr_array_index (lg->rtcs, i - 1);
          g_autofree char *failure = NULL;

          if (!rc_lg_rtc_turn (lg, rtc, now_us, &failure))
            rc_lg_conn_close (lg, rc_lg_rtc_get_conn (rtc), failure);
        }
      follow_clock (lg, now_us);
      churn_leave (lg, now_us);
      ramp (lg, now_us);
      if (now_us - lg->second_start_us >= G_USEC_PER_SEC)
        tick (lg, now_us);
      /* No event of this turn names them any more. */
      g_ptr_array_set_size (lg->closed, 0);
    }
}

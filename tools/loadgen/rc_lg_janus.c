/* SPDX-License-Identifier: MIT */
/*
 * A Janus Streaming viewer for the load generator (see rc_lg_janus.h), so
 * bench-fanout can hold Janus to the same guests, the same STUN/DTLS and the
 * same RTP counting as roomcast's engine. Written from Janus's documented
 * REST API (janus.transport.http: POST /janus, /janus/SESSION,
 * /janus/SESSION/HANDLE; GET /janus/SESSION long polls); no Janus code.
 *
 * One request is out at a time on the guest's HTTP/1.1 keep-alive
 * connection, so an answer is always the one to the last request: its step
 * says what it is. Janus answers "message" and "trickle" requests with an
 * "ack" and delivers the plugin's event (with the offer) on the long poll.
 */
#include "rc_lg_janus.h"

#include "rc_lg_webrtc.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ANSWER_MAX (64 * 1024)

typedef enum
{
  STEP_CREATE,
  STEP_ATTACH,
  STEP_WATCH,
  STEP_OFFER_POLL, /* long polls until the offer arrives */
  STEP_START,
  STEP_TRICKLE,
  STEP_DONE,       /* the HTTP connection is closed; the media flows */
} Step;

struct _RcLgJanus
{
  Step step;
  gint64 session, handle;
  guint transaction;
  char *candidate; /* ours, trickled once the answer is in */
};

void
rc_lg_janus_free (RcLgJanus *janus)
{
  if (janus == NULL)
    return;
  g_free (janus->candidate);
  g_free (janus);
}

static gboolean
send_request (RcLoadgen *lg, RcLgConn *conn, const char *method, const char *path,
              const char *body, char **failure)
{
  g_autofree char *request = g_strdup_printf (
    "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: roomcast-loadgen\r\n"
    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
    method, path, lg->host, body != NULL ? strlen (body) : 0, body != NULL ? body : "");

  if (!rc_lg_conn_write (lg, conn, (const guint8 *) request, strlen (request)))
    {
      *failure = g_strdup ("send to Janus failed");
      return FALSE;
    }
  return TRUE;
}

/* POSTs {"janus": @verb, "transaction": T, ...@extra's members} to the
 * session (@session), its handle (@handle) or the API's root. */
static gboolean
post (RcLoadgen *lg, RcLgConn *conn, const char *verb, JsonObject *extra, gboolean session,
      gboolean handle, char **failure)
{
  RcLgJanus *j = conn->janus;
  g_autoptr (JsonObject) o = extra != NULL ? json_object_ref (extra) : json_object_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *transaction = g_strdup_printf ("t%u", ++j->transaction);
  g_autofree char *body = NULL;
  g_autofree char *path = NULL;

  json_object_set_string_member (o, "janus", verb);
  json_object_set_string_member (o, "transaction", transaction);
  json_node_set_object (root, o);
  json_generator_set_root (gen, root);
  body = json_generator_to_data (gen, NULL);
  if (handle)
    path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, lg->janus_path,
                            j->session, j->handle);
  else if (session)
    path = g_strdup_printf ("%s/%" G_GINT64_FORMAT, lg->janus_path, j->session);
  else
    path = g_strdup (lg->janus_path);
  return send_request (lg, conn, "POST", path, body, failure);
}

static gboolean
long_poll (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  g_autofree char *path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "?maxev=1", lg->janus_path,
                                           conn->janus->session);

  return send_request (lg, conn, "GET", path, NULL, failure);
}

gboolean
rc_lg_janus_start (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  conn->janus = g_new0 (RcLgJanus, 1);
  conn->janus->step = STEP_CREATE;
  return post (lg, conn, "create", NULL, FALSE, FALSE, failure);
}

/* ---- the steps ---- */

static gboolean
send_watch (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  g_autoptr (JsonObject) o = json_object_new ();
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "request", "watch");
  json_object_set_int_member (body, "id", lg->o.janus_mountpoint);
  json_object_set_object_member (o, "body", body);
  conn->janus->step = STEP_WATCH;
  return post (lg, conn, "message", o, TRUE, TRUE, failure);
}

/* Janus's offer: our answer goes with a "start". */
static gboolean
take_offer (RcLoadgen *lg, RcLgConn *conn, JsonObject *jsep, char **failure)
{
  g_autofree char *answer = NULL;
  g_autoptr (JsonObject) o = json_object_new ();
  JsonObject *body = json_object_new ();
  JsonObject *a = json_object_new ();

  if ((conn->rtc = rc_lg_rtc_new (lg, conn, failure)) == NULL
      || !rc_lg_rtc_take_offer (lg, conn->rtc, json_object_get_string_member_with_default (jsep, "sdp", ""),
                                &answer, &conn->janus->candidate, failure))
    {
      json_object_unref (body);
      json_object_unref (a);
      return FALSE;
    }
  json_object_set_string_member (body, "request", "start");
  json_object_set_string_member (a, "type", "answer");
  json_object_set_string_member (a, "sdp", answer);
  json_object_set_object_member (o, "body", body);
  json_object_set_object_member (o, "jsep", a);
  conn->state = RC_LG_STARTING;
  conn->janus->step = STEP_START;
  return post (lg, conn, "message", o, TRUE, TRUE, failure);
}

static gboolean
send_trickle (RcLoadgen *lg, RcLgConn *conn, char **failure)
{
  g_autoptr (JsonObject) o = json_object_new ();
  JsonArray *candidates = json_array_new ();
  JsonObject *c = json_object_new ();
  JsonObject *done = json_object_new ();

  json_object_set_string_member (c, "candidate", conn->janus->candidate);
  json_object_set_int_member (c, "sdpMLineIndex", 0);
  json_object_set_boolean_member (done, "completed", TRUE);
  json_array_add_object_element (candidates, c);
  json_array_add_object_element (candidates, done);
  json_object_set_array_member (o, "candidates", candidates);
  conn->janus->step = STEP_TRICKLE;
  return post (lg, conn, "trickle", o, TRUE, TRUE, failure);
}

/* One event of a long poll: the offer, an error, or nothing to act on. */
static gboolean
on_event (RcLoadgen *lg, RcLgConn *conn, JsonObject *event, char **failure)
{
  JsonObject *jsep = json_object_has_member (event, "jsep")
                       ? json_object_get_object_member (event, "jsep")
                       : NULL;
  JsonObject *plugin = json_object_has_member (event, "plugindata")
                         ? json_object_get_object_member (event, "plugindata")
                         : NULL;
  JsonObject *data = plugin != NULL && json_object_has_member (plugin, "data")
                       ? json_object_get_object_member (plugin, "data")
                       : NULL;

  if (data != NULL && json_object_has_member (data, "error"))
    {
      *failure = g_strdup_printf ("Janus: %s",
                                  json_object_get_string_member_with_default (data, "error", "?"));
      return FALSE;
    }
  if (conn->janus->step == STEP_OFFER_POLL && jsep != NULL
      && g_strcmp0 (json_object_get_string_member_with_default (jsep, "type", ""), "offer") == 0)
    return take_offer (lg, conn, jsep, failure);
  if (g_strcmp0 (json_object_get_string_member_with_default (event, "janus", ""), "hangup") == 0)
    {
      *failure = g_strdup_printf ("Janus hung up: %s",
                                  json_object_get_string_member_with_default (event, "reason", "?"));
      return FALSE;
    }
  return TRUE;
}

/* Set up: the session lives on without its HTTP connection (the
 * benchmark's Janus has no session timeout), so the steady windows measure
 * Janus's media path, not one open long poll per viewer. */
static void
hang_up_http (RcLoadgen *lg, RcLgConn *conn)
{
  epoll_ctl (lg->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
  close (conn->fd);
  conn->fd = -1;
}

/* The answer to the request of the current step. */
static gboolean
on_answer (RcLoadgen *lg, RcLgConn *conn, JsonNode *root, char **failure)
{
  RcLgJanus *j = conn->janus;
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  const char *verb = o != NULL ? json_object_get_string_member_with_default (o, "janus", "") : "";

  if (g_str_equal (verb, "error"))
    {
      JsonObject *e = json_object_has_member (o, "error") ? json_object_get_object_member (o, "error")
                                                          : NULL;

      *failure = g_strdup_printf ("Janus error %" G_GINT64_FORMAT ": %s",
                                  e != NULL ? json_object_get_int_member_with_default (e, "code", 0) : 0,
                                  e != NULL ? json_object_get_string_member_with_default (e, "reason", "?")
                                            : "?");
      return FALSE;
    }
  switch (j->step)
    {
    case STEP_CREATE:
    case STEP_ATTACH:
      {
        JsonObject *data = g_str_equal (verb, "success") && json_object_has_member (o, "data")
                             ? json_object_get_object_member (o, "data")
                             : NULL;
        gint64 id = data != NULL ? json_object_get_int_member_with_default (data, "id", 0) : 0;

        if (id == 0)
          {
            *failure = g_strdup_printf ("Janus answered a %s with \"%s\"",
                                        j->step == STEP_CREATE ? "create" : "attach", verb);
            return FALSE;
          }
        if (j->step == STEP_ATTACH)
          {
            j->handle = id;
            return send_watch (lg, conn, failure);
          }
        j->session = id;
        j->step = STEP_ATTACH;
        {
          g_autoptr (JsonObject) a = json_object_new ();

          json_object_set_string_member (a, "plugin", "janus.plugin.streaming");
          return post (lg, conn, "attach", a, TRUE, FALSE, failure);
        }
      }
    case STEP_WATCH:
      /* An "ack"; an event answered at once would carry the offer. */
      j->step = STEP_OFFER_POLL;
      if (g_str_equal (verb, "event") && !on_event (lg, conn, o, failure))
        return FALSE;
      return j->step == STEP_OFFER_POLL ? long_poll (lg, conn, failure) : TRUE;
    case STEP_START:
      return send_trickle (lg, conn, failure);
    case STEP_TRICKLE:
      j->step = STEP_DONE;
      hang_up_http (lg, conn);
      return TRUE;
    case STEP_DONE:
      return TRUE;
    case STEP_OFFER_POLL:
      if (JSON_NODE_HOLDS_ARRAY (root))
        {
          JsonArray *events = json_node_get_array (root);

          for (guint i = 0; i < json_array_get_length (events); i++)
            if (JSON_NODE_HOLDS_OBJECT (json_array_get_element (events, i))
                && !on_event (lg, conn, json_array_get_object_element (events, i), failure))
              return FALSE;
        }
      else if (o != NULL && !on_event (lg, conn, o, failure))
        return FALSE;
      /* The offer sent a "start": its answer comes first. */
      return j->step == STEP_START ? TRUE : long_poll (lg, conn, failure);
    }
  return TRUE;
}

/* ---- HTTP answers ---- */

/* The value of header @name (lower case, with its colon) in @head, or NULL. */
static char *
header (const char *head, gsize head_length, const char *name)
{
  g_autofree char *h = g_ascii_strdown (head, (gssize) head_length);
  g_autofree char *key = g_strdup_printf ("\r\n%s", name);
  const char *at = strstr (h, key);

  if (at == NULL)
    return NULL;
  at += strlen (key);
  return g_strstrip (g_strndup (at, strcspn (at, "\r\n")));
}

/* A chunked body (RFC 9112 7.1) at @p: its bytes into @body, and the
 * length it took; 0 while incomplete, -1 when malformed. */
static gssize
dechunk (const char *p, gsize avail, GString *body)
{
  gsize at = 0;

  g_string_truncate (body, 0);
  for (;;)
    {
      const char *eol = g_strstr_len (p + at, (gssize) (avail - at), "\r\n");
      char *end = NULL;
      guint64 size;

      if (eol == NULL)
        return avail - at > 32 ? -1 : 0;
      size = g_ascii_strtoull (p + at, &end, 16);
      if (end == p + at || size > ANSWER_MAX || body->len + size > ANSWER_MAX)
        return -1;
      at = (gsize) (eol - p) + 2;
      if (avail - at < size + 2)
        return 0;
      if (size == 0)
        return (gssize) (at + 2); /* no trailers from Janus */
      g_string_append_len (body, p + at, (gssize) size);
      at += size + 2;
    }
}

gssize
rc_lg_janus_next_answer (const guint8 *data, gsize length, GString *body, char **failure)
{
  const char *text = (const char *) data;
  const char *end = g_strstr_len (text, (gssize) MIN (length, ANSWER_MAX), "\r\n\r\n");
  g_autofree char *encoding = NULL;
  g_autofree char *content_length = NULL;
  gsize head;
  guint64 n;

  if (end == NULL)
    {
      if (length >= ANSWER_MAX)
        {
          *failure = g_strdup ("a Janus answer's head longer than 64 KiB");
          return -1;
        }
      return 0;
    }
  head = (gsize) (end - text) + 4;
  if (length < 12
      || (strncmp (text, "HTTP/1.1 200", 12) != 0 && strncmp (text, "HTTP/1.0 200", 12) != 0))
    {
      *failure = g_strdup_printf ("Janus answered \"%.*s\"",
                                  (int) MIN (40, strcspn (text, "\r\n")), text);
      return -1;
    }
  encoding = header (text, head, "transfer-encoding:");
  content_length = header (text, head, "content-length:");
  if (encoding != NULL && g_str_equal (encoding, "chunked"))
    {
      gssize taken = dechunk (text + head, length - head, body);

      if (taken < 0)
        *failure = g_strdup ("a Janus answer with bad chunks");
      return taken <= 0 ? taken : (gssize) head + taken;
    }
  if (content_length == NULL
      || !g_ascii_string_to_unsigned (content_length, 10, 0, ANSWER_MAX, &n, NULL))
    {
      *failure = g_strdup ("a Janus answer without a usable length");
      return -1;
    }
  if (length < head + n)
    return 0;
  g_string_truncate (body, 0);
  g_string_append_len (body, text + head, (gssize) n);
  return (gssize) (head + n);
}

gssize
rc_lg_janus_read (RcLoadgen *lg, RcLgConn *conn, const guint8 *data, gsize length,
                  char **failure)
{
  gsize at = 0;
  g_autoptr (GString) body = g_string_new (NULL);

  while (at < length && conn->fd >= 0)
    {
      gssize took = rc_lg_janus_next_answer (data + at, length - at, body, failure);
      g_autoptr (JsonParser) parser = NULL;

      if (took < 0)
        return -1;
      if (took == 0)
        break;
      parser = json_parser_new ();
      if (!json_parser_load_from_data (parser, body->str, (gssize) body->len, NULL))
        {
          *failure = g_strdup ("a Janus answer that is not JSON");
          return -1;
        }
      at += (gsize) took;
      if (!on_answer (lg, conn, json_parser_get_root (parser), failure))
        return -1;
    }
  if (length - at > ANSWER_MAX)
    {
      *failure = g_strdup ("a Janus answer larger than 64 KiB");
      return -1;
    }
  return (gssize) at;
}

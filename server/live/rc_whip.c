/* SPDX-License-Identifier: MIT */
/*
 * WHIP (RFC 9725): a host's HTTP side of going live. Why it is built this
 * way:
 *
 * - The POST is answered only when the answer is complete (ICE gathering
 *   done, every server candidate in it): OBS does not trickle, and the
 *   answer is all it gets. The message is paused meanwhile
 *   (soup_server_message_pause), so the main loop serves everyone else.
 * - No trickle, no ICE restart: PATCH is 405 (RFC 9725 lets a resource say
 *   so). A host that loses its network ends, and comes back with a new POST.
 * - The room's side (publisher slot, limit, mixing policy, notifications,
 *   stats) is an RcLive, begun at the POST before the answer, so a second
 *   host gets 409 at once and revoking the key or deleting the room ends a
 *   host still being answered.
 * - Every way out goes through session_end: DELETE, the ingest ending (ICE
 *   or DTLS failure, no audio for 2 s, no audio at all), the room ending
 *   the host (key revoked, room deleted), the POST's client going away,
 *   and the server stopping. It undoes what the session did, in reverse.
 * - Errors are the protocol's JSON error bodies; CORS headers go on every
 *   answer so a browser page can publish and read Location.
 *
 * Ordering rule: main context only. The ingest calls back on the main
 * context, never from inside a call into it.
 */
#include "server/live/rc_whip.h"
#include "server/core/rc_error.h"
#include "server/core/rc_http.h"
#include "pipelines/rc_sdp.h"
#include "pipelines/rc_whip_ingest.h"
#include "server/core/rc_json.h"
#include "server/rooms/rc_live.h"
#include "server/rooms/rc_room.h"
#include "server/core/rc_secret.h"

#include <string.h>

/* OBS's offers are 1-2 KB and browsers' up to ~10 KB. */
#define MAX_OFFER_BYTES 65536
#define SESSION_ID_LENGTH 22
#define RETRY_AFTER_S "10"
#define ENDPOINT_METHODS "POST, OPTIONS"
#define RESOURCE_METHODS "DELETE, OPTIONS"
/* A browser page may PATCH (to trickle) only if the preflight lets it: it
 * is let through to get the resource's 405, which WHIP clients take as
 * "no trickle here", rather than a CORS failure. */
#define RESOURCE_CORS_METHODS "DELETE, PATCH, OPTIONS"

typedef struct _Session Session;

struct _RcWhip
{
  RcLiveHost *host; /* borrowed, outlives this */
  GHashTable *sessions; /* id -> Session* (owned by the table's user: session_end frees) */
  GPtrArray *links;     /* Link header values for the ICE servers */
  guint latency_ms;
};

struct _Session
{
  RcWhip *whip;
  char *id;
  RcLive *live; /* the room's side: its room and key */
  RcWhipIngest *ingest;
  SoupServerMessage *pending; /* the paused POST until it is answered (strong) */
  gint64 started_us;
  gboolean ended;
};

static void
cors (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_replace (h, "Access-Control-Expose-Headers", "Location, Link");
}

/* ---- ICE servers --------------------------------------------------------- */

static gboolean
link_safe (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f || strchr ("\"<>\\,", *c) != NULL)
      return FALSE;
  return TRUE;
}

/* "stun:host:port" or "turn:user:pass@host:port?transport=udp" → a Link value. */
static char *
ice_server_link (const char *url, GError **error)
{
  const char *schemes[] = { "stun:", "stuns:", "turn:", "turns:" };
  const char *scheme = NULL;
  const char *rest, *at;
  g_autofree char *user = NULL, *credential = NULL, *plain = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (schemes) && scheme == NULL; i++)
    if (g_str_has_prefix (url, schemes[i]))
      scheme = schemes[i];
  if (scheme == NULL || !link_safe (url) || url[strlen (scheme)] == '\0')
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                   "--whip-ice-server: \"%s\" is not a stun:, stuns:, turn: or turns: URL", url);
      return NULL;
    }
  rest = url + strlen (scheme);
  at = strrchr (rest, '@');
  if (at == NULL)
    return g_strdup_printf ("<%s>; rel=\"ice-server\"", url);
  if (g_str_has_prefix (scheme, "stun"))
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                   "--whip-ice-server: \"%s\": STUN takes no credentials", url);
      return NULL;
    }
  {
    g_autofree char *userinfo = g_strndup (rest, at - rest);
    const char *colon = strchr (userinfo, ':');

    if (colon == NULL || colon == userinfo || colon[1] == '\0')
      {
        g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                     "--whip-ice-server: \"%s\": credentials are user:password@", url);
        return NULL;
      }
    user = g_strndup (userinfo, colon - userinfo);
    credential = g_strdup (colon + 1);
  }
  plain = g_strdup_printf ("%s%s", scheme, at + 1);
  return g_strdup_printf ("<%s>; rel=\"ice-server\"; username=\"%s\"; credential=\"%s\"; "
                          "credential-type=\"password\"",
                          plain, user, credential);
}

static gboolean
parse_ice_servers (RcWhip *whip, const char *option, GError **error)
{
  g_auto (GStrv) items = g_strsplit (option != NULL ? option : "", ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    {
      char *item = g_strstrip (items[i]);
      char *link;

      if (*item == '\0')
        continue;
      if ((link = ice_server_link (item, error)) == NULL)
        return FALSE;
      g_ptr_array_add (whip->links, link);
    }
  return TRUE;
}

/* ---- sessions ------------------------------------------------------------ */

static void on_pending_gone (SoupServerMessage *msg, gpointer data);

/* Answers the paused POST (status set by the caller) and lets it go. */
static void
release_pending (Session *s)
{
  g_autoptr (SoupServerMessage) msg = g_steal_pointer (&s->pending);

  if (msg == NULL)
    return;
  g_signal_handlers_disconnect_by_func (msg, on_pending_gone, s);
  soup_server_message_unpause (msg);
}

/* Undoes everything the session did; @code answers a POST still pending. */
static void
session_end (Session *s, int code, const char *why)
{
  RcWhip *whip = s->whip;
  RcWhipIngestStats stats = { 0 };

  if (s->ended)
    return;
  s->ended = TRUE;
  g_hash_table_remove (whip->sessions, s->id);
  if (s->pending != NULL)
    {
      /* Server faults are detailed in the log, not to the client. */
      rc_http_send_error (s->pending, code, code >= 5000 ? NULL : why);
      release_pending (s);
    }
  if (s->ingest != NULL)
    rc_whip_ingest_get_stats (s->ingest, &stats);
  g_message ("Room %s: host %s ended after %.1f s: %s (%" G_GUINT64_FORMAT " packets, "
             "%" G_GINT64_FORMAT " lost, jitter %.1f ms, %.0f kb/s)",
             rc_room_get_id (rc_live_get_room (s->live)), s->id,
             (g_get_monotonic_time () - s->started_us) / (double) G_USEC_PER_SEC, why,
             stats.packets, stats.lost, stats.jitter_ms, stats.bitrate / 1000.0);
  /* Out of the mix first: the pipeline is the live's until it ends. */
  g_clear_pointer (&s->ingest, rc_whip_ingest_free);
  rc_live_end (s->live, why);
  g_free (s->id);
  g_free (s);
}

/* The room ends its host (key revoked, room closed). */
static void
on_live_end (RcLive *live, int code, const char *why, gpointer data)
{
  session_end (data, code, why);
}

static void
on_live_stats (RcLive *live, RcLiveStats *out, gpointer data)
{
  Session *s = data;
  RcWhipIngestStats stats = { 0 };

  if (s->ingest == NULL)
    return;
  rc_whip_ingest_get_stats (s->ingest, &stats);
  out->packets = stats.packets;
  out->bytes = stats.bytes;
  out->lost = stats.lost;
  out->jitter_ms = stats.jitter_ms;
  out->bitrate = stats.bitrate;
  out->rtt_ms = -1;
  {
    GstClockTime delay = rc_whip_ingest_get_mix_delay (s->ingest);

    out->buffer_ms = GST_CLOCK_TIME_IS_VALID (delay) ? delay / (double) GST_MSECOND
                                                     : s->whip->latency_ms;
  }
}

static const RcLiveTransport live_transport = { on_live_end, on_live_stats };

/* The POST's client went away before its answer. */
static void
on_pending_gone (SoupServerMessage *msg, gpointer data)
{
  Session *s = data;

  g_signal_handlers_disconnect_by_func (msg, on_pending_gone, s);
  g_clear_object (&s->pending);
  session_end (s, RC_ERROR_MEDIA_FAILED, "The client went away before the answer");
}

static void
on_answer (RcWhipIngest *ingest, const char *sdp, gpointer data)
{
  Session *s = data;
  RcWhip *whip = s->whip;
  SoupServerMessage *msg = s->pending;
  SoupMessageHeaders *h;
  g_autofree char *location = NULL;

  if (msg == NULL)
    return;
  h = soup_server_message_get_response_headers (msg);
  location = g_strdup_printf ("/whip/%s/%s", rc_room_get_id (rc_live_get_room (s->live)), s->id);
  soup_message_headers_replace (h, "Location", location);
  soup_message_headers_replace (h, "Cache-Control", "no-store");
  for (guint i = 0; i < whip->links->len; i++)
    soup_message_headers_append (h, "Link", whip->links->pdata[i]);
  soup_server_message_set_status (msg, SOUP_STATUS_CREATED, NULL);
  soup_server_message_set_response (msg, "application/sdp", SOUP_MEMORY_COPY, sdp, strlen (sdp));
  g_message ("Room %s: host %s answered (%s)", rc_room_get_id (rc_live_get_room (s->live)), s->id,
             location);
  release_pending (s);
}

static void
on_live (RcWhipIngest *ingest, gpointer data)
{
  Session *s = data;

  g_message ("Room %s: host %s is live", rc_room_get_id (rc_live_get_room (s->live)), s->id);
  rc_live_on_air (s->live, rc_whip_ingest_get_input (ingest));
}

static void
on_ended (RcWhipIngest *ingest, const GError *error, gpointer data)
{
  Session *s = data;

  /* Failures from outside the two known domains are still the media path's. */
  session_end (s, rc_error_is_told (error) ? rc_error_code_of (error) : RC_ERROR_MEDIA_FAILED,
               error->message);
}

static const RcWhipIngestCallbacks ingest_callbacks = { on_answer, on_live, on_ended };

/* ---- requests ------------------------------------------------------------ */

static void
unauthorized (SoupServerMessage *msg, gboolean had_token, const char *message)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "WWW-Authenticate",
                                had_token ? "Bearer realm=\"roomcast\", error=\"invalid_token\""
                                          : "Bearer realm=\"roomcast\"");
  rc_http_send_error (msg, RC_ERROR_UNAUTHORIZED, message);
}

static void
method_not_allowed (SoupServerMessage *msg, const char *allow, const char *message)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  rc_http_send_error (msg, RC_ERROR_METHOD_NOT_ALLOWED, message);
}

static void
options (SoupServerMessage *msg, const char *methods, const char *cors_methods)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (h, "Allow", methods);
  soup_message_headers_replace (h, "Access-Control-Allow-Methods", cors_methods);
  soup_message_headers_replace (h, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, If-Match");
  soup_message_headers_replace (h, "Access-Control-Max-Age", "86400");
  soup_message_headers_replace (h, "Accept-Post", "application/sdp");
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static gboolean
is_sdp (SoupServerMessage *msg)
{
  const char *type = soup_message_headers_get_content_type (
    soup_server_message_get_request_headers (msg), NULL);

  return type != NULL && g_ascii_strcasecmp (type, "application/sdp") == 0;
}

/* The room and the key the POST names, or NULL with the error sent. */
static RcRoom *
authorise (RcWhip *whip, SoupServerMessage *msg, const char *room_id, RcPublishKey **key)
{
  g_autofree char *token = rc_http_get_bearer (msg);
  RcRoom *room;

  if (token == NULL)
    {
      unauthorized (msg, FALSE, "Authorization: Bearer <publish key> is required");
      return NULL;
    }
  room = rc_registry_lookup (whip->host->registry, room_id);
  if (room == NULL)
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No such room");
      return NULL;
    }
  *key = rc_room_check_publish_key (room, token);
  if (*key == NULL)
    {
      unauthorized (msg, TRUE, "That is not a publish key of this room");
      return NULL;
    }
  return room;
}

static void
publish (RcWhip *whip, SoupServerMessage *msg, const char *room_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GstSDPMessage) offer = NULL;
  RcWhipIngestOptions ingest_options = { .latency_ms = whip->latency_ms };
  RcPublishKey *key = NULL;
  RcRoom *room;
  Session *s;

  if (!rc_http_allow_write (whip->host->rest_limits, msg))
    return;
  if ((room = authorise (whip, msg, room_id, &key)) == NULL)
    return;
  if (!is_sdp (msg))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Accept-Post",
                                    "application/sdp");
      rc_http_send_error (msg, RC_ERROR_UNSUPPORTED_MEDIA_TYPE,
                          "The offer must be sent as Content-Type: application/sdp");
      return;
    }
  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (g_bytes_get_size (body) > MAX_OFFER_BYTES)
    {
      rc_http_send_error (msg, RC_ERROR_TOO_LARGE, NULL);
      return;
    }
  offer = rc_sdp_parse_whip_offer (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (offer == NULL)
    {
      rc_http_send_gerror (msg, error);
      return;
    }
  s = g_new0 (Session, 1);
  s->live = rc_live_begin (whip->host, room, key->id, "whip", &live_transport, s, &error);
  if (s->live == NULL)
    {
      g_free (s);
      if (g_error_matches (error, RC_ERROR, RC_ERROR_TOO_MANY_PUBLISHERS))
        soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                      "Retry-After", RETRY_AFTER_S);
      if (g_error_matches (error, RC_ERROR, RC_ERROR_MEDIA_FAILED))
        {
          g_warning ("Room %s: no pipeline for a host: %s", room_id, error->message);
          rc_http_send_error (msg, RC_ERROR_MEDIA_FAILED, NULL);
        }
      else
        rc_http_send_gerror (msg, error);
      return;
    }
  s->whip = whip;
  s->id = rc_secret_random_id (SESSION_ID_LENGTH);
  s->started_us = g_get_monotonic_time ();
  g_hash_table_insert (whip->sessions, s->id, s);
  s->ingest = rc_whip_ingest_new (rc_live_get_pipeline (s->live), s->id, g_steal_pointer (&offer),
                             &ingest_options, &ingest_callbacks, s, &error);
  if (s->ingest == NULL)
    {
      g_warning ("Room %s: could not take a host: %s", room_id, error->message);
      rc_http_send_error (msg, RC_ERROR_MEDIA_FAILED, NULL);
      session_end (s, RC_ERROR_MEDIA_FAILED, error->message);
      return;
    }
  g_message ("Room %s: host %s offers with key %s", room_id, s->id, key->id);
  s->pending = g_object_ref (msg);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_pending_gone), s);
  g_signal_connect (msg, "finished", G_CALLBACK (on_pending_gone), s);
  soup_server_message_pause (msg);
}

static void
leave (RcWhip *whip, SoupServerMessage *msg, const char *room_id, const char *session_id)
{
  g_autofree char *token = rc_http_get_bearer (msg);
  Session *s = g_hash_table_lookup (whip->sessions, session_id);
  RcPublishKey *key;

  if (!rc_http_allow_write (whip->host->rest_limits, msg))
    return;
  if (token == NULL)
    {
      unauthorized (msg, FALSE, "Authorization: Bearer <publish key> is required");
      return;
    }
  if (s == NULL || !g_str_equal (rc_room_get_id (rc_live_get_room (s->live)), room_id))
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "No such WHIP session (it may have ended)");
      return;
    }
  key = rc_room_check_publish_key (rc_live_get_room (s->live), token);
  if (key == NULL || !g_str_equal (key->id, rc_live_get_key_id (s->live)))
    {
      unauthorized (msg, TRUE, "That is not the publish key this session was started with");
      return;
    }
  {
    RcWhipIngestStats stats = { 0 };
    JsonObject *o, *figures = json_object_new ();
    g_autoptr (JsonNode) body = rc_json_message_new (NULL, &o);

    if (s->ingest != NULL)
      rc_whip_ingest_get_stats (s->ingest, &stats);
    json_object_set_string_member (o, "id", s->id);
    json_object_set_boolean_member (o, "deleted", TRUE);
    json_object_set_int_member (figures, "durationMs",
                                (g_get_monotonic_time () - s->started_us) / 1000);
    json_object_set_int_member (figures, "packets", (gint64) stats.packets);
    json_object_set_int_member (figures, "lost", stats.lost);
    json_object_set_double_member (figures, "jitter", stats.jitter_ms);
    json_object_set_int_member (figures, "bitrate", (gint64) stats.bitrate);
    json_object_set_object_member (o, "stats", figures);
    session_end (s, RC_ERROR_NOT_FOUND, "the host left (DELETE)");
    rc_http_send_json (msg, SOUP_STATUS_OK, body);
  }
}

static gboolean
is_id (const char *text, gsize max)
{
  gsize n = strlen (text);

  if (n == 0 || n > max)
    return FALSE;
  for (const char *c = text; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c))
      return FALSE;
  return TRUE;
}

void
rc_whip_handle (RcWhip *whip, SoupServerMessage *msg, const char *path)
{
  const char *method = soup_server_message_get_method (msg);
  g_auto (GStrv) parts = NULL;
  guint n;

  cors (msg);
  if (!g_str_has_prefix (path, "/whip/"))
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, "WHIP endpoints are /whip/{roomId}");
      return;
    }
  parts = g_strsplit (path + strlen ("/whip/"), "/", -1);
  n = g_strv_length (parts);
  if (n == 2 && *parts[1] == '\0')
    n = 1; /* "/whip/{roomId}/" */
  if ((n != 1 && n != 2) || !is_id (parts[0], 64) || (n == 2 && !is_id (parts[1], 64)))
    {
      rc_http_send_error (msg, RC_ERROR_NOT_FOUND, NULL);
      return;
    }
  if (n == 1)
    {
      if (g_str_equal (method, "OPTIONS"))
        options (msg, ENDPOINT_METHODS, ENDPOINT_METHODS);
      else if (g_str_equal (method, "POST"))
        publish (whip, msg, parts[0]);
      else
        method_not_allowed (msg, ENDPOINT_METHODS, "POST an SDP offer to go live");
      return;
    }
  if (g_str_equal (method, "OPTIONS"))
    options (msg, RESOURCE_METHODS, RESOURCE_CORS_METHODS);
  else if (g_str_equal (method, "DELETE"))
    leave (whip, msg, parts[0], parts[1]);
  else if (g_str_equal (method, "PATCH"))
    method_not_allowed (msg, RESOURCE_METHODS,
                        "No trickle ICE or ICE restart: the answer carries every server "
                        "candidate; to reconnect, DELETE and POST a new offer");
  else
    method_not_allowed (msg, RESOURCE_METHODS, "DELETE the session to leave");
}

void
rc_whip_handle_early (RcWhip *whip, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > MAX_OFFER_BYTES)
    {
      cors (msg);
      rc_http_send_error (msg, RC_ERROR_TOO_LARGE, NULL);
    }
}

RcWhip *
rc_whip_new (RcLiveHost *host, GError **error)
{
  const RcConfig *config = host->config;
  RcWhip *whip = g_new0 (RcWhip, 1);

  whip->host = host;
  whip->sessions = g_hash_table_new (g_str_hash, g_str_equal);
  whip->links = g_ptr_array_new_with_free_func (g_free);
  whip->latency_ms = (guint) config->whip_latency;
  if (!parse_ice_servers (whip, config->whip_ice_server, error))
    {
      rc_whip_free (whip);
      return NULL;
    }
  return whip;
}

void
rc_whip_free (RcWhip *whip)
{
  if (whip == NULL)
    return;
  while (g_hash_table_size (whip->sessions) > 0)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, whip->sessions);
      g_hash_table_iter_next (&iter, NULL, &value);
      session_end (value, RC_ERROR_MEDIA_FAILED, "The server is stopping");
    }
  g_hash_table_unref (whip->sessions);
  g_ptr_array_unref (whip->links);
  g_free (whip);
}

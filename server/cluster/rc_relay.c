/* SPDX-License-Identifier: MIT */
/*
 * The cluster's signalling transport: Redis pub/sub between nodes, on two
 * links of its own (RcRedisLink, the store's reconnect logic): one
 * subscribed to this node's channel, one that publishes. Ordering rule: a
 * node's messages to another node go out on one link in call order, and
 * Redis delivers one publisher's messages to a subscriber in that order,
 * so a guest's replies and the room's broadcasts reach its node in the
 * order the room's node sent them. A message read from the channel comes
 * from another process (maybe compromised, maybe another version): it is
 * parsed against a table and refused with a logged error when it does not
 * fit, never trusted.
 */
#include "server/cluster/rc_relay.h"
#include "server/core/rc_error.h"
#include "server/core/rc_json.h"
#include "server/core/rc_secret.h"
#include "server/core/rc_validate.h"

#include <hiredis/hiredis.h>
#include <string.h>

#define RELAY_VERSION 1
#define CHANNEL_PREFIX "relay:"
#define MAX_ADDR_CHARS 64

struct _RcRelay
{
  RcStore *store;
  char *node_id;
  char *channel;
  RcRedisLink *sub;
  RcRedisLink *pub;
  redisAsyncContext *pub_ac; /* while the publishing link is up */
  gboolean subscribed;       /* the subscription is in place */
  gboolean lost;             /* a link dropped since both were last up: messages were missed */
  gboolean started;
  gboolean stopped; /* rc_relay_stop: no more callbacks */
  RcRelayReceiveFunc receive;
  RcRelayHealedFunc healed;
  gpointer user_data;
  guint64 refused;
  gint64 last_refusal_log_us;
};

static const char *const op_names[] = { "up", "down", "close", "resync", "back",
                                        "in", "out", "room" };

/* ---- messages ---------------------------------------------------------- */

void
rc_relay_message_clear (RcRelayMessage *message)
{
  g_clear_pointer (&message->from, g_free);
  g_clear_pointer (&message->sid, g_free);
  g_clear_pointer (&message->room, g_free);
  g_clear_pointer (&message->addr, g_free);
  g_clear_pointer (&message->msg, g_free);
}

static const RcParam message_params[] = {
  { "v", RC_PARAM_INT, TRUE, 1, 1000 },
  { "op", RC_PARAM_STRING, TRUE, 1, 16 },
  { "from", RC_PARAM_STRING, TRUE, 1, 64 },
  { "sid", RC_PARAM_STRING, FALSE, 1, 64 },
  { "room", RC_PARAM_STRING, FALSE, 1, 64 },
  { "addr", RC_PARAM_STRING, FALSE, 1, MAX_ADDR_CHARS },
  { "msg", RC_PARAM_STRING, FALSE, 0, RC_RELAY_MAX_TEXT },
  RC_PARAMS_END,
};

gboolean
rc_relay_message_parse (const char *data, gsize length, RcRelayMessage *message,
                        GError **error)
{
  g_autoptr (JsonObject) o = NULL;
  const char *op;
  gint64 version;
  guint i;

  memset (message, 0, sizeof *message);
  if (length > RC_RELAY_MAX_TEXT + 4096)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_TOO_LARGE,
                   "Relay message of %" G_GSIZE_FORMAT " bytes is too large", length);
      return FALSE;
    }
  o = rc_validate_parse_object (data, length, error);
  if (o == NULL || !rc_validate_object (o, message_params, error))
    return FALSE;
  version = rc_json_get_int (o, "v", 0);
  if (version != RELAY_VERSION)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE,
                   "Relay message version %" G_GINT64_FORMAT " is not %d", version, RELAY_VERSION);
      return FALSE;
    }
  op = rc_json_get_string (o, "op");
  for (i = 0; i < G_N_ELEMENTS (op_names) && !g_str_equal (op, op_names[i]); i++)
    ;
  if (i == G_N_ELEMENTS (op_names))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_MESSAGE, "Unknown relay \"op\"");
      return FALSE;
    }
  if (!rc_secret_id_is_valid (rc_json_get_string (o, "from"))
      || ((i != RC_RELAY_ROOM || json_object_has_member (o, "sid"))
          && !rc_secret_id_is_valid (rc_json_get_string (o, "sid")))
      || ((i == RC_RELAY_IN || i == RC_RELAY_ROOM)
          && !rc_secret_id_is_valid (rc_json_get_string (o, "room"))))
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "Relay \"from\", \"sid\" and \"room\" must be ids");
      return FALSE;
    }
  if ((i == RC_RELAY_UP || i == RC_RELAY_DOWN || i == RC_RELAY_BACK || i == RC_RELAY_ROOM)
      && rc_json_get_string (o, "msg") == NULL)
    {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                           "Relay \"up\", \"down\", \"back\" and \"room\" need \"msg\"");
      return FALSE;
    }
  message->op = (RcRelayOp) i;
  message->from = g_strdup (rc_json_get_string (o, "from"));
  message->sid = g_strdup (rc_json_get_string (o, "sid"));
  message->room = g_strdup (rc_json_get_string (o, "room"));
  message->addr = g_strdup (rc_json_get_string (o, "addr"));
  message->msg = g_strdup (rc_json_get_string (o, "msg"));
  return TRUE;
}

char *
rc_relay_message_serialise (const RcRelayMessage *message)
{
  JsonObject *o;
  g_autoptr (JsonNode) node = rc_json_message_new (NULL, &o);

  json_object_set_int_member (o, "v", RELAY_VERSION);
  json_object_set_string_member (o, "op", op_names[message->op]);
  json_object_set_string_member (o, "from", message->from);
  if (message->sid != NULL)
    json_object_set_string_member (o, "sid", message->sid);
  if (message->room != NULL)
    json_object_set_string_member (o, "room", message->room);
  if (message->addr != NULL)
    json_object_set_string_member (o, "addr", message->addr);
  if (message->msg != NULL)
    json_object_set_string_member (o, "msg", message->msg);
  return rc_json_to_string (node);
}

/* ---- receiving --------------------------------------------------------- */

/* Both links are up again after a loss: whoever relays can ask for what it
 * missed, and be answered. */
static void
maybe_healed (RcRelay *relay)
{
  if (!relay->lost || !relay->subscribed || relay->pub_ac == NULL || relay->stopped)
    return;
  relay->lost = FALSE;
  if (relay->healed != NULL)
    relay->healed (relay, relay->user_data);
}

static void
refuse (RcRelay *relay, const char *why)
{
  gint64 now = g_get_monotonic_time ();

  relay->refused++;
  if (now - relay->last_refusal_log_us > 10 * G_USEC_PER_SEC)
    {
      relay->last_refusal_log_us = now;
      g_warning ("Relay: refused a message on %s: %s", relay->channel, why);
    }
}

/* Every reply on the subscribed link: the subscription's confirmation,
 * then ["message", channel, payload] for each message. */
static void
on_subscribed_reply (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  RcRelay *relay = privdata;
  const redisReply *reply = reply_data;
  const redisReply *kind, *payload;
  g_autoptr (GError) error = NULL;
  RcRelayMessage message;

  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
    return;
  kind = reply->element[0];
  payload = reply->element[2];
  if (kind->type != REDIS_REPLY_STRING)
    return;
  if (g_str_equal (kind->str, "subscribe"))
    {
      g_debug ("Relay: subscribed to %s", relay->channel);
      relay->subscribed = TRUE;
      maybe_healed (relay);
      return;
    }
  if (!g_str_equal (kind->str, "message") || payload->type != REDIS_REPLY_STRING)
    return;
  if (relay->stopped)
    return;
  if (!rc_relay_message_parse (payload->str, payload->len, &message, &error))
    {
      refuse (relay, error->message);
      return;
    }
  if (g_str_equal (message.from, relay->node_id))
    refuse (relay, "a message from this node's own id");
  else
    relay->receive (relay, &message, relay->user_data);
  rc_relay_message_clear (&message);
}

static void
on_sub_up (RcRedisLink *link, redisAsyncContext *ac, gpointer user_data)
{
  RcRelay *relay = user_data;

  redisAsyncCommand (ac, on_subscribed_reply, relay, "SUBSCRIBE %s", relay->channel);
}

static void
on_sub_lost (RcRedisLink *link, const char *reason, gpointer user_data)
{
  RcRelay *relay = user_data;

  if (relay->subscribed)
    g_warning ("Relay: lost the subscription to %s (%s); messages to this node are missed "
               "until it is back", relay->channel, reason);
  relay->subscribed = FALSE;
  relay->lost = TRUE;
}

/* ---- sending ----------------------------------------------------------- */

typedef struct
{
  RcRelay *relay;
  RcRelaySentFunc func;
  gpointer data;
  GDestroyNotify free_func;
} Sent;

static void
sent_free (Sent *sent)
{
  if (sent->free_func != NULL)
    sent->free_func (sent->data);
  g_free (sent);
}

static void
on_published (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  Sent *sent = privdata;
  const redisReply *reply = reply_data;
  gint64 receivers = -1;

  if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
    receivers = reply->integer;
  /* During rc_relay_free the relay is going: nobody to tell. */
  if (sent->func != NULL && sent->relay->pub != NULL && !sent->relay->stopped)
    sent->func (sent->relay, receivers, sent->data);
  sent_free (sent);
}

static void
on_pub_up (RcRedisLink *link, redisAsyncContext *ac, gpointer user_data)
{
  RcRelay *relay = user_data;

  relay->pub_ac = ac;
  maybe_healed (relay);
}

static void
on_pub_lost (RcRedisLink *link, const char *reason, gpointer user_data)
{
  RcRelay *relay = user_data;

  if (relay->pub_ac != NULL)
    g_warning ("Relay: lost the publishing link (%s); messages to other nodes fail until it "
               "is back", reason);
  relay->pub_ac = NULL;
  relay->lost = TRUE;
}

gboolean
rc_relay_send (RcRelay *relay, const char *node_id, RcRelayMessage *message,
               RcRelaySentFunc func, gpointer sent_data, GDestroyNotify sent_free_func)
{
  g_autofree char *channel = g_strconcat (CHANNEL_PREFIX, node_id, NULL);
  g_autofree char *text = NULL;
  Sent *sent;

  if (relay->pub_ac == NULL)
    {
      if (sent_free_func != NULL)
        sent_free_func (sent_data);
      return FALSE;
    }
  g_free (message->from);
  message->from = g_strdup (relay->node_id);
  text = rc_relay_message_serialise (message);
  sent = g_new0 (Sent, 1);
  sent->relay = relay;
  sent->func = func;
  sent->data = sent_data;
  sent->free_func = sent_free_func;
  if (redisAsyncCommand (relay->pub_ac, on_published, sent, "PUBLISH %s %b", channel, text,
                         strlen (text))
      != REDIS_OK)
    {
      sent_free (sent);
      return FALSE;
    }
  return TRUE;
}

/* ---- lifetime ---------------------------------------------------------- */

RcRelay *
rc_relay_new (RcStore *store, const char *node_id)
{
  RcRelay *relay;

  if (rc_store_get_backend (store) != RC_STORE_BACKEND_REDIS)
    return NULL;
  relay = g_new0 (RcRelay, 1);
  relay->store = rc_store_ref (store);
  relay->node_id = g_strdup (node_id);
  relay->channel = g_strconcat (CHANNEL_PREFIX, node_id, NULL);
  return relay;
}

void
rc_relay_start (RcRelay *relay, RcRelayReceiveFunc receive, RcRelayHealedFunc healed,
                gpointer user_data)
{
  g_return_if_fail (!relay->started);
  relay->started = TRUE;
  relay->receive = receive;
  relay->healed = healed;
  relay->user_data = user_data;
  relay->sub = rc_store_open_link (relay->store, "rc_relay subscriber", on_sub_up, on_sub_lost,
                                   relay);
  relay->pub = rc_store_open_link (relay->store, "rc_relay publisher", on_pub_up, on_pub_lost,
                                   relay);
}

void
rc_relay_free (RcRelay *relay)
{
  if (relay == NULL)
    return;
  relay->healed = NULL;
  g_clear_pointer (&relay->sub, rc_redis_link_free);
  {
    /* Pending publishes' callbacks run from inside, with pub NULL. */
    RcRedisLink *pub = g_steal_pointer (&relay->pub);

    relay->pub_ac = NULL;
    rc_redis_link_free (pub);
  }
  rc_store_unref (relay->store);
  g_free (relay->node_id);
  g_free (relay->channel);
  g_free (relay);
}

void
rc_relay_stop (RcRelay *relay)
{
  relay->stopped = TRUE;
}

const char *
rc_relay_get_node_id (RcRelay *relay)
{
  return relay->node_id;
}

guint64
rc_relay_get_refused (RcRelay *relay)
{
  return relay->refused;
}

/* SPDX-License-Identifier: MIT */
/*
 * The ICE-lite side of the fan-out port, on libnice's STUN library (no
 * hand-written STUN parser: stun_agent_validate reads and authenticates,
 * stun_usage_ice_conncheck_create_reply answers with XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY and FINGERPRINT). Why it exists: the engine needs the
 * answer and the guest a check belongs to, without an ICE agent per guest.
 *
 * A lite agent is always the controlled one. A peer that says it is
 * controlled too (it did not read a=ice-lite) meets our tie-breaker, the
 * smallest there is: libnice answers 487 (role conflict) and the peer, as
 * RFC 8445 §7.3.1.1 says, takes the controlling role and checks again.
 */
#include "pipelines/rc_ice_lite.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>
#include <string.h>

#define USERNAME_MAX 513

struct _RcIceLite
{
  StunAgent agent;
};

typedef struct
{
  RcIceLiteLookup lookup;
  gpointer user_data;
  gpointer guest;
} Validation;

RcIceLite *
rc_ice_lite_new (void)
{
  RcIceLite *ice = g_new0 (RcIceLite, 1);

  stun_agent_init (&ice->agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
  return ice;
}

void
rc_ice_lite_free (RcIceLite *ice)
{
  g_free (ice);
}

static bool
on_validate (StunAgent *agent, StunMessage *message, uint8_t *username, uint16_t username_len,
             uint8_t **password, size_t *password_len, void *user_data)
{
  Validation *v = user_data;
  char name[USERNAME_MAX];
  char *colon;
  const char *pwd = NULL;

  if (username == NULL || username_len == 0 || username_len >= sizeof name)
    return false;
  memcpy (name, username, username_len);
  name[username_len] = '\0';
  colon = strchr (name, ':');
  if (colon == NULL)
    return false;
  *colon = '\0';
  v->guest = v->lookup (name, colon + 1, &pwd, v->user_data);
  if (v->guest == NULL || pwd == NULL)
    return false;
  *password = (uint8_t *) pwd;
  *password_len = strlen (pwd);
  return true;
}

RcIceLiteResult
rc_ice_lite_handle (RcIceLite *ice, const guint8 *data, gsize length,
                    const struct sockaddr_storage *from, socklen_t from_length,
                    RcIceLiteLookup lookup, gpointer user_data, guint8 *reply,
                    gsize *reply_length, gpointer *guest, gboolean *nominated)
{
  Validation v = { lookup, user_data, NULL };
  StunMessage request, response;
  StunValidationStatus status;
  size_t n = RC_ICE_LITE_REPLY_MAX;
  bool control = false;

  *reply_length = 0;
  *guest = NULL;
  *nominated = FALSE;
  if (length < 20 || length > STUN_MAX_MESSAGE_SIZE_IPV6)
    return RC_ICE_LITE_MALFORMED;
  /* Binding indications (old keepalives) carry no integrity and need no
   * answer; the class is bits 4 and 8 of the type (RFC 5389 §6). */
  if (((data[0] & 0x01) << 1 | (data[1] & 0x10) >> 4) == STUN_INDICATION)
    return RC_ICE_LITE_IGNORED;
  status = stun_agent_validate (&ice->agent, &request, data, length, on_validate, &v);
  if (status == STUN_VALIDATION_UNAUTHORIZED || status == STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST)
    return RC_ICE_LITE_UNAUTHORIZED;
  if (status == STUN_VALIDATION_UNMATCHED_RESPONSE)
    return RC_ICE_LITE_IGNORED;
  if (status != STUN_VALIDATION_SUCCESS)
    return RC_ICE_LITE_MALFORMED;
  if (stun_message_get_class (&request) != STUN_REQUEST)
    return RC_ICE_LITE_IGNORED;
  if (stun_message_get_method (&request) != STUN_BINDING || v.guest == NULL)
    return RC_ICE_LITE_UNAUTHORIZED;
  switch (stun_usage_ice_conncheck_create_reply (&ice->agent, &request, &response, reply, &n,
                                                 from, from_length, &control, 0,
                                                 STUN_USAGE_ICE_COMPATIBILITY_RFC5245))
    {
    case STUN_USAGE_ICE_RETURN_SUCCESS:
      break;
    case STUN_USAGE_ICE_RETURN_ROLE_CONFLICT:
      /* libnice 0.1.21 returns this both when it wrote the 487 (our
       * tie-breaker, 0, is the smaller) and when it would switch roles:
       * only the first goes out, a lite agent never switches. */
      if (control || n == 0)
        return RC_ICE_LITE_IGNORED;
      *reply_length = n;
      return RC_ICE_LITE_ROLE_CONFLICT;
    default:
      return RC_ICE_LITE_MALFORMED;
    }
  if (n == 0)
    return RC_ICE_LITE_MALFORMED;
  if (stun_message_get_class (&response) == STUN_ERROR)
    {
      /* An error libnice wrote: answered, but the peer is not proven. */
      *reply_length = n;
      return RC_ICE_LITE_ROLE_CONFLICT;
    }
  *reply_length = n;
  *guest = v.guest;
  *nominated = stun_message_has_attribute (&request, STUN_ATTRIBUTE_USE_CANDIDATE);
  return RC_ICE_LITE_REPLY;
}

void
rc_ice_lite_make_credentials (char ufrag[RC_ICE_UFRAG_LEN + 1], char pwd[RC_ICE_PWD_LEN + 1])
{
  static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  guint8 random[RC_ICE_UFRAG_LEN + RC_ICE_PWD_LEN];

  /* The password keys every check: from the crypto generator. */
  if (gnutls_rnd (GNUTLS_RND_RANDOM, random, sizeof random) < 0)
    for (guint i = 0; i < sizeof random; i++)
      random[i] = (guint8) g_random_int ();
  for (guint i = 0; i < RC_ICE_UFRAG_LEN; i++)
    ufrag[i] = chars[random[i] & 63];
  for (guint i = 0; i < RC_ICE_PWD_LEN; i++)
    pwd[i] = chars[random[RC_ICE_UFRAG_LEN + i] & 63];
  ufrag[RC_ICE_UFRAG_LEN] = '\0';
  pwd[RC_ICE_PWD_LEN] = '\0';
}

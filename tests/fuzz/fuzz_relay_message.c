/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a message another node of a cluster published on this
 * node's relay channel (rc_relay_message_parse, as RcRelay reads every
 * one). The other node may be compromised or another version: any bytes
 * are either refused with an error or give a message whose fields the
 * relay's users may trust (ids, an op, the text an op needs), and which
 * serialises and reads back the same.
 */
#include "server/cluster/rc_relay.h"
#include "server/core/rc_secret.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  RcRelayMessage message, again;
  g_autofree char *text = NULL;

  if (!rc_relay_message_parse ((const char *) data, size, &message, &error))
    {
      g_assert (error != NULL && error->message != NULL);
      g_assert (message.from == NULL && message.sid == NULL && message.room == NULL
                && message.msg == NULL);
      return 0;
    }
  g_assert (rc_secret_id_is_valid (message.from));
  /* Only a room's broadcast may name no session. */
  g_assert (rc_secret_id_is_valid (message.sid)
            || (message.op == RC_RELAY_ROOM && message.sid == NULL));
  g_assert (message.op <= RC_RELAY_ROOM);
  if (message.op == RC_RELAY_IN || message.op == RC_RELAY_ROOM)
    g_assert (rc_secret_id_is_valid (message.room));
  if (message.op == RC_RELAY_UP || message.op == RC_RELAY_DOWN || message.op == RC_RELAY_BACK
      || message.op == RC_RELAY_ROOM)
    g_assert (message.msg != NULL);
  text = rc_relay_message_serialise (&message);
  g_assert (rc_relay_message_parse (text, strlen (text), &again, NULL));
  g_assert (again.op == message.op);
  g_assert (g_str_equal (again.from, message.from) && g_strcmp0 (again.sid, message.sid) == 0
            && g_strcmp0 (again.room, message.room) == 0);
  g_assert (g_strcmp0 (again.addr, message.addr) == 0 && g_strcmp0 (again.msg, message.msg) == 0);
  rc_relay_message_clear (&again);
  rc_relay_message_clear (&message);
  return 0;
}

/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/http/rc_server.h"

G_BEGIN_DECLS

/* GET /api/lyrics/{songId}, GET and POST /api/playlist. */
void rc_api_user_handle (RcServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query);

G_END_DECLS

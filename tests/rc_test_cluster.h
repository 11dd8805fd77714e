/* SPDX-License-Identifier: MIT */
#pragma once

#include "rc_test_redis.h"
#include "rc_test_server.h"
#include "rc_test_ws.h"

G_BEGIN_DECLS

/*
 * A roomcast cluster for the cluster tests (test_cluster, test_cluster_failover):
 * nodes on one real redis-server with a short lease, what a node says of
 * the cluster (/api/nodes, who serves a room) and of a room's chat, and
 * the two set-ups those tests start from: a pair of nodes with a room and
 * a guest who spoke, and the same with a guest on each node.
 */

/* The lease the nodes run with: short, so that a failover is quick;
 * longer in a slow (sanitizer) build, so that a busy node still renews. */
guint rc_test_cluster_lease_ms (void);

/* A node on @redis with that lease; @music_dir: NULL for none. */
RcTestServer *rc_test_cluster_node_start (RcTestRedis *redis, const char *music_dir);

/* GET @path on @server, 200 expected; transfer full. */
JsonObject *rc_test_cluster_get_ok (RcTestServer *server, const char *path);
/* The nodes @server lists (GET /api/nodes). */
guint rc_test_cluster_count_nodes (RcTestServer *server);
/* The id of @server's node, from its own listing. */
char *rc_test_cluster_node_id (RcTestServer *server);
/* The URL of the node serving room @id as @server tells it, or NULL. */
char *rc_test_cluster_owner_url (RcTestServer *server, const char *id);
/* @asked says room @id is served by @owner. */
gboolean rc_test_cluster_owned_by (RcTestServer *asked, const char *id, RcTestServer *owner);
/* Room @id's lease in Redis is held by node @node (an id). */
gboolean rc_test_cluster_lease_is (RcTestRedis *redis, const char *id, const char *node);

/* The chat of an initialState holds @text. */
gboolean rc_test_cluster_state_chat_has (JsonObject *state, const char *text);
/* The chat a guest joining @room through @server is given holds @text. */
gboolean rc_test_cluster_chat_has (RcTestServer *server, const char *room, const char *text);
/* Room @id's chat in Redis holds @n messages. The echo a guest gets can
 * come before the store's write leaves the process (docs/operators.md:
 * what a failover loses), so a test that stops a node waits for this. */
gboolean rc_test_cluster_stored_chat_is (RcTestRedis *redis, const char *id, guint n);

/* The names in a participants array, in order, each followed by a space. */
char *rc_test_cluster_names_of (JsonArray *participants);
/* What a newcomer sees of room @id must not depend on the node it joins
 * through: room, chat, queue, whether it plays, and participants. */
void rc_test_cluster_assert_same_view (RcTestServer *one, RcTestServer *two, const char *id);

/* Redis, two nodes, a room made through the first and a guest of the
 * room's node who said something that reached Redis. */
typedef struct
{
  RcTestRedis *redis;
  RcTestServer *a, *b;
  RcTestServer *owner, *other; /* a and b, by who serves the room */
  char *id;
  RcTestWs *guest;
} RcTestPair;

/* @music_dir: NULL for none. */
void rc_test_pair_start (RcTestPair *p, const char *said, const char *music_dir);
void rc_test_pair_clear (RcTestPair *p);

/* The tone of the song a cross set-up's nodes have. */
#define RC_TEST_CROSS_HZ 660.0

/* Redis, two nodes with one song ("Cross tune", RC_TEST_CROSS_HZ), a room,
 * and two guests of it: Anna on the room's node, Boris on the other
 * (relayed). Neither is the room's owner. */
typedef struct
{
  RcTestPair p; /* p.guest unused */
  char *dir;
  char *owner_token;
  RcTestWs *anna;  /* on p.owner */
  RcTestWs *boris; /* on p.other */
  JsonObject *boris_state;
} RcTestCross;

void rc_test_cross_start (RcTestCross *x);
void rc_test_cross_clear (RcTestCross *x);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

/* RcWsWriter's insides, shared by rc_ws_writer.c (the writer thread, the
 * peers' queues, the groups) and rc_ws_peer_input.c (the peers' read side
 * on the main context). */
#include "server/core/rc_ws_writer.h"

G_BEGIN_DECLS

struct _RcWsPeer
{
  gint ref_count;
  RcWsWriter *writer;
  int fd;
  GIOStream *connection; /* strong; closed on @context when the peer is done */
  GMainContext *context;

  GMutex lock;
  GQueue chunks;         /* Chunk*, protected by lock (appended by anyone) */
  gsize head_sent;       /* bytes of the head chunk written; writer thread */
  guint64 queued_bytes;  /* protected by lock */
  guint64 queued_media;  /* protected by lock */
  gboolean media_off;    /* dropped for being slow: no media queued; lock */
  gboolean closing;      /* send what is queued, then finish; lock */
  gboolean finished;     /* the socket is not used any more; lock */
  gboolean had_frame;    /* lock */
  RcWsGroup *group;      /* the group it is in, or NULL; lock */
  guint group_index;     /* its place in the group's peers; the group's lock */

  /* read side, main context only */
  GSource *read_source;  /* the source libsoup waits on, or NULL (weak) */
  gboolean read_closed;  /* the connection is closed: never arm again */

  /* writer thread only */
  gboolean dirty;        /* on the writer's dirty list (writer lock) */
  gboolean armed;        /* registered with epoll for EPOLLOUT */
  gboolean registered;   /* known to epoll at all */
  gint64 stalled_since;  /* the socket refused bytes, monotonic us, or 0 */
  gint64 closing_since;
};

struct _RcWsWriter
{
  GThread *thread;
  int epoll_fd;
  int wake_fd;
  GMutex lock;
  GPtrArray *dirty;   /* RcWsPeer* (a reference each); protected by lock */
  GPtrArray *blocked; /* RcWsPeer* waiting for the socket; writer thread */
  gboolean stop;      /* protected by lock */

  /* The read side, on the main context of the writer's maker. */
  int read_epoll_fd;
  GSource *read_watch;  /* polls read_epoll_fd */
  GHashTable *reading;  /* RcWsPeer* in read_epoll_fd, a reference each */
};

/* rc_ws_peer_input.c: the input stream libsoup reads @peer through (reads
 * pass to @base, the connection's own input). */
GInputStream *rc_ws_peer_input_new (RcWsPeer *peer, GInputStream *base);
/* The read set and its one source, on the thread-default main context. */
void rc_ws_peer_input_watch_start (RcWsWriter *writer);
void rc_ws_peer_input_watch_stop (RcWsWriter *writer);
/* Main context, before @peer's connection is closed: its socket leaves
 * the read set for good. */
void rc_ws_peer_input_disarm (RcWsPeer *peer);

G_END_DECLS

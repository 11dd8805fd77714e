/* SPDX-License-Identifier: MIT */
/*
 * SRT ingest: live hosts (OBS's "srt://") on one UDP port for every room.
 * Why it is built this way:
 *
 * - libsrt directly, not GStreamer's srtsrc: srtsrc in listener mode takes
 *   one caller at a time, and a room's host must not keep another room's
 *   host out. One listening socket accepts every caller; one reader thread
 *   waits on all the connections at once (srt_epoll) and hands each
 *   message to its host's ingest (an appsrc inside the room's pipeline).
 * - A wrong stream id or key is refused in the handshake (the caller's
 *   connect fails with a rejection reason it can show), not accepted and
 *   dropped. libsrt asks in its
 *   listen callback, on its receiving thread; rooms and keys live on the
 *   main context. The callback reads the stream id itself (a malformed one
 *   never reaches the main context) and then asks the main context (an
 *   idle source, then a wait of at most CHECK_TIMEOUT_US on a condition):
 *   the same room lookup and key check WHIP makes, whether the room has a
 *   host, whether --max-publishers hosts are live. A snapshot of every
 *   room's key hashes kept under a mutex would spare the wait but would
 *   have to follow every key made or revoked; the round trip is exact and
 *   takes microseconds on a main context that is never blocked. While the
 *   callback waits, libsrt receives nothing on this port, and it holds
 *   libsrt's listener lock: so once the listener is open the main context
 *   never calls libsrt (any libsrt call may wait, through libsrt's own
 *   threads, for that lock) until it has stopped the reader thread. The
 *   reader thread accepts, reads, closes, and takes every connection's
 *   figures (srt_bstats) once a second for the main context to read.
 *   Stopping wakes a waiting callback first.
 * - A caller let in holds a reservation for its room until its accept
 *   reaches the main context (or for RESERVATION_US, if its handshake never
 *   completes): the handshake ends on libsrt's thread, the accept comes
 *   later through the reader thread, and a caller for the same room, or
 *   over --max-publishers, must be refused in between too. The accept takes
 *   the room's slot for real (rc_live_begin); a caller that still loses a
 *   race (a WHIP host got the room meanwhile) is closed at once.
 * - The connection ends by its own doing (the caller closes, breaks, or the
 *   ingest sees no data for 2 s or no audio), by the room's (key revoked,
 *   room closed: RcLiveTransport.end), or by the server stopping; every way
 *   goes through conn_end on the main context, which frees the ingest,
 *   ends the RcLive (the room resumes its queue, guests are told) and asks
 *   the reader thread to close the socket.
 *
 * Ordering rule: the main context owns rooms, RcLive and the ingests; the
 * reader thread owns the sockets (accept, read, close); they meet under
 * RcSrt.lock (the connection table, each connection's ingest pointer, the
 * sockets to close, the pending checks) and through idle sources that
 * carry a reference.
 */
#include "server/live/rc_srt.h"
#include "pipelines/rc_defer.h"
#include "server/core/rc_error.h"
#include "server/rooms/rc_live.h"
#include "server/rooms/rc_room.h"
#include "server/core/rc_secret.h"
#include "pipelines/rc_srt_ingest.h"

#include <gio/gio.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <string.h>
#include <syslog.h>

G_STATIC_ASSERT (RC_SRT_REJECT_BAD_REQUEST == SRT_REJX_BAD_REQUEST);
G_STATIC_ASSERT (RC_SRT_REJECT_UNAUTHORIZED == SRT_REJX_UNAUTHORIZED);
G_STATIC_ASSERT (RC_SRT_REJECT_OVERLOAD == SRT_REJX_OVERLOAD);
G_STATIC_ASSERT (RC_SRT_REJECT_NOT_FOUND == SRT_REJX_NOTFOUND);
G_STATIC_ASSERT (RC_SRT_REJECT_BAD_MODE == SRT_REJX_BAD_MODE);
G_STATIC_ASSERT (RC_SRT_REJECT_CONFLICT == SRT_REJX_CONFLICT);
G_STATIC_ASSERT (RC_SRT_REJECT_UNAVAILABLE == SRT_REJX_DOWN);

#define MAX_STREAM_ID 512
#define MAX_ROOM_ID 64
#define MAX_KEY 256
#define CONN_ID_LENGTH 8
/* How long a handshake waits for the main context's answer. */
#define CHECK_TIMEOUT_US G_USEC_PER_SEC
/* How long a room stays reserved for a caller let in, at most. */
#define RESERVATION_US (5 * G_USEC_PER_SEC)
#define EPOLL_WAIT_MS 100
/* How often the reader thread takes each connection's figures. */
#define STATS_PERIOD_US G_USEC_PER_SEC
#define MAX_EVENTS 64
/* An SRT live-mode message is at most 1456 bytes (7 TS packets: 1316). */
#define MESSAGE_BYTES 1500
/* A caller refused again for the same reason within this long is logged
 * at debug level only (srtsink calls again at once, in a loop). */
#define REFUSAL_LOG_US (10 * G_USEC_PER_SEC)

typedef struct _Conn Conn;

struct _RcSrt
{
  gint ref_count;     /* the owner's, each connection's, each pending check's */
  RcLiveHost *host;   /* borrowed; NULL once freed */
  GMainContext *context;
  SRTSOCKET listener;
  int eid;
  GThread *thread;
  guint port;
  guint latency_ms;
  gboolean freed;     /* main context */
  GHashTable *active; /* main context: Conn* set (strong), not yet ended */
  GHashTable *reserved; /* main context: room id → gint64* until when it is held */

  GMutex lock;
  GCond cond;         /* a check was answered, or stopping */
  gboolean stopping;  /* under lock */
  GHashTable *conns;  /* under lock: SRTSOCKET → Conn* (strong), sockets open */
  GPtrArray *closing; /* under lock: Conn* (strong) whose sockets the reader closes */
  char *last_refusal; /* under lock: "<caller address> <reason>" last logged */
  gint64 last_refusal_us;
};

struct _Conn
{
  gint ref_count;
  RcSrt *srt; /* strong */
  SRTSOCKET sock;
  char *id;
  char *stream_id;
  char *peer;
  gint64 started_us;
  /* Main context. */
  RcLive *live;
  gboolean ended;
  /* Under srt->lock. */
  RcSrtIngest *ingest;
  gboolean closed;       /* the socket is closed (or closing) */
  gboolean has_last;     /* last holds its latest figures */
  SRT_TRACEBSTATS last;  /* (taken by the reader thread: see take_perf) */
  gint64 last_us;        /* when */
};

static void srt_unref (RcSrt *srt);

static RcSrt *
srt_ref (RcSrt *srt)
{
  g_atomic_int_inc (&srt->ref_count);
  return srt;
}

static Conn *
conn_ref (Conn *conn)
{
  g_atomic_int_inc (&conn->ref_count);
  return conn;
}

static void
conn_unref (Conn *conn)
{
  if (!g_atomic_int_dec_and_test (&conn->ref_count))
    return;
  srt_unref (conn->srt);
  g_free (conn->id);
  g_free (conn->stream_id);
  g_free (conn->peer);
  g_free (conn);
}

static void
srt_unref (RcSrt *srt)
{
  if (!g_atomic_int_dec_and_test (&srt->ref_count))
    return;
  g_mutex_clear (&srt->lock);
  g_cond_clear (&srt->cond);
  g_clear_pointer (&srt->conns, g_hash_table_unref);
  g_clear_pointer (&srt->closing, g_ptr_array_unref);
  g_clear_pointer (&srt->active, g_hash_table_unref);
  g_clear_pointer (&srt->reserved, g_hash_table_unref);
  g_free (srt->last_refusal);
  g_main_context_unref (srt->context);
  g_free (srt);
}

/* Any thread: @func runs on the main context soon, never right away. */
static void
run_on_main (RcSrt *srt, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  rc_defer (srt->context, G_PRIORITY_DEFAULT, func, data, destroy);
}

/* ---- stream ids -------------------------------------------------------- */

static gboolean
is_room_id (const char *text)
{
  gsize n = strlen (text);

  if (n == 0 || n > MAX_ROOM_ID)
    return FALSE;
  for (const char *c = text; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c))
      return FALSE;
  return TRUE;
}

static gboolean
is_key (const char *text)
{
  gsize n = strlen (text);

  if (n == 0 || n > MAX_KEY)
    return FALSE;
  for (const char *c = text; *c != '\0'; c++)
    if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f || *c == '/' || *c == ',')
      return FALSE;
  return TRUE;
}

int
rc_srt_parse_stream_id (const char *text, char **room_id, char **key)
{
  g_autofree char *room = NULL, *secret = NULL;

  *room_id = *key = NULL;
  if (text == NULL || strlen (text) > MAX_STREAM_ID)
    return RC_SRT_REJECT_BAD_REQUEST;
  if (g_str_has_prefix (text, "#!::"))
    {
      g_auto (GStrv) pairs = g_strsplit (text + 4, ",", -1);

      for (guint i = 0; pairs[i] != NULL; i++)
        {
          const char *pair = pairs[i];
          const char *eq = strchr (pair, '=');
          g_autofree char *name = NULL;

          if (eq == NULL || eq == pair)
            return RC_SRT_REJECT_BAD_REQUEST;
          name = g_strndup (pair, eq - pair);
          if (g_str_equal (name, "r") || g_str_equal (name, "s"))
            {
              char **slot = g_str_equal (name, "r") ? &room : &secret;

              if (*slot != NULL)
                return RC_SRT_REJECT_BAD_REQUEST;
              *slot = g_strdup (eq + 1);
            }
          else if (g_str_equal (name, "m") && !g_str_equal (eq + 1, "publish"))
            return RC_SRT_REJECT_BAD_MODE;
        }
    }
  else
    {
      const char *slash = strchr (text, '/');

      if (slash == NULL)
        return RC_SRT_REJECT_BAD_REQUEST;
      room = g_strndup (text, slash - text);
      secret = g_strdup (slash + 1);
    }
  if (room == NULL || secret == NULL || !is_room_id (room) || !is_key (secret))
    return RC_SRT_REJECT_BAD_REQUEST;
  *room_id = g_steal_pointer (&room);
  *key = g_steal_pointer (&secret);
  return 0;
}

/* ---- the handshake (libsrt's thread, then the main context) ------------- */

typedef struct
{
  gint ref_count;
  RcSrt *srt; /* strong */
  char *room_id;
  char *key;
  char *peer;
  /* Under srt->lock. */
  gboolean done;
  int reject;
} Check;

static Check *
check_ref (Check *check)
{
  g_atomic_int_inc (&check->ref_count);
  return check;
}

static void
check_unref (gpointer data)
{
  Check *check = data;

  if (!g_atomic_int_dec_and_test (&check->ref_count))
    return;
  srt_unref (check->srt);
  g_free (check->room_id);
  g_free (check->key);
  g_free (check->peer);
  g_free (check);
}

/* Main context: the rooms held for callers let in and not yet accepted
 * (their count); expired ones go. */
static guint
prune_reservations (RcSrt *srt)
{
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer until;

  g_hash_table_iter_init (&iter, srt->reserved);
  while (g_hash_table_iter_next (&iter, NULL, &until))
    if (*(gint64 *) until < now)
      g_hash_table_iter_remove (&iter);
  return g_hash_table_size (srt->reserved);
}

/* Main context: may this caller publish? 0 (and its room is held for it)
 * or a rejection reason. */
static int
check_caller (RcSrt *srt, const char *room_id, const char *key)
{
  RcRoom *room;
  guint max, reserved;
  gint64 *until;

  if (srt->freed)
    return RC_SRT_REJECT_UNAVAILABLE;
  room = rc_registry_lookup (srt->host->registry, room_id);
  if (room == NULL)
    return RC_SRT_REJECT_NOT_FOUND;
  if (rc_room_check_publish_key (room, key) == NULL)
    return RC_SRT_REJECT_UNAUTHORIZED;
  reserved = prune_reservations (srt);
  if (rc_room_has_publisher (room) || g_hash_table_contains (srt->reserved, room_id))
    return RC_SRT_REJECT_CONFLICT;
  max = (guint) srt->host->config->max_publishers;
  if (srt->host->hosts + reserved >= max)
    return RC_SRT_REJECT_OVERLOAD;
  until = g_new (gint64, 1);
  *until = g_get_monotonic_time () + RESERVATION_US;
  g_hash_table_insert (srt->reserved, g_strdup (room_id), until);
  return 0;
}

static const char *
reject_text (int reason)
{
  switch (reason)
    {
    case RC_SRT_REJECT_BAD_REQUEST:
      return "unreadable stream id (want <roomId>/<publishKey>)";
    case RC_SRT_REJECT_UNAUTHORIZED:
      return "not a publish key of this room";
    case RC_SRT_REJECT_OVERLOAD:
      return "too many live hosts on the server (--max-publishers)";
    case RC_SRT_REJECT_NOT_FOUND:
      return "no such room";
    case RC_SRT_REJECT_BAD_MODE:
      return "m= other than publish";
    case RC_SRT_REJECT_CONFLICT:
      return "the room has a live host already";
    case RC_SRT_REJECT_UNAVAILABLE:
      return "the server is stopping or busy";
    default:
      return "refused";
    }
}

/* Any thread: logs a refusal, once in a while for a caller refused again
 * and again (@peer is "address:port"; only the address counts). */
static void
log_refusal (RcSrt *srt, const char *peer, const char *room_id, int reason)
{
  const char *colon = strrchr (peer, ':');
  g_autofree char *what = g_strdup_printf ("%.*s %d", colon != NULL ? (int) (colon - peer)
                                                                      : (int) strlen (peer),
                                           peer, reason);
  gint64 now = g_get_monotonic_time ();
  gboolean again;

  g_mutex_lock (&srt->lock);
  again = g_strcmp0 (what, srt->last_refusal) == 0 && now - srt->last_refusal_us < REFUSAL_LOG_US;
  if (!again)
    {
      g_free (srt->last_refusal);
      srt->last_refusal = g_steal_pointer (&what);
      srt->last_refusal_us = now;
    }
  g_mutex_unlock (&srt->lock);
  if (again)
    g_debug ("SRT caller %s for room %s refused again (%d)", peer, room_id ? room_id : "?",
             reason);
  else if (room_id != NULL)
    g_message ("SRT caller %s for room %s refused: %s (%d)", peer, room_id, reject_text (reason),
               reason);
  else
    g_message ("SRT caller %s refused: %s (%d)", peer, reject_text (reason), reason);
}

static gboolean
check_on_main (gpointer data)
{
  Check *check = data;
  RcSrt *srt = check->srt;
  int reject = check_caller (srt, check->room_id, check->key);

  if (reject != 0)
    log_refusal (srt, check->peer, check->room_id, reject);
  g_mutex_lock (&srt->lock);
  check->done = TRUE;
  check->reject = reject;
  g_cond_broadcast (&srt->cond);
  g_mutex_unlock (&srt->lock);
  return G_SOURCE_REMOVE;
}

static char *
address_text (const struct sockaddr *addr)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autofree char *host = NULL;
  gsize length;

  if (addr == NULL)
    return g_strdup ("?");
  length = addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
  address = g_socket_address_new_from_native ((gpointer) addr, length);
  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("?");
  host = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup_printf ("%s:%u", host,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

/* libsrt's receiving thread, during a caller's handshake: 0 lets it in,
 * -1 (with a rejection reason) refuses it. */
static int
on_listen (void *data, SRTSOCKET ns, int hs_version, const struct sockaddr *peer,
           const char *stream_id)
{
  RcSrt *srt = data;
  g_autofree char *room_id = NULL, *key = NULL;
  g_autofree char *who = address_text (peer);
  int reject = rc_srt_parse_stream_id (stream_id, &room_id, &key);
  Check *check;
  gint64 deadline;

  if (reject != 0)
    {
      log_refusal (srt, who, NULL, reject);
      srt_setrejectreason (ns, reject);
      return -1;
    }
  check = g_new0 (Check, 1);
  check->ref_count = 1;
  check->srt = srt_ref (srt);
  check->room_id = g_steal_pointer (&room_id);
  check->key = g_steal_pointer (&key);
  check->peer = g_steal_pointer (&who);
  deadline = g_get_monotonic_time () + CHECK_TIMEOUT_US;
  g_mutex_lock (&srt->lock);
  if (!srt->stopping)
    {
      run_on_main (srt, check_on_main, check_ref (check), check_unref);
      while (!check->done && !srt->stopping)
        if (!g_cond_wait_until (&srt->cond, &srt->lock, deadline))
          break;
    }
  reject = check->done ? check->reject : RC_SRT_REJECT_UNAVAILABLE;
  g_mutex_unlock (&srt->lock);
  if (!check->done)
    g_message ("SRT caller %s refused: no answer from the main loop in time", check->peer);
  check_unref (check);
  if (reject != 0)
    {
      srt_setrejectreason (ns, reject);
      return -1;
    }
  return 0;
}

/* ---- connections (main context) ----------------------------------------- */

/* Main context: the reader thread closes @conn's socket soon. */
static void
request_close (Conn *conn)
{
  RcSrt *srt = conn->srt;

  g_mutex_lock (&srt->lock);
  if (!conn->closed)
    {
      conn->closed = TRUE;
      g_ptr_array_add (srt->closing, conn_ref (conn));
    }
  g_mutex_unlock (&srt->lock);
}

/* Main context: the connection's latest figures (the reader thread takes
 * them once a second, and just before it closes the socket); FALSE when
 * there are none yet. */
static gboolean
get_perf (Conn *conn, SRT_TRACEBSTATS *perf)
{
  gboolean known;

  g_mutex_lock (&conn->srt->lock);
  known = conn->has_last;
  if (known)
    *perf = conn->last;
  g_mutex_unlock (&conn->srt->lock);
  return known;
}

static void
fill_stats (Conn *conn, RcLiveStats *stats)
{
  SRT_TRACEBSTATS perf;
  double mix_offset_ms = 0;

  /* The ingest is the main context's: only the reader's pointer is locked. */
  if (conn->ingest != NULL)
    {
      RcSrtIngestStats ingest;

      rc_srt_ingest_get_stats (conn->ingest, &ingest);
      mix_offset_ms = ingest.mix_offset_ms;
    }
  if (!get_perf (conn, &perf))
    return;
  stats->packets = (guint64) MAX (perf.pktRecvTotal, 0);
  stats->bytes = perf.byteRecvTotal;
  stats->lost = perf.pktRcvLossTotal;
  stats->jitter_ms = 0; /* SRT's latency absorbs it: delivery is paced */
  stats->bitrate = perf.mbpsRecvRate * 1e6;
  stats->rtt_ms = perf.msRTT;
  /* SRT holds each packet its latency; the decoded audio then waits for
   * the mixer (how late it came, plus the ingest's lead). */
  stats->buffer_ms = perf.msRcvTsbPdDelay + mix_offset_ms;
}

/* Every way a host ends comes here. */
static void
conn_end (Conn *conn, const char *why)
{
  RcSrt *srt = conn->srt;
  RcLiveStats stats = { .rtt_ms = -1 };
  RcSrtIngest *ingest;
  SRT_TRACEBSTATS perf = { 0 };

  if (conn->ended)
    return;
  conn->ended = TRUE;
  fill_stats (conn, &stats);
  get_perf (conn, &perf);
  g_mutex_lock (&srt->lock);
  ingest = g_steal_pointer (&conn->ingest);
  g_mutex_unlock (&srt->lock);
  g_message ("SRT host %s (%s) ended after %.1f s: %s (%" G_GUINT64_FORMAT " packets, "
             "%" G_GINT64_FORMAT " lost, %d dropped, rtt %.1f ms, %.0f kb/s)",
             conn->id, conn->peer,
             (g_get_monotonic_time () - conn->started_us) / (double) G_USEC_PER_SEC, why,
             stats.packets, stats.lost, perf.pktRcvDropTotal, stats.rtt_ms,
             stats.bitrate / 1000.0);
  /* Out of the mix before the room's hold on its pipeline goes. */
  rc_srt_ingest_free (ingest);
  if (conn->live != NULL)
    rc_live_end (g_steal_pointer (&conn->live), why);
  request_close (conn);
  if (g_hash_table_remove (srt->active, conn))
    conn_unref (conn);
}

static void
on_live_end (RcLive *live, int code, const char *why, gpointer data)
{
  conn_end (data, why);
}

static void
on_live_stats (RcLive *live, RcLiveStats *stats, gpointer data)
{
  fill_stats (data, stats);
}

static const RcLiveTransport live_transport = { on_live_end, on_live_stats };

static void
on_ingest_live (RcSrtIngest *ingest, gpointer data)
{
  Conn *conn = data;
  RcSrtIngestStats stats;

  rc_srt_ingest_get_stats (ingest, &stats);
  g_message ("SRT host %s is on air (%s audio, placed %.0f ms earlier)", conn->id,
             stats.codec != NULL ? stats.codec : "?", stats.placement_ms);
  if (conn->live != NULL)
    rc_live_on_air (conn->live, rc_srt_ingest_get_element (ingest));
}

static void
on_ingest_ended (RcSrtIngest *ingest, const GError *error, gpointer data)
{
  conn_end (data, error->message);
}

static const RcSrtIngestCallbacks ingest_callbacks = { on_ingest_live, on_ingest_ended };

/* Main context: the reader thread accepted @conn. */
static void
conn_accepted (Conn *conn)
{
  RcSrt *srt = conn->srt;
  g_autoptr (GError) error = NULL;
  g_autofree char *room_id = NULL, *key = NULL;
  RcPublishKey *publish_key = NULL;
  RcRoom *room = NULL;
  RcSrtIngest *ingest;
  gboolean closed;

  g_hash_table_add (srt->active, conn_ref (conn));
  /* Its reservation ends here: rc_live_begin takes the room for real. */
  if (rc_srt_parse_stream_id (conn->stream_id, &room_id, &key) == 0)
    g_hash_table_remove (srt->reserved, room_id);
  g_mutex_lock (&srt->lock);
  closed = conn->closed;
  g_mutex_unlock (&srt->lock);
  if (closed)
    {
      conn_end (conn, "The host left during its handshake");
      return;
    }
  if (room_id != NULL)
    room = rc_registry_lookup (srt->host->registry, room_id);
  if (room != NULL)
    publish_key = rc_room_check_publish_key (room, key);
  if (publish_key == NULL)
    {
      /* The room or the key went between the handshake and now. */
      conn_end (conn, "The room or its key is gone");
      return;
    }
  conn->live = rc_live_begin (srt->host, room, publish_key->id, "srt", &live_transport, conn,
                              &error);
  if (conn->live == NULL)
    {
      conn_end (conn, error->message);
      return;
    }
  g_message ("Room %s: SRT host %s (%s) connected with key %s", room_id, conn->id, conn->peer,
             publish_key->id);
  ingest = rc_srt_ingest_new (rc_live_get_pipeline (conn->live), conn->id, NULL,
                              &ingest_callbacks, conn, &error);
  if (ingest == NULL)
    {
      g_warning ("Room %s: could not take an SRT host: %s", room_id, error->message);
      conn_end (conn, error->message);
      return;
    }
  g_mutex_lock (&srt->lock);
  conn->ingest = ingest;
  g_mutex_unlock (&srt->lock);
}

typedef struct
{
  Conn *conn; /* strong */
  char *closed; /* why the reader closed it, or NULL: it was accepted */
} ConnEvent;

static void
conn_event_free (gpointer data)
{
  ConnEvent *ev = data;

  conn_unref (ev->conn);
  g_free (ev->closed);
  g_free (ev);
}

static gboolean
dispatch_conn_event (gpointer data)
{
  ConnEvent *ev = data;

  if (ev->conn->srt->freed)
    return G_SOURCE_REMOVE;
  if (ev->closed == NULL)
    conn_accepted (ev->conn);
  else if (g_hash_table_contains (ev->conn->srt->active, ev->conn))
    conn_end (ev->conn, ev->closed);
  return G_SOURCE_REMOVE;
}

/* Reader thread: tells the main context; never runs anything there now. */
static void
post_conn_event (Conn *conn, char *closed)
{
  ConnEvent *ev = g_new0 (ConnEvent, 1);

  ev->conn = conn_ref (conn);
  ev->closed = closed;
  run_on_main (conn->srt, dispatch_conn_event, ev, conn_event_free);
}

/* ---- the reader thread --------------------------------------------------- */

static char *
socket_stream_id (SRTSOCKET sock)
{
  char buffer[MAX_STREAM_ID + 1] = { 0 };
  int length = sizeof buffer - 1;

  if (srt_getsockflag (sock, SRTO_STREAMID, buffer, &length) == SRT_ERROR || length < 0)
    return g_strdup ("");
  buffer[MIN (length, (int) sizeof buffer - 1)] = '\0';
  return g_strdup (buffer);
}

/* Reader thread: the connection's figures, kept for the main context,
 * which never calls libsrt (see the header comment). A broken socket has
 * none: the last ones stay. */
static void
take_perf (RcSrt *srt, Conn *conn)
{
  SRT_TRACEBSTATS perf;
  gboolean fresh = srt_bstats (conn->sock, &perf, 0) != SRT_ERROR;

  g_mutex_lock (&srt->lock);
  conn->last_us = g_get_monotonic_time ();
  if (fresh)
    {
      conn->last = perf;
      conn->has_last = TRUE;
    }
  g_mutex_unlock (&srt->lock);
}

/* Reader thread, every loop: the figures of connections not measured for
 * STATS_PERIOD_US. */
static void
take_due_perf (RcSrt *srt)
{
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_unref);
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&srt->lock);
  g_hash_table_iter_init (&iter, srt->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now - ((Conn *) value)->last_us >= STATS_PERIOD_US)
      g_ptr_array_add (due, conn_ref (value));
  g_mutex_unlock (&srt->lock);
  for (guint i = 0; i < due->len; i++)
    take_perf (srt, due->pdata[i]);
}

/* Reader thread: closes a connection's socket; the table drops it. */
static void
close_socket (RcSrt *srt, Conn *conn)
{
  take_perf (srt, conn); /* the last figures, kept */
  srt_epoll_remove_usock (srt->eid, conn->sock);
  srt_close (conn->sock);
  g_mutex_lock (&srt->lock);
  conn->closed = TRUE;
  if (g_hash_table_steal (srt->conns, GINT_TO_POINTER (conn->sock)))
    conn_unref (conn);
  g_mutex_unlock (&srt->lock);
}

static void
accept_callers (RcSrt *srt)
{
  for (;;)
    {
      struct sockaddr_storage peer;
      int peer_length = sizeof peer;
      SRTSOCKET sock = srt_accept (srt->listener, (struct sockaddr *) &peer, &peer_length);
      const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
      const int no = 0;
      Conn *conn;

      if (sock == SRT_INVALID_SOCK)
        {
          int code = srt_getlasterror (NULL);

          /* A listener that fails for good is not waited on again. */
          if (code != SRT_EASYNCRCV)
            {
              g_warning ("SRT: the listener failed: %s; no more SRT hosts",
                         srt_strerror (code, 0));
              srt_epoll_remove_usock (srt->eid, srt->listener);
            }
          return;
        }
      conn = g_new0 (Conn, 1);
      conn->ref_count = 1; /* this function's, until the end of the turn */
      conn->srt = srt_ref (srt);
      conn->sock = sock;
      conn->id = rc_secret_random_id (CONN_ID_LENGTH);
      conn->stream_id = socket_stream_id (sock);
      conn->peer = address_text ((struct sockaddr *) &peer);
      conn->started_us = g_get_monotonic_time ();
      g_mutex_lock (&srt->lock);
      g_hash_table_insert (srt->conns, GINT_TO_POINTER (sock), conn_ref (conn));
      g_mutex_unlock (&srt->lock);
      /* A caller that is gone already (it closed right after its
       * handshake) cannot be watched: closed at once, the main context
       * still hears of it (and frees its room's reservation). */
      if (srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof no) == SRT_ERROR
          || srt_epoll_add_usock (srt->eid, sock, &events) == SRT_ERROR)
        {
          g_debug ("SRT host %s: cannot be watched: %s", conn->id, srt_getlasterror_str ());
          close_socket (srt, conn);
        }
      post_conn_event (conn, NULL);
      conn_unref (conn);
    }
}

/* Reader thread: everything waiting on @conn's socket goes to its ingest.
 * Sets @why when the connection is over. */
static void
read_messages (RcSrt *srt, Conn *conn, char **why)
{
  guint8 buffer[MESSAGE_BYTES];

  for (;;)
    {
      int n = srt_recvmsg (conn->sock, (char *) buffer, sizeof buffer);

      if (n == SRT_ERROR)
        {
          int code = srt_getlasterror (NULL);

          if (code != SRT_EASYNCRCV)
            *why = g_strdup_printf ("The connection ended (%s)", srt_strerror (code, 0));
          return;
        }
      if (n == 0)
        {
          *why = g_strdup ("The host closed the connection");
          return;
        }
      g_mutex_lock (&srt->lock);
      if (conn->ingest != NULL)
        rc_srt_ingest_push (conn->ingest, buffer, (gsize) n);
      g_mutex_unlock (&srt->lock);
    }
}

static void
close_requested (RcSrt *srt)
{
  g_autoptr (GPtrArray) closing = NULL;

  g_mutex_lock (&srt->lock);
  if (srt->closing->len == 0)
    {
      g_mutex_unlock (&srt->lock);
      return;
    }
  closing = g_steal_pointer (&srt->closing);
  srt->closing = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_unref);
  g_mutex_unlock (&srt->lock);
  for (guint i = 0; i < closing->len; i++)
    close_socket (srt, closing->pdata[i]);
}

static gpointer
reader_thread (gpointer data)
{
  RcSrt *srt = data;
  SRT_EPOLL_EVENT events[MAX_EVENTS];

  for (;;)
    {
      int n;
      gboolean stopping;

      g_mutex_lock (&srt->lock);
      stopping = srt->stopping;
      g_mutex_unlock (&srt->lock);
      if (stopping)
        break;
      close_requested (srt);
      take_due_perf (srt);
      n = srt_epoll_uwait (srt->eid, events, MAX_EVENTS, EPOLL_WAIT_MS);
      if (n < 0)
        g_usleep (EPOLL_WAIT_MS * 1000); /* never spin */
      for (int i = 0; i < n; i++)
        {
          Conn *conn;
          char *why = NULL;

          if (events[i].fd == srt->listener)
            {
              accept_callers (srt);
              continue;
            }
          g_mutex_lock (&srt->lock);
          conn = g_hash_table_lookup (srt->conns, GINT_TO_POINTER (events[i].fd));
          if (conn != NULL)
            conn_ref (conn);
          g_mutex_unlock (&srt->lock);
          if (conn == NULL)
            {
              srt_epoll_remove_usock (srt->eid, events[i].fd);
              continue;
            }
          if (events[i].events & SRT_EPOLL_IN)
            read_messages (srt, conn, &why);
          if (why == NULL && (events[i].events & SRT_EPOLL_ERR))
            why = g_strdup ("The connection broke");
          if (why != NULL)
            {
              close_socket (srt, conn);
              post_conn_event (conn, why);
            }
          conn_unref (conn);
        }
    }
  /* Stopping: every socket still open goes. */
  close_requested (srt);
  for (;;)
    {
      GHashTableIter iter;
      gpointer value = NULL;

      g_mutex_lock (&srt->lock);
      g_hash_table_iter_init (&iter, srt->conns);
      if (!g_hash_table_iter_next (&iter, NULL, &value))
        value = NULL;
      else
        conn_ref (value);
      g_mutex_unlock (&srt->lock);
      if (value == NULL)
        break;
      close_socket (srt, value);
      conn_unref (value);
    }
  return NULL;
}

/* ---- the listener ------------------------------------------------------- */

static void
on_srt_log (void *opaque, int level, const char *file, int line, const char *area,
            const char *message)
{
  g_debug ("libsrt: %s", message);
}

static gboolean
set_flag (SRTSOCKET sock, SRT_SOCKOPT option, int value, GError **error)
{
  if (srt_setsockflag (sock, option, &value, sizeof value) == SRT_ERROR)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INTERNAL, "SRT option %d: %s", option,
                   srt_getlasterror_str ());
      return FALSE;
    }
  return TRUE;
}

static gboolean
listen_on (RcSrt *srt, const RcConfig *config, GError **error)
{
  GInetAddress *inet = g_inet_address_new_from_string (config->host);
  g_autolist (GInetAddress) found = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  struct sockaddr_storage native;
  struct sockaddr_storage bound;
  int bound_length = sizeof bound;
  const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  gboolean ipv6;

  if (inet == NULL)
    {
      found = g_resolver_lookup_by_name (g_resolver_get_default (), config->host, NULL, error);
      if (found == NULL)
        return FALSE;
      inet = g_object_ref (found->data);
    }
  address = g_inet_socket_address_new (inet, (guint16) config->srt_port);
  ipv6 = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6;
  g_object_unref (inet);
  if (!g_socket_address_to_native (address, &native, sizeof native, error))
    return FALSE;

  srt->listener = srt_create_socket ();
  if (srt->listener == SRT_INVALID_SOCK)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INTERNAL, "No SRT socket: %s",
                   srt_getlasterror_str ());
      return FALSE;
    }
  /* Live mode (the default) with our receive latency; accept and read
   * never block (the reader thread waits in srt_epoll). A "::" listener
   * takes IPv4 callers too. The accepted sockets inherit all of it. */
  if (!set_flag (srt->listener, SRTO_RCVLATENCY, (int) srt->latency_ms, error)
      || !set_flag (srt->listener, SRTO_RCVSYN, 0, error)
      || (ipv6 && !set_flag (srt->listener, SRTO_IPV6ONLY, 0, error)))
    return FALSE;
  if (srt_bind (srt->listener, (struct sockaddr *) &native,
                (int) g_socket_address_get_native_size (address))
        == SRT_ERROR
      || srt_listen_callback (srt->listener, on_listen, srt) == SRT_ERROR
      || srt_listen (srt->listener, 16) == SRT_ERROR)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INTERNAL,
                   "--srt-port: cannot listen for SRT on %s port %" G_GINT64_FORMAT
                   " (UDP; in use?): %s",
                   config->host, config->srt_port, srt_getlasterror_str ());
      return FALSE;
    }
  if (srt_getsockname (srt->listener, (struct sockaddr *) &bound, &bound_length) != SRT_ERROR)
    {
      g_autoptr (GSocketAddress) local = g_socket_address_new_from_native (&bound, bound_length);

      if (local != NULL && G_IS_INET_SOCKET_ADDRESS (local))
        srt->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    }
  srt->eid = srt_epoll_create ();
  if (srt->eid < 0 || srt_epoll_set (srt->eid, SRT_EPOLL_ENABLE_EMPTY) < 0
      || srt_epoll_add_usock (srt->eid, srt->listener, &events) == SRT_ERROR)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INTERNAL, "SRT epoll: %s", srt_getlasterror_str ());
      return FALSE;
    }
  return TRUE;
}

RcSrt *
rc_srt_new (RcLiveHost *host, GError **error)
{
  static gsize logging;
  const RcConfig *config = host->config;
  RcSrt *srt = g_new0 (RcSrt, 1);

  if (g_once_init_enter (&logging))
    {
      srt_setloglevel (LOG_WARNING);
      srt_setloghandler (NULL, on_srt_log);
      g_once_init_leave (&logging, 1);
    }
  srt_startup ();
  srt->ref_count = 1;
  srt->host = host;
  srt->context = g_main_context_ref_thread_default ();
  srt->listener = SRT_INVALID_SOCK;
  srt->eid = -1;
  srt->latency_ms = (guint) config->srt_latency;
  srt->active = g_hash_table_new (NULL, NULL);
  srt->reserved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  srt->conns = g_hash_table_new (NULL, NULL);
  srt->closing = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_unref);
  g_mutex_init (&srt->lock);
  g_cond_init (&srt->cond);
  if (!listen_on (srt, config, error))
    {
      rc_srt_free (srt);
      return NULL;
    }
  srt->thread = g_thread_new ("rc-srt", reader_thread, srt);
  g_message (strchr (config->host, ':') != NULL
               ? "SRT ingest listening on udp://[%s]:%u (latency %u ms)"
               : "SRT ingest listening on udp://%s:%u (latency %u ms)",
             config->host, srt->port, srt->latency_ms);
  return srt;
}

void
rc_srt_free (RcSrt *srt)
{
  if (srt == NULL)
    return;
  /* Wakes any handshake waiting for the main context: it is refused. */
  g_mutex_lock (&srt->lock);
  srt->stopping = TRUE;
  g_cond_broadcast (&srt->cond);
  g_mutex_unlock (&srt->lock);
  while (g_hash_table_size (srt->active) > 0)
    {
      GHashTableIter iter;
      gpointer conn;

      g_hash_table_iter_init (&iter, srt->active);
      g_hash_table_iter_next (&iter, &conn, NULL);
      conn_end (conn, "The server is stopping");
    }
  srt->freed = TRUE;
  srt->host = NULL;
  /* The reader closes every socket on its way out. */
  if (srt->thread != NULL)
    g_thread_join (g_steal_pointer (&srt->thread));
  /* Nobody else touches these now; they hold references to srt. */
  g_ptr_array_set_size (srt->closing, 0);
  if (srt->listener != SRT_INVALID_SOCK)
    srt_close (srt->listener);
  if (srt->eid >= 0)
    srt_epoll_release (srt->eid);
  srt_cleanup ();
  srt_unref (srt);
}

guint
rc_srt_get_port (RcSrt *srt)
{
  return srt->port;
}

guint
rc_srt_get_connection_count (RcSrt *srt)
{
  guint n;

  g_mutex_lock (&srt->lock);
  n = g_hash_table_size (srt->conns);
  g_mutex_unlock (&srt->lock);
  return n;
}

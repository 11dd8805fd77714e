/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The fan-out engine's insides, shared by its three files and nobody else:
 * rc_fanout.c (the engine, its control thread), rc_fanout_sender.c (the
 * sender thread) and rc_fanout_guest.c (streams and guests, the main
 * context's side). Who owns which field is said in rc_fanout.c's opening
 * comment and beside each field.
 */
#include <sys/socket.h>

#include "pipelines/rc_dtls.h"
#include "pipelines/rc_fanout.h"
#include "pipelines/rc_fanout_rtcp.h"
#include "pipelines/rc_ice_lite.h"
#include "pipelines/rc_srtp.h"

G_BEGIN_DECLS

#define RC_FANOUT_BATCH 256
#define RC_FANOUT_OFFER_RETRY_MS 20
#define RC_FANOUT_SLOT_SIZE 1500
#define RC_FANOUT_MAX_RTP 1200
#define RC_FANOUT_SILENCE_US (30 * G_USEC_PER_SEC)
#define RC_FANOUT_SR_INTERVAL_US (5 * G_USEC_PER_SEC)
#define RC_FANOUT_SWEEP_MS 100
/* How long a connected guest's DTLS association is kept (to answer its
 * retransmitted last flight if ours was lost); then only its keys stay. */
#define RC_FANOUT_DTLS_KEEP_US (10 * G_USEC_PER_SEC)
/* At most this often the engine gives free heap pages back (rc_fanout.c). */
#define RC_FANOUT_TRIM_US (2 * G_USEC_PER_SEC)
#define RC_FANOUT_LATENCY_SAMPLES 4096
#define RC_FANOUT_WAIT_SAMPLES 512
#define RC_FANOUT_MAX_ADDRESSES 8
#define RC_FANOUT_SEND_BUFFER (8 * 1024 * 1024)
/* Packets waiting for the sender thread at most (2 s of 25 rooms). */
#define RC_FANOUT_QUEUE_MAX 2500
/* Sender threads at most (--webrtc-senders). */
#define RC_FANOUT_MAX_SENDERS 16

/* The length first: a guest's send address then begins in the cache line
 * of the sender's other fields (the kernel reads only @length bytes). */
typedef struct
{
  socklen_t length;
  struct sockaddr_storage addr;
} RcFanoutAddress;

struct _RcFanoutGuest
{
  /* sender thread, once active. First and together: the sender reads them
   * for every guest and packet from a guest that is cold in the cache
   * (3,000 guests' state is larger than the cache), so they share the
   * struct's first lines and the sender prefetches them (rc_fanout_sender.c). */
  gint active; /* atomic */
  guint32 sr_packets, sr_octets;    /* sender only */
  RcSrtp *srtp_out;
  gint64 next_sr_us;
  guint64 packets_sent, bytes_sent; /* sender writes, anyone reads (atomic, relaxed) */
  RcFanoutAddress send_addr;

  gatomicrefcount ref;
  RcFanout *fanout;
  RcFanoutStream *stream; /* strong */
  guint sender;           /* the sender thread that serves it, for its life */
  char *name;
  char ufrag[RC_ICE_UFRAG_LEN + 1];
  char pwd[RC_ICE_PWD_LEN + 1];

  /* main context */
  RcFanoutGuestCallbacks callbacks;
  gpointer user_data;
  gboolean freed, offer_sent, answer_given;
  guint offer_source;

  /* control thread */
  char *remote_ufrag;
  char *remote_fingerprint;
  gboolean remote_dtls_client, answered, failed;
  RcDtls *dtls;
  gboolean dtls_done;     /* connected, and the association let go */
  gint64 dtls_release_us; /* when to let it go */
  RcSrtp *srtp_in;
  RcFanoutAddress dtls_addr, checked_addr;
  gboolean has_dtls_addr, has_checked_addr;
  RcFanoutAddress *addresses[RC_FANOUT_MAX_ADDRESSES]; /* keys of fanout->by_address */
  guint n_addresses;
  gint64 last_heard_us;

  /* control thread writes, anyone reads: under fanout->stats_lock */
  guint64 reports;
  RcRtcpReportBlock last_report;
  double rtt_ms;
};

typedef struct
{
  gatomicrefcount ref;
  guint n;
  RcFanoutGuest *guests[];
} RcFanoutGuestList;

typedef struct _RcFanoutSender RcFanoutSender;

struct _RcFanoutStream
{
  gatomicrefcount ref;
  RcFanout *fanout;
  char *name;
  GMutex lock;
  /* One list per sender thread, each of the guests it serves: protected by
   * lock, swapped, never changed. */
  RcFanoutGuestList *guests[RC_FANOUT_MAX_SENDERS];
  guint next_sender; /* protected by lock: the next guest's sender */
  gint n_guests;     /* atomic: the lists' length, for the tap's quick look */
  gint payload_type; /* atomic: -1 until the first packet */
  guint32 ssrc;      /* valid once payload_type is set */
};

typedef struct
{
  gatomicrefcount ref;    /* one per sender queue it is in */
  RcFanoutStream *stream; /* strong */
  gint64 tap_us;
  gsize length;
  guint8 data[];
} RcFanoutPacket;

typedef enum
{
  RC_FANOUT_ADD,
  RC_FANOUT_ANSWER,
  RC_FANOUT_REMOVE,
} RcFanoutCommand;

typedef struct
{
  RcFanoutCommand type;
  RcFanoutGuest *guest; /* strong */
} RcFanoutCommandItem;

struct _RcFanout
{
  int fd;
  int wake_fd;
  guint port;
  char *advertised;
  RcDtlsCert *cert;
  RcIceLite *ice;
  GMainContext *context;
  GThread *control_thread;
  gint stopping;
  RcFanoutSender *senders[RC_FANOUT_MAX_SENDERS];
  guint n_senders; /* 0 when detached */
  gint64 stale_us;

  GMutex lock; /* the command queue */
  GQueue commands;

  /* control thread */
  GHashTable *by_address; /* RcFanoutAddress* → RcFanoutGuest* (borrowed from by_ufrag) */
  GHashTable *by_ufrag;   /* char* (the guest's) → RcFanoutGuest* (strong) */
  gint64 next_sweep_us;
  gint64 next_trim_us;

  GMutex stats_lock; /* guests' counters and reports, the latency ring, connected */
  double latencies[RC_FANOUT_LATENCY_SAMPLES];
  guint n_latencies, next_latency;
  double waits[RC_FANOUT_WAIT_SAMPLES];
  guint n_waits, next_wait;
  guint connected;
  guint64 packets_sent, bytes_sent, send_failed, batches, stale_packets;
  guint64 dropped_unknown, dropped_stun, dropped_malformed, dropped_dtls, dropped_srtp;
  guint64 timed_out;
};

/* One sender thread: its queue of room packets, the guests whose index in
 * the stream's lists is its own. */
struct _RcFanoutSender
{
  RcFanout *fanout;
  guint index;
  GThread *thread;
  GAsyncQueue *packets;
};

/* Pushed to the packet queue to end the sender thread. */
extern RcFanoutPacket *const RC_FANOUT_STOP;

RcFanoutGuest *rc_fanout_guest_ref (RcFanoutGuest *guest);
void rc_fanout_guest_unref (RcFanoutGuest *guest);
void rc_fanout_guest_list_unref (RcFanoutGuestList *list);
/* The stream's guests now (a reference: give it back with _list_unref). */
RcFanoutGuestList *rc_fanout_stream_snapshot (RcFanoutStream *stream, guint sender);
void rc_fanout_packet_unref (RcFanoutPacket *packet);
/* Queues @type for @guest on the control thread (run at once when detached). */
void rc_fanout_post (RcFanout *fanout, RcFanoutCommand type, RcFanoutGuest *guest);
/* A sender thread's body; @data is its RcFanoutSender. */
gpointer rc_fanout_sender_main (gpointer data);

G_END_DECLS

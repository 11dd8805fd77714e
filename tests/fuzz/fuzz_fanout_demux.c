/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the fan-out engine's UDP port (pipelines/rc_fanout.c),
 * its demultiplexer and everything behind it: STUN through libnice and
 * rc_ice_lite, DTLS into GnuTLS, SRTCP into libsrtp2 and the RTCP reader.
 * A detached engine (no threads) with one room stream and two guests, one
 * of them answered (Chrome's answer: it is the DTLS client), takes the
 * input as datagrams: [source 0..3][length, 2 bytes little-endian][bytes]…
 * from four addresses on 127.0.0.1. The guest's ICE credentials are fixed,
 * so a seed can hold a check that passes (corpus/fanout_demux/check_*),
 * and the datagrams after it reach that guest's DTLS and SRTCP.
 */
#include "pipelines/rc_fanout-private.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define UFRAG "fuzzfrag"
#define PWD "fuzzpasswordfuzzpassword"

static const char answer[] =
  "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:EEtu\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\n"
  "a=fingerprint:sha-256 07:47:B7:A8:56:36:5B:E4:D2:BF:EA:9A:C2:A7:02:91:71:01:C3:BE:CC:81:71:"
  "71:02:A1:17:42:A0:FC:C7:CF\r\na=setup:active\r\na=mid:0\r\na=recvonly\r\n"
  "a=rtcp-mux\r\na=rtpmap:96 opus/48000/2\r\n";

static const RcFanoutGuestCallbacks callbacks = { NULL, NULL };

/* The engine and its room stream live for the whole run (a UDP socket and
 * a certificate each time would be most of an input's cost); the guests,
 * whose state the datagrams change, are new for every input. */
static RcFanout *fanout;
static RcFanoutStream *stream;

static void
set_up (void)
{
  RcFanoutOptions options = { "127.0.0.1", 0, NULL };
  static const guint8 rtp[] = { 0x80, 96, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xfc };

  fanout = rc_fanout_new_detached (&options, NULL);
  g_assert (fanout != NULL);
  stream = rc_fanout_stream_new (fanout, "fuzz");
  rc_fanout_stream_push (stream, rtp, sizeof rtp); /* the payload type and SSRC */
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  RcFanoutGuest *answered, *other;
  gsize at = 0;

  if (fanout == NULL)
    set_up ();
  answered = rc_fanout_guest_new_with_credentials (stream, "a", UFRAG, PWD, &callbacks, NULL);
  other = rc_fanout_guest_new (stream, "b", &callbacks, NULL);
  /* The offer goes out on the main context; then the answer is taken. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  rc_fanout_guest_set_answer (answered, answer, NULL);
  while (at + 3 <= size)
    {
      struct sockaddr_storage from = { 0 };
      struct sockaddr_in *in = (struct sockaddr_in *) &from;
      gsize length = (gsize) data[at + 1] | (gsize) data[at + 2] << 8;

      in->sin_family = AF_INET;
      in->sin_port = htons ((guint16) (40000 + (data[at] & 3)));
      in->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      at += 3;
      length = MIN (length, size - at);
      if (length > 0)
        rc_fanout_receive (fanout, data + at, length, &from, sizeof (struct sockaddr_in));
      at += length;
    }
  rc_fanout_guest_free (answered);
  rc_fanout_guest_free (other);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}

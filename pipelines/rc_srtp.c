/* SPDX-License-Identifier: MIT */
/*
 * SRTP and SRTCP (RFC 3711), profile AES_CM_128_HMAC_SHA1_80, with every
 * cryptographic step done by OpenSSL's libcrypto (AES-128-CTR for the
 * keystream and the key derivation, HMAC-SHA1 for the tag).
 *
 * Why it exists, and why not libsrtp2: the fan-out engine protects each
 * room packet once per guest, thousands of guests a sender thread. Debian's
 * libsrtp2 does its AES and HMAC through NSS, whose software token keeps
 * every key as an object in a shared table: one protection costs ~2.2 µs
 * with one session and grows with the number of live sessions (9.5 µs with
 * 1,000, 34 µs with 3,000 on this project's machine: docs/benchmarks.md,
 * bench-srtp --sessions), so it cannot serve a big room at all, and it
 * keeps ~59 KiB per guest. libsrtp2 built on OpenSSL is not in Debian.
 * What is ours here is only RFC 3711's framing (which bytes are encrypted,
 * the IV, the rollover counter, the SRTCP index, the replay windows); the
 * suite checks it byte for byte against libsrtp2 in both directions
 * (tests/test_srtp.c), so the two cannot drift apart.
 *
 * A context keeps the keys of one direction and a small table of the SSRCs
 * it met (their rollover counter, highest sequence number, SRTCP index and
 * replay windows). Inbound, an SSRC enters the table only with a packet
 * whose tag was right, so forged packets cannot fill it.
 *
 * The per-packet cost is the point (bench-srtp): the keystream is AES of
 * the counter blocks, made here and encrypted in one call by an ECB context
 * keyed once per session (setting a CTR context's IV per packet cost twice
 * as much); HMAC's two keyed halves (SHA-1 fed the key XOR ipad, and XOR
 * opad) are hashed once per session and copied per packet, where
 * EVP_MAC_init per packet went through the MAC layer's parameters and
 * HMAC_Init_ex on top of the same two copies.
 */
#include "pipelines/rc_srtp.h"

#include <gst/gst.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "pipelines/rc_media_error.h"

#define TAG_LEN 10
#define SRTCP_INDEX_LEN 4
#define MAX_STREAMS 16
#define REPLAY_WINDOW 64

#define SHA1_BLOCK 64
#define AES_BLOCK 16
/* Counter blocks encrypted per call (a 160-byte Opus payload takes 10). */
#define KEYSTREAM_BLOCKS 16

typedef struct
{
  guint8 salt[14];
  EVP_CIPHER_CTX *cipher; /* AES-128-ECB without padding, keyed once: the counter blocks' */
  EVP_MD_CTX *inner;      /* SHA-1 that has hashed the auth key XOR ipad */
  EVP_MD_CTX *outer;      /* ... XOR opad */
} Keys;

typedef struct
{
  guint32 ssrc;
  /* RTP: the highest packet index (ROC · 2^16 + SEQ) seen or sent, and,
   * inbound, which of the REPLAY_WINDOW indexes below it were seen. */
  gboolean rtp_started;
  guint64 rtp_top;
  guint64 rtp_seen;
  /* SRTCP: outbound the next index; inbound the highest and the window. */
  guint32 rtcp_next;
  gboolean rtcp_started;
  guint64 rtcp_top;
  guint64 rtcp_seen;
} Stream;

struct _RcSrtp
{
  RcSrtpDirection direction;
  guint8 master_key[16];
  guint8 master_salt[14];
  Keys rtp, rtcp; /* derived on first use */
  gboolean have_rtp, have_rtcp;
  EVP_MD_CTX *work; /* a copy of a keyed half, per packet */
  Stream *streams; /* grown as SSRCs come, up to MAX_STREAMS: most contexts meet one */
  guint n_streams, n_allocated;
};

/* RFC 3711 §4.3.1, key derivation rate 0: AES-CM under the master key over
 * (master salt XOR label at byte 7) · 2^16 gives @length bytes. */
static gboolean
derive (RcSrtp *srtp, guint8 label, guint8 *out, int length)
{
  static const guint8 zeros[32] = { 0 };
  guint8 iv[16] = { 0 };
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0;
  gboolean ok;

  memcpy (iv, srtp->master_salt, 14);
  iv[7] ^= label;
  ok = ctx != NULL && EVP_EncryptInit_ex (ctx, EVP_aes_128_ctr (), NULL, srtp->master_key, iv) == 1
       && EVP_EncryptUpdate (ctx, out, &n, zeros, length) == 1 && n == length;
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

/* SHA-1 that has hashed one block: @key (shorter than a block) XOR @pad. */
static EVP_MD_CTX *
keyed_half (EVP_MD *sha1, const guint8 *key, gsize key_length, guint8 pad)
{
  guint8 block[SHA1_BLOCK];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  gboolean ok;

  memset (block, pad, sizeof block);
  for (gsize i = 0; i < key_length; i++)
    block[i] ^= key[i];
  ok = ctx != NULL && EVP_DigestInit_ex2 (ctx, sha1, NULL) == 1
       && EVP_DigestUpdate (ctx, block, sizeof block) == 1;
  OPENSSL_cleanse (block, sizeof block);
  if (!ok)
    {
      EVP_MD_CTX_free (ctx);
      return NULL;
    }
  return ctx;
}

static gboolean
keys_init (RcSrtp *srtp, Keys *keys, guint8 first_label)
{
  guint8 enc_key[16], auth_key[20];
  EVP_MD *sha1 = EVP_MD_fetch (NULL, "SHA1", NULL);
  gboolean ok;

  ok = sha1 != NULL && derive (srtp, first_label, enc_key, sizeof enc_key)
       && derive (srtp, first_label + 1, auth_key, sizeof auth_key)
       && derive (srtp, first_label + 2, keys->salt, sizeof keys->salt)
       && (keys->cipher = EVP_CIPHER_CTX_new ()) != NULL
       && EVP_EncryptInit_ex (keys->cipher, EVP_aes_128_ecb (), NULL, enc_key, NULL) == 1
       && EVP_CIPHER_CTX_set_padding (keys->cipher, 0) == 1
       && (keys->inner = keyed_half (sha1, auth_key, sizeof auth_key, 0x36)) != NULL
       && (keys->outer = keyed_half (sha1, auth_key, sizeof auth_key, 0x5c)) != NULL
       && (srtp->work != NULL || (srtp->work = EVP_MD_CTX_new ()) != NULL);
  EVP_MD_free (sha1);
  OPENSSL_cleanse (enc_key, sizeof enc_key);
  OPENSSL_cleanse (auth_key, sizeof auth_key);
  return ok;
}

static void
keys_clear (Keys *keys)
{
  EVP_CIPHER_CTX_free (keys->cipher);
  EVP_MD_CTX_free (keys->inner);
  EVP_MD_CTX_free (keys->outer);
  OPENSSL_cleanse (keys, sizeof *keys);
}

/* The RTP keys (labels 0-2) or the RTCP ones (3-5), derived the first time. */
static Keys *
keys_for (RcSrtp *srtp, gboolean rtcp)
{
  gboolean *have = rtcp ? &srtp->have_rtcp : &srtp->have_rtp;
  Keys *keys = rtcp ? &srtp->rtcp : &srtp->rtp;

  if (!*have)
    {
      if (!keys_init (srtp, keys, rtcp ? 3 : 0))
        {
          keys_clear (keys);
          return NULL;
        }
      *have = TRUE;
    }
  return keys;
}

RcSrtp *
rc_srtp_new (const guint8 *key, const guint8 *salt, RcSrtpDirection direction, GError **error)
{
  RcSrtp *srtp = g_new0 (RcSrtp, 1);

  srtp->direction = direction;
  memcpy (srtp->master_key, key, 16);
  memcpy (srtp->master_salt, salt, 14);
  /* An outbound context's RTP keys now, so that a refusal is seen at once.
   * The rest come with their first packet: an inbound context of the
   * fan-out engine sees its guest's RTCP only, and most see no RTCP. */
  if (direction == RC_SRTP_OUTBOUND && keys_for (srtp, FALSE) == NULL)
    {
      g_set_error_literal (error, RC_MEDIA_ERROR, RC_MEDIA_ERROR_FAILED,
                           "OpenSSL could not make the SRTP keys");
      rc_srtp_free (srtp);
      return NULL;
    }
  return srtp;
}

void
rc_srtp_free (RcSrtp *srtp)
{
  if (srtp == NULL)
    return;
  if (srtp->have_rtp)
    keys_clear (&srtp->rtp);
  if (srtp->have_rtcp)
    keys_clear (&srtp->rtcp);
  EVP_MD_CTX_free (srtp->work);
  if (srtp->streams != NULL)
    OPENSSL_cleanse (srtp->streams, srtp->n_allocated * sizeof (Stream));
  g_free (srtp->streams);
  OPENSSL_cleanse (srtp, sizeof *srtp);
  g_free (srtp);
}

static Stream *
find_stream (RcSrtp *srtp, guint32 ssrc)
{
  for (guint i = 0; i < srtp->n_streams; i++)
    if (srtp->streams[i].ssrc == ssrc)
      return &srtp->streams[i];
  return NULL;
}

/* A new SSRC's entry; when the table is full the oldest entry goes (a
 * sender meets one or two SSRCs; sixteen is room for renegotiations). */
static Stream *
add_stream (RcSrtp *srtp, guint32 ssrc)
{
  Stream *stream;

  if (srtp->n_streams == MAX_STREAMS)
    {
      memmove (&srtp->streams[0], &srtp->streams[1], (MAX_STREAMS - 1) * sizeof (Stream));
      srtp->n_streams--;
    }
  else if (srtp->n_streams == srtp->n_allocated)
    {
      srtp->n_allocated = MIN (MAX (srtp->n_allocated * 2, 1), MAX_STREAMS);
      srtp->streams = g_renew (Stream, srtp->streams, srtp->n_allocated);
    }
  stream = &srtp->streams[srtp->n_streams++];
  memset (stream, 0, sizeof *stream);
  stream->ssrc = ssrc;
  return stream;
}

/* Encrypts (or decrypts: the same XOR) @data in place with the keystream of
 * RFC 3711 §4.1.1, AES in counter mode: block i of it is AES (IV + i), IV =
 * salt · 2^16 XOR SSRC · 2^64 XOR index · 2^16. The IV's low 16 bits are
 * zero, so IV + i is the IV's first 14 bytes and i (a packet is far below
 * 2^16 blocks). */
static gboolean
apply_keystream (Keys *keys, guint32 ssrc, guint64 index, guint8 *data, gsize length)
{
  guint8 iv[AES_BLOCK] = { 0 }, counters[KEYSTREAM_BLOCKS * AES_BLOCK];
  guint8 stream[KEYSTREAM_BLOCKS * AES_BLOCK];
  guint block = 0;

  memcpy (iv, keys->salt, 14);
  for (int i = 0; i < 4; i++)
    iv[4 + i] ^= (guint8) (ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; i++)
    iv[8 + i] ^= (guint8) (index >> (40 - 8 * i));
  for (gsize done = 0; done < length;)
    {
      gsize n = MIN (length - done, sizeof stream), i = 0;
      guint blocks = (guint) ((n + AES_BLOCK - 1) / AES_BLOCK);
      int out = 0;

      if (block + blocks > 65536)
        return FALSE;
      for (guint b = 0; b < blocks; b++, block++)
        {
          memcpy (counters + AES_BLOCK * b, iv, AES_BLOCK);
          counters[AES_BLOCK * b + 14] = (guint8) (block >> 8);
          counters[AES_BLOCK * b + 15] = (guint8) block;
        }
      if (EVP_EncryptUpdate (keys->cipher, stream, &out, counters, (int) (blocks * AES_BLOCK)) != 1
          || out != (int) (blocks * AES_BLOCK))
        return FALSE;
      /* Eight bytes at a time (memcpy: @data has no alignment). */
      for (; i + 8 <= n; i += 8)
        {
          guint64 a, b;

          memcpy (&a, data + done + i, 8);
          memcpy (&b, stream + i, 8);
          a ^= b;
          memcpy (data + done + i, &a, 8);
        }
      for (; i < n; i++)
        data[done + i] ^= stream[i];
      done += n;
    }
  return TRUE;
}

/* HMAC-SHA1 (RFC 2104) of @data and, for RTP, the 4-byte rollover counter
 * @roc, cut to TAG_LEN bytes into @tag: SHA-1 (key XOR opad, SHA-1 (key
 * XOR ipad, message)), each half resumed from its keyed copy. */
static gboolean
compute_tag (EVP_MD_CTX *work, Keys *keys, const guint8 *data, gsize length, const guint8 *roc,
             guint8 *tag)
{
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (EVP_MD_CTX_copy_ex (work, keys->inner) != 1 || EVP_DigestUpdate (work, data, length) != 1
      || (roc != NULL && EVP_DigestUpdate (work, roc, 4) != 1)
      || EVP_DigestFinal_ex (work, digest, &n) != 1 || EVP_MD_CTX_copy_ex (work, keys->outer) != 1
      || EVP_DigestUpdate (work, digest, n) != 1 || EVP_DigestFinal_ex (work, digest, &n) != 1
      || n < TAG_LEN)
    return FALSE;
  memcpy (tag, digest, TAG_LEN);
  return TRUE;
}

/* The length of an RTP header (fixed part, CSRCs, extension), or 0 when
 * @packet is not a whole RTP version 2 header. */
static gsize
rtp_header_length (const guint8 *packet, gsize length)
{
  gsize header;

  if (length < 12 || (packet[0] >> 6) != 2)
    return 0;
  header = 12 + 4 * (gsize) (packet[0] & 0x0f);
  if (packet[0] & 0x10)
    {
      if (length < header + 4)
        return 0;
      header += 4 + 4 * (gsize) ((packet[header + 2] << 8) | packet[header + 3]);
    }
  return header <= length ? header : 0;
}

/* Outbound: the index of sequence number @seq, keeping the rollover counter
 * (a sequence number far behind the highest is a late resend from before
 * the last wrap). */
static guint64
send_index (Stream *stream, guint16 seq)
{
  guint64 roc, index;
  guint16 top_seq;

  if (!stream->rtp_started)
    {
      stream->rtp_started = TRUE;
      stream->rtp_top = seq;
      return seq;
    }
  roc = stream->rtp_top >> 16;
  top_seq = (guint16) stream->rtp_top;
  if (seq < top_seq && top_seq - seq > 32768)
    roc++;
  else if (seq > top_seq && seq - top_seq > 32768 && roc > 0)
    roc--;
  index = (roc << 16) | seq;
  if (index > stream->rtp_top)
    stream->rtp_top = index;
  return index;
}

/* Inbound: the index a packet with @seq most likely has (RFC 3711 §3.3.1). */
static guint64
guess_index (const Stream *stream, guint16 seq)
{
  guint64 roc;
  guint16 top_seq;

  if (stream == NULL || !stream->rtp_started)
    return seq;
  roc = stream->rtp_top >> 16;
  top_seq = (guint16) stream->rtp_top;
  if (top_seq < 32768)
    {
      if (seq > top_seq && seq - top_seq > 32768 && roc > 0)
        roc--;
    }
  else if (seq < top_seq - 32768)
    roc++;
  return (roc << 16) | seq;
}

/* Whether an index is new to a window of REPLAY_WINDOW below @top, and,
 * with @mark, records it. */
static gboolean
window_check (gboolean started, guint64 *top, guint64 *seen, guint64 index, gboolean mark)
{
  guint64 delta;

  if (!started || index > *top)
    {
      if (mark)
        {
          delta = started ? index - *top : REPLAY_WINDOW;
          *seen = delta >= REPLAY_WINDOW ? 0 : *seen << delta;
          *seen |= 1; /* bit 0 is @top itself */
          *top = index;
        }
      return TRUE;
    }
  delta = *top - index;
  if (delta >= REPLAY_WINDOW || (*seen >> delta) & 1)
    return FALSE;
  if (mark)
    *seen |= G_GUINT64_CONSTANT (1) << delta;
  return TRUE;
}

gboolean
rc_srtp_protect (RcSrtp *srtp, guint8 *packet, gsize *length, gsize capacity)
{
  gsize header = rtp_header_length (packet, *length);
  guint32 ssrc;
  Stream *stream;
  guint64 index;
  guint8 roc[4];

  if (srtp->direction != RC_SRTP_OUTBOUND || header == 0 || capacity < *length + TAG_LEN)
    return FALSE;
  ssrc = GST_READ_UINT32_BE (packet + 8);
  stream = find_stream (srtp, ssrc);
  if (stream == NULL)
    stream = add_stream (srtp, ssrc);
  index = send_index (stream, (guint16) (packet[2] << 8 | packet[3]));
  GST_WRITE_UINT32_BE (roc, (guint32) (index >> 16));
  if (!apply_keystream (&srtp->rtp, ssrc, index, packet + header, *length - header)
      || !compute_tag (srtp->work, &srtp->rtp, packet, *length, roc, packet + *length))
    return FALSE;
  *length += TAG_LEN;
  return TRUE;
}

void
rc_srtp_prefetch (const RcSrtp *srtp)
{
  if (srtp == NULL)
    return;
  for (gsize offset = 0; offset < sizeof *srtp; offset += 64)
    __builtin_prefetch ((const guint8 *) srtp + offset);
}

gboolean
rc_srtp_unprotect (RcSrtp *srtp, guint8 *packet, gsize *length)
{
  gsize header, body;
  guint32 ssrc;
  Stream *stream;
  guint64 index;
  guint8 roc[4], tag[TAG_LEN];
  Keys *keys;

  if (srtp->direction != RC_SRTP_INBOUND || *length < 12 + TAG_LEN
      || (keys = keys_for (srtp, FALSE)) == NULL)
    return FALSE;
  body = *length - TAG_LEN;
  header = rtp_header_length (packet, body);
  if (header == 0)
    return FALSE;
  ssrc = GST_READ_UINT32_BE (packet + 8);
  stream = find_stream (srtp, ssrc);
  index = guess_index (stream, (guint16) (packet[2] << 8 | packet[3]));
  if (stream != NULL
      && !window_check (stream->rtp_started, &stream->rtp_top, &stream->rtp_seen, index, FALSE))
    return FALSE;
  GST_WRITE_UINT32_BE (roc, (guint32) (index >> 16));
  if (!compute_tag (srtp->work, keys, packet, body, roc, tag)
      || CRYPTO_memcmp (tag, packet + body, TAG_LEN) != 0)
    return FALSE;
  if (stream == NULL)
    stream = add_stream (srtp, ssrc);
  window_check (stream->rtp_started, &stream->rtp_top, &stream->rtp_seen, index, TRUE);
  stream->rtp_started = TRUE;
  if (!apply_keystream (keys, ssrc, index, packet + header, body - header))
    return FALSE;
  *length = body;
  return TRUE;
}

gboolean
rc_srtp_protect_rtcp (RcSrtp *srtp, guint8 *packet, gsize *length, gsize capacity)
{
  Keys *keys;
  guint32 ssrc, index;
  Stream *stream;

  if (srtp->direction != RC_SRTP_OUTBOUND || *length < 8 || (packet[0] >> 6) != 2
      || capacity < *length + SRTCP_INDEX_LEN + TAG_LEN || (keys = keys_for (srtp, TRUE)) == NULL)
    return FALSE;
  ssrc = GST_READ_UINT32_BE (packet + 4);
  stream = find_stream (srtp, ssrc);
  if (stream == NULL)
    stream = add_stream (srtp, ssrc);
  index = stream->rtcp_next;
  stream->rtcp_next = (stream->rtcp_next + 1) & 0x7fffffff;
  if (!apply_keystream (keys, ssrc, index, packet + 8, *length - 8))
    return FALSE;
  GST_WRITE_UINT32_BE (packet + *length, 0x80000000u | index); /* E: encrypted */
  *length += SRTCP_INDEX_LEN;
  if (!compute_tag (srtp->work, keys, packet, *length, NULL, packet + *length))
    return FALSE;
  *length += TAG_LEN;
  return TRUE;
}

gboolean
rc_srtp_unprotect_rtcp (RcSrtp *srtp, guint8 *packet, gsize *length)
{
  Keys *keys;
  gsize body;
  guint32 ssrc, word, index;
  Stream *stream;
  guint8 tag[TAG_LEN];

  if (srtp->direction != RC_SRTP_INBOUND || *length < 8 + SRTCP_INDEX_LEN + TAG_LEN
      || (packet[0] >> 6) != 2 || (keys = keys_for (srtp, TRUE)) == NULL)
    return FALSE;
  body = *length - TAG_LEN;
  if (!compute_tag (srtp->work, keys, packet, body, NULL, tag)
      || CRYPTO_memcmp (tag, packet + body, TAG_LEN) != 0)
    return FALSE;
  word = GST_READ_UINT32_BE (packet + body - SRTCP_INDEX_LEN);
  index = word & 0x7fffffff;
  ssrc = GST_READ_UINT32_BE (packet + 4);
  stream = find_stream (srtp, ssrc);
  if (stream != NULL
      && !window_check (stream->rtcp_started, &stream->rtcp_top, &stream->rtcp_seen, index, FALSE))
    return FALSE;
  if (stream == NULL)
    stream = add_stream (srtp, ssrc);
  window_check (stream->rtcp_started, &stream->rtcp_top, &stream->rtcp_seen, index, TRUE);
  stream->rtcp_started = TRUE;
  body -= SRTCP_INDEX_LEN;
  if ((word & 0x80000000u) && !apply_keystream (keys, ssrc, index, packet + 8, body - 8))
    return FALSE;
  *length = body;
  return TRUE;
}

/* SPDX-License-Identifier: MIT */
/*
 * bench-latency: how long a host's sound and a listener's command take to
 * be heard, read from what a guest rendered.
 *
 *   bench-latency [--bursts 40] [--transport whip|srt|all] [--skips 10] ...
 *
 * It starts a real roomcast on 127.0.0.1 (free ports, a temporary music
 * folder with two tones it writes) and, for each measurement, a room and a
 * native guest (roomcast-guest --record) that renders at C + D and records
 * what it rendered, placed by render time on the server clock. On one
 * machine the server clock is the monotonic clock every process here reads
 * (server/rc_clock.h), so times taken in this process, in the server and in
 * the guest compare directly.
 *
 * - Host → guest over WHIP: an OBS-shaped WHIP host (tools/whip-host/)
 *   on the system clock sends tone bursts (RcBursts: 1 kHz, 30-60 ms,
 *   one every 500 ms), burst k starting at the host pipeline's base time +
 *   k × period. Each burst's onset in the recording, placed in server time,
 *   minus its emission is one glass-to-glass latency (no capture or output
 *   device: the source and the guest's appsink stand for them). A burst's
 *   length (30, 40, 50 or 60 ms) says which of four it is, so a late burst
 *   is never taken for the next one.
 * - Host → guest over SRT: the same bursts from an in-process GStreamer
 *   sender (avenc_aac ! aacparse ! mpegtsmux ! srtsink, what OBS sends) on
 *   the system clock, to a server started with --srt-port; skipped, saying
 *   so, when the server has no such option.
 * - Command → heard: a room looping a queue of two tones (440 and 660 Hz)
 *   is skipped over the WebSocket; the first moment the new tone fills half
 *   of a 10 ms window of the recording (Goertzel at its pitch), minus the
 *   moment the skip was sent, is one latency.
 *
 * Each figure is printed beside D, the room's playout delay (the guest's
 * own record of it when the sound was rendered), because every target is
 * "D + something". The room's /stats (D, and the host's delayMs: the time
 * the host's audio waits at the server before the mix) are sampled too.
 *
 * Bounded and clean: every child gets PR_SET_PDEATHSIG, every wait has a
 * timeout, an alarm ends the run --max-seconds + 30 s in, SIGINT/SIGTERM
 * end it early, and the temporary folder goes unless --keep. Only
 * 127.0.0.1 is used.
 */
#include "rc_bench_proc.h"
#include "rc_bench_server.h"
#include "tools/support/rc_roomcast_process.h"
#include "tools/native-guest/rc_recording.h"
#include "pipelines/rc_stats.h"
#include "tools/whip-host/rc_whip_host.h"
#include "tools/support/rc_tree.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RATE 48000
#define BURST_HZ 1000.0
#define BURST_AMPLITUDE 0.5
#define LOW_HZ 440.0
#define HIGH_HZ 660.0
#define TONE_AMPLITUDE 0.4
#define TONE_SECONDS 30
/* The latency targets (docs/benchmarks.md), over D. */
#define HOST_TARGET_MS 60.0
#define COMMAND_TARGET_MS 50.0

typedef struct
{
  guint bursts;
  double period_ms;
  double burst_ms;
  char *transport;
  guint skips;
  double skip_gap_ms;
  double settle_ms;
  double wait_quiet;
  int srt_latency;
  int whip_latency;
  guint max_seconds;
  gboolean no_realtime;
  gboolean keep;
  char *roomcast;
  char *guest;
  char *output;
} Options;

typedef struct
{
  Options *o;
  gint64 started_us;
  char *dir;
  RcBenchServer *server;
  gboolean srt_available;
  guint srt_port;
  char *low_id, *high_id;
  GString *out;
} Bench;

/* One room of a measurement, with its recording guest. */
typedef struct
{
  char *id;
  char *owner_token;
  char *key;
  char *wav;
  RcBenchNative *guest;
  GArray *delays;      /* /stats playoutDelay samples, ms */
  GArray *host_delays; /* /stats broadcast.delayMs samples while live, ms */
  gboolean on_air;
} Room;

static void
say (Bench *b, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* A line of the result (stdout, and --output). */
static void
say (Bench *b, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_string_append_vprintf (b->out, format, args);
  va_end (args);
  g_string_append_c (b->out, '\n');
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static double
elapsed_s (Bench *b)
{
  return (g_get_monotonic_time () - b->started_us) / 1e6;
}

/* ---- figures ---- */

typedef struct
{
  guint n;
  double p50, p95, min, max;
} Figures;

static void
figures_of (GArray *values, Figures *f)
{
  g_autoptr (GArray) v = g_array_copy (values);

  memset (f, 0, sizeof *f);
  f->n = v->len;
  if (v->len == 0)
    return;
  f->p50 = rc_percentile (v, 0.50);
  f->p95 = rc_percentile (v, 0.95);
  f->min = rc_percentile (v, 0.0);
  f->max = rc_percentile (v, 1.0);
}

/* "150 ms", or "150-170 ms" when it moved. */
static char *
range_text (GArray *values)
{
  Figures f;

  figures_of (values, &f);
  if (f.n == 0)
    return g_strdup ("?");
  if (f.max - f.min < 0.5)
    return g_strdup_printf ("%.0f ms", f.p50);
  return g_strdup_printf ("%.0f-%.0f ms", f.min, f.max);
}

/* "target ≤ D + 60 = 210 ms: met" (the sum only when D held still). */
static char *
target_text (GArray *d_seen, double target, double over_p95)
{
  Figures d;

  figures_of (d_seen, &d);
  if (d.n > 0 && d.max - d.min < 0.5)
    return g_strdup_printf ("target ≤ D + %.0f = %.0f ms: %s", target, d.p50 + target,
                            over_p95 <= target ? "met" : "missed");
  return g_strdup_printf ("target ≤ D + %.0f ms: %s", target, over_p95 <= target ? "met" : "missed");
}

/* ---- the tones of the command measurement ---- */

/* A WAV (S16LE 48 kHz stereo) of a sine of @freq from phase 0. */
static gboolean
write_tone (const char *path, double freq, guint seconds, GError **error)
{
  gsize frames = (gsize) seconds * RATE;
  g_autofree gint16 *pcm = g_new0 (gint16, frames * 2 + RC_WAV_HEADER_SAMPLES);
  gint16 *x = pcm + RC_WAV_HEADER_SAMPLES;

  for (gsize i = 0; i < frames; i++)
    x[2 * i] = x[2 * i + 1] =
      GINT16_TO_LE ((gint16) lrint (TONE_AMPLITUDE * 32767 * sin (2 * G_PI * freq * i / RATE)));
  return rc_wav_write_stereo (path, pcm, frames, RATE, error);
}

/* ---- recordings ---- */

/* D (ms) in force at server time @t by the guest's own record, or -1. */
static double
delay_at (RcRecording *rec, double t)
{
  GArray *pairs = rc_recording_get_delays (rec);
  double d = -1;

  for (guint i = 0; i + 1 < pairs->len; i += 2)
    {
      if (g_array_index (pairs, double, i) > t && d >= 0)
        break;
      d = g_array_index (pairs, double, i + 1);
    }
  return d;
}

/* The guest's own figures from its sidecar: render error p50 and underruns. */
static void
sidecar_figures (const char *wav, double *error_p50, gint64 *underruns)
{
  g_autofree char *path = g_strconcat (wav, ".json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  *error_p50 = -1;
  *underruns = -1;
  if (!json_parser_load_from_file (parser, path, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  o = json_node_get_object (json_parser_get_root (parser));
  *underruns = json_object_get_int_member_with_default (o, "underruns", -1);
  if (json_object_has_member (o, "render"))
    *error_p50 = json_object_get_double_member_with_default (
      json_object_get_object_member (o, "render"), "errorP50", -1);
}

/* Amplitude of @freq in x[start, start + n) (Goertzel, 2|X|/n). */
static double
tone_amplitude (const float *x, gsize start, gsize n, double freq)
{
  double coeff = 2 * cos (2 * G_PI * freq / RATE);
  double s1 = 0, s2 = 0, power;

  for (gsize i = 0; i < n; i++)
    {
      double s0 = x[start + i] + coeff * s1 - s2;

      s2 = s1;
      s1 = s0;
    }
  power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 2 * sqrt (MAX (power, 0)) / (double) n;
}

/* ---- rooms ---- */

static void
room_free (Room *r)
{
  if (r == NULL)
    return;
  rc_bench_native_free (r->guest);
  g_free (r->id);
  g_free (r->owner_token);
  g_free (r->key);
  g_free (r->wav);
  g_array_unref (r->delays);
  g_array_unref (r->host_delays);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Room, room_free)

static gboolean
guest_ready (gpointer data)
{
  Room *r = data;

  return rc_bench_native_is_listening (r->guest) || rc_bench_native_get_failure (r->guest) != NULL;
}

static Room *
room_new (Bench *b, const char *name, gboolean with_key, GError **error)
{
  g_autoptr (Room) r = g_new0 (Room, 1);

  r->delays = g_array_new (FALSE, FALSE, sizeof (double));
  r->host_delays = g_array_new (FALSE, FALSE, sizeof (double));
  if (!rc_bench_server_create_room (b->server, name, &r->id, &r->owner_token, error))
    return NULL;
  if (with_key
      && (r->key = rc_bench_server_create_key (b->server, r->id, r->owner_token, error)) == NULL)
    return NULL;
  return g_steal_pointer (&r);
}

/* The room's recording guest joins; waits until it renders. */
static gboolean
room_listen (Bench *b, Room *r, const char *name, GError **error)
{
  g_autofree char *wav_name = g_strdup_printf ("%s.wav", name);
  RcBenchNativeOptions options = {
    .guest = b->o->guest,
    .server_url = rc_bench_server_get_url (b->server),
    .room_id = r->id,
    .name = name,
    .no_realtime = b->o->no_realtime,
  };

  r->wav = g_build_filename (b->dir, wav_name, NULL);
  options.record_path = r->wav;
  r->guest = rc_bench_native_spawn (&options, error);
  if (r->guest == NULL)
    return FALSE;
  if (!rc_bench_wait (guest_ready, r, 20000) || rc_bench_native_get_failure (r->guest) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the guest did not render: %s",
                   rc_bench_native_get_failure (r->guest) != NULL
                     ? rc_bench_native_get_failure (r->guest)
                     : "no audio out within 20 s");
      return FALSE;
    }
  return TRUE;
}

/* One /stats reading: D, and whether a host is on air and its delayMs. */
static void
room_sample (Bench *b, Room *r)
{
  g_autoptr (JsonObject) stats = rc_bench_server_room_stats (b->server, r->id);
  JsonObject *broadcast;
  double d;

  if (stats == NULL)
    return;
  d = json_object_get_double_member_with_default (stats, "playoutDelay", -1);
  if (d > 0)
    g_array_append_val (r->delays, d);
  broadcast = json_object_has_member (stats, "broadcast")
                  && JSON_NODE_HOLDS_OBJECT (json_object_get_member (stats, "broadcast"))
                ? json_object_get_object_member (stats, "broadcast")
                : NULL;
  r->on_air = broadcast != NULL && json_object_get_boolean_member_with_default (broadcast, "live",
                                                                               FALSE);
  if (r->on_air && json_object_has_member (broadcast, "delayMs"))
    {
      double host = json_object_get_double_member (broadcast, "delayMs");

      g_array_append_val (r->host_delays, host);
    }
}

/* The last D /stats said, or 150 ms before any reading. */
static double
room_last_delay (Room *r)
{
  return r->delays->len > 0 ? g_array_index (r->delays, double, r->delays->len - 1) : 150;
}

/* Runs for @ms, reading the room's /stats about once a second. */
static void
room_run_for (Bench *b, Room *r, double ms)
{
  double end = now_ms () + ms;

  while (!rc_bench_interrupted () && now_ms () < end)
    {
      room_sample (b, r);
      rc_bench_wait (NULL, NULL, MIN (1000, end - now_ms ()));
    }
}

/* Stops the guest (it finishes its recording) and loads what it rendered. */
static RcRecording *
room_recording (Room *r, float **x, gsize *n, GError **error)
{
  RcRecording *rec;
  guint rate = 0;

  *x = NULL;
  rc_bench_native_stop (r->guest, 10);
  rec = rc_recording_load (r->wav, error);
  if (rec == NULL)
    return NULL;
  if (!rc_wav_read (r->wav, x, n, &rate, error))
    {
      rc_recording_free (rec);
      return NULL;
    }
  return rec;
}

/* With --keep: one row per event measured, beside the recordings. */
static void
write_csv (Bench *b, const char *label, GString *csv)
{
  g_autofree char *name = g_strdup_printf ("%s.csv", label);
  g_autofree char *path = g_build_filename (b->dir, name, NULL);

  if (b->o->keep)
    g_file_set_contents (path, csv->str, (gssize) csv->len, NULL);
}

/* ---- host → guest ---- */

typedef struct
{
  const char *label;       /* "whip", "srt" */
  RcBursts bursts;
  double base_ms;          /* the sender's base time on the monotonic clock */
  double on_air_ms;        /* when /stats first said the host is live */
  double from_ms, to_ms;   /* bursts emitted in this window are the figures */
} BurstRun;

static void
bursts_window (Bench *b, Room *r, BurstRun *run)
{
  /* The host's first seconds on air are counted apart (its audio may
   * still move on the room's timeline; see docs/benchmarks.md). */
  run->on_air_ms = now_ms ();
  room_run_for (b, r, b->o->settle_ms);
  run->from_ms = now_ms ();
  room_run_for (b, r, b->o->bursts * b->o->period_ms);
  run->to_ms = now_ms ();
  /* The last bursts are rendered D (and the path) later. */
  room_run_for (b, r, room_last_delay (r) + 800);
}

/*
 * The bursts in @x, as pairs of doubles (first sample, end) in samples:
 * where the mean square over a 2 ms window rises through half a burst's
 * (A²/2) and falls back. At either crossing half the window is tone, so
 * the window's middle is the burst's edge. Not a level on single samples:
 * AAC spreads a sharp onset as noise up to a frame (21 ms) before it, loud
 * enough to be taken for the onset; and not a pitch: where the guest
 * rendered a buffer off its place the recording jumps in phase, which a
 * narrow-band measure reads as a hole. Edges less than 5 ms apart are one
 * burst (a late buffer's gap), and anything shorter than 5 ms is left out.
 * Longer gaps split a burst in pieces: report_bursts names none of them.
 */
static GArray *
find_bursts (const float *x, gsize n)
{
  const gsize window = RATE / 500, near = RATE / 200;
  const double threshold = 0.5 * BURST_AMPLITUDE * BURST_AMPLITUDE / 2;
  g_autofree double *sum = g_new (double, n + 1);
  g_autoptr (GArray) edges = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *found = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean in = FALSE;

  sum[0] = 0;
  for (gsize i = 0; i < n; i++)
    sum[i + 1] = sum[i] + (double) x[i] * x[i];
  for (gsize at = 0; at + window <= n; at++)
    {
      gboolean loud = (sum[at + window] - sum[at]) / window >= threshold;
      double mid = (double) at + window / 2.0;

      if (loud != in)
        g_array_append_val (edges, mid);
      in = loud;
    }
  for (guint i = 0; i + 1 < edges->len; i += 2)
    {
      double on = g_array_index (edges, double, i), off = g_array_index (edges, double, i + 1);

      while (i + 3 < edges->len && g_array_index (edges, double, i + 2) - off < near)
        {
          off = g_array_index (edges, double, i + 3);
          i += 2;
        }
      if (off - on < near)
        continue;
      g_array_append_val (found, on);
      g_array_append_val (found, off);
    }
  return found;
}

/* Detects the bursts in @r's recording and prints the line of @run. */
static void
report_bursts (Bench *b, Room *r, BurstRun *run)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *x = NULL;
  gsize n = 0;
  g_autoptr (RcRecording) rec = room_recording (r, &x, &n, &error);
  g_autoptr (GArray) found = NULL;
  g_autoptr (GArray) latency = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) over = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) d_seen = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) early = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  gint64 k_air = (gint64) ceil ((run->on_air_ms - run->base_ms) / run->bursts.period_ms);
  gint64 k_first = (gint64) ceil ((run->from_ms - run->base_ms) / run->bursts.period_ms);
  gint64 k_last = (gint64) floor ((run->to_ms - run->base_ms) / run->bursts.period_ms);
  guint sent = (guint) MAX (k_last - k_first + 1, 0), unnamed = 0, unnamed_early = 0;
  Figures ef;
  double err_p50;
  gint64 underruns;
  Figures lat, ov;
  g_autofree char *d_text = NULL;
  g_autofree char *host_text = NULL;
  g_autofree char *target = NULL;
  g_autoptr (GString) csv = g_string_new ("onset_ms,length_ms,burst,emitted_ms,latency_ms,d_ms\n");

  if (rec == NULL)
    {
      say (b, "%s host→guest: no recording (%s)", run->label, error->message);
      return;
    }
  found = find_bursts (x, n);
  for (guint i = 0; i + 1 < found->len; i += 2)
    {
      double at = g_array_index (found, double, i);
      double length = (g_array_index (found, double, i + 1) - at) * 1000.0 / RATE;
      double rendered, emitted, d;
      gint64 m, k;
      /* Clean bursts are hundreds of ms apart; two sounds closer than a
       * quarter period are pieces of one damaged burst, and a piece must
       * not be named as an earlier burst that was not heard. */
      const double apart = run->bursts.period_ms / 4 * RATE / 1000.0;
      gboolean piece = (i >= 2 && at - g_array_index (found, double, i - 1) < apart)
                       || (i + 2 < found->len
                           && g_array_index (found, double, i + 2)
                                - g_array_index (found, double, i + 1)
                              < apart);

      m = lround ((length - run->bursts.burst_ms) / 10);
      rendered = rc_recording_time_of (rec, at, RC_RECORDING_HOST);
      if (piece || m < 0 || m > 3
          || fabs (length - rc_bursts_length_ms (&run->bursts, (guint64) m)) > 4)
        {
          g_string_append_printf (csv, "%.3f,%.1f,,,,\n", rendered, length);
          /* Mixed at about rendered − D, sent some 100 ms before. */
          if (rendered - delay_at (rec, rendered) - 100 < run->from_ms)
            unnamed_early++;
          else
            unnamed++;
          continue;
        }
      /* The latest burst k ≡ m (mod 4) emitted before it was rendered. */
      k = (gint64) floor ((rendered - run->base_ms) / run->bursts.period_ms);
      k -= ((k - m) % 4 + 4) % 4;
      if (k < k_air || k > k_last || g_hash_table_contains (seen, GINT_TO_POINTER ((int) k)))
        continue;
      g_hash_table_add (seen, GINT_TO_POINTER ((int) k));
      emitted = run->base_ms + (double) k * run->bursts.period_ms;
      {
        double l = rendered - emitted;

        d = delay_at (rec, rendered);
        g_string_append_printf (csv, "%.3f,%.1f,%" G_GINT64_FORMAT ",%.3f,%.3f,%.1f\n", rendered,
                                length, k, emitted, l, d);
        if (k < k_first)
          {
            g_array_append_val (early, l);
            continue;
          }
        g_array_append_val (latency, l);
        g_array_append_val (d_seen, d);
        l -= d;
        g_array_append_val (over, l);
      }
    }
  write_csv (b, run->label, csv);
  figures_of (latency, &lat);
  figures_of (over, &ov);
  sidecar_figures (r->wav, &err_p50, &underruns);
  d_text = range_text (d_seen->len > 0 ? d_seen : r->delays);
  host_text = range_text (r->host_delays);
  if (lat.n == 0)
    {
      say (b, "%s host→guest: no burst heard of %u sent (%u sounds not recognised as a burst)",
           run->label, sent, unnamed);
      return;
    }
  target = target_text (d_seen, HOST_TARGET_MS, ov.p95);
  say (b, "%s host→guest: n=%u/%u p50=%.1f ms p95=%.1f ms max=%.1f ms (D=%s, %s)", run->label,
       lat.n, sent, lat.p50, lat.p95, lat.max, d_text, target);
  say (b, "  over D: p50=%.1f p95=%.1f max=%.1f ms; server's host delayMs %s; "
          "guest render error p50 %.3f ms, underruns %" G_GINT64_FORMAT,
       ov.p50, ov.p95, ov.max, host_text, err_p50, underruns);
  if (unnamed > 0)
    say (b, "  %u sounds not recognised as a burst (a burst's length names it)", unnamed);
  figures_of (early, &ef);
  if (k_first > k_air && ef.n > 0)
    say (b, "  first %.1f s on air (not in the figures): n=%u/%u, latency %.1f-%.1f ms%s",
         b->o->settle_ms / 1000, ef.n, (guint) (k_first - k_air), ef.min, ef.max,
         unnamed_early > 0 ? ", and sounds that were no clean burst" : "");
  else if (k_first > k_air)
    say (b, "  first %.1f s on air (not in the figures): none of %u bursts heard",
         b->o->settle_ms / 1000, (guint) (k_first - k_air));
}

static gboolean
room_on_air (gpointer data)
{
  Room *r = data;

  return r->on_air;
}

/* Waits up to @timeout_ms for /stats to say a host is live. */
static gboolean
wait_on_air (Bench *b, Room *r, double timeout_ms)
{
  double end = now_ms () + timeout_ms;

  while (!rc_bench_interrupted () && now_ms () < end)
    {
      room_sample (b, r);
      if (rc_bench_wait (room_on_air, r, 200))
        return TRUE;
    }
  return r->on_air;
}

static void
run_whip (Bench *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (Room) r = room_new (b, "latency-whip", TRUE, &error);
  g_autoptr (RcWhipHost) whip = NULL;
  BurstRun run = { .label = "whip" };
  RcWhipHostOptions options = { 0 };
  guint status;

  run.bursts = (RcBursts) { BURST_HZ, BURST_AMPLITUDE, b->o->burst_ms, b->o->period_ms };
  if (r == NULL || !room_listen (b, r, "guest-whip", &error))
    {
      say (b, "whip host→guest: not measured (%s)", error->message);
      return;
    }
  rc_bench_progress ("whip: room %s, the guest renders; the host goes live", r->id);
  options.base_url = rc_bench_server_get_url (b->server);
  options.room_id = r->id;
  options.key = r->key;
  options.freq = BURST_HZ;
  options.strip_candidates = TRUE; /* as OBS 30.2 and later */
  options.bursts = &run.bursts;
  whip = rc_whip_host_new (&options);
  status = rc_whip_host_wait_answer (whip, 15000);
  if (status != 201 || !wait_on_air (b, r, 15000)
      || !GST_CLOCK_TIME_IS_VALID (rc_whip_host_get_base_time (whip)))
    {
      say (b, "whip host→guest: not measured (WHIP answered %u, %s)", status,
           rc_whip_host_get_failure (whip) != NULL ? rc_whip_host_get_failure (whip)
                                                   : r->on_air ? "on air" : "never on air");
      return;
    }
  run.base_ms = rc_whip_host_get_base_time (whip) / 1e6;
  rc_bench_progress ("whip: on air; %u bursts", b->o->bursts);
  bursts_window (b, r, &run);
  if (rc_whip_host_get_failure (whip) != NULL)
    rc_bench_progress ("whip: the host failed: %s", rc_whip_host_get_failure (whip));
  /* (The tests' request helper asserts that the server answers.) */
  if (rc_whip_host_get_location (whip) != NULL && !rc_bench_server_has_exited (b->server))
    rc_whip_host_delete (whip, NULL);
  g_clear_pointer (&whip, rc_whip_host_free);
  report_bursts (b, r, &run);
}

/* ---- SRT ---- */

/* The --help of @roomcast names --srt-port. */
static gboolean
server_has_srt (const char *roomcast)
{
  const char *argv[] = { roomcast, "--help", NULL };
  g_autofree char *out = NULL;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                     NULL, NULL, NULL))
    return FALSE;
  return out != NULL && strstr (out, "--srt-port") != NULL;
}

/* An SRT caller sending the bursts as AAC in MPEG-TS, what OBS sends. */
static GstElement *
srt_sender_new (Bench *b, Room *r, const RcBursts *bursts, GError **error)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (
    "audiotestsrc name=tone is-live=true wave=silence samplesperbuffer=480 "
    "! audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2 "
    "! audioconvert ! avenc_aac bitrate=128000 ! aacparse ! mpegtsmux ! srtsink name=sink",
    error);
  g_autoptr (GstElement) tone = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstPad) tone_src = NULL;
  g_autoptr (GstClock) clock = gst_system_clock_obtain ();
  g_autofree char *uri = g_strdup_printf ("srt://127.0.0.1:%u", b->srt_port);
  g_autofree char *stream_id = g_strdup_printf ("%s/%s", r->id, r->key);

  if (pipeline == NULL)
    return NULL;
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), clock);
  tone = gst_bin_get_by_name (GST_BIN (pipeline), "tone");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  tone_src = gst_element_get_static_pad (tone, "src");
  rc_bursts_attach (tone_src, bursts);
  g_object_set (sink, "uri", uri, "streamid", stream_id, "latency", b->o->srt_latency, NULL);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                           "the SRT sender would not start");
      gst_element_set_state (pipeline, GST_STATE_NULL);
      return NULL;
    }
  return g_steal_pointer (&pipeline);
}

/* The sender's first error, if any. */
static char *
sender_error (GstElement *pipeline)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;

  if (msg == NULL)
    return NULL;
  gst_message_parse_error (msg, &error, NULL);
  return g_strdup (error->message);
}

static void
run_srt (Bench *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (Room) r = NULL;
  g_autoptr (GstElement) sender = NULL;
  g_autofree char *failure = NULL;
  BurstRun run = { .label = "srt" };

  if (!b->srt_available)
    {
      say (b, "srt host→guest: SRT: not available (server has no --srt-port)");
      return;
    }
  run.bursts = (RcBursts) { BURST_HZ, BURST_AMPLITUDE, b->o->burst_ms, b->o->period_ms };
  r = room_new (b, "latency-srt", TRUE, &error);
  if (r == NULL || !room_listen (b, r, "guest-srt", &error))
    {
      say (b, "srt host→guest: not measured (%s)", error->message);
      return;
    }
  rc_bench_progress ("srt: room %s, the guest renders; the sender calls port %u", r->id,
                     b->srt_port);
  sender = srt_sender_new (b, r, &run.bursts, &error);
  if (sender == NULL)
    {
      say (b, "srt host→guest: not measured (%s)", error->message);
      return;
    }
  if (!wait_on_air (b, r, 15000))
    {
      failure = sender_error (sender);
      say (b, "srt host→guest: not measured (never on air%s%s)", failure != NULL ? ": " : "",
           failure != NULL ? failure : "");
      gst_element_set_state (sender, GST_STATE_NULL);
      return;
    }
  run.base_ms = gst_element_get_base_time (sender) / 1e6;
  rc_bench_progress ("srt: on air; %u bursts", b->o->bursts);
  bursts_window (b, r, &run);
  failure = sender_error (sender);
  if (failure != NULL)
    rc_bench_progress ("srt: the sender failed: %s", failure);
  gst_element_set_state (sender, GST_STATE_NULL);
  report_bursts (b, r, &run);
}

/* ---- command → heard ---- */

typedef struct
{
  Bench *b;
  gboolean playing;
  guint replies;
  GArray *sent;    /* double ms: when each skip was sent */
  GArray *replied; /* double ms: when its reply came, or 0 */
} SkipRun;

static void
on_skip_message (JsonObject *o, gpointer data)
{
  SkipRun *s = data;
  const char *type = json_object_get_string_member_with_default (o, "type", "");
  JsonNode *id_node = json_object_get_member (o, "id");
  const char *id = id_node != NULL && JSON_NODE_HOLDS_VALUE (id_node)
                       && json_node_get_value_type (id_node) == G_TYPE_STRING
                     ? json_node_get_string (id_node)
                     : "";

  if (g_str_equal (type, "stateUpdate"))
    s->playing = json_object_get_boolean_member_with_default (o, "playing", s->playing);
  if (g_str_has_prefix (id, "skip-"))
    {
      guint i = (guint) g_ascii_strtoull (id + 5, NULL, 10);

      if (i < s->replied->len && g_array_index (s->replied, double, i) == 0)
        {
          g_array_index (s->replied, double, i) = now_ms ();
          s->replies++;
        }
    }
}

static gboolean
skip_playing (gpointer data)
{
  return ((SkipRun *) data)->playing;
}

/* The server time the new tone first fills half of a 10 ms window, in
 * [@from, @to) server ms, or NAN. */
static double
find_tone (RcRecording *rec, const float *x, gsize n, double from, double to, double freq)
{
  const gsize window = RATE / 100, hop = RATE / 2000;
  double i0 = rc_recording_index_of (rec, from, RC_RECORDING_HOST);
  double i1 = rc_recording_index_of (rec, to, RC_RECORDING_HOST);
  gsize start = (gsize) MAX (i0, 0), stop = (gsize) MIN (MAX (i1, 0), (double) n);

  for (gsize at = start; at + window <= stop && at + window <= n; at += hop)
    {
      double steady;
      gsize later = at + RATE / 20; /* 50 ms on: the tone alone */

      if (tone_amplitude (x, at, window, freq) < 0.5 * 0.5 * TONE_AMPLITUDE)
        continue;
      steady = later + window <= n ? tone_amplitude (x, later, window, freq) : TONE_AMPLITUDE;
      if (steady < 0.5 * TONE_AMPLITUDE)
        continue; /* a passing leak, not the new song */
      /* Back to where it first filled half a window of its steady level. */
      while (at >= hop && at - hop >= start
             && tone_amplitude (x, at - hop, window, freq) >= 0.5 * steady)
        at -= hop;
      for (gsize fine = at > hop ? at - hop : 0; fine <= at; fine += 24)
        if (tone_amplitude (x, fine, window, freq) >= 0.5 * steady)
          return rc_recording_time_of (rec, (double) (fine + window / 2), RC_RECORDING_HOST);
      return rc_recording_time_of (rec, (double) (at + window / 2), RC_RECORDING_HOST);
    }
  return NAN;
}

static void
report_skips (Bench *b, Room *r, SkipRun *s)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *x = NULL;
  gsize n = 0;
  g_autoptr (RcRecording) rec = room_recording (r, &x, &n, &error);
  g_autoptr (GArray) latency = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) over = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) d_seen = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) answer = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *d_text = NULL;
  g_autofree char *target = NULL;
  g_autoptr (GString) csv = g_string_new ("sent_ms,replied_ms,heard_ms,latency_ms,d_ms\n");
  Figures lat, ov, ans;
  double err_p50;
  gint64 underruns;

  if (rec == NULL)
    {
      say (b, "skip command→heard: no recording (%s)", error->message);
      return;
    }
  for (guint i = 0; i < s->sent->len; i++)
    {
      double sent = g_array_index (s->sent, double, i);
      double next = i + 1 < s->sent->len ? g_array_index (s->sent, double, i + 1) : sent + 3000;
      double heard = find_tone (rec, x, n, sent, next, i % 2 == 0 ? HIGH_HZ : LOW_HZ);
      double replied = g_array_index (s->replied, double, i);

      if (replied > 0)
        {
          double a = replied - sent;

          g_array_append_val (answer, a);
        }
      g_string_append_printf (csv, "%.3f,%.3f,%.3f,%.3f,%.1f\n", sent, replied, heard,
                              heard - sent, isnan (heard) ? NAN : delay_at (rec, heard));
      if (!isnan (heard))
        {
          double l = heard - sent, d = delay_at (rec, heard);

          g_array_append_val (latency, l);
          g_array_append_val (d_seen, d);
          l -= d;
          g_array_append_val (over, l);
        }
    }
  write_csv (b, "skip", csv);
  figures_of (latency, &lat);
  figures_of (over, &ov);
  figures_of (answer, &ans);
  sidecar_figures (r->wav, &err_p50, &underruns);
  d_text = range_text (d_seen->len > 0 ? d_seen : r->delays);
  if (lat.n == 0)
    {
      say (b, "skip command→heard: the new song was never heard (%u skips)", s->sent->len);
      return;
    }
  target = target_text (d_seen, COMMAND_TARGET_MS, ov.p95);
  say (b, "skip command→heard: n=%u/%u p50=%.1f ms p95=%.1f ms max=%.1f ms (D=%s, %s)", lat.n,
       s->sent->len, lat.p50, lat.p95, lat.max, d_text, target);
  say (b, "  over D: p50=%.1f p95=%.1f max=%.1f ms; the server's reply came after p50 %.1f ms "
          "(max %.1f); guest render error p50 %.3f ms, underruns %" G_GINT64_FORMAT,
       ov.p50, ov.p95, ov.max, ans.p50, ans.max, err_p50, underruns);
}

static void
run_skips (Bench *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (Room) r = room_new (b, "latency-skip", FALSE, &error);
  g_autoptr (RcBenchControl) control = NULL;
  SkipRun s = { .b = b };

  s.sent = g_array_new (FALSE, FALSE, sizeof (double));
  s.replied = g_array_new (FALSE, FALSE, sizeof (double));
  if (r == NULL)
    goto failed;
  control = rc_bench_control_new (b->server, r->id, r->owner_token, on_skip_message, &s);
  if (!rc_bench_control_wait_joined (control, 10000, &error))
    goto failed;
  rc_bench_control_send (control, "{\"type\":\"setLoop\",\"id\":\"loop\",\"mode\":\"queue\"}");
  rc_bench_control_send (control, "{\"type\":\"addSong\",\"id\":\"a\",\"songId\":\"%s\"}", b->low_id);
  rc_bench_control_send (control, "{\"type\":\"addSong\",\"id\":\"b\",\"songId\":\"%s\"}", b->high_id);
  if (!rc_bench_wait (skip_playing, &s, 10000))
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "the room did not start playing (%s)",
                   rc_bench_control_get_failure (control) != NULL
                     ? rc_bench_control_get_failure (control)
                     : "no stateUpdate");
      goto failed;
    }
  if (!room_listen (b, r, "guest-skip", &error))
    goto failed;
  rc_bench_progress ("skip: room %s plays %.0f Hz then %.0f Hz; %u skips", r->id, LOW_HZ, HIGH_HZ,
                     b->o->skips);
  room_run_for (b, r, 1500);
  for (guint i = 0; i < b->o->skips && !rc_bench_interrupted (); i++)
    {
      double t = now_ms (), zero = 0;

      g_array_append_val (s.sent, t);
      g_array_append_val (s.replied, zero);
      rc_bench_control_send (control, "{\"type\":\"skip\",\"id\":\"skip-%u\"}", i);
      room_run_for (b, r, MAX (b->o->skip_gap_ms, room_last_delay (r) + 700));
    }
  room_run_for (b, r, 500);
  if (rc_bench_control_get_failure (control) != NULL)
    rc_bench_progress ("skip: control: %s", rc_bench_control_get_failure (control));
  report_skips (b, r, &s);
  g_array_unref (s.sent);
  g_array_unref (s.replied);
  return;

failed:
  say (b, "skip command→heard: not measured (%s)", error != NULL ? error->message : "?");
  g_array_unref (s.sent);
  g_array_unref (s.replied);
}

/* ---- the run ---- */

static gboolean
wants (Bench *b, const char *transport)
{
  return g_str_equal (b->o->transport, "all") || g_str_equal (b->o->transport, transport);
}

static gboolean
prepare (Bench *b, GError **error)
{
  g_autofree char *music = g_build_filename (b->dir, "music", NULL);
  g_autofree char *low = g_build_filename (music, "low-440.wav", NULL);
  g_autofree char *high = g_build_filename (music, "high-660.wav", NULL);
  g_autofree char *log = g_build_filename (b->dir, "server.log", NULL);
  g_autofree char *srt_port = NULL;
  g_autofree char *whip_latency = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (JsonArray) songs = NULL;

  if (g_mkdir (music, 0700) != 0 || !write_tone (low, LOW_HZ, TONE_SECONDS, error)
      || !write_tone (high, HIGH_HZ, TONE_SECONDS, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s", music);
      return FALSE;
    }
  g_ptr_array_add (args, "--music-dir");
  g_ptr_array_add (args, music);
  g_ptr_array_add (args, "--max-publishers");
  g_ptr_array_add (args, "4");
  if (b->o->whip_latency > 0)
    {
      whip_latency = g_strdup_printf ("%d", b->o->whip_latency);
      g_ptr_array_add (args, "--whip-latency");
      g_ptr_array_add (args, whip_latency);
    }
  b->srt_available = server_has_srt (b->o->roomcast);
  if (b->srt_available && wants (b, "srt"))
    {
      b->srt_port = rc_roomcast_free_port (G_SOCKET_TYPE_DATAGRAM);
      srt_port = g_strdup_printf ("%u", b->srt_port);
      g_ptr_array_add (args, "--srt-port");
      g_ptr_array_add (args, srt_port);
    }
  g_ptr_array_add (args, NULL);
  b->server = rc_bench_server_start (b->o->roomcast, (const char *const *) args->pdata, log, error);
  if (b->server == NULL)
    return FALSE;
  songs = rc_bench_server_wait_library (b->server, 2, 30, error);
  if (songs == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (songs); i++)
    {
      JsonObject *song = json_array_get_object_element (songs, i);
      const char *title = json_object_get_string_member_with_default (song, "title", "");
      const char *id = json_object_get_string_member_with_default (song, "id", NULL);

      if (g_str_has_prefix (title, "low-440"))
        b->low_id = g_strdup (id);
      else if (g_str_has_prefix (title, "high-660"))
        b->high_id = g_strdup (id);
    }
  if (b->low_id == NULL || b->high_id == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "the library does not list the two tones");
      return FALSE;
    }
  rc_bench_progress ("roomcast at %s%s", rc_bench_server_get_url (b->server),
                     b->srt_port != 0 ? " (SRT on the same port number, UDP)" : "");
  return TRUE;
}

/* FALSE (and a line saying so) once the time budget is spent. */
static gboolean
in_budget (Bench *b, const char *what)
{
  if (rc_bench_interrupted ())
    {
      say (b, "%s: not measured (interrupted)", what);
      return FALSE;
    }
  if (elapsed_s (b) > b->o->max_seconds)
    {
      say (b, "%s: not measured (the %u s budget was spent)", what, b->o->max_seconds);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  Options o = { .bursts = 40, .period_ms = 500, .burst_ms = 30, .skips = 10,
                .skip_gap_ms = 1200, .settle_ms = 3000, .srt_latency = 20, .max_seconds = 110 };
  GOptionEntry entries[] = {
    { "bursts", 'n', 0, G_OPTION_ARG_INT, &o.bursts, "Tone bursts per host transport (default 40)", "N" },
    { "transport", 't', 0, G_OPTION_ARG_STRING, &o.transport, "Host transports: whip, srt, all (default) or none", "T" },
    { "skips", 's', 0, G_OPTION_ARG_INT, &o.skips, "Skips for command→heard (default 10; 0: none)", "N" },
    { "period-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.period_ms, "From one burst to the next (default 500)", "MS" },
    { "burst-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.burst_ms, "Shortest burst (default 30; the others are 10, 20, 30 ms longer)", "MS" },
    { "settle-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.settle_ms, "A host's first MS on air are reported apart (default 3000)", "MS" },
    { "skip-gap-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o.skip_gap_ms, "At least this long between skips (default 1200; D + 700 when longer)", "MS" },
    { "srt-latency", 0, 0, G_OPTION_ARG_INT, &o.srt_latency, "The SRT sender's latency (default 20)", "MS" },
    { "whip-latency", 0, 0, G_OPTION_ARG_INT, &o.whip_latency, "Start the server with this --whip-latency (default: the server's)", "MS" },
    { "wait-quiet", 0, 0, G_OPTION_ARG_DOUBLE, &o.wait_quiet, "First wait up to S seconds for the machine to be under 25% busy (not counted in --max-seconds)", "S" },
    { "no-realtime", 0, 0, G_OPTION_ARG_NONE, &o.no_realtime, "The guests render at normal priority", NULL },
    { "max-seconds", 0, 0, G_OPTION_ARG_INT, &o.max_seconds, "No measurement starts after this (default 110); an alarm ends the run 30 s later", "S" },
    { "roomcast", 0, 0, G_OPTION_ARG_FILENAME, &o.roomcast, "The server (default: the build dir's)", "PATH" },
    { "guest", 0, 0, G_OPTION_ARG_FILENAME, &o.guest, "roomcast-guest (default: beside this program)", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Also write the figures here", "FILE" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &o.keep, "Keep the recordings and the server log", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context =
    g_option_context_new ("- how long a host's sound and a skip take to be heard");
  g_autoptr (GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *tools = exe != NULL ? g_path_get_dirname (exe) : g_strdup (".");
  g_autofree char *build = g_path_get_dirname (tools);
  g_autoptr (GString) command = g_string_new ("bench-latency");
  g_autoptr (GDateTime) date = g_date_time_new_now_local ();
  g_autofree char *date_text = g_date_time_format (date, "%Y-%m-%d %H:%M");
  g_autofree char *machine = NULL;
  g_autofree char *load_before = NULL;
  g_autofree char *load_after = NULL;
  guint64 busy0 = 0, total0 = 0, busy1 = 0, total1 = 0;
  Bench b = { 0 };
  gboolean ok;

  setlocale (LC_ALL, "");
  for (int i = 1; i < argc; i++)
    g_string_append_printf (command, " %s", argv[i]);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-latency: %s\n", error->message);
      return 2;
    }
  if (o.transport == NULL)
    o.transport = g_strdup ("all");
  if ((!g_str_equal (o.transport, "whip") && !g_str_equal (o.transport, "srt")
       && !g_str_equal (o.transport, "all") && !g_str_equal (o.transport, "none"))
      || o.bursts < 1 || o.bursts > 200 || o.skips > 100 || o.period_ms < 200
      || o.period_ms > 5000 || o.burst_ms < 10 || o.burst_ms + 30 > o.period_ms / 2
      || o.srt_latency < 0 || o.wait_quiet < 0 || o.wait_quiet > 3600 || o.settle_ms < 0 || o.settle_ms > 30000 || o.whip_latency < 0 || o.max_seconds < 10)
    {
      g_printerr ("bench-latency: --transport whip|srt|all|none, --bursts 1-200, --skips 0-100, "
                  "--period-ms 200-5000, --burst-ms 10 up to a sixth of the period; see --help\n");
      return 2;
    }
  gst_init (NULL, NULL);
  if (o.roomcast == NULL)
    o.roomcast = g_build_filename (build, "roomcast", NULL);
  if (o.guest == NULL)
    o.guest = g_build_filename (tools, "roomcast-guest", NULL);
  rc_bench_catch_signals ();
  b.o = &o;
  b.started_us = g_get_monotonic_time ();
  rc_bench_progress_restart ();
  if (o.wait_quiet > 0)
    rc_bench_progress ("machine %.0f%% busy: starting", rc_bench_wait_quiet (o.wait_quiet, 25));
  /* Whatever happens, the run ends: SIGALRM's default action kills us, and
   * the children follow (PR_SET_PDEATHSIG). */
  alarm (o.max_seconds + 30);
  b.started_us = g_get_monotonic_time ();
  rc_bench_progress_restart ();
  b.out = g_string_new (NULL);
  machine = rc_bench_machine_describe ();
  load_before = rc_bench_loadavg ();
  rc_bench_machine_read (&busy0, &total0);
  b.dir = g_dir_make_tmp ("rc-bench-latency-XXXXXX", &error);
  ok = b.dir != NULL && prepare (&b, &error);
  if (ok)
    {
      if (wants (&b, "whip") && in_budget (&b, "whip host→guest"))
        run_whip (&b);
      if (wants (&b, "srt") && in_budget (&b, "srt host→guest"))
        run_srt (&b);
      if (o.skips > 0 && in_budget (&b, "skip command→heard"))
        run_skips (&b);
    }
  g_clear_pointer (&b.server, rc_bench_server_free);
  rc_bench_machine_read (&busy1, &total1);
  load_after = rc_bench_loadavg ();
  if (!ok)
    {
      g_printerr ("bench-latency: %s\n", error != NULL ? error->message : "failed");
      if (b.dir != NULL)
        g_printerr ("bench-latency: logs kept in %s\n", b.dir);
      return 1;
    }
  {
    g_autofree char *head = g_strdup_printf (
      "%s — %s\n%s, %s; load %s before, %s after; machine %.0f%% busy during the run\n",
      command->str, date_text, machine, gst_version_string (), load_before, load_after,
      total1 > total0 ? 100.0 * (double) (busy1 - busy0) / (double) (total1 - total0) : 0.0);

    g_string_prepend (b.out, head);
  }
  g_print ("%s", b.out->str);
  if (o.output != NULL && !g_file_set_contents (o.output, b.out->str, -1, &error))
    g_printerr ("bench-latency: %s\n", error->message);
  if (o.keep)
    g_printerr ("bench-latency: recordings and the server log kept in %s\n", b.dir);
  else
    rc_remove_tree (b.dir);
  g_string_free (b.out, TRUE);
  g_free (b.dir);
  g_free (b.low_id);
  g_free (b.high_id);
  return 0;
}

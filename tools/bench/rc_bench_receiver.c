/* SPDX-License-Identifier: MIT */
/*
 * A receiver process of tools/bench-fanout (protocol in rc_bench_receiver.h).
 * Why a process of its own and not threads of the orchestrator: its CPU is
 * read from /proc apart from the server's and the orchestrator's, and a few
 * of them spread the guests' main-loop work (signalling, webrtcbin events)
 * over more than one loop.
 *
 * Every guest is an RcNativeGuest: a light one has its decoding off (RTP
 * into a fakesink, or opusdec and a fakesink with --decode) and counts its
 * packets, late ones too, as they reach webrtcbin's rtpbin; a --native one
 * decodes to PCM as tests do, and counts no late packets.
 *
 * Guests are polled every 50 ms rather than followed by callbacks, because
 * RcNativeGuest has none for "audio arrived". A guest is settled when it has
 * received RTP (its setup time is from its creation to the first packet),
 * has failed, or has waited longer than the join timeout.
 */
#include "rc_bench_receiver.h"
#include "tools/native-guest/rc_native_guest.h"

#include <gio/gunixinputstream.h>
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

typedef struct _Receiver Receiver;

typedef struct
{
  guint pending;
  guint ok;
  guint failed;
  guint timed_out;
  double setup_sum_ms;
  double setup_max_ms;
} Batch;

typedef struct
{
  char *name;
  RcNativeGuest *guest;
  Batch *batch; /* until settled */
  gint64 created_us;
  gint64 first_seen_us; /* native guests: when polling first saw a packet */
  gboolean failure_said;
  guint64 mark_packets;
  guint64 mark_lost;
  guint64 mark_late;
} Slot;

struct _Receiver
{
  const RcBenchReceiverOptions *options;
  SoupSession *session;
  GPtrArray *slots;   /* Slot */
  GPtrArray *batches; /* Batch, in the order they were asked for */
  GMainLoop *loop;
  GDataInputStream *input;
  gint64 mark_us; /* when the window began */
  int status;
};

static void
say (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

typedef struct
{
  gboolean receiving;
  const char *failure;
  guint64 packets, lost;
  gint64 late, max_gap_us, max_late_us;
  gint64 first_packet_us;
} Look;

static void
look (const Receiver *r, Slot *slot, Look *l)
{
  RcNativeGuestStats s;

  memset (l, 0, sizeof *l);
  if (slot->guest == NULL)
    return;
  rc_native_guest_get_stats (slot->guest, &s);
  l->failure = rc_native_guest_get_failure (slot->guest);
  l->packets = s.packets;
  l->lost = s.lost;
  l->max_gap_us = s.max_gap_us;
  if (r->options->native)
    {
      l->late = -1;
      l->max_late_us = -1;
      if (s.packets > 0 && slot->first_seen_us == 0)
        slot->first_seen_us = g_get_monotonic_time ();
      l->first_packet_us = slot->first_seen_us;
    }
  else
    {
      l->late = (gint64) s.late;
      l->max_late_us = s.max_late_us;
      l->first_packet_us = s.first_packet_us;
    }
  l->receiving = l->packets > 0 && l->failure == NULL;
}

static void
flush_batches (Receiver *r)
{
  while (r->batches->len > 0)
    {
      Batch *b = g_ptr_array_index (r->batches, 0);

      if (b->pending > 0)
        return;
      say ("added %u %u %u %.1f %.1f", b->ok, b->failed, b->timed_out, b->setup_sum_ms,
           b->setup_max_ms);
      g_ptr_array_remove_index (r->batches, 0);
    }
}

static gboolean
poll_guests (gpointer data)
{
  Receiver *r = data;
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < r->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (r->slots, i);
      Look l;

      look (r, slot, &l);
      if (l.failure != NULL && !slot->failure_said)
        {
          slot->failure_said = TRUE;
          say ("fail %s %s", slot->name, l.failure);
        }
      if (slot->batch == NULL)
        continue;
      if (l.failure != NULL)
        slot->batch->failed++;
      else if (l.receiving)
        {
          double ms = (l.first_packet_us - slot->created_us) / 1000.0;

          slot->batch->ok++;
          slot->batch->setup_sum_ms += ms;
          slot->batch->setup_max_ms = MAX (slot->batch->setup_max_ms, ms);
        }
      else if (now - slot->created_us > (gint64) r->options->join_timeout_s * G_USEC_PER_SEC)
        slot->batch->timed_out++;
      else
        continue;
      slot->batch->pending--;
      slot->batch = NULL;
    }
  flush_batches (r);
  return G_SOURCE_CONTINUE;
}

static void
add_guests (Receiver *r, guint count, guint first)
{
  Batch *b = g_new0 (Batch, 1);

  RcNativeGuestOptions o = {
    .server_url = r->options->server_url,
    .room_id = r->options->room_id,
    .decode = r->options->native   ? RC_NATIVE_DECODE_PCM
              : r->options->decode ? RC_NATIVE_DECODE_DISCARD
                                   : RC_NATIVE_DECODE_OFF,
    .late_us = r->options->late_us,
    .session = r->session,
  };

  b->pending = count;
  g_ptr_array_add (r->batches, b);
  for (guint i = 0; i < count; i++)
    {
      Slot *slot = g_new0 (Slot, 1);

      slot->name = g_strdup_printf ("%s-%u", r->options->prefix, first + i);
      slot->batch = b;
      slot->created_us = g_get_monotonic_time ();
      o.name = slot->name;
      slot->guest = rc_native_guest_new (&o);
      g_ptr_array_add (r->slots, slot);
    }
  flush_batches (r);
}

static void
mark (Receiver *r)
{
  for (guint i = 0; i < r->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (r->slots, i);
      Look l;

      look (r, slot, &l);
      slot->mark_packets = l.packets;
      slot->mark_lost = l.lost;
      slot->mark_late = l.late > 0 ? (guint64) l.late : 0;
      if (slot->guest != NULL)
        rc_native_guest_reset_gap (slot->guest);
    }
  r->mark_us = g_get_monotonic_time ();
  say ("marked");
}

static void
stats (Receiver *r)
{
  for (guint i = 0; i < r->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (r->slots, i);
      Look l;
      const char *state;

      look (r, slot, &l);
      state = l.failure != NULL ? "failed" : l.receiving ? "receiving" : "waiting";
      say ("g %s %s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
           " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
           slot->name, state, l.packets - slot->mark_packets, l.lost - slot->mark_lost,
           l.late < 0 ? (gint64) -1 : l.late - (gint64) slot->mark_late, l.max_gap_us,
           l.max_late_us);
    }
  say ("end %" G_GINT64_FORMAT, r->mark_us > 0 ? g_get_monotonic_time () - r->mark_us : 0);
}

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  g_clear_pointer (&slot->guest, rc_native_guest_free);
  g_free (slot->name);
  g_free (slot);
}

static void
leave_all (Receiver *r)
{
  gint64 end;

  g_ptr_array_set_size (r->slots, 0);
  /* Let the leave messages and close frames go out. */
  end = g_get_monotonic_time () + 300 * G_TIME_SPAN_MILLISECOND;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (5000);
  say ("left");
}

static void read_next (Receiver *r);

static void
on_line (GObject *source, GAsyncResult *result, gpointer data)
{
  Receiver *r = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line =
    g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  g_auto (GStrv) words = NULL;

  if (line == NULL)
    {
      /* The orchestrator is gone, or asked us to stop by closing stdin. */
      g_main_loop_quit (r->loop);
      return;
    }
  words = g_strsplit (g_strstrip (line), " ", -1);
  if (g_str_equal (words[0], "add") && g_strv_length (words) == 3)
    add_guests (r, (guint) g_ascii_strtoull (words[1], NULL, 10),
                (guint) g_ascii_strtoull (words[2], NULL, 10));
  else if (g_str_equal (words[0], "mark"))
    mark (r);
  else if (g_str_equal (words[0], "stats"))
    stats (r);
  else if (g_str_equal (words[0], "leave"))
    leave_all (r);
  else if (g_str_equal (words[0], "quit"))
    {
      g_main_loop_quit (r->loop);
      return;
    }
  else
    say ("error unknown command: %s", line);
  read_next (r);
}

static void
read_next (Receiver *r)
{
  g_data_input_stream_read_line_async (r->input, G_PRIORITY_DEFAULT, NULL, on_line, r);
}

int
rc_bench_receiver_run (const RcBenchReceiverOptions *options)
{
  Receiver r = { 0 };
  g_autoptr (GUri) uri = g_uri_parse (options->server_url, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GInputStream) in = g_unix_input_stream_new (0, FALSE);
  guint poll_id;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    {
      g_printerr ("bench-fanout receiver: bad server URL %s\n", options->server_url);
      return 2;
    }
  r.options = options;
  r.session = soup_session_new_with_options ("max-conns", 100000, "max-conns-per-host", 100000,
                                             NULL);
  r.slots = g_ptr_array_new_with_free_func (slot_free);
  r.batches = g_ptr_array_new_with_free_func (g_free);
  r.loop = g_main_loop_new (NULL, FALSE);
  r.input = g_data_input_stream_new (in);
  read_next (&r);
  poll_id = g_timeout_add (50, poll_guests, &r);
  say ("ready");
  g_main_loop_run (r.loop);

  /* Quit: nobody reads our figures any more; no need to take every
   * pipeline down one by one, the process exit closes the sockets. */
  g_source_remove (poll_id);
  fflush (stdout);
  return r.status;
}

/* SPDX-License-Identifier: MIT */
/*
 * The soak's guests (rc_soak_guest.h): one face over the native guest
 * (tools/native-guest) and the benchmarks' WebSocket connection
 * (tools/bench), so the soak can make, watch and drop any kind alike.
 *
 * The light WebSocket kind is RcBenchControl rather than a native guest
 * with transport "ws", because the native guest renders what it receives
 * (a decoder and a clocked sink each): two hundred of those would measure
 * the soak's core, not the server.
 */
#include "rc_soak_guest.h"

#include "tools/native-guest/rc_native_guest.h"

#include <string.h>

struct _RcSoakGuest
{
  RcSoakGuestKind kind;
  char *name;
  gint64 started_us;
  char *failure;
  GPtrArray *errors; /* char *, since the last take */

  RcNativeGuest *native;   /* every kind but WS */
  RcBenchControl *control; /* WS */
  gboolean joined;

  /* WS: the binary frames */
  guint64 frames_in;
  gint64 first_frame_us, last_frame_us, max_gap_us, max_gap_end_us;

  /* decoding kinds: the decoded frames, sampled */
  guint64 last_frames;
  gint64 last_growth_us, max_stall_us;
};

static void
note_error (RcSoakGuest *self, JsonObject *message)
{
  if (self->errors == NULL)
    self->errors = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->errors,
                   g_strdup_printf ("%" G_GINT64_FORMAT " %s",
                                    json_object_get_int_member_with_default (message, "code", 0),
                                    json_object_get_string_member_with_default (message, "message",
                                                                                "?")));
}

static void
on_native_message (RcNativeGuest *guest, JsonObject *message, gpointer data)
{
  RcSoakGuest *self = data;
  const char *type = json_object_get_string_member_with_default (message, "type", "");

  if (g_str_equal (type, "initialState"))
    self->joined = TRUE;
  else if (g_str_equal (type, "error"))
    note_error (self, message);
}

static void
on_control_message (JsonObject *message, gpointer data)
{
  RcSoakGuest *self = data;
  const char *type = json_object_get_string_member_with_default (message, "type", "");

  if (g_str_equal (type, "initialState"))
    {
      self->joined = TRUE;
      rc_bench_control_send (self->control,
                             "{\"type\":\"startMedia\",\"id\":\"media\",\"transport\":\"ws\"}");
    }
  else if (g_str_equal (type, "error") && self->failure == NULL)
    {
      note_error (self, message);
      self->failure = g_strdup_printf ("error %s", (char *) g_ptr_array_index (self->errors,
                                                                                self->errors->len - 1));
    }
}

static void
on_frame (GBytes *frame, gpointer data)
{
  RcSoakGuest *self = data;
  gint64 now = g_get_monotonic_time ();

  if (self->first_frame_us == 0)
    self->first_frame_us = now;
  else if (now - self->last_frame_us > self->max_gap_us)
    {
      self->max_gap_us = now - self->last_frame_us;
      self->max_gap_end_us = now;
    }
  self->last_frame_us = now;
  self->frames_in++;
}

RcSoakGuest *
rc_soak_guest_new (RcSoakGuestKind kind, RcBenchServer *server, const char *room_id,
                   const char *name, SoupSession *session)
{
  RcSoakGuest *self = g_new0 (RcSoakGuest, 1);
  const char *only[] = { NULL };

  self->kind = kind;
  self->name = g_strdup (name);
  self->started_us = g_get_monotonic_time ();
  if (kind == RC_SOAK_GUEST_WS)
    {
      self->control = rc_bench_control_new (server, room_id, NULL, on_control_message, self);
      rc_bench_control_only (self->control, only);
      rc_bench_control_set_binary_func (self->control, on_frame, self);
    }
  else
    {
      RcNativeGuestOptions options = {
        .server_url = rc_bench_server_get_url (server),
        .room_id = room_id,
        .name = name,
        .on_message = on_native_message,
        .user_data = self,
        .session = session,
        .decode = kind == RC_SOAK_GUEST_WEBRTC ? RC_NATIVE_DECODE_OFF : RC_NATIVE_DECODE_PCM,
      };

      if (kind == RC_SOAK_GUEST_WS_PLAYOUT)
        {
          options.transport = "ws";
          options.playout = TRUE;
          options.sink = "fakesink sync=true";
        }
      self->native = rc_native_guest_new (&options);
    }
  return self;
}

void
rc_soak_guest_free (RcSoakGuest *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->native, rc_native_guest_free);
  g_clear_pointer (&self->control, rc_bench_control_free);
  g_clear_pointer (&self->errors, g_ptr_array_unref);
  g_free (self->failure);
  g_free (self->name);
  g_free (self);
}

RcSoakGuestKind
rc_soak_guest_get_kind (RcSoakGuest *self)
{
  return self->kind;
}

const char *
rc_soak_guest_get_name (RcSoakGuest *self)
{
  return self->name;
}

gint64
rc_soak_guest_get_started_us (RcSoakGuest *self)
{
  return self->started_us;
}

const char *
rc_soak_guest_get_failure (RcSoakGuest *self)
{
  if (self->failure != NULL)
    return self->failure;
  if (self->native != NULL)
    return rc_native_guest_get_failure (self->native);
  return rc_bench_control_get_failure (self->control);
}

gboolean
rc_soak_guest_send (RcSoakGuest *self, const char *json)
{
  if (!self->joined)
    return FALSE;
  if (self->native != NULL)
    rc_native_guest_send (self->native, json);
  else
    rc_bench_control_send (self->control, "%s", json);
  return TRUE;
}

GPtrArray *
rc_soak_guest_take_errors (RcSoakGuest *self)
{
  return g_steal_pointer (&self->errors);
}

void
rc_soak_guest_sample (RcSoakGuest *self, gint64 now_us)
{
  RcNativeGuestStats stats;

  if (self->native == NULL || self->kind == RC_SOAK_GUEST_WEBRTC)
    return;
  rc_native_guest_get_stats (self->native, &stats);
  if (stats.frames == 0)
    return;
  if (stats.frames != self->last_frames || self->last_growth_us == 0)
    {
      self->last_frames = stats.frames;
      self->last_growth_us = now_us;
    }
  else
    self->max_stall_us = MAX (self->max_stall_us, now_us - self->last_growth_us);
}

void
rc_soak_guest_get_figures (RcSoakGuest *self, RcSoakGuestFigures *out)
{
  RcNativeGuestStats stats;
  RcNativePlayoutStats playout;

  memset (out, 0, sizeof *out);
  if (self->control != NULL)
    {
      out->audio = self->frames_in > 0;
      out->units = self->frames_in;
      out->max_gap_us = self->max_gap_us;
      out->max_gap_end_us = self->max_gap_end_us;
      /* A gap still open counts too: the frames may have stopped for good. */
      if (self->frames_in > 0 && g_get_monotonic_time () - self->last_frame_us > out->max_gap_us)
        {
          out->max_gap_us = g_get_monotonic_time () - self->last_frame_us;
          out->max_gap_end_us = g_get_monotonic_time ();
        }
      return;
    }
  rc_native_guest_get_stats (self->native, &stats);
  out->units = stats.packets;
  out->frames = stats.frames;
  out->lost = stats.lost;
  out->max_gap_us = stats.max_gap_us;
  out->max_stall_us = self->max_stall_us;
  out->audio = self->kind == RC_SOAK_GUEST_WEBRTC ? stats.packets > 0 : stats.frames > 0;
  if (self->kind == RC_SOAK_GUEST_WS_PLAYOUT
      && rc_native_guest_get_playout_stats (self->native, &playout))
    {
      out->underruns = playout.underruns;
      out->discontinuities = playout.discontinuities;
    }
}

void
rc_soak_guest_reset_gap (RcSoakGuest *self)
{
  self->max_gap_us = 0;
  self->max_gap_end_us = 0;
  self->last_frame_us = g_get_monotonic_time ();
  self->max_stall_us = 0;
  self->last_growth_us = 0;
  if (self->native != NULL)
    rc_native_guest_reset_gap (self->native);
}

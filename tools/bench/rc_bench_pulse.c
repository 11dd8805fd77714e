/* SPDX-License-Identifier: MIT */
/*
 * A private PulseAudio with a sink per player, recorded on one sample
 * clock: the instrument that measures sync at the speaker (see the header
 * for why one null sink with a remap sink per player makes one clock).
 *
 * Ordering: the server must answer (pactl) before the sinks are used; the
 * recorder (one parec, in the null sink's own channel positions: any other
 * map is remixed, aux channels to silence) is stopped before the server,
 * and the folder removed last. The reader thread stamps each read on the
 * monotonic clock: a frame is captured at the latest when it is read, so
 * the earliest (read time − frames before it) places sample 0.
 */
#include "rc_bench_pulse.h"
#include "tools/support/rc_roomcast_process.h"
#include "tools/support/rc_tree.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define RATE 48000
#define MASTER "rc_speakers"
#define START_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define READ_BYTES 4096

struct _RcBenchPulse
{
  char *dir;
  char *server;
  guint n_sinks;
  char **sinks;
  GSubprocess *proc;

  GSubprocess *recorder; /* parec */
  GThread *reader;
  GMutex lock;           /* protects what the reader thread writes below */
  GArray **channels;     /* float, one array per sink */
  double first;          /* ms, monotonic: the first frame's capture, at the latest */
  guint64 frames;
};

gboolean
rc_bench_pulse_available (void)
{
  g_autofree char *daemon = g_find_program_in_path ("pulseaudio");
  g_autofree char *ctl = g_find_program_in_path ("pactl");

  return daemon != NULL && ctl != NULL;
}

static gboolean
write_script (RcBenchPulse *self, const char *path, GError **error)
{
  g_autoptr (GString) s = g_string_new (NULL);

  g_string_append_printf (s, "load-module module-native-protocol-unix socket=%s/native"
                             " auth-anonymous=1\n", self->dir);
  g_string_append_printf (s, "load-module module-null-sink sink_name=" MASTER
                             " rate=%d format=float32le channels=%u channel_map=",
                          RATE, self->n_sinks);
  for (guint i = 0; i < self->n_sinks; i++)
    g_string_append_printf (s, "%saux%u", i ? "," : "", i);
  g_string_append (s, "\n");
  for (guint i = 0; i < self->n_sinks; i++)
    g_string_append_printf (s, "load-module module-remap-sink sink_name=%s master=" MASTER
                               " channels=1 channel_map=mono master_channel_map=aux%u"
                               " remix=no\n", self->sinks[i], i);
  return g_file_set_contents (path, s->str, -1, error);
}

/* pactl answers: the server is up with its sinks. */
static gboolean
answers (RcBenchPulse *self)
{
  g_autofree char *out = NULL;
  int status = 0;
  g_autofree char *env_server = g_strconcat ("PULSE_SERVER=", self->server, NULL);
  const char *argv[] = { "pactl", "list", "short", "sinks", NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "PULSE_SERVER", self->server, TRUE);

  if (!g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    return FALSE;
  return strstr (out, self->sinks[self->n_sinks - 1]) != NULL;
}

RcBenchPulse *
rc_bench_pulse_start (const char *parent_dir, guint n_sinks, GError **error)
{
  g_autoptr (RcBenchPulse) self = g_new0 (RcBenchPulse, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *script = NULL, *log = NULL, *runtime = NULL, *state = NULL;
  g_autofree char *log_arg = NULL;
  const char *rate = g_getenv ("RC_BENCH_PULSE_RATE");
  gint64 deadline;

  g_mutex_init (&self->lock);
  if (n_sinks == 0 || n_sinks > RC_BENCH_PULSE_MAX_SINKS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "PulseAudio: 1 to %d sinks, not %u", RC_BENCH_PULSE_MAX_SINKS, n_sinks);
      return NULL;
    }
  if (!rc_bench_pulse_available ())
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "pulseaudio or pactl is missing (Debian's pulseaudio and "
                           "pulseaudio-utils; tools/dev installs them)");
      return NULL;
    }
  self->dir = g_build_filename (parent_dir, "pulse", NULL);
  self->n_sinks = n_sinks;
  self->sinks = g_new0 (char *, n_sinks + 1);
  for (guint i = 0; i < n_sinks; i++)
    self->sinks[i] = g_strdup_printf ("rc_player_%u", i + 1);
  self->server = g_strdup_printf ("unix:%s/native", self->dir);
  runtime = g_build_filename (self->dir, "run", NULL);
  state = g_build_filename (self->dir, "state", NULL);
  script = g_build_filename (self->dir, "roomcast.pa", NULL);
  log = g_build_filename (self->dir, "pulseaudio.log", NULL);
  if (g_mkdir_with_parents (runtime, 0700) != 0 || g_mkdir_with_parents (state, 0700) != 0
      || !write_script (self, script, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make %s", self->dir);
      return NULL;
    }
  launcher = rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                       | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "HOME", self->dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "PULSE_RUNTIME_PATH", runtime, TRUE);
  g_subprocess_launcher_setenv (launcher, "PULSE_STATE_PATH", state, TRUE);
  /* The server's default rate is PulseAudio's own (44.1 kHz), what most
   * desktops run, and the rate Chromium opens its output and the page's
   * AudioContext at. RC_BENCH_PULSE_RATE=48000 sets another, the rate the
   * room's audio has (docs/benchmarks.md, "the output's rate"). */
  if (rate != NULL)
    {
      g_autofree char *conf = g_build_filename (self->dir, "daemon.conf", NULL);
      g_autofree char *line = g_strdup_printf ("default-sample-rate = %s\n", rate);

      g_file_set_contents (conf, line, -1, NULL);
      g_subprocess_launcher_setenv (launcher, "PULSE_CONFIG_PATH", self->dir, TRUE);
    }
  g_subprocess_launcher_unsetenv (launcher, "PULSE_SERVER");
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  log_arg = g_strconcat ("--log-target=file:", log, NULL);
  self->proc = g_subprocess_launcher_spawn (launcher, error, "pulseaudio", "--daemonize=no",
                                            "--exit-idle-time=-1", "--use-pid-file=no",
                                            "--system=no", "--disallow-module-loading=no",
                                            "--realtime=yes", "--high-priority=yes", "-n",
                                            "-F", script, log_arg, NULL);
  if (self->proc == NULL)
    return NULL;
  deadline = g_get_monotonic_time () + START_TIMEOUT_US;
  while (!answers (self))
    {
      if (g_get_monotonic_time () > deadline || g_subprocess_get_identifier (self->proc) == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "the private PulseAudio did not come up (see %s)", log);
          return NULL;
        }
      g_usleep (100 * 1000);
    }
  return g_steal_pointer (&self);
}

void
rc_bench_pulse_free (RcBenchPulse *self)
{
  if (self == NULL)
    return;
  rc_bench_pulse_stop_recording (self);
  if (self->proc != NULL)
    rc_roomcast_child_stop (self->proc, 3);
  g_clear_object (&self->proc);
  if (self->dir != NULL && g_getenv ("RC_BENCH_PULSE_KEEP") == NULL)
    rc_remove_tree (self->dir);
  for (guint i = 0; self->channels != NULL && i < self->n_sinks; i++)
    g_array_unref (self->channels[i]);
  g_free (self->channels);
  g_strfreev (self->sinks);
  g_free (self->server);
  g_free (self->dir);
  g_mutex_clear (&self->lock);
  g_free (self);
}

const char *
rc_bench_pulse_get_server (RcBenchPulse *self)
{
  return self->server;
}

const char *
rc_bench_pulse_get_sink (RcBenchPulse *self, guint index)
{
  g_return_val_if_fail (index < self->n_sinks, NULL);
  return self->sinks[index];
}

void
rc_bench_pulse_setenv (RcBenchPulse *self, GSubprocessLauncher *launcher, int index)
{
  g_subprocess_launcher_setenv (launcher, "PULSE_SERVER", self->server, TRUE);
  if (index >= 0 && (guint) index < self->n_sinks)
    g_subprocess_launcher_setenv (launcher, "PULSE_SINK", self->sinks[index], TRUE);
}

char *
rc_bench_pulse_sink_description (RcBenchPulse *self, guint index)
{
  g_return_val_if_fail (index < self->n_sinks, NULL);
  return g_strdup_printf ("pulsesink server=%s device=%s", self->server, self->sinks[index]);
}

/* The reader thread: parec's output, each read stamped as it comes. */
static gpointer
read_parec (gpointer data)
{
  RcBenchPulse *self = data;
  GInputStream *in = g_subprocess_get_stdout_pipe (self->recorder);
  gsize frame_bytes = sizeof (float) * self->n_sinks;
  g_autofree guint8 *chunk = g_malloc (READ_BYTES + frame_bytes);
  gsize held = 0;

  for (;;)
    {
      gssize got = g_input_stream_read (in, chunk + held, READ_BYTES, NULL, NULL);
      double now = g_get_monotonic_time () / 1000.0;
      gsize frames;

      if (got <= 0)
        break;
      held += (gsize) got;
      frames = held / frame_bytes;
      g_mutex_lock (&self->lock);
      for (gsize f = 0; f < frames; f++)
        for (guint c = 0; c < self->n_sinks; c++)
          g_array_append_val (self->channels[c], ((const float *) chunk)[f * self->n_sinks + c]);
      self->frames += frames;
      /* The last frame read was captured at `now` at the latest. */
      self->first = MIN (self->first, now - (double) self->frames * 1000.0 / RATE);
      g_mutex_unlock (&self->lock);
      memmove (chunk, chunk + frames * frame_bytes, held - frames * frame_bytes);
      held -= frames * frame_bytes;
    }
  return NULL;
}

gboolean
rc_bench_pulse_record (RcBenchPulse *self, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *log = g_build_filename (self->dir, "parec.log", NULL);
  g_autoptr (GString) map = g_string_new ("--channel-map=");
  g_autofree char *channels = g_strdup_printf ("--channels=%u", self->n_sinks);
  g_autofree char *rate = g_strdup_printf ("--rate=%d", RATE);

  g_return_val_if_fail (self->recorder == NULL, FALSE);
  self->channels = g_new0 (GArray *, self->n_sinks);
  for (guint i = 0; i < self->n_sinks; i++)
    self->channels[i] = g_array_sized_new (FALSE, FALSE, sizeof (float), RATE * 60);
  self->first = INFINITY;
  /* The sink's own channel positions: any other map would be remixed. */
  for (guint i = 0; i < self->n_sinks; i++)
    g_string_append_printf (map, "%saux%u", i ? "," : "", i);
  rc_bench_pulse_setenv (self, launcher, -1);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  self->recorder = g_subprocess_launcher_spawn (launcher, error, "parec", "--raw",
                                                "--device=" MASTER ".monitor",
                                                "--format=float32le", rate, channels, map->str,
                                                "--latency-msec=10", NULL);
  if (self->recorder == NULL)
    return FALSE;
  self->reader = g_thread_new ("rc-bench-parec", read_parec, self);
  return TRUE;
}

void
rc_bench_pulse_stop_recording (RcBenchPulse *self)
{
  if (self->recorder == NULL)
    return;
  rc_roomcast_child_stop (self->recorder, 2);
  g_thread_join (self->reader);
  self->reader = NULL;
  g_clear_object (&self->recorder);
}

RcRecording *
rc_bench_pulse_take (RcBenchPulse *self, guint index, const char *name)
{
  g_return_val_if_fail (index < self->n_sinks, NULL);
  if (self->channels == NULL || self->channels[index]->len == 0 || !isfinite (self->first))
    return NULL;
  return rc_recording_new (name, (const float *) self->channels[index]->data,
                           self->channels[index]->len, RATE, self->first);
}

void
rc_bench_pulse_print_logs (RcBenchPulse *self)
{
  const char *names[] = { "pulseaudio.log", "parec.log" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (self->dir, names[i], NULL);
      g_autofree char *text = NULL;
      gsize length = 0;

      if (!g_file_get_contents (path, &text, &length, NULL))
        {
          g_printerr ("%s: none\n", names[i]);
          continue;
        }
      /* The end is what went wrong; a log that ran long is cut. */
      g_printerr ("%s (%" G_GSIZE_FORMAT " bytes, the last 4 KiB):\n%s\n", names[i], length,
                  text + (length > 4096 ? length - 4096 : 0));
    }
}

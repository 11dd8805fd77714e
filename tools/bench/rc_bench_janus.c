/* SPDX-License-Identifier: MIT */
/*
 * Janus beside roomcast in bench-fanout --transport webrtc (see
 * rc_bench_janus.h): the WebRTC server the fan-out engine is measured
 * against, configured as its documentation advises for one-to-many audio
 * (Streaming plugin, ice_lite) and fed the same Opus the room sends.
 */
#include "rc_bench_janus.h"
#include "rc_bench_icecast.h"
#include "rc_bench_server.h"
#include "tools/support/rc_roomcast_process.h"

#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>

struct _RcBenchJanus
{
  GSubprocess *proc;
  GPid pid;
  guint port;
  char *url;
  GstElement *sender;
  gboolean *exited; /* rc_bench_watch_exit's */
};

/* Where Debian puts Janus's modules: /usr/lib/TRIPLET/janus. */
static char *
modules_dir (void)
{
  g_autoptr (GDir) lib = g_dir_open ("/usr/lib", 0, NULL);
  const char *name;

  while (lib != NULL && (name = g_dir_read_name (lib)) != NULL)
    {
      g_autofree char *dir = g_build_filename ("/usr/lib", name, "janus", NULL);
      g_autofree char *plugin = g_build_filename (dir, "plugins", "libjanus_streaming.so", NULL);
      g_autofree char *transport = g_build_filename (dir, "transports", "libjanus_http.so", NULL);

      if (g_file_test (plugin, G_FILE_TEST_EXISTS) && g_file_test (transport, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&dir);
    }
  return NULL;
}

gboolean
rc_bench_janus_available (void)
{
  g_autofree char *dir = modules_dir ();
  g_autofree char *program = g_find_program_in_path ("janus");

  return dir != NULL && program != NULL;
}

/* Only the modules the run needs, linked into folders of its own. */
static gboolean
link_module (const char *modules, const char *dir, const char *kind, const char *file,
             GError **error)
{
  g_autofree char *folder = g_build_filename (dir, kind, NULL);
  g_autofree char *target = g_build_filename (modules, kind, file, NULL);
  g_autofree char *link = g_build_filename (folder, file, NULL);
  g_autoptr (GFile) f = g_file_new_for_path (link);

  g_mkdir_with_parents (folder, 0755);
  return g_file_make_symbolic_link (f, target, NULL, error);
}

static gboolean
write_config (const char *dir, guint http_port, guint rtp_port, GError **error)
{
  g_autofree char *core = g_strdup_printf (
    "general: {\n"
    "  configs_folder = \"%s\"\n  plugins_folder = \"%s/plugins\"\n"
    "  transports_folder = \"%s/transports\"\n  events_folder = \"%s/events\"\n"
    "  loggers_folder = \"%s/loggers\"\n  debug_level = 3\n  session_timeout = 0\n"
    "  server_name = \"bench-fanout\"\n  admin_secret = \"bench-admin\"\n"
    "}\n"
    "media: {\n  ipv6 = false\n  rtp_port_range = \"20000-60000\"\n}\n"
    "nat: {\n  ice_lite = true\n  ice_tcp = false\n  full_trickle = false\n"
    "}\n"
    "plugins: {\n}\ntransports: {\n}\nevents: {\n  broadcast = false\n}\n",
    dir, dir, dir, dir, dir);
  g_autofree char *http = g_strdup_printf (
    "general: {\n  json = \"compact\"\n  base_path = \"/janus\"\n  http = true\n  port = %u\n"
    "  ip = \"127.0.0.1\"\n  https = false\n}\n"
    "admin: {\n  admin_http = false\n  admin_https = false\n}\n",
    http_port);
  /* One audio-only RTP mountpoint, the plugin's documented "rtp" type. */
  g_autofree char *streaming = g_strdup_printf (
    "general: {\n}\n"
    "roomcast-bench: {\n  type = \"rtp\"\n  id = %d\n  description = \"bench-fanout\"\n"
    "  audio = true\n  video = false\n  audioport = %u\n  audiopt = 111\n"
    "  audiocodec = \"opus\"\n  audioiface = \"127.0.0.1\"\n}\n",
    RC_BENCH_JANUS_MOUNTPOINT, rtp_port);
  struct
  {
    const char *name, *text;
  } files[] = {
    { "janus.jcfg", core },
    { "janus.transport.http.jcfg", http },
    { "janus.plugin.streaming.jcfg", streaming },
  };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i].name, NULL);

      if (!g_file_set_contents (path, files[i].text, -1, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
up_or_exited (gpointer data)
{
  RcBenchJanus *self = data;

  return *self->exited || rc_bench_http_get_ok (self->port, "/janus/info");
}

RcBenchJanus *
rc_bench_janus_start (const RcBenchJanusOptions *o, GError **error)
{
  g_autoptr (RcBenchJanus) self = g_new0 (RcBenchJanus, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *modules = modules_dir ();
  g_autofree char *config = g_build_filename (o->dir, "janus.jcfg", NULL);
  g_autofree char *log = g_build_filename (o->dir, "janus.log", NULL);
  g_autofree char *description = NULL;
  guint rtp_port = rc_roomcast_free_port (G_SOCKET_TYPE_DATAGRAM);

  if (modules == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no Janus streaming plugin and HTTP transport (apt-get install janus)");
      return NULL;
    }
  self->port = rc_roomcast_free_port (G_SOCKET_TYPE_STREAM);
  g_mkdir_with_parents (o->dir, 0755);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *empty = g_build_filename (o->dir, i == 0 ? "events" : "loggers", NULL);

      g_mkdir_with_parents (empty, 0755);
    }
  if (!link_module (modules, o->dir, "plugins", "libjanus_streaming.so", error)
      || !link_module (modules, o->dir, "transports", "libjanus_http.so", error)
      || !write_config (o->dir, self->port, rtp_port, error))
    return NULL;
  launcher = rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  if (o->child_setup != NULL)
    g_subprocess_launcher_set_child_setup (launcher, o->child_setup, o->child_setup_data, NULL);
  self->proc = g_subprocess_launcher_spawn (launcher, error,
                                            o->program != NULL ? o->program : "janus", "-C",
                                            config, "-F", o->dir, "-o", NULL);
  if (self->proc == NULL)
    return NULL;
  self->pid = (GPid) atoi (g_subprocess_get_identifier (self->proc));
  self->exited = rc_bench_watch_exit (self->proc);
  self->url = g_strdup_printf ("http://127.0.0.1:%u/janus", self->port);
  if (!rc_bench_wait (up_or_exited, self, 20000) || *self->exited)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "janus %s (see %s)",
                   *self->exited ? "exited" : "has no API after 20 s", log);
      return NULL;
    }
  /* The mountpoint's source: RTP, as a room's payloader makes it. */
  description = g_strdup_printf ("%s ! rtpopuspay pt=111 mtu=1200 "
                                 "! udpsink host=127.0.0.1 port=%u sync=false async=false",
                                 rc_bench_opus_tone_source (), rtp_port);
  self->sender = gst_parse_launch (description, error);
  if (self->sender == NULL)
    return NULL;
  if (gst_element_set_state (self->sender, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the Janus mountpoint's sender did not start");
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
rc_bench_janus_get_url (RcBenchJanus *self)
{
  return self->url;
}

GPid
rc_bench_janus_get_pid (RcBenchJanus *self)
{
  return self->pid;
}

void
rc_bench_janus_free (RcBenchJanus *self)
{
  if (self == NULL)
    return;
  if (self->sender != NULL)
    {
      gst_element_set_state (self->sender, GST_STATE_NULL);
      gst_object_unref (self->sender);
    }
  rc_bench_child_end (self->proc, self->exited);
  g_free (self->url);
  g_free (self);
}

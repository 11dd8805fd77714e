/* SPDX-License-Identifier: MIT */
/*
 * Icecast beside roomcast in bench-fanout --transport ws (see
 * rc_bench_icecast.h): the comparison the WebSocket fan-out is measured
 * against, set up the way an operator would for low latency (no burst on
 * connect, small Ogg pages) so both servers are held to the same lateness
 * bound.
 */
#include "rc_bench_icecast.h"
#include "rc_bench_server.h"
#include "tools/support/rc_roomcast_process.h"

#include <errno.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#define MOUNT "/roomcast.opus"

typedef struct
{
  GSpawnChildSetupFunc setup;
  gpointer data;
  uid_t uid;
  gid_t gid;
} ChildSetup;
#define SOURCE_PASSWORD "bench-source"

struct _RcBenchIcecast
{
  GSubprocess *proc;
  GPid pid;
  guint port;
  char *url;
  GstElement *source;
  gboolean *exited; /* a g_rc_box: the wait's callback holds its own reference */
  ChildSetup setup;
};

/* Run in the child: the benchmark's setup (death signal, CPUs, fd limit),
 * then, as root, Debian's icecast2 user (Icecast will not run as root) and
 * the death signal again: changing the user clears it, and Icecast's own
 * changeowner would leave a server running if the benchmark were killed. */
static void
child_setup (gpointer user_data)
{
  const ChildSetup *c = user_data;

  if (c->setup != NULL)
    c->setup (c->data);
  if (c->uid != 0 && (setgroups (0, NULL) != 0 || setgid (c->gid) != 0 || setuid (c->uid) != 0))
    _exit (127);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
config_text (const RcBenchIcecastOptions *o, guint port)
{
  const char *owner = "";

  return g_strdup_printf (
    "<icecast>\n"
    "  <location>bench</location><admin>bench@localhost</admin>\n"
    "  <limits><clients>%u</clients><sources>2</sources><queue-size>524288</queue-size>\n"
    "    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>\n"
    "    <source-timeout>10</source-timeout><burst-on-connect>0</burst-on-connect>\n"
    "    <burst-size>0</burst-size></limits>\n"
    "  <authentication><source-password>%s</source-password>\n"
    "    <relay-password>bench-relay</relay-password><admin-user>admin</admin-user>\n"
    "    <admin-password>bench-admin</admin-password></authentication>\n"
    "  <hostname>127.0.0.1</hostname>\n"
    "  <listen-socket><port>%u</port><bind-address>127.0.0.1</bind-address></listen-socket>\n"
    "  <fileserve>0</fileserve>\n"
    "  <paths><basedir>/usr/share/icecast2</basedir><logdir>%s</logdir>\n"
    "    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>\n"
    "  </paths>\n"
    "  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>\n"
    "    <loglevel>2</loglevel><logsize>100000</logsize></logging>\n"
    "  <security><chroot>0</chroot>%s</security>\n"
    "</icecast>\n",
    o->max_listeners + 100, SOURCE_PASSWORD, port, o->dir, owner);
}

const char *
rc_bench_opus_tone_source (void)
{
  return "audiotestsrc is-live=true wave=pink-noise volume=0.08 samplesperbuffer=960 "
         "! audio/x-raw,rate=48000,channels=2 ! mix. "
         "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 samplesperbuffer=960 "
         "! audio/x-raw,rate=48000,channels=2 ! mix. "
         "audiomixer name=mix latency=20000000 ! audioconvert "
         "! opusenc bitrate=128000 frame-size=20";
}

static gboolean
start_source (RcBenchIcecast *self, GError **error)
{
  g_autofree char *description = g_strdup_printf (
    "%s ! oggmux max-delay=20000000 max-page-delay=20000000 "
    "! shout2send ip=127.0.0.1 port=%u password=%s mount=%s sync=false async=false",
    rc_bench_opus_tone_source (), self->port, SOURCE_PASSWORD, MOUNT);

  self->source = gst_parse_launch (description, error);
  if (self->source == NULL)
    return FALSE;
  if (gst_element_set_state (self->source, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the Icecast source did not start");
      return FALSE;
    }
  return TRUE;
}

static gboolean
plays_or_exited (gpointer data)
{
  RcBenchIcecast *self = data;

  return *self->exited || rc_bench_http_get_ok (self->port, MOUNT);
}

RcBenchIcecast *
rc_bench_icecast_start (const RcBenchIcecastOptions *o, GError **error)
{
  g_autoptr (RcBenchIcecast) self = g_new0 (RcBenchIcecast, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = g_build_filename (o->dir, "icecast.xml", NULL);
  g_autofree char *log = g_build_filename (o->dir, "icecast.out", NULL);
  const char *program = o->program != NULL ? o->program : "icecast2";
  struct passwd *pw = NULL;

  self->port = rc_roomcast_free_port (G_SOCKET_TYPE_STREAM);
  /* Icecast will not run as root: it runs as Debian's icecast2 user
   * (child_setup), who must be able to write its logs. */
  if (getuid () == 0 && (pw = getpwnam ("icecast2")) != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (o->dir);

      /* It must reach its folder: the parent (a private temporary folder)
       * lets others pass through, not list. */
      if (chmod (parent, 0711) != 0 || chown (o->dir, pw->pw_uid, pw->pw_gid) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "chown %s: %s", o->dir,
                       g_strerror (errno));
          return NULL;
        }
    }
  config = config_text (o, self->port);
  if (!g_file_set_contents (config_path, config, -1, error))
    return NULL;
  launcher = rc_roomcast_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  self->setup.setup = o->child_setup;
  self->setup.data = o->child_setup_data;
  if (pw != NULL)
    {
      self->setup.uid = pw->pw_uid;
      self->setup.gid = pw->pw_gid;
    }
  g_subprocess_launcher_set_child_setup (launcher, child_setup, &self->setup, NULL);
  self->proc = g_subprocess_launcher_spawn (launcher, error, program, "-c", config_path, NULL);
  if (self->proc == NULL)
    return NULL;
  self->pid = (GPid) atoi (g_subprocess_get_identifier (self->proc));
  self->exited = rc_bench_watch_exit (self->proc);
  self->url = g_strdup_printf ("http://127.0.0.1:%u%s", self->port, MOUNT);
  /* Its port is open once it answers; then the source connects. */
  rc_bench_wait (NULL, NULL, 1000);
  if (!start_source (self, error))
    return NULL;
  if (!rc_bench_wait (plays_or_exited, self, 20000) || *self->exited)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "icecast2 %s (see %s)",
                   *self->exited ? "exited" : "has no mount after 20 s", log);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
rc_bench_icecast_get_mount_url (RcBenchIcecast *self)
{
  return self->url;
}

GPid
rc_bench_icecast_get_pid (RcBenchIcecast *self)
{
  return self->pid;
}

gboolean
rc_bench_icecast_has_exited (RcBenchIcecast *self)
{
  return self->proc == NULL || *self->exited;
}

void
rc_bench_icecast_free (RcBenchIcecast *self)
{
  if (self == NULL)
    return;
  if (self->source != NULL)
    {
      gst_element_set_state (self->source, GST_STATE_NULL);
      gst_object_unref (self->source);
    }
  rc_bench_child_end (self->proc, self->exited);
  g_free (self->url);
  g_free (self);
}

/* SPDX-License-Identifier: MIT */
/*
 * roomcast entry point: options, store, server, then the GLib main loop
 * until SIGINT/SIGTERM. On the way out every WebSocket is closed and the
 * store is given a moment to apply writes still in flight.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "rc_build_config.h"
#include "server/rc_config.h"
#include "server/http/rc_app.h"
#include "server/store/rc_store.h"

static gboolean
on_signal (gpointer user_data)
{
  g_message ("Shutting down");
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

#define FLUSH_WAIT_US (2 * G_USEC_PER_SEC)
#define FLUSH_RETRY_US (100 * 1000)

/* One sync of the flush; freed by whoever sees it last (the flush gives up
 * on a sync still unanswered at the deadline). */
typedef struct
{
  gboolean done;
  gboolean failed;
  gboolean abandoned;
} FlushSync;

static void
on_synced (RcStore *store, const GError *error, gpointer user_data)
{
  FlushSync *sync = user_data;

  if (sync->abandoned)
    {
      g_free (sync);
      return;
    }
  sync->done = TRUE;
  sync->failed = error != NULL;
}

static gboolean
on_flush_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE; /* only wakes the loop below */
}

/* Spins the main context until *@flag or @until_us (monotonic). */
static void
iterate_until (const gboolean *flag, gint64 until_us)
{
  while ((flag == NULL || !*flag) && g_get_monotonic_time () < until_us)
    g_main_context_iteration (NULL, TRUE);
}

/*
 * Waits up to 2 s until the store has applied every write made so far. A
 * store that is unreachable (Redis down) makes the sync fail at once: it is
 * retried every 100 ms, so a Redis back within the 2 s gets the writes. What
 * could not be applied is logged.
 */
static void
flush_store (RcStore *store)
{
  gint64 deadline = g_get_monotonic_time () + FLUSH_WAIT_US;
  guint tick_id = g_timeout_add (FLUSH_RETRY_US / 1000 / 2, on_flush_tick, NULL);
  guint pending;

  for (;;)
    {
      FlushSync *sync;
      gboolean applied;

      if (!rc_store_is_connected (store) && rc_store_get_pending_writes (store) == 0)
        break; /* nothing to wait for */
      sync = g_new0 (FlushSync, 1);
      rc_store_sync (store, on_synced, sync);
      iterate_until (&sync->done, deadline);
      if (!sync->done)
        {
          sync->abandoned = TRUE;
          break;
        }
      applied = !sync->failed;
      g_free (sync);
      if (applied || g_get_monotonic_time () >= deadline)
        break;
      iterate_until (NULL, MIN (deadline, g_get_monotonic_time () + FLUSH_RETRY_US));
    }
  g_source_remove (tick_id);
  pending = rc_store_get_pending_writes (store);
  if (pending > 0)
    g_warning ("The store (%s) did not apply %u writes within %d s: they are lost",
               rc_store_get_backend_name (store), pending,
               (int) (FLUSH_WAIT_US / G_USEC_PER_SEC));
}

/* The store: --store, or with --cluster that Redis (one Redis holds the
 * leases and the state they fence: a Lua script cannot span two). */
static RcStore *
open_store (const RcConfig *config, GError **error)
{
  const char *uri = config->store;

  if (config->cluster != NULL && *config->cluster != '\0')
    {
      if (!g_str_has_prefix (config->cluster, "redis://"))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--cluster must be a redis:// URI, not \"%s\"", config->cluster);
          return NULL;
        }
      if (uri != NULL && *uri != '\0' && !g_str_equal (uri, "memory")
          && !g_str_equal (uri, config->cluster))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--store (%s) and --cluster (%s) must be the same Redis", uri,
                       config->cluster);
          return NULL;
        }
      uri = config->cluster;
    }
  return rc_store_new (uri, (guint) config->store_timeout_ms, error);
}

/* Every guest holds a socket: take all the open files the hard limit allows
 * (Debian's soft limit of 1,024 is a few hundred guests). */
static void
raise_open_file_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        g_warning ("Could not raise the open-file limit: %s", g_strerror (errno));
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autofree char *url = NULL;
  RcApp *app;

  setlocale (LC_ALL, "");
  /* A peer (Redis, a browser) that vanishes mid-write must not kill us. */
  signal (SIGPIPE, SIG_IGN);
  raise_open_file_limit ();
  config = rc_config_parse (&argc, &argv, &error);
  if (config == NULL)
    {
      g_printerr ("roomcast: %s\nTry \"roomcast --help\".\n", error->message);
      return 2;
    }
  gst_init (NULL, NULL);

  store = open_store (config, &error);
  if (store == NULL)
    {
      g_printerr ("roomcast: cannot open the store: %s\n", error->message);
      return 1;
    }

  app = rc_app_new (config, store);
  if (!rc_app_start (app, &error))
    {
      g_printerr ("roomcast: %s\n", error->message);
      rc_app_free (app);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);

  url = rc_app_get_url (app);
  printf ("roomcast %s listening on %s (store: %s)\nOpen %s in your browser.\n",
          ROOMCAST_VERSION, url,
          config->cluster != NULL && *config->cluster ? config->cluster : config->store, url);
  fflush (stdout);

  g_main_loop_run (loop);

  rc_app_stop (app);
  flush_store (store);
  rc_app_free (app);
  return 0;
}

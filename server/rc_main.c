/* SPDX-License-Identifier: MIT */
/*
 * roomcast entry point: options, store, server, then the GLib main loop
 * until SIGINT/SIGTERM. On the way out every WebSocket is closed and the
 * store is given a moment to apply writes still in flight.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>

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

static void
on_synced (RcStore *store, const GError *error, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
on_flush_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits (bounded) until the store has applied every write made so far. */
static void
flush_store (RcStore *store)
{
  gboolean done = FALSE;
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add (2000, on_flush_timeout, &timed_out);

  rc_store_sync (store, on_synced, &done);
  while (!done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  else
    g_warning ("The store did not confirm %u pending writes before exit",
               rc_store_get_pending_writes (store));
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
  config = rc_config_parse (&argc, &argv, &error);
  if (config == NULL)
    {
      g_printerr ("roomcast: %s\nTry \"roomcast --help\".\n", error->message);
      return 2;
    }
  gst_init (NULL, NULL);

  store = rc_store_new (config->store, (guint) config->store_timeout_ms, &error);
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
          ROOMCAST_VERSION, url, config->store, url);
  fflush (stdout);

  g_main_loop_run (loop);

  rc_app_stop (app);
  flush_store (store);
  rc_app_free (app);
  return 0;
}

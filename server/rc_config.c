/* SPDX-License-Identifier: MIT */
/*
 * One table drives flags, environment variables, the config file and
 * --help, so an option cannot exist in one place and be missing from another.
 * tests/test_config.c checks the table against --help and against
 * docs/roomcast.conf.sample.
 */
#include "server/rc_config.h"
#include "rc_build_config.h"
#include "server/core/rc_error.h"

#include <stdlib.h>
#include <string.h>

#define OPT(name, env, type, field, def, lo, hi, arg, desc) \
  { name, "ROOMCAST_" env, RC_OPTION_##type, G_STRUCT_OFFSET (RcConfig, field), def, lo, hi, arg, desc }

static const RcOption options[] = {
  OPT ("config", "CONFIG", STRING, config_file, "", 0, 0, "FILE",
       "Read KEY=VALUE settings (ROOMCAST_* names) from FILE"),
  OPT ("host", "HOST", STRING, host, "127.0.0.1", 0, 0, "ADDR",
       "Address to listen on"),
  OPT ("port", "PORT", INT, port, "8080", 0, 65535, "PORT",
       "TCP port to listen on; 0 picks a free one"),
  OPT ("store", "STORE", STRING, store, "memory", 0, 0, "URI",
       "Where rooms and chat are kept: memory, or redis://host:port/db"),
  OPT ("music-dir", "MUSIC_DIR", STRING, music_dir, "", 0, 0, "DIR",
       "Folder of music files offered to rooms"),
  OPT ("client-dir", "CLIENT_DIR", STRING, client_dir, ROOMCAST_CLIENT_DIR, 0, 0, "DIR",
       "Folder of the browser client served at /"),
  OPT ("demo-room", "DEMO_ROOM", STRING, demo_room, "", 0, 0, "NAME",
       "Create a public room with this name at start if none has it"),
  OPT ("max-rooms", "MAX_ROOMS", INT, max_rooms, "1000", 1, 1000000, "N",
       "Most rooms the server keeps"),
  OPT ("max-guests", "MAX_GUESTS", INT, max_guests, "100", 1, 100000, "N",
       "Most guests in one room"),
  OPT ("max-message-bytes", "MAX_MESSAGE_BYTES", INT, max_message_bytes, "16384", 256,
       1048576, "BYTES", "Largest WebSocket message or REST body accepted"),
  OPT ("rate-limit", "RATE_LIMIT", DOUBLE, rate_limit, "20", 0, 100000, "N",
       "Requests per second allowed per connection (0: unlimited)"),
  OPT ("rate-burst", "RATE_BURST", DOUBLE, rate_burst, "40", 1, 100000, "N",
       "Requests a connection may send at once before the rate applies"),
  OPT ("chat-rate-limit", "CHAT_RATE_LIMIT", DOUBLE, chat_rate_limit, "2", 0, 100000, "N",
       "Chat messages per second allowed per guest (0: unlimited)"),
  OPT ("chat-burst", "CHAT_BURST", DOUBLE, chat_burst, "8", 1, 100000, "N",
       "Chat messages a guest may send at once before the rate applies"),
  OPT ("chat-history", "CHAT_HISTORY", INT, chat_history, "100", 1, 10000, "N",
       "Chat messages kept per room and sent to a guest who joins"),
  OPT ("clock-port", "CLOCK_PORT", INT, clock_port, "0", 0, 65535, "PORT",
       "UDP port publishing the server clock to native guests (0: any free port)"),
  OPT ("playout-delay", "PLAYOUT_DELAY", INT, playout_delay, "150", 10, 5000, "MS",
       "Playout delay a room starts with: every guest hears a packet this long after the server made it"),
  OPT ("playout-delay-min", "PLAYOUT_DELAY_MIN", INT, playout_delay_min, "60", 10, 5000, "MS",
       "Lowest playout delay a room adapts down to"),
  OPT ("playout-delay-max", "PLAYOUT_DELAY_MAX", INT, playout_delay_max, "1000", 10, 10000, "MS",
       "Highest playout delay a room adapts up to (guests later than this drop audio)"),
  OPT ("ws-bundle-from", "WS_BUNDLE_FROM", INT, ws_bundle_from, "200", 0, 1000000, "N",
       "A room with this many WebSocket listeners sends them 3 audio frames per message (0: never)"),
  OPT ("ws-bundle-large-from", "WS_BUNDLE_LARGE_FROM", INT, ws_bundle_large_from, "4000", 0, 1000000, "N",
       "A room with this many WebSocket listeners sends them 5 audio frames per message (0: never)"),
  OPT ("empty-room-pause", "EMPTY_ROOM_PAUSE", INT, empty_room_pause, "30", 1, 86400, "SECONDS",
       "A playing room that nobody is in pauses itself after this long"),
  OPT ("ping-interval", "PING_INTERVAL", INT, ping_interval, "10", 1, 3600, "SECONDS",
       "Seconds between WebSocket pings"),
  OPT ("idle-timeout", "IDLE_TIMEOUT", INT, idle_timeout, "25", 2, 86400, "SECONDS",
       "Drop a WebSocket that has sent nothing (not even a pong) for this long"),
  OPT ("http-header-timeout", "HTTP_HEADER_TIMEOUT", INT, http_header_timeout, "15", 1, 3600,
       "SECONDS", "Close an HTTP connection whose request headers take longer than this"),
  OPT ("http-body-timeout", "HTTP_BODY_TIMEOUT", INT, http_body_timeout, "30", 1, 3600,
       "SECONDS", "Close an HTTP connection whose request body takes longer than this"),
  OPT ("http-idle-timeout", "HTTP_IDLE_TIMEOUT", INT, http_idle_timeout, "10", 1, 3600,
       "SECONDS", "Close an HTTP connection left open this long after its response (responses close their connection: a safety net)"),
  OPT ("store-timeout", "STORE_TIMEOUT", INT, store_timeout_ms, "3000", 100, 60000, "MS",
       "How long to wait for the store at start before giving up"),
  OPT ("max-publishers", "MAX_PUBLISHERS", INT, max_publishers, "8", 0, 1000, "N",
       "Most hosts live at once on the server (WHIP); 0 turns live ingest off"),
  OPT ("whip-latency", "WHIP_LATENCY", INT, whip_latency, "30", 10, 1000, "MS",
       "Jitter buffer for a live host's audio: more survives a worse network, later"),
  OPT ("whip-ice-server", "WHIP_ICE_SERVER", STRING, whip_ice_server, "", 0, 0, "URLS",
       "STUN/TURN servers offered to WHIP hosts in Link headers, comma-separated "
       "(turn:user:pass@host:port carries credentials)"),
  OPT ("srt-port", "SRT_PORT", INT, srt_port, "0", 0, 65535, "PORT",
       "UDP port taking live hosts over SRT (OBS: srt://host:PORT?streamid=ROOM/KEY); 0: no SRT"),
  OPT ("srt-latency", "SRT_LATENCY", INT, srt_latency, "120", 20, 8000, "MS",
       "SRT receive latency: time to retransmit what the network lost; the room hears the host that much later"),
  /* Telegram: the bot (server/telegram/) and the Mini App sign-in. */
  OPT ("telegram-token", "TELEGRAM_TOKEN", STRING, telegram_token, "", 0, 0, "TOKEN",
       "Telegram bot token from BotFather: turns the bot and the Mini App sign-in on (none: off)"),
  OPT ("telegram-api-url", "TELEGRAM_API_URL", STRING, telegram_api_url,
       "https://api.telegram.org", 0, 0, "URL",
       "Where the bot reaches the Telegram Bot API (a local Bot API server, or a test's stand-in)"),
  OPT ("telegram-auth-max-age", "TELEGRAM_AUTH_MAX_AGE", INT, telegram_auth_max_age, "86400", 10,
       31536000, "SECONDS",
       "Oldest Mini App sign-in (initData auth_date) a join accepts"),
  OPT ("telegram-webapp-url", "TELEGRAM_WEBAPP_URL", STRING, telegram_webapp_url, "", 0, 0, "URL",
       "Public https:// address of this server for the bot's Mini App button (none: no button)"),
  /* WebRTC guests: the fan-out engine's port and address, or webrtcbin per guest. */
  OPT ("webrtc-fanout", "WEBRTC_FANOUT", STRING, webrtc_fanout, "engine", 0, 0, "MODE",
       "How WebRTC guests are served: engine (one UDP port and one sender thread for all) or webrtcbin (one each)"),
  OPT ("webrtc-port", "WEBRTC_PORT", INT, webrtc_port, "0", 0, 65535, "PORT",
       "UDP port of the WebRTC engine, on the --host address; 0: any free port (printed at start)"),
  OPT ("webrtc-public-ip", "WEBRTC_PUBLIC_IP", STRING, webrtc_public_ip, "", 0, 0, "ADDR",
       "Address the WebRTC engine's candidate advertises (1:1 NAT, Docker, cloud); empty: the --host address"),
  OPT ("webrtc-senders", "WEBRTC_SENDERS", INT, webrtc_senders, "1", 1, 16, "N",
       "Sender threads of the WebRTC engine, each protecting and sending for its share of every room's guests (one per core to use)"),
  /* URL songs' cache (server/library/rc_url_cache.c). */
  OPT ("cache-dir", "CACHE_DIR", STRING, cache_dir, "", 0, 0, "DIR",
       "Folder where http(s) songs are cached for instant replay (empty: the user's cache "
       "folder, e.g. ~/.cache/roomcast/songs)"),
  OPT ("cache-max-bytes", "CACHE_MAX_BYTES", INT, cache_max_bytes, "1073741824", 0, 1e15, "BYTES",
       "Most bytes the song cache holds, downloads in progress included; least recently "
       "played songs go first; 0 turns the cache off (URL songs stream)"),
  /* A cluster on Redis (server/cluster/). */
  OPT ("cluster", "CLUSTER", STRING, cluster, "", 0, 0, "URI",
       "Join the nodes sharing this Redis (redis://host:port/db; also the store): rooms are "
       "spread over them, any node answers for every room (none: a lone node)"),
  OPT ("node-url", "NODE_URL", STRING, node_url, "", 0, 0, "URL",
       "With --cluster: the http(s):// address guests reach this node by (empty: its "
       "listening address)"),
  OPT ("cluster-lease", "CLUSTER_LEASE", INT, cluster_lease_ms, "3000", 300, 60000, "MS",
       "With --cluster: how long a room stays with a node that stopped renewing its lease "
       "(a dead node's rooms move after this long)"),
  OPT ("max-listeners", "MAX_LISTENERS", INT, max_listeners, "0", 0, 1000000, "N",
       "With --cluster: guests this node holds the sockets of before it sends a new join to the "
       "least loaded other node (4209 node_full with its URL; 0: no limit)"),
  { NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL },
};

const RcOption *
rc_config_options (void)
{
  return options;
}

static const RcOption *
find_option (const char *long_name)
{
  for (const RcOption *o = options; o->long_name; o++)
    if (g_str_equal (o->long_name, long_name))
      return o;
  return NULL;
}

static gboolean
apply (RcConfig *config, const RcOption *o, const char *value, GError **error)
{
  gpointer field = G_STRUCT_MEMBER_P (config, o->offset);
  char *end = NULL;
  double d;

  switch (o->type)
    {
    case RC_OPTION_STRING:
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return TRUE;
    case RC_OPTION_INT:
    case RC_OPTION_DOUBLE:
      d = g_ascii_strtod (value, &end);
      if (end == value || *end != '\0' || d < o->min || d > o->max
          || (o->type == RC_OPTION_INT && (gint64) d != d))
        {
          g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                       "--%s (%s): \"%s\" is not %s between %g and %g", o->long_name,
                       o->env_name, value, o->type == RC_OPTION_INT ? "an integer" : "a number",
                       o->min, o->max);
          return FALSE;
        }
      if (o->type == RC_OPTION_INT)
        *(gint64 *) field = (gint64) d;
      else
        *(double *) field = d;
      return TRUE;
    }
  return FALSE;
}

RcConfig *
rc_config_new (void)
{
  RcConfig *config = g_new0 (RcConfig, 1);

  for (const RcOption *o = options; o->long_name; o++)
    if (!apply (config, o, o->default_value, NULL))
      g_error ("bad default for --%s", o->long_name);
  return config;
}

void
rc_config_free (RcConfig *config)
{
  if (config == NULL)
    return;
  for (const RcOption *o = options; o->long_name; o++)
    if (o->type == RC_OPTION_STRING)
      g_free (G_STRUCT_MEMBER (char *, config, o->offset));
  g_free (config);
}

gboolean
rc_config_set (RcConfig *config, const char *long_name, const char *value, GError **error)
{
  const RcOption *o = find_option (long_name);

  if (o == NULL)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "Unknown option --%s", long_name);
      return FALSE;
    }
  return apply (config, o, value, error);
}

static const RcOption *
find_env (const char *env_name)
{
  for (const RcOption *o = options; o->long_name; o++)
    if (g_str_equal (o->env_name, env_name))
      return o;
  return NULL;
}

gboolean
rc_config_load_file (RcConfig *config, const char *path, GError **error)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  return rc_config_load_data (config, contents, path, error);
}

gboolean
rc_config_load_data (RcConfig *config, const char *contents, const char *path, GError **error)
{
  g_auto (GStrv) lines = NULL;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *eq;
      const RcOption *o;
      g_autofree char *value = NULL;

      if (*line == '\0' || *line == '#')
        continue;
      eq = strchr (line, '=');
      if (eq == NULL)
        {
          g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM,
                       "%s:%u: expected KEY=VALUE", path, i + 1);
          return FALSE;
        }
      *eq = '\0';
      o = find_env (g_strstrip (line));
      if (o == NULL)
        {
          g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "%s:%u: unknown setting %s",
                       path, i + 1, line);
          return FALSE;
        }
      value = g_strdup (g_strstrip (eq + 1));
      /* Allow VALUE in double quotes, as shell-style env files write it. */
      if (strlen (value) >= 2 && value[0] == '"' && value[strlen (value) - 1] == '"')
        {
          value[strlen (value) - 1] = '\0';
          memmove (value, value + 1, strlen (value));
        }
      if (!apply (config, o, value, error))
        {
          g_prefix_error (error, "%s:%u: ", path, i + 1);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
rc_config_load_env (RcConfig *config, char **envp, GError **error)
{
  g_auto (GStrv) own = envp ? NULL : g_get_environ ();
  char **env = envp ? envp : own;

  for (const RcOption *o = options; o->long_name; o++)
    {
      const char *value = g_environ_getenv (env, o->env_name);

      if (o->type != RC_OPTION_STRING && value != NULL && *value == '\0')
        continue;
      if (value != NULL && !apply (config, o, value, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  RcConfig *config;
} ParseData;

static gboolean
on_option (const char *option_name, const char *value, gpointer data, GError **error)
{
  ParseData *pd = data;
  const char *name = option_name + 2; /* skip "--" */

  return rc_config_set (pd->config, name, value, error);
}

/* The config file path must be known before flags override its contents. */
static const char *
prescan_config_path (int argc, char **argv)
{
  const char *path = g_getenv ("ROOMCAST_CONFIG");

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--config") && i + 1 < argc)
        path = argv[i + 1];
      else if (g_str_has_prefix (argv[i], "--config="))
        path = argv[i] + strlen ("--config=");
    }
  return path;
}

RcConfig *
rc_config_parse (int *argc, char ***argv, GError **error)
{
  g_autoptr (RcConfig) config = rc_config_new ();
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  g_autoptr (GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  GOptionGroup *group;
  ParseData pd = { NULL };
  const char *path = prescan_config_path (*argc, *argv);

  if (path != NULL && *path != '\0' && !rc_config_load_file (config, path, error))
    return NULL;
  if (!rc_config_load_env (config, NULL, error))
    return NULL;

  pd.config = config;
  for (const RcOption *o = options; o->long_name; o++)
    {
      char *desc = g_strdup_printf ("%s [%s, default: %s]", o->description, o->env_name,
                                    *o->default_value ? o->default_value : "none");
      GOptionEntry e = { o->long_name, 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) on_option,
                         desc, o->arg_description };

      g_ptr_array_add (strings, desc);
      g_array_append_val (entries, e);
    }

  context = g_option_context_new ("- roomcast, a listen-together media server");
  g_option_context_set_summary (context,
                                "Every option can also be set by its ROOMCAST_* environment "
                                "variable or in a --config file.\nPrecedence: flag > "
                                "environment > config file > default.");
  group = g_option_group_new ("roomcast", "roomcast options", "roomcast options", &pd, NULL);
  g_option_group_add_entries (group, (const GOptionEntry *) entries->data);
  g_option_context_set_main_group (context, group);
  if (!g_option_context_parse (context, argc, argv, error))
    return NULL;
  if (*argc > 1)
    {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM, "Unexpected argument \"%s\"",
                   (*argv)[1]);
      return NULL;
    }
  return g_steal_pointer (&config);
}

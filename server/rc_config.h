/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Server options. Each one is a row of the option table in rc_config.c and
 * can be set, from lowest to highest precedence, by its default, a config
 * file (KEY=VALUE lines using the environment names), a ROOMCAST_*
 * environment variable, or a command-line flag.
 */
typedef struct
{
  char *config_file;
  char *host;
  gint64 port;
  char *store;
  char *music_dir;
  char *client_dir;
  char *demo_room;
  gint64 max_rooms;
  gint64 max_guests;
  gint64 max_message_bytes;
  double rate_limit;
  double rate_burst;
  double chat_rate_limit;
  double chat_burst;
  gint64 chat_history;
  gint64 empty_room_pause;
  gint64 clock_port;
  gint64 playout_delay;
  gint64 playout_delay_min;
  gint64 playout_delay_max;
  gint64 ws_bundle_from;
  gint64 ws_bundle_large_from;
  gint64 ping_interval;
  gint64 idle_timeout;
  gint64 http_header_timeout;
  gint64 http_body_timeout;
  gint64 http_idle_timeout;
  gint64 store_timeout_ms;
  gint64 max_publishers;
  gint64 whip_latency;
  char *whip_ice_server;
  gint64 srt_port;
  gint64 srt_latency;
  /* Telegram (server/telegram/, and join's telegramInitData) */
  char *telegram_token;
  char *telegram_api_url;
  gint64 telegram_auth_max_age;
  char *telegram_webapp_url;
  /* WebRTC guests (helper W's block) */
  char *webrtc_fanout;    /* "engine" (one UDP port, pipelines/rc_fanout.c) or "webrtcbin" */
  gint64 webrtc_port;     /* the engine's UDP port, 0: any free one */
  char *webrtc_public_ip; /* the address its candidate advertises; empty: the --host address */
  gint64 webrtc_senders;  /* the engine's sender threads */
  /* URL songs' cache (issue 17 part 3, server/library/rc_url_cache.c). */
  char *cache_dir;
  gint64 cache_max_bytes;
  /* A cluster on Redis (issue 16, server/cluster/). */
  char *cluster;      /* redis://host:port/db, empty: a lone node */
  char *node_url;     /* how guests reach this node, empty: its own listening URL */
  gint64 cluster_lease_ms;
  gint64 max_listeners; /* local guests before joins go elsewhere (4209), 0: no limit */
} RcConfig;

typedef enum
{
  RC_OPTION_STRING,
  RC_OPTION_INT,
  RC_OPTION_DOUBLE,
} RcOptionType;

typedef struct
{
  const char *long_name; /* "max-guests" → --max-guests */
  const char *env_name;  /* "ROOMCAST_MAX_GUESTS" */
  RcOptionType type;
  gsize offset;          /* into RcConfig */
  const char *default_value;
  double min, max;       /* numeric bounds, inclusive */
  const char *arg_description;
  const char *description;
} RcOption;

/* The option table, terminated by a row whose long_name is NULL. */
const RcOption *rc_config_options (void);

RcConfig *rc_config_new (void); /* all defaults */
void rc_config_free (RcConfig *config);

/* Applies one option given by long name, checking its type and bounds. */
gboolean rc_config_set (RcConfig *config, const char *long_name, const char *value,
                        GError **error);

/* Reads KEY=VALUE lines (environment names; '#' comments) into @config. */
gboolean rc_config_load_file (RcConfig *config, const char *path, GError **error);
/* The same for a file's @contents already read (NUL-terminated); @path
 * names it in errors. */
gboolean rc_config_load_data (RcConfig *config, const char *contents, const char *path,
                              GError **error);

/* Every ROOMCAST_* variable in @envp (NULL: the process environment). */
gboolean rc_config_load_env (RcConfig *config, char **envp, GError **error);

/*
 * The whole chain: defaults, --config/ROOMCAST_CONFIG file, environment, then
 * @argv flags (consumed). --help prints every option and exits.
 */
RcConfig *rc_config_parse (int *argc, char ***argv, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcConfig, rc_config_free)

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * How a live host's audio meets the queue, set by the owner and kept in the
 * room's stored state (rc_room_get_mix_policy). Takeover (the default)
 * pauses the queue while the host is on air; talkover keeps it playing, ducked by @duck_db while the
 * host's level is above @threshold_db (dBFS).
 */
typedef enum
{
  RC_MIX_TAKEOVER,
  RC_MIX_TALKOVER,
} RcMixMode;

typedef struct
{
  RcMixMode mode;
  double duck_db;      /* RC_MIX_DUCK_MIN_DB..0 */
  double threshold_db; /* RC_MIX_THRESHOLD_MIN_DB..0 */
} RcMixPolicy;

#define RC_MIX_DEFAULT_DUCK_DB -12.0
#define RC_MIX_DEFAULT_THRESHOLD_DB -40.0
#define RC_MIX_DUCK_MIN_DB -60.0
#define RC_MIX_THRESHOLD_MIN_DB -80.0

const char *rc_mix_mode_to_string (RcMixMode mode);
/* FALSE when @text is neither "takeover" nor "talkover". */
gboolean rc_mix_mode_from_string (const char *text, RcMixMode *mode);
/* {mode, duckDb, thresholdDb} */
JsonNode *rc_mix_policy_to_json (const RcMixPolicy *policy);

G_END_DECLS

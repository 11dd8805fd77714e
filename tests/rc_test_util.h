/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Spins the main context (never sleeps blindly) until @cond holds or
 * @timeout_ms passes; evaluates to the last value of @cond (evaluated once
 * per turn, so a condition with side effects is not re-run at the end).
 */
#define RC_WAIT_UNTIL(cond, timeout_ms)                                                       \
  ({                                                                                          \
    gint64 rc_deadline_ = g_get_monotonic_time () + (gint64) (timeout_ms) * 1000;             \
    gboolean rc_ok_;                                                                          \
    while (!(rc_ok_ = !!(cond)) && g_get_monotonic_time () < rc_deadline_)                    \
      rc_test_iterate (10);                                                                   \
    rc_ok_;                                                                                   \
  })

/* g_test_init plus quiet library debug output (it floods the TAP log). */
void rc_test_init (int *argc, char ***argv);

/* Tests make warnings fatal. A GStreamer-internal race known to warn now and
 * then (its message containing @fragment) is logged and let through instead;
 * any other warning still fails the test. Call after rc_test_init. */
void rc_test_let_gstreamer_warning_through (const char *fragment);

/* One blocking main-context iteration that returns after at most @max_ms. */
void rc_test_iterate (guint max_ms);

/* Runs the main context for @ms (for "nothing else arrives" checks). */
void rc_test_run_for (guint ms);

/* How many times slower than a plain build this run is (RC_TEST_SLOWDOWN,
 * set for the sanitizer build): windows a test waits in scale by it. */
guint rc_test_slowdown (void);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
guint rc_test_free_port (void);
/* The same for UDP. */
guint rc_test_free_udp_port (void);

/* Parses @text as JSON; fails the test when it is not JSON. */
JsonNode *rc_test_parse (const char *text);

/* A string member of an object, or NULL. */
const char *rc_test_str (JsonObject *o, const char *name);
/* The title of a player state's song (stateUpdate, initialState.state, a
 * command's reply), or NULL when it has none. */
const char *rc_test_song_title (JsonObject *state);

G_END_DECLS

/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How many nice steps the media thread runs above the process. */
#define RC_THREAD_PRIORITY_STEPS 10

/*
 * Puts the calling thread (only it: Linux's nice is per thread) above the
 * process's other threads: RC_THREAD_PRIORITY_STEPS nice steps up, as far
 * as the process may go (CAP_SYS_NICE, or RLIMIT_NICE: systemd's
 * LimitNICE=, `ulimit -e`). Returns FALSE, with one message saying how to
 * allow it, when it may not move at all.
 */
gboolean rc_thread_raise_for_media (const char *what);

G_END_DECLS

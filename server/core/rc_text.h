/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Cleans user text (chat, display names, room names) before anything stores
 * or relays it: invalid UTF-8 replaced, control and format characters
 * removed (line breaks become spaces), runs of white space kept as they are,
 * trimmed, and cut to @max_chars characters. HTML is left alone: it is data,
 * and clients render it as text.
 */
char *rc_text_sanitize (const char *text, gsize max_chars);

G_END_DECLS

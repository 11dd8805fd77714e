/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Any thread: queues @func (@data) on @context at @priority; @destroy frees
 * @data once it has run (or if the context goes first).
 *
 * It never runs @func right away, even when called on the context's own
 * thread (g_main_context_invoke would, when nobody else owns the context at
 * that moment): GStreamer may call a pad probe synchronously from inside
 * the call that added it, where tearing the element down is not allowed,
 * and an owner's callbacks must never run from inside a call into it.
 * Every floor defers work this way, so it lives on the lowest one.
 */
void rc_defer (GMainContext *context, int priority, GSourceFunc func, gpointer data,
               GDestroyNotify destroy);

/* Destroys and unrefs *@source (a source its owner keeps a reference to)
 * and sets it to NULL; nothing when it is NULL already. */
void rc_source_clear (GSource **source);

G_END_DECLS

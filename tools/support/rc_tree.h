/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Deletes @path and everything below it (symbolic links are removed, never
 * followed). For the temporary folders tests and benchmarks make. */
void rc_remove_tree (const char *path);

G_END_DECLS

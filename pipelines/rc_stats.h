/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The @q quantile (0 to 1) of @doubles, a GArray of double, by nearest
 * rank without interpolation: of n values sorted ascending, the one at
 * rank ceil(q × n) (counted from 1, at least 1), so q = 0.5 of an even
 * count is the lower middle value, q = 0 the smallest, q = 1 the largest,
 * and every answer is one of the values. Sorts @doubles in place (a sorted
 * array stays as it is; NaN has no place in it). 0 when it is empty.
 */
double rc_percentile (GArray *doubles, double q);

G_END_DECLS

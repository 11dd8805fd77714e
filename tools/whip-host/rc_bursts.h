/* SPDX-License-Identifier: MIT */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * Timed tone bursts, for latency measurements (tools/bench-latency): a
 * source of silence in which burst k (k = 0, 1, ...) is a sine of `freq`
 * starting at phase 0 exactly at running time k × period_ms, lasting
 * burst_ms + 10 × (k mod 4) ms, so that a burst's length says which of
 * four it is (a listener can tell burst k from k ± 1..3 however late it
 * comes). Works on S16LE interleaved audio of any rate and channels.
 */
typedef struct
{
  double freq;      /* Hz */
  double amplitude; /* full scale 1 */
  double burst_ms;  /* length of bursts 0, 4, 8, ... */
  double period_ms; /* from one onset to the next */
} RcBursts;

/* Rewrites every buffer leaving @pad (raw S16LE audio) into the bursts. */
void rc_bursts_attach (GstPad *pad, const RcBursts *bursts);
/* The length of burst @k, ms. */
double rc_bursts_length_ms (const RcBursts *bursts, guint64 k);

G_END_DECLS

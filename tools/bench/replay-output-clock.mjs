#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Replays a bench-sync run through a version of the browser engine's output
// clock, offline. The run must have been kept with its diagnostics:
//
//   RC_BENCH_DIAG=1 build/tools/bench-sync --browsers 2 --speakers 2 --keep ...
//   node tools/bench/replay-output-clock.mjs /tmp/rc-bench-sync-XXXXXX [path/to/output-clock.js]
//
// (A version to compare goes beside the original in client-js/src/engine/:
// it imports ../clock.js.) Each page's NAME-diag.jsonl carries the clock's
// raw getOutputTimestamp samples; speakers-series.tsv each click's truth at
// the sink. At each click
// the replayed clock's line takes the place of the one the page used: the
// click's error had the page used it is the truth + (the page's line − the
// replayed line) at that context time. It ignores how the worklet would
// have followed the other line (its slew and resyncs), so read it as a
// comparison between versions, not as a figure at the speaker. Printed per
// page: the replayed clock's steps and rate, and the spread of those
// errors about their median (what a steady offset between pages does not
// explain).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { percentile as quantile } from '../../client-js/src/clock.js';

const [dir, modulePath = new URL('../../client-js/src/engine/output-clock.js', import.meta.url).pathname] = process.argv.slice(2);
if (!dir) {
  console.error('usage: replay-output-clock.mjs KEPT-RUN-DIR [output-clock.js]');
  process.exit(2);
}
const { OutputClock } = await import(pathToFileURL(path.resolve(modulePath)).href);
const series = readFileSync(path.join(dir, 'speakers-series.tsv'), 'utf8').split('\n');

for (const name of ['browser-1', 'browser-2', 'browser-3', 'browser-4']) {
  let rows;
  try {
    rows = readFileSync(path.join(dir, `${name}-diag.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    continue;
  }
  const raw = new Map();
  for (const r of rows) for (const [c, p] of r.samples || []) raw.set(c, p);
  const samples = [...raw.entries()].sort((a, b) => a[0] - b[0]);
  if (samples.length === 0) {
    console.log(`${name}: no raw samples (run kept before the diagnostics carried them)`);
    continue;
  }
  // Each click's context time: from the diagnostic row nearest in heard server time.
  const clicks = [];
  for (const line of series) {
    const f = line.split('\t');
    if (f[0] !== name || f[1] !== 'truth') continue;
    const at = Number(f[2]);
    let row = null;
    for (const r of rows) if (r.heard && (!row || Math.abs(r.heard - at) < Math.abs(row.heard - at))) row = r;
    if (!row || Math.abs(row.heard - at) > 300) continue;
    clicks.push({ t: row.ctxTime, truth: Number(f[3]), used: row.linePerf });
  }
  clicks.sort((a, b) => a.t - b.t);
  const clock = new OutputClock();
  const errors = [];
  let i = 0;
  for (const k of clicks) {
    while (i < samples.length && samples[i][0] <= k.t) clock.add(samples[i][0], samples[i][1]), i++;
    if (clock.size < 5) continue;
    errors.push(k.truth + k.used - clock.perfAt(k.t));
  }
  const mid = quantile(errors, 0.5);
  const dev = errors.map((e) => Math.abs(e - mid));
  console.log(`${name}: ${errors.length} clicks, ${clock.steps} steps, rate ${((clock.rate - 1) * 1e6).toFixed(0)} ppm; `
    + `error median ${mid.toFixed(2)} ms, |deviation| p50 ${quantile(dev, 0.5).toFixed(2)} p95 ${quantile(dev, 0.95).toFixed(2)} max ${Math.max(...dev).toFixed(2)} ms`);
}

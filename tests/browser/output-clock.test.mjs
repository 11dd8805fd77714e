// SPDX-License-Identifier: MIT
//
// The engine's output clock (client-js/src/engine/output-clock.js), in node:
// where a context time reaches the speaker, from getOutputTimestamp samples.
// What a listener would notice: jittery timestamps do not move the line
// (no slew, no resync), a real step of the output (an underrun under a
// busy audio server) is followed within 1.5 s instead of being smeared
// over ten (and shows in the residual the engine adds to its reported
// error before the line takes it), and a sound card 200 ppm fast is followed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputClock } from '../../client-js/src/engine/output-clock.js';

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds samples every 250 ms of context time from c0 for `seconds`; truth(c) gives the real performance time. */
function feed(clock, truth, { c0 = 1, seconds, jitterMs = 0, seed = 1 }) {
  const rnd = random(seed);
  for (let c = c0; c < c0 + seconds; c += 0.25) clock.add(c, truth(c) + (rnd() - 0.5) * 2 * jitterMs);
  return c0 + seconds;
}

test('jittery timestamps (±0.8 ms) leave the line within 0.4 ms of the truth', () => {
  const clock = new OutputClock();
  const truth = (c) => 5000 + c * 1000;
  let c = feed(clock, truth, { seconds: 20, jitterMs: 0.8 });
  let worst = 0;
  for (let i = 0; i < 40; i++) {
    c = feed(clock, truth, { c0: c, seconds: 0.25, jitterMs: 0.8, seed: i + 2 });
    worst = Math.max(worst, Math.abs(clock.perfAt(c) - truth(c)));
  }
  assert.ok(worst < 0.4, `worst error ${worst.toFixed(3)} ms`);
  assert.equal(clock.steps, 0, 'no step seen in jitter');
});

test('a 12 ms step of the output is followed within 1.5 s, not smeared over ten', () => {
  const clock = new OutputClock();
  const before = (c) => 5000 + c * 1000;
  let c = feed(clock, before, { seconds: 20, jitterMs: 0.3 });
  const after = (x) => before(x) + 12;
  c = feed(clock, after, { c0: c, seconds: 1.5, jitterMs: 0.3, seed: 7 });
  assert.ok(Math.abs(clock.perfAt(c) - after(c)) < 0.5, `1.5 s after the step the line is ${(clock.perfAt(c) - after(c)).toFixed(2)} ms off`);
  assert.equal(clock.steps, 1);
  c = feed(clock, after, { c0: c, seconds: 10, jitterMs: 0.3, seed: 8 });
  assert.ok(Math.abs(clock.perfAt(c) - after(c)) < 0.3, 'and stays on it');
  assert.ok(Math.abs(clock.residual()) < 0.5, 'with no residual');
});

test('a sound card 200 ppm fast is followed', () => {
  const clock = new OutputClock();
  const truth = (c) => 5000 + c * 1000 * (1 - 200e-6);
  const c = feed(clock, truth, { seconds: 30, jitterMs: 0.5 });
  assert.ok(Math.abs(clock.rate - (1 - 200e-6)) < 30e-6, `rate ${clock.rate}`);
  assert.ok(Math.abs(clock.perfAt(c + 1) - truth(c + 1)) < 0.3);
  assert.equal(clock.steps, 0);
});

test('a step the line has not taken yet shows in the residual at once', () => {
  const clock = new OutputClock();
  const before = (c) => 5000 + c * 1000;
  let c = feed(clock, before, { seconds: 20, jitterMs: 0.3 });
  assert.ok(Math.abs(clock.residual()) < 0.5, 'steady: no residual');
  const after = (x) => before(x) + 12;
  c = feed(clock, after, { c0: c, seconds: 0.5, jitterMs: 0.3, seed: 5 });
  assert.equal(clock.steps, 0, 'two samples are not a step yet');
  assert.ok(Math.abs(clock.residual() - 12) < 1.5, `residual ${clock.residual().toFixed(2)} ms`);
});

/**
 * Chromium's timestamps under PulseAudio (measured with bench-sync's
 * RC_BENCH_DIAG): the intercept falls ~8 ms a second, then jumps back up
 * about every 1.3 s, 10 ms from peak to peak, while the sound itself is
 * steady. truth(c) is the middle of the sawtooth.
 */
function sawtooth(c, periodS = 1.3, peakToPeakMs = 10) {
  const phase = (c % periodS) / periodS;
  return peakToPeakMs / 2 - phase * peakToPeakMs;
}

test('a 10 ms sawtooth in the timestamps moves the line by under 1 ms and is never a step', () => {
  const clock = new OutputClock();
  const truth = (c) => 5000 + c * 1000;
  const lines = [];
  for (let c = 1; c < 31; c += 0.05) {
    clock.add(c, truth(c) + sawtooth(c));
    if (c > 11) lines.push(clock.perfAt(c) - truth(c));
  }
  assert.equal(clock.steps, 0, `${clock.steps} steps seen in the sawtooth`);
  const spread = Math.max(...lines) - Math.min(...lines);
  assert.ok(spread < 1, `the line moved by ${spread.toFixed(2)} ms`);
  assert.ok(Math.abs(lines[lines.length - 1]) < 1, `and sits ${lines[lines.length - 1].toFixed(2)} ms off`);
});

test('a 12 ms step under the sawtooth is followed within half a second, then settles', () => {
  // (Comparing 1.5 s medians, an earlier version had not taken it at 0.5 s.)
  const clock = new OutputClock();
  const before = (c) => 5000 + c * 1000;
  const after = (c) => before(c) + 12;
  let c = 1;
  for (; c < 21; c += 0.05) clock.add(c, before(c) + sawtooth(c));
  const stepAt = c;
  for (; c < stepAt + 0.5; c += 0.05) clock.add(c, after(c) + sawtooth(c));
  assert.equal(clock.steps, 1, 'the step is seen');
  assert.ok(Math.abs(clock.perfAt(c) - after(c)) < 5, `0.5 s after the step the line is ${(clock.perfAt(c) - after(c)).toFixed(2)} ms off`);
  for (; c < stepAt + 2; c += 0.05) clock.add(c, after(c) + sawtooth(c));
  assert.ok(Math.abs(clock.perfAt(c) - after(c)) < 3, `2 s after the step the line is ${(clock.perfAt(c) - after(c)).toFixed(2)} ms off`);
  for (; c < stepAt + 12; c += 0.05) clock.add(c, after(c) + sawtooth(c));
  assert.equal(clock.steps, 1, 'and no other');
  assert.ok(Math.abs(clock.perfAt(c) - after(c)) < 1, `then sits ${(clock.perfAt(c) - after(c)).toFixed(2)} ms off`);
});

test('the sawtooth does not tilt the rate: a sink on the page clock reads within 30 ppm of it', () => {
  // Earlier versions fitted a least-squares line through the raw samples:
  // under this sawtooth its rate sat at the ±300 ppm limit for whole runs
  // (bench-sync's diag rows), and the line ran off by up to 1.5 ms.
  const clock = new OutputClock();
  const truth = (c) => 5000 + c * 1000;
  let worst = 0;
  for (let c = 1; c < 61; c += 0.05) {
    clock.add(c, truth(c) + sawtooth(c));
    if (c > 25) worst = Math.max(worst, Math.abs(clock.rate - 1));
  }
  assert.ok(worst < 30e-6, `the rate strayed ${(worst * 1e6).toFixed(0)} ppm from the truth`);
  assert.equal(clock.steps, 0);
});

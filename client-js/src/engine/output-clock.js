// SPDX-License-Identifier: MIT
//
// When does a context time reach the speaker? The line through
// AudioContext.getOutputTimestamp() samples (context time c, s →
// performance.now() p, ms), kept free of Web Audio so node can test it.
//
// What the samples look like (Chromium on PulseAudio, measured with
// bench-sync's RC_BENCH_DIAG): the intercept p − c·1000 is a sawtooth about
// 10 ms from peak to peak, falling ~2 ms every quarter second and jumping
// back up about every 1.3 s, while the audio that reaches the sink is
// steady to a tenth of a millisecond over the same seconds. Each sample is
// off by up to ±5 ms; only many of them say where the line is. Real steps
// exist too: when the renderer misses a deadline the audio server plays
// silence and everything after it comes out later.
//
// So:
// - the offset is the median intercept of the samples of the last LEVEL_S
//   since the last step (several periods of the sawtooth: it averages out);
// - the rate (sound card vs performance clock, ±300 ppm) is the median of
//   the slopes between one-second medians of the intercept over up to
//   RATE_KEEP_S since the last step, once they span RATE_SPAN_S. A least-
//   squares line through the raw samples over ten seconds (an earlier
//   version) was tilted by the sawtooth's last partial period by up to
//   ±1,000 ppm: on a sink that runs on the very clock of performance.now()
//   it sat at the ±300 ppm limit for whole runs, and the line drifted by up
//   to 1.5 ms from its middle to its end;
// - a step is the median intercept of the last RECENT_S off the level of
//   the samples before it by more than STEP_MS, more than the sawtooth can
//   move the median of so short a window. A step shows at the very next
//   sample, so the line follows it within about RECENT_S (an earlier version
//   compared medians of 1.5 s, and followed an underrun about a second
//   later, while the speaker was off by the whole step);
// - after a step the window starts again from the samples after it, and
//   the worklet slews or, past 5 ms, resyncs onto the new line once.
// It takes samples at any rate; the engine takes one every SAMPLE_MS.

import { median } from '../clock.js';

export const SAMPLE_MS = 50;
const LEVEL_S = 10;
const RATE_KEEP_S = 30;
const RATE_SPAN_S = 20;       // a shorter span gives a noisier rate than the clocks really differ
const RATE_MIN_GAP_S = 5;     // slopes only between seconds this far apart
const MAX_PPM = 300;
const RECENT_S = 0.3;
const MIN_RECENT = 5;
const STEP_MS = 8;
const RESIDUAL_S = 0.5;
const KEEP_MAX = 1000;

export class OutputClock {
  constructor() {
    this.samples = [];   // { c, p }, since the last step
    this.rate = 1;       // performance ms per context ms
    this.steps = 0;
  }

  get size() {
    return this.samples.length;
  }

  /** One getOutputTimestamp sample; returns false when it was not newer than the last. */
  add(c, p) {
    const s = this.samples;
    if (!(c > 0) || !(p > 0) || (s.length && c <= s[s.length - 1].c)) return false;
    s.push({ c, p });
    while (s.length > KEEP_MAX || (s.length > 1 && s[0].c < c - RATE_KEEP_S)) s.shift();
    this.detectStep();
    if (Math.floor(c) !== Math.floor(s.length > 1 ? s[s.length - 2].c : -1)) this.fitRate();
    return true;
  }

  intercept(sample) {
    return sample.p - sample.c * 1000 * this.rate;
  }

  /** Index of the first sample of the last `seconds` (context time). */
  since(seconds) {
    const s = this.samples;
    const from = s[s.length - 1].c - seconds;
    let i = s.length;
    while (i > 0 && s[i - 1].c > from) i--;
    return i;
  }

  detectStep() {
    const s = this.samples;
    const split = Math.min(this.since(RECENT_S), s.length - MIN_RECENT);
    // Enough older samples to know their level: a second of them.
    if (split < MIN_RECENT || s[split - 1].c - s[0].c < 1) return;
    const olderMid = this.level(Math.min(this.since(LEVEL_S + RECENT_S), split - MIN_RECENT), split);
    const recentMid = this.level(split);
    if (Math.abs(recentMid - olderMid) > STEP_MS) {
      // The samples after the step: those of the recent window nearer the new level.
      this.samples = s.slice(split).filter((x) => {
        const b = this.intercept(x);
        return Math.abs(b - recentMid) < Math.abs(b - olderMid);
      });
      this.steps += 1;
    }
  }

  /** Once a second: the median slope between one-second medians (Theil–Sen). */
  fitRate() {
    const s = this.samples;
    if (s.length < 2 || s[s.length - 1].c - s[0].c < RATE_SPAN_S) return; // keep the last rate
    const seconds = [];
    for (let i = 0; i < s.length;) {
      const sec = Math.floor(s[i].c);
      const group = [];
      for (; i < s.length && Math.floor(s[i].c) === sec; i++) group.push(s[i]);
      seconds.push({ c: median(group.map((x) => x.c)), b: median(group.map((x) => x.p - x.c * 1000)) });
    }
    const slopes = [];
    for (let i = 0; i < seconds.length; i++) {
      for (let j = i + 1; j < seconds.length; j++) {
        const dc = seconds[j].c - seconds[i].c;
        if (dc >= RATE_MIN_GAP_S) slopes.push((seconds[j].b - seconds[i].b) / (dc * 1000));
      }
    }
    if (slopes.length < 10) return;
    const limit = MAX_PPM * 1e-6;
    this.rate = 1 + Math.max(-limit, Math.min(limit, median(slopes)));
  }

  /** The median intercept of samples [from, to). */
  level(from, to = this.samples.length) {
    return median(this.samples.slice(from, to).map((x) => this.intercept(x)));
  }

  /** The median intercept of the last `seconds` (at least the newest sample). */
  recentLevel(seconds) {
    return this.level(Math.min(this.since(seconds), this.samples.length - 1));
  }

  /** The line's intercept (ms): performance time of context time 0. */
  lineIntercept() {
    return this.recentLevel(LEVEL_S);
  }

  /** performance.now() at which context time t (s) reaches the output, or null before any sample. */
  perfAt(t) {
    if (this.samples.length === 0) return null;
    return this.lineIntercept() + t * 1000 * this.rate;
  }

  /**
   * How much later (ms) the output is now than the line says: the newest
   * samples (median over RESIDUAL_S) against the line. About 0 when steady
   * (within the sawtooth's spread); a step the line has not taken yet shows
   * here at once, so the engine's reported error carries it instead of
   * claiming sync.
   */
  residual() {
    if (this.samples.length === 0) return 0;
    return this.recentLevel(RESIDUAL_S) - this.lineIntercept();
  }
}

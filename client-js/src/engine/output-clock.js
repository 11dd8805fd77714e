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
// - the rate (sound card vs performance clock, ±300 ppm) is fitted over a
//   long span, only over samples since the last step;
// - the offset is the mean intercept, under that rate, of the samples since
//   the last step (up to KEEP_S of them: the sawtooth averages out);
// - a step is the median intercept of the last RECENT_S off the older
//   samples' median by more than a threshold that grows with the spread of
//   the samples themselves (STEP_SIGMAS robust standard deviations, at
//   least STEP_MIN_MS). The first version took 1.5 ms for a step: with the
//   sawtooth above it saw a "step" every second or two, restarted its line
//   from five samples, and the worklet resynced onto a line tens of ms off:
//   the plateaus and jumps measured at the speaker (issue 12);
// - after a step the window starts again from the samples after it, so the
//   line follows a real step within about RECENT_S, and the worklet slews
//   or, past 5 ms, resyncs onto it once.
// It takes samples at any rate; the engine takes one every SAMPLE_MS.

import { median, slope } from '../clock.js';

export const SAMPLE_MS = 50;
const KEEP_S = 10;
const MIN_RATE_SPAN_S = 8;   // a shorter span gives a noisier rate than the clocks really differ
const MAX_PPM = 300;
const RECENT_S = 1.5;        // more than one period of the sawtooth
const MIN_RECENT = 5;
const RESIDUAL_S = 0.5;
const STEP_MIN_MS = 3;
const STEP_SIGMAS = 3;
const KEEP_MAX = 1000;

export class OutputClock {
  constructor() {
    this.samples = [];   // { c, p }
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
    while (s.length > KEEP_MAX || (s.length > 1 && s[0].c < c - KEEP_S)) s.shift();
    this.detectStep();
    this.fitRate();
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
    // Enough older samples to know their spread: as long as the recent window.
    if (split < MIN_RECENT || s[split - 1].c - s[0].c < RECENT_S) return;
    const older = s.slice(0, split).map((x) => this.intercept(x));
    const recentValues = s.slice(split).map((x) => this.intercept(x));
    const olderMid = median(older);
    const recentMid = median(recentValues);
    const sigma = 1.4826 * median(older.map((v) => Math.abs(v - olderMid)));
    if (Math.abs(recentMid - olderMid) > Math.max(STEP_MIN_MS, STEP_SIGMAS * sigma)) {
      // The samples after the step: those of the recent window nearer the new level.
      this.samples = s.slice(split).filter((x) => {
        const b = this.intercept(x);
        return Math.abs(b - recentMid) < Math.abs(b - olderMid);
      });
      this.steps += 1;
    }
  }

  fitRate() {
    // Not the newest: they may be the start of a step (and at the end of the
    // span they would tilt the line most).
    const all = this.samples;
    if (all.length < 2) return;
    const end = Math.min(this.since(RECENT_S), all.length);
    const s = end >= 2 ? all.slice(0, end) : all;
    const n = s.length;
    if (n < 2 || s[n - 1].c - s[0].c < MIN_RATE_SPAN_S) return; // keep the last rate
    const fitted = slope(s, (x) => x.c, (x) => x.p) / 1000;
    if (!Number.isFinite(fitted)) return;
    const limit = MAX_PPM * 1e-6;
    this.rate = Math.max(1 - limit, Math.min(1 + limit, fitted));
  }

  /** The line's intercept (ms): performance time of context time 0. */
  lineIntercept() {
    const s = this.samples;
    return s.reduce((a, x) => a + this.intercept(x), 0) / s.length;
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
    const s = this.samples;
    if (s.length === 0) return 0;
    const from = Math.min(this.since(RESIDUAL_S), s.length - 1);
    return median(s.slice(from).map((x) => this.intercept(x))) - this.lineIntercept();
  }
}

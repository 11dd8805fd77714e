// SPDX-License-Identifier: MIT
//
// When does a context time reach the speaker? The line through
// AudioContext.getOutputTimestamp() samples (context time c, s →
// performance.now() p, ms), kept free of Web Audio so node can test it.
//
// Why not one least-squares line through the last 10 s (what the engine
// did): under a real audio server the line is not one line. When the
// renderer misses a deadline the server plays silence and everything after
// it comes out later: the output steps. A fit through 10 s of samples
// straddling the step moves over by a tenth of it each second, so the map
// slewed ~1 ms/s (faster than the worklet's 500 ppm can follow) for 10 s,
// then resynced: the plateaus and jumps measured at the speaker (issue 12),
// while the page believed itself in sync. So the two things are separated:
// - the rate (sound card vs performance clock, ±300 ppm) is fitted over a
//   long span, but only over samples since the last step;
// - the offset is the mean intercept, under that rate, of the samples since
//   the last step (up to 10 s of them: the jitter averages out);
// - a step (the median intercept of the last OFFSET_KEEP samples off the
//   older ones' by STEP_MS: one late timestamp is not a step) starts the
//   window again from the samples after it, so the line follows the output
//   within ≈ 1.25 s (at 4 samples a second), and the worklet slews or, past
//   5 ms, resyncs onto it once.

import { median, slope } from '../clock.js';

const KEEP = 40;             // 10 s at 4 samples a second
const MIN_RATE_SPAN_S = 8;   // a shorter span gives a noisier rate than the clocks really differ
const MAX_PPM = 300;
const OFFSET_KEEP = 5;
const RESIDUAL_KEEP = 3;
const STEP_MS = 1.5;         // above getOutputTimestamp's jitter under PulseAudio (< 1 ms)

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
    if (s.length > KEEP) s.shift();
    this.detectStep();
    this.fitRate();
    return true;
  }

  intercept(sample) {
    return sample.p - sample.c * 1000 * this.rate;
  }

  detectStep() {
    const s = this.samples;
    if (s.length < 2 * OFFSET_KEEP) return;
    const recent = median(s.slice(-OFFSET_KEEP).map((x) => this.intercept(x)));
    const older = median(s.slice(0, -OFFSET_KEEP).map((x) => this.intercept(x)));
    if (Math.abs(recent - older) > STEP_MS) {
      // The samples after the step: those of the last few nearer the new line.
      this.samples = s.slice(-OFFSET_KEEP).filter((x) => {
        const b = this.intercept(x);
        return Math.abs(b - recent) < Math.abs(b - older);
      });
      this.steps += 1;
    }
  }

  fitRate() {
    // Not the newest few: they may be the start of a step (and at the end
    // of the span they would tilt the line most).
    const all = this.samples;
    const s = all.length > 2 * OFFSET_KEEP ? all.slice(0, -OFFSET_KEEP) : all;
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
   * samples (median of RESIDUAL_KEEP) against the line. About 0 when steady;
   * a step the line has not taken yet shows here at once, so the engine's
   * reported error carries it instead of claiming sync.
   */
  residual() {
    const s = this.samples;
    if (s.length === 0) return 0;
    return median(s.slice(-RESIDUAL_KEEP).map((x) => this.intercept(x))) - this.lineIntercept();
  }
}

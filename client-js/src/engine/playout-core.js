// SPDX-License-Identifier: MIT
//
// The heart of the AudioWorklet, kept free of Web Audio so node can test it:
// a ring of decoded PCM indexed by the engine's sample index n (48 kHz
// samples from the engine's epoch, see timeline.js), and a reader that
// renders, at each output frame, the sample the room's timeline says belongs
// there.
//
// The main thread sends a map: at context time t (seconds) the output should
// be at source sample target(t) = n0 + slope·(t − t0). slope carries every
// clock's rate (server vs. performance.now vs. the sound card), so following
// it already absorbs steady drift. The read position follows the target:
// - within RESYNC_MS of it, by resampling at most MAX_PPM faster or slower:
//   inaudible. A PI controller, critically damped (time constant TAU_S), so
//   a drift the map has not caught up with yet leaves no steady error;
// - beyond, or at the start, by jumping to it (a resync, counted).
// Reading uses 4-point Hermite interpolation; a sample that never arrived
// reads as silence (a gap, counted in frames). A packet that arrives after the
// reader has passed its start is late (an underrun, counted).
//
// Each slot of the ring remembers which sample index it holds, so stale data
// from a lap ago never plays.
//
// A map may carry a step (a change of the playout delay announced ahead):
// at context time step.at the target and the read position both move by
// step.dn source samples, at that very frame, without a resync. A step back
// (the delay rose) plays silence until the reader is past where it stepped
// from: what lies between was heard already. Steps are known by id, so a map
// sent before the step was taken (still carrying it) is moved, not taken twice.

export const RING_FRAMES = 1 << 17; // 2.7 s at 48 kHz: more than any playout delay
export const RESYNC_MS = 5;
export const MAX_PPM = 500;
export const TAU_S = 1;
const KI = 1 / (4 * TAU_S * TAU_S); // critical damping with the proportional part 1/TAU_S
const SOURCE_RATE = 48000;

export class PlayoutCore {
  constructor({ sampleRate = 48000, channels = 2, ringFrames = RING_FRAMES } = {}) {
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.size = ringFrames;
    this.mask = ringFrames - 1;
    this.ring = Array.from({ length: channels }, () => new Float32Array(ringFrames));
    this.stamps = new Float64Array(ringFrames).fill(-1);
    this.map = null;       // { t0, n0, slope }
    this.step = null;      // { id, at, dn }, pending
    this.stepId = null;    // the id of the last step taken
    this.muteBelow = -Infinity; // silence while the reader is below this
    this.locked = false;
    this.ipos = 0;         // read position: integer part …
    this.frac = 0;         // … and fraction
    this.lastRate = 1;     // last step (source samples per output frame)
    this.integral = 0;     // the controller's integral term (a rate, like the correction)
    // Counters, cumulative: the owner reads differences.
    this.written = 0;
    this.late = 0;
    this.early = 0;
    this.resyncs = 0;
    this.renderedFrames = 0;
    this.gapFrames = 0;
    this.energy = 0;       // Σ x² over rendered frames, channel 0
    this.lastErrorSamples = 0;
    this.blockStart = 0;     // the source position the first frame of the last block played
    this.lastValid = false; // the first frame of the last block had real data
    this.highest = -Infinity; // end of the newest data written
  }

  setMap(map) {
    if (!map || ![map.t0, map.n0, map.slope].every(Number.isFinite) || map.slope <= 0) return;
    this.map = { t0: map.t0, n0: map.n0, slope: map.slope };
    const step = map.step;
    this.step = null;
    if (!step || !Number.isFinite(step.at) || !Number.isInteger(step.dn)) return;
    if (step.id === this.stepId) this.map.n0 += step.dn; // taken already
    else this.step = { id: step.id, at: step.at, dn: step.dn };
  }

  /** Takes the pending step: target and reader jump together. */
  takeStep() {
    const { id, dn } = this.step;
    this.step = null;
    this.stepId = id;
    this.map.n0 += dn;
    if (!this.locked) return;
    if (dn < 0) this.muteBelow = this.ipos;
    this.ipos += dn;
  }

  /** Drops everything (a new session, or the owner stops). */
  reset() {
    this.stamps.fill(-1);
    this.locked = false;
    this.highest = -Infinity;
  }

  get position() {
    return this.ipos + this.frac;
  }

  /** Writes `frames` samples starting at sample index n. channels: Float32Array per channel (one is duplicated). */
  write(n, channels, frames) {
    if (!Number.isInteger(n) || frames <= 0) return;
    if (this.locked && n + frames <= this.ipos) {
      this.late += 1;
      return;
    }
    if (this.locked && n >= this.ipos + this.size) {
      this.early += 1;
      return;
    }
    if (this.locked && n < this.ipos) this.late += 1; // the front of it is already gone
    for (let c = 0; c < this.channels; c++) {
      const src = channels[Math.min(c, channels.length - 1)];
      const dst = this.ring[c];
      for (let i = 0; i < frames; i++) dst[(n + i) & this.mask] = src[i];
    }
    for (let i = 0; i < frames; i++) this.stamps[(n + i) & this.mask] = n + i;
    this.written += 1;
    if (n + frames > this.highest) this.highest = n + frames;
  }

  /** The source position the output should be at, context time t (s). */
  target(t) {
    const m = this.map;
    return m.n0 + m.slope * (t - m.t0);
  }

  /**
   * Renders out.length channels × frames starting at context time t (s).
   * Returns false (and writes silence) without a map.
   */
  render(out, frames, t) {
    if (!this.map) {
      for (const ch of out) ch.fill(0, 0, frames);
      return false;
    }
    const step = this.step;
    if (step && step.at < t + frames / this.sampleRate) {
      // The frame heard at the step's time, within this quantum.
      const k = Math.max(0, Math.min(frames, Math.ceil((step.at - t) * this.sampleRate - 1e-9)));
      if (k > 0) this.renderRange(out, 0, k, t);
      this.takeStep();
      if (k < frames) this.renderRange(out, k, frames - k, t + k / this.sampleRate, k > 0);
      return true;
    }
    this.renderRange(out, 0, frames, t);
    return true;
  }

  /**
   * Renders frames [from, from + frames) of out starting at context time t;
   * `continued`: the second part of a quantum (its report figures stay the first part's).
   */
  renderRange(out, from, frames, t, continued = false) {
    const target = this.target(t);
    let err = this.ipos + this.frac - target;
    if (!this.locked || Math.abs(err) > RESYNC_MS * SOURCE_RATE / 1000) {
      if (this.locked) this.resyncs += 1;
      this.locked = true;
      this.ipos = Math.floor(target);
      this.frac = target - this.ipos;
      this.integral = 0;
      err = 0;
    }
    if (!continued) {
      this.lastErrorSamples = err;
      this.blockStart = this.ipos + this.frac;
    }
    const nominal = this.map.slope / this.sampleRate;
    const limit = MAX_PPM * 1e-6;
    const e = err / SOURCE_RATE; // seconds ahead of the target
    this.integral = Math.max(-limit, Math.min(limit, this.integral + KI * e * (frames / this.sampleRate)));
    const correction = Math.max(-limit, Math.min(limit, -e / TAU_S - this.integral));
    const step = nominal * (1 + correction);
    this.lastRate = step;

    const stamps = this.stamps;
    const mask = this.mask;
    const ring = this.ring;
    let ipos = this.ipos;
    let frac = this.frac;
    let gaps = 0;
    let energy = 0;
    const muteBelow = this.muteBelow;
    if (!continued) this.lastValid = stamps[ipos & mask] === ipos;
    for (let j = 0; j < frames; j++) {
      const i = from + j;
      const i1 = ipos & mask;
      const ok1 = stamps[i1] === ipos;
      if (ipos < muteBelow) {
        for (let c = 0; c < out.length; c++) out[c][i] = 0;
      } else if (ok1) {
        const i0 = (ipos - 1) & mask;
        const i2 = (ipos + 1) & mask;
        const i3 = (ipos + 2) & mask;
        const full = stamps[i0] === ipos - 1 && stamps[i2] === ipos + 1 && stamps[i3] === ipos + 2;
        for (let c = 0; c < out.length; c++) {
          const r = ring[Math.min(c, ring.length - 1)];
          const y1 = r[i1];
          out[c][i] = full ? hermite(frac, r[i0], y1, r[i2], r[i3]) : y1;
        }
      } else {
        gaps += 1;
        for (let c = 0; c < out.length; c++) out[c][i] = 0;
      }
      const x = out[0][i];
      energy += x * x;
      frac += step;
      const whole = Math.floor(frac);
      ipos += whole;
      frac -= whole;
    }
    this.ipos = ipos;
    this.frac = frac;
    if (ipos >= muteBelow) this.muteBelow = -Infinity;
    this.renderedFrames += frames;
    this.gapFrames += gaps;
    this.energy += energy;
  }
}

/** 4-point, 3rd-order Hermite (Catmull-Rom) interpolation between y1 and y2 at x ∈ [0, 1). */
export function hermite(x, y0, y1, y2, y3) {
  const c1 = 0.5 * (y2 - y0);
  const c2 = y0 - 2.5 * y1 + 2 * y2 - 0.5 * y3;
  const c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2);
  return ((c3 * x + c2) * x + c1) * x + y1;
}

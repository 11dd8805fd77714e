// SPDX-License-Identifier: MIT
//
// The server clock, as seen from this page. Every Opus packet of a room has a
// server-clock time C and is rendered at C + D, so the player needs "what
// time is it on the server" to well under a millisecond.
//
// NTP-style exchanges (`timeSync`, docs/protocol.md) over the signalling
// socket: a burst at every socket open, then one every few seconds. Each
// gives a round trip and an offset (server − local, local being
// performance.now() of this page). Exchanges with a long round trip carry
// their queueing in the offset, so only those near the smallest recent round
// trip count: their median is the offset, and once they span long enough a
// least-squares line through them gives the drift (the two clocks' rates
// differ by tens of ppm) too.
//
// ClockEstimator is the pure arithmetic (tested in node); ServerClock runs
// the exchanges on a Signalling.

const BURST = 8;
const BURST_GAP_MS = 60;
const INTERVAL_MS = 3000;
const KEEP_MS = 120000;        // exchanges older than this are forgotten
const KEEP_MAX = 64;
const DRIFT_MIN_SPAN_MS = 20000;
const DRIFT_MIN_SAMPLES = 6;
const DRIFT_MAX = 500e-6;      // real crystals are well inside this

export class ClockEstimator {
  constructor() {
    this.samples = []; // { t: local midpoint, offset, rtt }
    this.offset = 0;   // server − local at `ref`
    this.drift = 0;    // d(offset)/d(local)
    this.ref = 0;
    this.rtt = Infinity;
    this.count = 0;
  }

  /** One exchange: t0/t3 on the local clock, t1/t2 on the server's. Returns false if unusable. */
  add({ t0, t1, t2, t3 }) {
    if (![t0, t1, t2, t3].every(Number.isFinite)) return false;
    const rtt = (t3 - t0) - (t2 - t1);
    if (rtt < 0 || t3 < t0) return false;
    const offset = ((t1 - t0) + (t2 - t3)) / 2;
    this.samples.push({ t: (t0 + t3) / 2, offset, rtt });
    const oldest = t3 - KEEP_MS;
    while (this.samples.length > KEEP_MAX || (this.samples.length > BURST && this.samples[0].t < oldest)) {
      this.samples.shift();
    }
    this.count += 1;
    this.update();
    return true;
  }

  get synced() {
    return this.samples.length > 0;
  }

  /** The samples that count: round trips near the smallest one. */
  best() {
    const minRtt = Math.min(...this.samples.map((s) => s.rtt));
    const limit = Math.max(minRtt * 1.5, minRtt + 1);
    const good = this.samples.filter((s) => s.rtt <= limit);
    if (good.length >= 3) return good;
    return [...this.samples].sort((a, b) => a.rtt - b.rtt).slice(0, 3).sort((a, b) => a.t - b.t);
  }

  update() {
    if (this.samples.length === 0) return;
    const best = this.best();
    this.rtt = Math.min(...best.map((s) => s.rtt));
    const span = best[best.length - 1].t - best[0].t;
    if (best.length >= DRIFT_MIN_SAMPLES && span >= DRIFT_MIN_SPAN_MS) {
      const fitted = slope(best, (s) => s.t, (s) => s.offset);
      const mt = best.reduce((a, s) => a + s.t, 0) / best.length;
      const drift = Number.isFinite(fitted) ? Math.max(-DRIFT_MAX, Math.min(DRIFT_MAX, fitted)) : 0;
      // The line through the mean with that slope, robust to one outlier: the
      // intercept is the median of the residual-corrected offsets.
      const corrected = best.map((s) => s.offset - drift * (s.t - mt));
      this.ref = mt;
      this.offset = median(corrected);
      this.drift = drift;
    } else {
      this.ref = best[best.length - 1].t;
      this.offset = median(best.map((s) => s.offset));
      this.drift = 0;
    }
  }

  /** Local time (ms) → server time (ms). */
  toServer(local) {
    return local + this.offset + this.drift * (local - this.ref);
  }

  /** Server time (ms) → local time (ms). */
  toLocal(server) {
    // server = local(1 + drift) + offset − drift·ref
    return (server - this.offset + this.drift * this.ref) / (1 + this.drift);
  }
}

/** The least-squares slope of y over x through the items (NaN when x does not vary). */
export function slope(items, x, y) {
  const n = items.length;
  const mx = items.reduce((a, it) => a + x(it), 0) / n;
  const my = items.reduce((a, it) => a + y(it), 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const it of items) {
    sxx += (x(it) - mx) ** 2;
    sxy += (x(it) - mx) * (y(it) - my);
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/** The q-quantile (0..1) of the values: the sorted value at ⌊q·n⌋ (undefined when empty). */
export function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export class ServerClock {
  /** sig: a Signalling. onChange(): called after every accepted exchange. */
  constructor(sig, { onChange = () => {} } = {}) {
    this.sig = sig;
    this.onChange = onChange;
    this.estimator = new ClockEstimator();
    this.timer = 0;
    this.running = false;
    this.offs = [sig.on('socket:open', () => this.burst()), sig.on('socket:close', () => clearTimeout(this.timer))];
    if (sig.connected) this.burst();
  }

  get synced() {
    return this.estimator.synced;
  }

  /** The server clock now, ms. */
  now() {
    return this.estimator.toServer(performance.now());
  }

  toServer(local) {
    return this.estimator.toServer(local);
  }

  toLocal(server) {
    return this.estimator.toLocal(server);
  }

  /** What a worker needs to read the server clock from performance.timeOrigin + performance.now(). */
  absoluteMap() {
    const origin = performance.timeOrigin;
    const e = this.estimator;
    return { offset: e.offset - origin, drift: e.drift, ref: e.ref + origin };
  }

  /** Seeds the estimate from initialState.clock.now before the first exchange comes back. */
  seed(serverNow, localAt = performance.now()) {
    if (this.synced || !Number.isFinite(serverNow)) return;
    this.estimator.offset = serverNow - localAt;
    this.estimator.ref = localAt;
  }

  burst() {
    clearTimeout(this.timer);
    let left = BURST;
    const next = () => {
      if (!this.sig.connected) return;
      this.exchange();
      left -= 1;
      this.timer = setTimeout(next, left > 0 ? BURST_GAP_MS : INTERVAL_MS);
      if (left <= 0) left = 1;
    };
    next();
  }

  async exchange() {
    const t0 = performance.now();
    let reply;
    try {
      reply = await this.sig.request({ type: 'timeSync', t0 }, { timeout: 5000 });
    } catch {
      return; // dropped socket or an old server: the next one will tell
    }
    const t3 = performance.now();
    if (this.estimator.add({ t0, t1: reply.t1, t2: reply.t2, t3 })) {
      try { this.onChange(); } catch (err) { console.error('roomcast: clock listener failed', err); }
    }
  }

  dispose() {
    clearTimeout(this.timer);
    this.offs.splice(0).forEach((off) => off());
  }
}

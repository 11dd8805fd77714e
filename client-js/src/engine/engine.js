// SPDX-License-Identifier: MIT
//
// The playout engine, main-thread side: renders the room's sample C at
// server time C + D (+ the user's latency offset) on this machine's output,
// whichever transport brings the packets.
//
//   transport ─► decode worker (worker.js: C, arrival, Opus → PCM)
//                     │ MessagePort
//                     ▼
//   AudioWorkletNode "roomcast-playout" (worklet.js: ring + clocked reader) ─► gain ─► speakers
//
// The main thread owns the clocks. Four times a second it composes
//   context time t ─(OutputClock: getOutputTimestamp, output-clock.js)─► performance.now() when frame t
//   reaches the output ─(ServerClock)─► server time S, + latency offset L
// and sends the worklet the line "at t play source sample (S(t) + L − D − epoch)·48".
// getOutputTimestamp already includes the output latency (in Chromium
// currentTime − contextTime ≈ outputLatency), so outputLatency is used only
// when the timestamp is not available yet.
//
// The playout error is measured from what the worklet says it actually
// played: position p at frame f is sample C = epoch + p/48 heard at
// S(f/sampleRate) + L; error = that − (C + D), positive = late, plus how far
// the newest getOutputTimestamp samples are off the line the map was built
// from (a step of the output the line has not followed yet: without it the
// error only said how well the worklet follows the map, and read 0 while
// the speaker was tens of ms off). Only frames that played real data count.
//
// A change of D comes announced for a heard time H (`playoutDelayAt`): until
// the output reaches H the map keeps the old D and carries the step; the
// worklet takes it at the frame heard at H (no resync), as every other guest
// does at the same instant. A rise leaves a silence of the rise, a fall skips
// that much audio.

import { SAMPLES_PER_MS } from './timeline.js';
import { OutputClock, SAMPLE_MS } from './output-clock.js';
import { median, percentile } from '../clock.js';

const MAP_INTERVAL_MS = 250;
const IN_SYNC_MS = 5;
const RECENT_ERRORS = 16;         // ≈ 1 s of worklet reports

export class PlayoutEngine {
  /**
   * clock: a ServerClock. options.decoder: 'auto' | 'webcodecs' | 'wasm'.
   * onChange(): the engine's state changed (running, blocked, receiving).
   */
  constructor(clock, { decoder = 'auto', latencyOffset = 0, onChange = () => {} } = {}) {
    this.clock = clock;
    this.decoderKind = decoder;
    this.latencyOffset = latencyOffset;
    this.onChange = onChange;
    this.ctx = null;
    this.node = null;
    this.gain = null;
    this.worker = null;
    this.starting = null;
    this.epoch = null;
    this.playoutDelay = null;
    this.delayChange = null; // { at: H (server ms), before: D until H }
    this.timeline = null;
    this.output = new OutputClock();
    this.mapTimer = 0;
    this.outputTimer = 0;
    this.volume = 1;
    this.muted = false;
    this.captures = new Map();
    this.nextCapture = 1;
    // Measurements: the latest from the worklet and worker, and per report period.
    this.worklet = null;      // last worklet report
    this.workerStats = null;  // last worker stats
    this.recentErrors = [];
    this.period = this.newPeriod();
    this.closed = false;
  }

  newPeriod() {
    return {
      errors: [], delays: [],
      late: this.worklet ? this.worklet.late : 0,
      resyncs: this.worklet ? this.worklet.resyncs : 0,
    };
  }

  /** Creates the audio graph and the worker (once). Resolves when the worklet is loaded. */
  start() {
    if (!this.starting) this.starting = this.build();
    return this.starting;
  }

  async build() {
    const ctx = new AudioContext({ latencyHint: 'interactive' });
    this.ctx = ctx;
    ctx.onstatechange = () => this.changed();
    await ctx.audioWorklet.addModule(new URL('./worklet.js', import.meta.url));
    if (this.closed) throw new Error('the player was closed');
    this.node = new AudioWorkletNode(ctx, 'roomcast-playout', {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2],
    });
    this.gain = ctx.createGain();
    this.applyVolume();
    this.node.connect(this.gain).connect(ctx.destination);
    this.node.port.onmessage = (event) => this.onWorkletMessage(event.data);

    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'roomcast-decoder' });
    this.worker.onmessage = (event) => this.onWorkerMessage(event.data);
    this.worker.onerror = (event) => console.error('roomcast: decode worker failed', event.message);
    const channel = new MessageChannel();
    this.node.port.postMessage({ type: 'pcm-port', port: channel.port1 }, [channel.port1]);
    this.worker.postMessage({ type: 'init', port: channel.port2, decoder: this.decoderKind }, [channel.port2]);
    if (this.epoch !== null) this.worker.postMessage({ type: 'epoch', epoch: this.epoch });
    if (this.timeline) this.worker.postMessage({ type: 'timeline', timeline: this.timeline });
    this.sendClock();
    this.mapTimer = setInterval(() => this.updateMap(), MAP_INTERVAL_MS);
    // getOutputTimestamp is off by up to ±5 ms a sample (output-clock.js): many samples.
    this.outputTimer = setInterval(() => this.sampleOutputTimestamp(), SAMPLE_MS);
    this.updateMap();
    this.changed();
  }

  /** True while the browser keeps the audio suspended (autoplay policy). */
  get blocked() {
    return Boolean(this.ctx) && this.ctx.state === 'suspended';
  }

  get running() {
    return Boolean(this.ctx) && this.ctx.state === 'running';
  }

  /** From a user gesture: lets the audio start. */
  async resume() {
    await this.start();
    if (this.ctx.state !== 'running') await this.ctx.resume();
    this.changed();
  }

  // -- inputs ----------------------------------------------------------------

  /** A `timeline` message (after startMedia and whenever D changes). */
  setTimeline(msg) {
    this.timeline = {
      rtpTimestamp: msg.rtpTimestamp, serverTime: msg.serverTime,
      clockRate: msg.clockRate, playoutDelay: msg.playoutDelay,
    };
    if (Number.isFinite(msg.playoutDelay)) this.playoutDelay = msg.playoutDelay;
    this.delayChange = Number.isFinite(msg.playoutDelayAt) && Number.isFinite(msg.previousPlayoutDelay)
      ? { at: msg.playoutDelayAt, before: msg.previousPlayoutDelay } : null;
    if (this.epoch === null) {
      this.epoch = Math.floor(msg.serverTime);
      if (this.worker) this.worker.postMessage({ type: 'epoch', epoch: this.epoch });
    }
    if (this.worker) this.worker.postMessage({ type: 'timeline', timeline: this.timeline });
    this.updateMap();
  }

  /** The clock has a new estimate. */
  sendClock() {
    if (this.worker && this.clock.synced) this.worker.postMessage({ type: 'clock', map: this.clock.absoluteMap() });
  }

  /** A binary WebSocket message (one Opus packet with its header). */
  pushWs(buffer) {
    if (!this.worker || !(buffer instanceof ArrayBuffer)) return;
    this.worker.postMessage({ type: 'ws', buffer, arrival: performance.timeOrigin + performance.now() }, [buffer]);
  }

  /**
   * Takes the encoded frames of a WebRTC receiver into the decode worker.
   * Returns false when this browser offers no way to (the caller then uses the WebSocket).
   */
  attachReceiver(receiver) {
    if (!this.worker) return false;
    if (typeof RTCRtpScriptTransform === 'function') {
      receiver.transform = new RTCRtpScriptTransform(this.worker, { side: 'receiver' });
      return true;
    }
    if (typeof receiver.createEncodedStreams === 'function') {
      const { readable, writable } = receiver.createEncodedStreams();
      this.worker.postMessage({ type: 'streams', readable, writable }, [readable, writable]);
      return true;
    }
    return false;
  }

  setLatencyOffset(ms) {
    this.latencyOffset = Number(ms) || 0;
    this.updateMap();
  }

  setVolume(volume) {
    this.volume = Math.max(0, Math.min(1, volume));
    this.applyVolume();
  }

  setMuted(muted) {
    this.muted = Boolean(muted);
    this.applyVolume();
  }

  applyVolume() {
    if (this.gain) this.gain.gain.value = this.muted ? 0 : this.volume;
  }

  // -- clocks ----------------------------------------------------------------

  /** performance.now() at which context time t (s) reaches the output, or null. */
  outputPerfTime(t) {
    const perf = this.output.perfAt(t);
    if (perf !== null || !this.ctx) return perf;
    const latency = this.ctx.outputLatency || this.ctx.baseLatency || 0;
    return performance.now() + (t - this.ctx.currentTime + latency) * 1000;
  }

  /** Server time at which what plays at context time t (s) is heard (the latency offset included). */
  heardAt(t) {
    const perf = this.outputPerfTime(t);
    return perf === null ? null : this.clock.toServer(perf) + this.latencyOffset;
  }

  /** D at heard server time s (ms): the old one before an announced change. */
  delayAt(s) {
    const change = this.delayChange;
    return change && s < change.at ? change.before : this.playoutDelay;
  }

  sampleOutputTimestamp() {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== 'running' || typeof ctx.getOutputTimestamp !== 'function') return;
    const ts = ctx.getOutputTimestamp();
    if (!(ts.contextTime > 0) || !(ts.performanceTime > 0)) return;
    this.output.add(ts.contextTime, ts.performanceTime);
  }

  updateMap() {
    if (!this.node) return;
    this.sampleOutputTimestamp();
    if (this.epoch === null || this.playoutDelay === null || !this.clock.synced) return;
    const t0 = this.ctx.currentTime;
    const s0 = this.heardAt(t0);
    const s1 = this.heardAt(t0 + 1);
    if (s0 === null || s1 === null) return;
    const delay = this.delayAt(s0);
    const n0 = (s0 - delay - this.epoch) * SAMPLES_PER_MS;
    const n1 = (s1 - delay - this.epoch) * SAMPLES_PER_MS;
    const map = { t0, n0, slope: n1 - n0 };
    const change = this.delayChange;
    if (change && s0 < change.at) {
      // The context time heard at H, and the jump of the source position there.
      map.step = {
        id: change.at, at: t0 + (change.at - s0) / (s1 - s0),
        dn: Math.round((change.before - this.playoutDelay) * SAMPLES_PER_MS),
      };
    }
    this.node.port.postMessage({ type: 'map', map });
  }

  // -- measurements ------------------------------------------------------------

  onWorkletMessage(msg) {
    if (msg.type === 'report') {
      const first = !this.worklet;
      this.worklet = msg;
      if (first) this.period = this.newPeriod();
      if (msg.valid && this.epoch !== null && this.playoutDelay !== null && this.clock.synced) {
        const heard = this.heardAt(msg.frame / this.ctx.sampleRate);
        if (heard !== null) {
          const c = this.epoch + msg.position / SAMPLES_PER_MS;
          // + what the output line has not caught up with yet (a step of the real output).
          const error = heard - (c + this.delayAt(heard)) + this.output.residual();
          this.period.errors.push(error);
          this.recentErrors.push(error);
          if (this.recentErrors.length > RECENT_ERRORS) this.recentErrors.shift();
        }
      } else if (!msg.valid) {
        this.recentErrors = [];
      }
      if (first) this.changed();
    } else if (msg.type === 'capture') {
      const done = this.captures.get(msg.id);
      this.captures.delete(msg.id);
      if (done) done(msg);
    }
  }

  onWorkerMessage(msg) {
    if (msg.type !== 'stats') return;
    const before = this.workerStats;
    this.workerStats = msg;
    for (const d of msg.delays) this.period.delays.push(d);
    const frames = (s) => (s ? s.counters.webrtc + s.counters.ws : 0);
    if (frames(before) === 0 && frames(msg) > 0) this.changed();
  }

  /** The playout error now (ms, median of the last second), or null when nothing plays. */
  currentError() {
    return this.recentErrors.length ? median(this.recentErrors) : null;
  }

  /**
   * The syncReport fields for the period since the last call (null when
   * nothing was rendered from real data in it), and a new period.
   */
  takeReport() {
    const p = this.period;
    this.period = this.newPeriod();
    if (p.errors.length === 0) return null;
    const w = this.worklet;
    return {
      error: median(p.errors),
      errorMax: Math.max(...p.errors.map(Math.abs)),
      arrival: p.delays.length ? percentile(p.delays, 0.99) : null,
      jitter: this.workerStats ? this.workerStats.jitter : 0,
      underruns: w ? w.late - p.late : 0,
      resyncs: w ? w.resyncs - p.resyncs : 0,
    };
  }

  /** Whether the output is within IN_SYNC_MS of C + D. */
  get inSync() {
    const error = this.currentError();
    return error !== null && Math.abs(error) < IN_SYNC_MS;
  }

  /** Everything the UI and the tests read, as plain data. */
  snapshot() {
    const w = this.worklet;
    const s = this.workerStats;
    return {
      state: this.ctx ? this.ctx.state : 'off',
      sampleRate: this.ctx ? this.ctx.sampleRate : 0,
      playoutDelay: this.playoutDelay,
      latencyOffset: this.latencyOffset,
      error: this.currentError(),
      inSync: this.inSync,
      decoder: s ? s.decoder : null,
      frames: s ? { ...s.counters } : null,
      jitter: s ? s.jitter : null,
      rendered: w ? {
        frames: w.renderedFrames, gapFrames: w.gapFrames, energy: w.energy,
        late: w.late, resyncs: w.resyncs, written: w.written,
      } : null,
      outputLatency: this.ctx ? this.ctx.outputLatency : null,
      tracking: w ? w.tracking / SAMPLES_PER_MS : null,
      clock: { offset: this.clock.estimator.offset, drift: this.clock.estimator.drift, rtt: this.clock.estimator.rtt },
      outputFit: this.outputFitInfo(),
    };
  }

  /** The getOutputTimestamp line: performance ms at context time 0 and its rate (for diagnostics). */
  outputFitInfo() {
    if (!this.ctx || this.output.size === 0) return null;
    const p0 = this.outputPerfTime(0);
    return { samples: this.output.size, perfAtZero: p0, rate: this.output.rate, steps: this.output.steps };
  }

  /**
   * Records the next `frames` output frames (channel 0, before the volume).
   * Resolves {samples, startFrame, sampleRate, heard0, msPerFrame,
   * latencyOffset}: sample i is heard at server time heard0 + i·msPerFrame
   * (the latency offset included: it leaves the browser latencyOffset ms
   * earlier).
   */
  async capture(frames) {
    await this.start();
    const id = this.nextCapture++;
    const msg = await new Promise((resolve) => {
      this.captures.set(id, resolve);
      this.node.port.postMessage({ type: 'capture', id, frames });
    });
    const sr = this.ctx.sampleRate;
    const heard0 = this.heardAt(msg.startFrame / sr);
    const heard1 = this.heardAt((msg.startFrame + sr) / sr);
    return {
      samples: msg.samples, startFrame: msg.startFrame, sampleRate: sr, heard0, msPerFrame: (heard1 - heard0) / sr,
      latencyOffset: this.latencyOffset,
    };
  }

  changed() {
    try { this.onChange(); } catch (err) { console.error('roomcast: engine listener failed', err); }
  }

  close() {
    this.closed = true;
    clearInterval(this.mapTimer);
    clearInterval(this.outputTimer);
    this.mapTimer = 0;
    this.outputTimer = 0;
    if (this.worker) this.worker.terminate();
    this.worker = null;
    if (this.ctx) this.ctx.close().catch(() => {});
    this.node = null;
    this.starting = null;
  }
}

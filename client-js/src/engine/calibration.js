// SPDX-License-Identifier: MIT
//
// Calibration of this device's output delay, the part the browser does not
// know (Bluetooth, HDMI, a receiver): what fills the per-guest "Output
// delay" setting.
//
// By microphone: a 60 ms chirp is played at a known context time T0 and
// the microphone is recorded in the same AudioContext (the worklet's
// "roomcast-listen" processor stamps what it hears with context frames). The
// chirp comes back at frame F. Everything in one context runs on one sample
// clock, so F − T0 = true output latency + input latency. The engine already
// believes an output latency (its getOutputTimestamp line, output-clock.js);
// (sampled through the listening, its median) the difference is the delay
// it is missing:
//   extra = (F − T0) − input latency − believed output latency.
// The input latency is the track's own (getSettings().latency) when the
// browser says, else 0 (then the figure is an upper bound: say so).
//
// By ear: a short tick whenever a whole second of server time is heard
// (the output delay included), to line up against another device's ticks.
//
// The chirp arithmetic is kept free of Web Audio so node can test it.

import { median } from '../clock.js';

const CHIRP_MS = 60;
const CHIRP_F0 = 500;
const CHIRP_F1 = 6000;
const LEAD_S = 0.4;          // the chirp starts this long after the recording
const LISTEN_S = 1.4;        // long enough for any output delay up to ~0.9 s
const MIN_SCORE = 0.3;       // normalised correlation: a chirp, not room noise
const SETTLED_SAMPLES = 12;  // 3 s of getOutputTimestamp samples
const SETTLE_WAIT_MS = 5000;
const TICK_MS = 8;
const TICK_AHEAD_MS = 700;

/** A linear chirp CHIRP_F0 → CHIRP_F1 under a Hann window, at `rate`. */
export function makeChirp(rate) {
  const n = Math.round(CHIRP_MS * rate / 1000);
  const out = new Float32Array(n);
  const dur = n / rate;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const phase = 2 * Math.PI * (CHIRP_F0 * t + (CHIRP_F1 - CHIRP_F0) * t * t / (2 * dur));
    out[i] = 0.5 * Math.sin(phase) * (0.5 - 0.5 * Math.cos(2 * Math.PI * i / (n - 1)));
  }
  return out;
}

/**
 * Where `chirp` starts in `recording`: {index, score} (score the normalised
 * correlation at the peak), or null when nothing scores MIN_SCORE.
 */
export function findChirp(recording, chirp) {
  let ee = 0;
  for (const x of chirp) ee += x * x;
  let best = null;
  let energy = 0;
  for (let k = 0; k < chirp.length && k < recording.length; k++) energy += recording[k] ** 2;
  for (let i = 0; i + chirp.length <= recording.length; i++) {
    if (i > 0) energy += recording[i + chirp.length - 1] ** 2 - recording[i - 1] ** 2;
    if (energy <= 1e-9) continue;
    let xy = 0;
    for (let k = 0; k < chirp.length; k++) xy += recording[i + k] * chirp[k];
    const score = xy / Math.sqrt(ee * energy);
    if (!best || score > best.score) best = { index: i, score };
  }
  return best && best.score >= MIN_SCORE ? best : null;
}

/**
 * Measures the extra output delay of `engine`'s output with the
 * microphone. Resolves { extraMs, roundTripMs, inputLatencyMs,
 * believedMs, inputLatencyKnown, score }; rejects when the microphone is
 * refused or the chirp is not heard.
 */
export async function measureOutputDelay(engine) {
  await engine.start();
  const ctx = engine.ctx;
  if (ctx.state !== 'running') await ctx.resume();
  // The belief needs its line: a context that has just started has few samples (and odd ones).
  for (let waited = 0; engine.output.size < SETTLED_SAMPLES && waited < SETTLE_WAIT_MS; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const track = stream.getAudioTracks()[0];
  const source = ctx.createMediaStreamSource(stream);
  const listener = new AudioWorkletNode(ctx, 'roomcast-listen', {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
    processorOptions: { frames: Math.round(LISTEN_S * ctx.sampleRate) },
  });
  try {
    const heard = new Promise((resolve) => { listener.port.onmessage = (event) => resolve(event.data); });
    source.connect(listener).connect(ctx.destination); // silent: it keeps the node pulled
    const chirp = makeChirp(ctx.sampleRate);
    const buffer = ctx.createBuffer(1, chirp.length, ctx.sampleRate);
    buffer.copyToChannel(chirp, 0);
    const player = ctx.createBufferSource();
    player.buffer = buffer;
    player.connect(ctx.destination);
    const t0 = ctx.currentTime + LEAD_S;
    player.start(t0);
    // The engine's belief, sampled while listening (its median: one late callback is not it).
    const beliefs = [];
    const sample = () => beliefs.push(engine.outputPerfTime(ctx.currentTime) - performance.now());
    const sampler = setInterval(sample, 50);
    sample();
    const rec = await heard.finally(() => clearInterval(sampler));
    const believedMs = median(beliefs);
    const found = findChirp(rec.samples, chirp);
    if (!found) throw new Error('the chirp was not heard: turn the volume up, or check the microphone');
    const roundTripMs = ((rec.startFrame + found.index) / ctx.sampleRate - t0) * 1000;
    const settings = track.getSettings ? track.getSettings() : {};
    const inputLatencyKnown = Number.isFinite(settings.latency);
    const inputLatencyMs = inputLatencyKnown ? settings.latency * 1000 : 0;
    return {
      extraMs: roundTripMs - inputLatencyMs - believedMs,
      roundTripMs, inputLatencyMs, believedMs, inputLatencyKnown, score: found.score,
    };
  } finally {
    source.disconnect();
    listener.disconnect();
    for (const t of stream.getTracks()) t.stop();
  }
}

/**
 * A tick whenever a whole second of server time is heard on this output.
 * Returns stop().
 */
export function startTicks(engine) {
  const ctx = engine.ctx;
  if (!ctx) return () => {};
  const tick = makeTick(ctx);
  const scheduled = new Set();
  const schedule = () => {
    const now = ctx.currentTime;
    const heardNow = engine.heardAt(now);
    if (heardNow === null) return;
    for (let s = Math.ceil(heardNow / 1000) * 1000; s < heardNow + TICK_AHEAD_MS; s += 1000) {
      const at = now + (s - heardNow) / 1000;
      if (scheduled.has(s) || at <= now) continue;
      scheduled.add(s);
      const node = ctx.createBufferSource();
      node.buffer = tick;
      node.connect(ctx.destination);
      node.start(at);
    }
    for (const s of scheduled) if (s < heardNow - 2000) scheduled.delete(s);
  };
  const timer = setInterval(schedule, 200);
  schedule();
  return () => clearInterval(timer);
}

/** A tick: TICK_MS of fixed noise under a fast decay (sharp to the ear, and to a cross-correlation). */
function makeTick(ctx) {
  const n = Math.round(TICK_MS * ctx.sampleRate / 1000);
  const buffer = ctx.createBuffer(1, n, ctx.sampleRate);
  const data = buffer.getChannelData(0);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (seed / 0x3fffffff - 1) * 0.6 * Math.exp(-i / (0.0015 * ctx.sampleRate));
  }
  return buffer;
}

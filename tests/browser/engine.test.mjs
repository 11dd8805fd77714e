// SPDX-License-Identifier: MIT
//
// The playout engine's arithmetic, in node (no browser): the clock estimate
// from timeSync exchanges, RTP timestamp → server time across the 32-bit
// wrap, the WebSocket audio header, and the worklet's ring and clocked reader
// (PlayoutCore): it plays each sample at the time the map says, follows a
// drifting clock by resampling within 500 ppm without a resync, jumps when
// the target moves by more than 5 ms, plays silence where a packet is
// missing, and counts packets that come too late.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockEstimator } from '../../client-js/src/clock.js';
import {
  Timeline, rtpDelta, parseWsFrame, buildWsFrame, parseWsMessage, buildWsBundle, sampleIndex,
} from '../../client-js/src/engine/timeline.js';
import { PlayoutCore, MAX_PPM } from '../../client-js/src/engine/playout-core.js';

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('clock: offset and drift from exchanges with queueing delays and outliers', () => {
  const rand = random(7);
  const trueOffset = 5012345.25 - 1000; // server − local at local 0 …
  const trueDrift = 60e-6;              // … and the server clock runs 60 ppm fast
  const server = (local) => local + trueOffset + trueDrift * local;
  const est = new ClockEstimator();
  let local = 1000;
  for (let i = 0; i < 40; i++) {
    const up = 0.3 + rand() * 0.4 + (rand() < 0.2 ? 20 * rand() : 0); // some exchanges queue
    const down = 0.3 + rand() * 0.4 + (rand() < 0.2 ? 20 * rand() : 0);
    const t0 = local;
    const t1 = server(t0 + up);
    const t2 = t1 + 0.05;
    const t3 = t0 + up + 0.05 + down;
    assert.ok(est.add({ t0, t1, t2, t3 }));
    local += 3000;
  }
  const now = local;
  const error = est.toServer(now) - server(now);
  assert.ok(Math.abs(error) < 0.3, `offset within 0.3 ms (${error.toFixed(3)})`);
  assert.ok(Math.abs(est.drift - trueDrift) < 10e-6, `drift within 10 ppm (${(est.drift * 1e6).toFixed(1)} ppm)`);
  assert.ok(Math.abs(est.toLocal(est.toServer(now)) - now) < 1e-6, 'toLocal inverts toServer');
  assert.equal(est.add({ t0: 10, t1: 5, t2: 20, t3: 11 }), false, 'a negative round trip is refused');
});

test('clock: before a drift can be told, the offset is the median of the quickest exchanges', () => {
  const est = new ClockEstimator();
  // Two quick exchanges say +100, one slow one says +130: the slow one does not count.
  est.add({ t0: 0, t1: 100.5, t2: 100.5, t3: 1 });
  est.add({ t0: 60, t1: 160.5, t2: 160.5, t3: 61 });
  est.add({ t0: 120, t1: 280, t2: 280, t3: 160 });
  est.add({ t0: 180, t1: 280.5, t2: 280.5, t3: 181 });
  assert.equal(est.drift, 0);
  assert.ok(Math.abs(est.toServer(200) - 300) < 1e-9, `offset 100 (${est.toServer(200) - 200})`);
  assert.equal(est.rtt, 1);
});

test('timeline: RTP timestamps map to server time across the 32-bit wrap', () => {
  assert.equal(rtpDelta(5, 0xfffffffb), 10);
  assert.equal(rtpDelta(0xfffffffb, 5), -10);
  const timeline = new Timeline({ rtpTimestamp: 0xffffff00, serverTime: 1000, clockRate: 48000, playoutDelay: 120 });
  assert.equal(timeline.serverTimeOf(0xffffff00), 1000);
  assert.equal(timeline.serverTimeOf(0xffffff00 + 960 - 0x100000000 + 0x100000000), 1020);
  assert.equal(timeline.serverTimeOf((0xffffff00 + 960 * 3) >>> 0), 1060, 'after the wrap');
  assert.equal(timeline.serverTimeOf((0xffffff00 - 960) >>> 0), 980, 'before the reference');
  assert.equal(sampleIndex(1060, 1000), 2880);
  assert.equal(Timeline.valid({ rtpTimestamp: 1, serverTime: 2 }), true);
  assert.equal(Timeline.valid({ rtpTimestamp: 1.5, serverTime: 2 }), false);
});

test('WebSocket audio header: built and parsed, big-endian, bad ones refused', () => {
  const payload = new Uint8Array([0xfc, 1, 2, 3]);
  const buffer = buildWsFrame({ rtpTimestamp: 3735928559, serverTime: 5012345.875, sequence: 42 }, payload);
  const bytes = new Uint8Array(buffer);
  assert.deepEqual([...bytes.slice(0, 8)], [1, 0, 0, 20, 0xde, 0xad, 0xbe, 0xef]);
  const frame = parseWsFrame(buffer);
  assert.equal(frame.rtpTimestamp, 3735928559);
  assert.equal(frame.serverTime, 5012345.875);
  assert.equal(frame.sequence, 42);
  assert.deepEqual([...frame.payload], [...payload]);
  const wrongVersion = buffer.slice(0);
  new DataView(wrongVersion).setUint8(0, 2);
  assert.equal(parseWsFrame(wrongVersion), null);
  assert.equal(parseWsFrame(new ArrayBuffer(12)), null);
  const longHeader = buffer.slice(0);
  new DataView(longHeader).setUint16(2, 200);
  assert.equal(parseWsFrame(longHeader), null);
});

test('WebSocket audio bundles: every frame with its own C, bad entries refused', () => {
  const frames = [0, 1, 2].map((i) => buildWsFrame(
    { rtpTimestamp: 4294966336 + 960 * i, serverTime: 5012345.875 + 20 * i, sequence: 41 + i },
    new Uint8Array([0xfc, i, i, i, i].slice(0, 2 + i))));
  const bundle = buildWsBundle(frames);
  assert.deepEqual([...new Uint8Array(bundle, 0, 4)], [2, 3, 0, 4]);
  const parsed = parseWsMessage(bundle);
  assert.equal(parsed.length, 3);
  parsed.forEach((f, i) => {
    assert.equal(f.serverTime, 5012345.875 + 20 * i);
    assert.equal(f.sequence, 41 + i);
    assert.equal(f.rtpTimestamp, (4294966336 + 960 * i) >>> 0);
    assert.deepEqual([...f.payload], [0xfc, i, i, i, i].slice(0, 2 + i));
  });
  // A lone frame is a message of one; nonsense is none.
  assert.equal(parseWsMessage(frames[1]).length, 1);
  assert.deepEqual(parseWsMessage(new ArrayBuffer(0)), []);
  assert.deepEqual(parseWsMessage(new Uint8Array([9, 1, 0, 4]).buffer), []);
  // An entry longer than the message ends it; the frames before it stay.
  const cut = bundle.slice(0, bundle.byteLength - 3);
  assert.equal(parseWsMessage(cut).length, 2);
});

test('WebSocket audio bundles of 5 (a room past --ws-bundle-large-from): all five, in order', () => {
  const frames = [0, 1, 2, 3, 4].map((i) => buildWsFrame(
    { rtpTimestamp: 960 * i, serverTime: 1000 + 20 * i, sequence: 7 + i },
    new Uint8Array(160 + i).fill(i)));
  const bundle = buildWsBundle(frames);
  assert.deepEqual([...new Uint8Array(bundle, 0, 2)], [2, 5]);
  const parsed = parseWsMessage(bundle);
  assert.deepEqual(parsed.map((f) => f.sequence), [7, 8, 9, 10, 11]);
  assert.deepEqual(parsed.map((f) => f.serverTime), [1000, 1020, 1040, 1060, 1080]);
  parsed.forEach((f, i) => assert.equal(f.payload.length, 160 + i));
});

// -- the worklet's reader ------------------------------------------------------

const SR = 48000;
const BLOCK = 128;
const PACKET = 960;
/** The room's signal: a 440 Hz sine by sample index, so any sample's place is known. */
const signal = (n) => 0.25 * Math.sin(2 * Math.PI * 440 * n / SR);

function packet(n) {
  const left = new Float32Array(PACKET);
  for (let i = 0; i < PACKET; i++) left[i] = signal(n + i);
  return [left, left];
}

/**
 * Runs the reader for `seconds` with packets written `leadMs` ahead of the
 * target; map(t) gives the map at context time t. Returns per-block records.
 */
function run(core, { seconds, map, leadMs = 100, skip = () => false, start = 0 }) {
  const out = [new Float32Array(BLOCK), new Float32Array(BLOCK)];
  let nextPacket = null;
  const records = [];
  for (let frame = start; frame < start + seconds * SR; frame += BLOCK) {
    const t = frame / SR;
    core.setMap(map(t));
    const target = core.target(t);
    if (nextPacket === null) nextPacket = Math.floor(target / PACKET) * PACKET;
    while (nextPacket < target + leadMs * 48) {
      if (!skip(nextPacket)) core.write(nextPacket, packet(nextPacket), PACKET);
      nextPacket += PACKET;
    }
    core.render(out, BLOCK, t);
    records.push({ t, target, start: core.blockStart, out: Float32Array.from(out[0]) });
  }
  return records;
}

test('reader: plays each sample where the map puts it, and the waveform is intact', () => {
  const core = new PlayoutCore({ sampleRate: SR });
  const records = run(core, { seconds: 2, map: () => ({ t0: 0, n0: 480000, slope: SR }) });
  assert.equal(core.resyncs, 0);
  assert.equal(core.late, 0);
  assert.equal(core.gapFrames, 0);
  let worst = 0;
  for (const r of records.slice(4)) {
    assert.equal(r.start, r.target, 'the block starts on its target sample');
    for (let i = 0; i < BLOCK; i++) worst = Math.max(worst, Math.abs(r.out[i] - signal(r.start + i)));
  }
  assert.ok(worst < 1e-6, `output equals the room's samples (${worst})`);
});

test('reader: follows a clock 300 ppm off by resampling, never more than 500 ppm, no resync', () => {
  const core = new PlayoutCore({ sampleRate: SR });
  // The map starts right, then the target runs 300 ppm fast from t = 0.5 s
  // without the slope saying so (a drift the clock estimate has not seen yet).
  const map = (t) => ({ t0: t, n0: 96000 + SR * t + (t > 0.5 ? (t - 0.5) * SR * 300e-6 : 0), slope: SR });
  const records = run(core, { seconds: 20, map });
  assert.equal(core.resyncs, 0, 'no resync');
  let maxStep = 0;
  for (let i = 1; i < records.length; i++) {
    const step = (records[i].start - records[i - 1].start) / BLOCK;
    maxStep = Math.max(maxStep, Math.abs(step - 1));
  }
  assert.ok(maxStep <= MAX_PPM * 1e-6 + 1e-9, `rate change within ${MAX_PPM} ppm (${(maxStep * 1e6).toFixed(1)} ppm)`);
  const last = records[records.length - 1];
  const errorMs = (last.start - last.target) / 48;
  assert.ok(Math.abs(errorMs) < 0.05, `error settles under 0.05 ms (${errorMs.toFixed(4)} ms)`);
  // The output is still the room's waveform (interpolated at the read positions).
  let worst = 0;
  for (const r of records.slice(-10)) {
    for (let i = 0; i < BLOCK; i++) worst = Math.max(worst, Math.abs(r.out[i] - signal(r.start + i * (1 + (last.start - records[records.length - 2].start - BLOCK) / BLOCK))));
  }
  assert.ok(worst < 2e-3, `interpolated waveform is clean (${worst})`);
});

test('reader: a target that jumps by more than 5 ms is a resync; a small one is not', () => {
  const core = new PlayoutCore({ sampleRate: SR });
  let jump = 0;
  const map = (t) => ({ t0: 0, n0: 96000 + jump, slope: SR });
  run(core, { seconds: 0.5, map });
  jump = 4 * 48; // 4 ms: absorbed by resampling
  run(core, { seconds: 0.5, map, start: 0.5 * SR });
  assert.equal(core.resyncs, 0);
  jump = 14 * 48; // 10 ms more: jump
  const records = run(core, { seconds: 0.5, map, start: SR });
  assert.equal(core.resyncs, 1);
  const last = records[records.length - 1];
  assert.ok(Math.abs(last.start - last.target) < 48, 'back on target right after the resync');
});

test('reader: a missing packet is silence, a packet after its time is late', () => {
  const core = new PlayoutCore({ sampleRate: SR });
  const missing = 96000 + PACKET * 20;
  const records = run(core, { seconds: 1, map: () => ({ t0: 0, n0: 96000, slope: SR }), skip: (n) => n === missing });
  assert.equal(core.gapFrames, PACKET, 'one packet of silence');
  const silent = records.filter((r) => r.start >= missing && r.start + BLOCK <= missing + PACKET);
  assert.ok(silent.length > 0 && silent.every((r) => r.out.every((x) => x === 0)));
  assert.equal(core.late, 0);
  core.write(missing, packet(missing), PACKET); // long after its time
  assert.equal(core.late, 1);
  const far = core.position + core.size + PACKET;
  core.write(Math.floor(far), packet(0), PACKET);
  assert.equal(core.early, 1, 'a packet beyond the ring is refused');
});

/** The reader's whole output, from per-block records. */
function joined(records) {
  const all = new Float32Array(records.length * BLOCK);
  records.forEach((r, i) => all.set(r.out, i * BLOCK));
  return all;
}

/**
 * A change of D announced for one instant: the map carries the step until
 * the engine's own clock is past it (a little after the worklet took it),
 * then the new D alone, as engine.js sends them.
 */
function announcedChange({ at, dn, n0 = 96000, until = at + 0.1 }) {
  return (t) => (t < until
    ? { t0: 0, n0, slope: SR, step: { id: 7, at, dn } }
    : { t0: 0, n0: n0 + dn, slope: SR });
}

test('reader: an announced rise of D is silence of the rise at that very frame, then the audio goes on; no resync', () => {
  const core = new PlayoutCore({ sampleRate: SR });
  const at = 0.5031; // mid-quantum
  const rise = 25 * 48;
  const out = joined(run(core, { seconds: 1, map: announcedChange({ at, dn: -rise }) }));
  const f = Math.ceil(at * SR);
  let worst = 0;
  for (let i = 0; i < out.length; i++) {
    let want;
    if (i < f) want = signal(96000 + i);
    else if (i < f + rise) want = 0;
    else want = signal(96000 + i - rise);
    worst = Math.max(worst, Math.abs(out[i] - want));
  }
  assert.ok(worst < 1e-6, `before: the old place; ${rise} frames of silence from frame ${f}; then the new place (${worst})`);
  assert.equal(core.resyncs, 0, 'a step, not a resync');
  assert.equal(core.gapFrames, 0, 'the silence is not counted as missing audio');
});

test('reader: an announced fall of D skips the fall at that frame; a map still carrying the taken step moves with it', () => {
  const core = new PlayoutCore({ sampleRate: SR });
  const at = 0.25;
  const fall = 20 * 48;
  const out = joined(run(core, { seconds: 1, map: announcedChange({ at, dn: fall, until: 0.6 }) }));
  const f = Math.ceil(at * SR);
  let worst = 0;
  for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - signal(96000 + i + (i < f ? 0 : fall))));
  assert.ok(worst < 1e-6, `${fall} samples skipped at frame ${f}, once (${worst})`);
  assert.equal(core.resyncs, 0);
});

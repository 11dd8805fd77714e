// SPDX-License-Identifier: MIT
//
// The decode worker: every Opus packet, from either transport, becomes PCM
// placed at its server time C in the AudioWorklet's ring.
// - WebRTC: the receiver's RTCRtpScriptTransform delivers each encoded frame
//   here (`rtctransform`), or, where only createEncodedStreams exists, the
//   main thread transfers the receiver's streams (`streams`). C comes from
//   the RTP timestamp and the `timeline` message. Frames are not written back:
//   the browser's own WebRTC playout gets nothing, so it stays silent and
//   does not decode a second time.
// - WebSocket: the main thread transfers each binary message (`ws`); C is in
//   its header.
// Decoding: WebCodecs AudioDecoder, or the opus-decoder wasm build (vendored
// by client-js/scripts/vendor.mjs) where AudioDecoder is missing or fails.
// Chromium's AudioDecoder renumbers output timestamps, so outputs are matched
// to inputs in order (Opus gives one output per packet).
// Arrival: server time at arrival (the clock map from the main thread) − C,
// collected for the main thread's syncReport.

import { Timeline, parseWsMessage, sampleIndex, CLOCK_RATE } from './timeline.js';

const STATS_INTERVAL_MS = 500;
const MAX_PENDING = 50; // decodes in flight before we give up on the decoder

const state = {
  port: null,          // to the worklet
  epoch: null,         // server ms of sample index 0
  timeline: null,
  clock: null,         // { offset, drift, ref } on performance.timeOrigin + now
  decoderKind: 'auto', // auto | webcodecs | wasm
  decoder: null,       // { kind, decode(n, bytes), close() }
  pending: [],         // sample indices in decode order (webcodecs)
  pump: 0,             // generation of the WebRTC reader that feeds us
  counters: { webrtc: 0, ws: 0, decoded: 0, decodeErrors: 0, dropped: 0, wsGaps: 0 },
  delays: [],
  jitter: 0,
  lastTransit: null,
  lastSeq: null,
  lastRtp: null,       // the newest WebRTC packet's RTP timestamp (for diagnostics)
};

const absNow = () => performance.timeOrigin + performance.now();

self.onmessage = (event) => {
  const msg = event.data;
  switch (msg.type) {
    case 'init':
      state.port = msg.port;
      state.decoderKind = msg.decoder || 'auto';
      break;
    case 'epoch':
      state.epoch = msg.epoch;
      break;
    case 'timeline':
      state.timeline = new Timeline(msg.timeline);
      break;
    case 'clock':
      state.clock = msg.map;
      break;
    case 'ws':
      onWs(msg.buffer, msg.arrival);
      break;
    case 'streams':
      pumpFrames(msg.readable, msg.writable);
      break;
    case 'reset':
      state.pending = [];
      state.lastTransit = null;
      state.lastSeq = null;
      if (state.decoder) state.decoder.close();
      state.decoder = null;
      break;
    default:
      break;
  }
};

// RTCRtpScriptTransform on the receiver.
self.onrtctransform = (event) => {
  pumpFrames(event.transformer.readable, event.transformer.writable);
};

async function pumpFrames(readable, writable) {
  const generation = ++state.pump;
  const reader = readable.getReader();
  // Nothing is written back; keep the writable open so the sender side stays happy.
  void writable;
  try {
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done || generation !== state.pump) break;
      const arrival = absNow();
      const meta = typeof frame.getMetadata === 'function' ? frame.getMetadata() : {};
      const rtp = Number.isInteger(meta.rtpTimestamp) ? meta.rtpTimestamp : frame.timestamp;
      state.counters.webrtc += 1;
      if (Number.isInteger(rtp)) state.lastRtp = rtp;
      if (!state.timeline || !Number.isInteger(rtp)) continue;
      onPacket(state.timeline.serverTimeOf(rtp), new Uint8Array(frame.data), arrival);
    }
  } catch (err) {
    if (generation === state.pump) console.warn('roomcast: encoded frames stopped', err.message);
  } finally {
    try { reader.releaseLock(); } catch { /* closed */ }
  }
}

// One message is one frame, or a bundle of them (a big room): each frame
// keeps its own C.
function onWs(buffer, arrival) {
  for (const frame of parseWsMessage(buffer)) {
    state.counters.ws += 1;
    if (state.lastSeq !== null) {
      const gap = (frame.sequence - state.lastSeq - 1) >>> 0;
      if (gap > 0 && gap < 1000) state.counters.wsGaps += gap;
    }
    state.lastSeq = frame.sequence;
    onPacket(frame.serverTime, frame.payload, arrival);
  }
}

function onPacket(c, bytes, arrival) {
  if (state.epoch === null || !state.port || !Number.isFinite(c)) {
    state.counters.dropped += 1;
    return;
  }
  if (state.clock) {
    const m = state.clock;
    const transit = arrival + m.offset + m.drift * (arrival - m.ref) - c;
    state.delays.push(transit);
    if (state.lastTransit !== null) state.jitter += (Math.abs(transit - state.lastTransit) - state.jitter) / 16;
    state.lastTransit = transit;
  }
  const n = sampleIndex(c, state.epoch);
  const decoder = ensureDecoder();
  if (decoder) decoder.decode(n, bytes);
}

// -- decoders --------------------------------------------------------------

function ensureDecoder() {
  if (state.decoder) return state.decoder;
  const kind = state.decoderKind;
  if (kind !== 'wasm' && typeof AudioDecoder === 'function') {
    state.decoder = webCodecsDecoder();
  } else {
    state.decoder = wasmDecoder();
  }
  return state.decoder;
}

function post(n, channels, frames) {
  state.counters.decoded += 1;
  state.port.postMessage({ type: 'pcm', n, channels, frames }, channels.map((ch) => ch.buffer));
}

function webCodecsDecoder() {
  const pending = [];
  let failed = false;
  const decoder = new AudioDecoder({
    output: (data) => {
      const n = pending.shift();
      try {
        if (n === undefined) return;
        const frames = data.numberOfFrames;
        const channels = [];
        for (let c = 0; c < Math.min(2, data.numberOfChannels); c++) {
          const plane = new Float32Array(frames);
          data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
          channels.push(plane);
        }
        post(n, channels, frames);
      } finally {
        data.close();
      }
    },
    error: (err) => {
      // A WebCodecs error closes the decoder: start a new one with the next packet.
      failed = true;
      state.counters.decodeErrors += 1;
      console.warn('roomcast: AudioDecoder failed', err.message);
      if (state.decoder === handle) state.decoder = null;
    },
  });
  decoder.configure({ codec: 'opus', sampleRate: CLOCK_RATE, numberOfChannels: 2 });
  const handle = {
    kind: 'webcodecs',
    decode(n, bytes) {
      if (failed) return;
      if (pending.length > MAX_PENDING) { // stuck: start over
        this.close();
        return;
      }
      pending.push(n);
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round(n * 1e6 / CLOCK_RATE), data: bytes }));
    },
    close() {
      failed = true;
      pending.length = 0;
      if (decoder.state !== 'closed') decoder.close();
      if (state.decoder === handle) state.decoder = null;
    },
  };
  return handle;
}

function wasmDecoder() {
  let opus = null;
  let broken = false;
  const queue = [];
  const ready = import(new URL('../../vendor/opus-decoder.min.js', import.meta.url).href).then(async () => {
    const { OpusDecoder } = globalThis['opus-decoder'];
    opus = new OpusDecoder({ channels: 2, sampleRate: CLOCK_RATE, preSkip: 0 });
    await opus.ready;
    for (const [n, bytes] of queue.splice(0)) decodeNow(n, bytes);
  }).catch((err) => {
    broken = true;
    state.counters.decodeErrors += 1;
    console.warn('roomcast: no Opus decoder (the vendored opus-decoder is missing: run npm ci in client-js)', err.message);
  });
  void ready;
  function decodeNow(n, bytes) {
    try {
      const { channelData, samplesDecoded } = opus.decodeFrame(bytes);
      if (samplesDecoded > 0) post(n, channelData.map((ch) => ch.slice(0, samplesDecoded)), samplesDecoded);
    } catch (err) {
      state.counters.decodeErrors += 1;
    }
  }
  return {
    kind: 'wasm',
    decode(n, bytes) {
      if (broken) return;
      if (opus) decodeNow(n, bytes);
      else if (queue.length < MAX_PENDING) queue.push([n, bytes.slice()]);
    },
    close() {
      if (opus) opus.free();
      opus = null;
      broken = true;
    },
  };
}

// -- stats -----------------------------------------------------------------

setInterval(() => {
  const delays = new Float64Array(state.delays);
  state.delays = [];
  self.postMessage({
    type: 'stats',
    counters: { ...state.counters },
    decoder: state.decoder ? state.decoder.kind : null,
    lastRtp: state.lastRtp,
    delays,
    jitter: state.jitter,
  }, [delays.buffer]);
}, STATS_INTERVAL_MS);

// SPDX-License-Identifier: MIT
//
// The room timeline's arithmetic, shared by the decode worker and the tests:
// RTP timestamp → server time C (the `timeline` message), the WebSocket audio
// frame header, and C → the engine's sample index.
//
// The engine counts 48 kHz samples from an epoch (a server time fixed when
// it starts), so sample indices stay small enough for exact doubles: at the
// server clock's own magnitude a fractional read position would lose bits.

export const CLOCK_RATE = 48000;
export const SAMPLES_PER_MS = CLOCK_RATE / 1000;
export const WS_HEADER_BYTES = 20;
export const WS_VERSION = 1;
export const WS_BUNDLE_VERSION = 2;
export const WS_BUNDLE_HEADER_BYTES = 4;

/** (ts − ref) mod 2^32 as a signed 32-bit number. */
export function rtpDelta(ts, ref) {
  return (ts - ref) | 0;
}

export class Timeline {
  /** msg: a `timeline` message {rtpTimestamp, serverTime, clockRate, playoutDelay}. */
  constructor(msg) {
    this.rtpTimestamp = msg.rtpTimestamp >>> 0;
    this.serverTime = Number(msg.serverTime);
    this.clockRate = Number(msg.clockRate) > 0 ? Number(msg.clockRate) : CLOCK_RATE;
    this.playoutDelay = Number.isFinite(msg.playoutDelay) ? Number(msg.playoutDelay) : 0;
  }

  static valid(msg) {
    return Boolean(msg) && Number.isInteger(msg.rtpTimestamp) && Number.isFinite(msg.serverTime)
      && (msg.clockRate === undefined || (Number.isFinite(msg.clockRate) && msg.clockRate > 0));
  }

  /** Server time C (ms) of the packet with this RTP timestamp. */
  serverTimeOf(rtpTimestamp) {
    return this.serverTime + rtpDelta(rtpTimestamp >>> 0, this.rtpTimestamp) * 1000 / this.clockRate;
  }
}

/**
 * One WebSocket audio frame (the whole buffer, or `length` bytes from
 * `offset`) → {rtpTimestamp, serverTime, sequence, payload} (payload a view
 * into the buffer), or null when it is not one.
 */
export function parseWsFrame(buffer, offset = 0, length = undefined) {
  if (!(buffer instanceof ArrayBuffer)) return null;
  const size = length ?? buffer.byteLength - offset;
  if (size < WS_HEADER_BYTES || offset + size > buffer.byteLength) return null;
  const view = new DataView(buffer, offset, size);
  if (view.getUint8(0) !== WS_VERSION) return null;
  const headerLength = view.getUint16(2);
  if (headerLength < WS_HEADER_BYTES || headerLength > size) return null;
  return {
    rtpTimestamp: view.getUint32(4),
    serverTime: view.getFloat64(8),
    sequence: view.getUint32(16),
    payload: new Uint8Array(buffer, offset + headerLength, size - headerLength),
  };
}

/**
 * A binary WebSocket audio message → its frames, in order: one frame
 * (version 1), or a bundle (version 2: count, header length, then per frame
 * a 16-bit length and the frame). A frame that is not one is left out; a
 * message that is not one gives [].
 */
export function parseWsMessage(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 1) return [];
  const view = new DataView(buffer);
  if (view.getUint8(0) === WS_VERSION) {
    const frame = parseWsFrame(buffer);
    return frame ? [frame] : [];
  }
  if (view.getUint8(0) !== WS_BUNDLE_VERSION || buffer.byteLength < WS_BUNDLE_HEADER_BYTES) return [];
  const frames = [];
  let at = view.getUint16(2);
  if (at < WS_BUNDLE_HEADER_BYTES) return [];
  while (at + 2 <= buffer.byteLength) {
    const length = view.getUint16(at);
    if (length === 0 || at + 2 + length > buffer.byteLength) break;
    const frame = parseWsFrame(buffer, at + 2, length);
    if (frame) frames.push(frame);
    at += 2 + length;
  }
  return frames;
}

/** Builds a bundle of frames (ArrayBuffers from buildWsFrame); the tests' fake server speaks it. */
export function buildWsBundle(frames) {
  const size = WS_BUNDLE_HEADER_BYTES + frames.reduce((n, f) => n + 2 + f.byteLength, 0);
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  view.setUint8(0, WS_BUNDLE_VERSION);
  view.setUint8(1, frames.length);
  view.setUint16(2, WS_BUNDLE_HEADER_BYTES);
  let at = WS_BUNDLE_HEADER_BYTES;
  for (const f of frames) {
    view.setUint16(at, f.byteLength);
    new Uint8Array(buffer, at + 2).set(new Uint8Array(f));
    at += 2 + f.byteLength;
  }
  return buffer;
}

/** Builds one (the tests' fake server speaks it). */
export function buildWsFrame({ rtpTimestamp, serverTime, sequence }, payload) {
  const buffer = new ArrayBuffer(WS_HEADER_BYTES + payload.byteLength);
  const view = new DataView(buffer);
  view.setUint8(0, WS_VERSION);
  view.setUint8(1, 0);
  view.setUint16(2, WS_HEADER_BYTES);
  view.setUint32(4, rtpTimestamp >>> 0);
  view.setFloat64(8, serverTime);
  view.setUint32(16, sequence >>> 0);
  new Uint8Array(buffer, WS_HEADER_BYTES).set(payload);
  return buffer;
}

/** Server time C (ms) → the engine's sample index from `epoch` (a whole number: packets start on samples). */
export function sampleIndex(serverTime, epoch) {
  return Math.round((serverTime - epoch) * SAMPLES_PER_MS);
}

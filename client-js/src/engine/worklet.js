// SPDX-License-Identifier: MIT
//
// The AudioWorklet processor "roomcast-playout": a PlayoutCore (ring buffer,
// clocked reader) on the audio thread. Decoded PCM arrives from the decode
// worker on a MessagePort; the map (context time → source sample) and
// commands arrive from the main thread on the node's port. Every REPORT_BLOCKS
// render quanta it tells the main thread which source position the first
// frame of that quantum played (the main thread turns that into the playout
// error), with its counters. It can also record its own output for the tests
// (`capture`).
//
// "roomcast-listen" records its input (the microphone, for calibration.js),
// stamped with the context frame it was heard at, and outputs silence.

import { PlayoutCore } from './playout-core.js';

const REPORT_BLOCKS = 24; // ≈ 64 ms at 48 kHz

class PlayoutProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.core = new PlayoutCore({ sampleRate, channels: 2 });
    this.blocks = 0;
    this.capture = null;
    this.port.onmessage = (event) => this.onControl(event.data);
  }

  onControl(msg) {
    switch (msg.type) {
      case 'pcm-port':
        msg.port.onmessage = (event) => this.onPcm(event.data);
        break;
      case 'map':
        this.core.setMap(msg.map);
        break;
      case 'reset':
        this.core.reset();
        break;
      case 'capture':
        this.capture = { frames: new Float32Array(msg.frames), filled: 0, startFrame: -1, id: msg.id };
        break;
      default:
        break;
    }
  }

  onPcm(msg) {
    if (msg.type === 'pcm') this.core.write(msg.n, msg.channels, msg.frames);
    else if (msg.type === 'reset') this.core.reset();
  }

  process(inputs, outputs) {
    const out = outputs[0];
    const frames = out[0].length;
    const t = currentFrame / sampleRate;
    const mapped = this.core.render(out, frames, t);
    if (this.capture) this.record(out[0], frames);
    this.blocks += 1;
    if (mapped && this.blocks >= REPORT_BLOCKS) {
      this.blocks = 0;
      const c = this.core;
      this.port.postMessage({
        type: 'report',
        frame: currentFrame,
        position: c.blockStart, // what the first frame of this quantum played
        valid: c.lastValid,
        tracking: c.lastErrorSamples, // read position − target, source samples (before this quantum's correction)
        written: c.written, late: c.late, early: c.early, resyncs: c.resyncs,
        renderedFrames: c.renderedFrames, gapFrames: c.gapFrames, energy: c.energy,
        highest: c.highest,
      });
    }
    return true;
  }

  record(samples, frames) {
    const cap = this.capture;
    if (cap.startFrame < 0) cap.startFrame = currentFrame;
    const n = Math.min(frames, cap.frames.length - cap.filled);
    cap.frames.set(samples.subarray(0, n), cap.filled);
    cap.filled += n;
    if (cap.filled >= cap.frames.length) {
      this.port.postMessage({ type: 'capture', id: cap.id, startFrame: cap.startFrame, samples: cap.frames }, [cap.frames.buffer]);
      this.capture = null;
    }
  }
}

registerProcessor('roomcast-playout', PlayoutProcessor);

class ListenProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.samples = new Float32Array(options.processorOptions.frames);
    this.filled = 0;
    this.startFrame = -1;
  }

  process(inputs, outputs) {
    for (const ch of outputs[0]) ch.fill(0);
    const input = inputs[0] && inputs[0][0];
    if (!input || this.filled >= this.samples.length) return this.filled < this.samples.length;
    if (this.startFrame < 0) this.startFrame = currentFrame;
    const n = Math.min(input.length, this.samples.length - this.filled);
    this.samples.set(input.subarray(0, n), this.filled);
    this.filled += n;
    if (this.filled >= this.samples.length) {
      this.port.postMessage({ startFrame: this.startFrame, samples: this.samples }, [this.samples.buffer]);
      return false;
    }
    return true;
  }
}

registerProcessor('roomcast-listen', ListenProcessor);

// SPDX-License-Identifier: MIT
//
// What a host sends: a microphone (getUserMedia, a chosen device) or the
// audio of a tab, a window or the whole system (getDisplayMedia), and its
// level, measured for the meter. Why it is built this way:
//
// - The browser's voice-call filters are off (echo cancellation, noise
//   suppression, automatic gain): a host broadcasts music and voice as they
//   are, and those filters pump the level and eat steady tones. Stereo is
//   asked for; a mono device gives mono.
// - getDisplayMedia must ask for video (browsers refuse audio alone); the
//   video track is stopped at once, and a share without audio (the person
//   did not tick "share audio") is an error that says so.
// - The level is an AnalyserNode on the track, never connected to the
//   output, so nothing is played back: RMS of its window in dBFS, sampled
//   every LEVEL_EVERY_MS (a timer, not animation frames, so the meter moves
//   in a background tab too). The AudioContext is made on the click that
//   opens the source, so no autoplay policy holds it suspended.
// - A source that ends by itself (the share stopped from the browser's bar,
//   the device unplugged) calls onEnded.

const LEVEL_EVERY_MS = 60;
export const LEVEL_FLOOR_DB = -60;

const PROCESSING_OFF = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

export class SourceError extends Error {
  constructor(message, name = 'source_error') {
    super(message);
    this.name = name;
  }
}

function describeCaptureError(err, what) {
  switch (err && err.name) {
    case 'NotAllowedError': return `The browser was not allowed to use ${what}.`;
    case 'NotFoundError': return `No ${what} was found.`;
    case 'NotReadableError': return `${what[0].toUpperCase()}${what.slice(1)} is busy or cannot be read.`;
    case 'OverconstrainedError': return 'That device is no longer there.';
    default: return `Could not open ${what}: ${err && err.message ? err.message : 'unknown error'}.`;
  }
}

export class HostSource {
  constructor({ onLevel = () => {}, onEnded = () => {} } = {}) {
    this.onLevel = onLevel;
    this.onEnded = onEnded;
    this.stream = null;
    this.track = null;
    this.kind = null;   // 'mic' | 'display'
    this.context = null;
    this.analyser = null;
    this.node = null;
    this.timer = 0;
    this.buffer = null;
  }

  get label() { return this.track ? this.track.label : ''; }

  /** Opens a microphone (deviceId '' for the default); replaces any open source. */
  async openMicrophone(deviceId = '') {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new SourceError('This browser cannot capture audio here (it needs https or localhost).', 'unsupported');
    }
    const audio = { ...PROCESSING_OFF, channelCount: { ideal: 2 } };
    if (deviceId) audio.deviceId = { exact: deviceId };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio, video: false });
    } catch (err) {
      throw new SourceError(describeCaptureError(err, 'the microphone'), err.name);
    }
    this.use(stream, 'mic');
    return this.track;
  }

  /** Asks for a tab, window or screen with its audio; replaces any open source. */
  async openDisplay() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
      throw new SourceError('This browser cannot share a tab’s audio.', 'unsupported');
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({
        video: true,
        audio: { ...PROCESSING_OFF, channelCount: { ideal: 2 }, suppressLocalAudioPlayback: false },
        systemAudio: 'include',
        selfBrowserSurface: 'exclude',
      });
    } catch (err) {
      throw new SourceError(describeCaptureError(err, 'a tab or the screen'), err.name);
    }
    for (const t of stream.getVideoTracks()) {
      t.stop();
      stream.removeTrack(t);
    }
    if (!stream.getAudioTracks().length) {
      throw new SourceError('Nothing to hear: share a tab (or the screen) with “Share audio” ticked.', 'no_audio');
    }
    this.use(stream, 'display');
    return this.track;
  }

  use(stream, kind) {
    this.stopTracks();
    this.stream = stream;
    this.track = stream.getAudioTracks()[0];
    this.kind = kind;
    const track = this.track;
    track.addEventListener('ended', () => {
      if (this.track === track) this.onEnded(kind);
    });
    this.measure(stream);
  }

  measure(stream) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this.context) {
      this.context = new Context();
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 2048;
      this.buffer = new Float32Array(this.analyser.fftSize);
    }
    if (this.context.state === 'suspended') this.context.resume().catch(() => {});
    if (this.node) this.node.disconnect();
    this.node = this.context.createMediaStreamSource(stream);
    this.node.connect(this.analyser);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.sample(), LEVEL_EVERY_MS);
  }

  sample() {
    if (!this.analyser) return;
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (let i = 0; i < this.buffer.length; i++) sum += this.buffer[i] * this.buffer[i];
    const rms = Math.sqrt(sum / this.buffer.length);
    const db = rms > 0 ? Math.max(LEVEL_FLOOR_DB, 20 * Math.log10(rms)) : LEVEL_FLOOR_DB;
    this.onLevel(db, rms);
  }

  stopTracks() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.track = null;
    this.kind = null;
  }

  close() {
    clearInterval(this.timer);
    this.timer = 0;
    this.stopTracks();
    if (this.node) this.node.disconnect();
    this.node = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
    this.analyser = null;
    this.onLevel(LEVEL_FLOOR_DB, 0);
  }
}

/** The audio inputs the page may name (labels only once the microphone was allowed). */
export async function listMicrophones() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  try {
    return (await navigator.mediaDevices.enumerateDevices())
      .filter((d) => d.kind === 'audioinput')
      .map((d, i) => ({ id: d.deviceId, label: d.label || (d.deviceId === 'default' ? 'Default microphone' : `Microphone ${i + 1}`) }));
  } catch {
    return [];
  }
}

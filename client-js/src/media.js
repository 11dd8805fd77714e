// SPDX-License-Identifier: MIT
//
// The room's audio over WebRTC. The server makes the offer (one Opus stereo
// stream, sendonly on its side); this side answers:
//   start() → `startMedia` → `offer` → a new RTCPeerConnection:
//   setRemoteDescription, the remote candidates that came early, createAnswer,
//   `stereo=1` put into the Opus fmtp (Chromium downmixes to mono without it),
//   setLocalDescription, `answer`; then candidates trickle both ways as `ice`.
// Local candidates wait until the answer is sent, so the server never gets a
// candidate for a session it has no answer for.
//
// The remote track plays in an <audio> element. When the browser refuses to
// autoplay, the status is `blocked` until resume() is called from a click.
// A failed or lost connection, a `mediaStopped` this side did not ask for, or
// a media error reply starts over with backoff. The owner (the room view)
// calls stop() when the socket drops or the guest leaves and start() after
// each (re)join: a media session never outlives the room membership.
//
// Status (onStatus(status, detail)): off | connecting | listening | blocked |
// failed (retrying) | unavailable (the server has no audio).

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
const CONNECT_TIMEOUT_MS = 20000; // startMedia to `connected`
const DISCONNECTED_GRACE_MS = 5000; // `disconnected` often recovers by itself

const ERR_UNKNOWN_TYPE = 4001;
const ERR_NO_MEDIA = 4206;
const ERR_MEDIA_FAILED = 5002;

/** Error codes that concern the media session (the room view leaves them to us). */
export const MEDIA_ERROR_CODES = new Set([ERR_NO_MEDIA, ERR_MEDIA_FAILED]);

/**
 * Adds `stereo=1` to the fmtp of every Opus payload type of an SDP (and an
 * fmtp line where a payload type has none). Other lines are left as they are.
 */
export function preferStereo(sdp) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const opus = new Set();
  for (const line of lines) {
    const m = /^a=rtpmap:(\d+) opus\/48000/i.exec(line);
    if (m) opus.add(m[1]);
  }
  if (opus.size === 0) return sdp;

  const withFmtp = new Set();
  const out = lines.map((line) => {
    const m = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (!m || !opus.has(m[1])) return line;
    withFmtp.add(m[1]);
    const params = m[2].split(';').map((p) => p.trim()).filter(Boolean)
      .filter((p) => !/^stereo=/i.test(p));
    params.push('stereo=1');
    return `a=fmtp:${m[1]} ${params.join(';')}`;
  });
  for (const pt of opus) {
    if (withFmtp.has(pt)) continue;
    const at = out.findIndex((line) => line.startsWith(`a=rtpmap:${pt} `));
    out.splice(at + 1, 0, `a=fmtp:${pt} stereo=1`);
  }
  return out.join(eol);
}

export class MediaSession {
  /**
   * sig: a Signalling; audio: the <audio> element that plays the room;
   * onStatus(status, detail): called on every status change.
   */
  constructor(sig, { audio, onStatus = () => {} }) {
    this.sig = sig;
    this.audio = audio;
    this.onStatus = onStatus;
    this.status = 'off';
    this.detail = '';

    this.wanted = false;      // the room view wants audio (we are in a room)
    this.pc = null;
    this.awaitingOffer = false;
    this.remoteSet = false;   // the current pc has the offer
    this.answerSent = false;
    this.remoteIce = [];      // remote candidates that arrived before the offer was set
    this.localIce = [];       // local candidates waiting for the answer to go out
    this.blocked = false;     // autoplay refused
    this.attempt = 0;
    this.retryTimer = 0;
    this.connectTimer = 0;
    this.graceTimer = 0;

    audio.autoplay = true;
    this.offs = [
      sig.on('offer', (msg) => this.onOffer(msg)),
      sig.on('ice', (msg) => this.onRemoteIce(msg)),
      sig.on('mediaStopped', (msg) => this.onMediaStopped(msg)),
      sig.on('error', (msg) => {
        if (this.wanted && MEDIA_ERROR_CODES.has(msg.code)) this.fail(msg.message || 'The server could not start the audio.');
      }),
    ];
    exposeForTests({ media: this, pc: null });
  }

  /** Asks the server for audio (again). Call after each join. */
  start() {
    this.wanted = true;
    this.attempt = 0;
    this.request();
  }

  /** Drops the session locally (leaving the room ends it on the server too). */
  stop() {
    this.wanted = false;
    this.awaitingOffer = false;
    this.clearTimers();
    this.closePc();
    this.setStatus('off');
  }

  dispose() {
    this.stop();
    this.offs.splice(0).forEach((off) => off());
    this.audio.srcObject = null;
  }

  /** From a user gesture: plays what autoplay refused. */
  resume() {
    this.play();
  }

  // -- negotiation ----------------------------------------------------------

  request() {
    if (!this.wanted) return;
    this.clearTimers();
    this.closePc();
    this.remoteIce = [];
    this.awaitingOffer = true;
    this.setStatus('connecting');
    this.connectTimer = setTimeout(() => this.fail('The audio connection timed out.'), CONNECT_TIMEOUT_MS);
    const sent = this.sig.request({ type: 'startMedia', transport: 'webrtc' });
    sent.catch((err) => {
      if (!this.wanted) return;
      if (err.name === 'disconnected') return; // the room view starts us again after the rejoin
      if (err.code === ERR_UNKNOWN_TYPE) {
        this.clearTimers();
        this.awaitingOffer = false;
        this.setStatus('unavailable', 'This server does not stream audio.');
        return;
      }
      this.fail(err.message || 'The server could not start the audio.');
    });
    // The offer itself reaches onOffer through the `offer` listener.
  }

  async onOffer(msg) {
    if (!this.wanted || typeof msg.sdp !== 'string') return;
    this.awaitingOffer = false;
    this.closePc();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    this.remoteSet = false;
    this.answerSent = false;
    this.localIce = [];
    exposeForTests({ pc });

    pc.onicecandidate = (event) => {
      if (this.pc !== pc) return;
      const c = event.candidate;
      if (!c || !c.candidate) return; // end of candidates: nothing to tell
      const ice = { type: 'ice', candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex ?? 0 };
      if (this.answerSent) this.sig.send(ice);
      else this.localIce.push(ice);
    };
    pc.ontrack = (event) => {
      if (this.pc !== pc) return;
      this.audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.play();
    };
    pc.onconnectionstatechange = () => this.onConnectionState(pc);

    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      if (this.pc !== pc) return;
      this.remoteSet = true;
      for (const init of this.remoteIce.splice(0)) this.addRemoteIce(pc, init);
      const answer = await pc.createAnswer();
      if (this.pc !== pc) return;
      await pc.setLocalDescription({ type: 'answer', sdp: preferStereo(answer.sdp) });
      if (this.pc !== pc) return;
      this.sig.send({ type: 'answer', sdp: pc.localDescription.sdp });
      this.answerSent = true;
      for (const ice of this.localIce.splice(0)) this.sig.send(ice);
    } catch (err) {
      if (this.pc === pc) this.fail(`Could not answer the audio offer: ${err.message}`);
    }
  }

  onRemoteIce(msg) {
    if (!this.wanted || typeof msg.candidate !== 'string' || msg.candidate === '') return;
    const candidate = msg.candidate.startsWith('candidate:') ? msg.candidate : `candidate:${msg.candidate}`;
    const init = { candidate, sdpMLineIndex: Number.isInteger(msg.sdpMLineIndex) ? msg.sdpMLineIndex : 0 };
    if (this.pc && this.remoteSet) this.addRemoteIce(this.pc, init);
    else this.remoteIce.push(init);
  }

  addRemoteIce(pc, init) {
    pc.addIceCandidate(init).catch((err) => console.warn('roomcast: ignoring a remote candidate', err.message));
  }

  onMediaStopped(msg) {
    // While we wait for a new offer, a stop is the old session's.
    if (!this.wanted || this.awaitingOffer) return;
    this.fail(msg.reason === 'failed' ? 'The audio connection failed.' : 'The audio stopped.');
  }

  onConnectionState(pc) {
    if (this.pc !== pc) return;
    clearTimeout(this.graceTimer);
    switch (pc.connectionState) {
      case 'connected':
        clearTimeout(this.connectTimer);
        this.attempt = 0;
        this.refreshStatus();
        break;
      case 'disconnected':
        this.graceTimer = setTimeout(() => {
          if (this.pc === pc && pc.connectionState !== 'connected') this.fail('The audio connection was lost.');
        }, DISCONNECTED_GRACE_MS);
        break;
      case 'failed':
        this.fail('The audio connection failed.');
        break;
      default:
        break;
    }
  }

  // -- playback and status --------------------------------------------------

  play() {
    const result = this.audio.play();
    if (!result || typeof result.then !== 'function') return;
    result.then(() => {
      this.blocked = false;
      this.refreshStatus();
    }, (err) => {
      if (err.name === 'NotAllowedError') {
        this.blocked = true;
        this.refreshStatus();
      } else if (err.name !== 'AbortError') {
        console.warn('roomcast: audio element refused to play', err);
      }
    });
  }

  refreshStatus() {
    if (!this.wanted) return this.setStatus('off');
    if (this.pc && this.pc.connectionState === 'connected') {
      return this.setStatus(this.blocked ? 'blocked' : 'listening');
    }
    if (this.blocked && this.pc) return this.setStatus('blocked');
    return undefined;
  }

  setStatus(status, detail = '') {
    if (status === this.status && detail === this.detail) return;
    this.status = status;
    this.detail = detail;
    try { this.onStatus(status, detail); } catch (err) { console.error('roomcast: media status listener failed', err); }
  }

  fail(reason) {
    if (!this.wanted) return;
    this.clearTimers();
    this.closePc();
    this.awaitingOffer = false;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    const jittered = Math.round(delay / 2 + Math.random() * delay / 2);
    this.setStatus('failed', reason);
    this.retryTimer = setTimeout(() => {
      if (this.wanted && this.sig.connected) this.request();
    }, jittered);
  }

  clearTimers() {
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    clearTimeout(this.graceTimer);
    this.retryTimer = this.connectTimer = this.graceTimer = 0;
  }

  closePc() {
    const pc = this.pc;
    if (!pc) return;
    this.pc = null;
    this.remoteSet = false;
    this.answerSent = false;
    this.localIce = [];
    pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
    try { pc.close(); } catch { /* already closed */ }
    exposeForTests({ pc: null });
  }
}

// The browser tests read the live RTCPeerConnection's stats through
// window.__roomcast.pc; nothing in the client reads it back.
function exposeForTests(fields) {
  if (typeof window === 'undefined') return;
  window.__roomcast = Object.assign(window.__roomcast || {}, fields);
}

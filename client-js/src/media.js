// SPDX-License-Identifier: MIT
//
// The room's audio session: which transport brings the Opus packets, and the
// sync reports. The packets always end in the PlayoutEngine (engine/), which
// renders sample C at server time C + D; the transports only deliver.
//
// - WebRTC (default): start() → `startMedia` → `offer` → a new
//   RTCPeerConnection: setRemoteDescription (ontrack hands the receiver's
//   encoded frames to the engine: RTCRtpScriptTransform, or
//   createEncodedStreams), the remote candidates that came early,
//   createAnswer, `stereo=1` put into the Opus fmtp (Chromium downmixes to
//   mono without it), setLocalDescription, `answer`; then candidates trickle
//   both ways as `ice`. Local candidates wait until the answer is sent, so the
//   server never gets a candidate for a session it has no answer for. The
//   track itself is never played: the browser's own WebRTC playout cannot be
//   pinned to the room's clock.
// - WebSocket: `startMedia {transport: "ws"}` → `mediaStarted` → binary
//   messages on the signalling socket.
// - Choice: `?transport=ws` or `?transport=webrtc` in the page URL forces one;
//   otherwise WebRTC, and the WebSocket when WebRTC has not connected within
//   FALLBACK_MS (then for the rest of the page's life).
//
// A failed or lost connection, a `mediaStopped` this side did not ask for, a
// media error reply, or (WebSocket) packets that stop coming starts over with
// backoff. The owner (the room view) calls stop() when the socket drops or the
// guest leaves and start() after each (re)join: a media session never
// outlives the room membership. When the browser keeps the audio suspended
// (autoplay policy) the status is `blocked` until resume() from a click.
//
// Status (onStatus(status, detail)): off | connecting | listening | blocked |
// failed (retrying) | unavailable (the server has no audio).
// Sync (onSync({transport, error, inSync})): about once a second while
// listening; a `syncReport` goes to the server every REPORT_INTERVAL_MS.

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
const CONNECT_TIMEOUT_MS = 20000; // startMedia to `connected`
const FALLBACK_MS = 4000;         // auto: WebRTC not connected by then → WebSocket
const DISCONNECTED_GRACE_MS = 5000; // `disconnected` often recovers by itself
const WS_STALL_MS = 5000;         // WebSocket audio: no packet for this long → start over
const REPORT_INTERVAL_MS = 3000;
const SYNC_INTERVAL_MS = 1000;

const ERR_UNKNOWN_TYPE = 4001;
const ERR_NO_MEDIA = 4206;
const ERR_MEDIA_FAILED = 5002;

/** Error codes that concern the media session (the room view leaves them to us). */
export const MEDIA_ERROR_CODES = new Set([ERR_NO_MEDIA, ERR_MEDIA_FAILED]);

/** `webrtc`, `ws` or `auto`, from the page URL's `transport` parameter. */
export function transportFromUrl(search = typeof window === 'undefined' ? '' : window.location.search) {
  const value = new URLSearchParams(search).get('transport');
  return value === 'ws' || value === 'webrtc' ? value : 'auto';
}

/** Whether this browser can hand a WebRTC receiver's encoded frames to a worker. */
export function canTapReceiver() {
  return typeof RTCRtpScriptTransform === 'function'
    || (typeof RTCRtpReceiver !== 'undefined' && 'createEncodedStreams' in RTCRtpReceiver.prototype);
}

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
   * sig: a Signalling; engine: a PlayoutEngine; transport: auto | webrtc | ws;
   * onStatus(status, detail), onSync({transport, error, inSync}).
   */
  constructor(sig, { engine, transport = 'auto', onStatus = () => {}, onSync = () => {} }) {
    this.sig = sig;
    this.engine = engine;
    this.preference = transport;
    this.onStatus = onStatus;
    this.onSync = onSync;
    this.status = 'off';
    this.detail = '';

    this.wanted = false;      // the room view wants audio (we are in a room)
    this.transport = null;    // webrtc | ws: what the current session uses
    this.fellBack = false;    // auto: WebRTC did not connect, the WebSocket took over
    this.established = false; // pc connected, or mediaStarted
    this.pc = null;
    this.awaitingOffer = false;
    this.remoteSet = false;   // the current pc has the offer
    this.answerSent = false;
    this.remoteIce = [];      // remote candidates that arrived before the offer was set
    this.localIce = [];       // local candidates waiting for the answer to go out
    this.attempt = 0;
    this.generation = 0;      // bumps with every request: late replies to older ones are ignored
    this.lastPacketAt = 0;
    this.retryTimer = 0;
    this.connectTimer = 0;
    this.fallbackTimer = 0;
    this.graceTimer = 0;
    this.stallTimer = 0;
    this.reportTimer = 0;
    this.syncTimer = 0;

    this.offs = [
      sig.on('offer', (msg) => this.onOffer(msg)),
      sig.on('ice', (msg) => this.onRemoteIce(msg)),
      sig.on('timeline', (msg) => this.onTimeline(msg)),
      sig.on('binary', (data) => this.onBinary(data)),
      sig.on('mediaStopped', (msg) => this.onMediaStopped(msg)),
      sig.on('error', (msg) => {
        if (this.wanted && MEDIA_ERROR_CODES.has(msg.code)) this.fail(msg.message || 'The server could not start the audio.');
      }),
    ];
    exposeForTests({ media: this, engine, pc: null });
  }

  /** Asks the server for audio (again). Call after each join. */
  start() {
    this.wanted = true;
    this.attempt = 0;
    this.engine.start().then(() => this.refreshStatus(), (err) => {
      console.error('roomcast: the audio engine did not start', err);
      this.setStatus('unavailable', `This browser cannot play the room: ${err.message}`);
    });
    this.request();
    clearInterval(this.reportTimer);
    clearInterval(this.syncTimer);
    this.reportTimer = setInterval(() => this.sendReport(), REPORT_INTERVAL_MS);
    this.syncTimer = setInterval(() => this.publishSync(), SYNC_INTERVAL_MS);
  }

  /** Drops the session locally (leaving the room ends it on the server too). */
  stop() {
    this.wanted = false;
    this.awaitingOffer = false;
    this.established = false;
    this.transport = null;
    this.clearTimers();
    clearInterval(this.reportTimer);
    clearInterval(this.syncTimer);
    this.reportTimer = this.syncTimer = 0;
    this.closePc();
    this.setStatus('off');
  }

  dispose() {
    this.stop();
    this.offs.splice(0).forEach((off) => off());
  }

  /** From a user gesture: plays what autoplay refused. */
  resume() {
    this.engine.resume().then(() => this.refreshStatus(), (err) => console.warn('roomcast: cannot resume audio', err));
  }

  /** The transport the next request uses. */
  chooseTransport() {
    if (this.preference === 'ws' || this.preference === 'webrtc') return this.preference;
    if (this.fellBack || typeof RTCPeerConnection !== 'function' || !canTapReceiver()) return 'ws';
    return 'webrtc';
  }

  // -- requests --------------------------------------------------------------

  async request() {
    if (!this.wanted) return;
    this.clearTimers();
    this.closePc();
    this.remoteIce = [];
    this.established = false;
    const generation = ++this.generation;
    const transport = this.chooseTransport();
    this.transport = transport;
    this.setStatus('connecting');
    try {
      await this.engine.start(); // the receiver is handed to the engine's worker in ontrack
    } catch {
      return; // start() reported it
    }
    if (!this.wanted || generation !== this.generation) return;
    this.connectTimer = setTimeout(() => this.fail('The audio connection timed out.'), CONNECT_TIMEOUT_MS);
    if (transport === 'webrtc' && this.preference === 'auto') {
      this.fallbackTimer = setTimeout(() => this.fallBack(), FALLBACK_MS);
    }
    this.awaitingOffer = transport === 'webrtc';
    const sent = this.sig.request({ type: 'startMedia', transport });
    sent.then((reply) => {
      if (generation !== this.generation || !this.wanted) return;
      if (transport === 'ws' && reply.type === 'mediaStarted') this.onWsStarted();
      // WebRTC: the offer itself reaches onOffer through the `offer` listener.
    }, (err) => {
      if (generation !== this.generation || !this.wanted) return;
      if (err.name === 'disconnected') return; // the room view starts us again after the rejoin
      if (err.code === ERR_UNKNOWN_TYPE) {
        this.clearTimers();
        this.awaitingOffer = false;
        this.setStatus('unavailable', 'This server does not stream audio.');
        return;
      }
      this.fail(err.message || 'The server could not start the audio.');
    });
  }

  /** auto: WebRTC did not connect in time; the WebSocket carries the audio from now on. */
  fallBack() {
    if (!this.wanted || this.transport !== 'webrtc' || this.established) return;
    console.info('roomcast: WebRTC did not connect; audio over the WebSocket');
    this.fellBack = true;
    this.attempt = 0;
    this.request(); // startMedia ws replaces the WebRTC session on the server
  }

  // -- WebSocket -------------------------------------------------------------

  onWsStarted() {
    clearTimeout(this.connectTimer);
    this.established = true;
    this.attempt = 0;
    this.lastPacketAt = performance.now();
    this.watchStall();
    this.refreshStatus();
  }

  onBinary(data) {
    if (!this.wanted || this.transport !== 'ws' || !this.established) return;
    this.lastPacketAt = performance.now();
    this.engine.pushWs(data);
  }

  watchStall() {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      if (!this.wanted || this.transport !== 'ws' || !this.established) return;
      if (performance.now() - this.lastPacketAt > WS_STALL_MS) this.fail('The audio stopped arriving.');
      else this.watchStall();
    }, 1000);
  }

  // -- WebRTC ----------------------------------------------------------------

  async onOffer(msg) {
    if (!this.wanted || this.transport !== 'webrtc' || typeof msg.sdp !== 'string') return;
    this.awaitingOffer = false;
    this.closePc();
    const tapWithStreams = typeof RTCRtpScriptTransform !== 'function';
    const pc = new RTCPeerConnection({ iceServers: [], ...(tapWithStreams ? { encodedInsertableStreams: true } : {}) });
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
      if (!this.engine.attachReceiver(event.receiver)) {
        this.fellBack = true;
        this.fail('This browser cannot hand WebRTC audio to the player.');
      }
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
    if (!this.wanted || this.transport !== 'webrtc' || typeof msg.candidate !== 'string' || msg.candidate === '') return;
    const candidate = msg.candidate.startsWith('candidate:') ? msg.candidate : `candidate:${msg.candidate}`;
    const init = { candidate, sdpMLineIndex: Number.isInteger(msg.sdpMLineIndex) ? msg.sdpMLineIndex : 0 };
    if (this.pc && this.remoteSet) this.addRemoteIce(this.pc, init);
    else this.remoteIce.push(init);
  }

  addRemoteIce(pc, init) {
    pc.addIceCandidate(init).catch((err) => console.warn('roomcast: ignoring a remote candidate', err.message));
  }

  onConnectionState(pc) {
    if (this.pc !== pc) return;
    clearTimeout(this.graceTimer);
    switch (pc.connectionState) {
      case 'connected':
        clearTimeout(this.connectTimer);
        clearTimeout(this.fallbackTimer);
        this.established = true;
        this.attempt = 0;
        this.refreshStatus();
        break;
      case 'disconnected':
        this.graceTimer = setTimeout(() => {
          if (this.pc === pc && pc.connectionState !== 'connected') this.fail('The audio connection was lost.');
        }, DISCONNECTED_GRACE_MS);
        break;
      case 'failed':
        if (this.preference === 'auto' && !this.established) this.fellBack = true;
        this.fail('The audio connection failed.');
        break;
      default:
        break;
    }
  }

  // -- both --------------------------------------------------------------------

  onTimeline(msg) {
    if (!this.wanted) return;
    if (!Number.isInteger(msg.rtpTimestamp) || !Number.isFinite(msg.serverTime)) return;
    this.engine.setTimeline(msg);
  }

  onMediaStopped(msg) {
    // While we wait for a new offer, a stop is the old session's.
    if (!this.wanted || this.awaitingOffer) return;
    this.fail(msg.reason === 'failed' ? 'The audio connection failed.' : 'The audio stopped.');
  }

  sendReport() {
    if (!this.wanted || !this.established || !this.sig.connected) return;
    const report = this.engine.takeReport();
    if (!report) return;
    const round = (x) => Math.round(x * 100) / 100;
    const message = {
      type: 'syncReport',
      transport: this.transport,
      error: round(Math.max(-10000, Math.min(10000, report.error))),
      arrival: round(Math.max(0, Math.min(10000, report.arrival ?? 0))),
      jitter: round(Math.max(0, Math.min(10000, report.jitter ?? 0))),
      latencyOffset: this.engine.latencyOffset,
      underruns: report.underruns,
    };
    this.sig.send(message);
    this.lastReport = { ...message, errorMax: report.errorMax, resyncs: report.resyncs, sentAt: Date.now() };
    exposeForTests({ lastReport: this.lastReport, reports: (window.__roomcast.reports || 0) + 1 });
  }

  publishSync() {
    if (!this.wanted) return;
    this.refreshStatus();
    const error = this.status === 'listening' ? this.engine.currentError() : null;
    try {
      this.onSync({ transport: this.transport, error, inSync: error !== null && this.engine.inSync });
    } catch (err) {
      console.error('roomcast: sync listener failed', err);
    }
  }

  refreshStatus() {
    if (!this.wanted) return this.setStatus('off');
    if (this.status === 'unavailable') return undefined;
    if (this.engine.blocked) return this.setStatus('blocked');
    if (this.established && this.engine.running) return this.setStatus('listening');
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
    this.established = false;
    this.generation += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    const jittered = Math.round(delay / 2 + Math.random() * delay / 2);
    this.setStatus('failed', reason);
    this.retryTimer = setTimeout(() => {
      if (this.wanted && this.sig.connected) this.request();
    }, jittered);
  }

  clearTimers() {
    for (const name of ['retryTimer', 'connectTimer', 'fallbackTimer', 'graceTimer', 'stallTimer']) {
      clearTimeout(this[name]);
      this[name] = 0;
    }
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

// The browser tests read the live RTCPeerConnection, the engine and the last
// sync report through window.__roomcast; nothing in the client reads it back.
function exposeForTests(fields) {
  if (typeof window === 'undefined') return;
  window.__roomcast = Object.assign(window.__roomcast || {}, fields);
}

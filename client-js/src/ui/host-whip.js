// SPDX-License-Identifier: MIT
//
// The host page's network side: publishing live audio into a room with
// WHIP (RFC 9725) through the server's own endpoint `POST /whip/{roomId}`,
// and creating a publish key with the owner token. Why it is built this way:
//
// - Non-trickle. The offer is POSTed once the browser's ICE gathering is
//   complete, or after GATHER_TIMEOUT_MS, whichever comes first: the server
//   takes no PATCH (405, docs/protocol.md) and its answer already carries
//   every server candidate. An offer that went before its last candidate
//   still connects: the server learns the browser's address from its checks.
// - One sendonly audio transceiver, Opus only (setCodecPreferences where the
//   browser has it; the server picks Opus from a longer list anyway), and
//   `stereo=1; sprop-stereo=1` in the offer's Opus fmtp. The server answers
//   `stereo=1`, so a stereo source goes out in stereo.
// - Every failure is a WhipError: the HTTP status and the server's numbered
//   error (code, name, message) when the body is the protocol's error object,
//   so the page can say why (401 wrong key, 409 someone else is live, 503 the
//   server is full, with its Retry-After).
// - stop() DELETEs the session resource (the answer's Location) with the
//   same key and closes the connection. A page being left sends the DELETE
//   with `keepalive`, so it goes out after the page is gone.
// - WHIP gives the server no way to tell the browser that it ended the
//   session (key revoked, room deleted, 2 s without the host's audio): the
//   browser only sees its ICE checks go unanswered ('disconnected'), and
//   takes some 15 s more to call it 'failed'. A connection disconnected for
//   LOST_AFTER_MS is taken as lost: by then the server has dropped the
//   session anyway. The page may then POST a new offer (host.js does, once).

const GATHER_TIMEOUT_MS = 1500;
const LOST_AFTER_MS = 2500;
const LOST_DELETE_TIMEOUT_MS = 2000;

export class WhipError extends Error {
  constructor(status, code, name, message, retryAfter = 0) {
    super(message || `HTTP ${status}`);
    this.status = status; // HTTP status, 0 when the server was not reached
    this.code = code;     // protocol error code (4100, 4207, …) or 0
    this.name = name || 'http_error';
    this.retryAfter = retryAfter; // seconds, from Retry-After, or 0
  }
}

/** The protocol's error body {type: 'error', code, name, message} (or {error: {…}}) as a WhipError. */
async function errorFrom(response) {
  let body = null;
  try { body = JSON.parse(await response.text()); } catch { body = null; }
  const e = body && typeof body === 'object' ? (body.type === 'error' ? body : body.error) : null;
  const retryAfter = Number.parseInt(response.headers.get('Retry-After') || '', 10);
  return new WhipError(response.status,
    e && Number.isInteger(e.code) ? e.code : 0,
    e && typeof e.name === 'string' ? e.name : 'http_error',
    e && typeof e.message === 'string' ? e.message : `${response.status} ${response.statusText}`.trim(),
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 0);
}

async function send(url, init) {
  try {
    return await fetch(url, { cache: 'no-store', ...init });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new WhipError(0, 0, 'network', 'Cannot reach the server.');
  }
}

/** What to tell the host when going live failed or ended. */
export function describeWhipError(err) {
  if (!err) return 'Something went wrong.';
  switch (err.code || 0) {
    case 4100: return 'The publish key is wrong, or it was revoked.';
    case 4207: return 'Someone else is live in this room right now.';
    case 4305: return `The server has as many live hosts as it takes. Try again ${err.retryAfter ? `in ${err.retryAfter} s` : 'later'}.`;
    case 4200: return 'This room does not exist any more.';
    case 4004: return 'The browser offered no Opus audio the server can take.';
    case 4300: return `Too many tries: wait ${err.retryAfter ? `${err.retryAfter} s` : 'a moment'}.`;
    default: break;
  }
  if (err.status === 401) return 'The publish key is wrong, or it was revoked.';
  if (err.status === 409) return 'Someone else is live in this room right now.';
  if (err.status === 503) return 'The server cannot take another live host now. Try again later.';
  return err.message || 'Something went wrong.';
}

/**
 * Creates a publish key of the room (the owner only): POST
 * /api/rooms/{id}/keys → {id, label, createdAt, key}. The key is shown once.
 */
export async function createPublishKey(roomId, ownerToken, label = 'Browser') {
  const response = await send(`/api/rooms/${encodeURIComponent(roomId)}/keys`, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: `Bearer ${ownerToken}` },
    body: JSON.stringify({ label }),
  });
  if (!response.ok) throw await errorFrom(response);
  const data = await response.json().catch(() => null);
  if (!data || typeof data.key !== 'string') throw new WhipError(response.status, 0, 'bad_response', 'The server sent an unreadable reply.');
  return data;
}

/** Adds `stereo=1; sprop-stereo=1` to the fmtp of every Opus payload type of an SDP. */
export function preferStereo(sdp) {
  const lines = sdp.split('\r\n');
  const opus = new Set();
  for (const line of lines) {
    const m = /^a=rtpmap:(\d+) opus\/48000/i.exec(line);
    if (m) opus.add(m[1]);
  }
  return lines.map((line) => {
    const m = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (!m || !opus.has(m[1])) return line;
    let params = m[2];
    if (!/(^|;)\s*stereo=/.test(params)) params += ';stereo=1';
    if (!/(^|;)\s*sprop-stereo=/.test(params)) params += ';sprop-stereo=1';
    return `a=fmtp:${m[1]} ${params}`;
  }).join('\r\n');
}

function iceGathered(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function opusOnly(transceiver) {
  if (typeof transceiver.setCodecPreferences !== 'function') return;
  for (const kind of [globalThis.RTCRtpSender, globalThis.RTCRtpReceiver]) {
    const caps = kind && typeof kind.getCapabilities === 'function' ? kind.getCapabilities('audio') : null;
    const opus = (caps?.codecs || []).filter((c) => c.mimeType.toLowerCase() === 'audio/opus');
    if (!opus.length) continue;
    try {
      transceiver.setCodecPreferences(opus);
      return;
    } catch { /* this browser wants the other list: try it */ }
  }
}

/**
 * One WHIP session. onState(state, info): 'connecting' (POST or ICE under
 * way), 'live' (connected), 'unstable' (the connection wobbles), 'ended'
 * ({reason, lost: true}: the connection was lost; not called after stop()).
 */
export class WhipPublisher {
  constructor(roomId, key, { onState = () => {} } = {}) {
    this.endpoint = `/whip/${encodeURIComponent(roomId)}`;
    this.key = key;
    this.onState = onState;
    this.pc = null;
    this.sender = null;
    this.location = null;
    this.state = 'idle';
    this.controller = new AbortController();
    this.lostTimer = 0;
  }

  setState(state, info = {}) {
    if (this.state === state && state !== 'ended') return;
    this.state = state;
    this.onState(state, info);
  }

  /** Publishes the track; resolves once the answer is set (throws a WhipError, after cleaning up, when refused). */
  async start(track, stream) {
    this.setState('connecting');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addEventListener('connectionstatechange', () => this.onConnectionState());
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: stream ? [stream] : [] });
    this.sender = transceiver.sender;
    opusOnly(transceiver);
    try {
      const offer = await pc.createOffer();
      await pc.setLocalDescription({ type: 'offer', sdp: preferStereo(offer.sdp) });
      await iceGathered(pc, GATHER_TIMEOUT_MS);
      if (this.pc !== pc) throw new WhipError(0, 0, 'stopped', 'Stopped.');
      const response = await send(this.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${this.key}` },
        body: pc.localDescription.sdp,
        signal: this.controller.signal,
      });
      if (response.status !== 201) throw await errorFrom(response);
      const location = response.headers.get('Location');
      if (!location) throw new WhipError(response.status, 0, 'bad_response', 'The server sent no session Location.');
      this.location = new URL(location, window.location.href).href;
      const answer = await response.text();
      if (this.pc !== pc) throw new WhipError(0, 0, 'stopped', 'Stopped.');
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (err) {
      const location = this.location;
      this.close();
      // A session the server made but this page could not use: end it there too.
      if (location) this.remove(location, { keepalive: false }).catch(() => {});
      throw err;
    }
  }

  onConnectionState() {
    const pc = this.pc;
    if (!pc) return;
    clearTimeout(this.lostTimer);
    switch (pc.connectionState) {
      case 'connected': this.setState('live'); break;
      case 'disconnected':
        this.setState('unstable');
        this.lostTimer = setTimeout(() => { if (this.pc === pc) this.lost(); }, LOST_AFTER_MS);
        break;
      case 'failed':
      case 'closed': this.lost(); break;
      default: break;
    }
  }

  async lost() {
    const location = this.location;
    this.close();
    // Before anyone POSTs again (a session still held would get 409);
    // harmless when the server already ended it (404).
    if (location) {
      await this.remove(location, { keepalive: false, signal: AbortSignal.timeout(LOST_DELETE_TIMEOUT_MS) }).catch(() => {});
    }
    this.setState('ended', { reason: 'The connection to the server was lost.', lost: true });
  }

  /** Swaps the source while live (another microphone, a tab). */
  async replaceTrack(track) {
    if (this.sender) await this.sender.replaceTrack(track);
  }

  /** Bytes and packets sent so far, from the sender's outbound-rtp stats. */
  async sentStats() {
    if (!this.sender) return null;
    let found = null;
    try {
      (await this.sender.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp') found = { bytes: r.bytesSent || 0, packets: r.packetsSent || 0, at: r.timestamp };
      });
    } catch { return null; }
    return found;
  }

  remove(location, { keepalive, signal }) {
    return send(location, { method: 'DELETE', headers: { Authorization: `Bearer ${this.key}` }, keepalive, signal });
  }

  close() {
    clearTimeout(this.lostTimer);
    const pc = this.pc;
    this.pc = null;
    this.sender = null;
    this.location = null;
    if (pc) pc.close();
  }

  /**
   * Ends the session: DELETE on its resource, then the connection closes.
   * → {status} of the DELETE (0 when there was no session or no answer).
   */
  async stop({ keepalive = false } = {}) {
    const location = this.location;
    this.controller.abort();
    this.close();
    this.state = 'ended';
    if (!location) return { status: 0 };
    try {
      const response = await this.remove(location, { keepalive });
      return { status: response.status, error: response.ok ? null : await errorFrom(response) };
    } catch (err) {
      return { status: 0, error: err };
    }
  }
}

// SPDX-License-Identifier: MIT
//
// The WebSocket client for /ws. Messages are JSON objects with a `type`.
// Requests get a fresh numeric `id`; the server echoes it in its reply, which
// settles the request's promise (an `error` reply rejects it). Every message
// that is not an error reply is also dispatched to the listeners of its
// `type`, so e.g. the sender's own `chat` echo both settles `request()` and
// reaches the chat view like everybody else's.
//
// The socket reconnects by itself with exponential backoff and jitter. After
// each (re)connect the `socket:open` event fires; the owner of the session
// (the room view) rejoins its room there, since the server forgets a guest
// when its socket closes. Requests in flight when the socket drops are
// rejected with name `disconnected`.
//
// Binary messages (the room's audio when it comes over the WebSocket) are
// emitted as `binary` with an ArrayBuffer.
//
// A cluster (docs/protocol.md, "A cluster of nodes"): any node serves any
// room, so the socket stays where it is; moveTo() switches to another node
// when told to (a 4208 error's nodeUrl). The live nodes are learnt from
// GET /api/nodes after each connect; when the node in use stops answering,
// the reconnects go round the other nodes it listed.

export class SignallingError extends Error {
  constructor(code, name, message, request = null, nodeUrl = null) {
    super(message || name);
    this.code = code;   // protocol error code, 0 for client-side failures
    this.name = name;   // wrong_password, room_full, … or disconnected, timeout
    this.request = request;
    this.nodeUrl = nodeUrl; // room_elsewhere: the node that serves the room
  }
}

const PING_INTERVAL_MS = 25000;
// Failed connects to one node before the next node of the cluster is tried.
const ATTEMPTS_PER_NODE = 2;

/** The /ws URL of a node's base URL (http://host:port → ws://host:port/ws); null if not http(s). */
export function socketUrlOfNode(nodeUrl) {
  let u;
  try {
    u = new URL(nodeUrl);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/ws`;
}

/** The cluster's live nodes from GET /api/nodes on the page's own server; [] outside a cluster. */
async function fetchNodeUrls() {
  const response = await fetch('/api/nodes', { headers: { Accept: 'application/json' } });
  if (!response.ok) return [];
  const body = await response.json();
  return Array.isArray(body?.nodes) ? body.nodes.map((n) => n?.url).filter((u) => typeof u === 'string') : [];
}

/** ws:// or wss:// URL of /ws on the page's own host. */
export function defaultSocketUrl(loc = window.location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export class Signalling {
  constructor(url = defaultSocketUrl(), options = {}) {
    this.url = url;
    this.minDelay = options.minDelay ?? 500;
    this.maxDelay = options.maxDelay ?? 10000;
    this.requestTimeout = options.requestTimeout ?? 10000;

    this.ws = null;
    this.nextId = 1;
    this.pending = new Map(); // id -> { resolve, reject, timer, message }
    this.listeners = new Map(); // type -> Set<fn>
    this.attempt = 0;
    this.reconnectTimer = 0;
    this.pingTimer = 0;
    this.stopped = true;
    this.everOpened = false;
    this.fetchNodes = options.fetchNodes ?? fetchNodeUrls;
    this.nodeSockets = []; // /ws URLs of the cluster's nodes, as last listed
    this.failedHere = 0;   // connects to this.url that failed in a row
  }

  /** Switches to another node's socket (a room_elsewhere's nodeUrl) and connects there now. */
  moveTo(nodeUrl) {
    const url = socketUrlOfNode(nodeUrl);
    if (!url) return false;
    this.url = url;
    this.failedHere = 0;
    this.restart();
    return true;
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Subscribes to a message type (or socket:open, socket:close, *). Returns an unsubscribe. */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type)?.delete(fn);
  }

  /** Opens the socket and keeps it open until stop(). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes for good: no reconnect, pending requests rejected. */
  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stopPing();
    this.failPending('disconnected', 'Connection closed.');
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
      try { ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
  }

  /** Drops the current socket (e.g. after a request timed out) and connects again now. */
  restart() {
    this.stop();
    this.attempt = 0;
    this.start();
  }

  /** Fire-and-forget. Returns false when the socket is not open. */
  send(message) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Sends with a fresh id; resolves with the reply carrying that id, rejects on an error reply. */
  request(message, { timeout = this.requestTimeout } = {}) {
    if (!this.connected) {
      return Promise.reject(new SignallingError(0, 'disconnected', 'Not connected to the server.', message));
    }
    const id = this.nextId++;
    const full = { ...message, id };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignallingError(0, 'timeout', 'The server did not answer in time.', full));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer, message: full });
      this.ws.send(JSON.stringify(full));
    });
  }

  // -- internals -----------------------------------------------------------

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.warn('roomcast: cannot open socket', err);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.binaryType = 'arraybuffer'; // the room's audio over the WebSocket (media.js)
    ws.onopen = () => {
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.failedHere = 0;
      this.learnNodes();
      this.startPing();
      this.emit('socket:open', { reconnect });
    };
    ws.onmessage = (event) => this.handleMessage(event.data);
    ws.onerror = () => { /* onclose follows and carries the decision */ };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      this.failPending('disconnected', 'Connection lost.');
      const willRetry = !this.stopped;
      this.emit('socket:close', { code: event.code, reason: event.reason, willRetry });
      if (willRetry) {
        this.failedHere += 1;
        this.nextNode();
        this.scheduleReconnect();
      }
    };
  }

  /** Keeps the cluster's node list (nothing outside a cluster); a failed fetch keeps the old one. */
  learnNodes() {
    Promise.resolve()
      .then(() => this.fetchNodes())
      .then((urls) => {
        const sockets = urls.map(socketUrlOfNode).filter(Boolean);
        if (sockets.length > 0) this.nodeSockets = sockets;
      })
      .catch(() => { /* its node is going: the last list stands */ });
  }

  /** After ATTEMPTS_PER_NODE failed connects to one node, the next node listed. */
  nextNode() {
    if (this.failedHere < ATTEMPTS_PER_NODE || this.nodeSockets.length < 2) return;
    const at = this.nodeSockets.indexOf(this.url);
    this.url = this.nodeSockets[(at + 1) % this.nodeSockets.length];
    this.failedHere = 0;
    this.emit('socket:node', { url: this.url });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    this.attempt += 1;
    this.emit('socket:retry', { delay, attempt: this.attempt });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  handleMessage(data) {
    if (typeof data !== 'string') {
      this.emit('binary', data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('roomcast: ignoring non-JSON message');
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
      console.warn('roomcast: ignoring message without type');
      return;
    }

    const waiter = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
    if (waiter) {
      this.pending.delete(msg.id);
      clearTimeout(waiter.timer);
      if (msg.type === 'error') {
        waiter.reject(new SignallingError(msg.code ?? 0, msg.name ?? 'error', msg.message, waiter.message,
          typeof msg.nodeUrl === 'string' ? msg.nodeUrl : null));
        return; // handled by the requester, not broadcast
      }
      waiter.resolve(msg);
    }
    this.emit(msg.type, msg);
    this.emit('*', msg);
  }

  emit(type, payload) {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`roomcast: listener for ${type} failed`, err);
      }
    }
  }

  failPending(name, message) {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new SignallingError(0, name, message, waiter.message));
      this.pending.delete(id);
    }
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_INTERVAL_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = 0;
  }
}

// SPDX-License-Identifier: MIT
//
// The room page. Order of events:
//   1. GET /api/rooms/{id}: 404 → "Room not found"; else show the title and
//      the join form (password field when hasPassword).
//   2. On submit, open the signalling socket; every `socket:open` (the first
//      one and each reconnect) sends `join` while the user wants to be in.
//   3. initialState → participants, chat history, player state and queue;
//      then presence (viewerJoined/viewerLeft/viewerCount), chat, stateUpdate and queueUpdated keep them
//      current. roomClosed ends the page, unless its reason is `moved` (a
//      cluster moved the room to another node: join again). In a cluster a
//      `room_elsewhere` reply moves the socket to the node it names
//      (signalling.js moveTo), and an initialState the server sends unasked
//      (a relayed guest made whole after its node lost Redis) redraws all.
//   4. After every (re)join the media session asks for the room's audio
//      (media.js: WebRTC or the WebSocket, both feeding the playout engine
//      in engine/, which the server clock of clock.js schedules); a dropped
//      socket ends it (the server forgets the guest) until the rejoin. The
//      engine and the clock live as long as the socket.
//   5. While the socket is down the offline indicator (connection.js) says
//      when the next attempt is; the rejoin's initialState redraws
//      everything, and the indicator goes.
// The panels: player (now playing, progress, controls), lyrics (following
// the player's position), queue (+ history), search (+ saved playlist),
// participants, chat, toasts; keyboard.js adds the shortcuts. The owner
// also gets "Go live", which opens the host page (host.js) in a new tab, so
// the room stays open here, and beside it "Live mix", what the music does
// while a host is live (live.js: setMixPolicy, drawn from initialState's
// room.mix and mixPolicy). While a host is on air the header says so to
// everyone (initialState's broadcast, then broadcastStats), with the
// broadcast's health for the owner.
// The cleanup sends `leave` and closes the socket for good.

import { h, icon } from './dom.js';
import { getRoom, deleteRoom, getPlaylist, saveToPlaylist } from '../api.js';
import { Signalling } from '../signalling.js';
import { MediaSession, MEDIA_ERROR_CODES, transportFromUrl } from '../media.js';
import { ServerClock } from '../clock.js';
import { PlayoutEngine } from '../engine/engine.js';
import {
  getDisplayName, setDisplayName, getOwnerToken, forgetOwnerToken, getUserId, getLatencyOffset, setLatencyOffset,
} from '../storage.js';
import { setStatus, clearStatus, describeError } from './status.js';
import { createJoinForm } from './join-form.js';
import { createParticipants } from './participants.js';
import { createChat } from './chat.js';
import { createPlayer } from './player.js';
import { createQueue } from './queue.js';
import { createSearch } from './search.js';
import { createToasts } from './toast.js';
import { createLyrics } from './lyrics.js';
import { createCalibration } from './calibration.js';
import { createConnectionIndicator } from './connection.js';
import { attachShortcuts } from './keyboard.js';
import { copyText, roomLink } from './share.js';
import { mountNotFound } from './not-found.js';
import { micIcon, hostPath } from './host.js';
import { createLiveIndicator, createMixControl } from './live.js';
import { telegramInitData, telegramName } from '../telegram.js';

// A cluster: how often one join may be sent to another node (room_elsewhere)
// before it counts as a failure, and the wait before a join is tried again
// while a room moves between nodes (its lease takes a few seconds).
const MAX_NODE_MOVES = 3;
const ROOM_MOVING_RETRY_MS = 1500;

// Where the queue stands: the current index, or once the end was reached
// (index -1) the count of played items, so they still show as played.
function queuePosition(msg) {
  if (Number.isInteger(msg.index) && msg.index >= 0) return msg.index;
  return Number.isInteger(msg.played) ? msg.played : -1;
}

export function mountRoom(container, [roomId]) {
  const session = {
    roomId,
    name: '',
    password: '',
    wanted: false,   // the user asked to be in the room: (re)join on every socket open
    joined: false,
    joining: false,
    you: null,
    closed: false,
    telegramRefused: false, // the server refused the Telegram sign-in: join by name
  };
  let disposed = false;
  let sig = null;
  let media = null;
  let clock = null;
  let engine = null;
  let joinForm = null;
  const controller = new AbortController();
  const offs = [];
  let savedSongs = [];
  let lastServerSkip = -Infinity;
  let skipTimer = 0;
  let movesToNode = 0; // room_elsewhere moves since the last join that got in
  let movingTimer = 0;

  // -- static parts, built once -------------------------------------------
  const title = h('h1', { class: 'room-title', dataset: { testid: 'room-title' } });
  const lock = h('span', { class: 'lock', title: 'Password protected', hidden: true }, icon('lock'),
    h('span', { class: 'sr-only', text: 'password protected' }));
  const copyButton = h('button', { type: 'button', class: 'primary', dataset: { testid: 'copy-link' }, onclick: copyLink },
    icon('share'), h('span', { class: 'label', text: 'Share' }));
  const guestCount = h('span', { class: 'room-guests muted', dataset: { testid: 'room-guest-count' } });
  const deleteButton = h('button', { type: 'button', class: 'danger', hidden: true, dataset: { testid: 'delete-room' }, onclick: onDelete },
    icon('trash'), h('span', { class: 'label', text: 'Delete room' }));
  const goLiveLink = h('a', {
    class: 'button ghost', href: hostPath(roomId), target: '_blank', rel: 'noopener', hidden: true,
    dataset: { testid: 'go-live' },
  }, micIcon(), h('span', { class: 'label', text: 'Go live' }));
  const leaveLink = h('a', { class: 'button ghost', href: '/', 'data-link': true }, icon('exit'), h('span', { class: 'label', text: 'Leave' }));
  const liveIndicator = createLiveIndicator();
  const mixControl = createMixControl({
    onChange: ({ mode, duckDb }) => sendCommand({ type: 'setMixPolicy', mode, ...(duckDb !== undefined ? { duckDb } : {}) }),
  });

  const header = h('header', { class: 'room-head' },
    h('div', { class: 'room-heading' },
      h('p', { class: 'eyebrow', text: 'Listening room' }),
      h('div', { class: 'title-row' }, title, lock),
      guestCount,
      liveIndicator.node),
    h('div', { class: 'room-actions' }, copyButton, goLiveLink, mixControl.toggle, deleteButton, leaveLink),
    mixControl.panel);

  const participants = createParticipants({
    loadPage: (offset, limit) => sig.request({ type: 'listViewers', offset, limit }),
  });
  const chat = createChat({ onSend: sendChat });
  // The engine is made with the socket; until then the controls only remember.
  const output = {
    volume: 1, muted: false, latencyOffset: getLatencyOffset(),
    setVolume(v) { this.volume = v; if (engine) engine.setVolume(v); },
    setMuted(m) { this.muted = m; if (engine) engine.setMuted(m); },
    setLatencyOffset(ms) { this.latencyOffset = ms; if (engine) engine.setLatencyOffset(ms); },
  };
  const lyrics = createLyrics();
  const player = createPlayer({
    output, latencyOffset: output.latencyOffset, onCommand: sendCommand, onListen: () => media && media.resume(),
    onLatencyOffset: setLatencyOffset, onProgress: (seconds) => lyrics.setPosition(seconds), onSave: saveSong,
  });
  const calibration = createCalibration({ getEngine: () => engine, onOffset: (ms) => player.setLatencyOffset(ms) });
  player.node.querySelector('.latency-field').after(calibration.node);
  const addSong = (songId) => sendCommand({ type: 'addSong', songId });
  const addUrl = (url) => sendCommand({ type: 'addSong', url });
  const queue = createQueue({ onCommand: sendCommand, onAddSong: addSong, onAddUrl: addUrl });
  const search = createSearch({ onAddSong: addSong, onAddUrl: addUrl });
  const toasts = createToasts();
  const connection = createConnectionIndicator({ onRetry: retryNow });
  document.body.append(toasts.node, connection.node);
  const roomGrid = h('div', { class: 'room-grid', hidden: true },
    h('div', { class: 'room-main' },
      player.node,
      h('div', { class: 'room-pair' }, lyrics.node, queue.node),
      search.node),
    h('div', { class: 'room-side' }, participants.node, chat.node));
  const offShortcuts = attachShortcuts({
    player,
    focusSearch: () => search.input.focus(),
    enabled: () => session.joined && !roomGrid.hidden,
  });
  const onBrowserOffline = () => { if (session.wanted) connection.setOffline({ why: 'You are offline.' }); };
  const onBrowserOnline = () => { if (session.wanted && sig && !sig.connected) retryNow(); };
  window.addEventListener('offline', onBrowserOffline);
  window.addEventListener('online', onBrowserOnline);
  const body = h('div', { class: 'room-body' });
  const page = h('section', { class: 'room', hidden: true }, header, body, roomGrid);
  const loading = h('p', { class: 'muted center loading', text: 'Opening room…' });
  container.append(loading, page);

  load();

  // -- loading and joining ------------------------------------------------
  async function load() {
    let room;
    try {
      room = await getRoom(roomId, { signal: controller.signal });
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      loading.remove();
      if (err.status === 404 || err.code === 4200) {
        showGone('Room not found', 'It may have been closed, or the link is wrong.');
        return;
      }
      setStatus(`Could not open the room: ${describeError(err)}`, 'error');
      const retry = h('p', { class: 'center' }, h('button', {
        type: 'button', class: 'primary', text: 'Try again',
        onclick: () => { retry.remove(); clearStatus(); container.prepend(loading); load(); },
      }));
      container.append(retry);
      return;
    }
    if (disposed) return;
    loading.remove();
    showRoomInfo(room);
    joinForm = createJoinForm({
      roomName: String(room.name ?? ''),
      // The owner gets in with the owner token; if the server still wants
      // the password, wrong_password brings the field back.
      needsPassword: Boolean(room.hasPassword) && !getOwnerToken(roomId),
      defaultName: getDisplayName(),
      onSubmit: onJoinSubmit,
    });
    body.append(joinForm.node);
    page.hidden = false;
    joinForm.focusFirst();
    // Inside Telegram the signed initData names the guest: join at once.
    if (telegramInitData() && !room.hasPassword) onJoinSubmit({ name: telegramName(), password: '' });
  }

  function showRoomInfo(room) {
    title.textContent = String(room.name ?? '');
    lock.hidden = !room.hasPassword;
    drawTitle();
  }

  /** The tab's title: what plays (while it plays), then the room. */
  function drawTitle() {
    if (disposed || session.closed) return;
    const song = session.joined && player.song;
    const playing = song && player.playing;
    document.title = `${playing ? `♪ ${String(song.title ?? song.url ?? '')} · ` : ''}${title.textContent} · roomcast`;
  }

  function onJoinSubmit({ name, password }) {
    if (!name) {
      setStatus('Enter a name so others know who you are.', 'warn');
      joinForm.focusName();
      return;
    }
    setDisplayName(name);
    session.name = name;
    session.password = password;
    session.wanted = true;
    clearStatus();
    joinForm.setBusy(true);
    if (!sig) {
      sig = new Signalling();
      clock = new ServerClock(sig, { onChange: () => engine && engine.sendClock() });
      const params = new URLSearchParams(window.location.search);
      engine = new PlayoutEngine(clock, {
        decoder: params.get('decoder') === 'wasm' ? 'wasm' : 'auto',
        latencyOffset: output.latencyOffset,
        onChange: () => media && media.refreshStatus(),
      });
      engine.setVolume(output.volume);
      engine.setMuted(output.muted);
      media = new MediaSession(sig, {
        engine,
        transport: transportFromUrl(),
        onStatus: (status, detail) => {
          player.setAudioStatus(status, detail);
          if (status !== 'listening') player.setSync(null);
        },
        onSync: (sync) => player.setSync(sync),
      });
      listen(sig);
      sig.start(); // join happens on socket:open
    } else if (sig.connected) {
      join();
    } else {
      setStatus('Connecting…', 'info');
    }
  }

  function listen(s) {
    offs.push(
      s.on('socket:open', ({ reconnect }) => {
        if (reconnect && !session.wanted) clearStatus();
        if (session.wanted) join({ reconnect });
      }),
      s.on('socket:close', () => {
        if (session.closed) return;
        const wasJoined = session.joined;
        session.joined = false;
        if (media) media.stop();
        liveIndicator.set(null); // unknown until the rejoin's initialState
        chat.setEnabled(false);
        connection.setOffline({ why: wasJoined ? 'The connection to the server was lost.' : 'Cannot reach the server.' });
      }),
      s.on('socket:retry', ({ delay }) => {
        if (session.closed || !session.wanted) return;
        connection.setOffline({ why: 'The connection to the server was lost.', retryIn: delay });
      }),
      ...['viewerJoined', 'viewerLeft', 'viewerCount', 'viewersUpdated'].map((type) => s.on(type, (msg) => {
        if (!session.joined) return;
        const n = participants.apply(msg);
        if (n !== null) drawGuestCount(n);
      })),
      s.on('initialState', (msg) => {
        // Unasked: the whole state again (a join's own reply lands while
        // joining). Without an id the guest is still in the room with its
        // audio; with one its node joined it again, audio to ask anew.
        if (session.joined && !session.joining) enterRoom(msg, true, { keepMedia: msg.id === undefined });
      }),
      s.on('chat', (msg) => { if (session.joined) chat.add(msg); }),
      s.on('stateUpdate', (msg) => {
        if (!session.joined) return;
        noteSkip(msg);
        lyrics.setSong(msg.song || null);
        player.setState(msg);
        queue.setIndex(queuePosition(msg));
        queue.setPlaying(msg.playing);
        drawSaved();
        drawTitle();
      }),
      s.on('queueUpdated', (msg) => {
        if (!session.joined) return;
        queue.update(msg.queue, queuePosition(msg));
        player.setQueueLength(queue.length);
      }),
      s.on('notification', (msg) => {
        if (!session.joined) return;
        if (msg.kind === 'skip') lastServerSkip = performance.now();
        toasts.show(msg.text, msg.kind);
      }),
      s.on('historyUpdate', (msg) => { if (session.joined) queue.setHistory(msg.history); }),
      s.on('broadcastStats', (msg) => { if (session.joined) liveIndicator.set(msg); }),
      s.on('mixPolicy', (msg) => { if (session.joined) mixControl.setPolicy(msg); }),
      s.on('roomClosed', (msg) => {
        if (msg.reason === 'moved' && (msg.roomId === undefined || String(msg.roomId) === String(roomId))) {
          // A cluster moved the room to another node: join again, through
          // this node, which finds where it went.
          roomMoving();
          return;
        }
        if (msg.roomId === undefined || String(msg.roomId) === String(roomId)) {
          if (session.you && session.you.isOwner) roomClosed('Room deleted', 'You closed this room. Everyone in it has been told.');
          else roomClosed('This room was closed', 'The owner ended the room.');
        }
      }),
      s.on('error', (msg) => {
        // Media errors belong to the media session, which retries and shows them as the audio status.
        if (!MEDIA_ERROR_CODES.has(msg.code)) toasts.show(describeError(msg), 'error');
      }),
    );
  }

  async function join({ reconnect = false } = {}) {
    if (session.joining || session.closed) return;
    session.joining = true;
    const message = { type: 'join', roomId, name: session.name, userId: getUserId() };
    if (session.password) message.password = session.password;
    const ownerToken = getOwnerToken(roomId);
    if (ownerToken) message.ownerToken = ownerToken;
    if (telegramInitData() && !session.telegramRefused) message.telegramInitData = telegramInitData();
    try {
      const state = await sig.request(message);
      if (disposed) return;
      enterRoom(state, reconnect);
    } catch (err) {
      if (disposed) return;
      onJoinError(err);
    } finally {
      session.joining = false;
      if (joinForm) joinForm.setBusy(false);
    }
  }

  function enterRoom(state, reconnect, { keepMedia = false } = {}) {
    session.joined = true;
    movesToNode = 0;
    session.you = state.you || null;
    if (state.room) showRoomInfo(state.room);
    if (joinForm) {
      joinForm.node.remove();
      joinForm = null;
    }
    roomGrid.hidden = false;
    deleteButton.hidden = !(session.you && session.you.isOwner && getOwnerToken(roomId));
    goLiveLink.hidden = deleteButton.hidden;
    const isOwner = Boolean(session.you && session.you.isOwner);
    mixControl.setOwner(isOwner);
    mixControl.setPolicy(state.room && state.room.mix);
    liveIndicator.setOwner(isOwner);
    liveIndicator.set(state.broadcast || null);
    participants.reset(state.participants, state.participantCount, session.you?.id);
    drawGuestCount(participants.count);
    chat.reset(state.chat, session.you?.id);
    chat.setEnabled(true);
    const playback = state.state && typeof state.state === 'object' ? state.state : { song: null, index: -1 };
    lyrics.setSong(playback.song || null);
    player.setState(playback, { fresh: true });
    queue.setOwner(Boolean(session.you && session.you.isOwner));
    queue.update(state.queue, queuePosition(playback));
    queue.setPlaying(playback.playing);
    player.setQueueLength(queue.length);
    drawTitle();
    if (!reconnect) search.refresh();
    loadSaved();
    if (state.clock && Number.isFinite(state.clock.now)) clock.seed(state.clock.now);
    if (!keepMedia) media.start();
    clearStatus();
    if (connection.offline) {
      connection.setOnline();
      toasts.show('Back online: the room is in sync again.', 'ok');
    }
  }

  // The server names a guest's skip in a `notification` (kind skip); a
  // change it does not announce (previous, a song removed, a failed song)
  // gets a note from here, so a listener knows why the music jumped.
  function noteSkip(msg) {
    const before = player.song;
    const next = msg.song;
    if (!before || !next || before.id === next.id) return;
    const duration = player.duration;
    if (duration > 0 && player.position() >= duration - 1.5) return; // it ended by itself
    const back = Number.isInteger(msg.index) && msg.index < player.index;
    const text = `${back ? 'Back to' : 'Skipped to'} “${String(next.title ?? next.url ?? 'the next song')}”`;
    const asked = performance.now();
    clearTimeout(skipTimer);
    skipTimer = setTimeout(() => {
      if (!disposed && lastServerSkip < asked - 1500) toasts.show(text, 'skip');
    }, 400);
  }

  function drawGuestCount(n) {
    guestCount.textContent = `${n} ${n === 1 ? 'listener' : 'listeners'}`;
  }

  /** The reconnect backoff is too slow for the user: try now. */
  function retryNow() {
    if (!sig || sig.connected) return;
    connection.setOffline({ why: 'The connection to the server was lost.' });
    sig.restart();
  }

  function onJoinError(err) {
    switch (err.name) {
      case 'disconnected':
      case 'timeout':
        // The socket is (re)connecting; socket:open will try again.
        connection.setOffline({ why: 'The server did not answer.' });
        if (err.name === 'timeout' && sig) sig.restart();
        return;
      case 'not_found':
        roomClosed('Room not found', 'It may have been closed, or the link is wrong.');
        return;
      case 'room_moving':
        roomMoving();
        return;
      case 'wrong_password':
      case 'unauthorized':
        session.wanted = false;
        backToForm();
        setStatus(err.name === 'wrong_password' ? 'Wrong password. Please try again.' : 'This room needs a password.', 'error');
        joinForm.retryPassword();
        return;
      case 'room_full':
        session.wanted = false;
        backToForm();
        setStatus('This room is full. Try again later.', 'error');
        return;
      case 'already_in_room':
        // A join we thought lost did go through: start over cleanly.
        sig.send({ type: 'leave' });
        setTimeout(() => { if (!disposed && session.wanted) join(); }, 300);
        return;
      case 'room_elsewhere':
      case 'node_full':
        // Another node of the cluster serves the room and this one cannot
        // reach it, or this node is full and names the least loaded one:
        // go there (the join happens on socket:open).
        if (err.nodeUrl && movesToNode < MAX_NODE_MOVES && sig.moveTo(err.nodeUrl)) {
          movesToNode += 1;
          connection.setOffline({ why: 'Moving to the server that plays this room…' });
          return;
        }
        // falls through: told to move too often, or nowhere to go
      default:
        // A refused Telegram sign-in (4110-4113): the form, to join by name.
        if (err.code >= 4110 && err.code <= 4119) session.telegramRefused = true;
        session.wanted = false;
        backToForm();
        setStatus(describeError(err), 'error');
    }
  }

  /** After a failed join, including a failed rejoin: show the form again. */
  function backToForm() {
    session.joined = false;
    connection.setOnline();
    mixControl.setOwner(false);
    liveIndicator.set(null);
    if (!roomGrid.hidden) roomGrid.hidden = true;
    if (!joinForm) {
      joinForm = createJoinForm({
        roomName: title.textContent, needsPassword: !lock.hidden && !getOwnerToken(roomId),
        defaultName: session.name, onSubmit: onJoinSubmit,
      });
      body.append(joinForm.node);
    }
    joinForm.setBusy(false);
  }

  // -- in the room --------------------------------------------------------
  /** Sends a queue or playback command; resolves true when the server took it. */
  async function sendCommand(message) {
    if (!sig || !session.joined) {
      toasts.show('Not connected to the room right now.', 'error');
      return false;
    }
    try {
      await sig.request(message);
      return true;
    } catch (err) {
      if (disposed) return false;
      if (err.name === 'not_found') toasts.show(err.message || 'Not found.', 'error');
      else if (err.name !== 'disconnected') toasts.show(describeError(err), 'error');
      return false;
    }
  }

  // -- the saved playlist (GET/POST /api/playlist, by the stable userId) ---
  async function loadSaved() {
    try {
      savedSongs = await getPlaylist(getUserId(), { signal: controller.signal });
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      savedSongs = [];
    }
    drawSaved();
  }

  function drawSaved() {
    search.setSaved(savedSongs);
    const songId = player.song && player.song.songId;
    player.setSaved(Boolean(songId) && savedSongs.some((song) => song.id === songId));
  }

  async function saveSong(song) {
    try {
      savedSongs = await saveToPlaylist(getUserId(), String(song.songId));
      if (disposed) return;
      drawSaved();
      toasts.show(`Saved “${song.title ?? 'this song'}” to your playlist.`, 'ok');
    } catch (err) {
      if (!disposed) toasts.show(`Could not save: ${describeError(err)}`, 'error');
    }
  }

  async function sendChat(text) {
    if (!sig || !session.joined) return false;
    try {
      await sig.request({ type: 'chat', text });
      return true;
    } catch (err) {
      if (disposed) return false;
      if (err.name !== 'disconnected') toasts.show(describeError(err), 'error');
      return false;
    }
  }

  async function copyLink() {
    const url = roomLink(roomId);
    if (await copyText(url)) {
      toasts.show('Link copied. Send it to invite people.', 'ok');
      copyButton.querySelector('.label').textContent = 'Copied';
      setTimeout(() => { copyButton.querySelector('.label').textContent = 'Share'; }, 2000);
    } else {
      setStatus(`Copy this link: ${url}`, 'info');
    }
  }

  let deleteArmed = 0;
  async function onDelete() {
    const label = deleteButton.querySelector('.label');
    if (!deleteArmed) {
      // Two clicks instead of a confirm() dialog.
      label.textContent = 'Click again to delete';
      deleteButton.classList.add('armed');
      deleteArmed = setTimeout(() => {
        deleteArmed = 0;
        label.textContent = 'Delete room';
        deleteButton.classList.remove('armed');
      }, 4000);
      return;
    }
    clearTimeout(deleteArmed);
    deleteArmed = 0;
    deleteButton.disabled = true;
    try {
      await deleteRoom(roomId, getOwnerToken(roomId));
      forgetOwnerToken(roomId);
      roomClosed('Room deleted', 'You closed this room. Everyone in it has been told.');
    } catch (err) {
      if (disposed) return;
      setStatus(`Could not delete the room: ${describeError(err)}`, 'error');
      deleteButton.disabled = false;
      label.textContent = 'Delete room';
      deleteButton.classList.remove('armed');
    }
  }

  // -- endings ------------------------------------------------------------
  /** The room is moving to another node of the cluster: audio stops, the
   * join is tried again shortly (any node finds where the room went). */
  function roomMoving() {
    if (session.closed) return;
    session.joined = false;
    if (media) media.stop();
    chat.setEnabled(false);
    connection.setOffline({ why: 'The room is moving to another server…' });
    clearTimeout(movingTimer);
    movingTimer = setTimeout(() => {
      if (!disposed && session.wanted && sig && sig.connected) join({ reconnect: true });
    }, ROOM_MOVING_RETRY_MS);
  }

  function roomClosed(heading, detail) {
    if (session.closed || disposed) return;
    session.closed = true;
    session.wanted = false;
    session.joined = false;
    connection.setOnline();
    stopSocket(false);
    showGone(heading, detail);
  }

  function showGone(heading, detail) {
    container.replaceChildren();
    clearStatus();
    document.title = `${heading} · roomcast`;
    mountNotFound(container, heading, detail);
    const node = container.querySelector('[data-testid="not-found"]');
    if (node && heading !== 'Room not found') node.dataset.testid = 'room-closed';
  }

  function stopSocket(sayLeave) {
    if (media) media.dispose();
    media = null;
    if (engine) engine.close();
    calibration.close();
    engine = null;
    if (clock) clock.dispose();
    clock = null;
    if (!sig) return;
    if (sayLeave && session.joined) sig.send({ type: 'leave' });
    offs.splice(0).forEach((off) => off());
    sig.stop();
    sig = null;
  }

  return () => {
    disposed = true;
    controller.abort();
    clearTimeout(deleteArmed);
    clearTimeout(movingTimer);
    clearTimeout(skipTimer);
    stopSocket(true);
    offShortcuts();
    window.removeEventListener('offline', onBrowserOffline);
    window.removeEventListener('online', onBrowserOnline);
    player.dispose();
    lyrics.dispose();
    liveIndicator.dispose();
    search.dispose();
    toasts.dispose();
    connection.dispose();
  };
}

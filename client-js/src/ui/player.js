// SPDX-License-Identifier: MIT
//
// The player card: what plays now, the progress bar, the transport controls
// and the audio status. It draws only what the server says: every control
// sends a command (onCommand) and nothing changes until the stateUpdate that
// command causes comes back.
//
// Progress: `position` is the seconds into the song at `serverTime` (the
// server's wall clock). Between updates, while playing, the bar advances by
// the time elapsed since serverTime. The offset between this machine's clock
// and the server's is estimated as the smallest (arrival - serverTime) seen
// lately (true offset + the quickest delivery), so a wrong local clock does
// not make the bar jump.
//
// Seeking: click or drag the bar (pointer events, so mouse, pen and touch),
// or the arrow keys on it. While dragging the bar previews the spot; after
// the release it shows the asked position until the server's reply, so it
// does not snap back for a round trip. `onProgress(seconds)` gets the room's
// interpolated position on every frame drawn (the lyrics follow it).
//
// Volume and mute are local to this browser (the playout engine's gain), and
// so is the output latency offset (for Bluetooth or HDMI outputs that add
// delay the browser does not know about; kept in localStorage). The sync
// badge shows this guest's own sync state: transport and playout error.

import { h, icon } from './dom.js';
import { createCover } from './cover.js';

const LOOP_NEXT = { off: 'queue', queue: 'track', track: 'off' };
const LOOP_LABEL = { off: 'Loop off', queue: 'Loop queue', track: 'Loop this song' };
const AUDIO_LABEL = {
  off: 'Audio off',
  connecting: 'Connecting audio…',
  listening: 'Listening',
  blocked: 'Audio paused by the browser',
  failed: 'Audio interrupted, retrying…',
  unavailable: 'No audio on this server',
};
const OFFSET_SAMPLES = 20;
const SEEK_STEP_S = 5;
const VOLUME_STEP = 0.1;

const SYNC_LABEL = { webrtc: 'WebRTC', ws: 'WebSocket' };
export const LATENCY_OFFSET_MIN = -500;
export const LATENCY_OFFSET_MAX = 500;

/**
 * output: { setVolume(0..1), setMuted(bool), setLatencyOffset(ms) } (the engine);
 * latencyOffset: the stored offset (ms); onLatencyOffset(ms): the user changed it.
 */
export function createPlayer({
  output, latencyOffset = 0, onCommand, onListen, onLatencyOffset = () => {}, onProgress = () => {}, onSave = null,
}) {
  let volumeLevel = 1;
  let muted = false;
  let state = { song: null, index: -1, position: 0, duration: 0, playing: false, loop: 'off', autoplay: false, serverTime: 0 };
  let queueLength = 0;
  let offsets = [];
  let frame = 0;
  let drag = null;        // {pointerId, fraction} while the bar is held
  let pendingSeek = null; // {position, at}: asked for, not yet confirmed
  let saved = false;

  // -- nodes ---------------------------------------------------------------
  const cover = createCover('np-art');
  cover.node.append(h('span', { class: 'eq' }, h('i'), h('i'), h('i'), h('i')));
  cover.node.dataset.testid = 'now-playing-cover';
  const art = cover.node;
  const title = h('h2', { class: 'np-title', dataset: { testid: 'now-playing-title' } });
  const artist = h('p', { class: 'np-artist', dataset: { testid: 'now-playing-artist' } });
  const album = h('span', { class: 'np-album', dataset: { testid: 'now-playing-album' } });
  const addedBy = h('span', { class: 'np-added', dataset: { testid: 'now-playing-added-by' } });
  const meta = h('p', { class: 'np-meta muted' }, album, addedBy);

  const audioDot = h('span', { class: 'audio-dot', 'aria-hidden': 'true' });
  const audioText = h('span', { class: 'audio-text' });
  const audioStatus = h('span', { class: 'audio-status', dataset: { testid: 'audio-status', state: 'off' }, role: 'status' },
    audioDot, audioText);
  const syncBadge = h('span', {
    class: 'sync-badge', hidden: true, role: 'status',
    dataset: { testid: 'sync-badge', state: 'off' },
  });
  const listenButton = h('button', {
    type: 'button', class: 'primary listen-button', hidden: true, dataset: { testid: 'listen-button' },
    onclick: () => onListen(),
  }, icon('headphones'), 'Click to listen');

  const fill = h('div', { class: 'progress-fill' });
  const knob = h('div', { class: 'progress-knob' });
  const bar = h('div', {
    class: 'progress', role: 'slider', tabindex: 0, 'aria-label': 'Seek',
    'aria-valuemin': 0, 'aria-valuemax': 0, 'aria-valuenow': 0,
    dataset: { testid: 'progress' }, onkeydown: onBarKey,
    onpointerdown: onBarDown, onpointermove: onBarMove, onpointerup: onBarUp,
    onpointercancel: onBarCancel, onlostpointercapture: onBarCancel,
  }, h('div', { class: 'progress-track' }, fill, knob));
  const elapsed = h('span', { class: 'time', dataset: { testid: 'progress-time' }, text: '0:00' });
  const total = h('span', { class: 'time', dataset: { testid: 'progress-duration' }, text: '0:00' });

  const button = (testid, label, iconName, onclick, extra = '') => h('button', {
    type: 'button', class: `icon-button ${extra}`.trim(), 'aria-label': label, title: label, dataset: { testid }, onclick,
  }, icon(iconName));
  const loopBadge = h('span', { class: 'loop-badge', 'aria-hidden': 'true', text: '1' });
  const loopButton = button('loop-toggle', 'Loop off', 'repeat', () => onCommand({ type: 'setLoop', mode: LOOP_NEXT[state.loop] || 'off' }), 'toggle');
  loopButton.append(loopBadge);
  const prevButton = button('previous', 'Previous', 'previous', () => onCommand({ type: 'previous' }));
  const playButton = button('play-toggle', 'Play', 'play', () => onCommand({ type: state.playing ? 'pause' : 'play' }), 'play-button');
  const skipButton = button('skip', 'Skip', 'next', () => onCommand({ type: 'skip' }));
  const autoplayButton = button('autoplay-toggle', 'Autoplay', 'autoplay', () => onCommand({ type: 'setAutoplay', enabled: !state.autoplay }), 'toggle');

  const saveButton = button('save-song', 'Save to your playlist', 'heart', () => save(), 'save-button');
  saveButton.hidden = !onSave;

  const muteButton = button('mute-toggle', 'Mute', 'volume', toggleMute, 'small');
  const volume = h('input', {
    type: 'range', class: 'volume', min: 0, max: 100, value: 100, 'aria-label': 'Volume',
    dataset: { testid: 'volume' }, oninput: () => setVolume(Number(volume.value) / 100),
  });
  const offsetInput = h('input', {
    type: 'number', class: 'latency-offset', min: LATENCY_OFFSET_MIN, max: LATENCY_OFFSET_MAX, step: 5,
    value: latencyOffset, id: 'latency-offset', inputmode: 'numeric',
    title: 'Extra delay of your speakers or headphones (Bluetooth, HDMI): the room plays that much earlier for you',
    dataset: { testid: 'latency-offset' }, onchange: onOffsetChange,
  });
  const offsetField = h('label', { class: 'latency-field', for: 'latency-offset' },
    h('span', { class: 'latency-label', text: 'Output delay' }), offsetInput, h('span', { class: 'muted', text: 'ms' }));

  const node = h('section', { class: 'card player', 'aria-label': 'Now playing', dataset: { testid: 'player' } },
    h('div', { class: 'player-top' },
      h('p', { class: 'eyebrow', text: 'Now playing' }),
      h('div', { class: 'player-badges' }, syncBadge, audioStatus)),
    h('div', { class: 'np' }, art,
      h('div', { class: 'np-body' },
        h('div', { class: 'np-head' }, h('div', { class: 'np-text' }, title, artist, meta), saveButton),
        listenButton,
        h('div', { class: 'progress-row' }, elapsed, bar, total),
        h('div', { class: 'controls' },
          loopButton, prevButton, playButton, skipButton, autoplayButton))),
    h('div', { class: 'volume-row' },
      h('div', { class: 'volume-group' }, muteButton, volume),
      offsetField,
      h('p', { class: 'shortcut-hint muted', 'aria-hidden': 'true' },
        h('kbd', { text: 'Space' }), ' play/pause · ', h('kbd', { text: '←' }), h('kbd', { text: '→' }), ' seek · ',
        h('kbd', { text: '↑' }), h('kbd', { text: '↓' }), ' volume · ', h('kbd', { text: '/' }), ' search')));

  // -- drawing -------------------------------------------------------------
  /** Seconds into the song the room is at now (interpolated from the last update). */
  function currentPosition() {
    let pos = Number(state.position) || 0;
    if (state.playing && state.serverTime) {
      pos += Math.max(0, Date.now() - clockOffset() - state.serverTime) / 1000;
    }
    const dur = Number(state.duration) || 0;
    return dur > 0 ? Math.min(pos, dur) : pos;
  }

  function clockOffset() {
    return offsets.length ? Math.min(...offsets) : 0;
  }

  /** What the bar shows: the spot being dragged to, a seek on its way, else the room's position. */
  function shownPosition() {
    const dur = Number(state.duration) || 0;
    if (drag) return drag.fraction * dur;
    if (pendingSeek) {
      const pos = pendingSeek.position + (state.playing ? (performance.now() - pendingSeek.at) / 1000 : 0);
      return dur > 0 ? Math.min(pos, dur) : pos;
    }
    return currentPosition();
  }

  function drawProgress() {
    const dur = Number(state.duration) || 0;
    const pos = shownPosition();
    onProgress(currentPosition());
    const pct = dur > 0 ? Math.min(100, (pos / dur) * 100) : 0;
    fill.style.width = `${pct}%`;
    knob.style.left = `${pct}%`;
    bar.dataset.position = pos.toFixed(2);
    // The rest changes once a second: touch it (and assistive tech) only then.
    const now = formatDuration(pos);
    if (elapsed.textContent !== now) {
      elapsed.textContent = now;
      bar.setAttribute('aria-valuenow', String(Math.floor(pos)));
      bar.setAttribute('aria-valuetext', `${now} of ${formatDuration(dur)}`);
    }
    const end = dur > 0 ? formatDuration(dur) : (state.song ? 'live' : '0:00');
    if (total.textContent !== end) total.textContent = end;
  }

  function tick() {
    frame = 0;
    drawProgress();
    if (state.playing && node.isConnected) frame = requestAnimationFrame(tick);
  }

  function draw() {
    const song = state.song;
    title.textContent = song ? String(song.title ?? 'Untitled') : 'Nothing playing';
    artist.textContent = song ? String(song.artist ?? song.url ?? '') : 'Add a song below to start the room.';
    album.textContent = song && song.album ? String(song.album) : '';
    cover.set(song ? String(song.title ?? song.url ?? 'Untitled') : null, song ? String(song.artist ?? '') : '');
    const by = song && song.addedBy ? String(song.addedBy.name ?? '') : '';
    addedBy.textContent = by ? `added by ${by}` : '';
    node.classList.toggle('idle', !song);
    node.classList.toggle('playing', Boolean(state.playing && song));

    const dur = Number(state.duration) || 0;
    bar.setAttribute('aria-valuemax', String(Math.floor(dur)));
    bar.classList.toggle('disabled', !song || dur <= 0);

    playButton.replaceChildren(icon(state.playing ? 'pause' : 'play'));
    playButton.setAttribute('aria-label', state.playing ? 'Pause' : 'Play');
    playButton.title = state.playing ? 'Pause' : 'Play';
    playButton.dataset.playing = String(Boolean(state.playing));
    playButton.disabled = !song && queueLength === 0 && !state.autoplay;
    prevButton.disabled = !song;
    skipButton.disabled = !song && queueLength === 0 && !state.autoplay;

    const loop = LOOP_LABEL[state.loop] ? state.loop : 'off';
    loopButton.dataset.mode = loop;
    loopButton.setAttribute('aria-label', LOOP_LABEL[loop]);
    loopButton.title = `${LOOP_LABEL[loop]} (click for ${LOOP_LABEL[LOOP_NEXT[loop]].toLowerCase()})`;
    loopButton.setAttribute('aria-pressed', String(loop !== 'off'));
    loopBadge.hidden = loop !== 'track';
    autoplayButton.setAttribute('aria-pressed', String(Boolean(state.autoplay)));
    autoplayButton.title = state.autoplay ? 'Autoplay on: a library song follows the queue' : 'Autoplay off';
    drawSaved();

    drawProgress();
    cancelAnimationFrame(frame);
    frame = 0;
    if (state.playing) frame = requestAnimationFrame(tick);
  }

  function drawSaved() {
    const savable = Boolean(state.song && state.song.songId);
    saveButton.hidden = !onSave || !state.song;
    saveButton.disabled = !savable;
    saveButton.classList.toggle('saved', savable && saved);
    saveButton.setAttribute('aria-pressed', String(savable && saved));
    const label = !savable ? (state.song ? 'Only library songs can be saved' : 'Save to your playlist')
      : saved ? 'Saved to your playlist' : 'Save to your playlist';
    saveButton.setAttribute('aria-label', label);
    saveButton.title = label;
  }

  async function save() {
    if (!onSave || !state.song || !state.song.songId || saveButton.disabled) return;
    saveButton.disabled = true;
    try {
      await onSave(state.song);
    } finally {
      drawSaved();
    }
  }

  function setVolume(level) {
    volumeLevel = Math.max(0, Math.min(1, level));
    volume.value = String(Math.round(volumeLevel * 100));
    muted = false;
    output.setVolume(volumeLevel);
    output.setMuted(false);
    drawVolume();
  }

  function drawVolume() {
    const silent = muted || volumeLevel === 0;
    muteButton.replaceChildren(icon(silent ? 'mute' : 'volume'));
    muteButton.setAttribute('aria-label', silent ? 'Unmute' : 'Mute');
    muteButton.title = silent ? 'Unmute' : 'Mute';
  }

  function toggleMute() {
    muted = !muted;
    output.setMuted(muted);
    drawVolume();
  }

  function onOffsetChange() {
    let ms = Math.round(Number(offsetInput.value));
    if (!Number.isFinite(ms)) ms = 0;
    ms = Math.max(LATENCY_OFFSET_MIN, Math.min(LATENCY_OFFSET_MAX, ms));
    offsetInput.value = String(ms);
    output.setLatencyOffset(ms);
    onLatencyOffset(ms);
  }

  // -- seeking -------------------------------------------------------------
  const seekable = () => Boolean(state.song) && (Number(state.duration) || 0) > 0;

  async function seekTo(seconds) {
    const dur = Number(state.duration) || 0;
    if (!seekable()) return;
    const pos = Math.round(Math.max(0, Math.min(seconds, dur - 0.1)) * 100) / 100;
    const mine = { position: pos, at: performance.now() };
    pendingSeek = mine;
    drawProgress();
    try {
      await onCommand({ type: 'seek', position: pos });
    } finally {
      // The reply comes after the stateUpdate it caused: from here the room's position is the truth.
      if (pendingSeek === mine) pendingSeek = null;
      drawProgress();
    }
  }

  function fractionAt(clientX) {
    const rect = bar.getBoundingClientRect();
    if (rect.width <= 0) return 0;
    return Math.max(0, Math.min(1, (clientX - rect.left) / rect.width));
  }

  function onBarDown(event) {
    if (!seekable() || event.button !== 0 || drag) return;
    event.preventDefault(); // no text selection, no focus scroll
    bar.focus({ preventScroll: true });
    try { bar.setPointerCapture(event.pointerId); } catch { /* synthetic pointer */ }
    drag = { pointerId: event.pointerId, fraction: fractionAt(event.clientX) };
    bar.classList.add('dragging');
    drawProgress();
  }

  function onBarMove(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag.fraction = fractionAt(event.clientX);
    drawProgress();
  }

  function onBarUp(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const fraction = fractionAt(event.clientX);
    drag = null;
    bar.classList.remove('dragging');
    seekTo(fraction * (Number(state.duration) || 0));
  }

  function onBarCancel(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag = null;
    bar.classList.remove('dragging');
    drawProgress();
  }

  function onBarKey(event) {
    const keys = { ArrowLeft: -SEEK_STEP_S, ArrowDown: -SEEK_STEP_S, ArrowRight: SEEK_STEP_S, ArrowUp: SEEK_STEP_S };
    if (event.key in keys) seekTo(shownPosition() + keys[event.key]);
    else if (event.key === 'Home') seekTo(0);
    else return;
    event.preventDefault();
  }

  draw();
  drawVolume();

  return {
    node,
    /** A stateUpdate (or initialState.state). */
    setState(next, { fresh = false } = {}) {
      if (!next || typeof next !== 'object') return;
      if (fresh) offsets = [];
      if (typeof next.serverTime === 'number' && Number.isFinite(next.serverTime)) {
        offsets.push(Date.now() - next.serverTime);
        if (offsets.length > OFFSET_SAMPLES) offsets.shift();
      }
      state = { ...state, ...next };
      draw();
    },
    /** Sets the output delay as if the user typed it (calibration). */
    setLatencyOffset(ms) {
      offsetInput.value = String(ms);
      onOffsetChange();
    },
    setQueueLength(n) {
      queueLength = n;
      draw();
    },
    setAudioStatus(status, detail) {
      audioStatus.dataset.state = status;
      audioText.textContent = AUDIO_LABEL[status] || status;
      audioStatus.title = detail || '';
      listenButton.hidden = status !== 'blocked';
    },
    /** This guest's sync state: {transport, error (ms or null), inSync}; null hides the badge. */
    setSync(sync) {
      if (!sync || !sync.transport) {
        syncBadge.hidden = true;
        syncBadge.dataset.state = 'off';
        return;
      }
      const name = SYNC_LABEL[sync.transport] || sync.transport;
      const state = sync.inSync ? 'in-sync' : 'syncing';
      const error = Number.isFinite(sync.error) ? `${sync.error >= 0 ? '+' : '−'}${Math.abs(sync.error).toFixed(1)} ms` : '';
      syncBadge.hidden = false;
      syncBadge.dataset.state = state;
      syncBadge.dataset.transport = sync.transport;
      syncBadge.dataset.error = Number.isFinite(sync.error) ? sync.error.toFixed(2) : '';
      syncBadge.textContent = [name, error, sync.inSync ? 'in sync' : 'syncing'].filter(Boolean).join(' · ');
      syncBadge.title = 'How far this browser plays from the room\'s time (positive: late)';
    },
    /** Seconds into the song the room is at now. */
    position: currentPosition,
    /** Whether the current song is in this listener's saved playlist. */
    setSaved(isSaved) {
      saved = Boolean(isSaved);
      drawSaved();
    },
    // -- keyboard shortcuts (keyboard.js) --
    togglePlay() {
      if (playButton.disabled) return;
      onCommand({ type: state.playing ? 'pause' : 'play' });
    },
    seekBy(seconds) {
      if (seekable()) seekTo(shownPosition() + seconds);
    },
    nudgeVolume(steps) {
      setVolume(volumeLevel + steps * VOLUME_STEP);
    },
    get song() { return state.song; },
    get duration() { return Number(state.duration) || 0; },
    get playing() { return Boolean(state.playing); },
    get index() { return Number.isInteger(state.index) ? state.index : -1; },
    dispose() {
      cancelAnimationFrame(frame);
      frame = 0;
    },
  };
}

/** 75.3 → "1:15"; 3725 → "1:02:05". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

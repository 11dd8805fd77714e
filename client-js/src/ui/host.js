// SPDX-License-Identifier: MIT
//
// The host page, `/room/{id}/host`: going live into a room from the browser.
// Three steps on one page:
//   1. A publish key: pasted, or, for the room's owner (the owner token this
//      browser keeps from creating the room), created here and shown once.
//   2. The source: a microphone (a chosen device) or a tab's or the system's
//      audio, with a level meter (host-source.js).
//   3. Go live / Stop: WHIP to the server's own endpoint (host-whip.js). The
//      state says connecting, live, or ended and why (the server's error:
//      401 wrong key, 409 someone else is live, 503 the server is full).
// The page is not in the room: guests hear the host through the room, and a
// host who also listens there would hear themselves a moment late. Leaving
// the page (another view, or the tab closed: the router's cleanup runs on
// pagehide) ends a broadcast with its DELETE.
// Changing the source while live swaps the track, without a new session.
// A connection lost (host-whip.js tells within a few seconds) goes live
// again with a new offer, at most once a minute; when the server ended the
// session on purpose, its answer to that offer says why (401 key revoked,
// 404 room deleted).

import { h, icon, labelledInput } from './dom.js';
import { getRoom } from '../api.js';
import { getOwnerToken } from '../storage.js';
import { setStatus, describeError } from './status.js';
import { copyText } from './share.js';
import { mountNotFound } from './not-found.js';
import { HostSource, SourceError, listMicrophones, LEVEL_FLOOR_DB } from './host-source.js';
import { WhipPublisher, createPublishKey, describeWhipError } from './host-whip.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const STATE_LABEL = {
  idle: 'Not live',
  connecting: 'Connecting…',
  live: 'Live',
  unstable: 'Live · connection unstable',
  ended: 'Not live',
};
const STATS_EVERY_MS = 1000;
const RETRY_EVERY_MS = 60000;

/** A microphone mark (the "Go live" entry of the room page uses it too). */
export function micIcon(className = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  for (const [k, v] of Object.entries({
    viewBox: '0 0 24 24', width: 18, height: 18, fill: 'none', stroke: 'currentColor', 'stroke-width': 2,
    'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false', class: className,
  })) svg.setAttribute(k, String(v));
  for (const [tag, attrs] of [
    ['rect', { x: 9, y: 2, width: 6, height: 12, rx: 3 }],
    ['path', { d: 'M5 11a7 7 0 0 0 14 0M12 18v4M8 22h8' }],
  ]) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
    svg.append(shape);
  }
  return svg;
}

/** The host page's own path for a room. */
export const hostPath = (roomId) => `/room/${encodeURIComponent(roomId)}/host`;

const formatClock = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
};

export function mountHost(container, [roomId]) {
  let disposed = false;
  let publisher = null;
  let liveSince = 0;
  let statsTimer = 0;
  let lastSent = null;
  let retriedAt = -Infinity; // when this broadcast last went live again after a lost connection
  const controller = new AbortController();
  const ownerToken = getOwnerToken(roomId);

  // -- 1. the publish key -------------------------------------------------
  const key = labelledInput('host-key', 'Key', {
    type: 'password', autocomplete: 'off', spellcheck: 'false', maxlength: 128, placeholder: 'rk_…',
    dataset: { testid: 'host-key' },
  }, ownerToken
    ? 'Paste a key of this room, or create one. Anyone holding a key can go live here.'
    : 'Paste a key of this room: its owner creates keys.');
  const createKeyButton = h('button', {
    type: 'button', class: 'ghost', hidden: !ownerToken, dataset: { testid: 'host-create-key' }, onclick: onCreateKey,
  }, icon('plus'), 'Create a key');
  const newKeyText = h('code', { class: 'host-key-text', dataset: { testid: 'host-new-key' } });
  const copyKeyButton = h('button', { type: 'button', class: 'ghost small-button', onclick: onCopyKey, 'aria-label': 'Copy the key' },
    icon('link'), h('span', { class: 'label', text: 'Copy' }));
  const newKey = h('div', { class: 'host-new-key', hidden: true, role: 'note' },
    h('p', { class: 'hint', text: 'Your new key, shown this once. Copy it now if you want it for OBS too.' }),
    h('div', { class: 'host-key-row' }, newKeyText, copyKeyButton));
  // A form, so Enter in the key field goes live.
  const keyForm = h('form', { novalidate: true, onsubmit: (event) => { event.preventDefault(); goLive(); } }, key.field);
  const keyCard = h('section', { class: 'card panel host-step', 'aria-labelledby': 'host-key-heading' },
    h('h2', { id: 'host-key-heading', class: 'panel-title' }, h('span', { class: 'host-step-n', text: '1' }), 'Publish key'),
    keyForm, h('div', { class: 'host-row' }, createKeyButton), newKey);

  // -- 2. the source ------------------------------------------------------
  const sourceName = 'host-source';
  const radio = (value, label, checked) => h('label', { class: 'host-choice' },
    h('input', { type: 'radio', name: sourceName, value, checked, dataset: { testid: `host-source-${value}` }, onchange: onSourceKind }),
    h('span', { text: label }));
  const sourceGroup = h('fieldset', { class: 'host-choices' },
    h('legend', { class: 'sr-only', text: 'Source' }),
    radio('mic', 'Microphone', true), radio('display', 'Tab or system audio', false));
  const deviceSelect = h('select', { id: 'host-device', dataset: { testid: 'host-device' }, onchange: onDevice },
    h('option', { value: '', text: 'Default microphone' }));
  const deviceField = h('div', { class: 'field' }, h('label', { for: 'host-device', text: 'Microphone' }), deviceSelect);
  const displayHint = h('p', { class: 'hint', hidden: true,
    text: 'Pick a tab (or the whole screen) and tick “Share audio”. Only its sound is sent; the picture is dropped.' });
  const captureButton = h('button', { type: 'button', dataset: { testid: 'host-capture' }, onclick: () => openSource() },
    micIcon(), h('span', { class: 'label', text: 'Use this microphone' }));
  const meterFill = h('div', { class: 'host-meter-fill' });
  const meter = h('div', {
    class: 'host-meter', role: 'meter', 'aria-label': 'Input level', 'aria-valuemin': LEVEL_FLOOR_DB, 'aria-valuemax': 0,
    'aria-valuenow': LEVEL_FLOOR_DB, 'aria-valuetext': 'silent', dataset: { testid: 'host-meter' },
  }, meterFill);
  const levelText = h('span', { class: 'host-level-text muted', 'aria-hidden': 'true', text: '—' });
  const sourceLabel = h('p', { class: 'hint host-source-label', dataset: { testid: 'host-source-label' }, text: 'No source open yet.' });
  const sourceCard = h('section', { class: 'card panel host-step', 'aria-labelledby': 'host-source-heading' },
    h('h2', { id: 'host-source-heading', class: 'panel-title' }, h('span', { class: 'host-step-n', text: '2' }), 'Source'),
    h('div', { class: 'stack' }, sourceGroup, deviceField, displayHint,
      h('div', { class: 'host-row' }, captureButton),
      h('div', { class: 'host-meter-row' }, meter, levelText),
      sourceLabel));

  // -- 3. going live ------------------------------------------------------
  const stateDot = h('span', { class: 'audio-dot', 'aria-hidden': 'true' });
  const stateLabel = h('span', { text: STATE_LABEL.idle });
  const statePill = h('span', { class: 'host-state', dataset: { testid: 'host-state', state: 'idle' } }, stateDot, stateLabel);
  const stateText = h('p', { class: 'host-state-text muted', role: 'status', 'aria-live': 'polite', dataset: { testid: 'host-state-text' },
    text: 'Guests hear you once you are live.' });
  const sentText = h('p', { class: 'host-sent muted', dataset: { testid: 'host-sent' }, hidden: true });
  const goLiveButton = h('button', { type: 'button', class: 'primary', dataset: { testid: 'host-go-live' }, onclick: goLive },
    micIcon(), 'Go live');
  const stopButton = h('button', { type: 'button', class: 'danger', hidden: true, dataset: { testid: 'host-stop' }, onclick: stop },
    icon('close'), 'Stop');
  const liveCard = h('section', { class: 'card panel host-step host-live', 'aria-labelledby': 'host-live-heading' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'host-live-heading', class: 'panel-title' }, h('span', { class: 'host-step-n', text: '3' }), 'Broadcast'),
      statePill),
    stateText, sentText,
    h('div', { class: 'host-row' }, goLiveButton, stopButton));

  // -- the page -----------------------------------------------------------
  const title = h('h1', { class: 'room-title', dataset: { testid: 'host-room-title' } });
  const roomNote = h('p', { class: 'muted host-room-note', hidden: true, dataset: { testid: 'host-room-note' } });
  const backLink = h('a', { class: 'button ghost', href: `/room/${encodeURIComponent(roomId)}`, 'data-link': true },
    icon('exit'), h('span', { class: 'label', text: 'To the room' }));
  const page = h('section', { class: 'host', hidden: true, dataset: { testid: 'host-page' } },
    h('header', { class: 'room-head' },
      h('div', { class: 'room-heading' }, h('p', { class: 'eyebrow', text: 'Go live' }), title, roomNote),
      h('div', { class: 'room-actions' }, backLink)),
    h('div', { class: 'host-grid' }, keyCard, sourceCard, liveCard));
  const loading = h('p', { class: 'muted center loading', text: 'Opening room…' });
  container.append(loading, page);

  const source = new HostSource({ onLevel: drawLevel, onEnded: onSourceEnded });

  load();

  async function load() {
    let room;
    try {
      room = await getRoom(roomId, { signal: controller.signal });
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      loading.remove();
      if (err.status === 404 || err.code === 4200) {
        mountNotFound(container, 'Room not found', 'It may have been closed, or the link is wrong.');
        return;
      }
      setStatus(`Could not open the room: ${describeError(err)}`, 'error');
      return;
    }
    if (disposed) return;
    loading.remove();
    title.textContent = String(room.name ?? '');
    document.title = `Go live · ${title.textContent} · roomcast`;
    stateText.textContent = room.mix?.mode === 'talkover'
      ? `Guests hear you once you are live; the music keeps playing, ${Math.abs(room.mix.duckDb ?? 12)} dB down while you speak.`
      : 'Guests hear you once you are live; the queue pauses meanwhile, and plays on when you stop.';
    if (room.live) {
      roomNote.textContent = 'Someone is live in this room right now.';
      roomNote.hidden = false;
    }
    page.hidden = false;
    (key.input.value ? captureButton : key.input).focus();
  }

  // -- key ----------------------------------------------------------------
  async function onCreateKey() {
    createKeyButton.disabled = true;
    try {
      const made = await createPublishKey(roomId, ownerToken, 'Browser');
      if (disposed) return;
      key.input.value = made.key;
      key.input.removeAttribute('aria-invalid');
      newKeyText.textContent = made.key;
      newKey.hidden = false;
    } catch (err) {
      if (!disposed) setStatus(`Could not create a key: ${describeWhipError(err)}`, 'error');
    } finally {
      createKeyButton.disabled = false;
    }
  }

  async function onCopyKey() {
    if (await copyText(newKeyText.textContent)) {
      copyKeyButton.querySelector('.label').textContent = 'Copied';
      setTimeout(() => { copyKeyButton.querySelector('.label').textContent = 'Copy'; }, 2000);
    }
  }

  // -- source -------------------------------------------------------------
  const sourceKind = () => sourceGroup.querySelector('input:checked')?.value || 'mic';

  function onSourceKind() {
    const mic = sourceKind() === 'mic';
    deviceField.hidden = !mic;
    displayHint.hidden = mic;
    captureButton.querySelector('.label').textContent = mic ? 'Use this microphone' : 'Choose a tab…';
  }

  function onDevice() {
    if (source.track && source.kind === 'mic') openSource();
  }

  /** Opens the chosen source (a click: the AudioContext may start); swaps it in when live. */
  async function openSource() {
    captureButton.disabled = true;
    try {
      const track = sourceKind() === 'mic'
        ? await source.openMicrophone(deviceSelect.value)
        : await source.openDisplay();
      if (disposed) return false;
      sourceLabel.textContent = `${source.kind === 'mic' ? 'Microphone' : 'Shared audio'}: ${source.label || 'unnamed'}`;
      if (source.kind === 'mic') await fillDevices(track);
      if (publisher) await publisher.replaceTrack(track);
      return true;
    } catch (err) {
      if (!disposed) {
        sourceLabel.textContent = err instanceof SourceError ? err.message : `Could not open the source: ${err.message}`;
        setStatus(sourceLabel.textContent, 'error', 8000);
      }
      return false;
    } finally {
      captureButton.disabled = false;
    }
  }

  /** Lists the microphones (named once one was allowed), the open one chosen. */
  async function fillDevices(track) {
    const devices = await listMicrophones();
    if (disposed || !devices.length) return;
    const current = track.getSettings ? track.getSettings().deviceId : '';
    deviceSelect.replaceChildren(...devices.map((d) => h('option', { value: d.id, text: d.label })));
    if (current && devices.some((d) => d.id === current)) deviceSelect.value = current;
  }

  function drawLevel(db) {
    const percent = Math.round(((db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB) * 100);
    meterFill.style.width = `${percent}%`;
    meter.dataset.zone = db > -6 ? 'hot' : db > -30 ? 'good' : 'low';
    meter.setAttribute('aria-valuenow', String(Math.round(db)));
    const text = db <= LEVEL_FLOOR_DB ? 'silent' : `${String(Math.round(db)).replace('-', '−')} dB`;
    meter.setAttribute('aria-valuetext', text);
    levelText.textContent = db <= LEVEL_FLOOR_DB ? '—' : text;
  }

  function onSourceEnded(kind) {
    sourceLabel.textContent = kind === 'display' ? 'The share was stopped.' : 'The microphone went away.';
    drawLevel(LEVEL_FLOOR_DB);
    if (publisher) {
      stop().then(() => {
        if (!disposed) drawState('ended', 'The source ended, so the broadcast stopped.');
      });
    }
  }

  // -- live ---------------------------------------------------------------
  function drawState(state, text, info = {}) {
    statePill.dataset.state = state;
    stateLabel.textContent = STATE_LABEL[state] || state;
    if (text !== undefined) stateText.textContent = text;
    for (const name of ['status', 'code']) {
      if (info[name] !== undefined) statePill.dataset[name] = String(info[name]);
      else delete statePill.dataset[name];
    }
    const busy = state === 'connecting' || state === 'live' || state === 'unstable';
    goLiveButton.hidden = busy;
    stopButton.hidden = !busy;
    key.input.disabled = busy;
    createKeyButton.disabled = busy;
    liveCard.classList.toggle('on-air', state === 'live' || state === 'unstable');
  }

  async function goLive() {
    const secret = key.input.value.trim();
    if (!secret) {
      setStatus('Paste a publish key first.', 'warn', 6000);
      key.input.setAttribute('aria-invalid', 'true');
      key.input.focus();
      return;
    }
    key.input.removeAttribute('aria-invalid');
    if (!source.track && !(await openSource())) return;
    if (disposed || publisher) return;
    retriedAt = -Infinity;
    publish(secret, 'Sending the offer to the server…', 'Could not go live');
  }

  /** A new WHIP session with the open source (going live, or again after a lost connection). */
  async function publish(secret, saying, failure) {
    const mine = new WhipPublisher(roomId, secret, { onState: (state, info) => onPublisherState(mine, state, info) });
    publisher = mine;
    lastSent = null;
    drawState('connecting', saying);
    try {
      await mine.start(source.track, source.stream);
      if (publisher === mine && mine.state === 'connecting') drawState('connecting', 'Connecting the audio…');
    } catch (err) {
      if (publisher !== mine || disposed) return;
      publisher = null;
      stopStats();
      drawState('ended', `${failure}: ${describeWhipError(err)}`, { status: err.status, code: err.code || undefined });
    }
  }

  function onPublisherState(mine, state, info) {
    if (publisher !== mine || disposed) return;
    if (state === 'live') {
      if (!liveSince) liveSince = performance.now();
      drawState('live', retriedAt > 0 ? 'You are live again: the room hears you.' : 'You are live: the room hears you.');
      startStats();
    } else if (state === 'unstable') {
      drawState('unstable', 'The connection wobbles; it may recover.');
    } else if (state === 'ended') {
      publisher = null;
      // Lost (a network change, the server ended the session): a new offer,
      // at most once a minute. The server's answer to it says why when it
      // was ended on purpose (the key revoked: 401; the room deleted: 404).
      if (info.lost && source.track && performance.now() - retriedAt > RETRY_EVERY_MS) {
        retriedAt = performance.now();
        publish(mine.key, 'The connection was lost; going live again…', 'The connection was lost, and going live again failed');
        return;
      }
      stopStats();
      drawState('ended', `The broadcast ended: ${info.reason || 'the server ended it.'}`);
    }
  }

  async function stop() {
    const mine = publisher;
    if (!mine) return;
    publisher = null;
    stopStats();
    stopButton.disabled = true;
    const { status, error } = await mine.stop();
    stopButton.disabled = false;
    if (disposed) return;
    if (!status) drawState('ended', 'You stopped before the server answered.', { status: 0 });
    else if (status === 200) drawState('ended', 'You stopped: the room is back to its queue.', { status });
    else drawState('ended', `Stopped; the server said: ${describeWhipError(error)}`, { status, code: error && error.code ? error.code : undefined });
  }

  // Seconds on air and the bitrate sent, from the sender's stats.
  function startStats() {
    if (statsTimer) return;
    sentText.hidden = false;
    lastSent = null;
    statsTimer = setInterval(async () => {
      const mine = publisher;
      if (!mine) return;
      const now = await mine.sentStats();
      if (!now || disposed || publisher !== mine) return;
      const rate = lastSent && now.at > lastSent.at
        ? ` · ${Math.round(((now.bytes - lastSent.bytes) * 8) / (now.at - lastSent.at))} kbit/s` : '';
      lastSent = now;
      sentText.textContent = `On air ${formatClock(performance.now() - liveSince)}${rate} · ${now.packets} packets sent`;
    }, STATS_EVERY_MS);
  }

  function stopStats() {
    clearInterval(statsTimer);
    statsTimer = 0;
    liveSince = 0;
    sentText.hidden = true;
  }

  /** The page goes away: end a broadcast (the DELETE outlives the page), free the source. */
  function leave() {
    if (publisher) {
      const mine = publisher;
      publisher = null;
      mine.stop({ keepalive: true });
    }
    stopStats();
    source.close();
  }

  return () => {
    disposed = true;
    controller.abort();
    leave();
  };
}

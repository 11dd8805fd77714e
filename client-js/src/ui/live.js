// SPDX-License-Identifier: MIT
//
// A live host in the room page: what everyone sees while a host is on air,
// and the owner's choice of what the music does meanwhile.
//
// - The indicator (createLiveIndicator): "Live · Host is live · 0:42" for
//   everyone from initialState.broadcast and the broadcastStats that follow
//   (every 2 s while on air, one with live:false when the host leaves). The
//   owner also sees the broadcast's health: the bitrate the server receives,
//   the packets lost over the last period, the host→server delay, and the
//   listeners. Only the "Live" part is a live region, and its text changes
//   only when a host goes on or off air: the clock and the figures that move
//   every 2 s are not read out. The clock runs here between two stats.
// - The mixing policy (createMixControl): the owner's toggle beside "Go
//   live" opens a panel: when a host goes live, pause the music (takeover)
//   or keep it under the host (talk-over), with how far it is ducked. A
//   choice is sent at once (setMixPolicy); what the panel shows is always
//   the room's policy as the server last said it (initialState.room.mix,
//   then mixPolicy, which also carries another tab's or device's change),
//   so a refused change goes back.

import { h, icon } from './dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const CLOCK_TICK_MS = 1000;
const DUCK_CHOICES = [-6, -12, -18, -24];
const DEFAULT_POLICY = { mode: 'takeover', duckDb: -12, thresholdDb: -40 };
const MODE_LABEL = {
  takeover: { title: 'Pause the music', hint: 'Only the host is heard; the queue plays on when the host stops.' },
  talkover: { title: 'Keep the music under the host', hint: 'The music dips while the host talks and comes back in the pauses.' },
};

/** Signs as people write them: −18 dB, not -18 dB. */
const minus = (text) => String(text).replace('-', '−');

/** 0:42, 12:05, 1:02:03. */
export function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const ss = String(s % 60).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}:${ss}`;
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${ss}`;
}

/**
 * The owner's figures of a broadcastStats as short texts: bitrate (kb/s),
 * loss (%), delay (ms), listeners. The first sample of a broadcast has no
 * bitrate yet (it is measured over 2 s): "—" rather than a false 0.
 */
export function healthFigures(stats) {
  const bitrate = Number(stats.bitrate);
  const fresh = !(Number(stats.durationMs) >= 1500);
  const loss = Number(stats.packetLoss) * 100;
  const delay = Number(stats.delayMs);
  const guests = Number(stats.guests);
  const lossText = !Number.isFinite(loss) ? '—' : loss > 0 && loss < 10 ? loss.toFixed(1) : String(Math.round(loss));
  return {
    bitrate: Number.isFinite(bitrate) && !(bitrate === 0 && fresh) ? `${Math.round(bitrate / 1000)} kb/s` : '— kb/s',
    loss: `${lossText} % loss`,
    delay: Number.isFinite(delay) ? `${Math.round(delay)} ms delay` : '— ms delay',
    listeners: Number.isInteger(guests) ? `${guests} ${guests === 1 ? 'listener' : 'listeners'}` : '',
    lossLevel: loss > 5 ? 'bad' : loss > 1 ? 'warn' : 'ok',
    delayLevel: delay > 400 ? 'bad' : delay > 150 ? 'warn' : 'ok',
  };
}

/** The "Live" line of the room's header. */
export function createLiveIndicator() {
  let owner = false;
  let live = false;
  let since = 0; // performance.now() at durationMs 0
  let timer = 0;

  const badge = h('span', { class: 'live-badge' }, h('span', { class: 'live-badge-dot', 'aria-hidden': 'true' }), 'Live');
  // Polite, and only on/off air: its text does not change in between.
  const announce = h('span', { class: 'live-announce', role: 'status', 'aria-live': 'polite', dataset: { testid: 'live-announce' } });
  const clock = h('span', { class: 'live-clock', dataset: { testid: 'live-duration' } });
  const bitrate = h('span', { dataset: { testid: 'live-bitrate' } });
  const loss = h('span', { dataset: { testid: 'live-loss' } });
  const delay = h('span', { dataset: { testid: 'live-delay' } });
  const listeners = h('span', { dataset: { testid: 'live-listeners' } });
  const figures = h('span', { class: 'live-figures', hidden: true, dataset: { testid: 'live-stats' } },
    bitrate, loss, delay, listeners);
  const node = h('p', { class: 'live-line', dataset: { testid: 'live-indicator', live: 'false' } },
    announce, clock, figures);

  function drawClock() {
    clock.textContent = live ? formatDuration(performance.now() - since) : '';
  }

  function set(stats) {
    const now = Boolean(stats && stats.live);
    if (now !== live) {
      live = now;
      since = performance.now();
      node.dataset.live = String(live);
      announce.replaceChildren(...(live ? [badge, ' ', h('span', { class: 'live-text', text: 'Host is live' })] : []));
      clearInterval(timer);
      timer = live ? setInterval(drawClock, CLOCK_TICK_MS) : 0;
    }
    if (live) {
      // durationMs when the server sent it; a host seen joining late (a
      // reconnect) still shows its whole time on air.
      const duration = Number(stats.durationMs);
      if (Number.isFinite(duration)) since = performance.now() - duration;
      const f = healthFigures(stats);
      bitrate.textContent = f.bitrate;
      loss.textContent = f.loss;
      loss.dataset.level = f.lossLevel;
      delay.textContent = f.delay;
      delay.dataset.level = f.delayLevel;
      listeners.textContent = f.listeners;
      figures.title = [
        stats.protocol ? `Over ${String(stats.protocol).toUpperCase()}` : '',
        Number.isFinite(Number(stats.jitterMs)) ? `jitter ${Number(stats.jitterMs).toFixed(1)} ms` : '',
        Number.isFinite(Number(stats.rttMs)) && stats.rttMs !== null ? `round trip ${Math.round(stats.rttMs)} ms` : '',
        Number.isFinite(Number(stats.lost)) ? `${stats.lost} packets lost of ${Number(stats.packets) + Number(stats.lost)}` : '',
        stats.mixMode === 'talkover' && Number.isFinite(Number(stats.duckDb)) ? `music ${minus(Math.round(stats.duckDb))} dB now` : '',
      ].filter(Boolean).join(' · ');
    }
    figures.hidden = !(live && owner);
    drawClock();
  }

  return {
    node,
    get live() { return live; },
    /** The owner sees the figures; guests only that a host is live. */
    setOwner(isOwner) {
      owner = Boolean(isOwner);
      figures.hidden = !(live && owner);
    },
    /** A broadcastStats (or initialState.broadcast); null clears. */
    set,
    dispose() {
      clearInterval(timer);
      timer = 0;
    },
  };
}

function slidersIcon() {
  const svg = icon('sliders'); // not one of dom.js's shapes: its frame, with ours inside
  for (const d of ['M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3', 'M1 14h6M9 8h6M17 16h6']) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/**
 * The owner's mixing policy: a toggle (for the header's actions, beside
 * "Go live") and its panel (a row of the header of its own).
 * onChange({mode, duckDb}) sends setMixPolicy and resolves true when taken.
 */
export function createMixControl({ onChange }) {
  let policy = { ...DEFAULT_POLICY };
  let busy = 0;

  const toggle = h('button', {
    type: 'button', class: 'ghost', hidden: true, 'aria-expanded': 'false', 'aria-controls': 'live-mix-panel',
    title: 'When a host goes live: pause the music, or keep it under the host',
    dataset: { testid: 'live-mix-toggle' }, onclick: () => setOpen(panel.hidden),
  }, slidersIcon(), h('span', { class: 'label', text: 'Live mix' }));

  const choice = (mode) => h('label', { class: 'live-choice' },
    h('input', {
      type: 'radio', name: 'live-mix-mode', value: mode, dataset: { testid: `live-mix-${mode}` },
      'aria-describedby': `live-mix-${mode}-hint`, onchange: onModeChange,
    }),
    h('span', { class: 'live-choice-text' },
      h('span', { class: 'live-choice-title', text: MODE_LABEL[mode].title }),
      h('small', { id: `live-mix-${mode}-hint`, class: 'hint', text: MODE_LABEL[mode].hint })));
  const duck = h('select', { id: 'live-mix-duck', dataset: { testid: 'live-mix-duck' }, onchange: onDuckChange });
  const duckField = h('div', { class: 'live-duck' },
    h('label', { for: 'live-mix-duck', text: 'Music under the host' }), duck);
  const closeButton = h('button', {
    type: 'button', class: 'icon-button small live-mix-close', 'aria-label': 'Close', title: 'Close',
    onclick: () => { setOpen(false); toggle.focus(); },
  }, icon('close'));
  const panel = h('section', {
    id: 'live-mix-panel', class: 'card live-mix', hidden: true, 'aria-labelledby': 'live-mix-heading',
    dataset: { testid: 'live-mix-panel' }, onkeydown: (event) => {
      if (event.key === 'Escape') { setOpen(false); toggle.focus(); }
    },
  },
  h('fieldset', { class: 'live-mix-set' },
    h('legend', { id: 'live-mix-heading', class: 'live-mix-legend', text: 'When a host goes live' }),
    h('div', { class: 'live-choices' }, choice('takeover'), choice('talkover'))),
  duckField, closeButton);

  function setOpen(open) {
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) panel.querySelector('input:checked, input')?.focus();
  }

  function fillDuck(db) {
    const values = [...DUCK_CHOICES];
    // A depth set elsewhere (the API, another client) is shown as it is.
    if (Number.isFinite(db) && !values.includes(db)) values.push(db);
    values.sort((a, b) => b - a);
    duck.replaceChildren(...values.map((v) => h('option', { value: v, text: `${minus(v)} dB` })));
    duck.value = String(db);
  }

  function draw() {
    for (const input of panel.querySelectorAll('input[name="live-mix-mode"]')) input.checked = input.value === policy.mode;
    fillDuck(policy.duckDb);
    duckField.hidden = policy.mode !== 'talkover';
    panel.dataset.mode = policy.mode;
    toggle.dataset.mode = policy.mode;
  }

  async function send(next) {
    busy += 1;
    panel.setAttribute('aria-busy', 'true');
    const ok = await onChange(next);
    busy -= 1;
    if (!busy) panel.removeAttribute('aria-busy');
    if (!ok) draw(); // refused: back to what the room has
  }

  function onModeChange(event) {
    const mode = event.target.value;
    duckField.hidden = mode !== 'talkover';
    send(mode === 'talkover' ? { mode, duckDb: Number(duck.value) } : { mode });
  }

  function onDuckChange() {
    send({ mode: 'talkover', duckDb: Number(duck.value) });
  }

  draw();

  return {
    toggle,
    panel,
    /** Only the owner may change it: hidden for everyone else. */
    setOwner(isOwner) {
      toggle.hidden = !isOwner;
      if (!isOwner) setOpen(false);
    },
    /** The room's policy: initialState.room.mix or a mixPolicy message. */
    setPolicy(next) {
      if (!next || (next.mode !== 'takeover' && next.mode !== 'talkover')) return;
      policy = {
        mode: next.mode,
        duckDb: Number.isFinite(Number(next.duckDb)) ? Number(next.duckDb) : policy.duckDb,
        thresholdDb: Number.isFinite(Number(next.thresholdDb)) ? Number(next.thresholdDb) : policy.thresholdDb,
      };
      draw();
    },
    get policy() { return { ...policy }; },
  };
}

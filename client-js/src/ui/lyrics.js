// SPDX-License-Identifier: MIT
//
// The lyrics card. For the current song (a library song: it has a songId)
// it asks GET /api/lyrics/{songId} once per song and shows
//   - synced lyrics (LRC): one line each, the line whose time has come
//     highlighted and scrolled to the middle of the card. The position is
//     the one the progress bar draws (player.js calls setPosition on every
//     frame it draws), so the words move in step with the room's timeline,
//     seeks included;
//   - plain lyrics: the text as it is;
//   - otherwise a "no lyrics" note (the server answers source "none" for a
//     library song without lyrics; a link is not asked about at all).
// Lines are text nodes, never markup. A reader who scrolls the card stops
// the automatic scrolling for a few seconds.

import { h, icon } from './dom.js';
import { getLyrics } from '../api.js';
import { describeError } from './status.js';

const MANUAL_SCROLL_HOLD_MS = 4000;
const CACHE_SIZE = 20;

/** Index of the last line whose time is ≤ position, or -1 before the first. */
export function lineAt(lines, position) {
  let lo = 0;
  let hi = lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid].time <= position + 1e-6) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export function createLyrics() {
  const cache = new Map(); // songId → lyrics object or null (none)
  let songKey = null;      // songId of the song shown, or '' for none
  let controller = null;
  let lines = [];          // synced: [{time, text}]
  let rows = [];
  let current = -2;
  let manualUntil = 0;
  let position = 0;        // the last position drawn, for lines that arrive later
  let disposed = false;

  const note = h('p', { class: 'lyrics-note muted', dataset: { testid: 'lyrics-note' } });
  const list = h('ol', { class: 'lyrics-lines', dataset: { testid: 'lyrics-lines' } });
  const plain = h('p', { class: 'lyrics-plain', dataset: { testid: 'lyrics-plain' }, hidden: true });
  const scroller = h('div', { class: 'lyrics-scroll', tabindex: 0, 'aria-label': 'Lyrics' }, note, list, plain);
  const source = h('span', { class: 'lyrics-source muted' });
  const node = h('section', {
    class: 'card panel lyrics', 'aria-labelledby': 'lyrics-heading', dataset: { testid: 'lyrics', state: 'idle' },
  },
  h('h2', { id: 'lyrics-heading', class: 'panel-title' }, icon('lyrics'), 'Lyrics', source),
  scroller);

  const holdScroll = () => { manualUntil = performance.now() + MANUAL_SCROLL_HOLD_MS; };
  scroller.addEventListener('wheel', holdScroll, { passive: true });
  scroller.addEventListener('touchmove', holdScroll, { passive: true });

  function show(state, text = '') {
    node.dataset.state = state;
    note.hidden = !text;
    note.textContent = text;
    list.hidden = state !== 'synced';
    plain.hidden = state !== 'plain';
    source.textContent = state === 'synced' ? 'synced' : '';
    if (state !== 'synced') {
      lines = [];
      rows = [];
      current = -2;
      list.replaceChildren();
    }
    if (state !== 'plain') plain.textContent = '';
  }

  function render(lyrics) {
    if (!lyrics || lyrics.source === 'none') {
      show('none', 'No lyrics for this song.');
      return;
    }
    if (lyrics.synced && Array.isArray(lyrics.lines) && lyrics.lines.length) {
      show('synced');
      lines = lyrics.lines
        .filter((line) => line && Number.isFinite(Number(line.time)))
        .map((line) => ({ time: Number(line.time), text: String(line.text ?? '') }));
      rows = lines.map((line, i) => h('li', {
        class: `lyrics-line${line.text.trim() ? '' : ' gap'}`, dataset: { testid: 'lyrics-line', index: String(i), time: String(line.time) },
        text: line.text.trim() ? line.text : '♪',
      }));
      list.replaceChildren(...rows);
      current = -2;
      scroller.scrollTop = 0;
      highlight(lineAt(lines, position));
      return;
    }
    const text = typeof lyrics.text === 'string' ? lyrics.text
      : Array.isArray(lyrics.lines) ? lyrics.lines.map((l) => String(l.text ?? '')).join('\n') : '';
    if (!text.trim()) {
      show('none', 'No lyrics for this song.');
      return;
    }
    show('plain');
    plain.textContent = text;
    scroller.scrollTop = 0;
  }

  async function load(songId) {
    if (cache.has(songId)) {
      render(cache.get(songId));
      return;
    }
    show('loading', 'Looking for lyrics…');
    controller = new AbortController();
    const mine = controller;
    try {
      const lyrics = await getLyrics(songId, { signal: mine.signal });
      if (disposed || mine !== controller) return;
      cache.set(songId, lyrics);
      if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value);
      render(lyrics);
    } catch (err) {
      if (disposed || err.name === 'AbortError' || mine !== controller) return;
      show('error', `Could not load the lyrics: ${describeError(err)}`);
    } finally {
      if (mine === controller) controller = null;
    }
  }

  function highlight(index) {
    if (index === current) return;
    if (rows[current]) {
      rows[current].classList.remove('current');
      rows[current].removeAttribute('aria-current');
    }
    current = index;
    node.dataset.line = String(index);
    rows.forEach((row, i) => row.classList.toggle('past', i < index));
    const row = rows[index];
    if (!row) return;
    row.classList.add('current');
    row.setAttribute('aria-current', 'true');
    if (performance.now() < manualUntil || scroller.clientHeight === 0) return;
    const top = row.offsetTop - scroller.clientHeight / 2 + row.offsetHeight / 2;
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    scroller.scrollTo({ top: Math.max(0, top), behavior: smooth ? 'smooth' : 'auto' });
  }

  show('idle', 'Lyrics show here when a song plays.');

  return {
    node,
    /** The current queue item (or null). */
    setSong(song) {
      const songId = song && song.songId ? String(song.songId) : '';
      const key = song ? (songId || `url:${song.url ?? ''}`) : null;
      if (key === songKey) return;
      songKey = key;
      position = 0;
      if (controller) controller.abort();
      controller = null;
      if (!song) show('idle', 'Lyrics show here when a song plays.');
      else if (!songId) show('none', 'No lyrics for links, only for songs from the library.');
      else load(songId);
    },
    /** Seconds into the song (the progress bar's interpolated position). */
    setPosition(seconds) {
      position = seconds;
      if (!lines.length) return;
      highlight(lineAt(lines, seconds));
    },
    dispose() {
      disposed = true;
      if (controller) controller.abort();
    },
  };
}

// SPDX-License-Identifier: MIT
//
// "Add music": one box and two tabs. Typing searches the library (GET
// /api/search/songs, debounced, the previous request aborted) in the
// "Library" tab, which shows the first songs of the library while the box is
// empty; a pasted http(s) link offers "Add link" (Enter adds it). The
// "Saved" tab is this listener's saved playlist (GET/POST /api/playlist,
// kept by the room view and handed in with setSaved). Every row adds its
// song in one click through onAddSong(songId) / onAddUrl(url), which send
// `addSong` and resolve true when the server took it (errors are shown by
// the caller).

import { h, icon, replaceChildren, flash } from './dom.js';
import { searchSongs, listLibrary } from '../api.js';
import { describeError } from './status.js';
import { formatDuration } from './player.js';
import { cover } from './cover.js';

const DEBOUNCE_MS = 250;
const RESULT_LIMIT = 10;
const LIBRARY_LIMIT = 20;
const SCAN_POLL_MS = 2000;
const MAX_QUERY = 200;
const URL_RE = /^https?:\/\/[^\s/$.?#][^\s]*$/i;

export function createSearch({ onAddSong, onAddUrl }) {
  let timer = 0;
  let controller = null;
  let lastQuery = null;
  let disposed = false;

  const input = h('input', {
    id: 'search-input', type: 'search', autocomplete: 'off', spellcheck: 'false', maxlength: 2048,
    placeholder: 'Search songs, artists, albums — or paste a link',
    dataset: { testid: 'search-input' }, 'aria-controls': 'search-results',
    oninput: () => { select('library'); schedule(DEBOUNCE_MS); },
    onkeydown: onKey,
  });
  const heading = h('p', { class: 'search-heading muted', dataset: { testid: 'search-heading' }, 'aria-live': 'polite' });
  const list = h('ul', { id: 'search-results', class: 'search-results', dataset: { testid: 'search-results' } });

  const savedCount = h('span', { class: 'count', dataset: { testid: 'saved-count' }, text: '0' });
  const tabLibrary = h('button', {
    type: 'button', role: 'tab', id: 'tab-library', class: 'tab', 'aria-selected': 'true', 'aria-controls': 'panel-library',
    dataset: { testid: 'tab-library' }, onclick: () => select('library'),
  }, icon('search'), 'Library');
  const tabSaved = h('button', {
    type: 'button', role: 'tab', id: 'tab-saved', class: 'tab', 'aria-selected': 'false', 'aria-controls': 'panel-saved',
    tabindex: -1, dataset: { testid: 'tab-saved' }, onclick: () => select('saved'),
  }, icon('heart'), 'Saved', savedCount);
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Library and saved songs', onkeydown: onTabKey },
    tabLibrary, tabSaved);
  const libraryPanel = h('div', { role: 'tabpanel', id: 'panel-library', 'aria-labelledby': 'tab-library', class: 'tab-panel' },
    heading, list);
  const savedList = h('ul', { class: 'search-results', dataset: { testid: 'saved' } });
  const savedEmpty = h('p', { class: 'muted search-heading', dataset: { testid: 'saved-empty' },
    text: 'Nothing saved yet. Press the heart beside the song that plays to keep it here.' });
  const savedPanel = h('div', {
    role: 'tabpanel', id: 'panel-saved', 'aria-labelledby': 'tab-saved', class: 'tab-panel', hidden: true,
  }, savedEmpty, savedList);

  const node = h('section', { class: 'card panel search', 'aria-labelledby': 'search-label' },
    h('h2', { class: 'panel-title' }, icon('plus'), h('label', { id: 'search-label', for: 'search-input', text: 'Add music' })),
    h('div', { class: 'search-box' }, icon('search', 'icon search-icon'), input),
    tabs, libraryPanel, savedPanel);

  function select(which) {
    const libraryOn = which === 'library';
    tabLibrary.setAttribute('aria-selected', String(libraryOn));
    tabSaved.setAttribute('aria-selected', String(!libraryOn));
    tabLibrary.tabIndex = libraryOn ? 0 : -1;
    tabSaved.tabIndex = libraryOn ? -1 : 0;
    libraryPanel.hidden = !libraryOn;
    savedPanel.hidden = libraryOn;
  }

  function onTabKey(event) {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const next = tabLibrary.getAttribute('aria-selected') === 'true' ? 'saved' : 'library';
    select(next);
    (next === 'library' ? tabLibrary : tabSaved).focus();
  }

  function onKey(event) {
    if (event.key === 'Enter') {
      event.preventDefault();
      const value = input.value.trim();
      if (URL_RE.test(value)) addUrl(value, list.querySelector('[data-testid="search-add-url"]'));
      else schedule(0);
    } else if (event.key === 'Escape' && input.value) {
      event.preventDefault();
      input.value = '';
      schedule(0);
    }
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  }

  function run() {
    const value = input.value.trim();
    if (value === lastQuery) return;
    lastQuery = value;
    if (controller) controller.abort();
    controller = null;
    if (!value) {
      showLibrary();
    } else if (URL_RE.test(value)) {
      showUrl(value);
    } else {
      showResults(value.slice(0, MAX_QUERY));
    }
  }

  async function fetchInto(label, load) {
    controller = new AbortController();
    const mine = controller;
    heading.textContent = label;
    list.setAttribute('aria-busy', 'true');
    try {
      const songs = await load(mine.signal);
      if (disposed || mine !== controller) return null;
      return songs;
    } catch (err) {
      if (disposed || err.name === 'AbortError' || mine !== controller) return null;
      heading.textContent = `Search failed: ${describeError(err)}`;
      list.replaceChildren();
      return null;
    } finally {
      if (mine === controller) list.removeAttribute('aria-busy');
    }
  }

  async function showResults(q) {
    const songs = await fetchInto('Searching…', (signal) => searchSongs(q, { limit: RESULT_LIMIT, signal }));
    if (!songs) return;
    heading.textContent = songs.length ? `${songs.length === RESULT_LIMIT ? 'Top' : ''} ${songs.length} result${songs.length === 1 ? '' : 's'}`.trim()
      : `No songs match “${q}”.`;
    replaceChildren(list, songs.map((song) => songRow(song)));
  }

  async function showLibrary() {
    const page = await fetchInto('Loading the library…', (signal) => listLibrary({ limit: LIBRARY_LIMIT, signal }));
    if (!page) return;
    const songs = Array.isArray(page.songs) ? page.songs : [];
    const total = Number(page.total) || songs.length;
    if (page.scanning) {
      // Look again while the server is still reading its music folder.
      clearTimeout(timer);
      timer = setTimeout(() => { if (!input.value.trim()) { lastQuery = null; run(); } }, SCAN_POLL_MS);
    }
    if (!songs.length) {
      heading.textContent = page.scanning ? 'The library is still being read…' : 'The library is empty. Paste a link to a song to add it.';
    } else {
      heading.textContent = total > songs.length ? `From the library (${songs.length} of ${total}) — type to search` : 'From the library';
    }
    replaceChildren(list, songs.map((song) => songRow(song)));
  }

  function showUrl(url) {
    heading.textContent = 'A link';
    const add = h('button', {
      type: 'button', class: 'primary small-button', dataset: { testid: 'search-add-url' },
      onclick: () => addUrl(url, add),
    }, icon('plus'), 'Add link');
    replaceChildren(list, h('li', { class: 'search-result url', dataset: { testid: 'search-url' } },
      h('span', { class: 'result-art', 'aria-hidden': 'true' }, icon('globe')),
      h('div', { class: 'result-text' },
        h('span', { class: 'result-title', text: url }),
        h('span', { class: 'result-meta', text: 'The server fetches and plays it' })),
      add));
  }

  function songRow(song, testid = 'search-result') {
    const title = String(song.title ?? song.url ?? 'Untitled');
    const meta = [song.artist, song.album].filter(Boolean).map(String).join(' · ');
    const isUrl = !song.id && !song.songId && typeof song.url === 'string';
    const add = h('button', {
      type: 'button', class: 'small-button', dataset: { testid: `${testid}-add` }, 'aria-label': `Add ${title}`,
      onclick: () => addWith(add, () => (isUrl ? onAddUrl(song.url) : onAddSong(String(song.id ?? song.songId)))),
    }, icon('plus'), h('span', { class: 'label', text: 'Add' }));
    return h('li', { class: 'search-result', dataset: { testid } },
      isUrl ? h('span', { class: 'result-art', 'aria-hidden': 'true' }, icon('globe')) : cover(title, song.artist ?? '', 'small'),
      h('div', { class: 'result-text' },
        h('span', { class: 'result-title', dataset: { testid: `${testid}-title` }, text: title }),
        meta && h('span', { class: 'result-meta', text: meta })),
      h('span', { class: 'time result-duration', text: song.durationMs > 0 ? formatDuration(song.durationMs / 1000) : '' }),
      add);
  }

  function addUrl(url, button) {
    return addWith(button, async () => {
      const ok = await onAddUrl(url);
      if (ok && input.value.trim() === url) {
        input.value = '';
        schedule(0);
      }
      return ok;
    });
  }

  async function addWith(button, send) {
    if (button && button.disabled) return;
    if (button) button.disabled = true;
    let ok = false;
    try {
      ok = await send();
    } finally {
      if (button && !disposed) {
        button.disabled = false;
        if (ok) flash(button);
      }
    }
  }

  return {
    node,
    input,
    /** The saved playlist: library songs, newest first. */
    setSaved(songs) {
      const shown = (Array.isArray(songs) ? songs : []).filter((song) => song && song.id);
      savedCount.textContent = String(shown.length);
      savedEmpty.hidden = shown.length > 0;
      replaceChildren(savedList, shown.map((song) => songRow(song, 'saved-item')));
    },
    showTab: select,
    /** Shows the library (first call) or refreshes the current view. */
    refresh() {
      lastQuery = null;
      schedule(0);
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
  };
}

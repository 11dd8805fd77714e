// SPDX-License-Identifier: MIT
//
// The queue card, with two tabs:
//   - "Up next": the room's one list as the server keeps it. Items before
//     `index` are played (dimmed, folded away behind a toggle), the one at
//     `index` plays now, the rest are up next. Upcoming items are reordered
//     by dragging their handle (or ArrowUp/ArrowDown on it), which sends
//     `moveSong {from, to}`; the owner also gets a remove button
//     (`removeSong {index}`). Rebuilt whole on every queueUpdated (at most
//     500 items), except while a row is being dragged: the redraw waits for
//     the drop. stateUpdate moves the current index without a new list.
//   - "History": this guest's own listening history (historyUpdate), each
//     song one click from the queue again.

import { h, icon, replaceChildren, flash } from './dom.js';
import { formatDuration } from './player.js';
import { cover } from './cover.js';
import { attachDragSort } from './drag-sort.js';

export function createQueue({ onCommand, onAddSong, onAddUrl }) {
  let items = [];
  let index = -1;
  let isOwner = false;
  let showPlayed = false;
  let redrawLater = false;
  let focusItemId = null; // after a keyboard move: give the focus back to that row's handle
  let history = [];

  // -- tabs ----------------------------------------------------------------
  const count = h('span', { class: 'count', dataset: { testid: 'queue-count' }, text: '0' });
  const tabQueue = h('button', {
    type: 'button', role: 'tab', id: 'tab-queue', class: 'tab', 'aria-selected': 'true', 'aria-controls': 'panel-queue',
    dataset: { testid: 'tab-queue' }, onclick: () => select('queue'),
  }, icon('list'), 'Up next', count);
  const tabHistory = h('button', {
    type: 'button', role: 'tab', id: 'tab-history', class: 'tab', 'aria-selected': 'false', 'aria-controls': 'panel-history',
    tabindex: -1, dataset: { testid: 'tab-history' }, onclick: () => select('history'),
  }, icon('history'), 'History');
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Queue and history', onkeydown: onTabKey },
    tabQueue, tabHistory);

  // -- up next -------------------------------------------------------------
  const list = h('ol', { class: 'queue-list', dataset: { testid: 'queue' }, 'aria-label': 'Queue' });
  const empty = h('p', { class: 'muted queue-empty', dataset: { testid: 'queue-empty' },
    text: 'The queue is empty. Search for a song to add it.' });
  const playedToggle = h('button', {
    type: 'button', class: 'ghost small-button played-toggle', hidden: true,
    dataset: { testid: 'queue-show-played' }, 'aria-expanded': 'false',
    onclick: () => { showPlayed = !showPlayed; draw(); },
  });
  const queuePanel = h('div', { role: 'tabpanel', id: 'panel-queue', 'aria-labelledby': 'tab-queue', class: 'tab-panel' },
    playedToggle, empty, list);

  // -- history -------------------------------------------------------------
  const historyList = h('ul', { class: 'search-results history-list', dataset: { testid: 'history' } });
  const historyEmpty = h('p', { class: 'muted queue-empty', dataset: { testid: 'history-empty' },
    text: 'Songs you hear in rooms show up here.' });
  const historyPanel = h('div', {
    role: 'tabpanel', id: 'panel-history', 'aria-labelledby': 'tab-history', class: 'tab-panel', hidden: true,
  }, historyEmpty, historyList);

  const node = h('section', { class: 'card panel queue', 'aria-label': 'Queue' }, tabs, queuePanel, historyPanel);

  const sorter = attachDragSort(list, {
    handle: '[data-testid="queue-drag-handle"]',
    item: '.queue-item.upcoming',
    onDrop: (from, to, rows) => {
      // The rows carry the queue index they were drawn with; if the queue
      // changed under the drag (a song ended, someone added one), find both
      // items again by their ids.
      const key = (row) => row.dataset.itemId;
      let fromIndex = Number(rows[from].dataset.index);
      let toIndex = Number(rows[to].dataset.index);
      if (String(items[fromIndex]?.id) !== key(rows[from]) || String(items[toIndex]?.id) !== key(rows[to])) {
        fromIndex = items.findIndex((item) => String(item.id) === key(rows[from]));
        toIndex = items.findIndex((item) => String(item.id) === key(rows[to]));
        if (fromIndex < 0 || toIndex < 0 || fromIndex === toIndex) {
          draw();
          return;
        }
      }
      focusItemId = document.activeElement && document.activeElement.closest('.queue-item') ? key(rows[from]) : null;
      onCommand({ type: 'moveSong', from: fromIndex, to: toIndex }).then((ok) => { if (!ok) draw(); });
    },
    onEnd: () => { if (redrawLater) draw(); },
  });

  function select(which) {
    const queueOn = which === 'queue';
    tabQueue.setAttribute('aria-selected', String(queueOn));
    tabHistory.setAttribute('aria-selected', String(!queueOn));
    tabQueue.tabIndex = queueOn ? 0 : -1;
    tabHistory.tabIndex = queueOn ? -1 : 0;
    queuePanel.hidden = !queueOn;
    historyPanel.hidden = queueOn;
  }

  function onTabKey(event) {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const next = tabQueue.getAttribute('aria-selected') === 'true' ? 'history' : 'queue';
    select(next);
    (next === 'queue' ? tabQueue : tabHistory).focus();
  }

  function row(item, i) {
    const played = i < index;
    const current = i === index;
    const upcoming = i > index;
    const by = item.addedBy && item.addedBy.name ? String(item.addedBy.name) : '';
    const duration = Number(item.duration) || 0;
    const name = String(item.title ?? item.url ?? 'Untitled');
    const lead = upcoming
      ? h('button', {
        type: 'button', class: 'drag-handle', dataset: { testid: 'queue-drag-handle' },
        'aria-label': `Move ${name}: drag, or press the up and down arrows`, title: 'Drag to reorder',
      }, icon('grip'))
      : h('span', { class: 'queue-pos', 'aria-hidden': 'true' },
        current ? h('span', { class: 'eq small' }, h('i'), h('i'), h('i')) : String(i + 1));
    return h('li', {
      class: `queue-item${current ? ' current' : ''}${played ? ' played' : ''}${upcoming ? ' upcoming' : ''}`,
      dataset: { testid: 'queue-item', index: String(i), itemId: String(item.id ?? '') },
      'aria-current': current ? 'true' : null,
    },
    lead,
    cover(name, item.artist ?? '', 'small'),
    h('div', { class: 'queue-text' },
      h('span', { class: 'queue-title', dataset: { testid: 'queue-item-title' }, text: name }),
      h('span', { class: 'queue-meta' },
        item.artist && h('span', { class: 'queue-artist', text: String(item.artist) }),
        by && h('span', { class: 'queue-added-by', dataset: { testid: 'queue-item-added-by' }, text: `added by ${by}` }))),
    h('span', { class: 'queue-duration time', text: duration > 0 ? formatDuration(duration) : '' }),
    isOwner ? h('button', {
      type: 'button', class: 'icon-button small remove', 'aria-label': `Remove ${name}`, title: 'Remove',
      dataset: { testid: 'queue-remove' },
      onclick: () => onCommand({ type: 'removeSong', index: i }),
    }, icon('close')) : h('span', { class: 'queue-actions-spacer' }));
  }

  function draw() {
    if (sorter.isDragging()) {
      redrawLater = true;
      return;
    }
    redrawLater = false;
    const playedCount = Math.max(0, Math.min(index, items.length));
    const upcoming = items.length - Math.max(0, index + 1);
    count.textContent = String(Math.max(0, upcoming));
    count.title = `${upcoming} up next`;
    empty.hidden = items.length > 0;
    playedToggle.hidden = playedCount === 0;
    playedToggle.textContent = showPlayed ? 'Hide played songs' : `Show ${playedCount} played`;
    playedToggle.setAttribute('aria-expanded', String(showPlayed));
    const first = showPlayed ? 0 : playedCount;
    replaceChildren(list, items.slice(first).map((item, k) => row(item, first + k)));
    if (focusItemId !== null) {
      const handle = [...list.querySelectorAll('.queue-item')].find((li) => li.dataset.itemId === focusItemId)
        ?.querySelector('[data-testid="queue-drag-handle"]');
      focusItemId = null;
      if (handle) handle.focus({ preventScroll: true });
    }
    // Keep the current song in view inside the list (the list is
    // position: relative, so offsetTop is within it); never scroll the page.
    const current = list.querySelector('.queue-item.current');
    if (current && list.scrollHeight > list.clientHeight) {
      const top = current.offsetTop;
      if (top < list.scrollTop || top + current.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTop = Math.max(0, top - 8);
      }
    }
  }

  function historyRow(song) {
    const title = String(song.title ?? song.url ?? 'Untitled');
    const isUrl = !song.songId && typeof song.url === 'string';
    const add = h('button', {
      type: 'button', class: 'small-button', dataset: { testid: 'history-item-add' }, 'aria-label': `Add ${title} to the queue`,
      onclick: async () => {
        add.disabled = true;
        const ok = await (isUrl ? onAddUrl(song.url) : onAddSong(String(song.songId)));
        add.disabled = false;
        if (ok) flash(add);
      },
    }, icon('plus'), h('span', { class: 'label', text: 'Add' }));
    return h('li', { class: 'search-result', dataset: { testid: 'history-item' } },
      cover(title, song.artist ?? '', 'small'),
      h('div', { class: 'result-text' },
        h('span', { class: 'result-title', dataset: { testid: 'history-item-title' }, text: title }),
        h('span', { class: 'result-meta', text: song.artist ? String(song.artist) : (isUrl ? 'Link' : '') })),
      add);
  }

  return {
    node,
    /** queueUpdated (or initialState's queue and state.index). */
    update(queue, currentIndex) {
      items = Array.isArray(queue) ? queue : [];
      index = Number.isInteger(currentIndex) ? currentIndex : -1;
      draw();
    },
    setIndex(currentIndex) {
      const next = Number.isInteger(currentIndex) ? currentIndex : -1;
      if (next === index) return;
      index = next;
      draw();
    },
    /** The current song's bars move only while the room plays. */
    setPlaying(playing) {
      node.classList.toggle('room-playing', Boolean(playing));
    },
    setOwner(owner) {
      if (isOwner === Boolean(owner)) return;
      isOwner = Boolean(owner);
      draw();
    },
    /** historyUpdate: this guest's songs, newest first. */
    setHistory(songs) {
      history = (Array.isArray(songs) ? songs : []).filter((song) => song && (song.songId || song.url));
      historyEmpty.hidden = history.length > 0;
      replaceChildren(historyList, history.map(historyRow));
    },
    showTab: select,
    get length() { return items.length; },
  };
}

// SPDX-License-Identifier: MIT
//
// The queue card: one list as the server keeps it. Items before `index` are
// played (dimmed, folded away behind a toggle), the one at `index` plays now,
// the rest are up next. Up/down buttons move an upcoming item within the
// upcoming part (`moveSong {from, to}`); the owner also gets a remove button
// (`removeSong {index}`). Rebuilt whole on every queueUpdated (at most 500
// items); stateUpdate moves the current index without a new list.

import { h, icon, replaceChildren } from './dom.js';
import { formatDuration } from './player.js';

export function createQueue({ onCommand }) {
  let items = [];
  let index = -1;
  let isOwner = false;
  let showPlayed = false;

  const count = h('span', { class: 'count', dataset: { testid: 'queue-count' }, text: '0' });
  const list = h('ol', { class: 'queue-list', dataset: { testid: 'queue' }, 'aria-label': 'Queue' });
  const empty = h('p', { class: 'muted queue-empty', dataset: { testid: 'queue-empty' },
    text: 'The queue is empty. Search for a song to add it.' });
  const playedToggle = h('button', {
    type: 'button', class: 'ghost small-button played-toggle', hidden: true,
    dataset: { testid: 'queue-show-played' }, 'aria-expanded': 'false',
    onclick: () => { showPlayed = !showPlayed; draw(); },
  });
  const node = h('section', { class: 'card panel queue', 'aria-labelledby': 'queue-heading' },
    h('h2', { id: 'queue-heading', class: 'panel-title' }, icon('list'), 'Queue ', count),
    playedToggle, empty, list);

  function row(item, i) {
    const played = i < index;
    const current = i === index;
    const upcoming = i > index;
    const by = item.addedBy && item.addedBy.name ? String(item.addedBy.name) : '';
    const duration = Number(item.duration) || 0;
    const name = String(item.title ?? item.url ?? 'Untitled');
    const li = h('li', {
      class: `queue-item${current ? ' current' : ''}${played ? ' played' : ''}`,
      dataset: { testid: 'queue-item', index: String(i), itemId: String(item.id ?? '') },
      'aria-current': current ? 'true' : null,
    },
    h('span', { class: 'queue-pos', 'aria-hidden': 'true' },
      current ? h('span', { class: 'eq small' }, h('i'), h('i'), h('i')) : String(i + 1)),
    h('div', { class: 'queue-text' },
      h('span', { class: 'queue-title', dataset: { testid: 'queue-item-title' }, text: name }),
      h('span', { class: 'queue-meta' },
        item.artist && h('span', { class: 'queue-artist', text: String(item.artist) }),
        by && h('span', { class: 'queue-added-by', dataset: { testid: 'queue-item-added-by' }, text: `added by ${by}` }))),
    h('span', { class: 'queue-duration time', text: duration > 0 ? formatDuration(duration) : '' }),
    h('span', { class: 'queue-actions' },
      upcoming && h('button', {
        type: 'button', class: 'icon-button small', 'aria-label': `Move ${name} up`, title: 'Move up',
        dataset: { testid: 'queue-move-up' }, disabled: i <= index + 1 || i === 0,
        onclick: () => onCommand({ type: 'moveSong', from: i, to: i - 1 }),
      }, icon('up')),
      upcoming && h('button', {
        type: 'button', class: 'icon-button small', 'aria-label': `Move ${name} down`, title: 'Move down',
        dataset: { testid: 'queue-move-down' }, disabled: i >= items.length - 1,
        onclick: () => onCommand({ type: 'moveSong', from: i, to: i + 1 }),
      }, icon('down')),
      isOwner && h('button', {
        type: 'button', class: 'icon-button small remove', 'aria-label': `Remove ${name}`, title: 'Remove',
        dataset: { testid: 'queue-remove' },
        onclick: () => onCommand({ type: 'removeSong', index: i }),
      }, icon('close'))));
    return li;
  }

  function draw() {
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
    get length() { return items.length; },
  };
}

// SPDX-License-Identifier: MIT
//
// The participants panel: who is in the room, the owner marked, "you" marked.
// The server sends the list once (initialState: the first 200 and the total)
// and then changes: viewerJoined / viewerLeft while the room has at most 200
// guests, viewerCount past that (then only the count is live, and "Show
// everyone" reads the list in pages with listViewers), viewersUpdated (the
// whole list) when a big room shrinks back. See docs/protocol.md, Presence.

import { h, icon, replaceChildren } from './dom.js';
import { avatar } from './cover.js';

const PAGE = 200;

/**
 * Who is in the room as this page knows it: guests in join order and the
 * room's count (which can exceed the list in a big room). Pure, no DOM.
 */
export class Roster {
  constructor() {
    this.people = [];
    this.count = 0;
  }

  /** The whole list, or its first page with the room's total. */
  reset(list, count) {
    this.people = Array.isArray(list) ? list.filter((p) => p && p.id !== undefined) : [];
    this.count = Number.isInteger(count) ? count : this.people.length;
  }

  joined(guest, count) {
    if (guest && guest.id !== undefined && !this.people.some((p) => p.id === guest.id)) this.people.push(guest);
    this.setCount(count);
  }

  left(guestId, count) {
    this.people = this.people.filter((p) => p.id !== guestId);
    this.setCount(count);
  }

  setCount(count) {
    this.count = Number.isInteger(count) ? count : this.people.length;
  }

  /** Whether the list holds everyone the count says is here. */
  get complete() {
    return this.people.length >= this.count;
  }

  /** Applies a presence message; false when it is not one. */
  apply(msg) {
    switch (msg && msg.type) {
      case 'viewerJoined': this.joined(msg.guest, msg.count); return true;
      case 'viewerLeft': this.left(msg.guestId, msg.count); return true;
      case 'viewerCount': this.setCount(msg.count); return true;
      case 'viewersUpdated': this.reset(msg.participants, msg.count); return true;
      default: return false;
    }
  }
}

/**
 * Reads the whole list in pages: loadPage(offset, limit) resolves to a
 * `viewers` reply. Resolves to the guests in join order.
 */
export async function readAllPages(loadPage, limit = PAGE) {
  const people = [];
  for (let offset = 0, count = Infinity; offset < count; offset += limit) {
    const page = await loadPage(offset, limit);
    count = Number.isInteger(page.count) ? page.count : 0;
    const list = Array.isArray(page.participants) ? page.participants : [];
    people.push(...list);
    if (list.length === 0) break;
  }
  return people;
}

/** loadPage(offset, limit): a `listViewers` request (for "Show everyone"). */
export function createParticipants({ loadPage = null } = {}) {
  const roster = new Roster();
  let youId = null;
  const count = h('span', { class: 'count', text: '0' });
  const list = h('ul', { class: 'participants', dataset: { testid: 'participants' }, 'aria-label': 'Participants' });
  const more = h('p', { class: 'participants-more', dataset: { testid: 'participants-more' }, hidden: true });
  const showAll = h('button', { type: 'button', class: 'button small', dataset: { testid: 'participants-all' }, hidden: true, text: 'Show everyone' });
  const node = h('aside', { class: 'card panel', 'aria-labelledby': 'participants-heading' },
    h('h2', { id: 'participants-heading', class: 'panel-title' }, icon('users'), 'In the room ', count),
    list, more, showAll);

  showAll.addEventListener('click', () => {
    if (!loadPage) return;
    showAll.disabled = true;
    readAllPages(loadPage).then((people) => {
      roster.reset(people, Math.max(roster.count, people.length));
      draw();
    }, (err) => console.warn('roomcast: cannot read the participant list', err))
      .finally(() => { showAll.disabled = false; });
  });

  function draw() {
    const people = [...roster.people];
    // Owner first, then you, then everyone else in join order.
    people.sort((a, b) => (b.isOwner === true) - (a.isOwner === true)
      || (b.id === youId) - (a.id === youId));
    count.textContent = String(roster.count);
    const missing = roster.count - people.length;
    more.hidden = missing <= 0;
    more.textContent = missing > 0 ? `and ${missing} more` : '';
    showAll.hidden = missing <= 0 || !loadPage;
    replaceChildren(list, people.map((p) => {
      const name = String(p.name ?? '');
      return h('li', {
        class: `participant${p.isOwner ? ' owner' : ''}${p.id === youId ? ' you' : ''}`,
        dataset: { testid: 'participant', participantId: String(p.id) },
      },
      avatar(name),
      h('span', { class: 'participant-name', text: name }),
      p.id === youId && h('span', { class: 'tag', text: 'you' }),
      p.isOwner && h('span', { class: 'tag owner-tag', title: 'Room owner', dataset: { testid: 'owner-mark' } },
        icon('crown', 'icon small'), 'owner'));
    }));
  }

  /** initialState: the list (or its first page) and the total. */
  function reset(participants, total, you) {
    youId = you ?? null;
    roster.reset(participants, total);
    draw();
  }

  /** A presence message; returns the room's count when it was one, else null. */
  function apply(msg) {
    if (!roster.apply(msg)) return null;
    draw();
    return roster.count;
  }

  return { node, reset, apply, get count() { return roster.count; } };
}

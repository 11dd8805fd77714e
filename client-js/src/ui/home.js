// SPDX-License-Identifier: MIT
//
// Home: the live rooms (refreshed every few seconds while the tab is visible)
// and the form that creates a room. Creating a room stores its owner token
// in localStorage, keyed by room id, then opens the room page.

import { h, icon, labelledInput, replaceChildren } from './dom.js';
import { listRooms, createRoom } from '../api.js';
import { setOwnerToken } from '../storage.js';
import { setStatus, clearStatus, describeError } from './status.js';

const REFRESH_MS = 4000;

export function mountHome(container, _params, router) {
  let timer = 0;
  let controller = null;
  let disposed = false;

  // -- create form --------------------------------------------------------
  const name = labelledInput('create-name', 'Room name', {
    type: 'text', required: true, maxlength: 64, autocomplete: 'off',
    placeholder: 'Friday night vinyl', dataset: { testid: 'create-name' },
  });
  const password = labelledInput('create-password', 'Password (optional)', {
    type: 'password', maxlength: 128, autocomplete: 'new-password',
    dataset: { testid: 'create-password' },
  }, 'Leave empty for an open room.');
  const submit = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'create-submit' }, text: 'Create room' });

  const form = h('form', { class: 'stack', novalidate: true, onsubmit: onCreate },
    name.field, password.field, h('div', { class: 'actions' }, submit));

  async function onCreate(event) {
    event.preventDefault();
    const roomName = name.input.value.trim();
    if (!roomName) {
      setStatus('Give the room a name.', 'warn');
      name.input.focus();
      return;
    }
    submit.disabled = true;
    clearStatus();
    try {
      const room = await createRoom(roomName, password.input.value);
      if (room.ownerToken) setOwnerToken(room.id, room.ownerToken);
      if (!disposed) router.navigate(`/room/${encodeURIComponent(room.id)}`);
    } catch (err) {
      if (!disposed) setStatus(describeError(err), 'error');
    } finally {
      submit.disabled = false;
    }
  }

  // -- room list ----------------------------------------------------------
  const list = h('ul', { class: 'room-list', dataset: { testid: 'room-list' }, 'aria-busy': 'true' });
  const listNote = h('p', { class: 'muted', text: 'Loading rooms…' });

  function renderRooms(rooms) {
    list.setAttribute('aria-busy', 'false');
    const sorted = [...rooms].sort((a, b) => (b.guests ?? 0) - (a.guests ?? 0)
      || String(a.name).localeCompare(String(b.name)));
    listNote.hidden = sorted.length > 0;
    listNote.textContent = 'No live rooms yet. Create one and share the link.';
    replaceChildren(list, sorted.map(roomItem));
  }

  function roomItem(room) {
    const guests = Number(room.guests) || 0;
    return h('li', { dataset: { testid: 'room-item', roomId: room.id } },
      h('a', { class: 'room-link', href: `/room/${encodeURIComponent(room.id)}`, 'data-link': true },
        h('span', { class: 'room-name', text: room.name }),
        room.hasPassword && h('span', { class: 'lock', title: 'Password protected', dataset: { testid: 'room-lock' } },
          icon('lock'), h('span', { class: 'sr-only', text: 'password protected' })),
        h('span', { class: 'guests', text: `${guests} ${guests === 1 ? 'listener' : 'listeners'}` })));
  }

  async function refresh() {
    if (disposed) return;
    if (document.visibilityState === 'visible') {
      controller = new AbortController();
      try {
        renderRooms(await listRooms({ signal: controller.signal }));
      } catch (err) {
        if (err.name === 'AbortError' || disposed) return;
        listNote.hidden = false;
        listNote.textContent = `Could not load rooms: ${describeError(err)}`;
      } finally {
        controller = null;
      }
    }
    if (!disposed) timer = setTimeout(refresh, REFRESH_MS);
  }

  container.append(
    h('div', { class: 'home-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'create-heading' },
        h('h2', { id: 'create-heading', text: 'Start a room' }),
        h('p', { class: 'muted', text: 'Everyone in a room hears the same thing at the same time.' }),
        form),
      h('section', { class: 'card', 'aria-labelledby': 'rooms-heading' },
        h('div', { class: 'card-head' },
          h('h2', { id: 'rooms-heading', text: 'Live rooms' }),
          h('span', { class: 'live-dot', 'aria-hidden': 'true' })),
        listNote,
        list)));

  refresh();

  return () => {
    disposed = true;
    clearTimeout(timer);
    if (controller) controller.abort();
  };
}

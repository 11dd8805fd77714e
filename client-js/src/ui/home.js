// SPDX-License-Identifier: MIT
//
// Home: the form that creates a room and the live rooms (refreshed every few
// seconds while the tab is visible), each with its listener count, its age,
// what it plays when the server says so (`nowPlaying` on a room object —
// not in GET /api/rooms yet, drawn when present), and a button that copies
// its link. Creating a room stores its owner token in localStorage, keyed by
// room id, then opens the room page.

import { h, icon, labelledInput, replaceChildren, flash } from './dom.js';
import { listRooms, createRoom } from '../api.js';
import { setOwnerToken } from '../storage.js';
import { setStatus, clearStatus, describeError } from './status.js';
import { cover } from './cover.js';
import { copyText, roomLink } from './share.js';

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
  const submit = h('button', { type: 'submit', class: 'primary wide', dataset: { testid: 'create-submit' } },
    icon('plus'), 'Create room');

  const form = h('form', { class: 'stack', novalidate: true, onsubmit: onCreate },
    name.field, password.field, submit);

  async function onCreate(event) {
    event.preventDefault();
    const roomName = name.input.value.trim();
    if (!roomName) {
      setStatus('Give the room a name.', 'warn');
      name.input.setAttribute('aria-invalid', 'true');
      name.input.focus();
      return;
    }
    name.input.removeAttribute('aria-invalid');
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
  const listNote = h('p', { class: 'muted room-list-note', text: 'Loading rooms…' });
  const liveCount = h('span', { class: 'count', dataset: { testid: 'room-count' }, text: '0' });

  function renderRooms(rooms) {
    list.setAttribute('aria-busy', 'false');
    const sorted = [...rooms].sort((a, b) => (b.guests ?? 0) - (a.guests ?? 0)
      || String(a.name).localeCompare(String(b.name)));
    liveCount.textContent = String(sorted.length);
    listNote.hidden = sorted.length > 0;
    listNote.textContent = 'No live rooms yet. Create one and share the link.';
    replaceChildren(list, sorted.map(roomItem));
  }

  function roomItem(room) {
    const guests = Number(room.guests) || 0;
    const roomName = String(room.name ?? '');
    const href = `/room/${encodeURIComponent(room.id)}`;
    const np = room.nowPlaying && typeof room.nowPlaying === 'object' && room.nowPlaying.title ? room.nowPlaying : null;
    const age = timeAgo(room.createdAt);
    const share = h('button', {
      type: 'button', class: 'icon-button small room-share', dataset: { testid: 'room-share' },
      'aria-label': `Copy the link to ${roomName}`, title: 'Copy link',
      onclick: async () => {
        const link = roomLink(room.id);
        if (await copyText(link)) {
          flash(share);
          setStatus(`Link to “${roomName}” copied.`, 'ok', 2500);
        } else {
          setStatus(`Copy this link: ${link}`, 'info');
        }
      },
    }, icon('link'));
    return h('li', { class: 'room-item', dataset: { testid: 'room-item', roomId: room.id } },
      h('a', { class: 'room-link', href, 'data-link': true },
        cover(roomName, '', 'room-cover'),
        h('span', { class: 'room-text' },
          h('span', { class: 'room-name-row' },
            h('span', { class: 'room-name', text: roomName }),
            room.hasPassword && h('span', { class: 'lock', title: 'Password protected', dataset: { testid: 'room-lock' } },
              icon('lock', 'icon small'), h('span', { class: 'sr-only', text: 'password protected' }))),
          np
            ? h('span', { class: 'room-np', dataset: { testid: 'room-now-playing' } },
              h('span', { class: `eq small${np.playing === false ? ' still' : ''}`, 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
              h('span', { class: 'sr-only', text: 'Now playing: ' }),
              h('span', { text: [np.title, np.artist].filter(Boolean).map(String).join(' — ') }))
            : h('span', { class: 'room-np muted', text: age ? `Opened ${age}` : 'Live room' })),
        h('span', { class: 'guests', dataset: { testid: 'room-guests' } },
          icon('users', 'icon small'), h('span', { text: String(guests) }),
          h('span', { class: 'sr-only', text: guests === 1 ? ' listener' : ' listeners' }))),
      share);
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
    h('section', { class: 'hero' },
      h('h1', {}, 'Listen together, ', h('span', { class: 'accent-gradient', text: 'in sync' }), '.'),
      h('p', { class: 'hero-sub muted', text: 'Start a room, share the link, and everyone hears the same song at the same moment — with the queue, lyrics and chat beside it.' })),
    h('div', { class: 'home-grid' },
      h('section', { class: 'card create-card', 'aria-labelledby': 'create-heading' },
        h('h2', { id: 'create-heading', text: 'Start a room' }),
        h('p', { class: 'muted', text: 'You will be its owner: you can remove songs and close it.' }),
        form),
      h('section', { class: 'card rooms-card', 'aria-labelledby': 'rooms-heading' },
        h('div', { class: 'card-head' },
          h('h2', { id: 'rooms-heading' }, 'Live rooms'),
          h('span', { class: 'live-pill' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'live ', liveCount)),
        listNote,
        list)));

  refresh();

  return () => {
    disposed = true;
    clearTimeout(timer);
    if (controller) controller.abort();
  };
}

const RELATIVE = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;

/** 1763730000000 → "5 minutes ago" (or '' for a bad time). */
function timeAgo(ts) {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || !RELATIVE) return '';
  const seconds = Math.round((ts - Date.now()) / 1000);
  if (seconds > -60) return 'just now';
  const steps = [[60, 'minute'], [24, 'hour'], [7, 'day'], [4.35, 'week'], [12, 'month'], [Infinity, 'year']];
  let value = seconds / 60;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return RELATIVE.format(Math.round(value), unit);
    value /= size;
  }
  return '';
}

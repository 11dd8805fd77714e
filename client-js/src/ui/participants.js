// SPDX-License-Identifier: MIT
//
// The participants panel: who is in the room, the owner marked, "you" marked.
// Rebuilt whole on every initialState / viewersUpdated (rooms are small).

import { h, icon, replaceChildren } from './dom.js';
import { avatar } from './cover.js';

export function createParticipants() {
  const count = h('span', { class: 'count', text: '0' });
  const list = h('ul', { class: 'participants', dataset: { testid: 'participants' }, 'aria-label': 'Participants' });
  const node = h('aside', { class: 'card panel', 'aria-labelledby': 'participants-heading' },
    h('h2', { id: 'participants-heading', class: 'panel-title' }, icon('users'), 'In the room ', count),
    list);

  function update(participants, youId) {
    const people = Array.isArray(participants) ? [...participants] : [];
    // Owner first, then you, then everyone else in join order.
    people.sort((a, b) => (b.isOwner === true) - (a.isOwner === true)
      || (b.id === youId) - (a.id === youId));
    count.textContent = String(people.length);
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

  return { node, update };
}

// SPDX-License-Identifier: MIT
//
// The "nothing here" view, used for unknown paths and rooms that are gone.

import { h } from './dom.js';

export function mountNotFound(container, heading = 'Room not found',
  detail = 'It may have been closed, or the link is wrong.') {
  container.append(
    h('section', { class: 'card narrow center', dataset: { testid: 'not-found' } },
      h('h1', { text: heading }),
      h('p', { class: 'muted', text: detail }),
      h('a', { class: 'button primary', href: '/', 'data-link': true, text: 'Back to all rooms' })));
  return null;
}

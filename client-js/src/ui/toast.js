// SPDX-License-Identifier: MIT
//
// Short-lived notes in a corner: the room's `notification` messages (who
// joined or left, who added what, skips, a song that could not be played),
// the errors of this guest's own commands, and confirmations. Text only; at
// most a few at once, each gone after a few seconds (errors stay longer), or
// at a click. The region is polite live: screen readers read them.

import { h, icon } from './dom.js';

const SHOW_MS = 5000;
const ERROR_SHOW_MS = 8000;
const MAX_TOASTS = 4;
const KIND_ICON = {
  join: 'users', leave: 'exit', add: 'plus', skip: 'next', pause: 'pause', error: 'close', ok: 'check', info: 'music',
};

export function createToasts() {
  const node = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite', dataset: { testid: 'toasts' } });
  const timers = new Set();

  function remove(toast, timer) {
    timers.delete(timer);
    toast.remove();
  }

  return {
    node,
    /** kind: a notification kind (join, leave, add, skip, pause, error) or 'info' / 'ok'. */
    show(text, kind = 'info') {
      if (!text) return;
      const k = String(kind);
      const toast = h('div', { class: 'toast', dataset: { testid: 'notification', kind: k } },
        icon(KIND_ICON[k] || 'music', 'icon toast-icon'),
        h('span', { class: 'toast-text', text: String(text) }));
      node.append(toast);
      while (node.childElementCount > MAX_TOASTS) node.firstElementChild.remove();
      const timer = setTimeout(() => remove(toast, timer), k === 'error' ? ERROR_SHOW_MS : SHOW_MS);
      timers.add(timer);
      toast.addEventListener('click', () => { clearTimeout(timer); remove(toast, timer); });
    },
    dispose() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      node.remove();
    },
  };
}

// SPDX-License-Identifier: MIT
//
// Short-lived notes in a corner (the room's `notification` messages: who
// joined, who added what, a song that could not be played). Text only; at
// most a few at once, each gone after a few seconds. The page-wide status
// line (status.js) stays for errors and connection state.

import { h } from './dom.js';

const SHOW_MS = 5000;
const ERROR_SHOW_MS = 8000;
const MAX_TOASTS = 4;

export function createToasts() {
  const node = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite', dataset: { testid: 'toasts' } });
  const timers = new Set();

  function remove(toast, timer) {
    timers.delete(timer);
    toast.remove();
  }

  return {
    node,
    /** kind: the notification kind (join, leave, add, skip, pause, error) or 'info'. */
    show(text, kind = 'info') {
      if (!text) return;
      const toast = h('div', { class: 'toast', dataset: { testid: 'notification', kind: String(kind) }, text: String(text) });
      node.append(toast);
      while (node.childElementCount > MAX_TOASTS) node.firstElementChild.remove();
      const timer = setTimeout(() => remove(toast, timer), kind === 'error' ? ERROR_SHOW_MS : SHOW_MS);
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

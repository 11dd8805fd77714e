// SPDX-License-Identifier: MIT
//
// The offline indicator: a pill fixed at the top of the window while the
// room's socket is down, saying when the next attempt is (the signalling
// socket reconnects by itself with exponential backoff and jitter) with a
// "Retry now" button; the browser's own offline event shows it at once.
// It goes away when the room view has rejoined (setOnline). While it shows,
// <body> has the class `offline`, which greys out the room's controls.

import { h, icon } from './dom.js';

export function createConnectionIndicator({ onRetry }) {
  let timer = 0;
  let retryAt = 0;
  let reason = '';

  const text = h('span', { class: 'conn-text', dataset: { testid: 'offline-text' } });
  const retry = h('button', {
    type: 'button', class: 'small-button conn-retry', dataset: { testid: 'offline-retry' }, text: 'Retry now',
    onclick: () => onRetry(),
  });
  const node = h('div', {
    class: 'conn', role: 'status', 'aria-live': 'assertive', hidden: true, dataset: { testid: 'offline-indicator' },
  }, icon('wifiOff'), text, retry);

  function draw() {
    const left = Math.ceil((retryAt - Date.now()) / 1000);
    text.textContent = navigator.onLine === false ? 'You are offline. Waiting for the network…'
      : left > 0 ? `Offline · reconnecting in ${left} s` : 'Offline · reconnecting…';
    node.title = reason;
  }

  function tick() {
    draw();
    clearTimeout(timer);
    if (!node.hidden && retryAt > Date.now()) timer = setTimeout(tick, 250);
  }

  return {
    node,
    /** Shows the indicator; retryIn (ms) is the wait before the next attempt, if known. */
    setOffline({ why = 'Connection lost.', retryIn = 0 } = {}) {
      reason = why;
      retryAt = retryIn > 0 ? Date.now() + retryIn : 0;
      node.hidden = false;
      document.body.classList.add('offline');
      tick();
    },
    get offline() { return !node.hidden; },
    setOnline() {
      clearTimeout(timer);
      node.hidden = true;
      document.body.classList.remove('offline');
    },
    dispose() {
      clearTimeout(timer);
      document.body.classList.remove('offline');
      node.remove();
    },
  };
}

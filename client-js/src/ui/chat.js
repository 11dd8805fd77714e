// SPDX-License-Identifier: MIT
//
// The chat panel: the log (history from initialState, live `chat` messages
// appended, auto-scrolled while the reader is at the bottom) and the input.
// Messages are text only: names and text go in through textContent. The
// log is an ARIA live region (role=log): screen readers read new messages.
// The owner's messages carry a crown badge; Enter sends (it is a form).

import { h, icon } from './dom.js';
import { avatar } from './cover.js';

const STICK_PX = 48; // within this distance of the bottom, follow new messages

export function createChat({ onSend }) {
  const log = h('ol', {
    class: 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Chat messages',
    dataset: { testid: 'chat-log' }, tabindex: 0,
  });
  const empty = h('p', { class: 'muted chat-empty', text: 'No messages yet. Say hello!' });
  const input = h('input', {
    id: 'chat-input', type: 'text', autocomplete: 'off', maxlength: 500,
    placeholder: 'Write a message…', dataset: { testid: 'chat-input' },
  });
  const send = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'chat-send' }, 'aria-label': 'Send message' },
    icon('send'), h('span', { class: 'label', text: 'Send' }));
  const form = h('form', { class: 'chat-form', onsubmit: submit },
    h('label', { for: 'chat-input', class: 'sr-only', text: 'Message' }), input, send);

  const node = h('section', { class: 'card panel chat', 'aria-labelledby': 'chat-heading' },
    h('h2', { id: 'chat-heading', class: 'panel-title' }, icon('chat'), 'Chat'),
    h('div', { class: 'chat-scroll' }, empty, log),
    form);

  let youId = null;

  async function submit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || send.disabled) return;
    input.value = '';
    input.focus();
    const ok = await onSend(text);
    if (!ok && input.value === '') input.value = text; // give the text back to retry
  }

  function isNearBottom() {
    const box = log.parentElement;
    return box.scrollHeight - box.scrollTop - box.clientHeight <= STICK_PX;
  }

  function scrollToBottom() {
    const box = log.parentElement;
    box.scrollTop = box.scrollHeight;
  }

  function line(msg) {
    const from = msg.from || {};
    const mine = youId !== null && from.id === youId;
    const time = formatTime(msg.ts);
    return h('li', {
      class: `chat-message${mine ? ' mine' : ''}${from.isOwner ? ' owner' : ''}`,
      dataset: { testid: 'chat-message' },
    },
    avatar(String(from.name ?? '')),
    h('div', { class: 'chat-body' },
      h('div', { class: 'chat-meta' },
        h('span', { class: 'chat-from', text: String(from.name ?? 'unknown') }),
        from.isOwner && h('span', { class: 'tag owner-tag', title: 'Room owner', dataset: { testid: 'chat-owner-badge' } },
          icon('crown', 'icon small'), h('span', { text: 'owner' })),
        time && h('time', { class: 'chat-time', datetime: new Date(msg.ts).toISOString(), text: time })),
      h('p', { class: 'chat-text', text: String(msg.text ?? '') })));
  }

  return {
    node,
    input,
    /** Replaces the log with a history (initialState.chat). */
    reset(messages, you) {
      youId = you ?? null;
      log.replaceChildren(...(Array.isArray(messages) ? messages : []).map(line));
      empty.hidden = log.childElementCount > 0;
      scrollToBottom();
    },
    /** Appends one live message. */
    add(msg) {
      const stick = isNearBottom() || (msg.from && msg.from.id === youId);
      log.append(line(msg));
      empty.hidden = true;
      if (stick) scrollToBottom();
    },
    setEnabled(enabled) {
      input.disabled = !enabled;
      send.disabled = !enabled;
    },
  };
}

function formatTime(ts) {
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

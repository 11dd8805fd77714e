// SPDX-License-Identifier: MIT
//
// The "who are you" form shown before joining: display name (remembered in
// localStorage by the room view) and, for password rooms, the password.

import { h, labelledInput } from './dom.js';

export function createJoinForm({ roomName, needsPassword, defaultName, onSubmit }) {
  const name = labelledInput('join-name', 'Your name', {
    type: 'text', required: true, maxlength: 32, autocomplete: 'nickname',
    placeholder: 'How others will see you', value: defaultName || '',
    dataset: { testid: 'join-name' },
  });
  const password = labelledInput('join-password', 'Room password', {
    type: 'password', autocomplete: 'current-password', maxlength: 128,
    dataset: { testid: 'join-password' },
  });
  const submit = h('button', { type: 'submit', class: 'primary wide', dataset: { testid: 'join-submit' }, text: 'Join room' });
  const heading = h('h2', { text: 'Join ' }, h('span', { class: 'accent', text: roomName }));

  const form = h('form', { class: 'stack', novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    onSubmit({ name: name.input.value.trim(), password: password.input.value });
  } }, name.field, password.field, submit);

  const node = h('section', { class: 'card narrow join', 'aria-labelledby': 'join-heading' }, heading, form);
  heading.id = 'join-heading';

  function setNeedsPassword(needed) {
    password.field.hidden = !needed;
  }
  setNeedsPassword(needsPassword);

  return {
    node,
    setNeedsPassword,
    setBusy(busy) {
      submit.disabled = busy;
      submit.textContent = busy ? 'Joining…' : 'Join room';
    },
    /** Wrong password: clear it and put the cursor there. */
    retryPassword() {
      setNeedsPassword(true);
      password.input.value = '';
      password.input.setAttribute('aria-invalid', 'true');
      password.input.focus();
    },
    focusName() {
      name.input.setAttribute('aria-invalid', 'true');
      name.input.focus();
    },
    focusFirst() {
      if (!name.input.value) name.input.focus();
      else if (needsPassword) password.input.focus();
      else submit.focus();
    },
  };
}

// SPDX-License-Identifier: MIT
//
// The light/dark toggle in the site header. src/theme-boot.js has already
// put the theme on <html data-theme> (the stored choice, else the system's);
// a click flips it and stores the choice, which from then on wins over the
// system setting.

import { setTheme } from './storage.js';
import { icon } from './ui/dom.js';

const current = () => (document.documentElement.dataset.theme === 'light' ? 'light' : 'dark');

export function mountThemeToggle(button) {
  function draw() {
    const next = current() === 'light' ? 'dark' : 'light';
    button.replaceChildren(icon(next === 'light' ? 'sun' : 'moon'));
    button.setAttribute('aria-label', `Switch to the ${next} theme`);
    button.title = `Switch to the ${next} theme`;
    button.dataset.theme = current();
  }
  button.addEventListener('click', () => {
    const next = current() === 'light' ? 'dark' : 'light';
    setTheme(next);
    document.documentElement.dataset.theme = next;
    draw();
  });
  // The system setting may change the theme while nothing is stored.
  new MutationObserver(draw).observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  draw();
}

// SPDX-License-Identifier: MIT
//
// Cover art without images: a gradient whose two hues come from a hash of
// the song's title (and artist), with the title's initials on it. The same
// song always gets the same cover, in the player, the queue and the lists;
// people get a round avatar coloured the same way. Nothing is fetched;
// initials go in as text.

import { h } from './dom.js';

/** FNV-1a, 32 bits: a stable, well-spread number for a string. */
function hash(text) {
  let x = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

/** Up to two initials from the first words that start with a letter or digit: "Demo 220 Hz" → "D2". */
export function initials(title) {
  const words = String(title ?? '').match(/[\p{L}\p{N}][\p{L}\p{N}'’]*/gu) || [];
  const letters = words.slice(0, 2).map((w) => [...w][0].toUpperCase()).join('');
  return letters || '♪';
}

/** The CSS background of a cover for this text. */
export function coverGradient(seed) {
  const n = hash(String(seed ?? ''));
  const h1 = n % 360;
  const h2 = (h1 + 40 + ((n >>> 9) % 80)) % 360;
  const angle = 120 + ((n >>> 17) % 90);
  return `radial-gradient(circle at 30% 25%, rgba(255,255,255,0.28), transparent 55%), `
    + `linear-gradient(${angle}deg, hsl(${h1} 72% 52%), hsl(${h2} 68% 38%))`;
}

/** A cover element: <div class="cover {size}">initials</div>. */
export function createCover(className = '') {
  const letters = h('span', { class: 'cover-initials' });
  const node = h('div', { class: `cover ${className}`.trim(), 'aria-hidden': 'true' }, letters);
  return {
    node,
    /** Draws the cover of a song (or clears it with null). */
    set(title, artist = '') {
      if (title === null || title === undefined) {
        node.style.background = '';
        node.classList.add('empty');
        letters.textContent = '♪';
        return;
      }
      node.classList.remove('empty');
      node.style.background = coverGradient(`${title}\u0000${artist ?? ''}`);
      letters.textContent = initials(title);
    },
  };
}

/** A one-off cover for list rows. */
export function cover(title, artist = '', className = '') {
  const c = createCover(className);
  c.set(title, artist);
  return c.node;
}

/** A round badge with a person's first letter, coloured from the name. */
export function avatar(name, className = 'avatar') {
  const first = [...String(name ?? '').trim()][0];
  const node = h('span', { class: className, 'aria-hidden': 'true', text: first ? first.toUpperCase() : '?' });
  node.style.background = coverGradient(`person:${name}`);
  return node;
}

// SPDX-License-Identifier: MIT
//
// Copying a room's link: the async Clipboard API where the page may use it
// (a secure context: https or localhost), else the old select-and-copy on
// an off-screen textarea. copyText resolves whether the copy worked, so the
// caller can show the link for copying by hand when it did not.

import { h } from './dom.js';

export const roomLink = (roomId, origin = window.location.origin) => `${origin}/room/${encodeURIComponent(roomId)}`;

export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* denied or unavailable: fall back below */ }
  const area = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  area.remove();
  return ok;
}

// SPDX-License-Identifier: MIT
//
// The room's keyboard shortcuts: Space play/pause, ←/→ seek ∓5 s, ↑/↓
// volume, `/` to the search box. They stay off while the user types (any
// text field), leave keys to the control that has them (a focused button
// takes Space, a slider or tab list its arrows: those call preventDefault
// or are skipped here), and ignore modified keys (browser shortcuts).

const TEXT_INPUT_TYPES = new Set(['text', 'search', 'password', 'email', 'number', 'url', 'tel']);

function isTyping(el) {
  if (!el || !(el instanceof Element)) return false;
  if (el.isContentEditable) return true;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  // Every input is left alone: text fields, and the range/number ones use the arrows themselves.
  return el instanceof HTMLInputElement;
}

/** Elements where Space means "press me". */
function takesSpace(el) {
  return el instanceof Element && Boolean(el.closest('button, a[href], summary, [role="button"], [role="tab"]'));
}

/** A focused element that scrolls (chat log, lyrics) keeps its up and down arrows. */
function scrollsItself(el) {
  return el instanceof HTMLElement && el !== document.body && el.scrollHeight > el.clientHeight + 1;
}

export function attachShortcuts({ player, focusSearch, enabled = () => true }) {
  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || !enabled()) return;
    const target = event.target;
    if (isTyping(target)) return;
    switch (event.key) {
      case ' ':
        if (takesSpace(target) || event.repeat) return;
        player.togglePlay();
        break;
      case 'ArrowLeft':
        player.seekBy(-5);
        break;
      case 'ArrowRight':
        player.seekBy(5);
        break;
      case 'ArrowUp':
      case 'ArrowDown':
        if (scrollsItself(target)) return;
        player.nudgeVolume(event.key === 'ArrowUp' ? 1 : -1);
        break;
      case '/':
        focusSearch();
        break;
      default:
        return;
    }
    event.preventDefault();
  }
  document.addEventListener('keydown', onKey);
  return () => document.removeEventListener('keydown', onKey);
}

// SPDX-License-Identifier: MIT
//
// The page-wide status area (data-testid="status"): errors from the server,
// connection state, short confirmations. One line at a time; text only.

const el = () => document.getElementById('status');
let hideTimer = 0;

/**
 * Shows a message. kind: 'info' | 'ok' | 'warn' | 'error'.
 * timeoutMs > 0 hides it again after that long (for confirmations).
 */
export function setStatus(text, kind = 'info', timeoutMs = 0) {
  const node = el();
  if (!node) return;
  clearTimeout(hideTimer);
  node.textContent = text;
  node.dataset.kind = kind;
  node.hidden = false;
  if (timeoutMs > 0) hideTimer = setTimeout(clearStatus, timeoutMs);
}

export function clearStatus() {
  const node = el();
  if (!node) return;
  clearTimeout(hideTimer);
  node.textContent = '';
  delete node.dataset.kind;
  node.hidden = true;
}

/** A human message for an ApiError / SignallingError / anything thrown. */
export function describeError(err) {
  if (!err) return 'Something went wrong.';
  switch (err.name) {
    case 'wrong_password': return 'Wrong password. Please try again.';
    case 'room_full': return 'This room is full. Try again later.';
    case 'not_found': return 'Room not found.';
    case 'rate_limited': return 'Slow down a little: too many messages.';
    case 'too_large': return 'That is too long.';
    case 'too_many_rooms': return 'Too many rooms are open right now. Try again later.';
    case 'store_unavailable': return 'The server cannot reach its store right now. Try again shortly.';
    case 'network': return 'Cannot reach the server.';
    case 'not_owner': return 'Only the room owner can do that.';
    case 'queue_full': return 'The queue is full: wait for some songs to play first.';
    case 'nothing_playing': return 'Nothing is playing right now.';
    case 'not_in_room': return 'You are not in the room right now.';
    default: return err.message || 'Something went wrong.';
  }
}

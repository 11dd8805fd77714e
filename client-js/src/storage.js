// SPDX-License-Identifier: MIT
//
// What the client remembers between visits: the display name, the owner
// token of each room this browser created, and a stable user id.
// localStorage may be unavailable (private mode, disabled storage): every
// access is guarded.

const NAME_KEY = 'roomcast.displayName';
const ownerKey = (roomId) => `roomcast.ownerToken.${roomId}`;

function get(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

function set(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* storage unavailable: keep working without it */ }
}

export const getDisplayName = () => get(NAME_KEY) || '';
export const setDisplayName = (name) => set(NAME_KEY, name);
export const getOwnerToken = (roomId) => get(ownerKey(roomId));
export const setOwnerToken = (roomId, token) => set(ownerKey(roomId), token);
export const forgetOwnerToken = (roomId) => set(ownerKey(roomId), null);

// A stable id for this browser, sent as join's `userId` so the listening
// history follows the person across visits: 16 random bytes, base64url
// (22 characters of [A-Za-z0-9_-]). Without storage it lasts for the page.
const USER_ID_KEY = 'roomcast.userId';
const USER_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
let sessionUserId = null;

function newUserId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function getUserId() {
  const stored = get(USER_ID_KEY);
  if (stored && USER_ID_RE.test(stored)) return stored;
  if (!sessionUserId) sessionUserId = newUserId();
  set(USER_ID_KEY, sessionUserId);
  return sessionUserId;
}

// The output latency offset (ms) the user set for this browser's speakers.
const LATENCY_OFFSET_KEY = 'roomcast.latencyOffset';
export function getLatencyOffset() {
  const value = Number(get(LATENCY_OFFSET_KEY));
  return Number.isFinite(value) && Math.abs(value) <= 500 ? Math.round(value) : 0;
}
export const setLatencyOffset = (ms) => set(LATENCY_OFFSET_KEY, String(ms));

// The colour theme the user picked with the toggle (`light` or `dark`); none
// means "follow the system". src/theme-boot.js reads the same key before
// the first paint.
export const setTheme = (theme) => set('roomcast.theme', theme);

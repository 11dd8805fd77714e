// SPDX-License-Identifier: MIT
//
// What the client remembers between visits: the display name and the owner
// token of each room this browser created. localStorage may be unavailable
// (private mode, disabled storage): every access is guarded.

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

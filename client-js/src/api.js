// SPDX-License-Identifier: MIT
//
// REST calls to the roomcast server (same origin). Every failure is thrown as
// an ApiError carrying the server's numbered error (code, name, message) when
// the body has one, or a synthetic one for network and parse failures.

export class ApiError extends Error {
  constructor(status, code, name, message) {
    super(message || `HTTP ${status}`);
    this.status = status; // HTTP status, 0 when the server was not reached
    this.code = code;     // protocol error code (4200, …) or 0
    this.name = name || 'http_error'; // protocol error name (not_found, …)
  }
}

async function request(method, path, { body, token, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 0, 'network', 'Cannot reach the server.');
  }

  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }

  if (!response.ok) {
    if (data && data.type === 'error') {
      throw new ApiError(response.status, data.code, data.name, data.message);
    }
    throw new ApiError(response.status, 0, response.status === 404 ? 'not_found' : 'http_error',
      `${response.status} ${response.statusText}`.trim());
  }
  if (data === null) throw new ApiError(response.status, 0, 'bad_response', 'The server sent an unreadable reply.');
  return data;
}

const roomPath = (id) => `/api/rooms/${encodeURIComponent(id)}`;

/** → [{id, name, hasPassword, guests, createdAt}] */
export async function listRooms({ signal } = {}) {
  const data = await request('GET', '/api/rooms', { signal });
  return Array.isArray(data.rooms) ? data.rooms : [];
}

/** → {id, name, hasPassword, guests, createdAt}; ApiError 404 when gone. */
export const getRoom = (id, opts = {}) => request('GET', roomPath(id), opts);

/** → {id, name, hasPassword, ownerToken, url} */
export function createRoom(name, password) {
  const body = { name };
  if (password) body.password = password;
  return request('POST', '/api/rooms', { body });
}

/** → {id, deleted: true} */
export const deleteRoom = (id, ownerToken) => request('DELETE', roomPath(id), { token: ownerToken });

export const health = () => request('GET', '/health');

/** → [{id, title, artist, album, durationMs, hasLyrics}] matching q (1-200 characters). */
export async function searchSongs(q, { limit = 10, signal } = {}) {
  const params = new URLSearchParams({ q, limit: String(limit) });
  const data = await request('GET', `/api/search/songs?${params}`, { signal });
  return Array.isArray(data.songs) ? data.songs : [];
}

/** → {songs, total, offset, limit, scanning}: one page of the server's music library. */
export function listLibrary({ offset = 0, limit = 50, signal } = {}) {
  const params = new URLSearchParams({ offset: String(offset), limit: String(limit) });
  return request('GET', `/api/library?${params}`, { signal });
}

/**
 * → {songId, synced: true, lines: [{time, text}]} or {songId, synced: false, text};
 * null when the song has no lyrics (404).
 */
export async function getLyrics(songId, { signal } = {}) {
  try {
    return await request('GET', `/api/lyrics/${encodeURIComponent(songId)}`, { signal });
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

/** → [song]: this listener's saved playlist, newest first. */
export async function getPlaylist(userId, { signal } = {}) {
  const data = await request('GET', `/api/playlist?${new URLSearchParams({ userId })}`, { signal });
  return Array.isArray(data.songs) ? data.songs : [];
}

/** Saves a library song to the front of the playlist → the whole list, newest first. */
export async function saveToPlaylist(userId, songId) {
  const data = await request('POST', '/api/playlist', { body: { userId, songId } });
  return Array.isArray(data.songs) ? data.songs : [];
}

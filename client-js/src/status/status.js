// SPDX-License-Identifier: MIT
//
// The status page: what GET /api/status says now (the store, rooms,
// listeners, live hosts) and plots of its last hour of samples (listeners,
// sync error p95, CPU, memory), refreshed every 10 s as the server samples.

import { drawChart } from './chart.js';

const REFRESH_MS = 10000;
const HOUR_MS = 3600 * 1000;

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

function setFigure(testid, value, note, health) {
  const card = $(testid);
  card.querySelector('.value').textContent = value;
  card.querySelector('.note').textContent = note;
  if (health) card.dataset.health = health;
}

const MIB = 1024 * 1024;
const mb = (mib) => `${+mib.toFixed(mib < 10 ? 1 : 0)} MB`;
const ms = (seconds) => `${+(seconds * 1000).toFixed(seconds < 0.01 ? 1 : 0)} ms`;
const percent = (cores) => `${+(cores * 100).toFixed(cores < 0.1 ? 1 : 0)} %`;

function uptime(seconds) {
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

function showNow(s) {
  const store = s.store;
  const storeOk = store.connected;
  $('status-summary').dataset.health = s.status;
  $('status-summary').textContent = `${s.status === 'ok' ? 'All well' : 'Degraded: the store is unreachable'}`
    + ` · roomcast ${s.version} · up ${uptime(s.uptimeSeconds)}`;
  setFigure('figure-store', storeOk ? 'ok' : 'down',
    `${store.backend}, ${store.pendingWrites} pending, ${store.reconnects} reconnects`, storeOk ? 'ok' : 'degraded');
  setFigure('figure-rooms', String(s.rooms), `${s.guests} ${s.guests === 1 ? 'guest' : 'guests'} in them`);
  const listening = s.listeners.webrtc + s.listeners.ws;
  setFigure('figure-listeners', String(listening), `${s.listeners.webrtc} WebRTC, ${s.listeners.ws} WebSocket`);
  setFigure('figure-live', String(s.liveHosts), s.liveHosts ? 'on air' : 'nobody on air');
}

function plot(testid, samples, now, pick, format, minMax, latestText) {
  const figure = $(testid);
  const points = samples.map((p) => ({ t: p.time, v: pick(p) }));
  drawChart(figure.querySelector('svg'), points, { spanMs: HOUR_MS, now, format, minMax });
  let latest = figure.querySelector('.latest');
  if (!latest) {
    latest = document.createElement('span');
    latest.className = 'latest';
    figure.querySelector('figcaption').append(latest);
  }
  const last = points.filter((p) => p.v !== null).at(-1);
  latest.textContent = last ? latestText(last.v) : '';
  figure.querySelector('svg').setAttribute('aria-label',
    `${figure.querySelector('figcaption').firstChild.textContent} over the last hour${last ? `, now ${latestText(last.v)}` : ''}`);
}

function showHistory(s) {
  const samples = s.samples;
  const now = samples.length ? Math.max(Date.now(), samples.at(-1).time) : Date.now();
  plot('chart-listeners', samples, now, (p) => p.listeners, (v) => String(+v.toFixed(1)), 2, (v) => String(v));
  plot('chart-sync', samples, now, (p) => p.syncErrorP95, ms, 0.002, ms);
  plot('chart-cpu', samples, now, (p) => p.cpu, percent, 0.05, percent);
  plot('chart-memory', samples, now, (p) => p.residentBytes / MIB, mb, 16, mb);
}

async function refresh() {
  try {
    const response = await fetch('/api/status', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const s = await response.json();
    showNow(s);
    showHistory(s);
    document.body.dataset.loaded = 'true';
  } catch (err) {
    $('status-summary').dataset.health = 'degraded';
    $('status-summary').textContent = `The server does not answer (${err.message}); retrying.`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);

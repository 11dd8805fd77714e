// SPDX-License-Identifier: MIT
//
// The status page (/status) against a real server with one guest listening
// in a room: it shows the store ok, one room and one listener, draws its
// four plots of the last hour, and answers a request for /api/status with
// the same figures. Its screenshot goes to docs/screenshots/status.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  repoRoot, startDemoSetup, AUDIO_ARGS,
  tid, withPeople, createRoomViaForm, join, waitForListening, waitForPlaying, addBySearch, waitFor,
  mediaTransport,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 120000;
const OUT_DIR = path.join(repoRoot, 'docs', 'screenshots');

let setup;

before(async () => {
  setup = await startDemoSetup({ browserArgs: AUDIO_ARGS });
  await mkdir(OUT_DIR, { recursive: true });
});

after(() => setup?.close());

const figure = (page, name) => page.locator(`${tid(name)} .value`).textContent();

test('/status shows the store ok and the one guest listening, with plots of the last hour', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { server, browser } = setup;
  await withPeople(browser, 2, async (listener, operator) => {
    await createRoomViaForm(listener.page, server.url, 'Status night');
    await join(listener.page, 'Lena');
    await addBySearch(listener.page, 'Concert', 'Demo 440 Hz');
    await waitForPlaying(listener.page, true);
    await waitForListening(listener.page);

    // The server samples every 10 s: wait for a sample that saw Lena listening.
    const heard = (s) => s.samples.some((p) => p.listeners === 1);
    const deadline = Date.now() + 25000;
    let status;
    while (!heard(status = await (await fetch(`${server.url}/api/status`)).json())) {
      assert.ok(Date.now() < deadline, 'a sample counts the listener within 25 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(status.listeners.webrtc + status.listeners.ws, 1);
    assert.equal(status.store.connected, true);
    assert.ok(status.samples.length >= 2 && status.samples.length <= 360);
    // Whichever way Lena hears it (her page's transport: WebRTC, or the
    // WebSocket it fell back to), /metrics counts the packets she is sent;
    // two seconds of them.
    const transport = await mediaTransport(listener.page);
    let metrics, sent;
    await waitFor(`${transport} packets in /metrics`, async () => {
      metrics = await (await fetch(`${server.url}/metrics`)).text();
      sent = metrics.match(new RegExp(`^roomcast_packets_sent_total\\{transport="${transport}"\\} (\\S+)$`, 'm'));
      return sent && Number(sent[1]) > 100;
    }, 10000).catch(() => {});
    assert.ok(sent && Number(sent[1]) > 100, `${transport} packets counted (${sent?.[1]})`);
    assert.match(metrics, /^roomcast_join_latency_seconds_count\{until="first_audio"\} 1$/m);

    await operator.page.setViewportSize({ width: 1280, height: 900 });
    await operator.page.goto(`${server.url}/status`);
    await operator.page.waitForFunction(() => document.body.dataset.loaded === 'true');

    assert.equal(await figure(operator.page, 'figure-store'), 'ok');
    assert.match(await operator.page.locator(`${tid('figure-store')} .note`).textContent(), /^memory, 0 pending/);
    assert.equal(await figure(operator.page, 'figure-rooms'), '1');
    assert.equal(await figure(operator.page, 'figure-listeners'), '1');
    assert.equal(await figure(operator.page, 'figure-live'), '0');
    assert.equal(await operator.page.getAttribute(tid('status-summary'), 'data-health'), 'ok');
    // Four plots, each drawn (grid and labels at least, a point once sampled).
    for (const chart of ['chart-listeners', 'chart-sync', 'chart-cpu', 'chart-memory']) {
      const marks = await operator.page.locator(`${tid(chart)} svg > *`).count();
      assert.ok(marks > 3, `${chart} is drawn (${marks} marks)`);
    }
    // Two samples or more make a line, and the listeners' plot reads 1 now.
    assert.ok(await operator.page.locator(`${tid('chart-memory')} svg path.line`).count() >= 1,
      'the memory plot draws a line');
    assert.equal(await operator.page.locator(`${tid('chart-listeners')} .latest`).textContent(), '1');

    await operator.page.screenshot({ path: path.join(OUT_DIR, 'status.png'), fullPage: true });
  });
});

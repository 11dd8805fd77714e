// SPDX-License-Identifier: MIT
//
// Browser end-to-end: the participants panel of a big room. A crowd of 204
// guests (plain WebSockets opened from a second page) joins Alice's room:
// past 200 her page is told counts only, shows the right total and "and N
// more", and "Show everyone" reads the list in pages; when the crowd
// shrinks under 150 the page gets the whole list back and then follows each
// leave.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, tid, withPeople as withPeopleIn, createRoomViaForm as createRoomIn, join,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 120000;
const CROWD = 204;

let server;
let browser;

before(async () => {
  server = await startServer(['--max-guests', '1000', '--rate-limit', '0']);
  browser = await launchBrowser();
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    if (server) await server.stop();
  }
});

const withPeople = (n, body) => withPeopleIn(browser, n, body);

async function shown(page) {
  return page.evaluate((sel) => ({
    count: document.querySelector('#participants-heading .count')?.textContent,
    names: [...document.querySelectorAll(`${sel} .participant-name`)].map((n) => n.textContent),
  }), tid('participants'));
}

async function waitForCount(page, n) {
  await page.waitForFunction((want) =>
    document.querySelector('#participants-heading .count')?.textContent === String(want), n);
}

test('a big room: counts past 200, the list in pages, changes again when it shrinks', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(2, async (alice, crowd) => {
    const roomUrl = await createRoomIn(alice.page, server.url, `Arena ${Date.now()}`);
    const roomId = new URL(roomUrl).pathname.split('/').pop();
    await join(alice.page, 'Alice');

    // The crowd: plain WebSockets from another page, each joining once.
    await crowd.page.goto(`${server.url}/`);
    await crowd.page.evaluate(async ({ url, room, n }) => {
      window.crowd = [];
      const joins = [];
      for (let i = 0; i < n; i++) {
        const ws = new WebSocket(url);
        window.crowd.push(ws);
        joins.push(new Promise((resolve, reject) => {
          ws.onopen = () => ws.send(JSON.stringify({ type: 'join', roomId: room, name: `Crowd ${i}` }));
          ws.onmessage = (event) => { if (JSON.parse(event.data).type === 'initialState') resolve(); };
          ws.onerror = () => reject(new Error(`guest ${i} failed`));
        }));
        if (i % 20 === 19) await Promise.all(joins); // in waves, as people arrive
      }
      await Promise.all(joins);
    }, { url: server.url.replace(/^http/, 'ws') + '/ws', room: roomId, n: CROWD });

    // 205 in the room: the count is right, the list is not all there.
    await waitForCount(alice.page, CROWD + 1);
    const partial = await shown(alice.page);
    assert.ok(partial.names.length < CROWD + 1, 'counts only past 200');
    assert.ok(partial.names.includes('Alice'));
    await alice.page.locator(tid('participants-more')).waitFor({ state: 'visible' });

    // "Show everyone" reads every page.
    await alice.page.click(tid('participants-all'));
    await alice.page.waitForFunction((sel) =>
      document.querySelectorAll(`${sel} .participant-name`).length === 205, tid('participants'));
    const all = await shown(alice.page);
    const expected = ['Alice', ...Array.from({ length: CROWD }, (_, i) => `Crowd ${i}`)];
    assert.deepEqual([...all.names].sort(), [...expected].sort());
    assert.equal(await alice.page.locator(tid('participants-more')).isVisible(), false);

    // 60 leave: 145 left, under 150, so the page has the whole list again.
    await crowd.page.evaluate(() => { for (let i = 0; i < 60; i++) window.crowd[i].close(); });
    await waitForCount(alice.page, CROWD + 1 - 60);
    await alice.page.waitForFunction((sel) =>
      document.querySelectorAll(`${sel} .participant-name`).length === 145, tid('participants'));
    const back = await shown(alice.page);
    assert.deepEqual([...back.names].sort(),
      ['Alice', ...Array.from({ length: CROWD - 60 }, (_, i) => `Crowd ${i + 60}`)].sort());

    // And then each leave as it happens.
    await crowd.page.evaluate(() => window.crowd[100].close());
    await waitForCount(alice.page, CROWD - 60);
    const after = await shown(alice.page);
    assert.equal(after.names.length, CROWD - 60);
    assert.ok(!after.names.includes('Crowd 100'));
  });
});

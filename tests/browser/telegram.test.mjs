// SPDX-License-Identifier: MIT
//
// Browser end-to-end: the room page opened as a Telegram Mini App. Telegram
// hands the page the user's signed initData in the URL fragment
// (#tgWebAppData=…); here it is signed in the test with Telegram's
// documented algorithm, for the server's bot token, so no Telegram script
// or server is needed. A real Chromium page opened with it joins at once
// under the Telegram user's name (not any name stored in the browser); one
// with a tampered field is refused and shows the join form.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { startServer, launchBrowser, tid, withPeople, waitForJoined } from './helpers.mjs';

const TEST_TIMEOUT_MS = 60000;
const BOT_TOKEN = '777000:browser-test-token';

let server;
let browser;

/** A TCP port nothing listens on: the bot's API, which it keeps retrying. */
async function closedPort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

before(async () => {
  const port = await closedPort();
  server = await startServer(['--telegram-token', BOT_TOKEN, '--telegram-api-url', `http://127.0.0.1:${port}`]);
  browser = await launchBrowser();
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    if (server) await server.stop();
  }
});

/** initData for these fields, signed as core.telegram.org/bots/webapps documents. */
function signedInitData(fields, token = BOT_TOKEN) {
  const check = Object.keys(fields).sort().map((k) => `${k}=${fields[k]}`).join('\n');
  const secret = createHmac('sha256', 'WebAppData').update(token).digest();
  const hash = createHmac('sha256', secret).update(check).digest('hex');
  return new URLSearchParams({ ...fields, hash }).toString();
}

async function createRoom(name) {
  const res = await fetch(`${server.url}/api/rooms`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

function miniAppUrl(roomId, initData) {
  const launch = new URLSearchParams({ tgWebAppData: initData, tgWebAppVersion: '7.0', tgWebAppPlatform: 'web' });
  return `${server.url}/room/${roomId}#${launch}`;
}

const user = { id: 5550123, first_name: 'Tanya', last_name: 'Gram', username: 'tanya_tg', language_code: 'en' };

test('a Mini App page with valid initData joins under the Telegram name', { timeout: TEST_TIMEOUT_MS }, async () => {
  const room = await createRoom(`Mini App ${Date.now()}`);
  const initData = signedInitData({
    query_id: 'AAHdF6IQAAAAAN0XohDhrOrc',
    user: JSON.stringify(user),
    auth_date: String(Math.floor(Date.now() / 1000)),
  });
  await withPeople(browser, 1, async ({ page }) => {
    // A name this browser used before is not what the room sees.
    await page.goto(`${server.url}/`);
    await page.evaluate(() => localStorage.setItem('roomcast.displayName', 'Stored Name'));
    await page.goto(miniAppUrl(room.id, initData));
    await waitForJoined(page, 'Tanya Gram');
    const names = await page.locator(`${tid('participants')} .participant-name`).allTextContents();
    assert.deepEqual(names, ['Tanya Gram']);
  });
});

test('a tampered initData is refused and the join form comes back', { timeout: TEST_TIMEOUT_MS }, async () => {
  const room = await createRoom(`Mini App refused ${Date.now()}`);
  const initData = signedInitData({ user: JSON.stringify(user), auth_date: String(Math.floor(Date.now() / 1000)) })
    .replace('Tanya', 'Mallory');
  await withPeople(browser, 1, async ({ page }) => {
    await page.goto(miniAppUrl(room.id, initData));
    await page.locator(tid('join-name')).waitFor({ state: 'visible' });
    await page.waitForFunction((sel) => /signed/.test(document.querySelector(sel)?.textContent ?? ''), tid('status'));
  });
});

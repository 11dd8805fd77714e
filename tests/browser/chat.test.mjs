// SPDX-License-Identifier: MIT
//
// Browser end-to-end: two real Chromium contexts (two people) against a real
// roomcast server. What a user would notice: both see each other, both see
// the same chat in the same order, markup in names and chat stays text, and
// a password room turns away a wrong password and lets the right one in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, tid, withPeople as withPeopleIn, createRoomViaForm as createRoomIn,
  submitJoin, join, waitForParticipants, sendChat, waitForChat,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 60000;

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    if (server) await server.stop();
  }
});

const id = tid;
const withPeople = (n, body) => withPeopleIn(browser, n, body);
const createRoomViaForm = (page, name, password) => createRoomIn(page, server.url, name, password);

async function participantNames(page) {
  return page.locator(`${id('participants')} .participant-name`).allTextContents();
}

test('two guests see each other and the same chat in the same order', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(2, async (alice, bob) => {
    const roomName = `Listening party ${Date.now()}`;
    const roomUrl = await createRoomViaForm(alice.page, roomName);

    // Bob finds the room in the live list and follows its link.
    await bob.page.goto(`${server.url}/`);
    const link = bob.page.locator(`${id('room-list')} a`, { hasText: roomName });
    await link.waitFor();
    await link.click();
    await bob.page.waitForURL(roomUrl);
    await bob.page.locator(id('join-name')).waitFor({ state: 'visible' });
    assert.equal(await bob.page.textContent(id('room-title')), roomName);

    await join(alice.page, 'Alice');
    await join(bob.page, 'Bob');
    await waitForParticipants(alice.page, ['Alice', 'Bob']);
    await waitForParticipants(bob.page, ['Alice', 'Bob']);
    assert.deepEqual((await participantNames(alice.page)).sort(), ['Alice', 'Bob']);
    assert.deepEqual((await participantNames(bob.page)).sort(), ['Alice', 'Bob']);

    // The creator is the owner, in both views.
    for (const { page } of [alice, bob]) {
      const owner = page.locator(`${id('participants')} [data-testid="participant"].owner .participant-name`);
      assert.deepEqual(await owner.allTextContents(), ['Alice']);
    }

    await sendChat(alice.page, 'hello from Alice');
    await waitForChat(alice.page, 1);
    await sendChat(bob.page, 'hi from Bob');

    const expected = [
      { from: 'Alice', text: 'hello from Alice' },
      { from: 'Bob', text: 'hi from Bob' },
    ];
    assert.deepEqual(await waitForChat(alice.page, 2), expected);
    assert.deepEqual(await waitForChat(bob.page, 2), expected);
    assert.equal(await alice.page.inputValue(id('chat-input')), '', 'input cleared after sending');
  });
});

test('markup in room names, guest names and chat is shown as text', { timeout: TEST_TIMEOUT_MS }, async () => {
  const payload = '<img src=x onerror=alert(1)>';
  const roomName = `<img src=x onerror=alert('room')> ${Date.now()}`;
  const guestName = '<b>Mallory</b>';

  await withPeople(2, async (alice, mallory) => {
    const roomUrl = await createRoomViaForm(alice.page, roomName);
    await join(alice.page, 'Alice');

    await mallory.page.goto(`${server.url}/`);
    const listed = mallory.page.locator(`${id('room-list')} a`, { hasText: roomName });
    await listed.waitFor();
    assert.equal(await mallory.page.locator(`${id('room-list')} img`).count(), 0, 'no img in the room list');

    await mallory.page.goto(roomUrl);
    await join(mallory.page, guestName);
    await waitForParticipants(alice.page, ['Alice', guestName]);

    await sendChat(mallory.page, payload);
    for (const { page } of [alice, mallory]) {
      assert.deepEqual(await waitForChat(page, 1), [{ from: guestName, text: payload }]);
      assert.equal(await page.textContent(id('room-title')), roomName);
      assert.equal(await page.locator(`${id('chat-log')} img`).count(), 0, 'no img element in the chat log');
      assert.equal(await page.locator(`${id('chat-log')} b`).count(), 0);
      assert.equal(await page.locator(`${id('participants')} b`).count(), 0);
      assert.equal(await page.locator('main img').count(), 0, 'no img anywhere in the page');
    }
    // Give a wrongly created <img src=x> time to fail and fire its handler.
    await alice.page.waitForTimeout(500);
    assert.deepEqual(alice.dialogs, [], 'no dialog in the first page');
    assert.deepEqual(mallory.dialogs, [], 'no dialog in the second page');
  });
});

test('a password room refuses a wrong password and admits the right one', { timeout: TEST_TIMEOUT_MS }, async () => {
  const roomName = `Private ${Date.now()}`;
  const password = 'correct horse';

  await withPeople(2, async (owner, guest) => {
    const roomUrl = await createRoomViaForm(owner.page, roomName, password);
    // The creator holds the owner token, which admits it without the password.
    await owner.page.locator(id('join-name')).waitFor({ state: 'visible' });
    assert.equal(await owner.page.locator(id('join-password')).isVisible(), false, 'owner not asked for the password');
    await join(owner.page, 'Olive');

    // The list marks the room as locked.
    await guest.page.goto(`${server.url}/`);
    const item = guest.page.locator(`${id('room-list')} li`, { hasText: roomName });
    await item.waitFor();
    assert.equal(await item.locator(id('room-lock')).count(), 1, 'lock mark on a password room');

    await guest.page.goto(roomUrl);
    await guest.page.locator(id('join-password')).waitFor({ state: 'visible' });
    await submitJoin(guest.page, 'Gus', 'not the password');
    const status = guest.page.locator(id('status'));
    await status.waitFor({ state: 'visible' });
    await guest.page.waitForFunction((sel) => /password/i.test(document.querySelector(sel)?.textContent ?? ''), id('status'));
    assert.equal(await guest.page.locator(id('participants')).isVisible(), false, 'not admitted');
    assert.equal(await guest.page.locator(id('join-password')).isVisible(), true, 'asked for the password again');

    await submitJoin(guest.page, 'Gus', password);
    await waitForParticipants(guest.page, ['Olive', 'Gus']);
    await waitForParticipants(owner.page, ['Olive', 'Gus']);
    assert.equal(await guest.page.locator(id('status')).isVisible(), false, 'error cleared once in');
  });
});

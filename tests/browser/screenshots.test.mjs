// SPDX-License-Identifier: MIT
//
// Screenshots of the client for the README, written to docs/screenshots/ on
// every run: home and a room, at desktop (1280×800) and phone (390×844)
// sizes, in the dark and the light theme (the system's prefers-color-scheme,
// emulated). The room is a real one: two guests, a queue, chat, the demo
// song with synced lyrics playing (looped, so the lyrics stay), seen by the
// guest who is not the owner. Along the way it checks what the pictures
// cannot: nothing is wider than a 360 px phone, the theme follows the
// system until the toggle picks one, and the pick outlives a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  repoRoot, startServer, launchBrowser, makeDemoMusic, waitForLibrary, AUDIO_ARGS,
  tid, withPeople, createRoomViaForm, join, waitForParticipants, waitForListening, addBySearch,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 120000;
const OUT_DIR = path.join(repoRoot, 'docs', 'screenshots');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const SCHEMES = ['dark', 'light'];

let music;
let server;
let browser;

before(async () => {
  music = await makeDemoMusic();
  server = await startServer([], { musicDir: music.dir });
  await waitForLibrary(server.url, 4);
  browser = await launchBrowser({ args: AUDIO_ARGS });
  await mkdir(OUT_DIR, { recursive: true });
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    try {
      if (server) await server.stop();
    } finally {
      if (music) await music.remove();
    }
  }
});

/** Adds the song and waits until it is in the queue. */
async function addToQueue(page, query, title) {
  await addBySearch(page, query, title);
  await page.locator(tid('queue-item-title'), { hasText: title }).waitFor();
}

async function createRoom(name, password) {
  const response = await fetch(`${server.url}/api/rooms`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }),
  });
  assert.equal(response.status, 201);
}

/** The page is no wider than its viewport (nothing sticks out sideways). */
async function assertFits(page, what) {
  const { scroll, view } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(scroll <= view, `${what}: ${scroll} px of content in a ${view} px window`);
}

async function shoot(page, name) {
  await page.mouse.move(0, 0); // no hover look
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await page.screenshot({ path: path.join(OUT_DIR, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

test('screenshots: home and room, desktop and phone, dark and light; fits 360 px; the theme toggle sticks', { timeout: TEST_TIMEOUT_MS }, async () => {
  await createRoom('Late night lo-fi', 'owls only');
  await createRoom('Morning coffee', '');

  await withPeople(browser, 3, async (ann, ben, visitor) => {
    const roomUrl = await createRoomViaForm(ann.page, server.url, 'Friday jazz');
    await join(ann.page, 'Ann');
    await addToQueue(ann.page, 'Low A', 'Demo 220 Hz');
    await addToQueue(ann.page, 'Concert', 'Demo 440 Hz');
    await ben.page.goto(roomUrl);
    await join(ben.page, 'Ben');
    await waitForParticipants(ann.page, ['Ann', 'Ben']);
    await addToQueue(ben.page, 'C sharp', 'Demo 550 Hz');
    await addToQueue(ben.page, '330', 'Demo 330 Hz');
    await ben.page.fill(tid('search-input'), '');
    // Loop this song: the one with lyrics keeps playing while the pictures are taken.
    await ann.page.click(tid('loop-toggle'));
    await ann.page.waitForFunction((sel) => document.querySelector(sel).dataset.mode === 'queue', tid('loop-toggle'));
    await ann.page.click(tid('loop-toggle'));
    await ben.page.waitForFunction((sel) => document.querySelector(sel).dataset.mode === 'track', tid('loop-toggle'));
    await ann.page.fill(tid('chat-input'), 'Welcome! The lyrics are on for this one.');
    await ann.page.press(tid('chat-input'), 'Enter');
    await ben.page.locator(tid('chat-message'), { hasText: 'Welcome' }).waitFor();
    await ben.page.fill(tid('chat-input'), 'Sounds great — perfectly in sync here.');
    await ben.page.press(tid('chat-input'), 'Enter');
    await ann.page.locator(tid('chat-message'), { hasText: 'Sounds great' }).waitFor();
    await ben.page.click(tid('save-song'));
    await ben.page.waitForFunction((sel) => document.querySelector(sel).getAttribute('aria-pressed') === 'true', tid('save-song'));
    await waitForListening(ben.page);
    await ben.page.locator(tid('sync-badge')).waitFor({ state: 'visible', timeout: 20000 });
    await ben.page.waitForFunction((sel) => document.querySelector(sel).dataset.state === 'synced'
      && Number(document.querySelector(sel).dataset.line) >= 0, tid('lyrics'));
    await ben.page.evaluate(() => document.activeElement && document.activeElement.blur());

    for (const scheme of SCHEMES) {
      await ben.page.emulateMedia({ colorScheme: scheme });
      // The theme follows the system (theme-boot.js listens to prefers-color-scheme).
      await ben.page.waitForFunction((want) => document.documentElement.dataset.theme === want, scheme);
      for (const [device, size] of Object.entries(SIZES)) {
        await ben.page.setViewportSize(size);
        await ben.page.evaluate(() => {
          window.scrollTo(0, 0);
          document.querySelectorAll('[data-testid="notification"]').forEach((toast) => toast.click());
        });
        await shoot(ben.page, `room-${device}-${scheme}`);
      }
    }
    await ben.page.setViewportSize({ width: 360, height: 740 });
    await assertFits(ben.page, 'room at 360 px');

    // Home, seen by someone who is in no room.
    await visitor.page.goto(`${server.url}/`);
    await visitor.page.waitForFunction((sel) => document.querySelectorAll(sel).length >= 3, tid('room-item'));
    await visitor.page.waitForFunction((sel) => /2/.test(document.querySelector(`${sel}[data-room-id] [data-testid="room-guests"]`)?.textContent ?? ''),
      tid('room-item'));
    for (const scheme of SCHEMES) {
      await visitor.page.emulateMedia({ colorScheme: scheme });
      await visitor.page.waitForFunction((want) => document.documentElement.dataset.theme === want, scheme);
      for (const [device, size] of Object.entries(SIZES)) {
        await visitor.page.setViewportSize(size);
        await shoot(visitor.page, `home-${device}-${scheme}`);
      }
    }
    await visitor.page.setViewportSize({ width: 360, height: 740 });
    await assertFits(visitor.page, 'home at 360 px');

    // The toggle overrides the system and is remembered.
    await visitor.page.emulateMedia({ colorScheme: 'light' });
    await visitor.page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
    await visitor.page.click(tid('theme-toggle'));
    assert.equal(await visitor.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await visitor.page.reload();
    await visitor.page.locator(tid('room-list')).waitFor();
    assert.equal(await visitor.page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the choice outlives a reload');
    assert.equal(await visitor.page.getAttribute(tid('theme-toggle'), 'aria-label'), 'Switch to the light theme');
  });
});

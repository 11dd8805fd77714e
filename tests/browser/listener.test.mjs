// SPDX-License-Identifier: MIT
//
// Browser end-to-end for what a listener does in a room, against a real
// roomcast server with the demo library (tools/make-demo-music: four tones,
// "Demo 220 Hz" with synced lyrics) plus one song whose title is a <script>
// tag. What a user would notice:
// - the room's Share button puts its link on the clipboard; a second guest
//   who opens that link hears the same song, and toasts tell who joined,
//   who added what and who skipped; the owner is marked in chat;
// - synced lyrics highlight the line of the room's position (the progress
//   bar's), advance with playback and jump with a seek; a song without
//   lyrics says so;
// - the keyboard shortcuts work, and stay off while typing;
// - when the server side drops the socket (a relay in between cuts it and
//   refuses new connections) the offline indicator shows, then goes when
//   the page is back in the room, in sync again;
// - markup in a song title and a guest name is text everywhere it shows,
//   the saved playlist included (a song saved with the heart, added back
//   from the Saved tab).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, makeDemoMusic, addTaggedTrack, waitForLibrary, startRelay, AUDIO_ARGS,
  tid, withPeople, createRoomViaForm, join, waitForParticipants, waitForListening,
  addBySearch, waitForNowPlaying, waitForPlaying,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 90000;
const SCRIPT_TITLE = '<script>window.__xss = 1</script> Tone';
const IMG_NAME = '<img src=x onerror=__xss=2>'; // under the 32 characters a name keeps

let music;
let server;
let browser;

before(async () => {
  music = await makeDemoMusic();
  await addTaggedTrack(music.dir, 'markup.ogg', { title: SCRIPT_TITLE, artist: '<b>Mallory</b>' });
  server = await startServer([], { musicDir: music.dir });
  await waitForLibrary(server.url, 5);
  browser = await launchBrowser({ args: AUDIO_ARGS });
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

// -- steps -----------------------------------------------------------------

async function setPlaying(page, playing) {
  if ((await page.getAttribute(tid('play-toggle'), 'data-playing')) !== String(playing)) await page.click(tid('play-toggle'));
  await waitForPlaying(page, playing);
}

const shownPosition = async (page) => Number(await page.getAttribute(tid('progress'), 'data-position'));

/** Waits until the bar shows `seconds` (± tolerance). */
async function waitForPosition(page, seconds, tolerance = 0.8) {
  await page.waitForFunction(([sel, want, tol]) => Math.abs(Number(document.querySelector(sel)?.dataset.position) - want) < tol,
    [tid('progress'), seconds, tolerance]);
}

/** Waits for a toast of this kind whose text has all of `words`. */
async function waitForToast(page, kind, words) {
  await page.waitForFunction(([sel, k, w]) => [...document.querySelectorAll(sel)]
    .some((t) => t.dataset.kind === k && w.every((word) => t.textContent.includes(word))), [tid('notification'), kind, words]);
}

/** The lyrics card: its state, the highlighted line (index, text) and the bar's position, read in one go. */
async function lyricsNow(page) {
  return page.evaluate(([lyricsSel, barSel]) => {
    const card = document.querySelector(lyricsSel);
    const current = card.querySelector('.lyrics-line.current');
    return {
      state: card.dataset.state,
      index: current ? Number(current.dataset.index) : -1,
      text: current ? current.textContent : null,
      lines: card.querySelectorAll('.lyrics-line').length,
      position: Number(document.querySelector(barSel).dataset.position),
      note: card.querySelector('[data-testid="lyrics-note"]').textContent,
    };
  }, [tid('lyrics'), tid('progress')]);
}

// -- tests -------------------------------------------------------------------

test('the shared link brings a second guest to the same song; toasts tell of the join, the add and the skip', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 2, async (alice, bob) => {
    await createRoomViaForm(alice.page, server.url, `Share ${Date.now()}`);
    await join(alice.page, 'Alice');
    await addBySearch(alice.page, 'Concert', 'Demo 440 Hz');
    await waitForPlaying(alice.page, true);

    // Share: the link goes to the clipboard, and a toast says so.
    await alice.page.click(tid('copy-link'));
    await waitForToast(alice.page, 'ok', ['copied']);
    const link = await alice.page.evaluate(() => navigator.clipboard.readText());
    assert.equal(link, alice.page.url(), 'the clipboard holds the room link');

    await bob.page.goto(link);
    await join(bob.page, 'Bob');
    await waitForToast(alice.page, 'join', ['Bob']);
    for (const { page } of [alice, bob]) {
      await waitForNowPlaying(page, 'Demo 440 Hz — Concert A');
      await waitForPlaying(page, true);
    }
    // The same place in the song on both (the bar interpolates the same timeline).
    const [a, b] = await Promise.all([shownPosition(alice.page), shownPosition(bob.page)]);
    assert.ok(Math.abs(a - b) < 1, `both at the same position (${a} and ${b})`);
    await waitForListening(bob.page);

    // Bob adds a song: it shows in both queues, and Alice is told.
    await addBySearch(bob.page, 'C sharp', 'Demo 550 Hz');
    await waitForToast(alice.page, 'add', ['Bob', 'Demo 550 Hz']);
    for (const { page } of [alice, bob]) {
      await page.locator(tid('queue-item'), { hasText: 'Demo 550 Hz' }).locator(tid('queue-item-added-by'), { hasText: 'Bob' }).waitFor();
    }

    // A skip: the server tells the room who skipped which song.
    await alice.page.click(tid('skip'));
    await waitForToast(bob.page, 'skip', ['Alice', 'skipped', 'Demo 440 Hz']);
    await waitForNowPlaying(bob.page, 'Demo 550 Hz');

    // Chat: Enter sends; the owner's messages carry the owner badge, Bob's do not.
    await alice.page.fill(tid('chat-input'), 'welcome, Bob');
    await alice.page.press(tid('chat-input'), 'Enter');
    await bob.page.fill(tid('chat-input'), 'thanks!');
    await bob.page.press(tid('chat-input'), 'Enter');
    await bob.page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, `${tid('chat-log')} ${tid('chat-message')}`);
    const lines = await bob.page.$$eval(`${tid('chat-log')} ${tid('chat-message')}`, (rows) => rows.map((row) => ({
      from: row.querySelector('.chat-from').textContent,
      owner: row.querySelector('[data-testid="chat-owner-badge"]') !== null,
    })));
    assert.deepEqual(lines, [{ from: 'Alice', owner: true }, { from: 'Bob', owner: false }]);
    assert.equal(await bob.page.getAttribute(tid('chat-log'), 'aria-live'), 'polite', 'chat is a live region');
  }, { permissions: ['clipboard-read', 'clipboard-write'] });
});

test('synced lyrics advance with the room and jump with a seek; a song without lyrics says so', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 1, async ({ page }) => {
    // "No lyrics" is not an error: no failed request, nothing in the console.
    const consoleErrors = [];
    const failedLyrics = [];
    page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
    page.on('response', (response) => {
      if (response.url().includes('/api/lyrics/') && response.status() >= 400) failedLyrics.push(`${response.status()} ${response.url()}`);
    });
    await createRoomViaForm(page, server.url, `Lyrics ${Date.now()}`);
    await join(page, 'Lea');
    await addBySearch(page, 'Low A', 'Demo 220 Hz');
    await waitForPlaying(page, true);
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'synced', tid('lyrics'));
    const first = await lyricsNow(page);
    assert.equal(first.lines, 5, 'the five lines of demo-220hz.lrc');

    // A line every 4 s: the highlighted one is the line of the bar's position, and it moves on by itself.
    const lineOf = (position) => Math.min(4, Math.floor(position / 4));
    assert.equal(first.index, lineOf(first.position), `line ${first.index} at ${first.position} s`);
    await page.waitForFunction(([sel, was]) => Number(document.querySelector(sel).dataset.line) > was,
      [tid('lyrics'), first.index], { timeout: 10000 });
    const later = await lyricsNow(page);
    assert.equal(later.index, lineOf(later.position), `line ${later.index} at ${later.position} s`);

    // Seek to 12.5 s (paused, so it stays there): "The pulse…" is the line.
    await setPlaying(page, false);
    await page.locator(tid('progress')).scrollIntoViewIfNeeded();
    const box = await page.locator(tid('progress')).boundingBox();
    await page.mouse.click(box.x + box.width * (12.5 / 20), box.y + box.height / 2);
    await waitForPosition(page, 12.5);
    await page.waitForFunction((sel) => document.querySelector(sel).dataset.line === '3', tid('lyrics'));
    assert.equal((await lyricsNow(page)).text, 'The pulse keeps time for all of us');
    // The current line is scrolled into the card's view.
    assert.ok(await page.evaluate((sel) => {
      const card = document.querySelector(sel);
      const box2 = card.querySelector('.lyrics-scroll').getBoundingClientRect();
      const line = card.querySelector('.lyrics-line.current').getBoundingClientRect();
      return line.top >= box2.top - 1 && line.bottom <= box2.bottom + 1;
    }, tid('lyrics')), 'the current line is in view');

    // A song without lyrics.
    await addBySearch(page, '330', 'Demo 330 Hz');
    await page.click(tid('skip'));
    await waitForNowPlaying(page, 'Demo 330 Hz');
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'none', tid('lyrics'));
    assert.match((await lyricsNow(page)).note, /no lyrics/i);
    assert.deepEqual(failedLyrics, [], 'no lyrics request failed');
    assert.deepEqual(consoleErrors, [], 'the console stays clean');
  });
});

test('keyboard: Space plays and pauses, arrows seek and set the volume, / goes to search; off while typing', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 1, async ({ page }) => {
    await createRoomViaForm(page, server.url, `Keys ${Date.now()}`);
    await join(page, 'Kim');
    await addBySearch(page, 'E', 'Demo 330 Hz');
    await waitForPlaying(page, true);
    // Out of the search box, onto the page itself.
    await page.fill(tid('search-input'), '');
    await page.evaluate(() => document.activeElement.blur());

    await page.keyboard.press('Space');
    await waitForPlaying(page, false);
    await page.keyboard.press('Space');
    await waitForPlaying(page, true);
    await page.keyboard.press('Space');
    await waitForPlaying(page, false);

    const at = await shownPosition(page);
    await page.keyboard.press('ArrowRight');
    await waitForPosition(page, at + 5);
    await page.keyboard.press('ArrowLeft');
    await waitForPosition(page, at);

    assert.equal(await page.inputValue(tid('volume')), '100');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.inputValue(tid('volume')), '80');
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.inputValue(tid('volume')), '90');

    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'search-input');
    assert.equal(await page.inputValue(tid('search-input')), '', 'the / is not typed');

    // Typing: a space and arrows in the search box and the chat stay text.
    await page.keyboard.type('a b');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.inputValue(tid('search-input')), 'a b');
    await page.click(tid('chat-input'));
    await page.keyboard.type('so good ');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.locator(`${tid('chat-log')} ${tid('chat-message')}`, { hasText: 'so good' }).waitFor();
    assert.equal(await page.getAttribute(tid('play-toggle'), 'data-playing'), 'false', 'typing did not play');
    assert.equal(await page.inputValue(tid('volume')), '90', 'typing did not change the volume');
    assert.ok(Math.abs(await shownPosition(page) - at) < 0.8, 'typing did not seek');
  });
});

test('when the server drops the socket the page shows it is offline, then is back in the room', { timeout: TEST_TIMEOUT_MS }, async () => {
  const relay = await startRelay(server.url);
  try {
    await withPeople(browser, 1, async ({ page }) => {
      await createRoomViaForm(page, relay.url, `Offline ${Date.now()}`);
      await join(page, 'Olga');
      await addBySearch(page, 'Concert', 'Demo 440 Hz');
      await waitForPlaying(page, true);
      await waitForListening(page);
      const indicator = page.locator(tid('offline-indicator'));
      assert.equal(await indicator.isVisible(), false, 'no indicator while connected');

      relay.cut();
      await indicator.waitFor({ state: 'visible' });
      // It says when the next attempt is, and attempts fail while the server cannot be reached.
      await page.waitForFunction((sel) => /reconnecting in \d+ s/.test(document.querySelector(sel).textContent), tid('offline-text'));
      assert.equal(await page.locator(tid('chat-input')).isDisabled(), true, 'chat is off while offline');

      relay.restore();
      await indicator.waitFor({ state: 'hidden', timeout: 30000 });
      await waitForToast(page, 'ok', ['Back online']);
      await waitForParticipants(page, ['Olga']);
      await waitForNowPlaying(page, 'Demo 440 Hz');
      assert.equal(await page.locator(tid('chat-input')).isDisabled(), false, 'chat is back');
      await waitForListening(page);
    });
  } finally {
    await relay.close();
  }
});

test('a <script> song title and an <img onerror> guest name are text everywhere, the saved playlist included', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 2, async (alice, mallory) => {
    const roomUrl = await createRoomViaForm(alice.page, server.url, `Markup ${Date.now()}`);
    await join(alice.page, 'Alice');
    await mallory.page.goto(roomUrl);
    await join(mallory.page, IMG_NAME);
    await waitForParticipants(alice.page, ['Alice', IMG_NAME]);
    await waitForToast(alice.page, 'join', [IMG_NAME]);

    await addBySearch(mallory.page, 'Tone', SCRIPT_TITLE);
    for (const { page } of [alice, mallory]) {
      await waitForNowPlaying(page, SCRIPT_TITLE);
      assert.equal(await page.textContent(tid('now-playing-title')), SCRIPT_TITLE);
      assert.equal(await page.textContent(tid('now-playing-artist')), '<b>Mallory</b>');
      await page.locator(tid('queue-item-title'), { hasText: SCRIPT_TITLE }).waitFor();
    }
    await waitForToast(alice.page, 'add', [IMG_NAME, SCRIPT_TITLE]);
    assert.equal(await alice.page.textContent(tid('now-playing-added-by')), `added by ${IMG_NAME}`);

    // Mallory saves it with the heart; it shows (as text) in the Saved tab and adds from there.
    await mallory.page.click(tid('save-song'));
    await mallory.page.waitForFunction((sel) => document.querySelector(sel).getAttribute('aria-pressed') === 'true', tid('save-song'));
    await mallory.page.click(tid('tab-saved'));
    const saved = mallory.page.locator(tid('saved-item'), { hasText: SCRIPT_TITLE });
    await saved.waitFor();
    assert.equal(await mallory.page.textContent(tid('saved-count')), '1');
    await saved.locator(tid('saved-item-add')).click();
    await alice.page.waitForFunction(([sel, title]) => [...document.querySelectorAll(sel)]
      .filter((row) => row.textContent.includes(title)).length === 2, [tid('queue-item'), SCRIPT_TITLE]);
    // The playlist is the server's, under this browser's stable userId.
    const userId = await mallory.page.evaluate(() => localStorage.getItem('roomcast.userId'));
    const playlist = await (await fetch(`${server.url}/api/playlist?userId=${encodeURIComponent(userId)}`)).json();
    assert.deepEqual(playlist.songs.map((song) => song.title), [SCRIPT_TITLE]);

    await alice.page.fill(tid('chat-input'), SCRIPT_TITLE);
    await alice.page.press(tid('chat-input'), 'Enter');
    await mallory.page.locator(tid('chat-message'), { hasText: SCRIPT_TITLE }).waitFor();

    await alice.page.waitForTimeout(300); // a wrongly made <img src=x> would fail and fire its handler by now
    for (const { page, dialogs } of [alice, mallory]) {
      assert.equal(await page.locator('body script').count(), 0, 'no script element in the page body');
      assert.equal(await page.locator('body img').count(), 0, 'no img element');
      assert.equal(await page.locator('main b').count(), 0, 'no b element');
      assert.equal(await page.evaluate(() => window.__xss), undefined, 'no markup ran');
      assert.deepEqual(dialogs, []);
    }
  });
});

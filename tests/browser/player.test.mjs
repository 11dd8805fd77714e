// SPDX-License-Identifier: MIT
//
// Browser end-to-end for the room's player against a real roomcast server
// with the demo library (tools/make-demo-music): two people in one room.
// What a user would notice: a song found by search and added plays for
// both, the progress bar moves, the audio really arrives over WebRTC
// (inbound-rtp packets keep coming, and the playout engine the encoded frames
// go to renders sound from them), the queue shows who
// added what, skip, pause, seek, loop and autoplay change what both see, the
// listening history follows a guest who comes back (join's userId), audio
// comes back after the server stops it or the socket drops, and a browser
// that refuses to autoplay gets a "Click to listen" button that works.
// Chromium autoplays (AUDIO_ARGS) except in that last test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, makeDemoMusic, waitForLibrary, AUDIO_ARGS,
  tid, withPeople, createRoomViaForm, join, waitForParticipants,
  assertHearsAudio, renderedEnergy, mediaTransport, addBySearch, waitForNowPlaying, waitForPlaying,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 120000;

let music;
let server;
let browser;

before(async () => {
  music = await makeDemoMusic();
  server = await startServer([], { musicDir: music.dir });
  await waitForLibrary(server.url, 4);
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

/** Seconds into the song the progress bar shows now. */
const shownPosition = async (page) => Number(await page.getAttribute(tid('progress'), 'data-position'));

/** The queue as shown: [{title, addedBy, current, played}], played ones included. */
async function shownQueue(page) {
  const toggle = page.locator(tid('queue-show-played'));
  if (await toggle.isVisible() && (await toggle.getAttribute('aria-expanded')) === 'false') await toggle.click();
  return page.$$eval(tid('queue-item'), (rows) => rows.map((row) => ({
    title: row.querySelector('[data-testid="queue-item-title"]')?.textContent ?? '',
    addedBy: row.querySelector('[data-testid="queue-item-added-by"]')?.textContent ?? '',
    current: row.classList.contains('current'),
    played: row.classList.contains('played'),
  })));
}

/** Waits for a queue row holding `text`, unfolding the played songs if needed. */
async function waitForQueueItem(page, text) {
  await page.waitForFunction(([itemSel, toggleSel, wanted]) => {
    if ([...document.querySelectorAll(itemSel)].some((row) => row.textContent.includes(wanted))) return true;
    const toggle = document.querySelector(toggleSel);
    if (toggle && !toggle.hidden && toggle.getAttribute('aria-expanded') === 'false') toggle.click();
    return false;
  }, [tid('queue-item'), tid('queue-show-played'), text]);
}

/**
 * Drags the queue row holding `title` by its handle onto the row holding
 * `onto`, in small pointer steps. The places are read in the page, where the
 * handle is really on top, and twice 300 ms apart: a redraw (a state update
 * just after an add or a pause) can move the rows between reading a box and
 * pressing the mouse, and the press would then take another row's handle.
 */
async function dragQueueItem(page, title, onto) {
  await page.locator(tid('queue')).scrollIntoViewIfNeeded();
  const places = () => page.evaluate(([t, o, itemSel, handleSel]) => {
    const rows = [...document.querySelectorAll(itemSel)];
    const row = rows.find((r) => r.textContent.includes(t));
    const dest = rows.find((r) => r.textContent.includes(o));
    const grip = row?.querySelector(handleSel);
    if (!grip || !dest) return null;
    const h = grip.getBoundingClientRect();
    const d = dest.getBoundingClientRect();
    const x = h.x + h.width / 2;
    const y = h.y + h.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (!hit || hit.closest(handleSel) !== grip) return null; // covered (a toast) or moved
    return { x, y, targetY: d.y + d.height * 0.3 };
  }, [title, onto, tid('queue-item'), tid('queue-drag-handle')]);
  let at = null;
  for (const deadline = Date.now() + 15000; Date.now() < deadline;) {
    const first = await places();
    await page.waitForTimeout(300);
    const second = await places();
    if (first && second && JSON.stringify(first) === JSON.stringify(second)) {
      at = second;
      break;
    }
  }
  assert.ok(at, `the handle of "${title}" stays in one place on top`);
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  await page.mouse.move(at.x, at.targetY, { steps: 8 });
  await page.mouse.up();
}

async function waitForAudio(page) {
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'listening',
    tid('audio-status'), { timeout: 30000 });
}

/** inbound-rtp audio stats of the page's live RTCPeerConnection (window.__roomcast.pc). */
async function inboundAudio(page) {
  return page.evaluate(async () => {
    const pc = window.__roomcast && window.__roomcast.pc;
    if (!pc) return null;
    let found = null;
    (await pc.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'audio') found = { packetsReceived: report.packetsReceived };
    });
    return found;
  });
}

/**
 * The room's audio comes over WebRTC: inbound-rtp packets keep arriving on
 * the page's RTCPeerConnection, and the engine (which takes the receiver's
 * encoded frames) hears them.
 */
async function assertHearsOverWebRTC(page, who) {
  assert.equal(await mediaTransport(page), 'webrtc', `${who}: the audio comes over WebRTC`);
  let first = null;
  for (let tries = 0; tries < 50 && !(first && first.packetsReceived > 0); tries++) {
    if (tries) await page.waitForTimeout(100);
    first = await inboundAudio(page);
  }
  assert.ok(first && first.packetsReceived > 0, `${who}: an inbound audio stream`);
  await assertHearsAudio(page, who, { transport: 'webrtc' });
  const later = await inboundAudio(page);
  assert.ok(later.packetsReceived > first.packetsReceived + 30,
    `${who}: RTP packets keep arriving (${first.packetsReceived} → ${later.packetsReceived})`);
}

// -- tests -------------------------------------------------------------------

test('a song added by one guest plays for both, over WebRTC, and skip changes it for both', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 2, async (alice, bob) => {
    const roomUrl = await createRoomViaForm(alice.page, server.url, `Player ${Date.now()}`);
    await join(alice.page, 'Alice');
    await bob.page.goto(roomUrl);
    await join(bob.page, 'Bob');
    await waitForParticipants(alice.page, ['Alice', 'Bob']);

    for (const { page } of [alice, bob]) {
      assert.equal(await page.textContent(tid('now-playing-title')), 'Nothing playing');
    }

    await addBySearch(alice.page, '440', 'Demo 440 Hz');
    await waitForNowPlaying(alice.page, 'Demo 440 Hz');
    // addSong starts a song when nothing plays; press play if it did not.
    if ((await alice.page.getAttribute(tid('play-toggle'), 'data-playing')) !== 'true') {
      await alice.page.click(tid('play-toggle'));
    }
    for (const { page } of [alice, bob]) {
      await waitForNowPlaying(page, 'Demo 440 Hz');
      await waitForPlaying(page, true);
      assert.equal(await page.textContent(tid('now-playing-artist')), 'roomcast demo');
      assert.equal(await page.textContent(tid('now-playing-album')), 'Demo');
    }
    assert.deepEqual(await shownQueue(bob.page),
      [{ title: 'Demo 440 Hz — Concert A', addedBy: 'added by Alice', current: true, played: false }]);

    // The progress bar follows the song between stateUpdates.
    const p0 = await shownPosition(bob.page);
    await bob.page.waitForTimeout(1500);
    const p1 = await shownPosition(bob.page);
    assert.ok(p1 - p0 > 0.8 && p1 - p0 < 3, `progress advances with time (${p0} → ${p1})`);

    // Both hear it: WebRTC delivers packets and the engine plays sound from them.
    await waitForAudio(alice.page);
    await waitForAudio(bob.page);
    await assertHearsOverWebRTC(alice.page, 'Alice');
    await assertHearsOverWebRTC(bob.page, 'Bob');

    // Bob queues another song; Alice sees it, attributed to Bob.
    await addBySearch(bob.page, 'C sharp', 'Demo 550 Hz');
    await alice.page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, tid('queue-item'));
    assert.deepEqual((await shownQueue(alice.page)).map((i) => [i.title, i.addedBy]), [
      ['Demo 440 Hz — Concert A', 'added by Alice'],
      ['Demo 550 Hz — C sharp', 'added by Bob'],
    ]);

    await alice.page.click(tid('skip'));
    for (const { page } of [alice, bob]) {
      await waitForNowPlaying(page, 'Demo 550 Hz');
      const queue = await shownQueue(page);
      assert.deepEqual(queue.map((i) => [i.played, i.current]), [[true, false], [false, true]]);
    }
    await assertHearsAudio(bob.page, 'Bob after skip');

    // Pause is silence: what the engine plays carries no more energy.
    await bob.page.click(tid('play-toggle'));
    await waitForPlaying(alice.page, false);
    await alice.page.waitForTimeout(700); // the playout delay and the fade
    const paused = await renderedEnergy(alice.page, 1000);
    assert.ok(paused < 0.5, `no sound while paused (energy ${paused.toFixed(3)} in 1 s)`);
  });
});

test('pause, seek, loop and autoplay are drawn from what the server says', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 2, async (alice, bob) => {
    const roomUrl = await createRoomViaForm(alice.page, server.url, `Controls ${Date.now()}`);
    await join(alice.page, 'Alice');
    await bob.page.goto(roomUrl);
    await join(bob.page, 'Bob');

    await addBySearch(alice.page, 'Low A', 'Demo 220 Hz');
    await waitForNowPlaying(bob.page, 'Demo 220 Hz');
    if ((await bob.page.getAttribute(tid('play-toggle'), 'data-playing')) !== 'true') {
      await bob.page.click(tid('play-toggle'));
    }
    await waitForPlaying(alice.page, true);

    // Pause from Bob: both stop, and the bar stops with them.
    await bob.page.click(tid('play-toggle'));
    for (const { page } of [alice, bob]) await waitForPlaying(page, false);
    const stopped = await shownPosition(alice.page);
    await alice.page.waitForTimeout(700);
    assert.equal(await shownPosition(alice.page), stopped, 'a paused bar stays still');

    // Seek by clicking three quarters along the bar (the song is 20 s).
    await alice.page.locator(tid('progress')).scrollIntoViewIfNeeded();
    const box = await alice.page.locator(tid('progress')).boundingBox();
    await alice.page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    for (const { page } of [alice, bob]) {
      await page.waitForFunction((sel) => Math.abs(Number(document.querySelector(sel).dataset.position) - 15) < 1,
        tid('progress'));
    }

    // Seek by dragging the knob back to a quarter: the bar follows the pointer,
    // the room moves only on release.
    await alice.page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
    await alice.page.mouse.down();
    await alice.page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2, { steps: 10 });
    assert.ok(Math.abs(await shownPosition(alice.page) - 5) < 1, 'the bar follows the drag');
    assert.ok(Math.abs(await shownPosition(bob.page) - 15) < 1, 'the room has not moved yet');
    await alice.page.mouse.up();
    for (const { page } of [alice, bob]) {
      await page.waitForFunction((sel) => Math.abs(Number(document.querySelector(sel).dataset.position) - 5) < 1,
        tid('progress'));
    }

    // Loop cycles off → queue → track, for everyone.
    assert.equal(await bob.page.getAttribute(tid('loop-toggle'), 'data-mode'), 'off');
    await alice.page.click(tid('loop-toggle'));
    await bob.page.waitForFunction((sel) => document.querySelector(sel).dataset.mode === 'queue', tid('loop-toggle'));
    await bob.page.click(tid('loop-toggle'));
    await alice.page.waitForFunction((sel) => document.querySelector(sel).dataset.mode === 'track', tid('loop-toggle'));

    const autoplayWas = await alice.page.getAttribute(tid('autoplay-toggle'), 'aria-pressed');
    await bob.page.click(tid('autoplay-toggle'));
    const flipped = autoplayWas === 'true' ? 'false' : 'true';
    await alice.page.waitForFunction(([sel, want]) => document.querySelector(sel).getAttribute('aria-pressed') === want,
      [tid('autoplay-toggle'), flipped]);
  });
});

test('only the owner removes songs; anyone drags the upcoming ones into a new order; history adds again', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 2, async (alice, bob) => {
    const roomUrl = await createRoomViaForm(alice.page, server.url, `Queue ${Date.now()}`);
    await join(alice.page, 'Alice');
    await bob.page.goto(roomUrl);
    await join(bob.page, 'Bob');

    await addBySearch(alice.page, 'Low A', 'Demo 220 Hz');
    await waitForNowPlaying(alice.page, 'Demo 220 Hz');
    // Paused, the 20 s song cannot end (and leave the queue) however slowly
    // a loaded machine runs the steps below; it is in the history already.
    if ((await alice.page.getAttribute(tid('play-toggle'), 'data-playing')) === 'true') {
      await alice.page.click(tid('play-toggle'));
    }
    await waitForPlaying(alice.page, false);
    await addBySearch(alice.page, 'E', 'Demo 330 Hz');
    await addBySearch(bob.page, 'Concert', 'Demo 440 Hz');
    const titles = async (page) => (await shownQueue(page)).map((i) => i.title.slice(0, 11));
    await bob.page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, tid('queue-item'));
    assert.deepEqual(await titles(bob.page), ['Demo 220 Hz', 'Demo 330 Hz', 'Demo 440 Hz']);

    // Bob drags the last song above the one before it (moveSong 2 → 1); both see the new order.
    await dragQueueItem(bob.page, 'Demo 440 Hz', 'Demo 330 Hz');
    for (const { page } of [alice, bob]) {
      await page.waitForFunction((sel) => document.querySelectorAll(sel)[1]?.textContent.includes('Demo 440 Hz'), tid('queue-item'));
      assert.deepEqual(await titles(page), ['Demo 220 Hz', 'Demo 440 Hz', 'Demo 330 Hz']);
    }
    // The handle also moves a song with the keyboard: 440 back down.
    await bob.page.locator(tid('queue-item'), { hasText: 'Demo 440 Hz' }).locator(tid('queue-drag-handle')).press('ArrowDown');
    await alice.page.waitForFunction((sel) => document.querySelectorAll(sel)[2]?.textContent.includes('Demo 440 Hz'), tid('queue-item'));
    assert.equal(await bob.page.locator(tid('queue-drag-handle')).count(), 2, 'only upcoming songs can be dragged');

    assert.equal(await bob.page.locator(tid('queue-remove')).count(), 0, 'a guest has no remove buttons');
    assert.equal(await alice.page.locator(tid('queue-remove')).count(), 3, 'the owner has one per song');
    await alice.page.locator(tid('queue-item'), { hasText: 'Demo 440 Hz' }).locator(tid('queue-remove')).click();
    await bob.page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, tid('queue-item'));
    assert.deepEqual(await titles(bob.page), ['Demo 220 Hz', 'Demo 330 Hz']);

    // Alice comes back (a new guest id, the same stored userId): her history followed her.
    await alice.page.reload();
    await join(alice.page, 'Alice');
    await alice.page.click(tid('tab-history'));
    const recent = alice.page.locator(tid('history-item-title'), { hasText: 'Demo 220 Hz' });
    await recent.waitFor();
    // One click puts it in the queue again.
    await alice.page.locator(tid('history-item'), { hasText: 'Demo 220 Hz' }).locator(tid('history-item-add')).click();
    await bob.page.waitForFunction(([itemSel, toggleSel]) => {
      const toggle = document.querySelector(toggleSel);
      if (toggle && !toggle.hidden && toggle.getAttribute('aria-expanded') === 'false') toggle.click();
      return [...document.querySelectorAll(itemSel)].filter((row) => row.textContent.includes('Demo 220 Hz')).length === 2;
    }, [tid('queue-item'), tid('queue-show-played')]);
  });
});

test('a pasted link is added; markup in its title stays text; a dead link is reported', { timeout: TEST_TIMEOUT_MS }, async () => {
  const markup = '<img src=x onerror=alert(1)>';
  // Port 9 (discard) refuses: the song cannot be played and is skipped.
  const url = `http://127.0.0.1:9/${encodeURIComponent(markup)}.ogg`;
  await withPeople(browser, 2, async (alice, bob) => {
    const roomUrl = await createRoomViaForm(alice.page, server.url, `Links ${Date.now()}`);
    await join(alice.page, 'Alice');
    await bob.page.goto(roomUrl);
    await join(bob.page, 'Bob');

    await alice.page.fill(tid('search-input'), url);
    await alice.page.click(tid('search-add-url'));
    for (const { page } of [alice, bob]) {
      await waitForQueueItem(page, markup);
      const error = page.locator(`${tid('notification')}[data-kind="error"]`);
      await error.first().waitFor({ state: 'attached' });
      assert.equal(await page.locator('main img, .toasts img').count(), 0, 'no img element anywhere');
    }
    assert.equal(await alice.page.inputValue(tid('search-input')), '', 'the box is cleared once the link is in');
    await alice.page.waitForTimeout(300);
    assert.deepEqual(alice.dialogs, []);
    assert.deepEqual(bob.dialogs, []);
  });
});

test('audio comes back after the server stops it and after the socket drops', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPeople(browser, 1, async (alice) => {
    const { page } = alice;
    await createRoomViaForm(page, server.url, `Reconnect ${Date.now()}`);
    await join(page, 'Alice');
    await addBySearch(page, 'Concert', 'Demo 440 Hz');
    await waitForPlaying(page, true);
    await waitForAudio(page);

    /** Makes the page drop its session some way, then waits for a new, working one. */
    async function dropAndRecover(how) {
      await page.evaluate(() => { window.__oldPc = window.__roomcast.pc; });
      await page.evaluate(how);
      await page.waitForFunction(() => window.__roomcast.pc !== window.__oldPc
        && window.__oldPc.connectionState === 'closed', null, { timeout: 30000 });
      await waitForAudio(page);
      await assertHearsOverWebRTC(page, 'Alice');
    }

    // The server ends the session (mediaStopped): the client asks again.
    await dropAndRecover(() => window.__roomcast.media.sig.send({ type: 'stopMedia' }));
    // The socket drops: the client rejoins, then asks for audio again.
    await dropAndRecover(() => window.__roomcast.media.sig.ws.close());
    await waitForNowPlaying(page, 'Demo 440 Hz');
  });
});

test('when the browser refuses to autoplay, "Click to listen" starts the audio', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Chromium's default policy (sound needs a gesture in the page first) and
  // a page that never had one: every Playwright evaluate counts as a user
  // gesture, so the page joins by itself from an init script (the name from
  // storage, a synthetic click), and the test only waits, without looking,
  // until the audio has had its chance to start.
  const strict = await launchBrowser({
    args: ['--autoplay-policy=document-user-activation-required', '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  try {
    await withPeople(strict, 1, async ({ page }) => {
      const response = await fetch(`${server.url}/api/rooms`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `Autoplay ${Date.now()}` }),
      });
      const room = await response.json();
      await page.addInitScript((sel) => {
        localStorage.setItem('roomcast.displayName', 'Quiet');
        const timer = setInterval(() => {
          const button = document.querySelector(sel);
          if (button && !button.disabled) {
            clearInterval(timer);
            button.click();
          }
        }, 50);
      }, tid('join-submit'));
      await page.goto(`${server.url}${room.url}`);
      await page.waitForTimeout(6000);

      assert.equal(await page.getAttribute(tid('audio-status'), 'data-state'), 'blocked');
      assert.equal(await page.evaluate(() => window.__roomcast.engine.snapshot().state), 'suspended',
        'the audio output is held by the browser');
      const listen = page.locator(tid('listen-button'));
      assert.equal(await listen.isVisible(), true, 'a visible "Click to listen" button');
      await listen.click();
      await waitForAudio(page);
      assert.equal(await listen.isVisible(), false, 'the button goes once the audio plays');
      assert.equal(await page.evaluate(() => window.__roomcast.engine.snapshot().state), 'running');
    });
  } finally {
    await strict.close();
  }
});

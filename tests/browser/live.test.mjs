// SPDX-License-Identifier: MIT
//
// Browser end-to-end for a live host as the room page shows it, against a
// real roomcast server whose queue plays a song and a host who goes live
// from the host page with Chromium's fake microphone (a tone). What people
// in the room notice:
// - the owner's "Live mix" panel (beside "Go live"): talk-over chosen in one
//   tab shows in the owner's other tab when it joins (initialState), and a
//   duck depth picked there (−18 dB) shows at once in the first
//   (mixPolicy); a guest has no such control;
// - while the host is on air both the owner and the guest see "Live · Host
//   is live" with the time on air; the owner also sees the broadcast's
//   health, with a bitrate above 0 kb/s, the guest only the short line;
// - under talk-over the guest's player still says the song plays;
// - the host stops: the indicator goes on both pages.
// And, in node, the figures' wording: the time on air, and the first sample
// of a broadcast (no bitrate measured yet) shown as "—", not 0.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, addTaggedTrack, waitForLibrary, tid, newPerson, join, STEP_TIMEOUT_MS,
  writeToneWav, launchWithMicrophone, waitForPlaying, withCleanup, logsOnFailure, roomWithSong, goLiveFromRoom,
} from './helpers.mjs';
import { formatDuration, healthFigures } from '../../client-js/src/ui/live.js';

const TEST_TIMEOUT_MS = 60000;
const SONG_TITLE = 'Under the host';

let dir;      // the fake microphone's WAV
let musicDir; // the server's library: the queue's song only

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-live-'));
  musicDir = path.join(dir, 'music');
  await mkdir(musicDir);
  await addTaggedTrack(musicDir, 'song.ogg', { title: SONG_TITLE, freq: 330, seconds: 120 });
  await writeToneWav(path.join(dir, 'mic.wav'), 660);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Waits until the page's live indicator says on air (or not). */
async function waitForLive(page, live) {
  await page.waitForFunction(([sel, wanted]) => document.querySelector(sel)?.dataset.live === String(wanted),
    [tid('live-indicator'), live]);
}

/** What the owner's panel shows: the mode checked and the duck depth, as people read them. */
async function shownPolicy(page) {
  return page.evaluate(([mode, duck]) => ({
    mode: document.querySelector(`${mode}:checked`)?.value ?? null,
    duck: document.querySelector(duck)?.selectedOptions[0]?.textContent ?? null,
    duckShown: document.querySelector(duck)?.checkVisibility() ?? false,
  }), ['[name="live-mix-mode"]', tid('live-mix-duck')]);
}

test('a live host in the room page: the owner\'s mix policy, Live for everyone, the owner\'s figures', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withCleanup(async (defer) => {
    const server = await startServer([], { musicDir });
    defer(() => server.stop());
    await waitForLibrary(server.url, 1);
    const browser = await launchWithMicrophone(path.join(dir, 'mic.wav'));
    defer(() => browser.close());
    const owner = await newPerson(browser);
    defer(() => owner.context.close());
    const guest = await newPerson(browser);
    defer(() => guest.context.close());

    await (async () => {
      const { page } = owner;
      const roomId = await roomWithSong(page, server.url, { query: 'Under', title: SONG_TITLE, roomName: 'Live mix' });
      const roomUrl = page.url();
      await waitForLive(page, false);
      assert.equal(await page.textContent(tid('live-announce')), '', 'nobody is live yet');

      // The owner: Live mix → talk-over (the room's duck depth, −12 dB, shows).
      assert.equal(await page.isVisible(tid('live-mix-panel')), false, 'the panel is closed until asked for');
      await page.click(tid('live-mix-toggle'));
      assert.equal(await page.getAttribute(tid('live-mix-toggle'), 'aria-expanded'), 'true');
      assert.deepEqual(await shownPolicy(page), { mode: 'takeover', duck: '−12 dB', duckShown: false }, 'takeover by default');
      await page.check(tid('live-mix-talkover'));
      assert.equal((await shownPolicy(page)).duckShown, true, 'talk-over shows its duck depth');
      // The server's mixPolicy reply is what the toggle draws.
      await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.mode === 'talkover', tid('live-mix-toggle'));

      // The owner's second tab joins: its panel shows the room's policy.
      const tab = await owner.context.newPage();
      const tabErrors = [];
      tab.on('pageerror', (err) => tabErrors.push(err.message));
      tab.setDefaultTimeout(STEP_TIMEOUT_MS);
      await tab.goto(roomUrl);
      await join(tab, 'Olive, tab 2');
      await tab.click(tid('live-mix-toggle'));
      assert.deepEqual(await shownPolicy(tab), { mode: 'talkover', duck: '−12 dB', duckShown: true },
        'the other tab shows talk-over from its initialState');
      // There the owner ducks the music to −18 dB; the first tab follows (mixPolicy).
      await tab.selectOption(tid('live-mix-duck'), '-18');
      await page.waitForFunction((sel) => document.querySelector(sel)?.value === '-18', tid('live-mix-duck'));
      assert.deepEqual(await shownPolicy(page), { mode: 'talkover', duck: '−18 dB', duckShown: true });
      assert.deepEqual(tabErrors, [], 'no uncaught errors in the owner\'s second tab');
      await tab.close();

      // A guest: the song plays, and there is no policy control.
      await guest.page.goto(roomUrl);
      await join(guest.page, 'Gus');
      await waitForPlaying(guest.page, true);
      assert.equal(await guest.page.isVisible(tid('live-mix-toggle')), false, 'a guest has no Live mix toggle');
      assert.equal(await guest.page.isVisible(tid('live-mix-panel')), false, 'nor its panel');
      await waitForLive(guest.page, false);

      // The host goes live from the owner's "Go live".
      const host = await goLiveFromRoom(page, roomId);
      const hostErrors = [];
      host.on('pageerror', (err) => hostErrors.push(err.message));
      for (const p of [page, guest.page]) {
        await waitForLive(p, true);
        assert.match(await p.textContent(tid('live-announce')), /^Live Host is live$/);
        assert.equal(await p.isVisible(tid('live-indicator')), true);
      }
      // The guest: the short line, its clock running.
      assert.equal(await guest.page.isVisible(tid('live-stats')), false, 'a guest sees no figures');
      await guest.page.waitForFunction((sel) => /^0:0[1-9]$/.test(document.querySelector(sel)?.textContent ?? ''), tid('live-duration'));
      // The owner: the broadcast's health, a bitrate from the second sample on (2 s).
      await page.waitForFunction((sel) => /^[1-9]\d* kb\/s$/.test(document.querySelector(sel)?.textContent ?? ''),
        tid('live-bitrate'), { timeout: 10000 });
      assert.equal(await page.isVisible(tid('live-stats')), true);
      assert.match(await page.textContent(tid('live-loss')), /^\d+(\.\d)? % loss$/);
      assert.match(await page.textContent(tid('live-delay')), /^\d+ ms delay$/);
      assert.match(await page.textContent(tid('live-listeners')), /^[1-9]\d* listeners?$/);
      const bitrate = Number.parseInt(await page.textContent(tid('live-bitrate')), 10);
      assert.ok(bitrate > 0 && bitrate < 1000, `the bitrate received is a voice's (${bitrate} kb/s)`);
      // Talk-over: the queue did not stop for the guest, seconds into the broadcast.
      assert.equal(await guest.page.getAttribute(tid('play-toggle'), 'data-playing'), 'true', 'the song still plays under the host');

      // The host stops: Live goes on both pages.
      await host.click(tid('host-stop'));
      await host.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ended', tid('host-state'));
      for (const p of [page, guest.page]) {
        await waitForLive(p, false);
        assert.equal(await p.textContent(tid('live-announce')), '', 'no "Host is live" left');
        assert.equal(await p.isVisible(tid('live-stats')), false);
      }
      await waitForPlaying(guest.page, true);
      assert.deepEqual(hostErrors, [], 'no uncaught errors on the host page');
      for (const who of [owner, guest]) assert.deepEqual(who.pageErrors, [], 'no uncaught errors in the room page');
    })().catch(logsOnFailure(server));
  });
});

test('the owner\'s figures: time on air, kb/s, loss, delay, listeners', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(42010), '0:42');
  assert.equal(formatDuration(725000), '12:05');
  assert.equal(formatDuration(3723000), '1:02:03');
  const first = healthFigures({ live: true, durationMs: 3, bitrate: 0, packetLoss: 0, delayMs: 50, guests: 1 });
  assert.equal(first.bitrate, '— kb/s', 'no bitrate before the first period');
  assert.equal(first.listeners, '1 listener');
  const later = healthFigures({ live: true, durationMs: 42010, bitrate: 101000, packetLoss: 0.004, delayMs: 50.4, guests: 14 });
  assert.deepEqual([later.bitrate, later.loss, later.delay, later.listeners, later.lossLevel],
    ['101 kb/s', '0.4 % loss', '50 ms delay', '14 listeners', 'ok']);
  const stalled = healthFigures({ live: true, durationMs: 8000, bitrate: 0, packetLoss: 0.2, delayMs: 520, guests: 3 });
  assert.equal(stalled.bitrate, '0 kb/s', 'a host who sends nothing, seconds in, shows 0');
  assert.deepEqual([stalled.loss, stalled.lossLevel, stalled.delayLevel], ['20 % loss', 'bad', 'bad']);
});

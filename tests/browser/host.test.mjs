// SPDX-License-Identifier: MIT
//
// Browser end-to-end for going live from a browser over WHIP, against a
// real roomcast server whose queue plays a 330 Hz song. Chromium's fake
// microphone plays a tone from a WAV file this test writes
// (--use-file-for-fake-audio-capture), and a native guest
// (tools/native-guest, `roomcast-guest --record`) is the ear: the pitch it
// renders tells who the room hears. What a user would notice:
// - our host page (the owner's "Go live"): a wrong key is refused (401, said
//   on the page); a key made on the page goes live with the microphone, the
//   level meter moves, the native guest hears the 660 Hz tone instead of the
//   song, and a guest's room page gets the "Host is live" toast; Stop sends
//   the DELETE (200), the room page says "Host has left", its player plays
//   again and the native guest hears the song again;
// - a host whose key the owner revokes while live is told so within
//   seconds (the page's new offer gets 401), though WHIP has no way for the
//   server to say it;
// - a third-party WHIP client (the `whip-whep` npm package, unchanged, on a
//   page of another origin served by this test) with a wrong key fails with
//   401 while the room plays on; with a right key the native guest hears
//   its 550 Hz tone, and its stop (DELETE, 200) gives the room back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, addTaggedTrack, waitForLibrary, nativeGuestBin, repoRoot,
  tid, newPerson, createRoomViaForm, STEP_TIMEOUT_MS,
  writeToneWav, launchWithMicrophone, waitForPlaying, withCleanup, logsOnFailure, roomWithSong,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 90000;
const SONG_HZ = 330;
const MIC_HZ = 660;
const LIBRARY_HZ = 550;
const SONG_TITLE = 'Queue tone';
const RATE = 48000;
const HEAR_TIMEOUT_MS = 20000;

let dir;      // the fake microphones' WAVs and the native guests' recordings
let musicDir; // the server's library: the queue's song only

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-host-'));
  musicDir = path.join(dir, 'music');
  await mkdir(musicDir);
  await addTaggedTrack(musicDir, 'queue.ogg', { title: SONG_TITLE, freq: SONG_HZ, seconds: 120 });
  await writeToneWav(path.join(dir, `mic-${MIC_HZ}.wav`), MIC_HZ);
  await writeToneWav(path.join(dir, `mic-${LIBRARY_HZ}.wav`), LIBRARY_HZ);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// -- sound --------------------------------------------------------------------

/**
 * What a signal is: RMS (full scale 1), pitch by zero crossings, and how
 * much of its energy is at `hz`: the DFT at exactly that frequency over
 * 20 ms blocks, against the blocks' energy (1 for a pure tone of `hz`, near
 * 0 for another of the test's tones). Blocks are short so that a busy
 * machine's render gaps (silence, and the tone resuming at another phase)
 * cost only their own length; silent blocks are left out.
 */
function analyse(x, hz) {
  const block = RATE / 50;
  const w = (2 * Math.PI * hz) / RATE;
  let total = 0;
  let voiced = 0;
  let at = 0;
  let crossings = 0;
  for (let start = 0; start + block <= x.length; start += block) {
    let energy = 0;
    let re = 0;
    let im = 0;
    for (let i = 0; i < block; i++) {
      const v = x[start + i];
      energy += v * v;
      re += v * Math.cos(w * i);
      im -= v * Math.sin(w * i);
      if (start + i > 0 && (x[start + i - 1] < 0) !== (v < 0)) crossings++;
    }
    total += energy;
    if (energy < block * 1e-6) continue; // below -60 dBFS: a gap
    voiced += energy;
    at += (2 * (re * re + im * im)) / block;
  }
  return {
    rms: Math.sqrt(total / x.length),
    pitch: (crossings / 2) * (RATE / x.length),
    purity: voiced > 0 ? at / voiced : 0,
  };
}

/**
 * A native guest in the room, recording what it renders to a WAV (S16
 * stereo 48 kHz, written as it plays). hears(hz) looks at the last 300 ms.
 */
function startEar(serverUrl, roomId, wavPath) {
  const args = ['--server', serverUrl, '--room', roomId, '--name', 'Native ear', '--record', wavPath];
  const child = spawn(nativeGuestBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => { output = (output + chunk.toString()).slice(-16384); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });

  async function last(ms) {
    const want = Math.round((ms / 1000) * RATE);
    let fh;
    try {
      fh = await open(wavPath, 'r');
    } catch {
      return null;
    }
    try {
      const frames = Math.floor(((await fh.stat()).size - 44) / 4);
      if (frames < want) return null;
      const bytes = Buffer.alloc(want * 4);
      await fh.read(bytes, 0, bytes.length, 44 + (frames - want) * 4);
      const left = new Float32Array(want);
      for (let i = 0; i < want; i++) left[i] = bytes.readInt16LE(i * 4) / 32768;
      return left;
    } finally {
      await fh.close();
    }
  }

  return {
    output: () => output,
    /** Waits until the last 300 ms are a clear tone of `hz`; returns the figures. */
    async hears(hz, what, timeoutMs = HEAR_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      let seen = null;
      while (Date.now() < deadline) {
        if (exitInfo) break;
        const x = await last(300);
        if (x) {
          seen = analyse(x, hz);
          if (seen.rms > 0.02 && seen.purity > 0.6) return seen;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const figures = seen ? `rms ${seen.rms.toFixed(3)}, pitch ${seen.pitch.toFixed(1)} Hz, ${(seen.purity * 100).toFixed(0)} % at ${hz} Hz` : 'no audio recorded';
      assert.fail(`the native guest does not hear ${what} (${hz} Hz) within ${timeoutMs} ms: ${figures}` +
        `${exitInfo ? ` (it exited: ${JSON.stringify(exitInfo)})` : ''}\n--- roomcast-guest ---\n${output}`);
    },
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };
}

// -- the room -----------------------------------------------------------------

/** The owner makes a room, joins it and starts the 330 Hz song; returns the room id. */
const roomPlayingSong = (page, baseUrl) => roomWithSong(page, baseUrl, { query: 'Queue', title: SONG_TITLE });

async function waitForToast(page, kind, text) {
  await page.waitForFunction(([sel, k, t]) =>
    [...document.querySelectorAll(sel)].some((n) => n.dataset.kind === k && n.textContent.includes(t)),
  [tid('notification'), kind, text]);
}

// -- our host page ------------------------------------------------------------

test('the host page goes live with the microphone: the meter moves, guests hear it, Stop gives the room back', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withCleanup(async (defer) => {
    const server = await startServer([], { musicDir });
    defer(() => server.stop());
    await waitForLibrary(server.url, 1);
    const browser = await launchWithMicrophone(path.join(dir, `mic-${MIC_HZ}.wav`));
    defer(() => browser.close());
    const owner = await newPerson(browser);
    defer(() => owner.context.close());

    await (async () => {
      const roomId = await roomPlayingSong(owner.page, server.url);
      const ear = startEar(server.url, roomId, path.join(dir, 'ear-host-page.wav'));
      defer(() => ear.stop());
      await ear.hears(SONG_HZ, 'the queue\'s song');

      // The owner's "Go live" opens the host page in a new tab; the room stays open.
      const [host] = await Promise.all([owner.context.waitForEvent('page'), owner.page.click(tid('go-live'))]);
      const hostErrors = [];
      host.on('pageerror', (err) => hostErrors.push(err.message));
      host.setDefaultTimeout(STEP_TIMEOUT_MS);
      await host.waitForURL(new RegExp(`/room/${roomId}/host$`));
      await host.locator(tid('host-page')).waitFor();

      // A wrong key: refused, and the page says why.
      await host.fill(tid('host-key'), 'rk_thisIsNotAKeyOfThisRoom');
      await host.click(tid('host-go-live'));
      await host.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ended', tid('host-state'));
      assert.equal(await host.getAttribute(tid('host-state'), 'data-status'), '401', 'a wrong key gets 401');
      assert.match(await host.textContent(tid('host-state-text')), /key is wrong/);
      // Opening the microphone for that try started the meter: the tone is well above silence.
      await host.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('aria-valuenow')) > -20,
        tid('host-meter'));
      assert.match(await host.textContent(tid('host-source-label')), /^Microphone: /);

      // The owner makes a key here (shown once) and goes live with it.
      // (The wrong key typed above starts with rk_ too: wait for the shown key.)
      await host.click(tid('host-create-key'));
      await host.waitForFunction((sel) => document.querySelector(sel)?.textContent.startsWith('rk_'), tid('host-new-key'));
      assert.equal(await host.textContent(tid('host-new-key')), await host.inputValue(tid('host-key')));
      await host.click(tid('host-go-live'));
      await host.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'live', tid('host-state'), { timeout: 20000 });

      // The room hears the host instead of the queue, and says so.
      await waitForToast(owner.page, 'live', 'Host is live');
      await waitForPlaying(owner.page, false);
      const heard = await ear.hears(MIC_HZ, 'the host\'s microphone');
      assert.ok(heard.rms > 0.02, `the host is loud enough (${heard.rms.toFixed(3)})`);
      const level = Number(await host.getAttribute(tid('host-meter'), 'aria-valuenow'));
      assert.ok(level > -20, `the level meter shows the tone (${level} dB)`);
      await host.waitForFunction((sel) => /packets sent/.test(document.querySelector(sel)?.textContent ?? ''), tid('host-sent'));

      // Stop: DELETE on the session (200), and the queue plays again.
      const [deleted] = await Promise.all([
        host.waitForResponse((r) => r.request().method() === 'DELETE' && /\/whip\//.test(r.url())),
        host.click(tid('host-stop')),
      ]);
      assert.equal(deleted.status(), 200, 'the DELETE ends the session');
      await host.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ended', tid('host-state'));
      assert.equal(await host.getAttribute(tid('host-state'), 'data-status'), '200');
      await waitForToast(owner.page, 'live', 'Host has left');
      await waitForPlaying(owner.page, true);
      await ear.hears(SONG_HZ, 'the queue\'s song again');

      assert.deepEqual(hostErrors, [], 'no uncaught errors on the host page');
      assert.deepEqual(owner.pageErrors, [], 'no uncaught errors on the room page');
    })().catch(logsOnFailure(server));
  });
});

test('a host cut off by the owner (key revoked) is told why', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withCleanup(async (defer) => {
    const server = await startServer([]);
    defer(() => server.stop());
    const browser = await launchWithMicrophone(path.join(dir, `mic-${MIC_HZ}.wav`));
    defer(() => browser.close());
    const owner = await newPerson(browser);
    defer(() => owner.context.close());

    await (async () => {
      const { page } = owner;
      const url = await createRoomViaForm(page, server.url, 'Cut off');
      const roomId = decodeURIComponent(new URL(url).pathname.split('/')[2]);
      await page.goto(`${url}/host`);
      await page.click(tid('host-create-key'));
      await page.click(tid('host-go-live'));
      await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'live', tid('host-state'), { timeout: 20000 });

      const ownerToken = await page.evaluate((id) => localStorage.getItem(`roomcast.ownerToken.${id}`), roomId);
      const auth = { Authorization: `Bearer ${ownerToken}` };
      const { keys } = await (await fetch(`${server.url}/api/rooms/${roomId}/keys`, { headers: auth })).json();
      assert.equal(keys.length, 1);
      const revoked = await fetch(`${server.url}/api/rooms/${roomId}/keys/${keys[0].id}`, { method: 'DELETE', headers: auth });
      assert.equal(revoked.status, 200);

      await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ended', tid('host-state'), { timeout: 20000 });
      assert.equal(await page.getAttribute(tid('host-state'), 'data-status'), '401', 'the new offer is refused: 401');
      assert.match(await page.textContent(tid('host-state-text')), /lost.*revoked/);
      assert.deepEqual(owner.pageErrors, [], 'no uncaught errors on the host page');
    })().catch(logsOnFailure(server));
  });
});

// -- a third-party WHIP client --------------------------------------------------

// The publisher page: the library's own WHIPClient on a plain RTCPeerConnection,
// the fake microphone's track (voice filters off), nothing of roomcast's.
const PUBLISHER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>whip-whep publisher</title><link rel="icon" href="data:,"></head>
<body><p>whip-whep publisher</p>
<script type="module">
import { WHIPClient } from '/whip.js';
window.rejections = [];
window.addEventListener('unhandledrejection', (event) => {
  window.rejections.push(String(event.reason && event.reason.message || event.reason));
  event.preventDefault();
});
let current = null;
window.publish = async (url, token) => {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const pc = new RTCPeerConnection();
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
  const client = new WHIPClient();
  try {
    await client.publish(pc, url, token);
  } catch (err) {
    pc.close();
    stream.getTracks().forEach((t) => t.stop());
    return { ok: false, error: err.message };
  }
  current = { client, pc, stream };
  return { ok: true, resource: String(client.resourceURL) };
};
window.connected = () => current && current.pc.connectionState;
window.unpublish = async () => {
  await current.client.stop();
  current.stream.getTracks().forEach((t) => t.stop());
  current = null;
};
window.ready = true;
</script></body></html>
`;

/** Serves the publisher page and the library's whip.js from its npm package (another origin than the server). */
async function startPublisherSite() {
  const require = createRequire(path.join(repoRoot, 'client-js', 'package.json'));
  let whipJs;
  try {
    whipJs = await readFile(path.join(path.dirname(require.resolve('whip-whep/package.json')), 'whip.js'));
  } catch (err) {
    throw new Error(`whip-whep is not installed: run \`npm ci\` in client-js/ (${err.message})`);
  }
  const site = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PUBLISHER_PAGE);
    } else if (req.url === '/whip.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(whipJs);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    site.once('error', reject);
    site.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${site.address().port}`,
    close: () => new Promise((resolve) => { site.closeAllConnections(); site.close(resolve); }),
  };
}

test('a third-party WHIP client (whip-whep) in Chromium: a wrong key fails with 401, a right one is heard', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withCleanup(async (defer) => {
    const server = await startServer([], { musicDir });
    defer(() => server.stop());
    await waitForLibrary(server.url, 1);
    const site = await startPublisherSite();
    defer(() => site.close());
    const browser = await launchWithMicrophone(path.join(dir, `mic-${LIBRARY_HZ}.wav`));
    defer(() => browser.close());
    const owner = await newPerson(browser);
    defer(() => owner.context.close());
    const publisher = await newPerson(browser);
    defer(() => publisher.context.close());

    await (async () => {
      const roomId = await roomPlayingSong(owner.page, server.url);
      const ear = startEar(server.url, roomId, path.join(dir, 'ear-whip-whep.wav'));
      defer(() => ear.stop());
      await ear.hears(SONG_HZ, 'the queue\'s song');

      // A publish key, made with the owner token the owner's browser keeps.
      const ownerToken = await owner.page.evaluate((id) => localStorage.getItem(`roomcast.ownerToken.${id}`), roomId);
      const made = await fetch(`${server.url}/api/rooms/${roomId}/keys`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ownerToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ label: 'whip-whep' }),
      });
      assert.equal(made.status, 201);
      const { key } = await made.json();

      await publisher.page.goto(`${site.url}/`);
      await publisher.page.waitForFunction(() => window.ready === true);
      const endpoint = `${server.url}/whip/${roomId}`;

      // A wrong key: the library reports the refusal, and the room plays on.
      const refused = await publisher.page.evaluate(([url, token]) => window.publish(url, token), [endpoint, 'rk_wrong']);
      assert.equal(refused.ok, false);
      assert.match(refused.error, /401/, 'the library reports 401');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await ear.hears(SONG_HZ, 'the queue\'s song after the refused host');
      await waitForPlaying(owner.page, true);

      // The right key: published, and the room hears the library's tone.
      const published = await publisher.page.evaluate(([url, token]) => window.publish(url, token), [endpoint, key]);
      assert.equal(published.ok, true, `the library publishes (${published.error ?? ''})`);
      assert.match(published.resource, new RegExp(`/whip/${roomId}/[0-9A-Za-z]{22}$`), 'the session resource is the answer\'s Location');
      await waitForToast(owner.page, 'live', 'Host is live');
      await ear.hears(LIBRARY_HZ, 'the whip-whep host');

      // The library's stop: DELETE (200), and the queue is back.
      const [deleted] = await Promise.all([
        publisher.page.waitForResponse((r) => r.request().method() === 'DELETE'),
        publisher.page.evaluate(() => window.unpublish()),
      ]);
      assert.equal(deleted.status(), 200, 'the library\'s DELETE ends the session');
      await waitForToast(owner.page, 'live', 'Host has left');
      await ear.hears(SONG_HZ, 'the queue\'s song again');

      const rejections = await publisher.page.evaluate(() => window.rejections);
      if (rejections.length) console.log(`# whip-whep's own unhandled rejections: ${JSON.stringify(rejections)}`);
      assert.deepEqual(publisher.pageErrors, [], 'no uncaught errors on the publisher page');
      assert.deepEqual(owner.pageErrors, [], 'no uncaught errors on the room page');
    })().catch(logsOnFailure(server));
  });
});

// SPDX-License-Identifier: MIT
//
// Shared plumbing for the browser end-to-end tests: a real roomcast server on
// 127.0.0.1 with a free port (optionally with the demo music library), and
// Debian's Chromium driven by playwright-core (never a downloaded browser),
// plus the steps every test repeats: a person (browser context), creating
// and joining a room. playwright-core is a devDependency of
// client-js/, so it is loaded with a require anchored there: these tests live
// outside client-js/ and a bare ESM import would not resolve.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const STARTUP_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 5000;
const LOG_LIMIT = 64 * 1024;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// For pages that play the room's audio: no click needed to start it, and
// plain IP host candidates (not mDNS names, which the server cannot resolve).
// Headless Chromium renders audio to a fake output when there is no sound
// device, so inbound-rtp's totalAudioEnergy still counts what was played.
export const AUDIO_ARGS = [
  '--autoplay-policy=no-user-gesture-required',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

function loadPlaywright() {
  const require = createRequire(path.join(repoRoot, 'client-js', 'package.json'));
  try {
    return require('playwright-core');
  } catch (err) {
    throw new Error(`playwright-core is not installed: run \`npm ci\` in client-js/ (${err.message})`);
  }
}

/**
 * Starts the server binary ($ROOMCAST_BIN, default build/roomcast under the
 * repo root) on 127.0.0.1 with port 0 and waits for the URL it prints.
 * options.musicDir adds `--music-dir`. Returns { url, stop(), logs() }.
 */
export async function startServer(extraArgs = [], { musicDir } = {}) {
  const bin = process.env.ROOMCAST_BIN
    ? path.resolve(process.env.ROOMCAST_BIN)
    : path.join(repoRoot, 'build', 'roomcast');
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: build it (meson setup build && ninja -C build) or set ROOMCAST_BIN`);
  }

  const args = ['--host', '127.0.0.1', '--port', '0', ...(musicDir ? ['--music-dir', musicDir] : []), ...extraArgs];
  const child = spawn(bin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const record = (chunk) => {
    output += chunk.toString();
    if (output.length > LOG_LIMIT) output = output.slice(-LOG_LIMIT);
  };
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });

  // Keep draining both pipes for the server's whole life so it never blocks on a full pipe.
  child.stderr.on('data', record);

  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    let done = false;
    const onError = (err) => fail(`cannot start server: ${err.message}`);
    const onExit = (code, signal) => fail(`server exited early (code ${code}, signal ${signal})`);
    const settle = () => {
      done = true;
      clearTimeout(timer);
      child.removeListener('error', onError);
      child.removeListener('exit', onExit);
    };
    function fail(why) {
      if (done) return;
      settle();
      child.kill('SIGKILL');
      reject(new Error(`${why}\n--- ${bin} ${args.join(' ')} output ---\n${output}`));
    }
    const timer = setTimeout(() => fail(`server did not print its URL within ${STARTUP_TIMEOUT_MS} ms`),
      STARTUP_TIMEOUT_MS);
    child.once('error', onError);
    child.once('exit', onExit);
    child.stdout.on('data', (chunk) => {
      record(chunk);
      if (done) return;
      buffered += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:(\d+)/.exec(buffered);
      if (match && Number(match[1]) > 0) {
        settle();
        resolve(`http://127.0.0.1:${match[1]}`);
      }
    });
  });

  return {
    url,
    logs: () => output,
    /** Sends @signal (a crash: SIGKILL) and waits for the exit. */
    async kill(signal) {
      if (exitInfo) return exitInfo;
      child.kill(signal);
      return exited;
    },
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };
}

/**
 * The native guest (tools/native-guest, `roomcast-guest`) of the build the
 * server comes from: $ROOMCAST_GUEST, else tools/roomcast-guest beside
 * $ROOMCAST_BIN (default build/).
 */
export function nativeGuestBin() {
  if (process.env.ROOMCAST_GUEST) return path.resolve(process.env.ROOMCAST_GUEST);
  const server = process.env.ROOMCAST_BIN
    ? path.resolve(process.env.ROOMCAST_BIN)
    : path.join(repoRoot, 'build', 'roomcast');
  const bin = path.join(path.dirname(server), 'tools', 'roomcast-guest');
  if (!existsSync(bin)) throw new Error(`native guest not found at ${bin}: build it (ninja -C <build dir>) or set ROOMCAST_GUEST`);
  return bin;
}

/**
 * Writes the four demo tracks of tools/make-demo-music (220, 330, 440 and
 * 550 Hz, 20 s, tagged "Demo 440 Hz — Concert A" etc.) into a new temporary
 * folder. Returns { dir, remove() }.
 */
export async function makeDemoMusic() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-music-'));
  try {
    await promisify(execFile)(path.join(repoRoot, 'tools', 'make-demo-music'), [dir], { timeout: 60000 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`tools/make-demo-music failed: ${err.message}`);
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Writes one more tagged tone (Ogg Vorbis, `seconds` long) into a music
 * folder, e.g. a song whose title is markup. Tags go through taginject, so
 * a title may hold any characters but a double quote or a backslash.
 */
export async function addTaggedTrack(dir, file, { title, artist = 'roomcast test', album = 'Tests', freq = 660, seconds = 20 }) {
  const quote = (text) => String(text).replace(/["\\]/g, '');
  const tags = `tags="title=\\"${quote(title)}\\",artist=\\"${quote(artist)}\\",album=\\"${quote(album)}\\""`;
  await promisify(execFile)('gst-launch-1.0', ['-q',
    'audiotestsrc', 'wave=sine', `freq=${freq}`, 'volume=0.2', 'samplesperbuffer=4800', `num-buffers=${seconds * 10}`,
    '!', 'audio/x-raw,rate=48000,channels=2', '!', 'audioconvert', '!', 'taginject', tags,
    '!', 'vorbisenc', 'quality=0.2', '!', 'oggmux', '!', 'filesink', `location=${path.join(dir, file)}`], { timeout: 60000 });
}

/** A free TCP port on 127.0.0.1 (free when asked: for a server that cannot take port 0). */
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Debian's redis-server on a free port of 127.0.0.1, in a temporary folder,
 * for a cluster of roomcast nodes (`--cluster` uri). Returns { uri, stop() }.
 */
export async function startRedis() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rc-browser-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), STARTUP_TIMEOUT_MS);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.stdout.on('data', (chunk) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    uri: `redis://127.0.0.1:${port}/0`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Redis and `n` roomcast nodes sharing it (`--cluster`, plus `extraArgs`),
 * with the demo music scanned on each, once every node lists all `n`.
 * Returns { redis, music, nodes, room(name), stop() }: room() makes a room
 * through the first node (placed by the cluster) and returns the reply with
 * `origin`, the node serving it, and `others`, the rest.
 */
export async function startCluster(n, extraArgs = []) {
  const redis = await startRedis();
  const music = await makeDemoMusic();
  const nodes = [];
  const stop = async () => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    await redis.stop();
    await music.remove();
  };
  try {
    for (let i = 0; i < n; i++) {
      nodes.push(await startServer(['--cluster', redis.uri, ...extraArgs], { musicDir: music.dir }));
    }
    for (const node of nodes) await waitForLibrary(node.url, 4);
    await waitFor(`${n} nodes`, async () =>
      (await (await fetch(`${nodes[0].url}/api/nodes`)).json()).nodes.length === n);
  } catch (err) {
    await stop();
    throw err;
  }
  const room = async (name) => {
    const made = await (await fetch(`${nodes[0].url}/api/rooms`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name }),
    })).json();
    const origin = nodes.find((node) => node.url === made.nodeUrl);
    if (!origin) throw new Error(`the room's node ${made.nodeUrl} is not one of ours`);
    return { ...made, origin, others: nodes.filter((node) => node !== origin) };
  };
  return { redis, music, nodes, room, stop };
}

/** Records in the page every WebSocket it opens and the types (with a
 * roomClosed's reason) of the messages they bring. */
export function spyOnSockets() {
  window.__rcSockets = [];
  window.__rcTypes = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      window.__rcSockets.push(String(url));
      this.addEventListener('message', (event) => {
        if (typeof event.data !== 'string') return;
        try {
          const m = JSON.parse(event.data);
          window.__rcTypes.push(m.reason ? `${m.type}:${m.reason}` : m.type);
        } catch { /* not ours to judge */ }
      });
    }
  };
}

/** The WebSocket URLs a page spied on by spyOnSockets opened, in order. */
export const socketsOf = (page) => page.evaluate(() => window.__rcSockets);

/**
 * For a test file on a cluster: hooks that start the cluster (startCluster)
 * and Chromium (AUDIO_ARGS) before its tests and stop both after. Returns
 * { cluster, browser }, filled in by the hook.
 */
export function useCluster(n, extraArgs = []) {
  const ctx = { cluster: null, browser: null };
  before(async () => {
    ctx.cluster = await startCluster(n, extraArgs);
    ctx.browser = await launchBrowser({ args: AUDIO_ARGS });
  });
  after(async () => {
    try {
      if (ctx.browser) await ctx.browser.close();
    } finally {
      if (ctx.cluster) await ctx.cluster.stop();
    }
  });
  return ctx;
}

/** Polls `check` (async, truthy when done) every 100 ms; throws naming `what` after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A TCP relay in front of the server, for pages that must lose the server:
 * cut() drops every connection through it and refuses new ones (what a page
 * sees when the server side drops its socket and cannot be reached), restore()
 * lets connections through again. Returns { url, cut(), restore(), close() }.
 */
export async function startRelay(targetUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = [client, upstream];
    const drop = () => {
      for (const s of pair) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of pair) {
      sockets.add(s);
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      refusing = false;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Waits until the server's library scan is over and holds at least `count` songs. */
export async function waitForLibrary(baseUrl, count, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/api/library?limit=100`);
      last = await response.json();
      if (!last.scanning && last.total >= count) return last.songs;
    } catch (err) {
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`library not ready within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

/** Launches headless Chromium ($CHROMIUM, default /usr/bin/chromium); args are added to CHROMIUM_ARGS. */
export async function launchBrowser({ args = [] } = {}) {
  return launchChromium({ args: [...CHROMIUM_ARGS, ...args] });
}

/** Headless Chromium with these playwright launch options. */
function launchChromium(options) {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: apt-get install chromium, or set CHROMIUM`);
  }
  const { chromium } = loadPlaywright();
  return chromium.launch({ executablePath, headless: true, timeout: STARTUP_TIMEOUT_MS, ...options });
}

/**
 * Headless Chromium that plays through its normal audio output into a
 * PulseAudio sink: `env` carries PULSE_SERVER and PULSE_SINK (see pulse.mjs),
 * and playwright's default --mute-audio is left out. One process per sink:
 * the environment is the browser's, not a page's.
 */
export async function launchBrowserWithSound({ env, args = [] }) {
  return launchChromium({ env, ignoreDefaultArgs: ['--mute-audio'], args: [...CHROMIUM_ARGS, ...AUDIO_ARGS, ...args] });
}

/**
 * What most suites start with: the demo music, a server playing from it
 * (its library scanned) and Chromium with `browserArgs`. Returns
 * { music, server, browser, close() }; close() undoes whatever was started.
 */
export async function startDemoSetup({ browserArgs = [], serverArgs = [] } = {}) {
  const setup = {};
  setup.close = async () => {
    try {
      if (setup.browser) await setup.browser.close();
    } finally {
      try {
        if (setup.server) await setup.server.stop();
      } finally {
        if (setup.music) await setup.music.remove();
      }
    }
  };
  try {
    setup.music = await makeDemoMusic();
    setup.server = await startServer(serverArgs, { musicDir: setup.music.dir });
    await waitForLibrary(setup.server.url, 4);
    setup.browser = await launchBrowser({ args: browserArgs });
  } catch (err) {
    await setup.close();
    throw err;
  }
  return setup;
}

// -- people and pages ------------------------------------------------------

export const STEP_TIMEOUT_MS = 15000;

/** A CSS selector for a data-testid. */
export const tid = (testid) => `[data-testid="${testid}"]`;

/** A fresh browser context (own localStorage) with one page that records dialogs and errors. */
export async function newPerson(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const dialogs = [];
  const pageErrors = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  return { context, page, dialogs, pageErrors };
}

/**
 * Runs body with n people, closing their contexts whatever happens; no page
 * may throw. contextOptions go to browser.newContext (viewport, permissions…).
 */
export async function withPeople(browser, n, body, contextOptions = {}) {
  const people = [];
  try {
    for (let i = 0; i < n; i++) people.push(await newPerson(browser, contextOptions));
    await body(...people);
    for (const p of people) assert.deepEqual(p.pageErrors, [], 'no uncaught errors in the page');
  } finally {
    await Promise.allSettled(people.map((p) => p.context.close()));
  }
}

/** On the home page, creates a room through the form; returns the room page URL. */
export async function createRoomViaForm(page, baseUrl, name, password = '') {
  await page.goto(`${baseUrl}/`);
  await page.fill(tid('create-name'), name);
  if (password) await page.fill(tid('create-password'), password);
  await page.click(tid('create-submit'));
  await page.waitForURL(/\/room\/[^/?#]+$/);
  return page.url();
}

/** Fills the join form; does not wait for the outcome. */
export async function submitJoin(page, name, password) {
  await page.fill(tid('join-name'), name);
  if (password !== undefined) await page.fill(tid('join-password'), password);
  await page.click(tid('join-submit'));
}

/** Waits until the participants list holds (at least) these names. */
export async function waitForParticipants(page, names) {
  await page.waitForFunction(([sel, wanted]) => {
    const list = document.querySelector(sel);
    if (!list) return false;
    const shown = [...list.querySelectorAll('.participant-name')].map((n) => n.textContent);
    return wanted.every((w) => shown.includes(w));
  }, [tid('participants'), names]);
}

/** Waits until the room page shows this guest in the room. */
export async function waitForJoined(page, name) {
  await page.locator(tid('participants')).waitFor({ state: 'visible' });
  await waitForParticipants(page, [name]);
}

/** Joins from the room page and waits until this guest is in. */
export async function join(page, name, password) {
  await submitJoin(page, name, password);
  await waitForJoined(page, name);
}

/** Says @text in the room's chat. */
export async function sendChat(page, text) {
  await page.fill(tid('chat-input'), text);
  await page.press(tid('chat-input'), 'Enter');
}

/** Waits until the chat log has n messages, then returns them as {from, text}. */
export async function waitForChat(page, n) {
  await page.waitForFunction(([sel, count]) =>
    document.querySelectorAll(`${sel} [data-testid="chat-message"]`).length >= count, [tid('chat-log'), n]);
  return page.$$eval(`${tid('chat-log')} [data-testid="chat-message"]`, (lines) => lines.map((line) => ({
    from: line.querySelector('.chat-from')?.textContent,
    text: line.querySelector('.chat-text')?.textContent,
  })));
}

// -- the playout engine (client-js/src/engine) -------------------------------

/** The page's playout engine state (window.__roomcast.engine.snapshot()), or null. */
export async function engineSnapshot(page) {
  return page.evaluate(() => (window.__roomcast && window.__roomcast.engine ? window.__roomcast.engine.snapshot() : null));
}

/** The transport the page's media session uses now (`webrtc`, `ws` or null). */
export async function mediaTransport(page) {
  return page.evaluate(() => (window.__roomcast && window.__roomcast.media ? window.__roomcast.media.transport : null));
}

/** Waits until the audio status says the page is listening. */
export async function waitForListening(page, timeout = 30000) {
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'listening',
    tid('audio-status'), { timeout });
}

const packetsOf = (snap) => (snap && snap.frames ? snap.frames.webrtc + snap.frames.ws : 0);

/**
 * Asserts what a listener would notice: packets keep arriving (over the
 * transport named, when one is), and the engine's output carries sound. The
 * energy is the worklet's own Σx² over what it rendered (channel 0, before
 * the volume): a 0.25 full-scale tone adds about 1500 a second, silence 0.
 */
export async function assertHearsAudio(page, who, { transport } = {}) {
  await page.waitForFunction(() => {
    const s = window.__roomcast?.engine?.snapshot();
    return s && s.frames && s.frames.decoded > 0 && s.rendered;
  }, null, { timeout: 20000 });
  const first = await engineSnapshot(page);
  await page.waitForTimeout(1500);
  const later = await engineSnapshot(page);
  const packets = packetsOf(later) - packetsOf(first);
  assert.ok(packets > 30, `${who}: packets keep arriving (${packets} in 1.5 s)`);
  if (transport) {
    const over = later.frames[transport] - first.frames[transport];
    assert.ok(over > 30, `${who}: over ${transport} (${over} of ${packets})`);
  }
  assert.ok(later.frames.decoded - first.frames.decoded > 30, `${who}: packets are decoded`);
  const energy = later.rendered.energy - first.rendered.energy;
  assert.ok(energy > 100, `${who}: the engine's output carries sound (energy ${energy.toFixed(1)} in 1.5 s)`);
}

/** Output energy the engine renders over `ms`. */
export async function renderedEnergy(page, ms) {
  const first = await engineSnapshot(page);
  await page.waitForTimeout(ms);
  const later = await engineSnapshot(page);
  return later.rendered.energy - first.rendered.energy;
}

// -- live hosts ---------------------------------------------------------------

const WAV_RATE = 48000;

/** One second of a sine (a whole number of cycles, so Chromium's loop of the file is seamless), 16-bit mono 48 kHz. */
export async function writeToneWav(file, hz, amplitude = 0.5) {
  const n = WAV_RATE;
  const wav = Buffer.alloc(44 + n * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + n * 2, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);        // PCM
  wav.writeUInt16LE(1, 22);        // mono
  wav.writeUInt32LE(WAV_RATE, 24);
  wav.writeUInt32LE(WAV_RATE * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) wav.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / WAV_RATE)), 44 + i * 2);
  await writeFile(file, wav);
}

/** Chromium whose fake microphone plays `wav` (granted without asking), and which plays audio without a click. */
export function launchWithMicrophone(wav) {
  return launchBrowser({
    args: [...AUDIO_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`],
  });
}

/** Searches and presses Add on the result whose title contains `title`. */
export async function addBySearch(page, query, title) {
  await page.fill(tid('search-input'), query);
  const result = page.locator(tid('search-result'), { hasText: title });
  await result.waitFor();
  await result.locator(tid('search-result-add')).click();
}

/** Waits until the player's title contains `title`. */
export async function waitForNowPlaying(page, title) {
  await page.waitForFunction(([sel, wanted]) =>
    (document.querySelector(sel)?.textContent ?? '').includes(wanted), [tid('now-playing-title'), title]);
}

/** Waits until the room page's play button says the room plays (or not). */
export async function waitForPlaying(page, playing) {
  await page.waitForFunction(([sel, wanted]) =>
    document.querySelector(sel)?.dataset.playing === String(wanted), [tid('play-toggle'), playing]);
}

/**
 * The owner makes a room (roomName) through the home page, joins it as
 * ownerName and adds the library song found by `query` whose title is
 * `title`; waits until it plays. Returns the room id.
 */
export async function roomWithSong(page, baseUrl, { query, title, roomName = 'Live night', ownerName = 'Olive' }) {
  const url = await createRoomViaForm(page, baseUrl, roomName);
  const roomId = decodeURIComponent(new URL(url).pathname.split('/')[2]);
  await join(page, ownerName);
  await addBySearch(page, query, title);
  await page.locator(tid('queue-item'), { hasText: title }).waitFor();
  await waitForPlaying(page, true);
  return roomId;
}

/**
 * The owner's "Go live" in the room page: the host page opens in a new tab,
 * makes a publish key and goes live with the (fake) microphone. Returns the
 * host page, live.
 */
export async function goLiveFromRoom(roomPage, roomId) {
  const [host] = await Promise.all([roomPage.context().waitForEvent('page'), roomPage.click(tid('go-live'))]);
  host.setDefaultTimeout(STEP_TIMEOUT_MS);
  await host.waitForURL(new RegExp(`/room/${roomId}/host$`));
  await host.locator(tid('host-page')).waitFor();
  await host.click(tid('host-create-key'));
  await host.waitForFunction((sel) => document.querySelector(sel)?.value.startsWith('rk_'), tid('host-key'));
  await host.click(tid('host-go-live'));
  await host.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'live', tid('host-state'), { timeout: 20000 });
  return host;
}

/** Runs body(defer), then what was deferred, in reverse, whatever happened. */
export async function withCleanup(body) {
  const cleanups = [];
  try {
    await body((fn) => cleanups.push(fn));
  } finally {
    for (const fn of cleanups.reverse()) {
      try { await fn(); } catch (err) { console.error('cleanup failed:', err); }
    }
  }
}

/** A .catch() that adds the tail of the server's log to a failure. */
export const logsOnFailure = (server) => (err) => {
  err.message += `\n--- roomcast log (tail) ---\n${server.logs().slice(-6000)}`;
  throw err;
};

// SPDX-License-Identifier: MIT
//
// The browser half of tools/bench-sync: headless Chromium pages (Debian's
// /usr/bin/chromium through playwright-core from client-js/node_modules, the
// same launch as tests/browser) listen in one room, and each records what
// its playout engine rendered: back-to-back captures of the engine's output
// (window.__roomcast.engine.capture), each stamped by the engine with the
// server time its first sample is heard at. Those stamps are the engine's
// own belief (its timeSync clock and getOutputTimestamp): rendering only.
//
// With --pulse-server and a sink in a page's spec (name:transport:sink),
// that page gets a Chromium process of its own whose normal audio output
// goes to that sink of bench-sync's private PulseAudio (PULSE_SERVER,
// PULSE_SINK; playwright's --mute-audio left out): bench-sync records it
// there, at the speaker, beside the native guests.
//
//   node bench-sync-browser.mjs --url http://127.0.0.1:PORT --room ID --out DIR \
//        --page b1:webrtc[:sink] --page b2:ws[:sink] [--late b3:ws] [--capture-seconds 4] \
//        [--pulse-server unix:/…/native]
//
// It speaks JSON lines: on stdout events ({"event": "ready" | "joined" |
// "capture" | "report" | "stopped" | "error", ...}); on stdin commands
// ("join" brings the --late page in, "stop" ends the captures and exits).
// Captures are written as raw float32 (little-endian, mono, 48 kHz) to
// DIR/<name>-<n>.f32; their event carries serverTime and msPerFrame.

import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import {
  AUDIO_ARGS, join, launchBrowser, launchBrowserWithSound, newPerson, waitForListening,
} from '../../tests/browser/helpers.mjs';

function parseArgs(argv) {
  const o = { pages: [], late: null, captureSeconds: 4 };
  for (let i = 2; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--url') o.url = v;
    else if (k === '--room') o.room = v;
    else if (k === '--out') o.out = v;
    else if (k === '--page') o.pages.push(v);
    else if (k === '--late') o.late = v;
    else if (k === '--capture-seconds') o.captureSeconds = Number(v);
    else if (k === '--pulse-server') o.pulseServer = v;
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  if (!o.url || !o.room || !o.out) throw new Error('--url, --room and --out are required');
  return o;
}

const say = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

const opts = parseArgs(process.argv);
let stopping = false;
const loops = [];

async function capture(page, seconds) {
  return page.evaluate(async (secs) => {
    const engine = window.__roomcast && window.__roomcast.engine;
    if (!engine) return null;
    await engine.start();
    const c = await engine.capture(Math.round(secs * engine.ctx.sampleRate));
    const bytes = new Uint8Array(c.samples.buffer, c.samples.byteOffset, c.samples.byteLength);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return {
      b64: btoa(s), heard0: c.heard0, msPerFrame: c.msPerFrame, sampleRate: c.sampleRate,
      latencyOffset: c.latencyOffset, report: window.__roomcast.lastReport || null,
      snapshot: engine.snapshot(),
    };
  }, seconds);
}

/** Captures one after the other until stopped. */
async function captureLoop(name, page) {
  let n = 0;
  let lastReport = null;
  while (!stopping) {
    const c = await capture(page, opts.captureSeconds);
    if (!c) {
      await page.waitForTimeout(100);
      continue;
    }
    if (c.report && JSON.stringify(c.report) !== JSON.stringify(lastReport)) {
      lastReport = c.report;
      say('report', { name, report: c.report });
    }
    if (c.heard0 === null || !Number.isFinite(c.msPerFrame)) continue;
    const file = path.join(opts.out, `${name}-${n++}.f32`);
    await writeFile(file, Buffer.from(c.b64, 'base64'));
    say('capture', {
      name, file, serverTime: c.heard0, msPerFrame: c.msPerFrame, sampleRate: c.sampleRate,
      frames: Math.round(opts.captureSeconds * c.sampleRate), latencyOffset: c.latencyOffset,
      playoutDelay: c.snapshot.playoutDelay, engineError: c.snapshot.error,
    });
  }
}

/**
 * Every 250 ms, the page's clocks as its engine sees them (JSON lines in
 * NAME-diag.jsonl): what moves the engine's map when the speaker says it
 * jumped. Off unless RC_BENCH_DIAG is set.
 */
async function diagLoop(name, page) {
  const file = path.join(opts.out, `${name}-diag.jsonl`);
  while (!stopping) {
    const d = await page.evaluate(() => {
      const e = window.__roomcast && window.__roomcast.engine;
      if (!e || !e.ctx) return null;
      const ts = e.ctx.getOutputTimestamp();
      const t = e.ctx.currentTime;
      const w = e.worklet;
      return {
        perf: performance.now(), ctxTime: t, tsCtx: ts.contextTime, tsPerf: ts.performanceTime,
        linePerf: e.output.perfAt(t), residual: e.output.residual(), steps: e.output.steps,
        rate: e.output.rate, clockOffset: e.clock.estimator.offset, clockDrift: e.clock.estimator.drift,
        rtt: e.clock.estimator.rtt, heard: e.heardAt(t), delay: e.playoutDelay,
        resyncs: w ? w.resyncs : null, late: w ? w.late : null, gaps: w ? w.gapFrames : null,
        tracking: w ? w.tracking : null, error: e.currentError(),
        outputLatency: e.ctx.outputLatency, baseLatency: e.ctx.baseLatency,
        // The output clock's newest raw samples (one every 50 ms): with
        // those of the rows before and after, the whole series.
        samples: e.output.samples.slice(-8).map((x) => [x.c, x.p]),
      };
    }).catch(() => null);
    if (d) await appendFile(file, `${JSON.stringify(d)}\n`);
    await page.waitForTimeout(250).catch(() => {});
  }
}

const ownBrowsers = [];

/** The shared headless browser, or for a page with a sink its own Chromium playing into it. */
async function browserFor(shared, sink) {
  if (!sink) return shared;
  if (!opts.pulseServer) throw new Error(`a sink (${sink}) needs --pulse-server`);
  const own = await launchBrowserWithSound({ env: { ...process.env, PULSE_SERVER: opts.pulseServer, PULSE_SINK: sink } });
  ownBrowsers.push(own);
  return own;
}

async function bringIn(browser, spec, { late = false } = {}) {
  const [name, transport = 'webrtc', sink] = spec.split(':');
  const person = await newPerson(await browserFor(browser, sink));
  const { page } = person;
  page.on('pageerror', (err) => say('error', { name, message: `page error: ${err.message}` }));
  await page.goto(`${opts.url}/room/${opts.room}?transport=${transport}`);
  await join(page, name);
  say('joining', { name, transport, late, sink: sink || null });
  // A late joiner records from the click on: silence, then the room.
  if (late) loops.push(captureLoop(name, page));
  await waitForListening(page, 30000);
  say('joined', { name, transport, late });
  if (!late) loops.push(captureLoop(name, page));
  if (process.env.RC_BENCH_DIAG) loops.push(diagLoop(name, page));
  return person;
}

async function main() {
  const browser = await launchBrowser({ args: AUDIO_ARGS });
  const people = [];
  const commands = readline.createInterface({ input: process.stdin });
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  commands.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'join' && opts.late) {
      bringIn(browser, opts.late, { late: true }).then((p) => people.push(p))
        .catch((err) => say('error', { name: opts.late, message: err.message }));
    } else if (cmd === 'stop') {
      stopping = true;
      done();
    }
  });
  commands.on('close', () => { stopping = true; done(); });
  try {
    say('ready');
    for (const spec of opts.pages) people.push(await bringIn(browser, spec));
    await finished;
    await Promise.allSettled(loops);
  } finally {
    await Promise.allSettled(people.map((p) => p.context.close()));
    await Promise.allSettled(ownBrowsers.map((b) => b.close()));
    await browser.close();
    say('stopped');
  }
}

main().catch((err) => {
  say('error', { message: err.stack || String(err) });
  process.exit(1);
});

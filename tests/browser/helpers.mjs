// SPDX-License-Identifier: MIT
//
// Shared plumbing for the browser end-to-end tests: a real roomcast server on
// 127.0.0.1 with a free port, and Debian's Chromium driven by playwright-core
// (never a downloaded browser). playwright-core is a devDependency of
// client-js/, so it is loaded with a require anchored there: these tests live
// outside client-js/ and a bare ESM import would not resolve.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
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
 * Returns { url, stop(), logs() }.
 */
export async function startServer(extraArgs = []) {
  const bin = process.env.ROOMCAST_BIN
    ? path.resolve(process.env.ROOMCAST_BIN)
    : path.join(repoRoot, 'build', 'roomcast');
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: build it (meson setup build && ninja -C build) or set ROOMCAST_BIN`);
  }

  const args = ['--host', '127.0.0.1', '--port', '0', ...extraArgs];
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

/** Launches headless Chromium ($CHROMIUM, default /usr/bin/chromium). */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: apt-get install chromium, or set CHROMIUM`);
  }
  const { chromium } = loadPlaywright();
  return chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: STARTUP_TIMEOUT_MS,
  });
}

// SPDX-License-Identifier: MIT
//
// Copies the browser builds of npm dependencies the client loads at run time
// into client-js/vendor/ (the server never serves node_modules). Runs as
// npm's postinstall, so `npm ci` (tools/dev runs it) keeps vendor/ current.
// vendor/ is not committed.
//
// - opus-decoder: the wasm Opus decoder (wasm inlined in one file), used by
//   the decode worker where WebCodecs AudioDecoder is missing. Imported as a
//   module, its UMD wrapper sets globalThis['opus-decoder'].

import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vendor = path.join(root, 'vendor');

const files = [
  // The package's exports hide its dist/ folder from require.resolve: name the file.
  { from: path.join(root, 'node_modules', 'opus-decoder', 'dist', 'opus-decoder.min.js'), to: 'opus-decoder.min.js' },
];

await mkdir(vendor, { recursive: true });
for (const { from, to } of files) {
  await copyFile(from, path.join(vendor, to));
  console.log(`vendored ${path.relative(root, from)} → vendor/${to}`);
}

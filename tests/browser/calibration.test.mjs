// SPDX-License-Identifier: MIT
//
// The calibration chirp (client-js/src/engine/calibration.js), in node: it
// is found where it starts in a noisy recording, to the sample, and room
// noise alone is not taken for it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeChirp, findChirp } from '../../client-js/src/engine/calibration.js';

function noise(n, amplitude, seed = 3) {
  let a = seed;
  return Float32Array.from({ length: n }, () => {
    a = (a * 1103515245 + 12345) & 0x7fffffff;
    return (a / 0x3fffffff - 1) * amplitude;
  });
}

test('the chirp is found to the sample under noise, quieter than it', () => {
  const chirp = makeChirp(48000);
  const rec = noise(48000, 0.05);
  for (let i = 0; i < chirp.length; i++) rec[12345 + i] += 0.3 * chirp[i];
  const found = findChirp(rec, chirp);
  assert.ok(found, 'found');
  assert.equal(found.index, 12345);
});

test('noise alone is not a chirp', () => {
  assert.equal(findChirp(noise(48000, 0.2, 9), makeChirp(48000)), null);
});

// SPDX-License-Identifier: MIT
//
// The room view's arithmetic, in node (no browser): which lyrics line a
// position falls on (the lyrics card highlights it every frame), and the
// generated covers (initials from the title, the same colours for the same
// song, markup reduced to its letters).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineAt } from '../../client-js/src/ui/lyrics.js';
import { initials, coverGradient } from '../../client-js/src/ui/cover.js';

test('lyrics: the line of a position is the last one whose time has come', () => {
  const lines = [0, 4, 8, 8, 12.5].map((time) => ({ time, text: String(time) }));
  assert.equal(lineAt(lines, -1), -1, 'before the first line');
  assert.equal(lineAt([{ time: 2, text: 'x' }], 1.99), -1);
  assert.equal(lineAt(lines, 0), 0);
  assert.equal(lineAt(lines, 3.999), 0);
  assert.equal(lineAt(lines, 4), 1, 'a line starts at its own time');
  assert.equal(lineAt(lines, 8), 3, 'of two lines at one time, the later');
  assert.equal(lineAt(lines, 12.49), 3);
  assert.equal(lineAt(lines, 600), 4, 'after the last line, the last');
  assert.equal(lineAt([], 5), -1, 'no lines');
});

test('covers: initials from the first two words, stable colours per song', () => {
  assert.equal(initials('Demo 220 Hz — Low A'), 'D2');
  assert.equal(initials('friday jazz'), 'FJ');
  assert.equal(initials('  «Überall» zu Hause'), 'ÜZ');
  assert.equal(initials('<script>alert(1)</script>'), 'SA', 'markup counts only by its letters');
  assert.equal(initials('— … —'), '♪', 'no letters at all');
  assert.equal(initials(null), '♪');
  assert.equal(coverGradient('Demo 440 Hz'), coverGradient('Demo 440 Hz'), 'the same song, the same cover');
  assert.notEqual(coverGradient('Demo 440 Hz'), coverGradient('Demo 550 Hz'));
  assert.match(coverGradient('x'), /^radial-gradient\(.*linear-gradient\(\d+deg, hsl\(\d+ /);
});

// SPDX-License-Identifier: MIT
//
// Browser end-to-end on a cluster: Redis and three roomcast nodes on
// 127.0.0.1. Alice's page is on a node that does not serve the room (its
// signalling relayed to the room's node), Bob's on the room's node. What a
// user would notice: both are in the room and chat both ways; the song
// Alice queues plays and she hears it over WebRTC, straight from the
// room's node; when the
// room's node is killed, Alice's page is told the room moved and rejoins
// through its own node, and Bob's page, whose node is gone, goes round the
// nodes it learnt from GET /api/nodes until one takes it in; then both
// chat again, with the chat said before the crash still there, and Alice
// hears the song again from the node that took the room over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useCluster, waitFor, spyOnSockets, socketsOf, withPeople, join, waitForParticipants, sendChat, waitForChat,
  addBySearch, waitForNowPlaying, assertHearsAudio,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 90000;
const LEASE_MS = 1500;

const ctx = useCluster(3, ['--cluster-lease', String(LEASE_MS)]);

const typesOf = (page) => page.evaluate(() => window.__rcTypes);

/** The participant names the page shows, sorted. */
async function names(page) {
  return (await page.locator('[data-testid="participants"] .participant-name').allTextContents()).sort();
}

test('a guest on another node is in the room, and both pages follow the room when its node dies',
  { timeout: TEST_TIMEOUT_MS }, async () => {
    const made = await ctx.cluster.room(`Across nodes ${Date.now()}`);
    const roomNode = made.origin;
    const otherNode = made.others[0];

    await withPeople(ctx.browser, 2, async (alice, bob) => {
      await alice.page.addInitScript(spyOnSockets);
      await bob.page.addInitScript(spyOnSockets);
      await alice.page.goto(`${otherNode.url}/room/${made.id}`);
      await join(alice.page, 'Alice');
      await bob.page.goto(`${roomNode.url}/room/${made.id}`);
      await join(bob.page, 'Bob');
      await waitForParticipants(alice.page, ['Alice', 'Bob']);
      await waitForParticipants(bob.page, ['Alice', 'Bob']);

      await sendChat(alice.page, 'from Alice, through her node');
      await waitForChat(bob.page, 1);
      await sendChat(bob.page, 'from Bob, on the room node');
      const before = [
        { from: 'Alice', text: 'from Alice, through her node' },
        { from: 'Bob', text: 'from Bob, on the room node' },
      ];
      assert.deepEqual(await waitForChat(alice.page, 2), before);
      assert.deepEqual(await waitForChat(bob.page, 2), before);

      // Alice queues a song through her node; both see it play, and her
      // page hears it over WebRTC from the room's node.
      await addBySearch(alice.page, '440', 'Demo 440 Hz');
      await waitForNowPlaying(alice.page, 'Demo 440 Hz');
      await waitForNowPlaying(bob.page, 'Demo 440 Hz');
      await assertHearsAudio(alice.page, 'Alice (relayed)', { transport: 'webrtc' });

      await roomNode.kill('SIGKILL');
      // Bob's page loses its node; Alice's node tells her page the room moved.
      await bob.page.locator('[data-testid="offline-indicator"]').waitFor({ state: 'visible' });
      await waitFor('Alice told the room moved', async () =>
        (await typesOf(alice.page)).includes('roomClosed:moved'), 30000);
      // Both pages come back into the room by themselves, on live nodes.
      await waitFor('both guests back in the room', async () =>
        JSON.stringify(await names(alice.page)) === '["Alice","Bob"]'
        && JSON.stringify(await names(bob.page)) === '["Alice","Bob"]'
        && await alice.page.locator('[data-testid="chat-input"]').isEnabled()
        && await bob.page.locator('[data-testid="chat-input"]').isEnabled(), 60000);
      assert.deepEqual((await waitForChat(alice.page, 2)).slice(0, 2), before, 'the chat survived');

      // Alice kept her socket; Bob's page went on to another node.
      assert.equal(new Set(await socketsOf(alice.page)).size, 1);
      const bobSockets = await socketsOf(bob.page);
      assert.notEqual(bobSockets.at(-1), bobSockets[0], `Bob moved on: ${bobSockets.join(' ')}`);

      await sendChat(bob.page, 'after the crash');
      const seen = await waitForChat(alice.page, 3);
      assert.deepEqual(seen[2], { from: 'Bob', text: 'after the crash' });
      // The room plays on from the node that took it over.
      await waitForNowPlaying(alice.page, 'Demo 440 Hz');
      await assertHearsAudio(alice.page, 'Alice after the failover', { transport: 'webrtc' });
    });
  });

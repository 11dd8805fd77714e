// SPDX-License-Identifier: MIT
//
// Placement in a cluster: Redis and two roomcast nodes started with
// --max-listeners 1. Bob takes the room's node's one place; Carla opens
// the room's page on that same node, her join is answered 4209 node_full
// with the other node's URL, and her page follows it by itself: it
// connects there, joins (relayed to the room's node) and hears the song
// over WebRTC from that node, an edge of the room.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useCluster, spyOnSockets, socketsOf, withPeople, join, waitForParticipants,
  addBySearch, waitForNowPlaying, assertHearsAudio,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 90000;

const ctx = useCluster(2, ['--max-listeners', '1']);

test('a page whose join finds the room\'s node full is sent to another node and hears the room there',
  { timeout: TEST_TIMEOUT_MS }, async () => {
    const made = await ctx.cluster.room(`Placed ${Date.now()}`);
    const { origin } = made;
    const other = made.others[0];

    await withPeople(ctx.browser, 2, async (bob, carla) => {
      await bob.page.goto(`${origin.url}/room/${made.id}`);
      await join(bob.page, 'Bob');
      await addBySearch(bob.page, '440', 'Demo 440 Hz');
      await waitForNowPlaying(bob.page, 'Demo 440 Hz');

      await carla.page.addInitScript(spyOnSockets);
      await carla.page.goto(`${origin.url}/room/${made.id}`);
      await join(carla.page, 'Carla');
      await waitForParticipants(carla.page, ['Bob', 'Carla']);
      await waitForParticipants(bob.page, ['Bob', 'Carla']);
      const sockets = await socketsOf(carla.page);
      const otherHost = new URL(other.url).host;
      assert.equal(new URL(sockets[0]).host, new URL(origin.url).host, `first to the room's node: ${sockets.join(' ')}`);
      assert.equal(new URL(sockets.at(-1)).host, otherHost, `then to the other node: ${sockets.join(' ')}`);

      await waitForNowPlaying(carla.page, 'Demo 440 Hz');
      await assertHearsAudio(carla.page, 'Carla (placed on the other node)', { transport: 'webrtc' });
      const stats = await (await fetch(`${origin.url}/api/rooms/${made.id}/stats`)).json();
      assert.equal(stats.relay?.edges, 1, `the room's node feeds the other node: ${JSON.stringify(stats.relay)}`);
    });
  });

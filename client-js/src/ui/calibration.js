// SPDX-License-Identifier: MIT
//
// The calibration controls beside the output delay: "Measure" plays a chirp
// and listens for it with the microphone (engine/calibration.js), and fills
// the output delay with what this device adds beyond what the browser
// knows; "Tick" plays a tick on every second of server time, to align by
// ear against another device (then adjust the output delay by hand).

import { h } from './dom.js';
import { measureOutputDelay, startTicks } from '../engine/calibration.js';

/**
 * getEngine(): the playout engine or null; onOffset(ms): the measured output
 * delay is to be used. Returns { node }.
 */
export function createCalibration({ getEngine, onOffset }) {
  let stopTicks = null;
  const result = h('span', { class: 'muted calibration-result', dataset: { testid: 'calibrate-result' }, 'aria-live': 'polite' });
  const measure = h('button', {
    type: 'button', class: 'small-button', text: 'Measure',
    title: 'Play a chirp and listen for it with your microphone to set the output delay',
    dataset: { testid: 'calibrate-mic' }, onclick: onMeasure,
  });
  const tick = h('button', {
    type: 'button', class: 'small-button', text: 'Tick', 'aria-pressed': 'false',
    title: 'A tick on every second of the room\'s clock: line it up with another device by changing the output delay',
    dataset: { testid: 'calibrate-ticks' }, onclick: onTick,
  });
  const node = h('div', { class: 'calibration', dataset: { testid: 'calibration' } }, measure, tick, result);

  async function onMeasure() {
    const engine = getEngine();
    if (!engine) { result.textContent = 'Listen first.'; return; }
    measure.disabled = true;
    result.textContent = 'Listening…';
    delete result.dataset.ms;
    try {
      const m = await measureOutputDelay(engine);
      const ms = Math.round(m.extraMs);
      result.dataset.ms = String(ms);
      result.dataset.roundTrip = m.roundTripMs.toFixed(1);
      result.dataset.input = m.inputLatencyMs.toFixed(1);
      result.dataset.believed = m.believedMs.toFixed(1);
      result.textContent = `Measured ${ms} ms${m.inputLatencyKnown ? '' : ' (at most: the microphone\'s own delay is unknown)'}.`;
      onOffset(ms);
    } catch (err) {
      result.textContent = err && err.name === 'NotAllowedError' ? 'The microphone was not allowed.' : String(err.message || err);
    } finally {
      measure.disabled = false;
    }
  }

  function onTick() {
    if (stopTicks) {
      stopTicks();
      stopTicks = null;
    } else {
      const engine = getEngine();
      if (!engine) { result.textContent = 'Listen first.'; return; }
      stopTicks = startTicks(engine);
    }
    tick.setAttribute('aria-pressed', String(Boolean(stopTicks)));
  }

  return { node, close: () => { if (stopTicks) stopTicks(); stopTicks = null; } };
}

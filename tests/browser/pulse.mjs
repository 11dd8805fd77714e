// SPDX-License-Identifier: MIT
//
// The speaker instrument for node: a private PulseAudio started by the test
// (nothing of the system's, nothing left running), one sink per player, and
// one recording of all of them on one sample clock. It is the same set-up as
// tools/bench/rc_bench_pulse.c, which explains the why: one null sink with a
// channel per player (aux0, aux1, …) and a mono remap sink per player onto
// its channel, so a single `parec` of the null sink's monitor records every
// player on the same clock; a player is pointed at its sink with
// PULSE_SERVER + PULSE_SINK in its environment (env()).
//
// And the measure: clicks() finds the clicks of a reference channel and, for
// each, the lag of another channel by cross-correlation (to a fraction of a
// sample, parabolic peak), which is the skew between the two players'
// outputs at that click.
//
// Ordering: the server answers (pactl) before anyone uses a sink; the
// recorder is stopped before the server and the folder is removed last.

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const PULSE_RATE = 48000;
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 3000;
export const LATE_MS = 100;

/** True when Debian's pulseaudio and pulseaudio-utils are installed. */
export function pulseAvailable() {
  return ['pulseaudio', 'pactl', 'parec'].every((bin) => existsSync(`/usr/bin/${bin}`));
}

function stopChild(child, timeoutMs = STOP_TIMEOUT_MS) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/**
 * Starts the server with `n` player sinks (rc_player_1 … rc_player_n).
 * Returns { server, sinks, env(i), monitor(i), record(), stop() }.
 */
export async function startPulse(n) {
  if (!pulseAvailable()) throw new Error('pulseaudio, pactl or parec is missing (Debian: pulseaudio pulseaudio-utils)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-pulse-'));
  const runtime = path.join(dir, 'run');
  const state = path.join(dir, 'state');
  await mkdir(runtime, { mode: 0o700 });
  await mkdir(state, { mode: 0o700 });
  const sinks = Array.from({ length: n }, (_, i) => `rc_player_${i + 1}`);
  const aux = sinks.map((_, i) => `aux${i}`).join(',');
  const script = [
    `load-module module-native-protocol-unix socket=${dir}/native auth-anonymous=1`,
    `load-module module-null-sink sink_name=rc_speakers rate=${PULSE_RATE} format=float32le channels=${n} channel_map=${aux}`,
    ...sinks.map((s, i) => `load-module module-remap-sink sink_name=${s} master=rc_speakers channels=1 `
      + `channel_map=mono master_channel_map=aux${i} remix=no`),
    // What sink i plays, as a plain source: Chromium lists no monitor sources as microphones.
    // And sink i behind 100 ms more than PulseAudio tells its clients (a Bluetooth speaker, say).
    ...sinks.map((s) => `load-module module-null-sink sink_name=${s}_late rate=${PULSE_RATE} channels=1 channel_map=mono`),
    ...sinks.map((s) => `load-module module-loopback source=${s}_late.monitor sink=${s} latency_msec=${LATE_MS} adjust_time=1`),
    ...sinks.map((s) => `load-module module-remap-source source_name=${s}_mic master=${s}.monitor channels=1 channel_map=mono`),
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'roomcast.pa'), script);
  const server = `unix:${dir}/native`;
  const baseEnv = { ...process.env, HOME: dir, PULSE_RUNTIME_PATH: runtime, PULSE_STATE_PATH: state };
  delete baseEnv.PULSE_SERVER;
  delete baseEnv.PULSE_SINK;
  delete baseEnv.DBUS_SESSION_BUS_ADDRESS;
  const daemon = spawn('pulseaudio', ['--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no', '--system=no',
    '--disallow-module-loading=no', '--realtime=yes', '--high-priority=yes', '-n', '-F', path.join(dir, 'roomcast.pa'),
    `--log-target=file:${path.join(dir, 'pulseaudio.log')}`], { env: baseEnv, stdio: 'ignore' });
  const recorders = [];
  const pulse = {
    dir, server, sinks,
    /** The environment that sends a process's audio to sink i. */
    env: (i, base = process.env) => ({ ...base, PULSE_SERVER: server, PULSE_SINK: sinks[i] }),
    /** The environment that sends a process's audio to sink i through LATE_MS more delay than PulseAudio reports. */
    lateEnv: (i, base = process.env) => ({ ...base, PULSE_SERVER: server, PULSE_SINK: `${sinks[i]}_late` }),
    /** A source that records what sink i plays (a page's "microphone" for calibration, PULSE_SOURCE). */
    microphone: (i) => `${sinks[i]}_mic`,
    /** Starts recording every sink; returns { channels(), stop() }. */
    record: () => {
      const rec = startRecorder(server, n, baseEnv);
      recorders.push(rec);
      return rec;
    },
    async stop() {
      await Promise.allSettled(recorders.map((r) => r.stop()));
      await stopChild(daemon);
      if (!process.env.RC_BENCH_PULSE_KEEP) await rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const { stdout } = await promisify(execFile)('pactl', ['list', 'short', 'sinks'], { env: { ...baseEnv, PULSE_SERVER: server }, timeout: 5000 });
      if (stdout.includes(sinks[n - 1])) break;
    } catch { /* not up yet */ }
    if (daemon.exitCode !== null || Date.now() > deadline) {
      await pulse.stop();
      throw new Error(`the private PulseAudio did not come up (exit ${daemon.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return pulse;
}

function startRecorder(server, n, env) {
  const map = Array.from({ length: n }, (_, i) => `aux${i}`).join(',');
  const child = spawn('parec', ['-d', 'rc_speakers.monitor', '--raw', '--format=float32le', `--rate=${PULSE_RATE}`,
    `--channels=${n}`, `--channel-map=${map}`, '--latency-msec=20'], { env: { ...env, PULSE_SERVER: server }, stdio: ['ignore', 'pipe', 'ignore'] });
  const chunks = [];
  let bytes = 0;
  child.stdout.on('data', (b) => { chunks.push(b); bytes += b.length; });
  return {
    /** Float32Array per sink, sample 0 = the first frame recorded. */
    channels() {
      const all = Buffer.concat(chunks, bytes);
      const frames = Math.floor(all.length / (4 * n));
      const out = Array.from({ length: n }, () => new Float32Array(frames));
      for (let f = 0; f < frames; f++) for (let c = 0; c < n; c++) out[c][f] = all.readFloatLE((f * n + c) * 4);
      return out;
    },
    stop: () => stopChild(child),
  };
}

/**
 * Per click of `ref` (onsets above `threshold` at least `minGapMs` apart), the
 * lag (ms, positive = `other` later) that best aligns `other` with it within
 * ±maxLagMs, and the normalised correlation there. Clicks whose window is
 * cut by the recording's ends, or that match badly (score < minScore), are
 * left out.
 */
export function clickLags(ref, other, { rate = PULSE_RATE, threshold = 0.1, minGapMs = 200, windowMs = 20, maxLagMs = 40, minScore = 0.8 } = {}) {
  const win = Math.round(windowMs * rate / 1000);
  const maxLag = Math.round(maxLagMs * rate / 1000);
  const gap = Math.round(minGapMs * rate / 1000);
  const out = [];
  for (let i = maxLag + 1; i < ref.length - win - maxLag - 1; i++) {
    if (Math.abs(ref[i]) < threshold) continue;
    const start = i - Math.round(win / 4);
    const scores = new Float64Array(2 * maxLag + 1);
    let eRef = 0;
    for (let k = 0; k < win; k++) eRef += ref[start + k] ** 2;
    let best = -1;
    for (let lag = -maxLag; lag <= maxLag; lag++) {
      let xy = 0;
      let yy = 0;
      for (let k = 0; k < win; k++) {
        const y = other[start + lag + k];
        xy += ref[start + k] * y;
        yy += y * y;
      }
      const s = yy > 0 ? xy / Math.sqrt(eRef * yy) : 0;
      scores[lag + maxLag] = s;
      if (best < 0 || s > scores[best]) best = lag + maxLag;
    }
    if (scores[best] >= minScore) {
      let lag = best - maxLag;
      if (best > 0 && best < scores.length - 1) {
        const [a, b, c] = [scores[best - 1], scores[best], scores[best + 1]];
        const d = a - 2 * b + c;
        if (d < 0) lag += 0.5 * (a - c) / d;
      }
      out.push({ at: i / rate, lagMs: lag * 1000 / rate, score: scores[best] });
    }
    i += gap;
  }
  return out;
}

/**
 * Writes a click track into a music folder as tagged Ogg Vorbis: a click
 * every `periodMs` (4 ms of fixed pseudo-random noise under a decaying
 * envelope: broadband, so its correlation has one sharp peak), `seconds` long.
 */
export async function writeClickTrack(dir, file, { title = 'Click track', seconds = 60, periodMs = 500 } = {}) {
  const rate = PULSE_RATE;
  const frames = seconds * rate;
  const pcm = Buffer.alloc(44 + frames * 4);
  let seed = 12345;
  const click = Float32Array.from({ length: Math.round(0.004 * rate) }, (_, k) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed / 0x3fffffff - 1) * Math.exp(-k / (0.001 * rate)) * 0.8;
  });
  const period = Math.round(periodMs * rate / 1000);
  for (let f = 0; f < frames; f++) {
    const v = f % period < click.length ? click[f % period] : 0;
    const s = Math.round(Math.max(-1, Math.min(1, v)) * 32767);
    pcm.writeInt16LE(s, 44 + f * 4);
    pcm.writeInt16LE(s, 44 + f * 4 + 2);
  }
  pcm.write('RIFF', 0); pcm.writeUInt32LE(36 + frames * 4, 4); pcm.write('WAVE', 8); pcm.write('fmt ', 12);
  pcm.writeUInt32LE(16, 16); pcm.writeUInt16LE(1, 20); pcm.writeUInt16LE(2, 22); pcm.writeUInt32LE(rate, 24);
  pcm.writeUInt32LE(rate * 4, 28); pcm.writeUInt16LE(4, 32); pcm.writeUInt16LE(16, 34); pcm.write('data', 36);
  pcm.writeUInt32LE(frames * 4, 40);
  const wav = path.join(dir, `${file}.wav`);
  await writeFile(wav, pcm);
  const tags = `tags="title=\\"${title}\\",artist=\\"roomcast test\\",album=\\"Tests\\""`;
  try {
    await promisify(execFile)('gst-launch-1.0', ['-q', 'filesrc', `location=${wav}`, '!', 'wavparse', '!', 'audioconvert',
      '!', 'taginject', tags, '!', 'vorbisenc', 'quality=0.6', '!', 'oggmux', '!', 'filesink',
      `location=${path.join(dir, `${file}.ogg`)}`], { timeout: 60000 });
  } finally {
    await rm(wav, { force: true });
  }
}

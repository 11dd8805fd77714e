// SPDX-License-Identifier: MIT
//
// One line chart of the last hour as inline SVG: no chart library, the
// page has four small series of at most 360 points.

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 176;
const PAD = { left: 48, right: 8, top: 8, bottom: 22 };

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round step for about four grid lines up to @max. */
function niceStep(max) {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

/**
 * Draws @points ({t: ms, v: number|null}) into @svg over [now - spanMs, now].
 * A null v is a gap. @format turns a value into an axis label.
 */
export function drawChart(svg, points, { spanMs, now, format, minMax = 1 }) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const values = points.map((p) => p.v).filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(minMax, ...values) * 1.1;
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - (now - spanMs)) / spanMs) * plotW;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(el('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(el('text', { class: 'axis', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  for (const [label, t] of [['−60 min', now - spanMs], ['−30 min', now - spanMs / 2], ['now', now]]) {
    const anchor = t === now ? 'end' : t === now - spanMs ? 'start' : 'middle';
    svg.append(el('text', { class: 'axis', x: x(t), y: HEIGHT - 4, 'text-anchor': anchor }, label));
  }
  if (values.length === 0) {
    svg.append(el('text', { class: 'empty', x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, 'text-anchor': 'middle' },
      'no data yet'));
    return;
  }
  // Runs of known values become one path each; a lone point gets a dot.
  let run = [];
  const flush = () => {
    if (run.length === 1) {
      svg.append(el('circle', { class: 'dot', cx: x(run[0].t), cy: y(run[0].v), r: 3 }));
    } else if (run.length > 1) {
      const d = run.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
      const base = y(0).toFixed(1);
      svg.append(el('path', { class: 'area', d: `${d}L${x(run.at(-1).t).toFixed(1)},${base}L${x(run[0].t).toFixed(1)},${base}Z` }));
      svg.append(el('path', { class: 'line', d }));
    }
    run = [];
  };
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) flush();
    else run.push(p);
  }
  flush();
}

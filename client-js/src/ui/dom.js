// SPDX-License-Identifier: MIT
//
// The one way views build DOM. Strings always become text nodes (or
// textContent), so text that came from the server (room names, guest names,
// chat) can never be parsed as markup. Nothing in client-js uses innerHTML.

/**
 * Creates an element.
 *   h('button', { class: 'primary', dataset: { testid: 'x' }, onclick: fn }, 'Label')
 * props: `class`, `text` (textContent), `dataset`, `hidden`, `disabled`,
 * `value`, `checked`, on<event> listeners; anything else is an attribute.
 * Children may be nodes, strings (text), or null/false (skipped); arrays are flattened.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'hidden' || key === 'disabled' || key === 'checked' || key === 'required') node[key] = Boolean(value);
    else if (key === 'value') node.value = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** Appends nodes or strings (as text) to a parent. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces all children of a node. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A short "done" mark on a button (class `added` for 1.5 s). */
export function flash(button) {
  button.classList.add('added');
  setTimeout(() => button.classList.remove('added'), 1500);
}

/** A labelled input: <label for>…</label><input id>; returns { field, input }. */
export function labelledInput(id, label, inputProps = {}, hint = null) {
  const input = h('input', { id, name: id, ...inputProps });
  const field = h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    input,
    hint && h('small', { class: 'hint', text: hint }));
  return { field, input };
}

// Small stroke icons (24×24, currentColor). Built with createElementNS from
// the constant shapes below; decorative, so hidden from assistive tech.
const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  lock: [['rect', { x: 5, y: 11, width: 14, height: 10, rx: 2 }], ['path', { d: 'M8 11V7a4 4 0 0 1 8 0v4' }]],
  link: [['path', { d: 'M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7' }],
    ['path', { d: 'M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7' }]],
  crown: [['path', { d: 'M3 8l4.5 4L12 5l4.5 7L21 8l-2 11H5z' }]],
  send: [['path', { d: 'M22 2L11 13' }], ['path', { d: 'M22 2l-7 20-4-9-9-4z' }]],
  trash: [['path', { d: 'M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6' }]],
  exit: [['path', { d: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9' }]],
  users: [['circle', { cx: 9, cy: 8, r: 4 }], ['path', { d: 'M2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1M16 4a4 4 0 0 1 0 8M22 21v-1a6 6 0 0 0-4-5.6' }]],
  chat: [['path', { d: 'M21 12a8 8 0 0 1-11.6 7.1L3 21l1.9-6.4A8 8 0 1 1 21 12z' }]],
  play: [['path', { d: 'M7 4.5v15l12.5-7.5z', fill: 'currentColor' }]],
  pause: [['rect', { x: 6, y: 4.5, width: 4, height: 15, rx: 1, fill: 'currentColor' }],
    ['rect', { x: 14, y: 4.5, width: 4, height: 15, rx: 1, fill: 'currentColor' }]],
  previous: [['path', { d: 'M18 5v14L8 12z', fill: 'currentColor' }], ['path', { d: 'M6 5v14' }]],
  next: [['path', { d: 'M6 5v14l10-7z', fill: 'currentColor' }], ['path', { d: 'M18 5v14' }]],
  repeat: [['path', { d: 'M17 2l4 4-4 4' }], ['path', { d: 'M3 11V9a3 3 0 0 1 3-3h15' }],
    ['path', { d: 'M7 22l-4-4 4-4' }], ['path', { d: 'M21 13v2a3 3 0 0 1-3 3H3' }]],
  autoplay: [['path', { d: 'M4 12a8 8 0 0 1 14-5.3L20 9' }], ['path', { d: 'M20 4v5h-5' }],
    ['path', { d: 'M10 9v6l5-3z', fill: 'currentColor' }], ['path', { d: 'M20 12a8 8 0 0 1-14 5.3' }]],
  volume: [['path', { d: 'M4 9v6h4l5 4V5L8 9z' }], ['path', { d: 'M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12' }]],
  mute: [['path', { d: 'M4 9v6h4l5 4V5L8 9z' }], ['path', { d: 'M17 9l5 6M22 9l-5 6' }]],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
  close: [['path', { d: 'M6 6l12 12M18 6L6 18' }]],
  up: [['path', { d: 'M6 15l6-6 6 6' }]],
  down: [['path', { d: 'M6 9l6 6 6-6' }]],
  search: [['circle', { cx: 11, cy: 11, r: 7 }], ['path', { d: 'M20 20l-4-4' }]],
  music: [['path', { d: 'M9 18V5l11-2v13' }], ['circle', { cx: 6, cy: 18, r: 3 }], ['circle', { cx: 17, cy: 16, r: 3 }]],
  list: [['path', { d: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01' }]],
  headphones: [['path', { d: 'M3 18v-6a9 9 0 0 1 18 0v6' }],
    ['path', { d: 'M21 19a2 2 0 0 1-2 2h-1v-7h3zM3 19a2 2 0 0 0 2 2h1v-7H3z' }]],
  globe: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18' }]],
  sun: [['circle', { cx: 12, cy: 12, r: 4 }],
    ['path', { d: 'M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4' }]],
  moon: [['path', { d: 'M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z' }]],
  grip: [['circle', { cx: 9, cy: 6, r: 1.3, fill: 'currentColor', stroke: 'none' }], ['circle', { cx: 15, cy: 6, r: 1.3, fill: 'currentColor', stroke: 'none' }],
    ['circle', { cx: 9, cy: 12, r: 1.3, fill: 'currentColor', stroke: 'none' }], ['circle', { cx: 15, cy: 12, r: 1.3, fill: 'currentColor', stroke: 'none' }],
    ['circle', { cx: 9, cy: 18, r: 1.3, fill: 'currentColor', stroke: 'none' }], ['circle', { cx: 15, cy: 18, r: 1.3, fill: 'currentColor', stroke: 'none' }]],
  heart: [['path', { d: 'M12 20s-7.5-4.6-9.3-9.2C1.5 7.6 3.6 4.5 7 4.5c2 0 3.6 1.1 5 3 1.4-1.9 3-3 5-3 3.4 0 5.5 3.1 4.3 6.3C19.5 15.4 12 20 12 20z' }]],
  history: [['path', { d: 'M3 12a9 9 0 1 0 3-6.7L3 8' }], ['path', { d: 'M3 3v5h5' }], ['path', { d: 'M12 7v5l3 2' }]],
  lyrics: [['path', { d: 'M4 6h16M4 10h10M4 14h16M4 18h8' }]],
  wifiOff: [['path', { d: 'M2 2l20 20' }], ['path', { d: 'M8.5 16.5a5 5 0 0 1 7 0M5 12.5a10 10 0 0 1 5.2-2.7M19 12.5a10 10 0 0 0-2.1-1.6M2 8.8a15 15 0 0 1 4.2-2.6M22 8.8A15 15 0 0 0 11 5' }],
    ['circle', { cx: 12, cy: 20, r: 0.8, fill: 'currentColor' }]],
  check: [['path', { d: 'M5 12.5l4.5 4.5L19 7.5' }]],
  share: [['circle', { cx: 18, cy: 5, r: 3 }], ['circle', { cx: 6, cy: 12, r: 3 }], ['circle', { cx: 18, cy: 19, r: 3 }],
    ['path', { d: 'M8.6 13.5l6.8 4M15.4 6.5l-6.8 4' }]],
};

export function icon(name, className = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  for (const [k, v] of Object.entries({
    viewBox: '0 0 24 24', width: 18, height: 18, fill: 'none', stroke: 'currentColor',
    'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
    'aria-hidden': 'true', focusable: 'false', class: className,
  })) svg.setAttribute(k, String(v));
  for (const [tag, attrs] of ICONS[name] || []) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
    svg.append(shape);
  }
  return svg;
}

// SPDX-License-Identifier: MIT
//
// Reordering a list by dragging a handle, with pointer events so a mouse, a
// pen and a finger all work (HTML5 drag and drop does not on touch screens).
// The dragged row follows the pointer; the rows it passes slide aside to
// show where it will land. On release onDrop(from, to, rows) gets positions
// among the sortable rows and the rows as they were; the DOM is reordered at once so nothing jumps back
// while the owner of the list asks the server (it redraws from the reply).
// The handle also takes ArrowUp/ArrowDown (one step) for keyboards. While a
// drag is on, isDragging() is true: the owner holds back redraws.

const EDGE_PX = 36;     // autoscroll when the pointer is this close to the list's edge
const EDGE_STEP_PX = 12;

export function attachDragSort(list, { handle, item, onDrop, onEnd = () => {} }) {
  let drag = null;

  function rowsOf() {
    return [...list.querySelectorAll(item)];
  }

  function onDown(event) {
    const grip = event.target.closest(handle);
    if (!grip || !list.contains(grip) || event.button !== 0 || drag) return;
    const row = grip.closest(item);
    const rows = rowsOf();
    const from = rows.indexOf(row);
    if (from < 0) return;
    event.preventDefault();
    try { grip.setPointerCapture(event.pointerId); } catch { /* synthetic pointer */ }
    const tops = rows.map((r) => r.offsetTop);
    const heights = rows.map((r) => r.offsetHeight);
    const gap = rows.length > 1 ? Math.max(0, tops[1] - tops[0] - heights[0]) : 0;
    drag = {
      pointerId: event.pointerId, grip, row, rows, from, to: from, tops, heights,
      step: heights[from] + gap, startY: event.clientY, startScroll: list.scrollTop,
    };
    row.classList.add('dragging');
    list.classList.add('sorting');
  }

  function onMove(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const box = list.getBoundingClientRect();
    if (event.clientY < box.top + EDGE_PX) list.scrollTop -= EDGE_STEP_PX;
    else if (event.clientY > box.bottom - EDGE_PX) list.scrollTop += EDGE_STEP_PX;
    const { rows, from, tops, heights } = drag;
    const dy = event.clientY - drag.startY + (list.scrollTop - drag.startScroll);
    const center = tops[from] + heights[from] / 2 + dy;
    let to = from;
    for (let i = 0; i < from; i++) {
      if (center < tops[i] + heights[i] / 2) { to = i; break; }
    }
    for (let i = rows.length - 1; i > from; i--) {
      if (center > tops[i] + heights[i] / 2) { to = i; break; }
    }
    drag.to = to;
    drag.row.style.transform = `translateY(${dy}px)`;
    rows.forEach((row, i) => {
      if (i === from) return;
      let shift = 0;
      if (from < to && i > from && i <= to) shift = -drag.step;
      else if (to < from && i >= to && i < from) shift = drag.step;
      row.style.transform = shift ? `translateY(${shift}px)` : '';
    });
  }

  function finish(event, drop) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const { rows, row, from, to, grip } = drag;
    drag = null;
    for (const r of rows) r.style.transform = '';
    row.classList.remove('dragging');
    list.classList.remove('sorting');
    try { grip.releasePointerCapture(event.pointerId); } catch { /* already released */ }
    if (drop && to !== from) {
      if (to > from) rows[to].after(row);
      else rows[to].before(row);
      onDrop(from, to, rows);
    }
    onEnd();
  }

  function onKey(event) {
    const grip = event.target.closest(handle);
    if (!grip || drag) return;
    const step = event.key === 'ArrowUp' ? -1 : event.key === 'ArrowDown' ? 1 : 0;
    if (!step) return;
    event.preventDefault();
    const rows = rowsOf();
    const from = rows.indexOf(grip.closest(item));
    const to = from + step;
    if (from < 0 || to < 0 || to >= rows.length) return;
    onDrop(from, to, rows);
  }

  list.addEventListener('pointerdown', onDown);
  list.addEventListener('pointermove', onMove);
  list.addEventListener('pointerup', (event) => finish(event, true));
  list.addEventListener('pointercancel', (event) => finish(event, false));
  list.addEventListener('keydown', onKey);

  return { isDragging: () => drag !== null };
}

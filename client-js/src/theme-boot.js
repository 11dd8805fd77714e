// SPDX-License-Identifier: MIT
//
// Runs before the page is drawn (a classic, blocking script in <head>) so the
// first paint already has the right colours: the theme stored by the toggle
// (localStorage `roomcast.theme`), else the system's prefers-color-scheme,
// written to <html data-theme>. While nothing is stored it keeps following
// the system. The toggle itself is src/theme.js.
(function () {
  var KEY = 'roomcast.theme';
  var query = window.matchMedia ? window.matchMedia('(prefers-color-scheme: light)') : null;
  function stored() {
    try {
      var value = localStorage.getItem(KEY);
      return value === 'light' || value === 'dark' ? value : null;
    } catch (e) {
      return null;
    }
  }
  function apply() {
    document.documentElement.dataset.theme = stored() || (query && query.matches ? 'light' : 'dark');
  }
  apply();
  if (query && query.addEventListener) query.addEventListener('change', apply);
}());

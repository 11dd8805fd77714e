// SPDX-License-Identifier: MIT
//
// Entry point and router. The server serves index.html for `/` and
// `/room/*`, so the path decides the view: `/` → home, `/room/{id}` → room,
// `/room/{id}/host` → the host page (going live into the room).
// A view is `mount(container, params, router) → cleanup`; the router calls
// the cleanup (stop timers, leave the room, close the socket) before
// mounting the next one. Same-origin links marked `data-link` navigate
// without a page load.

import { mountHome } from './ui/home.js';
import { mountRoom } from './ui/room.js';
import { mountHost } from './ui/host.js';
import { mountNotFound } from './ui/not-found.js';
import { clearStatus } from './ui/status.js';
import { mountThemeToggle } from './theme.js';

const routes = [
  { pattern: /^\/$/, mount: mountHome, title: () => 'roomcast' },
  { pattern: /^\/room\/([^/]+)\/?$/, mount: mountRoom, title: () => 'Room · roomcast' },
  { pattern: /^\/room\/([^/]+)\/host\/?$/, mount: mountHost, title: () => 'Go live · roomcast' },
];

class Router {
  constructor(container) {
    this.container = container;
    this.cleanup = null;
  }

  start() {
    window.addEventListener('popstate', () => this.render());
    document.addEventListener('click', (event) => this.onClick(event));
    this.render();
  }

  navigate(path, { replace = false } = {}) {
    if (path === window.location.pathname) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.render();
  }

  onClick(event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest('a[data-link]');
    if (!link || link.origin !== window.location.origin) return;
    event.preventDefault();
    this.navigate(link.pathname);
  }

  render() {
    if (this.cleanup) {
      try { this.cleanup(); } catch (err) { console.error('roomcast: view cleanup failed', err); }
      this.cleanup = null;
    }
    clearStatus();
    this.container.replaceChildren();

    const path = window.location.pathname;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      let params;
      try {
        params = match.slice(1).map(decodeURIComponent);
      } catch {
        break; // malformed escape: treat as unknown page
      }
      document.title = route.title();
      this.cleanup = route.mount(this.container, params, this) || null;
      return;
    }
    document.title = 'Not found · roomcast';
    this.cleanup = mountNotFound(this.container, 'Page not found');
  }
}

mountThemeToggle(document.getElementById('theme-toggle'));
const router = new Router(document.getElementById('app'));
// Leave the room when the tab goes away; re-render if it comes back from the back/forward cache.
window.addEventListener('pagehide', () => {
  if (router.cleanup) router.cleanup();
  router.cleanup = null;
});
window.addEventListener('pageshow', (event) => {
  if (event.persisted) router.render();
});
router.start();

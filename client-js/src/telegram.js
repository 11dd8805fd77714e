// SPDX-License-Identifier: MIT
//
// The Telegram Mini App sign-in. Opened inside Telegram (the bot's "Open
// the room" button), the page gets the user's signed initData: from
// window.Telegram.WebApp.initData when Telegram's script is on the page,
// else from the launch parameters Telegram puts in the URL fragment
// (#tgWebAppData=…&tgWebAppVersion=…), read here so the page never loads a
// script from Telegram's servers. The fragment is read once, when this
// module loads, before any navigation can drop it. The server checks the
// signature (join's telegramInitData); nothing here trusts it.

function readInitData() {
  const webApp = globalThis.Telegram?.WebApp;
  if (webApp && typeof webApp.initData === 'string' && webApp.initData) {
    if (typeof webApp.ready === 'function') webApp.ready();
    return webApp.initData;
  }
  const fragment = globalThis.location?.hash?.replace(/^#/, '') ?? '';
  if (!fragment.includes('tgWebAppData=')) return '';
  return new URLSearchParams(fragment).get('tgWebAppData') || '';
}

const initData = readInitData();

/** The signed initData, or '' outside Telegram. */
export function telegramInitData() {
  return initData;
}

/** The name initData says (unchecked: only for the page until the server answers). */
export function telegramName() {
  try {
    const user = JSON.parse(new URLSearchParams(initData).get('user') || 'null');
    const name = [user?.first_name, user?.last_name]
      .filter((s) => typeof s === 'string' && s).join(' ');
    return name || (typeof user?.username === 'string' ? user.username : '') || 'Telegram user';
  } catch {
    return 'Telegram user';
  }
}

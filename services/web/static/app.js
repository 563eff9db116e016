// The page: a hash router over views of the public API. Each view renders
// into <main> and registers what must stop when the reader leaves it
// (streams, timers, requests).

import { session } from './api.js';
import { h, problemBox } from './dom.js';
import { analyticsView } from './analytics.js';
import { itemView, listView } from './items.js';
import { lineageView } from './lineage.js';
import { signinView, sellView, notificationsView, refreshUnread } from './account.js';
import { carry, takeCarried } from './nav.js';

const main = document.getElementById('main');
const flashBox = document.getElementById('flash');

const routes = [
  [/^\/$/, listView, 'Auctions'],
  [/^\/items\/([^/]+)$/, itemView, 'Item'],
  [/^\/items\/([^/]+)\/lineage$/, lineageView, 'Lineage'],
  [/^\/sell$/, sellView, 'Sell an item'],
  [/^\/signin$/, signinView, 'Sign in'],
  [/^\/notifications$/, notificationsView, 'Notifications'],
  [/^\/analytics$/, analyticsView, 'Analytics'],
];

let current = null; // the view on screen: {stop()}
let first = true;

async function route() {
  const raw = location.hash.slice(1) || '/';
  if (!raw.startsWith('/')) return; // an anchor in the page, such as #main
  const [path, q = ''] = raw.split('?');
  current?.stop();
  const ctl = new AbortController();
  const stops = [];
  current = {
    stop() {
      ctl.abort();
      for (const fn of stops.splice(0)) fn();
    },
  };
  const view = {
    main,
    query: new URLSearchParams(q),
    signal: ctl.signal,
    defer: (fn) => stops.push(fn),
    every(ms, fn) {
      const t = setInterval(fn, ms);
      stops.push(() => clearInterval(t));
    },
  };
  flashBox.className = 'flash';
  flashBox.textContent = takeCarried() || '';
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  for (const a of document.querySelectorAll('nav a')) {
    const target = a.getAttribute('href').slice(1);
    if (target === path || (target !== '/' && path.startsWith(target))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const match = routes.find(([re]) => re.test(path));
  try {
    if (!match) {
      document.title = 'Not found · Auctions';
      main.append(h('h1', { tabindex: -1 }, 'Not found'), h('p', {}, 'There is no such page. ', h('a', { href: '#/' }, 'See the auctions.')));
    } else {
      const [re, render, title] = match;
      document.title = `${title} · Auctions`;
      await render(view, ...re.exec(path).slice(1).map(decodeURIComponent));
    }
  } catch (err) {
    if (err.name !== 'AbortError') {
      const box = h('div', { role: 'alert' });
      main.append(box);
      problemBox(box, err.status !== undefined ? err : { title: 'Something went wrong', detail: String(err.message || err) });
    }
  } finally {
    main.removeAttribute('aria-busy');
  }
  // Move focus to the new page's heading, as a page load would, so a
  // keyboard or screen reader user starts there.
  if (!first && !ctl.signal.aborted) main.querySelector('h1')?.focus();
  first = false;
}

function renderAccount() {
  const box = document.getElementById('account');
  const s = session.get();
  if (!s) {
    box.replaceChildren(h('a', { href: '#/signin', id: 'signin-link' }, 'Sign in'));
    delete box.dataset.user;
    return;
  }
  box.dataset.user = s.userId;
  box.replaceChildren(
    h('span', {}, 'Signed in as ', h('strong', { id: 'me', title: s.userId }, s.email || s.userId)),
    h('button', {
      type: 'button', id: 'signout', class: 'secondary',
      onclick() {
        session.clear();
        carry('You are signed out.');
        route();
      },
    }, 'Sign out'),
  );
}

addEventListener('session', () => {
  renderAccount();
  refreshUnread();
});
addEventListener('hashchange', route);
renderAccount();
refreshUnread();
setInterval(refreshUnread, 15000);
route();

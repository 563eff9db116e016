// Views of the caller's account: sign in and register, place an item, and
// the notifications inbox (with the unread count in the header).

import { api, justPlaced, newKey, session } from './api.js';
import { clearErrors, field, h, problemBox } from './dom.js';
import { toMinor, when } from './format.js';
import { go } from './nav.js';

const DEMO = [
  ['Alice Archer', 'alice@example.com'],
  ['Bob Baker', 'bob@example.com'],
  ['Carol Chen', 'carol@example.com'],
];
const DEMO_PASSWORD = 'auction-demo';

// next is where to go after signing in: the page that sent the reader here.
function next(view) {
  const n = view.query.get('next') || '/';
  return n.startsWith('/') ? n : '/';
}

// needSignIn renders a prompt instead of a view that needs a session.
export function needSignIn(view, title, why) {
  const back = location.hash.slice(1) || '/';
  view.main.append(
    h('h1', { tabindex: -1 }, title),
    h('p', { class: 'notice' }, why, ' ', h('a', { href: `#/signin?next=${encodeURIComponent(back)}`, id: 'signin-prompt' }, 'Sign in'), ' or register first.'),
  );
}

async function signIn(email, password) {
  const { data } = await api('/v1/auth/token', { method: 'POST', body: { email, password } });
  session.set(data.accessToken, email);
}

export function signinView(view) {
  const s = session.get();
  const msg = h('div', { id: 'signin-message', role: 'alert', hidden: true });
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submitBtn = h('button', { id: 'signin-submit', type: 'submit' }, 'Sign in');

  async function attempt(e, p) {
    clearErrors(form);
    msg.hidden = true;
    submitBtn.disabled = true;
    try {
      await signIn(e, p);
      go(next(view), `Welcome. You are signed in as ${e}.`);
    } catch (err) {
      if (err.name === 'AbortError') return;
      problemBox(msg, err.status === 401 ? { ...err, title: 'Sign-in failed', detail: 'The email or the password is wrong.', errors: [] } : err, form);
    } finally {
      submitBtn.disabled = false;
    }
  }

  const form = h('form', {
    id: 'signin-form',
    onsubmit(ev) {
      ev.preventDefault();
      attempt(email.value.trim(), password.value);
    },
  }, field('Email', email), field('Password', password), submitBtn);

  const demo = h('section', { class: 'card', 'aria-labelledby': 'demo-h' },
    h('h2', { id: 'demo-h' }, 'Demo users'),
    h('p', { class: 'hint' }, `When the platform runs with its demo users (the default of make run), each has the password “${DEMO_PASSWORD}”.`),
    h('ul', { class: 'plain' }, DEMO.map(([name, mail]) => h('li', {},
      h('button', { type: 'button', class: 'secondary', 'data-demo': mail, onclick: () => attempt(mail, DEMO_PASSWORD) }, `Sign in as ${name}`),
      ' ', h('span', { class: 'hint' }, mail)))),
  );

  const reg = registerForm(view);
  view.main.append(
    h('h1', { tabindex: -1 }, 'Sign in'),
    s ? h('p', { class: 'notice' }, `You are signed in as ${s.email || s.userId}. Signing in again switches user.`) : '',
    h('div', { class: 'columns' },
      h('section', { class: 'card', 'aria-labelledby': 'signin-h' }, h('h2', { id: 'signin-h' }, 'With your account'), msg, form),
      demo),
    reg,
  );
}

function registerForm(view) {
  const msg = h('div', { id: 'register-message', role: 'alert', hidden: true });
  const input = (id, attrs = {}) => h('input', { id: `register-${id}`, name: id, ...attrs });
  const name = input('name', { autocomplete: 'name', required: true, maxlength: 100 });
  const email = input('email', { type: 'email', autocomplete: 'email', required: true });
  const password = input('password', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 72 });
  const line1 = input('line1', { autocomplete: 'address-line1', required: true });
  const city = input('city', { autocomplete: 'address-level2', required: true });
  const postcode = input('postcode', { autocomplete: 'postal-code', required: true });
  const country = input('country', { autocomplete: 'country', required: true, maxlength: 2, size: 3, pattern: '[A-Za-z]{2}' });
  const submitBtn = h('button', { id: 'register-submit', type: 'submit' }, 'Create account and sign in');
  const fields = {
    '/name': name.id, '/email': email.id, '/password': password.id, '/address/line1': line1.id,
    '/address/city': city.id, '/address/postcode': postcode.id, '/address/country': country.id,
  };
  const form = h('form', {
    id: 'register-form',
    async onsubmit(ev) {
      ev.preventDefault();
      msg.hidden = true;
      submitBtn.disabled = true;
      const body = {
        name: name.value.trim(), email: email.value.trim(), password: password.value,
        address: { line1: line1.value.trim(), city: city.value.trim(), postcode: postcode.value.trim(), country: country.value.trim().toUpperCase() },
      };
      try {
        await api('/v1/users', { method: 'POST', body, signal: view.signal });
        await signIn(body.email, body.password);
        go(next(view), `Welcome, ${body.name}. Your account is ready and you are signed in.`);
      } catch (err) {
        if (err.name !== 'AbortError') problemBox(msg, err, form, fields);
      } finally {
        submitBtn.disabled = false;
      }
    },
  },
  h('div', { class: 'grid2' },
    field('Name', name), field('Email', email),
    field('Password', password, '8 to 72 characters.'), field('Street and number', line1),
    field('City', city), field('Postcode', postcode),
    field('Country', country, 'Two letters, such as GB or FR.')),
  submitBtn);
  return h('section', { class: 'card', 'aria-labelledby': 'register-h' }, h('h2', { id: 'register-h' }, 'New here? Create an account'), msg, form);
}

const CURRENCIES = ['EUR', 'GBP', 'USD', 'CHF', 'JPY'];
const UNITS = [['seconds', 1], ['minutes', 60], ['hours', 3600], ['days', 86400]];

export function sellView(view) {
  if (!session.get()) {
    needSignIn(view, 'Sell an item', 'You need an account to put an item up for auction.');
    return;
  }
  const msg = h('div', { id: 'sell-message', role: 'alert', hidden: true });
  const title = h('input', { id: 'sell-title', name: 'title', required: true, maxlength: 120 });
  const description = h('textarea', { id: 'sell-description', name: 'description', rows: 3, maxlength: 4000 });
  const category = h('input', { id: 'sell-category', name: 'category', required: true, pattern: '[a-z0-9-]{1,40}', autocapitalize: 'none' });
  const currency = h('select', { id: 'sell-currency', name: 'currency' }, CURRENCIES.map((c) => h('option', { value: c }, c)));
  const starting = h('input', { id: 'sell-starting', name: 'startingPrice', inputmode: 'decimal', required: true, autocomplete: 'off' });
  const reserve = h('input', { id: 'sell-reserve', name: 'reservePrice', inputmode: 'decimal', autocomplete: 'off' });
  const duration = h('input', { id: 'sell-duration', name: 'duration', type: 'number', min: 1, value: 5, required: true });
  const unit = h('select', { id: 'sell-unit', name: 'unit', 'aria-label': 'Unit of the duration' }, UNITS.map(([u, s]) => h('option', { value: s, selected: u === 'minutes' }, u)));
  // Soft close: late bids extend the auction, so nobody wins by sniping.
  const soft = h('input', { id: 'sell-soft-close', name: 'softClose', type: 'checkbox' });
  const softWindow = h('input', { id: 'sell-soft-window', name: 'windowSeconds', type: 'number', min: 10, max: 3600, value: 120 });
  const submitBtn = h('button', { id: 'sell-submit', type: 'submit' }, 'Put it up for auction');
  const fields = {
    '/title': title.id, '/description': description.id, '/category': category.id, '/currency': currency.id,
    '/startingPrice': starting.id, '/reservePrice': reserve.id, '/durationSeconds': duration.id, '/endsAt': duration.id,
    '/softClose': softWindow.id,
  };
  let retry = null; // {sent, key}: an item whose answer was lost, to send again under the same key
  const form = h('form', {
    id: 'sell-form',
    async onsubmit(ev) {
      ev.preventDefault();
      msg.hidden = true;
      const cur = currency.value;
      const body = {
        title: title.value.trim(), category: category.value.trim(), currency: cur,
        startingPrice: toMinor(starting.value, cur),
        durationSeconds: Math.round(Number(duration.value) * Number(unit.value)),
      };
      if (description.value.trim()) body.description = description.value.trim();
      if (soft.checked) body.softClose = { windowSeconds: Math.round(Number(softWindow.value)) };
      const errors = [];
      if (Number.isNaN(body.startingPrice)) errors.push({ field: '/startingPrice', code: 'format', message: `Enter the starting price as an amount in ${cur}, such as 50.00.` });
      if (reserve.value.trim()) {
        body.reservePrice = toMinor(reserve.value, cur);
        if (Number.isNaN(body.reservePrice)) errors.push({ field: '/reservePrice', code: 'format', message: `Enter the reserve as an amount in ${cur}, or leave it empty.` });
      }
      if (errors.length) {
        problemBox(msg, { title: 'Check the form', errors }, form, fields);
        return;
      }
      submitBtn.disabled = true;
      // The same item sent again after a lost answer keeps its key: placed once.
      const sent = JSON.stringify(body);
      const key = retry?.sent === sent ? retry.key : newKey();
      retry = null;
      try {
        const { data } = await api('/v1/items', { method: 'POST', auth: true, body, signal: view.signal, headers: { 'Idempotency-Key': key } });
        justPlaced.add(data.itemId);
        go(`/items/${encodeURIComponent(data.itemId)}`, `Your item is placed and open for bids until ${when(data.endsAt)}.`);
      } catch (err) {
        if (err.status === 0 || err.status === 503 || err.status === 409) retry = { sent, key };
        if (err.name !== 'AbortError') problemBox(msg, err, form, fields);
      } finally {
        submitBtn.disabled = false;
      }
    },
  },
  field('Title', title),
  field('Description', description, 'Optional.'),
  h('div', { class: 'grid2' },
    field('Category', category, 'Lowercase letters, digits and “-”, such as cameras.'),
    field('Currency', currency)),
  h('div', { class: 'grid2' },
    field('Starting price', starting, 'In the currency above, such as 50.00.'),
    field('Reserve price', reserve, 'Optional: the item sells only if the highest bid reaches it. Bidders never see it.')),
  h('fieldset', { class: 'inline' },
    h('legend', {}, 'Open for bids for'),
    h('label', { for: duration.id, class: 'vh' }, 'Duration'), duration, unit,
    h('p', { class: 'hint' }, 'From 10 seconds to 30 days.'),
    h('p', { class: 'field-error', id: `${duration.id}-error`, hidden: true })),
  h('fieldset', { class: 'inline' },
    h('legend', {}, 'Soft close'),
    soft, h('label', { for: soft.id }, ' A bid in the last '), softWindow,
    h('label', { for: softWindow.id }, ' seconds extends the auction by as much (up to an hour in all).'),
    h('p', { class: 'field-error', id: `${softWindow.id}-error`, hidden: true })),
  submitBtn);
  duration.setAttribute('aria-describedby', `${duration.id}-error`);
  view.main.append(h('h1', { tabindex: -1 }, 'Sell an item'), h('section', { class: 'card' }, msg, form));
}

const seenKey = (s) => `auction.seen.${s.userId}`;

// refreshUnread shows in the header how many notifications arrived since the
// reader last opened the inbox.
export async function refreshUnread() {
  const badge = document.getElementById('unread');
  const s = session.get();
  if (!s) {
    badge.hidden = true;
    return;
  }
  try {
    const { data } = await api('/v1/me/notifications', { auth: true });
    const seen = Number(localStorage.getItem(seenKey(s))) || 0;
    const n = data.notifications.filter((x) => Date.parse(x.at) > seen).length;
    badge.hidden = n === 0;
    badge.replaceChildren(String(n), h('span', { class: 'vh' }, ' unread'));
  } catch {
    badge.hidden = true; // the header is no place for this error; the inbox shows it
  }
}

const KIND = { won: 'Won', lost: 'Lost', sold: 'Sold', unsold: 'Not sold', outbid: 'Outbid' };

export async function notificationsView(view) {
  const s = session.get();
  if (!s) {
    needSignIn(view, 'Notifications', 'Notifications are personal.');
    return;
  }
  const state = h('p', { id: 'notifications-state', class: 'hint' }, 'Loading…');
  const list = h('ul', { id: 'notifications', class: 'inbox', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const msg = h('div', { role: 'alert', hidden: true });
  view.main.append(
    h('h1', { tabindex: -1 }, 'Notifications'),
    h('p', {}, 'When an auction you sold in or bid on closes, the platform tells you here (and by email). They arrive a moment after the auction closes.'),
    state, msg, list,
  );
  const shown = new Set();
  async function load() {
    try {
      const { data } = await api('/v1/me/notifications', { auth: true, signal: view.signal });
      msg.hidden = true;
      const ns = data.notifications;
      // Newest first; new ones go on top.
      for (const n of [...ns].reverse()) {
        if (shown.has(n.id)) continue;
        shown.add(n.id);
        list.prepend(h('li', { 'data-kind': n.kind, 'data-item': n.itemId },
          h('span', { class: `kind ${n.kind}` }, KIND[n.kind] || n.kind),
          h('p', {}, n.message),
          h('p', { class: 'hint' }, h('time', { datetime: n.at }, when(n.at)), ' · ', h('a', { href: `#/items/${encodeURIComponent(n.itemId)}` }, 'Open the item'))));
      }
      state.textContent = ns.length ? `${ns.length} notification${ns.length === 1 ? '' : 's'}. This list updates by itself.` : 'Nothing yet. This list updates by itself.';
      if (ns.length) localStorage.setItem(seenKey(s), String(Math.max(...ns.map((n) => Date.parse(n.at) || 0))));
      refreshUnread();
    } catch (err) {
      if (err.name !== 'AbortError') problemBox(msg, err);
    }
  }
  await load();
  view.every(3000, load);
}

// The auctions: the list with live prices, and an item's page with its bid
// form and live feed of the processor's decisions.

import { MAX_STREAMS, api, follow, justPlaced, knownName, nameOf, newKey, Problem, rememberName, session } from './api.js';
import { h, problemBox } from './dom.js';
import { clock, left, money, toMajor, toMinor, when } from './format.js';
import { refreshUnread } from './account.js';

const enc = encodeURIComponent;

// price is what an item goes for now: the highest bid, or its starting price.
const price = (it) => (it.highestBid ? it.highestBid.amount : it.startingPrice);

// minimumBid is the least the next bid may be.
const minimumBid = (it) => (it.highestBid ? it.highestBid.amount + it.minIncrement : it.startingPrice);

// who is a person as the page names them: their display name (the id
// until it is known), and "(you)" for the one signed in.
const who = (id, name) => {
  rememberName(id, name);
  const n = name || knownName(id) || id;
  const s = session.get();
  return s && s.userId === id ? `${n} (you)` : n;
};

// person is who as an element that names them as soon as the name is
// known, for ids the event stream carries without one.
function person(id, name) {
  const el = h('span', { class: 'who', 'data-user': id }, who(id, name));
  if (!name && !knownName(id)) nameOf(id).then(() => { el.textContent = who(id); });
  return el;
}

function pulse(el) {
  el.classList.remove('changed');
  void el.offsetWidth; // restart the animation
  el.classList.add('changed');
}

// --- the list ---------------------------------------------------------------

const REFRESH = 4000;
const PAGE = 50;

export async function listView(view) {
  const status = view.query.get('status') ?? 'open';
  const category = view.query.get('category') || '';
  const items = new Map(); // itemId → item, as last seen
  const rows = new Map(); // itemId → <tr>
  const streams = new Map(); // itemId → stop
  let cursor = '';
  let loaded = PAGE;

  const state = h('p', { id: 'list-state', class: 'hint', 'aria-live': 'off' });
  const msg = h('div', { role: 'alert', hidden: true });
  const tbody = h('tbody', { id: 'items' });
  const empty = h('p', { id: 'list-empty', class: 'notice', hidden: true },
    status === 'closed' ? 'No closed auctions yet.' : 'No open auctions right now. ', status === 'closed' ? null : h('a', { href: '#/sell' }, 'Sell an item to start one.'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => load(true) }, 'Show more');
  const statusSel = h('select', { id: 'filter-status', name: 'status' },
    [['open', 'Open'], ['closed', 'Closed'], ['', 'All']].map(([v, t]) => h('option', { value: v, selected: v === status }, t)));
  const catInput = h('input', { id: 'filter-category', name: 'category', value: category, autocapitalize: 'none', size: 14 });
  const filters = h('form', {
    role: 'search', class: 'filters', 'aria-label': 'Filter auctions',
    onsubmit(ev) {
      ev.preventDefault();
      const q = new URLSearchParams();
      if (statusSel.value !== 'open') q.set('status', statusSel.value);
      if (catInput.value.trim()) q.set('category', catInput.value.trim());
      location.hash = `#/${q.size ? `?${q}` : ''}`;
    },
  },
  h('label', { for: statusSel.id }, 'Show'), statusSel,
  h('label', { for: catInput.id }, 'Category'), catInput,
  h('button', { type: 'submit', class: 'secondary' }, 'Apply'));

  view.main.append(
    h('h1', { tabindex: -1 }, status === 'closed' ? 'Closed auctions' : status ? 'Open auctions' : 'All auctions'),
    filters, state, msg,
    h('table', { class: 'items' },
      h('caption', { class: 'vh' }, 'Auctions, ending soonest first'),
      h('thead', {}, h('tr', {}, ['Item', 'Category', 'Price', 'Bids', 'Ends', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody),
    empty, more);
  tbody.parentElement.hidden = true;

  function row(it) {
    let tr = rows.get(it.itemId);
    if (!tr) {
      tr = h('tr', { id: `row-${it.itemId}`, 'data-item': it.itemId },
        h('th', { scope: 'row' }, h('a', { href: `#/items/${enc(it.itemId)}` }, it.title)),
        h('td', {}, it.category), h('td', { class: 'amount num' }), h('td', { class: 'bids num' }),
        h('td', { class: 'ends' }), h('td', { class: 'status' }));
      rows.set(it.itemId, tr);
    }
    const cell = tr.querySelector('.amount');
    const amount = String(price(it));
    if (cell.dataset.amount && cell.dataset.amount !== amount) pulse(cell);
    cell.dataset.amount = amount;
    cell.textContent = money(price(it), it.currency);
    tr.querySelector('.bids').textContent = String(it.bidCount);
    tr.querySelector('.status').textContent = it.status === 'closed' ? (it.result?.sold ? 'sold' : 'closed') : it.status;
    tr.querySelector('.ends').replaceChildren(h('time', { datetime: it.endsAt, title: when(it.endsAt) }, it.status === 'closed' ? when(it.endsAt) : left(it.endsAt) || 'closing…'));
    return tr;
  }

  function render() {
    const sorted = [...items.values()].sort((a, b) => (a.endsAt < b.endsAt ? -1 : a.endsAt > b.endsAt ? 1 : 0));
    tbody.replaceChildren(...sorted.map(row));
    tbody.parentElement.hidden = sorted.length === 0;
    empty.hidden = sorted.length !== 0;
    more.hidden = !cursor;
    // Follow the auctions ending soonest live; the others refresh on a timer.
    const want = new Set(sorted.filter((it) => it.status !== 'closed').slice(0, MAX_STREAMS).map((it) => it.itemId));
    for (const [id, stop] of streams) {
      if (!want.has(id)) {
        stop();
        streams.delete(id);
      }
    }
    for (const id of want) {
      if (streams.has(id)) continue;
      const stop = follow(id, {
        item: (it) => update(it),
        accepted(b) {
          const it = items.get(b.itemId);
          if (it) update({ ...it, highestBid: { amount: b.amount.amount, bidderId: b.bidderId, at: b.decidedAt }, bidCount: b.bidCount, endsAt: b.endsAt || it.endsAt });
        },
        completed(c) {
          const it = items.get(c.itemId);
          if (it) update({ ...it, status: 'closed', result: { sold: c.sold, winnerId: c.winnerId, price: c.price?.amount } });
          streams.delete(c.itemId);
        },
      });
      if (stop) streams.set(id, stop);
    }
    const open = sorted.filter((it) => it.status !== 'closed').length;
    let live = '';
    if (streams.size && streams.size === open) live = 'Prices are live.';
    else if (streams.size) live = `Prices are live for the ${streams.size} ending soonest; the others refresh every few seconds.`;
    state.textContent = `Updated ${new Date().toLocaleTimeString()}. ${live}`;
  }

  function update(it) {
    const keep = (status === '' || it.status === status) && (!category || it.category === category);
    if (!keep) return;
    items.set(it.itemId, it);
    row(it);
  }

  async function load(next = false) {
    const q = new URLSearchParams({ limit: String(next ? PAGE : Math.min(100, loaded)) });
    if (status) q.set('status', status);
    if (category) q.set('category', category);
    if (next && cursor) q.set('cursor', cursor);
    try {
      const { data } = await api(`/v1/items?${q}`, { signal: view.signal });
      msg.hidden = true;
      if (next) {
        loaded += data.items.length;
      } else {
        // A fresh look at the first pages: drop what left the filter.
        const ids = new Set(data.items.map((it) => it.itemId));
        for (const id of items.keys()) if (!ids.has(id)) items.delete(id);
      }
      for (const it of data.items) items.set(it.itemId, it);
      cursor = data.nextCursor || '';
      render();
    } catch (err) {
      if (err.name !== 'AbortError') problemBox(msg, err);
    }
  }

  view.defer(() => {
    for (const stop of streams.values()) stop();
  });
  await load();
  view.every(REFRESH, () => load());
  view.every(1000, () => {
    for (const it of items.values()) if (it.status !== 'closed') row(it);
  });
}

// --- an item ----------------------------------------------------------------

// loadItem reads an item, waiting a little for one that was just placed: the
// gateway answers 404 until the processor has stored it.
// loadItem reads the item. One this page just placed may take a moment to
// reach the processor's view: it is waited for, up to 10 s; any other 404
// is no such item at once.
async function loadItem(view, id, note) {
  const deadline = Date.now() + (justPlaced.has(id) ? 10000 : 0);
  for (;;) {
    try {
      return (await api(`/v1/items/${enc(id)}`, { signal: view.signal })).data;
    } catch (err) {
      if (!(err instanceof Problem) || err.status !== 404 || Date.now() >= deadline) throw err;
      note.hidden = false;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

export async function itemView(view, id) {
  const note = h('p', { class: 'notice', role: 'status', hidden: true }, 'This item was just placed: waiting for the auction processor to store it…');
  const loading = h('p', { class: 'hint', id: 'item-loading', role: 'status' }, 'Loading the item…');
  view.main.append(loading, note);
  let it;
  try {
    it = await loadItem(view, id, note);
  } catch (err) {
    if (err.status === 404) {
      note.remove();
      view.main.append(h('h1', { tabindex: -1 }, 'No such item'), h('p', { class: 'notice' }, `There is no item ${id}. `, h('a', { href: '#/' }, 'See the auctions.')));
      return;
    }
    throw err;
  } finally {
    loading.remove();
  }
  note.remove();
  if (view.signal.aborted) return;
  document.title = `${it.title} · Auctions`;
  const me = () => session.get()?.userId;

  // The parts that change.
  const priceEl = h('p', { id: 'price', class: 'price' });
  const priceLabel = h('p', { class: 'label', id: 'price-label' });
  const priceNote = h('p', { id: 'price-note', class: 'hint' });
  // Told live when someone overtakes the reader's highest bid; the
  // outbid notice in their inbox follows out of band.
  const outbidEl = h('p', { id: 'outbid-notice', class: 'outbid-notice', role: 'alert', hidden: true });
  const statusEl = h('dd', { id: 'item-status' });
  const countdown = h('span', { id: 'countdown' });
  const endsEl = h('time', { id: 'ends-at' });
  const reserveEl = h('dd', { id: 'reserve' });
  const result = h('section', { id: 'result', class: 'result', 'aria-live': 'polite', hidden: true });
  const feed = h('ol', { id: 'feed', class: 'feed', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const liveState = h('span', { id: 'live-state', class: 'live-state' }, 'connecting…');
  const bidBox = h('section', { class: 'card bid', 'aria-labelledby': 'bid-h' });

  view.main.append(
    h('article', { class: 'item', 'data-item': it.itemId },
      h('h1', { tabindex: -1 }, it.title),
      h('p', { class: 'meta' }, h('a', { class: 'chip', href: `#/?status=&category=${enc(it.category)}` }, it.category), ' · sold by ', person(it.sellerId, it.sellerName)),
      it.description ? h('p', { class: 'description' }, it.description) : null,
      h('div', { class: 'columns' },
        h('section', { class: 'card', 'aria-labelledby': 'price-label' },
          priceLabel, priceEl, priceNote, outbidEl,
          h('dl', { class: 'facts' },
            h('dt', {}, 'Status'), statusEl,
            h('dt', {}, 'Ends'), h('dd', {}, endsEl, ' ', countdown),
            ...(it.softClose ? [h('dt', {}, 'Soft close'), h('dd', { id: 'soft-close' },
              `a bid in the last ${it.softClose.windowSeconds} s extends it by as much, up to ${Math.round(it.softClose.maxExtensionSeconds / 60)} min in all`)] : []),
            h('dt', {}, 'Starting price'), h('dd', {}, money(it.startingPrice, it.currency)),
            h('dt', {}, 'Minimum raise'), h('dd', {}, money(it.minIncrement, it.currency)),
            h('dt', {}, 'Reserve'), reserveEl),
          result),
        bidBox),
      h('section', { class: 'card', 'aria-labelledby': 'feed-h' },
        h('h2', { id: 'feed-h' }, 'Live bids ', liveState),
        h('p', { class: 'hint' }, 'Every decision of the auction processor on this item, as it happens (newest first).'),
        feed),
      h('p', {}, h('a', { href: `#/items/${enc(it.itemId)}/lineage`, id: 'lineage-link' }, 'See the events behind this item (lineage)')),
    ));

  // The bid form.
  const amount = h('input', { id: 'bid-amount', name: 'amount', inputmode: 'decimal', autocomplete: 'off', required: true });
  const hint = h('p', { id: 'bid-hint', class: 'hint' });
  const bidMsg = h('p', { id: 'bid-message', class: 'bid-message', role: 'status', 'aria-live': 'polite' });
  const submitBtn = h('button', { id: 'bid-submit', type: 'submit' }, 'Place bid');
  let suggested = '';
  let edited = false; // the reader typed an amount of their own
  amount.addEventListener('input', () => {
    edited = true;
  });
  let retry = null; // {amount, key}: a bid whose answer was lost, to send again under the same key

  function say(outcome, text, minor) {
    bidMsg.dataset.outcome = outcome;
    if (minor !== undefined) bidMsg.dataset.amount = String(minor);
    bidMsg.className = `bid-message ${outcome}`;
    bidMsg.textContent = text;
  }

  async function placeBid(ev) {
    ev.preventDefault();
    bidMsg.dataset.input = amount.value; // what this message answers
    const minor = toMinor(amount.value, it.currency);
    if (Number.isNaN(minor) || minor <= 0) {
      amount.setAttribute('aria-invalid', 'true');
      say('invalid', `Enter an amount in ${it.currency}, such as ${toMajor(minimumBid(it), it.currency)}.`);
      amount.focus();
      return;
    }
    amount.removeAttribute('aria-invalid');
    const key = retry && retry.amount === minor ? retry.key : newKey();
    retry = null;
    submitBtn.disabled = true;
    say('sending', `Placing your bid of ${money(minor, it.currency)}…`, minor);
    try {
      const { status, data } = await api(`/v1/items/${enc(it.itemId)}/bids`, {
        method: 'POST', auth: true, body: { amount: minor },
        // Wait up to 5 s for the processor's verdict instead of a bare 202.
        headers: { Prefer: 'wait=5', 'Idempotency-Key': key },
      });
      if (status === 200 && data.status === 'accepted') {
        say('accepted', `Accepted: your bid of ${money(minor, it.currency)} is the highest (bid number ${data.bidCount}).`, minor);
        amount.value = suggested; // kept current as the price moves
      } else {
        say('pending', `Your bid of ${money(minor, it.currency)} is recorded; the processor's decision will appear in the live feed.`, minor);
      }
    } catch (err) {
      const p = err instanceof Problem ? err : new Problem(0, { title: 'Error', detail: String(err.message || err) });
      const reasons = p.errors.map((e) => e.message || e.code).filter(Boolean).join('; ');
      const code = p.errors.find((e) => e.code)?.code;
      if (p.status === 409 && p.kind === 'bid-rejected') {
        say('rejected', `Rejected: ${p.detail || reasons}${code ? ` (${code})` : ''}.`, minor);
        // Offer the least the server says the next bid may be.
        if (p.minimumNext?.currency === it.currency) amount.value = suggested = toMajor(p.minimumNext.amount, it.currency);
      } else if (p.status === 422) {
        say('refused', `Refused: ${reasons || p.detail}${code ? ` (${code})` : ''}.`, minor);
      } else if (p.status === 401) {
        say('error', 'Your session has ended. Sign in again to bid.', minor);
      } else if (p.status === 429) {
        say('error', `Too many requests. Try again in ${p.retryAfter || 1} s.`, minor);
      } else {
        if (p.status === 0 || p.status === 503) retry = { amount: minor, key };
        say('error', `${p.title}${p.detail ? `: ${p.detail}` : ''}${retry ? ' Nothing is lost: sending it again places it once.' : ''}`, minor);
      }
    } finally {
      submitBtn.disabled = false;
      edited = false; // answered: suggest the next minimum again
    }
  }

  function renderBidBox() {
    const mine = me();
    bidBox.replaceChildren(h('h2', { id: 'bid-h' }, 'Place a bid'));
    if (it.status === 'closed') {
      bidBox.append(h('p', {}, 'Bidding has closed.'));
      return;
    }
    if (!mine) {
      bidBox.append(h('p', {}, h('a', { href: `#/signin?next=${enc(`/items/${it.itemId}`)}`, id: 'signin-to-bid' }, 'Sign in'), ' to bid.'));
      return;
    }
    if (mine === it.sellerId) {
      bidBox.append(h('p', { id: 'own-item' }, 'This is your item: sellers cannot bid on their own items.'));
      return;
    }
    amount.setAttribute('aria-describedby', 'bid-hint bid-message');
    bidBox.append(h('form', { id: 'bid-form', onsubmit: placeBid },
      h('div', { class: 'field' },
        h('label', { for: amount.id }, `Your bid (${it.currency})`),
        h('div', { class: 'inline' }, amount, submitBtn),
        hint)),
    bidMsg);
  }

  function renderState() {
    const closed = it.status === 'closed';
    priceLabel.textContent = closed ? (it.result?.sold ? 'Sold for' : 'Final price') : it.highestBid ? 'Highest bid' : 'Starting price';
    priceEl.dataset.amount = String(price(it));
    priceEl.dataset.currency = it.currency;
    priceEl.textContent = money(price(it), it.currency);
    priceNote.textContent = it.highestBid ? `by ${who(it.highestBid.bidderId, it.highestBid.bidderName)} · ${it.bidCount} accepted bid${it.bidCount === 1 ? '' : 's'}` : 'No bids yet.';
    statusEl.textContent = it.status; // open, closing (no new bids, the last verdicts to come) or closed
    statusEl.dataset.status = it.status;
    reserveEl.textContent = it.reserveMet ? 'met (or none)' : 'not met yet';
    endsEl.setAttribute('datetime', it.endsAt);
    endsEl.textContent = when(it.endsAt);
    tick();
    // Keep the suggested amount current, unless the reader is typing or
    // typed their own.
    const next = toMajor(minimumBid(it), it.currency);
    if (!edited && document.activeElement !== amount && (amount.value === '' || amount.value === suggested)) amount.value = next;
    suggested = next;
    hint.textContent = `At least ${money(minimumBid(it), it.currency)}.`;
    if (closed) {
      const r = it.result;
      const mine = me();
      let text;
      if (r?.sold && r.winnerId === mine) text = `You won this auction for ${money(r.price, it.currency)}.`;
      else if (r?.sold && it.sellerId === mine) text = `Your item sold to ${who(r.winnerId, r.winnerName)} for ${money(r.price, it.currency)}.`;
      else if (r?.sold) text = `Sold to ${who(r.winnerId, r.winnerName)} for ${money(r.price, it.currency)}.`;
      else text = it.bidCount ? 'Closed without a sale: the reserve price was not met.' : 'Closed without a sale: there were no bids.';
      result.replaceChildren(h('h2', {}, 'Result'), h('p', { id: 'result-text', 'data-winner': r?.winnerId || '' }, text),
        mine ? h('p', { class: 'hint' }, 'Everyone who took part gets a notification. ', h('a', { href: '#/notifications' }, 'See yours.')) : null);
      result.hidden = false;
      renderBidBox();
    }
  }

  function tick() {
    const l = left(it.endsAt);
    countdown.textContent = it.status === 'closed' ? '' : l ? `(${l} left)` : '(bidding has ended; closing…)';
  }

  function entry(kind, ...content) {
    feed.prepend(h('li', { 'data-event': kind, class: kind }, ...content));
    while (feed.children.length > 100) feed.lastElementChild.remove();
  }

  // Each decision is shown once, whether the bid history or the live feed
  // told it first.
  const shown = new Set();

  // decision is a verdict's line: kind is bid-accepted or bid-rejected, d a
  // bid of the history (or a live verdict in the same shape).
  function decision(kind, d) {
    const head = [h('time', { datetime: d.decidedAt }, clock(d.decidedAt)), ' ',
      h('strong', { 'data-amount': d.amount }, money(d.amount, d.currency)), ' by ', person(d.bidderId, d.bidderName)];
    return kind === 'bid-accepted'
      ? [...head, ` — accepted, bid number ${d.bidCount}.`]
      : [...head, ` — rejected: ${d.detail || d.reason} `, h('span', { class: 'code' }, `(${d.reason})`)];
  }
  const live = (b) => ({ ...b, amount: b.amount.amount, currency: b.amount.currency });

  // The bids decided before the page opened, newest first, below the live ones.
  async function loadHistory() {
    try {
      const { data } = await api(`/v1/items/${enc(it.itemId)}/bids?limit=20`, { signal: view.signal });
      const earlier = data.bids.filter((b) => !shown.has(b.bidId));
      if (earlier.length) feed.append(h('li', { class: 'earlier-head' }, 'Decided before you opened the page:'));
      for (const b of earlier) {
        shown.add(b.bidId);
        const kind = b.status === 'accepted' ? 'bid-accepted' : 'bid-rejected';
        feed.append(h('li', { 'data-event': kind, 'data-history': '', class: `${kind} earlier` }, ...decision(kind, b)));
      }
      if (data.nextCursor) {
        feed.append(h('li', { class: 'earlier' }, 'Older bids are in ', h('a', { href: `#/items/${enc(it.itemId)}/lineage` }, 'its lineage'), '.'));
      }
    } catch (err) {
      if (err.name === 'AbortError') return;
      feed.append(h('li', { class: 'earlier', id: 'history-missing' }, `The bids decided before you came are not available (${err.message}).`));
    }
  }

  // Reread the item a moment after a change, for what events do not carry
  // (whether the reserve is met).
  let refetch = 0;
  function refreshSoon() {
    clearTimeout(refetch);
    refetch = setTimeout(async () => {
      try {
        const fresh = (await api(`/v1/items/${enc(it.itemId)}`, { signal: view.signal })).data;
        if (fresh.bidCount >= it.bidCount) {
          it = fresh;
          renderState();
        }
      } catch {
        // the stream carries on; this was only a refinement
      }
    }, 400);
  }
  view.defer(() => clearTimeout(refetch));

  renderState();
  renderBidBox();
  entry('start', h('time', { datetime: new Date().toISOString() }, clock(new Date())),
    it.status === 'closed' ? ' This auction had closed when you opened it; its events are in its lineage.' : ' Following this auction live.');
  view.every(1000, tick);
  loadHistory();

  const stop = follow(it.itemId, {
    item(fresh) {
      it = fresh;
      renderState();
    },
    accepted(b) {
      if (b.bidCount < it.bidCount) return; // older than what is shown
      it = { ...it, highestBid: { amount: b.amount.amount, bidderId: b.bidderId, at: b.decidedAt }, bidCount: b.bidCount };
      if (b.endsAt && Date.parse(b.endsAt) > Date.parse(it.endsAt)) {
        // A late bid moved a soft close: the auction runs longer.
        it.endsAt = b.endsAt;
        pulse(endsEl);
      }
      renderState();
      pulse(priceEl);
      if (!shown.has(b.bidId)) entry('bid-accepted', ...decision('bid-accepted', live(b)));
      shown.add(b.bidId);
      const mine = me();
      if (mine && b.outbid?.bidderId === mine) {
        outbidEl.replaceChildren('You have been outbid: ', person(b.bidderId), ` bid ${money(b.amount.amount, b.amount.currency)}, above your ${money(b.outbid.amount.amount, b.outbid.amount.currency)}.`);
        outbidEl.dataset.amount = String(b.amount.amount);
        outbidEl.hidden = false;
      } else if (mine && b.bidderId === mine) {
        outbidEl.hidden = true; // the highest again
      }
      refreshSoon();
    },
    rejected(b) {
      if (!shown.has(b.bidId)) entry('bid-rejected', ...decision('bid-rejected', live(b)));
      shown.add(b.bidId);
    },
    completed(c) {
      it = { ...it, status: 'closed', result: { sold: c.sold, winnerId: c.winnerId, price: c.price?.amount, bidders: c.bidders }, bidCount: c.bidCount, reserveMet: c.reserveMet };
      renderState();
      entry('item-completed', h('time', { datetime: c.closedAt }, clock(c.closedAt)), ' ',
        ...(c.sold ? ['Auction closed: sold to ', person(c.winnerId), ` for ${money(c.price.amount, c.price.currency)}.`] : ['Auction closed without a sale.']));
      // The notifications follow out of band, a moment later.
      setTimeout(refreshUnread, 1500);
    },
  }, (s) => {
    liveState.dataset.state = s;
    liveState.textContent = { live: '● live', reconnecting: 'reconnecting…', ended: 'closed' }[s] || s;
  });
  if (stop) view.defer(stop);
  else liveState.textContent = 'not live (too many open streams)';
}

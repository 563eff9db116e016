// Analytics of completed auctions: the aggregates the analytics function
// keeps, overall or for one category, over whole UTC days, drawn as charts.

import { api } from './api.js';
import { h, problemBox } from './dom.js';
import { bars, grouped, stacked } from './charts.js';
import { money, percent } from './format.js';

const enc = encodeURIComponent;
const MAX_CATEGORIES = 8;

function period(from, to) {
  const q = new URLSearchParams();
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  return q.size ? `?${q}` : '';
}

export async function analyticsView(view) {
  const category = view.query.get('category') || '';
  const from = view.query.get('from') || '';
  const to = view.query.get('to') || '';

  const catInput = h('input', { id: 'analytics-category', name: 'category', value: category, list: 'known-categories', autocapitalize: 'none', size: 16 });
  const fromInput = h('input', { id: 'analytics-from', name: 'from', type: 'date', value: from });
  const toInput = h('input', { id: 'analytics-to', name: 'to', type: 'date', value: to });
  const known = h('datalist', { id: 'known-categories' });
  const msg = h('div', { role: 'alert', hidden: true });
  const out = h('div', { id: 'analytics', 'aria-live': 'polite' }, h('p', { class: 'hint', id: 'analytics-loading' }, 'Loading…'));
  const form = h('form', {
    class: 'filters', 'aria-label': 'Scope of the analytics',
    onsubmit(ev) {
      ev.preventDefault();
      const q = new URLSearchParams();
      if (catInput.value.trim()) q.set('category', catInput.value.trim());
      if (fromInput.value) q.set('from', fromInput.value);
      if (toInput.value) q.set('to', toInput.value);
      const next = `#/analytics${q.size ? `?${q}` : ''}`;
      if (location.hash === next) render();
      else location.hash = next;
    },
  },
  h('label', { for: catInput.id }, 'Category'), catInput, known,
  h('label', { for: fromInput.id }, 'From'), fromInput,
  h('label', { for: toInput.id }, 'To (exclusive)'), toInput,
  h('button', { type: 'submit', id: 'analytics-show', class: 'secondary' }, 'Show'));

  view.main.append(
    h('h1', { tabindex: -1 }, category ? `Analytics: ${category}` : 'Analytics'),
    h('p', {}, 'Completed auctions, counted once each by the analytics function a moment after they close. Days are UTC; leave the dates empty for all time.'),
    form, msg, out);

  // Categories seen in the listings, to suggest and to compare.
  let categories = [];
  try {
    const { data } = await api('/v1/items?limit=100', { signal: view.signal });
    categories = [...new Set(data.items.map((it) => it.category))].sort();
    known.replaceChildren(...categories.map((c) => h('option', { value: c })));
  } catch (err) {
    if (err.name === 'AbortError') throw err;
  }

  async function render() {
    msg.hidden = true;
    const scope = category ? `/v1/analytics/categories/${enc(category)}` : '/v1/analytics';
    let s;
    try {
      ({ data: s } = await api(scope + period(from, to), { signal: view.signal }));
    } catch (err) {
      if (err.name === 'AbortError') return;
      out.replaceChildren();
      problemBox(msg, err);
      return;
    }
    const stat = (name, label, value) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { 'data-stat': name }, value));
    const currencies = Object.entries(s.byCurrency || {}).sort(([a], [b]) => a.localeCompare(b));
    const parts = [
      h('dl', { class: 'stats' },
        stat('completed', 'Completed', String(s.completed)),
        stat('sold', 'Sold', String(s.sold)),
        stat('unsold', 'Not sold', String(s.unsold)),
        stat('sell-through', 'Sell-through', percent(s.sellThrough)),
        stat('bids', 'Accepted bids', String(s.bids)),
        stat('bids-per-auction', 'Bids per auction', (s.bidsPerAuction || 0).toFixed(1)),
        stat('unique-bidders', 'Unique bidders', String(s.uniqueBidders))),
      h('div', { class: 'charts' },
        stacked('Sold and not sold', [
          { label: 'Sold', value: s.sold, cls: 's1' },
          { label: 'Not sold', value: s.unsold, cls: 's3' },
        ]),
        bars('Sales volume by currency', currencies.map(([c, v]) => ({ label: c, value: v.volume, text: money(v.volume, c) })), { cls: 's1' }),
        grouped('Average and highest price by currency', [{ name: 'average', cls: 's2' }, { name: 'highest', cls: 's1' }],
          currencies.map(([c, v]) => ({ label: c, values: [Math.round(v.average), v.max], texts: [money(Math.round(v.average), c), money(v.max, c)] })))),
    ];
    if (category) {
      try {
        const { data } = await api(`/v1/analytics/categories/${enc(category)}/bidders${period(from, to)}`, { signal: view.signal });
        parts.push(h('section', { class: 'card', 'aria-labelledby': 'bidders-h' },
          h('h2', { id: 'bidders-h' }, 'Who bid'),
          h('p', {}, `${data.bidders.length} bidder${data.bidders.length === 1 ? '' : 's'} took part in the auctions of ${category} that ended in this period.`),
          data.bidders.length ? h('ul', { class: 'plain ids' }, data.bidders.map((b) => h('li', {}, h('code', {}, b)))) : null));
      } catch (err) {
        if (err.name === 'AbortError') throw err;
      }
    } else if (categories.length) {
      const shown = categories.slice(0, MAX_CATEGORIES);
      const sums = await Promise.all(shown.map((c) =>
        api(`/v1/analytics/categories/${enc(c)}${period(from, to)}`, { signal: view.signal }).then((r) => r.data, () => null)));
      const groups = shown.map((c, i) => ({ label: c, values: [sums[i]?.completed ?? 0, sums[i]?.sold ?? 0] }));
      parts.push(h('div', { class: 'charts' },
        grouped(`Completed and sold by category${categories.length > MAX_CATEGORIES ? ` (first ${MAX_CATEGORIES})` : ''}`,
          [{ name: 'completed', cls: 's2' }, { name: 'sold', cls: 's1' }], groups)));
    }
    if (view.signal.aborted) return;
    out.replaceChildren(...parts);
  }
  await render();
}

// An item's lineage: every event that made it what it is, in time order, as
// a timeline with the topic, partition and offset each was written at, the
// event that caused it (drawn as an arrow) and the trace it belongs to.

import { api, Problem } from './api.js';
import { h, problemBox } from './dom.js';
import { clock, when } from './format.js';

const enc = encodeURIComponent;
const NS = 'http://www.w3.org/2000/svg';
const REFRESH = 3000;

// traceClass gives each trace id one of six colours, the same every time.
function traceClass(id = '') {
  let n = 0;
  for (const c of id) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  return `t${n % 6}`;
}

function svg(name, attrs) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export async function lineageView(view, id) {
  const heading = h('h1', { tabindex: -1 }, 'Lineage');
  const out = h('div', { id: 'lineage-view' });
  view.main.append(heading,
    h('p', {}, 'Every event about this item, in the order they happened: where each was written in the log, which event caused it, and the trace it belongs to. ',
      h('a', { href: `#/items/${enc(id)}` }, 'Back to the item.')),
    out);
  // The title is a nicety; the lineage does not depend on it.
  api(`/v1/items/${enc(id)}`, { signal: view.signal })
    .then(({ data }) => {
      heading.textContent = `Lineage of “${data.title}”`;
      document.title = `Lineage of ${data.title} · Auctions`;
    })
    .catch(() => {});

  let shown = -1; // how many events are on screen
  let draw = () => {};
  const onResize = () => draw();
  addEventListener('resize', onResize);
  view.defer(() => removeEventListener('resize', onResize));

  // Events are recorded a moment after they are written, so the view
  // refreshes until the reader leaves.
  async function load() {
    let data;
    try {
      ({ data } = await api(`/v1/items/${enc(id)}/lineage`, { signal: view.signal }));
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      if (err.status === 404 && err.kind === 'unknown-item') {
        if (shown !== 0) {
          out.replaceChildren(h('p', { id: 'lineage-empty', class: 'notice', role: 'status' },
            `No events are recorded for item ${id} yet. They appear here a moment after they are written.`));
        }
        shown = 0;
        return;
      }
      if (err.status === 404 || err.status === 501) {
        out.replaceChildren(h('div', { id: 'lineage-missing', class: 'notice', role: 'status' },
          h('p', {}, h('strong', {}, 'Lineage is not available on this server.')),
          h('p', {}, `The page asked for GET /v1/items/${id}/lineage and the answer was ${err.status} ${err.title}${err.detail ? ` (${err.detail})` : ''}.`)));
        shown = -1;
        return;
      }
      const box = h('div', { role: 'alert' });
      out.replaceChildren(box);
      problemBox(box, err);
      return;
    }
    const events = data.events || [];
    if (events.length === shown) return;
    shown = events.length;
    const t = timeline(events);
    out.replaceChildren(...t.nodes);
    draw = t.draw;
    draw();
  }

  await load();
  view.every(REFRESH, () => load().catch(() => {}));
}

// timeline renders events, and answers how to draw their cause arrows once
// they are laid out.
function timeline(events) {
  const byId = new Map(events.map((e, i) => [e.id, i]));
  const causeOf = (i) => {
    const c = events[i].causationId ? byId.get(events[i].causationId) : undefined;
    return c === i ? undefined : c;
  };
  const t0 = Date.parse(events[0].time);
  const traces = new Set(events.map((e) => e.traceId).filter(Boolean));
  const summary = h('p', { id: 'lineage-summary' },
    `${events.length} event${events.length === 1 ? '' : 's'} in ${traces.size} trace${traces.size === 1 ? '' : 's'}, `,
    `from ${when(events[0].time)} to ${when(events[events.length - 1].time)}.`);

  const list = h('ol', { id: 'lineage', class: 'timeline' });
  events.forEach((e, i) => {
    const cause = causeOf(i);
    let causeEl = null;
    if (cause !== undefined) {
      causeEl = h('p', { class: 'cause' }, '↳ caused by ', h('button', {
        type: 'button', class: 'link', 'aria-controls': `ev-${cause}`,
        onclick() {
          const target = document.getElementById(`ev-${cause}`);
          target.scrollIntoView({ block: 'center' });
          target.focus();
        },
      }, `${events[cause].type} at ${clock(events[cause].time)}`));
    } else if (e.causationId) {
      causeEl = h('p', { class: 'cause' }, '↳ caused by ', h('code', {}, e.causationId), ' (an event not about this item)');
    }
    const dt = Date.parse(e.time) - t0;
    list.append(h('li', { id: `ev-${i}`, tabindex: -1, 'data-type': e.type, 'data-cause': cause ?? '' },
      h('p', { class: 'head' }, h('time', { datetime: e.time, title: when(e.time) }, clock(e.time)),
        h('span', { class: 'hint' }, i ? ` +${dt} ms ` : ' '), h('code', { class: 'type' }, e.type)),
      h('p', { class: 'where' }, `${e.topic} · partition ${e.partition} · offset ${e.offset} · trace `,
        h('code', { class: `chip ${traceClass(e.traceId)}`, title: 'trace id' }, e.traceId || '—')),
      causeEl,
      h('details', {}, h('summary', {}, 'Envelope'),
        h('dl', { class: 'facts small' },
          h('dt', {}, 'id'), h('dd', {}, h('code', {}, e.id)),
          h('dt', {}, 'source'), h('dd', {}, e.source || '—'),
          h('dt', {}, 'subject'), h('dd', {}, e.subject || '—'),
          h('dt', {}, 'correlation'), h('dd', {}, e.correlationId || '—'),
          h('dt', {}, 'causation'), h('dd', {}, e.causationId || '—')))));
  });

  // The arrows sit in the gutter left of the dots, from a cause to its effect.
  const arrows = svg('svg', { class: 'arrows', 'aria-hidden': 'true' });
  const wrap = h('div', { class: 'timeline-wrap' }, arrows, list);
  function draw() {
    const top = wrap.getBoundingClientRect().top;
    const y = (i) => document.getElementById(`ev-${i}`).getBoundingClientRect().top - top + 19;
    arrows.setAttribute('height', String(wrap.scrollHeight));
    const marker = svg('marker', { id: 'arrowhead', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' });
    marker.append(svg('path', { d: 'M0 0L10 5L0 10z', class: 'arrowhead' }));
    const defs = svg('defs', {});
    defs.append(marker);
    arrows.replaceChildren(defs);
    events.forEach((_, i) => {
      const c = causeOf(i);
      if (c === undefined || !document.getElementById(`ev-${c}`)) return;
      const y1 = y(c);
      const y2 = y(i);
      // Longer jumps bend further out, so arrows from one cause fan out.
      const bend = 6 + Math.min(Math.abs(i - c), 10) * 2.8;
      arrows.append(svg('path', {
        d: `M43 ${y1} C ${43 - bend} ${y1}, ${43 - bend} ${y2}, 42 ${y2}`, class: 'arrow', 'marker-end': 'url(#arrowhead)',
      }));
    });
  }
  for (const d of list.querySelectorAll('details')) d.addEventListener('toggle', draw);
  return { nodes: [summary, wrap], draw };
}

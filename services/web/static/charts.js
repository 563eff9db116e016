// Charts drawn as inline SVG: horizontal bars, grouped bars and a stacked
// bar. Each chart is an image with a title and a description that states
// every value, so a screen reader gets the numbers the picture shows.

const NS = 'http://www.w3.org/2000/svg';
let seq = 0;

function svg(name, attrs = {}, ...children) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

function frame(title, description, width, height) {
  const id = `chart-${++seq}`;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`, class: 'chart', preserveAspectRatio: 'xMinYMin meet',
  });
  root.append(svg('title', { id: `${id}-t` }, title), svg('desc', { id: `${id}-d` }, description));
  const fig = document.createElement('figure');
  fig.className = 'figure';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap, root);
  return { fig, root };
}

const LABEL = 130; // width of the label column
const ROW = 28;
const WIDTH = 560;

// bars: one bar per row, scaled to the largest value. Each bar is
// {label, value, text}; text is how the value is shown ("€1,200.00").
export function bars(title, rows, { cls = 's1' } = {}) {
  const height = Math.max(1, rows.length) * ROW + 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const desc = rows.length ? rows.map((r) => `${r.label}: ${r.text ?? r.value}`).join('; ') : 'no data';
  const { fig, root } = frame(title, desc, WIDTH, height);
  const span = WIDTH - LABEL - 90;
  rows.forEach((r, i) => {
    const y = 4 + i * ROW;
    const w = Math.max(r.value > 0 ? 2 : 0, (r.value / max) * span);
    root.append(
      svg('text', { x: LABEL - 8, y: y + ROW / 2, class: 'c-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, r.label),
      svg('rect', { x: LABEL, y: y + 4, width: w.toFixed(1), height: ROW - 8, rx: 3, class: `bar ${cls}` },
        svg('title', {}, `${r.label}: ${r.text ?? r.value}`)),
      svg('text', { x: LABEL + w + 6, y: y + ROW / 2, class: 'c-value', 'dominant-baseline': 'middle' }, r.text ?? String(r.value)),
    );
  });
  if (!rows.length) root.append(svg('text', { x: 8, y: ROW / 2 + 4, class: 'c-label', 'dominant-baseline': 'middle' }, 'No data yet'));
  return fig;
}

// grouped: per group (a category), one bar per series (completed, sold),
// with a legend. groups are {label, values: [n, ...], texts?: [shown, ...]}.
export function grouped(title, series, groups) {
  const per = series.length;
  const groupH = per * 18 + 12;
  const legendH = 26;
  const height = legendH + Math.max(1, groups.length) * groupH + 4;
  const max = Math.max(1, ...groups.flatMap((g) => g.values));
  const desc = groups.length
    ? groups.map((g) => `${g.label}: ${series.map((s, i) => `${s.name} ${g.texts?.[i] ?? g.values[i]}`).join(', ')}`).join('; ')
    : 'no data';
  const { fig, root } = frame(title, desc, WIDTH, height);
  let x = LABEL;
  series.forEach((s) => {
    root.append(svg('rect', { x, y: 6, width: 12, height: 12, rx: 2, class: `bar ${s.cls}` }),
      svg('text', { x: x + 18, y: 12, class: 'c-label', 'dominant-baseline': 'middle' }, s.name));
    x += 30 + s.name.length * 8;
  });
  const span = WIDTH - LABEL - 100;
  groups.forEach((g, gi) => {
    const y0 = legendH + gi * groupH;
    root.append(svg('text', { x: LABEL - 8, y: y0 + groupH / 2 - 2, class: 'c-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, g.label));
    series.forEach((s, si) => {
      const v = g.values[si];
      const text = g.texts?.[si] ?? String(v);
      const w = Math.max(v > 0 ? 2 : 0, (v / max) * span);
      const y = y0 + 4 + si * 18;
      root.append(
        svg('rect', { x: LABEL, y, width: w.toFixed(1), height: 14, rx: 2, class: `bar ${s.cls}` },
          svg('title', {}, `${g.label}, ${s.name}: ${text}`)),
        svg('text', { x: LABEL + w + 5, y: y + 7, class: 'c-value', 'dominant-baseline': 'middle' }, text),
      );
    });
  });
  if (!groups.length) root.append(svg('text', { x: 8, y: legendH + 14, class: 'c-label' }, 'No data yet'));
  return fig;
}

// stacked: one bar split into parts ({label, value, cls}) with their shares.
export function stacked(title, parts) {
  const total = parts.reduce((n, p) => n + p.value, 0);
  const desc = total ? parts.map((p) => `${p.label}: ${p.value} of ${total}`).join('; ') : 'no data';
  const { fig, root } = frame(title, desc, WIDTH, 74);
  let x = 0;
  if (!total) {
    root.append(svg('rect', { x: 0, y: 8, width: WIDTH, height: 30, rx: 4, class: 'bar empty' }),
      svg('text', { x: 8, y: 24, class: 'c-label', 'dominant-baseline': 'middle' }, 'No completed auctions yet'));
    return fig;
  }
  parts.forEach((p) => {
    const w = (p.value / total) * WIDTH;
    if (w > 0) {
      root.append(svg('rect', { x: x.toFixed(1), y: 8, width: w.toFixed(1), height: 30, class: `bar ${p.cls}` },
        svg('title', {}, `${p.label}: ${p.value}`)));
    }
    x += w;
  });
  x = 0;
  parts.forEach((p) => {
    root.append(svg('rect', { x, y: 50, width: 12, height: 12, rx: 2, class: `bar ${p.cls}` }),
      svg('text', { x: x + 18, y: 56, class: 'c-label', 'dominant-baseline': 'middle' },
        `${p.label} ${p.value} (${Math.round((p.value / total) * 100)} %)`));
    x += 200;
  });
  return fig;
}

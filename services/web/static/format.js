// Money is an integer in minor units of its currency (cents, pence, yen):
// these functions show it and read it back without floating-point rounding.

const digitsOf = new Map();

// minorDigits is how many decimals the currency has (2 for EUR, 0 for JPY).
export function minorDigits(currency) {
  if (!digitsOf.has(currency)) {
    let d = 2;
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch {
      // an unknown code: assume cents, as most currencies have them
    }
    digitsOf.set(currency, d);
  }
  return digitsOf.get(currency);
}

// money shows an amount in minor units in the reader's locale: "€60.50".
export function money(minor, currency) {
  const d = minorDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: d, maximumFractionDigits: d }).format(minor / 10 ** d);
  } catch {
    return `${currency} ${minor}`;
  }
}

// toMajor writes minor units as a plain decimal for a form field: "60.50".
export function toMajor(minor, currency) {
  const d = minorDigits(currency);
  if (d === 0) return String(minor);
  const s = String(Math.abs(minor)).padStart(d + 1, '0');
  return `${minor < 0 ? '-' : ''}${s.slice(0, -d)}.${s.slice(-d)}`;
}

// toMinor reads "60.5", "60,50" or "60" as minor units (6050), or NaN when
// it is not an amount with at most the currency's decimals.
export function toMinor(text, currency) {
  const d = minorDigits(currency);
  const m = String(text).trim().replace(/[\s_']/g, '').match(/^(\d+)(?:[.,](\d*))?$/);
  if (!m || (m[2] || '').length > d) return NaN;
  const n = Number(m[1] + (m[2] || '').padEnd(d, '0'));
  return Number.isSafeInteger(n) ? n : NaN;
}

// when shows a timestamp in the reader's time zone.
export function when(iso) {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

// clock shows the time of day with milliseconds, for events close together.
export function clock(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  return t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });
}

// left says how long until a time: "2 d 3 h", "4 min 05 s", "12 s", or "" once past.
export function left(iso, now = Date.now()) {
  let s = Math.floor((new Date(iso).getTime() - now) / 1000);
  if (!(s > 0)) return '';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${s} s`;
}

// percent shows a ratio: 0.753 → "75 %".
export function percent(x) {
  return new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 }).format(x || 0);
}

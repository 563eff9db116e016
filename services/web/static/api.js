// The API client: JSON over fetch, RFC 9457 problems as errors, the signed-in
// session, and the live stream of an item's decisions.

const SESSION_KEY = 'auction.session';

// Problem is a failed request as the API described it (application/problem+json).
export class Problem extends Error {
  constructor(status, body = {}) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.title = body.title || (status ? `HTTP ${status}` : 'Network error');
    this.detail = body.detail || '';
    this.type = body.type || '';
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.retryAfter = 0;
    // minimumNext is the least the next bid may offer, on a bid refused as too low.
    this.minimumNext = body.minimumNext || null;
  }

  // kind is the last segment of the problem type (".../problems/bid-rejected").
  get kind() {
    return this.type.slice(this.type.lastIndexOf('/') + 1);
  }
}

function decodeClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return null;
  }
}

// session is who is signed in, kept in this browser's local storage. The
// user id is the token's subject; the email is what they signed in with.
export const session = {
  get() {
    let s;
    try {
      s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    } catch {
      s = null;
    }
    if (!s || !s.token || !s.userId) return null;
    if (s.exp && s.exp * 1000 <= Date.now()) {
      this.clear();
      return null;
    }
    return s;
  },
  set(token, email) {
    const claims = decodeClaims(token);
    if (!claims || !claims.sub) throw new Problem(0, { title: 'Unreadable token', detail: 'The server answered with a token this page cannot read.' });
    localStorage.setItem(SESSION_KEY, JSON.stringify({ token, email, userId: claims.sub, exp: claims.exp || 0 }));
    dispatchEvent(new Event('session'));
  },
  clear() {
    localStorage.removeItem(SESSION_KEY);
    dispatchEvent(new Event('session'));
  },
};

// api sends one request and answers {status, data}, or throws a Problem.
// auth sends the session's token; a 401 then ends the session.
export async function api(path, { method = 'GET', body, headers = {}, auth = false, signal } = {}) {
  const h = { Accept: 'application/json, application/problem+json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const s = session.get();
  if (auth) {
    if (!s) throw new Problem(401, { title: 'Not signed in', detail: 'Sign in first.' });
    h.Authorization = `Bearer ${s.token}`;
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new Problem(0, { title: 'Network error', detail: 'The server could not be reached. Check that it is running and try again.' });
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    data = await res.json().catch(() => null);
  }
  if (!res.ok) {
    const p = new Problem(res.status, data || { title: res.statusText });
    p.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    if (res.status === 401 && auth) session.clear();
    throw p;
  }
  return { status: res.status, data };
}

// Display names by user id: those the API's bodies carried (sellerName,
// bidderName, winnerName), and public profiles (GET /v1/users/{id}) for ids
// met in the event stream, asked once each.
const names = new Map(); // id → name
const asked = new Map(); // id → Promise of the name

export function knownName(id) {
  return names.get(id) || '';
}

export function rememberName(id, name) {
  if (id && name) names.set(id, name);
}

// nameOf answers the user's display name, or the id when there is none.
export function nameOf(id) {
  if (names.has(id)) return Promise.resolve(names.get(id));
  if (!asked.has(id)) {
    asked.set(id, api(`/v1/users/${encodeURIComponent(id)}`).then(
      ({ data }) => {
        rememberName(id, data?.name);
        return data?.name || id;
      },
      () => {
        asked.delete(id); // ask again next time
        return id;
      },
    ));
  }
  return asked.get(id);
}

// justPlaced holds the items this page placed: until the processor has
// stored one, reading it is 404, which for any other id means no such item.
export const justPlaced = new Set();

// newKey is an Idempotency-Key: a retry of the same submission carries it,
// so the bid is placed once. crypto.randomUUID needs a secure context, which
// a plain-HTTP address other than localhost is not.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Browsers open at most six connections to one server over HTTP/1.1, and an
// event stream keeps one busy for good. The page never holds more than this
// many, so requests always have a connection left.
export const MAX_STREAMS = 3;
let open = 0;

// follow streams an item's decisions: handlers get "item" (the state now),
// "bid-accepted", "bid-rejected" and "item-completed", and onState gets
// "live", "reconnecting" or "ended". It answers a function that stops, or
// null when the page already holds MAX_STREAMS streams.
export function follow(itemId, handlers, onState = () => {}) {
  if (open >= MAX_STREAMS) return null;
  open++;
  const es = new EventSource(`/v1/items/${encodeURIComponent(itemId)}/events`);
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    open--;
    es.close();
  };
  const on = (name, fn) =>
    es.addEventListener(name, (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      fn(data);
    });
  on('item', (item) => {
    handlers.item?.(item);
    if (item.status === 'closed') {
      stop(); // nothing more will come, and the server keeps the stream open
      onState('ended');
    }
  });
  on('bid-accepted', (d) => handlers.accepted?.(d));
  on('bid-rejected', (d) => handlers.rejected?.(d));
  on('item-completed', (d) => {
    handlers.completed?.(d);
    // The server ends the stream here; EventSource would reconnect.
    stop();
    onState('ended');
  });
  es.onopen = () => onState('live');
  es.onerror = () => {
    if (closed) return;
    if (es.readyState === EventSource.CLOSED) {
      stop();
      onState('ended');
      return;
    }
    onState('reconnecting');
  };
  return stop;
}

// Moving between views, and the page's status message.

const flashBox = () => document.getElementById('flash');
let carried = null;

// flash shows a message in the page's status region (read out politely).
export function flash(text, kind = 'info') {
  const box = flashBox();
  box.className = `flash ${kind}`;
  box.textContent = text;
}

// go shows another view, and a message on it.
export function go(path, message) {
  carried = message || null;
  if (location.hash === `#${path}`) {
    // Already there (the reader moved on while a request ran): show it again.
    dispatchEvent(new HashChangeEvent('hashchange'));
    return;
  }
  location.hash = `#${path}`;
}

// takeCarried answers the message go left for the next view, once.
export function takeCarried() {
  const m = carried;
  carried = null;
  return m;
}

// carry leaves a message for the next view shown.
export function carry(message) {
  carried = message;
}

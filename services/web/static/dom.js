// Small helpers to build the page's DOM without a framework.

// h builds an element: h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child).
// Attributes set to null, undefined or false are left out; true sets an
// empty attribute. Children may be strings, nodes, arrays, or null (skipped).
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : String(c));
  }
}

// field is a labelled form control with a hint and a place for its error.
export function field(label, control, hint) {
  const id = control.id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, errEl.id].filter(Boolean).join(' '));
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errEl);
}

// clearErrors undoes showProblem's marks on a form.
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
}

// problemBox shows a Problem: its title and detail, and each field error.
// With fields (a map from JSON pointer to control id) the errors are also
// put under their controls, and the first wrong control gets the focus.
export function problemBox(box, p, form, fields = {}) {
  if (form) clearErrors(form);
  const items = [];
  let first = null;
  for (const e of p.errors || []) {
    const id = fields[e.field];
    const control = id && document.getElementById(id);
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      const err = document.getElementById(`${id}-error`);
      if (err) {
        err.textContent = err.textContent ? `${err.textContent} ${e.message}` : e.message;
        err.hidden = false;
      }
      first ??= control;
    }
    items.push(h('li', {}, e.message || e.code, e.code ? h('span', { class: 'code' }, ` (${e.code})`) : null));
  }
  box.className = 'notice error';
  box.replaceChildren(
    h('p', {}, h('strong', {}, p.title || 'Error'), p.detail ? `: ${p.detail}` : ''),
    items.length ? h('ul', {}, items) : null,
  );
  box.hidden = false;
  first?.focus();
}

// Small DOM helpers: elements are built with textContent only (never innerHTML), so nothing the
// API returns can become markup.

/** h('button', {class: 'x', onclick: fn, type: 'button'}, 'text', child, ...) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Says something to screen readers (the page's polite live region). */
export function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => (el.textContent = message), 30);
}

/** A labelled form control: <div class="field"><label for>…</label>control<p error></div>. */
export function field(label, control, hint) {
  const id = control.id || `f-${control.name}`;
  control.id = id;
  const err = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const described = [hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  return h(
    'div',
    { class: 'field', 'data-field': control.name },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    err,
  );
}

/** Shows the API's validation details next to their fields; the rest in `general`. */
export function showErrors(form, err, general) {
  for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  const unplaced = [];
  for (const d of err?.details ?? []) {
    const name = String(d.path ?? '').split('/')[1] ?? '';
    const box = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
    if (!box) {
      unplaced.push(d.message);
      continue;
    }
    const p = box.querySelector('.field-error');
    p.textContent = p.textContent ? `${p.textContent}; ${d.message}` : d.message;
    box.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
  }
  if (general) {
    fill(general, err ? [err.message, ...unplaced].filter(Boolean).join(' — ') : '');
    general.hidden = !err;
  }
  form.querySelector('[aria-invalid="true"]')?.focus();
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** `<input type="datetime-local">`'s value (local time) → RFC 3339, or undefined. */
export function localToIso(value) {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A Date → the value a datetime-local input takes (local time, minutes). */
export function isoToLocal(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}` }, status);
}

/** A modal confirmation (<dialog>): resolves true when confirmed. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dlg = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, message),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'danger', onclick: () => dlg.close('yes') }, confirmLabel),
        h('button', { type: 'button', onclick: () => dlg.close('no') }, 'Cancel'),
      ),
    );
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(dlg.returnValue === 'yes');
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** A "shown once" panel with a copy button (webhook secrets, API keys). */
export function shownOnce(title, value, note) {
  const status = h('span', { class: 'copy-status', 'aria-live': 'polite' });
  const code = h('code', { class: 'once-value' }, value);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      status.textContent = 'Copied.';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = 'Selected: press Ctrl+C to copy.';
    }
  };
  return h(
    'section',
    { class: 'once', role: 'region', 'aria-label': title },
    h('h3', {}, title),
    h('p', {}, note),
    h('div', { class: 'once-row' }, code, h('button', { type: 'button', onclick: copy }, 'Copy'), status),
  );
}

/** A list table: a caption for screen readers, column headings, and `body` (a <tbody>). */
export function listTable(caption, headings, body) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'list' },
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      body,
    ),
  );
}

/** Fills a pager: "first–last of total" and two buttons that call `go(newOffset)`. */
export function fillPager(pager, { offset, shown, total, size, go, labels }) {
  fill(
    pager,
    h('span', {}, `${total ? offset + 1 : 0}–${offset + shown} of ${total}`),
    h('button', { type: 'button', disabled: offset === 0, onclick: () => go(Math.max(0, offset - size)) }, labels[0]),
    h('button', { type: 'button', disabled: offset + size >= total, onclick: () => go(offset + size) }, labels[1]),
  );
}

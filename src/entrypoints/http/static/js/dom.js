// Small DOM helpers. Text always goes in through text nodes (append/textContent), never
// through innerHTML: table cells come from user CSV files.

/**
 * h('span', {class: 'badge', title: 'x', dataset: {name}}, 'text', childNode) → element.
 * Attributes set to null, undefined or false are left out; true sets an empty attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A deep copy of a <template>'s first element. */
export function fromTemplate(id) {
  const template = document.getElementById(id);
  return template.content.firstElementChild.cloneNode(true);
}

export const byId = (id) => document.getElementById(id);

/** Shows `text` in `el` (a message paragraph), or hides it when text is empty. */
export function setMessage(el, text, tone = 'info') {
  el.textContent = text || '';
  el.hidden = !text;
  el.dataset.tone = tone;
}

const announcer = () => document.getElementById('announcer');

/** Tells screen reader users about a change that did not move focus. */
export function announce(text) {
  const el = announcer();
  if (!el) return;
  el.textContent = '';
  // A new text node in a fresh task is announced even when the text repeats.
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

/** Adds or removes one id in an element's aria-describedby list. */
export function toggleDescribedBy(el, id, on) {
  const ids = new Set((el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
  if (on) ids.add(id);
  else ids.delete(id);
  if (ids.size) el.setAttribute('aria-describedby', [...ids].join(' '));
  else el.removeAttribute('aria-describedby');
}

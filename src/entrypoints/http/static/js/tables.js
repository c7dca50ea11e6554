// The Tables tab: the list of tables (GET /tables), one table's latest records (GET /logs)
// in a grid, its filters and its pages of older records.
//
// This module never writes the URL itself: user actions call `navigate(tableView)`, the app
// writes the URL and calls `show(tableView)` back, exactly as it does for a shared link or
// the browser's back button. So there is one path from a view to the screen.

import { api, explain, isAbort } from './api.js';
import { announce, byId, fromTemplate, h, setMessage, toggleDescribedBy } from './dom.js';
import {
  formatDate,
  formatDay,
  formatInstant,
  formatWallClock,
  plural,
} from './format.js';
import { emptyTableView, sameTableView } from './router.js';

const PAGE_SIZE = 100;

const LOAD_STATES = {
  not_loaded: { label: 'Not loaded', tone: 'neutral', note: 'Not loaded yet: it loads from its CSV file when first opened.' },
  loaded: { label: 'Loaded', tone: 'ok', note: '' },
  stale: { label: 'Stale', tone: 'warn', note: 'The CSV file changed since it was loaded; it is reloaded on the next request.' },
  failed: { label: 'Failed', tone: 'danger', note: 'The current CSV file could not be loaded' },
  source_missing: { label: 'Source missing', tone: 'warn', note: 'The CSV file was removed; the copy loaded earlier is still served.' },
};
const stateOf = (name) => LOAD_STATES[name] ?? { label: name, tone: 'neutral', note: '' };

const NUMBER_TYPES = /^(bigint|integer|int\d?|smallint|numeric|decimal|real|double precision|float\d?)\b/i;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** How a column's values are shown, from its PostgreSQL type. */
function kindOf(type = '') {
  const t = type.toLowerCase();
  if (NUMBER_TYPES.test(t)) return 'number';
  if (t === 'date') return 'date';
  if (t === 'timestamptz' || t === 'timestamp with time zone') return 'timestamptz';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t === 'boolean') return 'boolean';
  return 'text';
}

const tableHref = (name) => `?${new URLSearchParams({ tab: 'tables', table: name })}`;

export function createTablesView({ navigate }) {
  const el = {
    items: byId('table-items'),
    listMessage: byId('tables-message'),
    refresh: byId('tables-refresh'),
    empty: byId('table-empty'),
    detail: byId('table-detail'),
    name: byId('table-name'),
    state: byId('table-state'),
    facts: byId('table-facts'),
    note: byId('table-note'),
    form: byId('filters'),
    fromDate: byId('filter-from-date'),
    fromDateHint: byId('filter-from-date-hint'),
    userId: byId('filter-user-id'),
    userIdHint: byId('filter-user-id-hint'),
    clear: byId('filter-clear'),
    filterError: byId('filter-error'),
    results: byId('results'),
    summary: byId('results-summary'),
    problem: byId('results-problem'),
    gridWrap: byId('grid-wrap'),
    caption: byId('grid-caption'),
    thead: document.querySelector('#logs-grid thead'),
    tbody: document.querySelector('#logs-grid tbody'),
    pager: byId('pager'),
    pagerLabel: byId('pager-label'),
    newest: byId('logs-newest'),
    older: byId('logs-older'),
  };

  let tables = null; // GET /tables' list, once it answered
  let tablesRequest = null;
  const itemOf = new Map(); // table name → its <li>
  let view = emptyTableView(); // the view asked for (shown, or loading)
  let shown = null; // the view whose answer (rows or problem) is on screen
  let logs = null; // the LogsResponse on screen, if any
  let inFlight = null; // AbortController of the logs request under way
  let inFlightView = null; // ... and the view it is for
  let revealResults = false; // after a page change, bring the records into view

  const entry = (name) => tables?.find((t) => t.name === name) ?? null;

  // ---- The list of tables ------------------------------------------------------------

  function loadTables({ quiet = false } = {}) {
    if (tablesRequest) return tablesRequest;
    if (!quiet) el.items.setAttribute('aria-busy', 'true');
    tablesRequest = api
      .tables()
      .then((data) => {
        tables = data.tables;
        setMessage(el.listMessage, tables.length ? '' : 'No tables yet: put CSV files in the data folder.');
        renderList();
        renderHeader();
        renderFilterAvailability();
      })
      .catch((error) => {
        if (!quiet || !tables) {
          setMessage(el.listMessage, explain(error, { action: 'list the tables' }), 'error');
        }
      })
      .finally(() => {
        el.items.removeAttribute('aria-busy');
        tablesRequest = null;
      });
    return tablesRequest;
  }

  function fillItem(li, table) {
    const link = li.querySelector('a');
    const state = stateOf(table.state);
    link.href = tableHref(table.name);
    link.dataset.name = table.name;
    li.querySelector('.table-item__name').textContent = table.name;
    const badge = li.querySelector('.table-item__state');
    badge.textContent = state.label;
    badge.dataset.tone = state.tone;
    if (state.note) badge.title = state.note;
    else badge.removeAttribute('title');

    const facts = [];
    if (table.row_count !== null) facts.push(plural(table.row_count, 'row'));
    if (table.min_date && table.max_date) {
      const from = formatDay(table.min_date);
      const to = formatDay(table.max_date);
      facts.push(from === to ? from : `${from} – ${to}`);
    }
    if (!facts.length && table.state === 'not_loaded') facts.push('Loads when opened');
    const factsEl = li.querySelector('.table-item__facts');
    factsEl.textContent = facts.join(' · ');
    factsEl.title = table.min_date ? `${table.min_date} – ${table.max_date}` : '';

    const error = li.querySelector('.table-item__error');
    error.textContent = table.error ?? '';
    error.hidden = !table.error;
  }

  /** Updates the list in place (so a focused link keeps its focus). */
  function renderList() {
    const wanted = (tables ?? []).map((table) => {
      let li = itemOf.get(table.name);
      if (!li) {
        li = fromTemplate('tpl-table-item');
        itemOf.set(table.name, li);
      }
      fillItem(li, table);
      return li;
    });
    for (const [name, li] of itemOf) {
      if (!wanted.includes(li)) {
        li.remove();
        itemOf.delete(name);
      }
    }
    const current = [...el.items.children];
    if (current.length !== wanted.length || current.some((li, i) => li !== wanted[i])) {
      el.items.append(...wanted);
    }
    renderSelection();
  }

  function renderSelection() {
    for (const [name, li] of itemOf) {
      const link = li.querySelector('a');
      if (name === view.table) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  el.items.addEventListener('click', (event) => {
    const link = event.target.closest('a.table-item');
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return; // let the browser open new tabs and windows
    }
    event.preventDefault();
    navigate({ ...emptyTableView(), table: link.dataset.name });
    // Stacked layout (phones): the records are below the list, so bring them into view.
    if (window.matchMedia('(max-width: 900px)').matches) el.detail.scrollIntoView({ block: 'start' });
  });

  el.refresh.addEventListener('click', async () => {
    await loadTables();
    announce('Tables refreshed');
  });

  // ---- The selected table's header ---------------------------------------------------

  function renderHeader() {
    const hasTable = !!view.table;
    el.empty.hidden = hasTable;
    el.detail.hidden = !hasTable;
    if (!hasTable) return;

    const table = entry(view.table);
    el.name.textContent = view.table;
    const state = table ? stateOf(table.state) : null;
    el.state.hidden = !state;
    if (state) {
      el.state.textContent = state.label;
      el.state.dataset.tone = state.tone;
      if (state.note) el.state.title = state.note;
      else el.state.removeAttribute('title');
    }

    const facts = [];
    if (table) {
      if (table.source_file) facts.push(table.source_file);
      if (table.columns) facts.push(plural(table.columns.length, 'column'));
      if (table.row_count !== null) facts.push(plural(table.row_count, 'row'));
      if (table.min_date && table.max_date) {
        facts.push(`${formatDay(table.min_date)} – ${formatDay(table.max_date)}`);
      }
      if (table.loaded_at) facts.push(`loaded ${formatInstant(table.loaded_at) ?? table.loaded_at}`);
      if (table.version !== null) facts.push(`version ${table.version}`);
    }
    el.facts.textContent = facts.join(' · ');

    let note = state?.note ?? '';
    if (table?.state === 'failed') {
      // With no earlier version to show, the records area explains the failure instead.
      note = table.version === null
        ? ''
        : `${note}${table.error ? `: ${table.error}` : '.'} The previous version is shown.`;
    }
    el.note.textContent = note;
    el.note.hidden = !note || table?.state === 'loaded';
    el.note.dataset.tone = state?.tone ?? 'neutral';
  }

  // ---- Filters -----------------------------------------------------------------------

  /** Which filters the table supports: known from its logs, else from GET /tables. */
  function filterColumns() {
    if (logs && logs.table === view.table) {
      return { known: true, date: logs.date_column, user: logs.user_column };
    }
    const table = entry(view.table);
    if (table?.columns) return { known: true, date: table.date_column, user: table.user_column };
    return { known: false, date: null, user: null };
  }

  function renderFilterAvailability() {
    if (!view.table) return;
    const { known, date, user } = filterColumns();
    const table = entry(view.table);

    const noDate = known && !date;
    el.fromDate.disabled = noDate;
    if (noDate) {
      el.fromDateHint.textContent = 'This table has no date column, so it cannot be filtered by date; its records are shown in reverse file order.';
    } else {
      const range = table?.min_date && table?.max_date
        ? ` Dates run ${formatDay(table.min_date)} – ${formatDay(table.max_date)}.`
        : '';
      el.fromDateHint.textContent = `Records on or after this day${date ? ` (column “${date}”)` : ''}.${range}`;
    }

    const noUser = known && !user;
    el.userId.disabled = noUser;
    el.userIdHint.textContent = noUser
      ? 'This table has no user column, so it cannot be filtered by user.'
      : `Only this user's records${user ? `, matched exactly in column “${user}”` : ' (exact match)'}.`;
  }

  function fillFilterInputs() {
    // A date input only holds a day; a date-time from a shared link shows in the summary.
    el.fromDate.value = ISO_DAY.test(view.fromDate) ? view.fromDate : '';
    el.userId.value = view.userId;
  }

  function markInvalid(input, on) {
    if (on) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    toggleDescribedBy(input, 'filter-error', on);
  }

  function showFilterError(message, input = null) {
    el.filterError.textContent = message;
    el.filterError.hidden = false;
    markInvalid(el.fromDate, input === el.fromDate);
    markInvalid(el.userId, input === el.userId);
  }

  function clearFilterError() {
    el.filterError.textContent = '';
    el.filterError.hidden = true;
    markInvalid(el.fromDate, false);
    markInvalid(el.userId, false);
  }

  el.form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (el.fromDate.validity.badInput) {
      showFilterError('Enter a complete date, for example 2023-06-01.', el.fromDate);
      el.fromDate.focus();
      return;
    }
    const next = {
      table: view.table,
      fromDate: el.fromDate.disabled ? '' : el.fromDate.value,
      userId: el.userId.disabled ? '' : el.userId.value.trim(),
      cursor: null,
      page: 1,
    };
    if (sameTableView(next, view)) {
      fetchLogs(next); // the same view: read it again (a retry, or fresh records)
      return;
    }
    navigate(next);
  });

  el.clear.addEventListener('click', () => {
    el.fromDate.value = '';
    el.userId.value = '';
    clearFilterError();
    navigate({ ...emptyTableView(), table: view.table });
  });

  // ---- Records -----------------------------------------------------------------------

  function setBusy(busy) {
    el.results.setAttribute('aria-busy', String(busy));
    el.results.classList.toggle('is-loading', busy);
  }

  async function fetchLogs(target) {
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    inFlightView = target;
    setBusy(true);
    const table = entry(target.table);
    el.summary.textContent = !table || table.state !== 'loaded'
      ? `Loading ${target.table}… the first view of a table reads its CSV file, which can take a moment.`
      : 'Loading…';
    try {
      const data = await api.logs(target, { signal: controller.signal });
      shown = target;
      logs = data;
      clearFilterError();
      el.problem.hidden = true;
      renderRecords();
      renderFilterAvailability(); // the summary (role=status) tells screen readers what came
      // Opening a table may have loaded it: refresh its row count, dates and state.
      const known = entry(target.table);
      if (!known || known.state !== 'loaded' || known.row_count === null) loadTables({ quiet: true });
    } catch (error) {
      if (isAbort(error)) return;
      shown = target;
      logs = null;
      renderProblem(error, target);
      loadTables({ quiet: true }); // a failed load changes the table's state too
    } finally {
      if (inFlight === controller) {
        inFlight = null;
        inFlightView = null;
        setBusy(false);
      }
    }
  }

  function renderRecords() {
    const { columns, rows, count, has_more: hasMore, date_column: dateColumn, user_column: userColumn } = logs;
    const first = (shown.page - 1) * PAGE_SIZE + 1;

    // Summary: what is shown, in which order, with which filters.
    const filters = [];
    if (shown.fromDate) filters.push(`from ${formatDate(shown.fromDate) ?? shown.fromDate}`);
    if (shown.userId) filters.push(`user “${shown.userId}”${userColumn ? ` in “${userColumn}”` : ''}`);
    if (count === 0) {
      el.summary.textContent = filters.length
        ? `No records match these filters: ${filters.join(', ')}.`
        : shown.page > 1 ? 'No older records.' : 'This table has no records.';
    } else {
      const what = shown.page > 1
        ? `Records ${first}–${first + count - 1}`
        : hasMore ? `The ${plural(count, 'latest record')}` : plural(count, 'record');
      const order = dateColumn ? `newest first by “${dateColumn}”` : 'in reverse file order';
      el.summary.textContent = [what, order, ...filters].join(' · ');
    }

    // Grid.
    el.gridWrap.hidden = count === 0;
    el.caption.textContent = `Records of ${shown.table}, ${dateColumn ? 'newest first' : 'in reverse file order'}`;
    const kinds = columns.map((column) => kindOf(column.type));
    const headRow = h(
      'tr',
      {},
      columns.map((column, i) =>
        h(
          'th',
          {
            scope: 'col',
            class: kinds[i] === 'number' ? 'num' : null,
            'aria-sort': column.name === dateColumn ? 'descending' : null,
          },
          h(
            'span',
            { class: 'col-name' },
            column.name,
            column.name === dateColumn ? h('span', { class: 'sort-mark', title: 'Newest first', 'aria-hidden': 'true' }, '↓') : null,
          ),
          ' ',
          h('span', { class: 'type-badge' }, column.type),
        ),
      ),
    );
    el.thead.replaceChildren(headRow);

    const body = document.createDocumentFragment();
    for (const row of rows) {
      body.append(
        h('tr', { 'data-testid': 'logs-row' }, columns.map((column, i) => cell(row[column.name], kinds[i]))),
      );
    }
    el.tbody.replaceChildren(body);
    el.gridWrap.scrollTop = 0;
    el.gridWrap.scrollLeft = 0;

    // Pages.
    const paged = shown.page > 1 || !!shown.cursor;
    const olderHadFocus = document.activeElement === el.older;
    el.pager.hidden = !hasMore && !paged;
    el.newest.hidden = !paged;
    el.older.hidden = !hasMore;
    el.pagerLabel.textContent = count
      ? `Page ${shown.page} · records ${first}–${first + count - 1}${hasMore ? '' : ' (the oldest)'}`
      : `Page ${shown.page}`;
    if (olderHadFocus && el.older.hidden) el.newest.focus();
    if (revealResults) {
      revealResults = false;
      if (el.results.getBoundingClientRect().top < 0) el.results.scrollIntoView({ block: 'start' });
    }
  }

  /** One grid cell, by column kind. Values are written as text, never as HTML. */
  function cell(value, kind) {
    if (value === null || value === undefined) {
      return h('td', { class: kind === 'number' ? 'null num' : 'null' }, h('span', { 'aria-hidden': 'true' }, '—'), h('span', { class: 'visually-hidden' }, 'empty'));
    }
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    switch (kind) {
      case 'number':
        return h('td', { class: 'num' }, text);
      case 'date': {
        const shownText = formatDate(text);
        return h('td', {}, shownText ? h('time', { datetime: text, title: text }, shownText) : text);
      }
      case 'timestamp': {
        const shownText = formatWallClock(text);
        return h('td', {}, shownText ? h('time', { datetime: text, title: `${text} (no time zone)` }, shownText) : text);
      }
      case 'timestamptz': {
        const shownText = formatInstant(text);
        return h('td', {}, shownText ? h('time', { datetime: text, title: text }, shownText) : text);
      }
      default:
        return h('td', { class: text.length > 48 ? 'long' : null, title: text.length > 48 ? text : null }, text);
    }
  }

  function renderProblem(error, target) {
    el.gridWrap.hidden = true;
    el.pager.hidden = true;
    clearFilterError();

    // A bad filter is told next to the filter.
    if (error.status === 400 && (error.parameter === 'from_date' || error.parameter === 'user_id')) {
      const input = error.parameter === 'from_date' ? el.fromDate : el.userId;
      const label = error.parameter === 'from_date' ? 'From date' : 'User ID';
      const message = /regex|Expected/.test(error.detail)
        ? `${label}: enter a date as YYYY-MM-DD, for example 2023-06-01.`
        : `${label}: ${error.detail.replace(/^Invalid (from_date|user_id): /, '')}`;
      showFilterError(message, input);
      el.problem.hidden = true;
      el.summary.textContent = 'No records shown: fix the filter above.';
      return;
    }

    const parts = [];
    let heading = error.title || 'Error';
    if (error.status === 400 && error.parameter === 'cursor') {
      heading = 'This page of older records is no longer valid';
      parts.push(h('p', {}, 'The table may have been reloaded since the link was made. Start again from the newest records.'));
      parts.push(h('button', { type: 'button', class: 'button', onclick: () => navigate({ ...target, cursor: null, page: 1 }) }, 'Newest records'));
    } else if (error.status === 404 && error.knownTables) {
      heading = 'No such table';
      parts.push(h('p', {}, `There is no table named “${target.table}”.`));
      if (error.knownTables.length) {
        parts.push(
          h('p', {}, 'Known tables: ', error.knownTables.flatMap((name, i) => [
            i ? ', ' : null,
            h('a', { href: tableHref(name), onclick: (event) => { event.preventDefault(); navigate({ ...emptyTableView(), table: name }); } }, name),
          ])),
        );
      }
    } else if (error.status === 422) {
      heading = 'The CSV file cannot be loaded';
      parts.push(h('p', {}, error.detail));
      const where = [
        ['File', error.file],
        ['Line', error.line],
        ['Column', error.column],
      ].filter(([, value]) => value !== null && value !== undefined);
      if (where.length) {
        parts.push(h('dl', { class: 'problem__where' }, where.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, String(value))))));
      }
      parts.push(h('p', { class: 'muted small' }, 'Fix the file and open the table again; a previously loaded version, if any, stays in service.'));
    } else {
      if (error.isNetwork) heading = 'Cannot reach the service';
      parts.push(h('p', {}, explain(error, { action: `load ${target.table}` })));
      parts.push(h('button', { type: 'button', class: 'button', onclick: () => fetchLogs(target) }, 'Try again'));
    }
    el.problem.replaceChildren(h('h3', {}, heading), ...parts);
    el.problem.hidden = false;
    el.summary.textContent = 'No records shown.';
  }

  // ---- Pages -------------------------------------------------------------------------

  el.older.addEventListener('click', () => {
    if (!logs?.next_cursor) return;
    revealResults = true;
    navigate({ ...shown, cursor: logs.next_cursor, page: shown.page + 1 });
  });

  el.newest.addEventListener('click', () => {
    revealResults = true;
    navigate({ ...shown, cursor: null, page: 1 });
  });

  // ---- Entry points for the app ------------------------------------------------------

  /** Shows a table view (from a click, a link, or the browser's history). */
  function show(next) {
    const changedTable = next.table !== view.table;
    view = { ...next };
    if (changedTable) {
      logs = logs?.table === view.table ? logs : null;
      clearFilterError();
    }
    fillFilterInputs();
    renderSelection();
    renderHeader();
    renderFilterAvailability();

    if (!view.table) {
      inFlight?.abort();
      shown = null;
      return;
    }
    if (inFlight ? !sameTableView(view, inFlightView) : !sameTableView(view, shown)) {
      if (changedTable) {
        // Do not leave another table's rows under this table's name while loading.
        el.gridWrap.hidden = true;
        el.pager.hidden = true;
        el.problem.hidden = true;
      }
      fetchLogs(view);
    }
  }

  /** The Tables tab became visible. */
  function activate() {
    if (!tables) loadTables();
  }

  /** The current table view, for restoring the URL when coming back to this tab. */
  const current = () => ({ ...view });

  return { show, activate, current };
}

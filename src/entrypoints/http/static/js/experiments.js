// The Experiments tab: an A/B test's form, built from the registry's JSON Schema of `ab_test`
// (GET /launch/metrics) and the tables (GET /tables); launching it (POST /launch with a JSON
// body); its job's progress, live; and its result as a picture and in plain words.
//
// The form knows no parameter by name: each field comes from a property of the schema, its
// kind from `type`, `enum`, `format` and the x- hints (`x-kind` table or column, `x-table`
// the sibling naming the column's table, `x-numeric`, `x-aggregates`). A 400 names the
// parameter (dotted), and the error is shown next to the field of that name.

import { api, explain, isAbort } from './api.js';
import { abChart } from './chart.js';
import { announce, byId, h, setMessage } from './dom.js';
import { formatDay, formatPercent as formatProgress, shortId } from './format.js';
import {
  formatNumber,
  formatP,
  formatPercent,
  groupNames,
  method,
  srmWarning,
  verdict,
} from './verdict.js';

const METRIC = 'ab_test';
const NUMERIC_TYPES = new Set(['bigint', 'numeric', 'boolean']);
const STATUS = {
  queued: { label: 'Queued', tone: 'neutral' },
  running: { label: 'Running', tone: 'info' },
  succeeded: { label: 'Succeeded', tone: 'ok' },
  failed: { label: 'Failed', tone: 'danger' },
  cancelled: { label: 'Cancelled', tone: 'muted' },
};
const PHASE = {
  aggregating: 'aggregating per user in PostgreSQL…',
  testing: 'testing…',
};
const RANK = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };

const isActive = (job) => job.status === 'queued' || job.status === 'running';
const fieldId = (path) => `param-${path.replaceAll('.', '-')}`;
const nullable = (spec) => Array.isArray(spec.type) && spec.type.includes('null');

function newKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function setPath(target, path, value) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys.at(-1)] = value;
}

export function createExperimentsView({ navigate, onActivity }) {
  const el = {
    form: byId('experiment-form'),
    about: byId('experiment-about'),
    fields: byId('experiment-fields'),
    formError: byId('experiment-form-error'),
    launch: byId('experiment-launch'),
    empty: byId('experiment-empty'),
    run: byId('experiment-run'),
    job: byId('experiment-job'),
    status: byId('experiment-status'),
    phase: byId('experiment-phase'),
    cancel: byId('experiment-cancel'),
    progress: byId('experiment-progress'),
    srm: byId('srm-warning'),
    verdict: byId('experiment-verdict'),
    method: byId('experiment-method'),
    chart: byId('experiment-chart'),
    figures: byId('experiment-figures'),
    error: byId('experiment-error'),
  };

  let schema = null; // ab_test's parameters
  let tables = []; // GET /tables
  const fields = new Map(); // path → {spec, control, wrapper, error, table}
  let shownId = null; // the job on screen
  let shown = null;
  let loading = null;
  const loadingColumns = new Set();

  // ---- The form, from the schema -----------------------------------------------------

  const tableEntry = (name) => tables.find((table) => table.name === name) ?? null;

  function tableOf(path) {
    const field = fields.get(path);
    const sibling = field?.spec['x-table'];
    if (!sibling) return null;
    const prefix = path.includes('.') ? `${path.slice(0, path.lastIndexOf('.'))}.` : '';
    return fields.get(`${prefix}${sibling}`)?.control.value || null;
  }

  function option(value, text, selected) {
    return h('option', { value, selected: selected || null }, text);
  }

  function fillTableSelect(field) {
    const current = field.control.value || field.spec.default || '';
    const names = tables.map((table) => table.name);
    const chosen = names.includes(current)
      ? current
      : names.find((name) => name === 'df_sales') ?? names.find((name) => name !== 'experiment_users') ?? '';
    field.control.replaceChildren(...names.map((name) => option(name, name, name === chosen)));
    field.control.value = chosen;
  }

  function fillColumnSelect(path) {
    const field = fields.get(path);
    const table = tableEntry(tableOf(path));
    const current = field.control.value || (field.control.dataset.touched ? '' : field.spec.default ?? '');
    const columns = (table?.columns ?? []).filter(
      (column) => !field.spec['x-numeric'] || NUMERIC_TYPES.has(column.type),
    );
    const options = columns.map((column) => option(column.name, `${column.name} (${column.type})`, column.name === current));
    if (nullable(field.spec)) options.unshift(option('', field.spec['x-numeric'] ? '(none: count rows)' : '(none)', !current));
    if (table && !table.columns) {
      options.splice(0, options.length, option('', 'loading columns…', true));
      loadColumns(table.name);
    }
    field.control.replaceChildren(...options);
    field.control.value = columns.some((column) => column.name === current) ? current : options[0]?.value ?? '';
  }

  /** A table never loaded has no columns in GET /tables: reading it once loads it. */
  async function loadColumns(name) {
    if (loadingColumns.has(name)) return;
    loadingColumns.add(name);
    try {
      await api.logs({ table: name });
      tables = (await api.tables()).tables;
    } catch (error) {
      if (!isAbort(error)) setMessage(el.formError, explain(error, { action: `read the columns of ${name}` }), 'error');
    } finally {
      loadingColumns.delete(name);
      refreshColumns();
    }
  }

  function refreshColumns() {
    for (const [path, field] of fields) if (field.spec['x-kind'] === 'column') fillColumnSelect(path);
    refreshSummaries();
  }

  /** A folded group says what its fields hold: "experiment_users: pilot 0 vs 1". */
  function refreshSummaries() {
    for (const group of el.fields.querySelectorAll('details[data-group]')) {
      const values = [...group.querySelectorAll('[data-param] select, [data-param] input')]
        .map((input) => input.value)
        .filter(Boolean);
      group.querySelector('.experiment-group__values').textContent = values.join(' · ');
    }
  }

  function refreshApplicability() {
    refreshSummaries();
    const aggregate = fields.get('aggregate')?.control.value;
    for (const field of fields.values()) {
      const applies = field.spec['x-aggregates'];
      field.wrapper.hidden = !!applies && !applies.includes(aggregate);
    }
    const table = tableEntry(fields.get('table')?.control.value);
    const range = table?.min_date && table?.max_date
      ? `Dates run ${formatDay(table.min_date)} – ${formatDay(table.max_date)}.`
      : '';
    for (const path of ['from_date', 'to_date']) {
      const hint = fields.get(path)?.wrapper.querySelector('.hint');
      if (hint) hint.textContent = `${fields.get(path).spec.description}. ${range}`.trim();
    }
  }

  function control(path, spec) {
    const id = fieldId(path);
    const common = { id, name: path, 'data-testid': id, 'aria-describedby': `${id}-hint` };
    if (spec['x-kind'] === 'table' || spec['x-kind'] === 'column') return h('select', common);
    if (spec.enum) {
      return h('select', common, spec.enum.map((value) => option(value, value, value === spec.default)));
    }
    if (spec.type === 'boolean') return h('input', { ...common, type: 'checkbox', checked: spec.default || null });
    if (spec.type === 'number') return h('input', { ...common, type: 'number', step: 'any', value: spec.default ?? '' });
    if (spec.format === 'date') return h('input', { ...common, type: 'date' });
    return h('input', { ...common, type: 'text', autocomplete: 'off', spellcheck: 'false', value: spec.default ?? '' });
  }

  function renderFields(container, properties, prefix = '') {
    for (const [name, spec] of Object.entries(properties)) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (spec.type === 'object' && spec.properties) {
        // A group of parameters with defaults: folded, its values said in its summary.
        const summary = h('summary', {}, h('span', { class: 'experiment-group__title' }, spec.title ?? name), ' ', h('span', { class: 'experiment-group__values muted small' }));
        const group = h('details', { class: 'experiment-group', dataset: { group: path } }, summary);
        if (spec.description) group.append(h('p', { class: 'hint' }, `${spec.description}.`));
        renderFields(group, spec.properties, path);
        container.append(group);
        continue;
      }
      const input = control(path, spec);
      const checkbox = input.type === 'checkbox';
      const label = h('label', { for: input.id }, spec.title ?? name);
      const error = h('p', { class: 'field-error', id: `${input.id}-error`, role: 'alert', hidden: true });
      const hint = h('small', { class: 'hint', id: `${input.id}-hint` }, spec.description ? `${spec.description}.` : '');
      const kind = checkbox ? 'field field--check' : spec.format === 'date' ? 'field field--half' : 'field';
      const wrapper = h(
        'div',
        { class: kind, dataset: { param: path } },
        checkbox ? h('span', { class: 'field__check' }, input, label) : [label, input],
        hint,
        error,
      );
      fields.set(path, { spec, control: input, wrapper, error });
      container.append(wrapper);
    }
  }

  function buildForm(metric) {
    schema = metric.parameters;
    el.about.textContent = metric.description;
    fields.clear();
    el.fields.replaceChildren();
    renderFields(el.fields, schema.properties);
    for (const field of fields.values()) if (field.spec['x-kind'] === 'table') fillTableSelect(field);
    refreshColumns();
    refreshApplicability();
  }

  el.fields.addEventListener('input', refreshSummaries);
  el.fields.addEventListener('change', (event) => {
    const path = event.target.name;
    const field = fields.get(path);
    if (!field) return;
    field.control.dataset.touched = 'true';
    clearError(path);
    if (field.spec['x-kind'] === 'table') refreshColumns();
    refreshApplicability();
  });

  function collect() {
    const params = {};
    for (const [path, field] of fields) {
      if (field.wrapper.hidden) continue;
      const input = field.control;
      if (input.type === 'checkbox') setPath(params, path, input.checked);
      else if (input.value === '') continue;
      else if (input.type === 'number') setPath(params, path, Number(input.value));
      else setPath(params, path, input.value);
    }
    return params;
  }

  // ---- Errors ------------------------------------------------------------------------

  function clearError(path) {
    const field = fields.get(path);
    if (!field) return;
    field.error.hidden = true;
    field.error.textContent = '';
    field.control.removeAttribute('aria-invalid');
    field.control.setAttribute('aria-describedby', `${field.control.id}-hint`);
  }

  function clearErrors() {
    for (const path of fields.keys()) clearError(path);
    setMessage(el.formError, '');
  }

  function showError(error) {
    const field = error.status === 400 && error.parameter ? fields.get(error.parameter) : null;
    if (field && !field.wrapper.hidden) {
      field.wrapper.closest('details')?.setAttribute('open', '');
      field.error.textContent = error.detail.replace(/^Invalid [\w.]+: /, '');
      field.error.hidden = false;
      field.control.setAttribute('aria-invalid', 'true');
      field.control.setAttribute('aria-describedby', `${field.control.id}-hint ${field.error.id}`);
      field.control.focus();
      return;
    }
    setMessage(el.formError, `Could not run the test. ${explain(error, { action: 'run the test' })}`, 'error');
  }

  // ---- Launching ---------------------------------------------------------------------

  let launching = false;

  el.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (launching || !schema) return;
    launching = true;
    clearErrors();
    el.launch.disabled = true;
    el.launch.textContent = 'Launching…';
    try {
      const accepted = await api.launchMetric({ metric: METRIC, params: collect() }, newKey());
      announce(`A/B test launched as job ${shortId(accepted.job_id)}`);
      onActivity();
      navigate(accepted.job_id);
    } catch (error) {
      showError(error);
    } finally {
      launching = false;
      el.launch.disabled = false;
      el.launch.textContent = 'Run the test';
    }
  });

  el.cancel.addEventListener('click', async () => {
    if (!shown) return;
    el.cancel.disabled = true;
    try {
      render(await api.cancel(shown.job_id));
      onActivity();
    } catch (error) {
      setMessage(el.formError, `Could not cancel: ${explain(error, { action: 'cancel the test' })}`, 'error');
    } finally {
      el.cancel.disabled = false;
    }
  });

  // ---- The job and its result --------------------------------------------------------

  function render(job) {
    if (!job || (shown && job.job_id === shown.job_id && !isNewer(shown, job))) return;
    shown = job;
    el.empty.hidden = true;
    el.run.hidden = false;
    const status = STATUS[job.status] ?? { label: job.status, tone: 'neutral' };
    el.run.dataset.status = job.status;
    el.job.textContent = `Job ${shortId(job.job_id)}`;
    el.job.title = job.job_id;
    el.status.textContent = status.label;
    el.status.dataset.tone = status.tone;
    el.phase.textContent = job.status === 'running' ? PHASE[job.phase] ?? 'starting…' : '';
    const percent = Math.floor(Math.min(1, Math.max(0, job.progress)) * 100);
    el.progress.setAttribute('aria-valuenow', String(percent));
    el.progress.setAttribute('aria-valuetext', `${formatProgress(job.progress)} (${status.label.toLowerCase()})`);
    el.progress.dataset.status = job.status;
    el.progress.querySelector('.progress__fill').style.inlineSize = `${percent}%`;
    el.cancel.hidden = !isActive(job);

    const result = job.status === 'succeeded' && job.metric === METRIC ? job.result : null;
    el.error.hidden = job.status !== 'failed' && job.metric === METRIC;
    el.error.textContent = job.metric !== METRIC
      ? `Job ${shortId(job.job_id)} runs ${job.metric}, not an A/B test.`
      : job.error ?? '';
    renderResult(job.params, result);
  }

  function renderResult(params, result) {
    const warning = result ? srmWarning(params, result) : null;
    el.srm.textContent = warning ?? '';
    el.srm.hidden = !warning;
    el.verdict.textContent = result ? verdict(params, result) : '';
    el.verdict.hidden = !result;
    el.method.textContent = result ? method(params, result) : '';
    el.chart.replaceChildren(...(result ? [abChart(params, result)] : []));
    el.figures.replaceChildren(...(result ? figures(params, result) : []));
    el.figures.hidden = !result;
    if (result) announce(el.verdict.textContent);
  }

  function figures(params, result) {
    const names = groupNames(params);
    const level = `${Math.round((1 - result.alpha) * 100)}% CI`;
    const row = (label, group) => h(
      'tr', {},
      h('th', { scope: 'row' }, label),
      h('td', { class: 'num' }, `${group.users.toLocaleString()} of ${group.assigned.toLocaleString()}`),
      h('td', { class: 'num' }, formatNumber(group.mean)),
      h('td', { class: 'num' }, `${formatNumber(group.ci_low)} to ${formatNumber(group.ci_high)}`),
    );
    const difference = (label, f) => h(
      'tr', {},
      h('th', { scope: 'row' }, label),
      h('td', { class: 'num' }, f.relative_difference === null ? '—' : `lift ${formatPercent(f.relative_difference, { signed: true })}`),
      h('td', { class: 'num' }, formatNumber(f.difference)),
      h('td', { class: 'num' }, `${formatNumber(f.ci_low)} to ${formatNumber(f.ci_high)}, ${formatP(f.p_value)}`),
    );
    const rows = [
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'figure')), h('th', { scope: 'col' }, 'users (of assigned)'), h('th', { scope: 'col' }, 'mean'), h('th', { scope: 'col' }, level))),
      h('tbody', {},
        row(names.control, result.control),
        row(names.treatment, result.treatment),
        difference('difference', result),
        result.cuped ? difference('with CUPED', result.cuped) : null,
      ),
    ];
    return rows;
  }

  function isNewer(current, next) {
    if (next.attempts !== current.attempts) return next.attempts > current.attempts;
    const rank = (RANK[next.status] ?? 0) - (RANK[current.status] ?? 0);
    if (rank !== 0) return rank > 0;
    return next.progress >= current.progress && JSON.stringify(next) !== JSON.stringify(current);
  }

  async function readJob(jobId) {
    try {
      const job = await api.job(jobId);
      if (jobId === shownId) render(job);
    } catch (error) {
      if (jobId !== shownId || isAbort(error)) return;
      el.run.hidden = false;
      el.empty.hidden = true;
      el.error.hidden = false;
      el.error.textContent = explain(error, { action: 'read the test' });
    }
  }

  // ---- Entry points for the app ------------------------------------------------------

  /** The tab became visible, showing the test of job `jobId` (or none). */
  async function activate(jobId) {
    loading ??= Promise.all([api.metrics(), api.tables()])
      .then(([registry, listed]) => {
        tables = listed.tables;
        const metric = registry.metrics.find((m) => m.name === METRIC);
        if (metric) buildForm(metric);
        else setMessage(el.formError, 'This service offers no A/B test.', 'error');
      })
      .catch((error) => {
        loading = null;
        setMessage(el.formError, explain(error, { action: 'load the form' }), 'error');
      });
    await loading;
    if (jobId !== shownId) {
      shownId = jobId;
      shown = null;
      el.run.hidden = !jobId;
      el.empty.hidden = !!jobId;
      if (jobId) await readJob(jobId);
    }
  }

  /** A job changed (from the live stream). */
  function onJob(job) {
    if (job?.job_id === shownId) render(job);
  }

  /** Polling fallback: read the shown job again while it runs. */
  function refresh() {
    if (shownId && (!shown || isActive(shown))) return readJob(shownId);
    return Promise.resolve();
  }

  return { activate, onJob, refresh };
}

// The Jobs tab: launching the metric, the list of jobs (newest first, with "Load more",
// filtered by status and metric), each job's live state, cancelling one or every queued
// job, running a finished one again, and copying an exact result (an A/B test's result is
// summed up here and drawn in the Experiments tab).
//
// Jobs are kept in a Map by id and each has one <li>, created once and then updated in
// place (so focus and text selection survive updates). Updates come from GET /jobs, from the
// event stream and from the answers to launch and cancel; `upsert` takes them all and drops
// one that is older than what is shown (see `isNewer`).

import { api, explain, isAbort } from './api.js';
import { announce, byId, fromTemplate, h, setMessage } from './dom.js';
import {
  formatDuration,
  formatInstant,
  formatPercent,
  groupDigits,
  shortId,
} from './format.js';
import { formatNumber, formatP, formatPercent as formatTestPercent, headline } from './verdict.js';

const PAGE_SIZE = 20;
const BULK_PAGES = 10; // pages of 100 queued jobs read at most for "Cancel queued…"
const UNPICKED_HINT_AFTER = 30_000; // ms a job may wait before we hint that no worker runs

const STATUS = {
  queued: { label: 'Queued', tone: 'neutral' },
  running: { label: 'Running', tone: 'info' },
  succeeded: { label: 'Succeeded', tone: 'ok' },
  failed: { label: 'Failed', tone: 'danger' },
  cancelled: { label: 'Cancelled', tone: 'muted' },
};
const RANK = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };

const isActive = (job) => job.status === 'queued' || job.status === 'running';
const time = (iso) => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
};

/** Whether `next` is the same job at a later point than `shown` (updates can cross). */
function isNewer(shown, next) {
  if (next.attempts !== shown.attempts) return next.attempts > shown.attempts;
  const rank = (RANK[next.status] ?? 0) - (RANK[shown.status] ?? 0);
  if (rank !== 0) return rank > 0;
  return next.progress >= shown.progress;
}

/** Newest first: by creation time, then id (for a stable order). */
function comesBefore(a, b) {
  const ta = time(a.created_at);
  const tb = time(b.created_at);
  return ta !== tb ? ta > tb : a.job_id > b.job_id;
}

/** An Idempotency-Key: a random UUID (crypto.randomUUID needs a secure context). */
function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Copies text: the async Clipboard API, else a hidden textarea and execCommand. */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand('copy');
    } catch {
      copied = false;
    }
    area.remove();
    return copied;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A job as a launch's answer tells of it, shown at once; its full state follows from the
 *  stream, a poll, or a read. */
function justQueued(accepted, what) {
  return {
    ...what,
    job_id: accepted.job_id,
    status: accepted.status,
    progress: 0,
    phase: null,
    result: null,
    error: null,
    attempts: 0,
    cancel_requested: false,
    created_at: new Date().toISOString(),
    started_at: null,
    finished_at: null,
    worker: null,
  };
}

export function createJobsView({ onActivity }) {
  const el = {
    list: byId('jobs'),
    empty: byId('jobs-empty'),
    more: byId('jobs-more'),
    launch: byId('launch'),
    launchMessage: byId('launch-message'),
    jobsMessage: byId('jobs-message'),
    noneMatch: byId('jobs-none-match'),
    filter: byId('job-filter'),
    metric: byId('job-filter-metric'),
    cancelQueued: byId('cancel-queued'),
  };

  // What the list shows: any of these statuses (all when none is ticked), of this metric.
  let filter = { statuses: [], metric: '' };
  const admits = (job) =>
    (filter.statuses.length === 0 || filter.statuses.includes(job.status)) &&
    (!filter.metric || job.metric === filter.metric);
  const filtered = () => filter.statuses.length > 0 || filter.metric !== '';

  const jobs = new Map(); // job_id → job
  const items = new Map(); // job_id → <li>
  const cancelling = new Set(); // job ids whose cancel request is under way
  let firstPageLoaded = false;
  let olderCursor = null;
  let refreshing = null;
  let ticker = null;
  let visible = false;

  // ---- Rendering ---------------------------------------------------------------------

  const part = (li, selector) => li.querySelector(selector);

  function createItem(job) {
    const li = fromTemplate('tpl-job');
    li.dataset.jobId = job.job_id;
    li.tabIndex = -1; // focus lands here when a focused button goes away
    const id = part(li, '.job__id');
    id.textContent = shortId(job.job_id);
    id.title = job.job_id;
    li.setAttribute('aria-label', `Job ${shortId(job.job_id)}`);
    return li;
  }

  function insertInOrder(li, job) {
    for (const other of el.list.children) {
      const shown = jobs.get(other.dataset.jobId);
      if (shown && comesBefore(job, shown)) {
        el.list.insertBefore(li, other);
        return;
      }
    }
    el.list.append(li);
  }

  function fill(li, job) {
    const status = STATUS[job.status] ?? { label: job.status, tone: 'neutral' };
    const stopping = isActive(job) && job.cancel_requested;
    li.dataset.status = job.status;

    const badge = part(li, '.job__status');
    badge.textContent = stopping ? `${status.label} · cancelling` : status.label;
    badge.dataset.tone = status.tone;

    part(li, '.job__metric').textContent = job.metric;
    const created = part(li, '.job__created time');
    created.dateTime = job.created_at;
    created.textContent = formatInstant(job.created_at) ?? job.created_at;
    created.title = formatInstant(job.created_at) ?? job.created_at;

    // Progress: a percentage for people, the ARIA values for assistive tech and tests.
    const percent = Math.floor(Math.min(1, Math.max(0, job.progress)) * 100);
    const bar = part(li, '.progress');
    bar.setAttribute('aria-valuenow', String(percent));
    bar.setAttribute('aria-valuetext', `${formatPercent(job.progress)} (${status.label.toLowerCase()})`);
    bar.setAttribute('aria-label', `Progress of job ${shortId(job.job_id)}`);
    bar.dataset.status = job.status;
    part(li, '.progress__fill').style.inlineSize = `${Math.min(1, Math.max(0, job.progress)) * 100}%`;
    part(li, '.job__percent').textContent = formatPercent(job.progress);

    const attempts = part(li, '.job__fact--attempts');
    attempts.hidden = !(job.attempts > 1);
    part(li, '.job__attempts').textContent = String(job.attempts);
    const worker = part(li, '.job__fact--worker');
    worker.hidden = !job.worker;
    part(li, '.job__worker').textContent = job.worker ?? '';

    const error = part(li, '.job__error');
    error.textContent = job.status === 'failed' ? job.error || 'The job failed without a reason.' : '';
    error.hidden = job.status !== 'failed';

    if (job.status === 'succeeded' && job.result !== null && typeof job.result === 'object') {
      renderTestResult(li, job);
    } else {
      renderResult(li, job.status === 'succeeded' ? job.result : null);
    }
    renderCancel(li, job);
    renderRerun(li, job);

    tickItem(li, job, Date.now());
  }

  /** An A/B test's answer in short, and a link to its picture in the Experiments tab. */
  function renderTestResult(li, job) {
    let block = part(li, '.job__result');
    if (!block || !block.classList.contains('job__result--test')) {
      block?.remove();
      block = h(
        'div',
        { class: 'job__result job__result--test' },
        h('span', { class: 'job__result-label small muted' }, 'Result'),
        h('span', { class: 'job__summary', 'data-testid': 'job-summary' }),
        h('a', { class: 'button button--small', 'data-testid': 'job-open-test' }, 'Open the test'),
      );
      part(li, '.job__message').before(block);
    }
    const figures = headline(job.result);
    const lift = figures.relative_difference === null ? formatNumber(figures.difference) : formatTestPercent(figures.relative_difference, { signed: true });
    part(block, '.job__summary').textContent = `${lift} (${formatP(figures.p_value)})${job.result.srm ? ' · sample ratio mismatch' : ''}`;
    const link = part(block, 'a');
    link.href = `?${new URLSearchParams({ tab: 'experiments', job: job.job_id })}`;
    link.setAttribute('aria-label', `Open the A/B test of job ${shortId(job.job_id)}`);
  }

  /** The exact result and its Copy button, present only once the job succeeded. */
  function renderResult(li, result) {
    let block = part(li, '.job__result');
    if (result === null || result === undefined) {
      block?.remove();
      return;
    }
    if (block?.classList.contains('job__result--test')) {
      block.remove();
      block = null;
    }
    if (!block) {
      block = h(
        'div',
        { class: 'job__result' },
        h('span', { class: 'job__result-label small muted' }, 'Result'),
        h('data', { class: 'job__value', 'data-testid': 'job-result' }),
        h('button', { type: 'button', class: 'button button--small job__copy', 'data-testid': 'job-copy' }, 'Copy'),
      );
      part(li, '.job__message').before(block);
    }
    // The exact decimal string, never a Number: it is beyond 2^53.
    const value = part(block, '.job__value');
    value.value = result;
    value.dataset.value = result;
    value.title = result;
    value.textContent = groupDigits(result);
    part(block, '.job__copy').setAttribute('aria-label', `Copy the result of job ${shortId(li.dataset.jobId)}`);
  }

  /** The Cancel button, present only while the job is queued or running. */
  function renderCancel(li, job) {
    let button = part(li, '.job__cancel');
    if (!isActive(job)) {
      if (!button) return;
      const hadFocus = document.activeElement === button;
      button.remove();
      if (hadFocus) li.focus(); // do not drop keyboard users back at the top of the page
      return;
    }
    if (!button) {
      button = h('button', {
        type: 'button',
        class: 'button button--small button--danger-quiet job__cancel',
        'data-testid': 'job-cancel',
      });
      part(li, '.job__head').append(button);
    }
    const pending = job.cancel_requested || cancelling.has(job.job_id);
    button.disabled = pending;
    button.textContent = pending ? 'Cancelling…' : 'Cancel';
    button.setAttribute('aria-label', `${pending ? 'Cancelling' : 'Cancel'} job ${shortId(job.job_id)}`);
  }

  /** The "Run again" button, present only once the job is finished. */
  function renderRerun(li, job) {
    let button = part(li, '.job__rerun');
    if (isActive(job)) {
      button?.remove();
      return;
    }
    if (!button) {
      button = h('button', {
        type: 'button',
        class: 'button button--small job__rerun',
        'data-testid': 'job-rerun',
      }, 'Run again');
      part(li, '.job__head').append(button);
    }
    button.setAttribute('aria-label', `Run job ${shortId(job.job_id)} again`);
  }

  /** The parts that change with the clock: elapsed time and the "no worker" hint. */
  function tickItem(li, job, now) {
    let label = 'Elapsed';
    let text = '—';
    if (job.status === 'queued') {
      label = 'Waiting';
      text = formatDuration(now - time(job.created_at));
    } else if (job.started_at && job.finished_at) {
      label = 'Took';
      text = formatDuration(time(job.finished_at) - time(job.started_at));
    } else if (job.started_at) {
      text = formatDuration(now - time(job.started_at));
    }
    part(li, '.job__elapsed-label').textContent = label;
    part(li, '.job__elapsed').textContent = text;

    const hint = part(li, '.job__hint');
    let hintText = '';
    if (job.status === 'queued' && now - time(job.created_at) > UNPICKED_HINT_AFTER) {
      hintText = 'No worker has picked this job up yet. It runs as soon as one is free; if it stays queued, check that a worker is running.';
    } else if (job.status === 'cancelled') {
      hintText = job.started_at ? `Stopped at ${formatPercent(job.progress)}.` : 'Cancelled before it started.';
    }
    if (hint.textContent !== hintText) hint.textContent = hintText;
    hint.hidden = !hintText;
  }

  function tick() {
    const now = Date.now();
    let active = false;
    for (const [id, job] of jobs) {
      if (!isActive(job)) continue;
      active = true;
      tickItem(items.get(id), job, now);
    }
    if (!active) stopTicker();
  }

  function startTicker() {
    if (!ticker && visible && [...jobs.values()].some(isActive)) ticker = setInterval(tick, 1000);
  }

  function stopTicker() {
    clearInterval(ticker);
    ticker = null;
  }

  function renderEmpty() {
    const none = firstPageLoaded && jobs.size === 0;
    el.empty.hidden = !(none && !filtered());
    el.noneMatch.hidden = !(none && filtered());
  }

  function forget(jobId) {
    const li = items.get(jobId);
    if (li?.contains(document.activeElement)) el.filter.querySelector('input')?.focus();
    li?.remove();
    items.delete(jobId);
    jobs.delete(jobId);
  }

  function renderMore() {
    el.more.hidden = !olderCursor;
  }

  /** Shows a job, new or changed; returns whether anything changed on screen. */
  function upsert(job) {
    if (!job || typeof job.job_id !== 'string') return false;
    const shown = jobs.get(job.job_id);
    if (!admits(job)) {
      // A job the filters leave out (or one that changed out of them) is not shown.
      if (!shown || !isNewer(shown, job)) return false;
      forget(job.job_id);
      renderEmpty();
      return true;
    }
    if (shown && (!isNewer(shown, job) || JSON.stringify(shown) === JSON.stringify(job))) return false;
    jobs.set(job.job_id, job);
    let li = items.get(job.job_id);
    if (!li) {
      li = createItem(job);
      items.set(job.job_id, li);
      insertInOrder(li, job);
    }
    fill(li, job);
    renderEmpty();
    startTicker();
    return true;
  }

  // ---- Reading the list --------------------------------------------------------------

  /** Re-reads the newest page, and any active job shown beyond it; one at a time. */
  function refresh() {
    refreshing ??= (async () => {
      try {
        const page = await api.jobs({ limit: PAGE_SIZE, ...filter });
        let changed = false;
        for (const job of page.jobs) changed = upsert(job) || changed;
        if (!firstPageLoaded) {
          firstPageLoaded = true;
          olderCursor = page.next_cursor;
          renderMore();
        }
        const onPage = new Set(page.jobs.map((job) => job.job_id));
        const beyond = [...jobs.values()].filter((job) => isActive(job) && !onPage.has(job.job_id));
        const reads = await Promise.allSettled(beyond.map((job) => api.job(job.job_id)));
        for (const read of reads) if (read.status === 'fulfilled') changed = upsert(read.value) || changed;
        setMessage(el.jobsMessage, '');
        return { changed, active: [...jobs.values()].some(isActive) };
      } catch (error) {
        if (!isAbort(error)) {
          setMessage(el.jobsMessage, explain(error, { action: 'read the jobs' }), 'error');
        }
        throw error;
      } finally {
        el.list.removeAttribute('aria-busy');
        renderEmpty();
        refreshing = null;
      }
    })();
    return refreshing;
  }

  el.more.addEventListener('click', async () => {
    if (!olderCursor) return;
    el.more.disabled = true;
    el.more.textContent = 'Loading…';
    try {
      const page = await api.jobs({ limit: PAGE_SIZE, cursor: olderCursor, ...filter });
      page.jobs.forEach(upsert);
      olderCursor = page.next_cursor;
      setMessage(el.jobsMessage, '');
      announce(`${page.jobs.length} older jobs loaded`);
    } catch (error) {
      setMessage(el.jobsMessage, explain(error, { action: 'load older jobs' }), 'error');
    } finally {
      el.more.disabled = false;
      el.more.textContent = 'Load more';
      const hadFocus = document.activeElement === el.more;
      renderMore();
      if (hadFocus && el.more.hidden) el.list.lastElementChild?.focus();
    }
  });

  // ---- Filtering ---------------------------------------------------------------------

  /** Reads the form's filters and lists the jobs again from the newest. */
  function applyFilter() {
    const form = new FormData(el.filter);
    filter = { statuses: form.getAll('status').map(String), metric: String(form.get('metric') ?? '') };
    for (const jobId of [...jobs.keys()]) forget(jobId);
    firstPageLoaded = false;
    olderCursor = null;
    renderMore();
    el.list.setAttribute('aria-busy', 'true');
    return refresh().catch(() => {});
  }

  el.filter.addEventListener('change', applyFilter);
  el.filter.addEventListener('submit', (event) => event.preventDefault());

  async function loadMetricNames() {
    try {
      const { metrics } = await api.metrics();
      for (const { name } of metrics) {
        if (![...el.metric.options].some((option) => option.value === name)) {
          el.metric.append(h('option', { value: name }, name));
        }
      }
    } catch {
      // The filter still works for "All metrics"; the launch buttons report the outage.
    }
  }

  // ---- Launching ---------------------------------------------------------------------

  let launching = false;

  el.launch.addEventListener('click', async () => {
    if (launching) return;
    launching = true;
    el.launch.disabled = true;
    el.launch.setAttribute('aria-busy', 'true');
    el.launch.textContent = 'Launching…';
    setMessage(el.launchMessage, '');
    // One key per click: if the request is sent twice (the retry below, a flaky network),
    // the service starts one job, not two.
    const key = newIdempotencyKey();
    try {
      let accepted;
      try {
        accepted = await api.launch(key);
      } catch (error) {
        if (!error.isNetwork) throw error;
        await sleep(1000);
        accepted = await api.launch(key); // safe to repeat: same key, same job
      }
      if (!jobs.has(accepted.job_id)) {
        // Show it at once; its full state follows from the stream, a poll, or the read below.
        upsert(justQueued(accepted, { metric: 'calculate_metric', params: {} }));
      }
      setMessage(el.launchMessage, `Launched job ${shortId(accepted.job_id)}.`, 'ok');
      onActivity();
      api.job(accepted.job_id).then(upsert, () => {});
    } catch (error) {
      const why = explain(error, { action: 'launch the metric' });
      setMessage(
        el.launchMessage,
        error.isNetwork || error.status === 429 ? why : `Could not launch the metric. ${why}`,
        'error',
      );
      if (error.status === 503) refresh().catch(() => {}); // a job the queue refused shows as failed
    } finally {
      launching = false;
      el.launch.disabled = false;
      el.launch.removeAttribute('aria-busy');
      el.launch.textContent = 'Launch metric';
    }
  });

  // ---- Cancelling, running again and copying ------------------------------------------

  /** Every queued job's id, whatever the list shows (up to BULK_PAGES pages of 100). */
  async function queuedJobIds() {
    const ids = [];
    let cursor = null;
    for (let page = 0; page < BULK_PAGES; page += 1) {
      const read = await api.jobs({ limit: 100, cursor, statuses: ['queued'] });
      ids.push(...read.jobs.map((job) => job.job_id));
      cursor = read.next_cursor;
      if (!cursor) break;
    }
    return ids;
  }

  el.cancelQueued.addEventListener('click', async () => {
    el.cancelQueued.disabled = true;
    try {
      const ids = await queuedJobIds();
      if (ids.length === 0) {
        setMessage(el.jobsMessage, 'No job is queued: there is nothing to cancel.', 'ok');
        return;
      }
      const jobsText = ids.length === 1 ? '1 queued job' : `${ids.length} queued jobs`;
      if (!window.confirm(`Cancel ${jobsText}? They will not run.`)) return;
      let done = 0;
      for (const jobId of ids) {
        try {
          upsert(await api.cancel(jobId));
          done += 1;
        } catch (error) {
          if (error.status !== 409) throw error; // 409: it finished meanwhile
        }
      }
      setMessage(el.jobsMessage, `Cancelled ${done === 1 ? '1 queued job' : `${done} queued jobs`}.`, 'ok');
      announce(`Cancelled ${done} queued jobs`);
      onActivity();
    } catch (error) {
      setMessage(el.jobsMessage, explain(error, { action: 'cancel the queued jobs' }), 'error');
    } finally {
      el.cancelQueued.disabled = false;
    }
  });

  async function rerun(jobId, li, button) {
    const message = part(li, '.job__message');
    const job = jobs.get(jobId);
    button.disabled = true;
    try {
      const accepted = await api.rerun(jobId);
      message.textContent = `Running again as job ${shortId(accepted.job_id)}.`;
      upsert(justQueued(accepted, { metric: job.metric, params: job.params, rerun_of: jobId }));
      announce(`Job ${shortId(jobId)} runs again as job ${shortId(accepted.job_id)}`);
      onActivity();
      api.job(accepted.job_id).then(upsert, () => {});
    } catch (error) {
      message.textContent = `Could not run it again: ${explain(error, { action: 'run the job again' })}`;
    } finally {
      button.disabled = false;
    }
  }

  async function cancel(jobId, li) {
    const message = part(li, '.job__message');
    cancelling.add(jobId);
    fill(li, jobs.get(jobId));
    try {
      const job = await api.cancel(jobId);
      message.textContent = '';
      cancelling.delete(jobId);
      if (!upsert(job)) fill(li, jobs.get(jobId));
      announce(job.status === 'cancelled'
        ? `Job ${shortId(jobId)} cancelled`
        : `Job ${shortId(jobId)} stops at its next progress check`);
      onActivity();
    } catch (error) {
      cancelling.delete(jobId);
      fill(li, jobs.get(jobId));
      if (error.status === 409) {
        message.textContent = 'This job had already finished, so there was nothing to cancel.';
        api.job(jobId).then(upsert, () => {});
      } else {
        message.textContent = `Could not cancel: ${explain(error, { action: 'cancel the job' })}`;
      }
    }
  }

  async function copy(jobId, button) {
    const job = jobs.get(jobId);
    if (typeof job?.result !== 'string') return;
    const copied = await copyText(job.result);
    button.textContent = copied ? 'Copied' : 'Copy failed';
    announce(copied ? 'Result copied' : 'Could not copy. Select the number and copy it.');
    clearTimeout(button.resetTimer);
    button.resetTimer = setTimeout(() => {
      button.textContent = 'Copy';
    }, 2000);
  }

  el.list.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const li = button?.closest('.job');
    if (!li) return;
    const jobId = li.dataset.jobId;
    if (button.matches('.job__cancel')) cancel(jobId, li);
    else if (button.matches('.job__rerun')) rerun(jobId, li, button);
    else if (button.matches('.job__copy')) copy(jobId, button);
  });

  // A result selected and copied by hand is copied without its grouping spaces.
  el.list.addEventListener('copy', (event) => {
    const text = window.getSelection()?.toString() ?? '';
    if (!text.includes('\u2009') || !event.clipboardData) return;
    event.clipboardData.setData('text/plain', text.replaceAll('\u2009', ''));
    event.preventDefault();
  });

  // ---- Entry points for the app ------------------------------------------------------

  /** The Jobs tab became visible: re-read the list (the live updates are started by the app). */
  function activate() {
    visible = true;
    startTicker();
    loadMetricNames();
    return refresh().catch(() => {});
  }

  function deactivate() {
    visible = false;
    stopTicker();
  }

  return { activate, deactivate, refresh, upsert };
}

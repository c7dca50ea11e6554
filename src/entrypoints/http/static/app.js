/*
 * Experiments: the web page. Plain ES modules, no framework, no build step.
 *
 * Structure
 *   app.js          this file: wires the modules together, owns the route (tab + table view)
 *                   and keeps it in sync with the URL (pushState / replaceState / popstate).
 *   js/api.js       the API client: one function per operation; every failure becomes an
 *                   ApiError carrying the RFC 9457 problem's fields; `explain` words it.
 *   js/router.js    the view <-> query string (?tab=tables&table=…&from_date=…&user_id=…&cursor=…&page=…).
 *   js/tabs.js      accessible tabs (buttons with aria-selected, arrow keys, roving tabindex).
 *   js/tables.js    the Tables tab: table list, record grid, filters, pages of older records.
 *   js/jobs.js      the Jobs tab: launch, job list, progress, results, cancel, copy.
 *   js/experiments.js  the Experiments tab: an A/B test's form (from the registry's JSON
 *                   Schema and the tables), its job's progress, its result.
 *   js/chart.js     the result as an SVG picture; js/verdict.js: the result in words.
 *   js/live.js      live job updates: Server-Sent Events with a polling fallback.
 *   js/format.js    pure formatting (counts, exact decimals, dates, durations).
 *   js/dom.js       DOM helpers. Data is only ever written as text (never innerHTML): table
 *                   cells come from users' CSV files.
 *
 * Flow: a user action calls `navigate(...)`, which writes the URL and then renders the
 * route, the same way opening a shared link or pressing Back (popstate) renders it.
 */

import { JOB_EVENTS_URL } from './js/api.js';
import { createExperimentsView } from './js/experiments.js';
import { createJobsView } from './js/jobs.js';
import { createLiveUpdates } from './js/live.js';
import { emptyTableView, parseUrl, writeUrl } from './js/router.js';
import { createTablesView } from './js/tables.js';
import { createTabs } from './js/tabs.js';

const CONNECTION_TEXT = {
  connecting: ['connecting…', 'Connecting to live updates'],
  live: ['live', 'Updates arrive as they happen'],
  polling: ['polling', 'Live updates are unavailable; the list is checked for changes regularly'],
  offline: ['offline', 'The service cannot be reached; retrying'],
  paused: ['paused', 'Updates are paused while this tab is hidden'],
};

let route = { tab: 'tables', tables: emptyTableView(), experiment: null };

const tables = createTablesView({ navigate: (tableView) => navigate({ tab: 'tables', tables: tableView }) });
const jobs = createJobsView({ onActivity: () => live.nudge() });
const experiments = createExperimentsView({
  navigate: (jobId) => navigate({ tab: 'experiments', experiment: jobId }),
  onActivity: () => live.nudge(),
});
const live = createLiveUpdates({
  url: JOB_EVENTS_URL,
  onJob: (job) => {
    jobs.upsert(job);
    experiments.onJob(job);
  },
  onSync: () => {
    jobs.refresh().catch(() => {});
    experiments.refresh().catch(() => {});
  },
  poll: async () => {
    const polled = await jobs.refresh();
    await experiments.refresh();
    return polled;
  },
  onState: renderConnection,
});
const tabs = createTabs(document.querySelector('[role="tablist"]'), {
  onSelect: (tab) => {
    if (tab !== route.tab) navigate({ tab, tables: route.tables, experiment: route.experiment });
  },
});

function renderConnection(state) {
  const indicator = document.getElementById('connection');
  const [text, title] = CONNECTION_TEXT[state] ?? [state, ''];
  indicator.dataset.state = state;
  indicator.title = title;
  indicator.querySelector('.connection__text').textContent = text;
}

/** Live updates run while the Jobs or the Experiments tab is shown on a visible page (see
 *  js/live.js): both follow jobs. */
function syncLiveUpdates() {
  if (route.tab !== 'tables' && document.visibilityState === 'visible') live.start();
  else live.stop();
}

const TITLES = { jobs: 'Jobs · Experiments', experiments: 'A/B tests · Experiments' };

function render() {
  tabs.show(route.tab);
  document.title = TITLES[route.tab]
    ?? (route.tables?.table ? `${route.tables.table} · Tables · Experiments` : 'Tables · Experiments');
  if (route.tab === 'tables') {
    jobs.deactivate();
    tables.activate();
    tables.show(route.tables);
  } else if (route.tab === 'jobs') {
    jobs.activate();
  } else {
    jobs.deactivate();
    experiments.activate(route.experiment);
  }
  syncLiveUpdates();
}

function navigate(next, { replace = false } = {}) {
  route = {
    tab: next.tab,
    tables: next.tables ?? route.tables,
    experiment: next.tab === 'experiments' ? next.experiment ?? route.experiment : route.experiment,
  };
  writeUrl(route, { replace });
  render();
}

window.addEventListener('popstate', () => {
  const parsed = parseUrl();
  // A Jobs URL carries no table view: keep the one in memory for when Tables is shown again.
  route = { tab: parsed.tab, tables: parsed.tables ?? route.tables, experiment: parsed.experiment };
  render();
});

document.addEventListener('visibilitychange', () => {
  if (route.tab === 'jobs' && document.visibilityState === 'visible') jobs.activate();
  syncLiveUpdates();
});

// Start from the address bar, written back in its canonical form (without a new entry).
{
  const parsed = parseUrl();
  navigate(
    { tab: parsed.tab, tables: parsed.tables ?? emptyTableView(), experiment: parsed.experiment },
    { replace: true },
  );
}

// The view <-> the URL's query string, so that any view can be shared and restored.
//
//   ?tab=tables&table=df_sales&from_date=2023-06-01&user_id=8d0315&cursor=...&page=2
//   ?tab=jobs
//   ?tab=experiments&job=3b241101-...   (an A/B test's job, shown with its result)
//
// The table part of the view is only written while the Tables tab is active; the page keeps
// it in memory while Jobs is shown, so switching back restores it.

export const TABS = ['tables', 'jobs', 'experiments'];

/** The empty table view: no table picked, no filters, newest page. */
export const emptyTableView = () => ({ table: null, fromDate: '', userId: '', cursor: null, page: 1 });

/** Reads {tab, tables, experiment} from a URL; `tables` is null when the URL names no table
 *  view, `experiment` is the job id of the A/B test shown (or null). */
export function parseUrl(url = window.location.href) {
  const params = new URL(url).searchParams;
  const tab = TABS.includes(params.get('tab')) ? params.get('tab') : 'tables';
  const experiment = tab === 'experiments' ? params.get('job') || null : null;
  const table = params.get('table');
  if (!table) return { tab, tables: tab === 'tables' ? emptyTableView() : null, experiment };
  const page = Number.parseInt(params.get('page') ?? '', 10);
  const cursor = params.get('cursor') || null;
  return {
    tab,
    tables: {
      table,
      fromDate: params.get('from_date') ?? '',
      userId: params.get('user_id') ?? '',
      cursor,
      page: cursor && page > 1 ? page : 1,
    },
    experiment,
  };
}

/** The query string for a view. */
export function toSearch({ tab, tables, experiment = null }) {
  const params = new URLSearchParams({ tab });
  if (tab === 'experiments' && experiment) params.set('job', experiment);
  if (tab === 'tables' && tables?.table) {
    params.set('table', tables.table);
    if (tables.fromDate) params.set('from_date', tables.fromDate);
    if (tables.userId) params.set('user_id', tables.userId);
    if (tables.cursor) {
      params.set('cursor', tables.cursor);
      params.set('page', String(tables.page));
    }
  }
  return `?${params}`;
}

/** Writes a view to the address bar: a new history entry, or a replaced one. */
export function writeUrl(view, { replace = false } = {}) {
  const search = toSearch(view);
  if (search === window.location.search) return;
  const url = `${window.location.pathname}${search}${window.location.hash}`;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
}

export const sameTableView = (a, b) =>
  !!a && !!b &&
  a.table === b.table &&
  a.fromDate === b.fromDate &&
  a.userId === b.userId &&
  a.cursor === b.cursor;

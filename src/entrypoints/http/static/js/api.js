// The API client: one function per operation of docs/openapi.json.
//
// Every failure becomes an ApiError. HTTP errors carry the RFC 9457 problem's members
// (title, status, detail, parameter, knownTables, file, line, column, retryAfter); a request
// that never got an answer has kind "network". An aborted request rejects with the
// browser's AbortError, which callers ignore.

export class ApiError extends Error {
  constructor({
    kind = 'http',
    status = 0,
    title = 'Error',
    detail = '',
    parameter = null,
    knownTables = null,
    file = null,
    line = null,
    column = null,
    retryAfter = null,
    cause,
  }) {
    super(detail || title, cause ? { cause } : undefined);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.parameter = parameter;
    this.knownTables = knownTables;
    this.file = file;
    this.line = line;
    this.column = column;
    this.retryAfter = retryAfter;
  }

  get isNetwork() {
    return this.kind === 'network';
  }
}

export const isAbort = (error) => error?.name === 'AbortError';

/** Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. */
function parseRetryAfter(header) {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const when = Date.parse(header);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

function networkError(cause) {
  return new ApiError({
    kind: 'network',
    title: 'Network error',
    detail: 'The service could not be reached.',
    cause,
  });
}

function problemFrom(response, text) {
  let body = {};
  if ((response.headers.get('content-type') || '').includes('json')) {
    try {
      body = JSON.parse(text) ?? {};
    } catch {
      body = {};
    }
  }
  return new ApiError({
    status: response.status,
    title: typeof body.title === 'string' ? body.title : response.statusText || `HTTP ${response.status}`,
    detail: typeof body.detail === 'string' ? body.detail : '',
    parameter: body.parameter ?? null,
    knownTables: Array.isArray(body.known_tables) ? body.known_tables : null,
    file: body.file ?? null,
    line: body.line ?? null,
    column: body.column ?? null,
    retryAfter: body.retry_after ?? parseRetryAfter(response.headers.get('retry-after')),
  });
}

/**
 * JSON.parse that keeps every number's exact source text (as a string) where the browser
 * supports JSON.parse source text access; elsewhere numbers become their shortest string.
 * Used for table rows: numeric columns can carry more digits than a double holds.
 */
function parseExactNumbers(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === 'number' ? (context?.source ?? String(value)) : value,
  );
}

const TOKEN_KEY = 'experiments.token';

/** The API token this browser was given (API_TOKENS on the server), if any. */
const storedToken = () => {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
};

const keepToken = (token) => {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* private mode: the token lasts this page only */
  }
};

/** Asks for a token once, after the service answered 401 to a change; null if refused. */
const askForToken = () => {
  const token = window.prompt('This service needs an API token to launch or cancel jobs. Token:');
  return token?.trim() || null;
};

async function send(path, { method, headers, body, signal }, token) {
  const auth = token && method !== 'GET' ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(path, {
    method,
    signal,
    body,
    headers: { Accept: 'application/json, application/problem+json', ...headers, ...auth },
  });
  return { response, text: await response.text() };
}

async function request(path, { method = 'GET', headers = {}, body, signal, exactNumbers = false } = {}) {
  let response;
  let text;
  try {
    ({ response, text } = await send(path, { method, headers, body, signal }, storedToken()));
    if (response.status === 401 && method !== 'GET') {
      keepToken(null);
      const token = askForToken();
      if (token) {
        ({ response, text } = await send(path, { method, headers, body, signal }, token));
        if (response.status !== 401) keepToken(token);
      }
    }
  } catch (error) {
    if (isAbort(error)) throw error;
    throw networkError(error);
  }
  if (!response.ok) throw problemFrom(response, text);
  try {
    return { data: exactNumbers ? parseExactNumbers(text) : JSON.parse(text), response };
  } catch (error) {
    throw new ApiError({
      status: response.status,
      title: 'Unreadable response',
      detail: 'The service answered with something that is not JSON.',
      cause: error,
    });
  }
}

const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    // An array is a repeated parameter (status=failed&status=cancelled).
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== null && one !== undefined && one !== '') search.append(key, one);
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
};

export const api = {
  /** GET /tables → {tables: [...]} */
  async tables({ signal } = {}) {
    return (await request('/tables', { signal })).data;
  },

  /** GET /logs → {table, date_column, user_column, columns, rows, count, has_more, next_cursor}.
   *  Numbers inside rows (and `count`) arrive as exact decimal strings. */
  async logs({ table, fromDate, userId, cursor }, { signal } = {}) {
    const path = `/logs${query({ table_name: table, from_date: fromDate, user_id: userId, cursor })}`;
    const { data } = await request(path, { signal, exactNumbers: true });
    return { ...data, count: Number(data.count) };
  },

  /** POST /launch → {job_id, status} and the job's Location. */
  async launch(idempotencyKey) {
    const { data, response } = await request('/launch', {
      method: 'POST',
      headers: { 'Idempotency-Key': idempotencyKey },
    });
    return { ...data, location: response.headers.get('location') };
  },

  /** POST /launch with a JSON body {metric, params} → {job_id, status} and the job's Location.
   *  A 400 names the wrong parameter in `parameter` (dotted inside params). */
  async launchMetric({ metric, params }, idempotencyKey) {
    const { data, response } = await request('/launch', {
      method: 'POST',
      headers: { 'Idempotency-Key': idempotencyKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ metric, params }),
    });
    return { ...data, location: response.headers.get('location') };
  },

  /** GET /launch/metrics → {metrics: [{name, description, parameters (a JSON Schema)}]} */
  async metrics({ signal } = {}) {
    return (await request('/launch/metrics', { signal })).data;
  },

  /** GET /jobs → {jobs, next_cursor}, of any of `statuses` and of `metric` when given */
  async jobs({ limit = 20, cursor = null, statuses = [], metric = null } = {}, { signal } = {}) {
    const path = `/jobs${query({ limit, cursor, status: statuses, metric })}`;
    return (await request(path, { signal })).data;
  },

  /** GET /jobs/{job_id} → job */
  async job(jobId, { signal } = {}) {
    return (await request(`/jobs/${encodeURIComponent(jobId)}`, { signal })).data;
  },

  /** POST /jobs/{job_id}/rerun → {job_id, status} of the new job (409 while it is active) */
  async rerun(jobId) {
    const { data, response } = await request(`/jobs/${encodeURIComponent(jobId)}/rerun`, {
      method: 'POST',
    });
    return { ...data, location: response.headers.get('location') };
  },

  /** POST /jobs/{job_id}/cancel → job (409 when it already finished) */
  async cancel(jobId) {
    return (await request(`/jobs/${encodeURIComponent(jobId)}/cancel`, { method: 'POST' })).data;
  },
};

export const JOB_EVENTS_URL = '/jobs/events';

/** Plain words for an error, for a person rather than a developer. */
export function explain(error, { action = 'load this' } = {}) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error?.message || error}.`;
  if (error.isNetwork) {
    return `Could not reach the service to ${action}. Check that it is running and that you are online, then try again.`;
  }
  const wait = error.retryAfter != null ? ` Try again in ${seconds(error.retryAfter)}.` : ' Try again shortly.';
  switch (error.status) {
    case 429:
      return `Too many jobs are queued or running right now, so nothing was launched.${wait}`;
    case 503:
      return `${error.title || 'Service unavailable'}: ${shorten(error.detail) || 'the database or the job queue is down'}.${wait}`;
    default:
      return error.detail || `${error.title} (HTTP ${error.status}).`;
  }
}

export const seconds = (n) => (n === 1 ? '1 second' : `${n} seconds`);
/** A detail trimmed to one readable sentence-ish length, without its final full stop. */
function shorten(text = '', max = 240) {
  const flat = text.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

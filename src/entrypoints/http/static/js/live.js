// Live job updates: one EventSource on /jobs/events for all jobs, and polling as the fallback.
//
// When the stream is open the state is "live". When it fails (or the server does not offer
// it), the stream is closed and the list is polled instead: at once, then at a delay that
// doubles from 1 s up to 30 s (5 s while a job is queued or running) and drops back to 1 s
// whenever a poll brings a change; the state is "polling", or "offline" while polls fail.
// The stream is tried again meanwhile, after 5 s, then doubling up to 60 s.
//
// The app runs this only while the Jobs tab is shown and the page is visible: an open stream
// holds a server-side watcher and one of the browser's ~6 HTTP/1.1 connections per host
// (shared by every tab of this site), and no one needs job updates while reading tables or
// away from the page. Showing the tab again re-reads the list first, so nothing is missed.

const POLL_MIN = 1_000;
const POLL_MAX = 30_000;
const POLL_MAX_ACTIVE = 5_000;
const STREAM_RETRY_MIN = 5_000;
const STREAM_RETRY_MAX = 60_000;

/**
 * @param {object} options
 * @param {string} options.url          the event stream
 * @param {(job: object) => void} options.onJob        a `job` event's job
 * @param {() => void} options.onSync   re-read the list (stream opened, or `sync` event)
 * @param {() => Promise<{changed: boolean, active: boolean}>} options.poll  one poll; rejects on failure
 * @param {(state: string) => void} options.onState   "connecting" | "live" | "polling" | "offline" | "paused"
 */
export function createLiveUpdates({ url, onJob, onSync, poll, onState }) {
  let running = false;
  let source = null;
  let streamTimer = null;
  let streamDelay = STREAM_RETRY_MIN;
  let polling = false;
  let pollTimer = null;
  let pollDelay = POLL_MIN;
  let state = null;

  function setState(next) {
    if (next === state) return;
    state = next;
    onState(next);
  }

  // ---- The stream --------------------------------------------------------------------

  function openStream() {
    clearTimeout(streamTimer);
    streamTimer = null;
    if (!running || source) return;
    if (typeof EventSource !== 'function') {
      startPolling();
      return;
    }
    if (!polling) setState('connecting');
    const stream = new EventSource(url);
    source = stream;

    stream.addEventListener('open', () => {
      if (source !== stream) return;
      streamDelay = STREAM_RETRY_MIN;
      stopPolling();
      setState('live');
      onSync(); // catch up on changes made while no stream was open
    });
    stream.addEventListener('sync', () => onSync());
    stream.addEventListener('job', (event) => {
      let job;
      try {
        job = JSON.parse(event.data);
      } catch {
        return; // not a job: ignore it rather than break the stream
      }
      onJob(job);
    });
    stream.addEventListener('error', () => {
      if (source !== stream) return;
      // The browser would retry on its own, silently and at its own pace; take over instead:
      // poll now so the list stays fresh, and try the stream again later.
      stream.close();
      source = null;
      if (!running) return;
      startPolling();
      streamTimer = setTimeout(openStream, streamDelay);
      streamDelay = Math.min(streamDelay * 2, STREAM_RETRY_MAX);
    });
  }

  function closeStream() {
    clearTimeout(streamTimer);
    streamTimer = null;
    source?.close();
    source = null;
  }

  // ---- Polling -----------------------------------------------------------------------

  function startPolling() {
    if (polling) return;
    polling = true;
    pollDelay = POLL_MIN;
    schedulePoll(0);
  }

  function stopPolling() {
    polling = false;
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(pollOnce, delay);
  }

  async function pollOnce() {
    pollTimer = null;
    let ceiling = POLL_MAX;
    try {
      const { changed, active } = await poll();
      if (!polling) return; // the stream came back meanwhile
      setState('polling');
      if (active) ceiling = POLL_MAX_ACTIVE;
      pollDelay = changed ? POLL_MIN : Math.min(pollDelay * 2, ceiling);
    } catch {
      if (!polling) return;
      setState('offline');
      pollDelay = Math.min(pollDelay * 2, ceiling);
    }
    if (polling && !pollTimer) schedulePoll(pollDelay);
  }

  // ---- Control -----------------------------------------------------------------------

  function start() {
    if (running) return;
    running = true;
    streamDelay = STREAM_RETRY_MIN;
    openStream();
  }

  function stop() {
    running = false;
    closeStream();
    stopPolling();
    setState('paused');
  }

  /** Something just changed (a launch, a cancel): when polling, look again soon. */
  function nudge() {
    if (!running || !polling) return;
    pollDelay = POLL_MIN;
    schedulePoll(POLL_MIN);
  }

  // The network came back: poll now and try the stream again without waiting.
  window.addEventListener('online', () => {
    if (!running) return;
    if (polling) schedulePoll(0);
    if (!source) openStream();
  });

  return { start, stop, nudge };
}

// Pure formatting: numbers, exact decimals, dates, timestamps and durations. No DOM here.

const locale = undefined; // the browser's

const countFormat = new Intl.NumberFormat(locale);
const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
const wallClockFormat = new Intl.DateTimeFormat(locale, {
  dateStyle: 'medium',
  timeStyle: 'medium',
  timeZone: 'UTC',
});
const localFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' });

/** 20000 → "20,000" (in the browser's locale). */
export const formatCount = (n) => countFormat.format(n);

export const plural = (n, one, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

const THIN_SPACE = '\u2009';

/**
 * An exact decimal string grouped by thousands for reading: "166666091666880000000" →
 * "166 666 091 666 880 000 000" (thin spaces). Works on the text, never on a Number, so no
 * digit is lost. Anything that is not a plain decimal is returned as it is.
 */
export function groupDigits(decimal) {
  const match = /^([+-]?)(\d+)(\.\d+)?$/.exec(decimal);
  if (!match) return decimal;
  const [, sign, whole, fraction = ''] = match;
  return sign + whole.replace(/\B(?=(\d{3})+(?!\d))/g, THIN_SPACE) + fraction;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/;

/** "2023-06-01" → "Jun 1, 2023"; null when it is not an ISO date. */
export function formatDate(iso) {
  const m = DATE.exec(iso);
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  date.setUTCFullYear(+m[1]); // years 0-99 too
  return Number.isNaN(date.getTime()) ? null : dateFormat.format(date);
}

/**
 * A timestamp without a zone ("2023-12-31T22:43:38") is wall-clock time: there is no zone to
 * convert from, so it is shown as written, only formatted. null when unparseable.
 */
export function formatWallClock(iso) {
  const m = NAIVE.exec(iso);
  if (!m) return null;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0), ms));
  date.setUTCFullYear(+m[1]);
  return Number.isNaN(date.getTime()) ? null : wallClockFormat.format(date);
}

/** A zoned instant ("...Z", "...+03:00") in the browser's local time; null when unparseable. */
export function formatInstant(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : localFormat.format(date);
}

/** The date part of an ISO date or date-time, formatted: for table date ranges. */
export function formatDay(iso) {
  return (iso && formatDate(iso.slice(0, 10))) || iso || '';
}

/** Milliseconds → "0.8 s", "42 s", "3 min 05 s", "2 h 03 min". */
export function formatDuration(ms) {
  const clamped = Math.max(0, ms);
  if (clamped < 10_000) return `${(clamped / 1000).toFixed(1)} s`;
  const total = Math.floor(clamped / 1000);
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  const secs = String(total % 60).padStart(2, '0');
  if (minutes < 60) return `${minutes} min ${secs} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** 0.4213 → "42%" (floored, so "100%" only when done). */
export const formatPercent = (fraction) =>
  `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`;

export const shortId = (uuid) => uuid.slice(0, 8);

// An A/B test's result as a picture (SVG, drawn here: no chart library, no CDN).
//
//   Group means        control    ●──────┤        each group's mean and its interval
//                      pilot          ├──●──────┤
//   Difference              ┆   ├─────●─────┤     treatment − control and its interval,
//                           0                     against a dashed line at zero
//
// Elements are created with createElementNS and text goes in as text nodes.

import { formatNumber, formatPercent, groupNames, headline, metricLabel } from './verdict.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
const LEFT = 150; // room for the row labels
const RIGHT = WIDTH - 30;

function el(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** A linear scale over [low, high], widened by 8% each side and never empty. */
function scale(low, high) {
  let lo = Math.min(low, high);
  let hi = Math.max(low, high);
  if (lo === hi) {
    lo -= Math.abs(lo) || 1;
    hi += Math.abs(hi) || 1;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const at = (x) => LEFT + ((x - lo) / (hi - lo)) * (RIGHT - LEFT);
  return { at, lo, hi };
}

function interval(svg, { y, low, mid, high, at, tone, label, valueText }) {
  svg.append(el('text', { x: LEFT - 12, y: y + 4, 'text-anchor': 'end', class: 'chart__label' }, label));
  svg.append(el('line', { x1: at(low), x2: at(high), y1: y, y2: y, class: `chart__ci chart__ci--${tone}` }));
  for (const x of [low, high]) {
    svg.append(el('line', { x1: at(x), x2: at(x), y1: y - 6, y2: y + 6, class: `chart__ci chart__ci--${tone}` }));
  }
  svg.append(el('circle', { cx: at(mid), cy: y, r: 5.5, class: `chart__point chart__point--${tone}` }));
  svg.append(el('text', { x: at(mid), y: y - 11, 'text-anchor': 'middle', class: 'chart__value' }, valueText));
}

function axis(svg, { y, at, ticks, format }) {
  svg.append(el('line', { x1: LEFT, x2: RIGHT, y1: y, y2: y, class: 'chart__axis' }));
  // Zero, when it is a tick, wins over an end too close to it to be read.
  const kept = ticks.filter((tick) => tick === 0 || !ticks.includes(0) || Math.abs(at(tick) - at(0)) > 48);
  for (const tick of kept) {
    svg.append(el('line', { x1: at(tick), x2: at(tick), y1: y, y2: y + 4, class: 'chart__axis' }));
    svg.append(el('text', { x: at(tick), y: y + 16, 'text-anchor': 'middle', class: 'chart__tick' }, format(tick)));
  }
}

/** The picture of a result; `figures` are CUPED's when it was used. */
export function abChart(params, result) {
  const figures = headline(result);
  const names = groupNames(params);
  const level = `${Math.round((1 - result.alpha) * 100)}%`;
  const adjusted = result.cuped ? ', CUPED-adjusted' : '';
  const title = `${metricLabel(params)}: each group's mean with its ${level} interval, and the difference with its interval against zero`;
  const svg = el('svg', {
    viewBox: `0 0 ${WIDTH} 250`,
    role: 'img',
    class: 'chart',
    'data-testid': 'experiment-chart',
    'aria-label': title,
  });
  svg.append(el('title', {}, title));

  // Group means.
  const { control, treatment } = figures;
  const means = scale(Math.min(control.ci_low, treatment.ci_low), Math.max(control.ci_high, treatment.ci_high));
  svg.append(el('text', { x: 8, y: 18, class: 'chart__heading' }, `${metricLabel(params)}, mean per group (${level} CI${adjusted})`));
  interval(svg, {
    y: 52, low: control.ci_low, mid: control.mean, high: control.ci_high, at: means.at,
    tone: 'control', label: names.control.split(' (')[0], valueText: formatNumber(control.mean),
  });
  interval(svg, {
    y: 92, low: treatment.ci_low, mid: treatment.mean, high: treatment.ci_high, at: means.at,
    tone: 'treatment', label: names.treatment.split(' (')[0], valueText: formatNumber(treatment.mean),
  });
  axis(svg, { y: 112, at: means.at, ticks: [means.lo, (means.lo + means.hi) / 2, means.hi], format: formatNumber });

  // The difference, against zero.
  const diff = scale(Math.min(figures.ci_low, 0), Math.max(figures.ci_high, 0));
  const excludesZero = figures.ci_low > 0 || figures.ci_high < 0;
  const tone = !excludesZero ? 'none' : figures.difference > 0 ? 'up' : 'down';
  const base = control.mean;
  const relative = base !== 0 ? ` (${formatPercent(figures.difference / base, { signed: true })})` : '';
  svg.append(el('text', { x: 8, y: 152, class: 'chart__heading' }, `Difference, ${names.treatment.split(' (')[0]} − ${names.control.split(' (')[0]} (${level} CI${adjusted})`));
  svg.append(el('line', { x1: diff.at(0), x2: diff.at(0), y1: 166, y2: 212, class: 'chart__zero' }));
  interval(svg, {
    y: 192, low: figures.ci_low, mid: figures.difference, high: figures.ci_high, at: diff.at,
    tone, label: 'difference', valueText: `${figures.difference >= 0 ? '+' : '−'}${formatNumber(Math.abs(figures.difference))}${relative}`,
  });
  axis(svg, { y: 218, at: diff.at, ticks: [diff.lo, 0, diff.hi], format: formatNumber });
  svg.dataset.tone = tone;
  return svg;
}

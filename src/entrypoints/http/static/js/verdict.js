// An A/B test's result in words: what was measured, which way it went, how sure we are.
// Pure functions over the job's `params` and `result` (see AbTestResult in the API docs).

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const countFormat = new Intl.NumberFormat(undefined);

/** 371.744 → "371.74" (in the browser's locale). */
export const formatNumber = (x) => numberFormat.format(x);

/** 0.2416 → "24.2%"; signed → "+24.2%". */
export function formatPercent(fraction, { signed = false } = {}) {
  const text = `${Math.abs(fraction * 100).toFixed(1)}%`;
  if (!signed) return fraction < 0 ? `−${text}` : text;
  return `${fraction < 0 ? '−' : '+'}${text}`;
}

/** "p < 0.001", "p = 0.008", "p = 0.94". */
export function formatP(p) {
  if (p < 0.001) return 'p < 0.001';
  if (p < 0.01) return `p = ${p.toFixed(3)}`;
  return `p = ${p.toFixed(2)}`;
}

/** What the test measured, per user: "price per user", "orders per user" ... */
export function metricLabel(params) {
  const { aggregate, value, numerator, denominator, table } = params;
  if (aggregate === 'ratio') return `${numerator} per ${denominator ?? `${table} row`}`;
  if (aggregate === 'mean') return `mean ${value} per user`;
  if (aggregate === 'count') return value ? `${value} values per user` : `${table} rows per user`;
  return value ? `${value} per user` : `${table} rows per user`;
}

/** How the groups are called: the course's `pilot` column makes "the pilot group". */
export function groupNames(params) {
  const { group_column: column, control, treatment } = params.assignments;
  if (column === 'pilot') return { control: 'control group', treatment: 'pilot group' };
  return {
    control: `control group (${column} = ${control})`,
    treatment: `treatment group (${column} = ${treatment})`,
  };
}

/** The figures the verdict rests on: CUPED's when it was used (they are the sharper). */
export const headline = (result) => result.cuped ?? result;

/**
 * "The pilot group raises price per user by 24.2% (95% CI 6.4% to 41.9%), p = 0.008."
 * The percentages are the difference and its interval over the control group's mean.
 */
export function verdict(params, result) {
  const figures = headline(result);
  const names = groupNames(params);
  const what = metricLabel(params);
  const level = `${Math.round((1 - result.alpha) * 100)}% CI`;
  const base = figures.control.mean;
  const significant = figures.p_value < result.alpha;
  const p = formatP(figures.p_value);
  const relative = base !== 0;
  const amount = relative
    ? (x) => formatPercent(x / base)
    : (x) => formatNumber(x);
  const interval = `${level} ${amount(figures.ci_low)} to ${amount(figures.ci_high)}`;
  const size = relative
    ? formatPercent(Math.abs(figures.difference) / base)
    : formatNumber(Math.abs(figures.difference));
  const lead = `The ${names.treatment}`;
  if (significant) {
    const verb = figures.difference > 0 ? 'raises' : 'lowers';
    return `${lead} ${verb} ${what} by ${size} (${interval}), ${p}.`;
  }
  const direction = figures.difference >= 0 ? 'higher' : 'lower';
  return `No significant difference in ${what}: the ${names.treatment}'s is ${size} ${direction} (${interval}), ${p}, not below alpha = ${result.alpha}.`;
}

/** A line on how the test was done: the test, the users, CUPED's reduction. */
export function method(params, result) {
  const users = `${countFormat.format(result.control.users)} control and ${countFormat.format(result.treatment.users)} treatment users`;
  const test = result.test === 'delta_method' ? 'the delta method' : "Welch's t-test";
  const parts = [`${test} on ${users}`];
  if (params.from_date || params.to_date) {
    parts.push(`from ${params.from_date ?? 'the first day'} to ${params.to_date ?? 'the last day'}`);
  }
  if (result.cuped) {
    parts.push(`CUPED on ${result.cuped.pre_period.from_date} to ${result.cuped.pre_period.to_date} (variance ${formatPercent(-result.cuped.variance_reduction, { signed: true })})`);
  }
  return `${parts.join(', ')}.`;
}

/** The sample-ratio warning, or null when the split looks as planned. */
export function srmWarning(params, result) {
  if (!result.srm) return null;
  const names = groupNames(params);
  return `Sample ratio mismatch: ${countFormat.format(result.control.assigned)} users in the ${names.control} and ${countFormat.format(result.treatment.assigned)} in the ${names.treatment} is not an even split (${formatP(result.srm_p_value)}). Something in the assignment or the logging is broken, so this difference cannot be trusted.`;
}

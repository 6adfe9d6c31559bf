/**
 * The arithmetic of a benchmark run: medians over rounds, product/ceiling
 * ratios and goal verdicts. Pure functions, unit-tested in test/bench-lib.test.ts.
 */

/** Median of the finite numbers in `values`; null when there are none. */
export function median(values: readonly number[]): number | null {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** product / ceiling, or null when either is missing or the ceiling is 0. */
export function ratio(product: number | null, ceiling: number | null): number | null {
  if (product === null || ceiling === null || !Number.isFinite(product)) return null;
  if (!Number.isFinite(ceiling) || ceiling === 0) return null;
  return product / ceiling;
}

/**
 * A goal as it appears in results: what is compared (`ratio` to the ceiling,
 * or the `value` itself), the direction and the bound.
 */
export interface Goal {
  on: 'ratio' | 'value';
  op: '>=' | '<=';
  bound: number;
}

/** `ratio >= 0.7`, `value <= 20 ms`: the goal as a person reads it. */
export function describeGoal(goal: Goal, unit = ''): string {
  const u = goal.on === 'value' && unit ? ` ${unit}` : '';
  return `${goal.on} ${goal.op} ${goal.bound}${u}`;
}

/** Whether the measured figures meet `goal`; null when the figure it needs is missing. */
export function goalMet(goal: Goal, value: number | null, r: number | null): boolean | null {
  const x = goal.on === 'ratio' ? r : value;
  if (x === null || !Number.isFinite(x)) return null;
  return goal.op === '>=' ? x >= goal.bound : x <= goal.bound;
}

/** Rounds a figure for people: 3 significant digits, integers kept whole. */
export function roundFigure(x: number | null): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  if (Math.abs(x) >= 1000) return Math.round(x);
  return Number(x.toPrecision(3));
}

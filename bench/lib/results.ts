/**
 * The results of a bench run: the rows of bench/results/latest.json, their
 * check, the terminal table and the generated BENCHMARKS.md.
 */
import { describeGoal, type Goal, goalMet, median, ratio, roundFigure } from './stats.ts';

/**
 * One figure. `goal` is a readable rule (`ratio >= 0.7`, `value <= 20 ms`) or
 * null for a figure shown for context; `met` is true/false for a measured
 * goal and null when there is no goal or the scenario was not run (then
 * `value` is null and `note` says why).
 */
export interface ResultRow {
  scenario: string;
  metric: string;
  value: number | null;
  unit: string;
  /** The same-run ceiling the value is compared with, in the same unit. */
  ceiling: number | null;
  /** What the ceiling is (`bare node:http route`, ...). */
  ceiling_name?: string;
  ratio: number | null;
  goal: string | null;
  met: boolean | null;
  note?: string;
  /** For a missed goal: where the time went, from a CPU profile. */
  limits?: string;
  /** The per-round figures the medians came from. */
  rounds?: { value: number[]; ceiling: number[] };
}

/**
 * The median of the per-round ratios, each round's product figure over the
 * ceiling measured next to it: drift in the machine's load over a run
 * cancels within a round. Null unless every round has both figures.
 */
export function pairedRatio(rounds: { value: number[]; ceiling: number[] }): number | null {
  const n = rounds.value.length;
  if (n === 0 || rounds.ceiling.length !== n) return null;
  const ratios = rounds.value.map((v, i) => ratio(v, rounds.ceiling[i]!));
  if (ratios.some((x) => x === null)) return null;
  return median(ratios as number[]);
}

/**
 * Builds a row from medians, computing ratio and verdict. With per-round
 * figures the ratio is `pairedRatio`, so it can differ from value / ceiling.
 */
export function makeRow(r: {
  scenario: string;
  metric: string;
  value: number | null;
  unit: string;
  ceiling?: number | null;
  ceilingName?: string;
  goal?: Goal;
  note?: string;
  rounds?: { value: number[]; ceiling: number[] };
}): ResultRow {
  const ceiling = r.ceiling ?? null;
  const rt = r.rounds
    ? (pairedRatio(r.rounds) ?? ratio(r.value, ceiling))
    : ratio(r.value, ceiling);
  const row: ResultRow = {
    scenario: r.scenario,
    metric: r.metric,
    value: roundFigure(r.value),
    unit: r.unit,
    ceiling: roundFigure(ceiling),
    ratio: rt === null ? null : Number(rt.toFixed(3)),
    goal: r.goal ? describeGoal(r.goal, r.unit) : null,
    met: r.goal ? goalMet(r.goal, r.value, rt) : null,
  };
  if (r.ceilingName) row.ceiling_name = r.ceilingName;
  if (r.note) row.note = r.note;
  if (r.rounds) {
    row.rounds = {
      value: r.rounds.value.map((x) => roundFigure(x) ?? Number.NaN),
      ceiling: r.rounds.ceiling.map((x) => roundFigure(x) ?? Number.NaN),
    };
  }
  return row;
}

/** A scenario that could not run (feature not built, tool missing): kept, never dropped. */
export function notRunRow(
  scenario: string,
  metric: string,
  unit: string,
  goal: Goal,
  note: string,
) {
  return {
    scenario,
    metric,
    value: null,
    unit,
    ceiling: null,
    ratio: null,
    goal: describeGoal(goal, unit),
    met: null,
    note: `not run: ${note}`,
  } satisfies ResultRow;
}

const REQUIRED: (keyof ResultRow)[] = [
  'scenario',
  'metric',
  'value',
  'unit',
  'ceiling',
  'ratio',
  'goal',
  'met',
];

/** Problems with the shape of latest.json; empty when it is well formed. */
export function checkRows(rows: unknown): string[] {
  if (!Array.isArray(rows)) return ['results must be an array'];
  const problems: string[] = [];
  rows.forEach((row, i) => {
    if (row === null || typeof row !== 'object') {
      problems.push(`row ${i}: not an object`);
      return;
    }
    const r = row as Record<string, unknown>;
    for (const key of REQUIRED) if (!(key in r)) problems.push(`row ${i}: missing ${key}`);
    if (typeof r.scenario !== 'string' || r.scenario === '') problems.push(`row ${i}: scenario`);
    if (typeof r.metric !== 'string' || r.metric === '') problems.push(`row ${i}: metric`);
    for (const key of ['value', 'ceiling', 'ratio'] as const) {
      const v = r[key];
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
        problems.push(`row ${i}: ${key} must be a finite number or null`);
      }
    }
    if (r.goal !== null && typeof r.goal !== 'string') problems.push(`row ${i}: goal`);
    if (r.met !== null && typeof r.met !== 'boolean') problems.push(`row ${i}: met`);
    if (r.goal === null && r.met !== null) problems.push(`row ${i}: met without a goal`);
    if (r.value === null && typeof r.note !== 'string') {
      problems.push(`row ${i}: a row without a value needs a note saying why`);
    }
  });
  return problems;
}

export function verdict(row: ResultRow): string {
  if (row.value === null) return 'not run';
  if (row.met === null) return row.goal === null ? '-' : 'unknown';
  return row.met ? 'met' : 'MISSED';
}

const fmt = (x: number | null, unit = ''): string =>
  x === null
    ? '-'
    : `${x.toLocaleString('en-US', { maximumFractionDigits: 3 })}${unit && ` ${unit}`}`;

/** Rows as a fixed-width text table for the terminal. */
export function renderTable(rows: ResultRow[]): string {
  const head = ['scenario', 'metric', 'value', 'ceiling', 'ratio', 'goal', 'verdict'];
  const body = rows.map((r) => [
    r.scenario,
    r.metric,
    fmt(r.value, r.unit),
    fmt(r.ceiling, r.ceiling === null ? '' : r.unit),
    fmt(r.ratio),
    r.goal ?? '-',
    verdict(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  date: string;
  loadavg: number[];
  memoryMb: number;
}

export interface ProfileReport {
  name: string;
  scenario: string;
  file: string;
  busyShare: number;
  areas: { area: string; share: number }[];
  top: { name: string; area: string; share: number }[];
}

export interface Report {
  machine: Machine;
  mode: 'quick' | 'full';
  settings: Record<string, string | number>;
  rows: ResultRow[];
  notes: string[];
  profiles: ProfileReport[];
  elapsedS: number;
}

/** Escapes table bars, and `<` before a letter so no text reads as an HTML tag. */
const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/<(?=[A-Za-z/!?])/g, '&lt;');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** BENCHMARKS.md, generated from one run. */
export function renderMarkdown(rep: Report): string {
  const out: string[] = [];
  out.push('# Keep benchmarks');
  out.push('');
  out.push(
    '<!-- Generated by `npm run bench` (bench/run.ts); do not edit by hand. Re-run it and commit the result. -->',
  );
  out.push('');
  out.push(
    'Every figure is the median of several rounds that alternate Keep with a ceiling measured in ' +
      'the same run on the same machine, so the **ratio** holds on a noisy machine where absolute ' +
      'figures do not. Where there are rounds, the ratio is the median of the per-round ratios ' +
      '(Keep over the ceiling measured next to it), so it can differ from value / ceiling. Load ' +
      'comes from a second process, Debian `wrk`, over loopback.',
  );
  out.push('');
  out.push('## Machine and run');
  out.push('');
  out.push(`- CPU: ${rep.machine.cpu}, ${rep.machine.cores} cores; ${rep.machine.memoryMb} MB RAM`);
  out.push(`- OS: ${rep.machine.os}; Node.js ${rep.machine.node}`);
  out.push(`- Date: ${rep.machine.date}`);
  out.push(
    `- Load average at start: ${rep.machine.loadavg.map((x) => x.toFixed(2)).join(', ')} ` +
      '(the machine may be shared: compare ratios, not absolute figures)',
  );
  out.push(`- Mode: ${rep.mode}${rep.mode === 'quick' ? ' (`npm run bench -- --quick`)' : ''}`);
  for (const [k, v] of Object.entries(rep.settings)) out.push(`- ${k}: ${v}`);
  out.push(`- Wall time: ${rep.elapsedS.toFixed(0)} s`);
  out.push('');
  out.push('## Results');
  out.push('');
  out.push('| scenario | metric | value | ceiling | ratio | goal | verdict |');
  out.push('|---|---|---|---|---|---|---|');
  for (const r of rep.rows) {
    const ceiling =
      r.ceiling === null ? '-' : `${fmt(r.ceiling, r.unit)} (${r.ceiling_name ?? ''})`;
    out.push(
      `| ${mdCell(r.scenario)} | ${mdCell(r.metric)} | ${fmt(r.value, r.unit)} | ${mdCell(ceiling)} | ` +
        `${fmt(r.ratio)} | ${mdCell(r.goal ?? '-')} | ${verdict(r) === 'MISSED' ? '**MISSED**' : verdict(r)} |`,
    );
  }
  out.push('');
  const noted = rep.rows.filter((r) => r.note);
  if (noted.length) {
    out.push('### Notes on figures');
    out.push('');
    for (const r of noted) out.push(`- **${r.scenario} / ${r.metric}**: ${mdCell(r.note!)}`);
    out.push('');
  }
  const missed = rep.rows.filter((r) => r.met === false);
  out.push('## Missed goals and what limits them');
  out.push('');
  if (missed.length === 0) out.push('No measured goal was missed in this run.');
  for (const r of missed) {
    out.push(
      `- **${r.scenario} / ${r.metric}** (${fmt(r.value, r.unit)}, goal ${r.goal}): ` +
        (r.limits ?? 'no profile was taken for this scenario in this run.'),
    );
  }
  out.push('');
  const notRun = rep.rows.filter((r) => r.value === null);
  if (notRun.length) {
    out.push(
      'Not run (kept in the table so nothing is hidden): ' +
        notRun.map((r) => `\`${r.scenario}\``).join(', ') +
        '.',
    );
    out.push('');
  }
  if (rep.notes.length) {
    out.push('## How the figures were taken');
    out.push('');
    for (const n of rep.notes) out.push(`- ${n}`);
    out.push('');
  }
  const withRounds = rep.rows.filter((r) => r.rounds && r.rounds.value.length > 0);
  if (withRounds.length) {
    out.push('## Per-round figures');
    out.push('');
    out.push(
      "Keep's figure and the ceiling's for each round, round 1 first (within a round the order alternates).",
    );
    out.push('');
    out.push('| scenario | metric | Keep | ceiling |');
    out.push('|---|---|---|---|');
    const list = (xs: number[]) => xs.map((x) => fmt(x)).join(', ') || '-';
    for (const r of withRounds) {
      out.push(
        `| ${mdCell(r.scenario)} | ${mdCell(r.metric)} (${r.unit}) | ${list(r.rounds!.value)} | ${list(r.rounds!.ceiling)} |`,
      );
    }
    out.push('');
  }
  for (const p of rep.profiles) {
    out.push(`## CPU profile: ${p.name}`);
    out.push('');
    out.push(
      `\`node --cpu-prof\` on the server during the ${p.scenario} load ` +
        `(file: \`${p.file}\`, not committed). Server CPU busy ${pct(p.busyShare)} of the run; ` +
        'shares below are of the busy time.',
    );
    out.push('');
    out.push('| area | self time |');
    out.push('|---|---|');
    for (const a of p.areas.slice(0, 10)) out.push(`| ${mdCell(a.area)} | ${pct(a.share)} |`);
    out.push('');
    out.push('| function (self time) | area | share |');
    out.push('|---|---|---|');
    for (const f of p.top)
      out.push(`| \`${mdCell(f.name)}\` | ${mdCell(f.area)} | ${pct(f.share)} |`);
    out.push('');
  }
  out.push('## Running it');
  out.push('');
  out.push('```sh');
  out.push(
    'npm run bench:setup        # installs Debian wrk when root (bench/setup.sh); else names the package',
  );
  out.push('npm run bench -- --quick   # every available scenario, shorter (under two minutes)');
  out.push('npm run bench              # the full run (under fifteen minutes); rewrites this file');
  out.push('```');
  out.push('');
  out.push(
    'Results also go to `bench/results/latest.json` (not committed): one object per row with ' +
      '`scenario, metric, value, unit, ceiling, ratio, goal, met`, plus `note`, `limits` and the ' +
      'per-round figures where they apply.',
  );
  out.push('');
  return out.join('\n');
}

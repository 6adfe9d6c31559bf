/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the
 * server's CPU time went: self time per function, and per area (Keep's own
 * folders, fastify, Node's HTTP and net layers, crypto, SQLite, GC, idle).
 * Locations in the esbuild bundle are mapped back to `src/` through its
 * source map, so Keep's functions are named by their source file and line.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionTime {
  /** `name (file:line)`, with bundle locations mapped to src/. */
  name: string;
  area: string;
  selfMs: number;
  /** Share of the busy (non-idle) time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  top: FunctionTime[];
  areas: { area: string; selfMs: number; share: number }[];
}

/** Maps a bundle location to its source, when a source map is known for the url. */
export type Locate = (
  url: string,
  line: number,
  column: number,
) => { file: string; line: number } | undefined;

/** A `Locate` for one bundle file (e.g. dist/keep.mjs) and its `.map` beside it. */
export function bundleLocator(bundlePath: string): Locate {
  let map: SourceMap | undefined;
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')));
  } catch {
    map = undefined;
  }
  return (url, line, column) => {
    if (!map || !url.endsWith(bundlePath.split('/').pop()!)) return undefined;
    const entry = map.findEntry(line, column) as {
      originalSource?: string;
      originalLine?: number;
    };
    if (!entry?.originalSource) return undefined;
    const src = entry.originalSource.replace(/^.*?\/(src\/)/, '$1').replace(/^(\.\.\/)+/, '');
    return { file: src, line: (entry.originalLine ?? 0) + 1 };
  };
}

/** `file:///…/node_modules/x/y.js` → `node_modules/x/y.js`; `file:///…/src/a.ts` → `src/a.ts`. */
export function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/')
    .replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
}

/**
 * `fn (file:line)`. A `.ts` file that was not mapped ran through tsx, whose
 * positions are those of the transformed code: its line is left out.
 */
function locationName(fn: string, file: string, line: number, mapped: boolean): string {
  if (!file) return fn;
  return !mapped && file.endsWith('.ts') ? `${fn} (${file})` : `${fn} (${file}:${line})`;
}

/** The area a location belongs to, for the per-area totals. */
export function areaOf(functionName: string, file: string): string {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)' || functionName === '(root)') return 'V8/native (program)';
  const keep = /(?:^|\/)src\/([a-z-]+)\//.exec(file);
  if (keep && !file.includes('node_modules')) return `keep src/${keep[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  if (pkg) return pkg[1]!;
  if (file.startsWith('node:')) {
    if (/node:(_http|http|internal\/http)/.test(file)) return 'node http';
    if (/node:(net|stream|internal\/stream|internal\/streams|internal\/net)/.test(file))
      return 'node net/streams';
    if (/crypto/.test(file)) return 'node crypto';
    return 'node other';
  }
  if (file === '') {
    if (/^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(functionName)) {
      return 'native writes: socket or file (incl. the syscall)';
    }
    return 'native builtins';
  }
  return 'other';
}

/** Microseconds on the monotonic clock V8 stamps profiles with (CLOCK_MONOTONIC on Linux). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Sums self time per function and per area; `top` is the `limit` largest
 * functions. With `window` (monotonic microseconds, see `monotonicUs`) only
 * samples inside it count, so start-up work does not blur a load profile;
 * a window that misses the profile entirely is ignored.
 */
export function summariseProfile(
  profile: CpuProfile,
  opts: { locate?: Locate; limit?: number; window?: { startUs: number; endUs: number } } = {},
): ProfileSummary {
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas && profile.samples.length > 0) {
    const { samples, timeDeltas } = profile;
    let w = opts.window;
    if (w && (w.endUs < profile.startTime || w.startUs > profile.endTime)) w = undefined;
    let t = profile.startTime;
    for (let i = 0; i < samples.length; i++) {
      // timeDeltas[i] is the gap before sample i; attribute the gap after it to it.
      t += timeDeltas[i] ?? 0;
      if (w && (t < w.startUs || t > w.endUs)) continue;
      const dt = timeDeltas[i + 1] ?? 0;
      selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
    for (const node of profile.nodes) selfUs.set(node.id, ((node.hitCount ?? 0) / hits) * total);
  }

  const byName = new Map<string, { area: string; us: number }>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const cf = node.callFrame;
    const mapped = opts.locate?.(cf.url, cf.lineNumber, cf.columnNumber);
    const file = mapped?.file ?? shortUrl(cf.url);
    const fn = cf.functionName || '(anonymous)';
    const area = areaOf(fn, file);
    totalUs += us;
    if (area === 'idle') idleUs += us;
    const name = locationName(fn, file, mapped?.line ?? cf.lineNumber + 1, Boolean(mapped));
    const slot = byName.get(name) ?? { area, us: 0 };
    slot.us += us;
    byName.set(name, slot);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs || 1;
  const top = [...byName.entries()]
    .filter(([, v]) => v.area !== 'idle')
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, opts.limit ?? 15)
    .map(([name, v]) => ({ name, area: v.area, selfMs: v.us / 1000, share: v.us / busyUs }));
  const areas = [...byArea.entries()]
    .filter(([area]) => area !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .map(([area, us]) => ({ area, selfMs: us / 1000, share: us / busyUs }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, busyMs: busyUs / 1000, top, areas };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** One line for a missed goal: where the busy time went, from the profile. */
export function limitsLine(s: ProfileSummary): string {
  const busy = s.totalMs > 0 ? s.busyMs / s.totalMs : 0;
  const areas = s.areas
    .slice(0, 5)
    .map((a) => `${a.area} ${pct(a.share)}`)
    .join(', ');
  const fns = s.top
    .slice(0, 3)
    .map((f) => `${f.name} ${pct(f.share)}`)
    .join('; ');
  return `server CPU busy ${pct(busy)} of the profiled run; busy time by area: ${areas}; top self time: ${fns}`;
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children?: HeapNode[];
}

/** What a sampling heap profile (`node --heap-prof`) says is still allocated, by area. */
export function summariseHeapProfile(
  profile: { head: HeapNode },
  opts: { locate?: Locate; limit?: number } = {},
): {
  totalBytes: number;
  areas: { area: string; bytes: number }[];
  top: { name: string; bytes: number }[];
} {
  const byArea = new Map<string, number>();
  const byName = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode) => {
    if (node.selfSize > 0) {
      const cf = node.callFrame;
      const mapped = opts.locate?.(cf.url, cf.lineNumber, cf.columnNumber);
      const file = mapped?.file ?? shortUrl(cf.url);
      const fn = cf.functionName || '(anonymous)';
      const name = locationName(fn, file, mapped?.line ?? cf.lineNumber + 1, Boolean(mapped));
      const area = areaOf(fn, file);
      total += node.selfSize;
      byArea.set(area, (byArea.get(area) ?? 0) + node.selfSize);
      byName.set(name, (byName.get(name) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(profile.head);
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    totalBytes: total,
    areas: sorted(byArea).map(([area, bytes]) => ({ area, bytes })),
    top: sorted(byName)
      .slice(0, opts.limit ?? 10)
      .map(([name, bytes]) => ({ name, bytes })),
  };
}

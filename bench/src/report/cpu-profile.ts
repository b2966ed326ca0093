/**
 * Where a Node process spent its CPU: `node build/report/cpu-profile.js <file.cpuprofile> [top]`
 * prints self time by package (node_modules package, the repo's dist, Node internals, GC) and the
 * hottest functions. The bench's --profile flag writes such files for an app under load.
 */
import { readFileSync } from 'node:fs';
import { libraryPath } from '../infra/library';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byPackage: { name: string; ms: number; share: number }[];
  /** Self time of Node internals and native code charged to the nearest package that called them. */
  byCallerPackage: { name: string; ms: number; share: number }[];
  byFunction: { name: string; where: string; ms: number; share: number }[];
}

/** The package a script belongs to: the last node_modules/<pkg> in its path, or a coarse bucket. */
function packageOf(frame: CallFrame, libraryDir: string): string {
  const url = frame.url;
  if (!url) {
    if (frame.functionName === '(garbage collector)') return '(garbage collector)';
    if (frame.functionName === '(idle)') return '(idle)';
    if (frame.functionName === '(program)') return '(program: native, not attributed)';
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node internals';
  const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.replace(/^file:\/\//, '').startsWith(`${libraryDir}/`)) return 'nestjs-xems (the library)';
  if (url.includes('/bench/')) return 'bench app code';
  return url;
}

/** `libraryDir`: where the library under test was loaded from (its frames are labelled as such). */
export function summarizeProfile(file: string, libraryDir: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the following delta to sample i.
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, dt));
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const UNATTRIBUTED = new Set(['node internals', '(native)', '(program: native, not attributed)']);
  const callerPackage = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const name = packageOf(node.callFrame, libraryDir);
      if (!UNATTRIBUTED.has(name)) return name;
    }
    return 'node internals (no package on the stack)';
  };
  const pkg = new Map<string, number>();
  const caller = new Map<string, number>();
  const fn = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') continue; // waiting is not CPU
    total += us;
    const name = packageOf(cf, libraryDir);
    pkg.set(name, (pkg.get(name) ?? 0) + us);
    const by = callerPackage(id);
    caller.set(by, (caller.get(by) ?? 0) + us);
    const where = cf.url ? `${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName}@${where}`;
    const f = fn.get(key) ?? { name: cf.functionName || '(anonymous)', where, us: 0 };
    f.us += us;
    fn.set(key, f);
  }
  return {
    totalMs: total / 1000,
    byPackage: [...pkg].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: us / total })),
    byCallerPackage: [...caller].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: us / total })),
    byFunction: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: f.us / total })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`.padStart(6);
  return [
    `CPU (not idle) in profile: ${s.totalMs.toFixed(0)} ms`,
    'self time by package:',
    ...s.byPackage.filter((x) => x.share >= 0.002).map((x) => `  ${pct(x.share)}  ${x.name}`),
    'self time with Node internals charged to the package that called them:',
    ...s.byCallerPackage.filter((x) => x.share >= 0.002).map((x) => `  ${pct(x.share)}  ${x.name}`),
    'hottest functions (self time):',
    ...s.byFunction.map((x) => `  ${pct(x.share)}  ${x.name}  ${x.where}`),
  ].join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node build/report/cpu-profile.js <file.cpuprofile> [top]   (XEMS_BENCH_LIB: the library dir, default ../dist)');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file, libraryPath(), top ? Number(top) : 25)));
}

/**
 * The record of a bench run (every run of every app and endpoint, the micro-benchmark, memory,
 * vault) and the medians taken over the runs.
 */
import { APPS, type ScenarioSpec, type Timing } from '../config';
import type { MachineInfo } from '../infra/machine';
import type { LoadResult } from '../load/load-client';
import { median } from '../load/stats';
import type { MemoryResult } from '../micro/memory';
import type { MicroCase, MicroResult } from '../micro/sidecar-micro';
import type { VaultLoadResult } from '../micro/vault-load';

export interface RunRecord {
  run: number;
  scenario: string;
  result: LoadResult;
  serverRssBytes: number;
  storeRssBytes: number;
  problems: string[];
}

export interface ScenarioMedians {
  rps: number;
  p50: number;
  p975: number;
  p99: number;
  errors: number;
  serverCpuUsPerReq: number;
  storeCpuUsPerReq: number;
  /** The part of storeCpuUsPerReq spent in redis-server (NaN for apps that do not use it). */
  redisCpuUsPerReq: number;
  clientCpuUsPerReq: number;
  serverRssBytes: number;
  storeRssBytes: number;
  /** CPU used by processes other than this app, its store and the client, in cores. */
  otherCores: number;
}

export interface ScenarioSummary {
  spec: ScenarioSpec;
  runs: RunRecord[];
  median: ScenarioMedians;
}

export interface BenchReport {
  quick: boolean;
  timing: Timing;
  startedAt: string;
  finishedAt?: string;
  command: string;
  machine: MachineInfo;
  machineAfter?: MachineInfo;
  versions: Record<string, string>;
  runs: RunRecord[];
  summaries: ScenarioSummary[];
  micro?: MicroResult;
  memory?: MemoryResult;
  vault?: VaultLoadResult;
  problems: string[];
  /** Processes that ran under the V8 profiler (slower: such a run is not for numbers). */
  profiled?: string[];
}

export function perRun(rec: RunRecord): ScenarioMedians {
  const r = rec.result;
  const n = r.ok + r.errors || 1;
  const ownUs = r.serverCpuUs + r.storeCpuUs + r.clientCpuUs;
  // The harness lists redis-server last among an app's store processes.
  const redisUs = appOf(rec.scenario).usesRedis ? (r.storeCpuUsEach?.at(-1) ?? NaN) : NaN;
  return {
    rps: r.rps,
    p50: r.latencyMs.p50,
    p975: r.latencyMs.p975,
    p99: r.latencyMs.p99,
    errors: r.errors,
    serverCpuUsPerReq: r.serverCpuUs / n,
    storeCpuUsPerReq: r.storeCpuUs / n,
    redisCpuUsPerReq: redisUs / n,
    clientCpuUsPerReq: r.clientCpuUs / n,
    serverRssBytes: rec.serverRssBytes,
    storeRssBytes: rec.storeRssBytes,
    otherCores: Math.max(0, (r.machineBusyUs - ownUs) / (r.windowMs * 1000)),
  };
}

export function summarize(scenarios: readonly ScenarioSpec[], runs: RunRecord[]): ScenarioSummary[] {
  return scenarios.map((spec) => {
    const mine = runs.filter((r) => r.scenario === spec.key);
    const per = mine.map(perRun);
    const m = (f: (x: ScenarioMedians) => number): number => median(per.map(f));
    return {
      spec,
      runs: mine,
      median: {
        rps: m((x) => x.rps),
        p50: m((x) => x.p50),
        p975: m((x) => x.p975),
        p99: m((x) => x.p99),
        errors: per.reduce((a, x) => a + x.errors, 0),
        serverCpuUsPerReq: m((x) => x.serverCpuUsPerReq),
        storeCpuUsPerReq: m((x) => x.storeCpuUsPerReq),
        redisCpuUsPerReq: m((x) => x.redisCpuUsPerReq),
        clientCpuUsPerReq: m((x) => x.clientCpuUsPerReq),
        serverRssBytes: m((x) => x.serverRssBytes),
        storeRssBytes: m((x) => x.storeRssBytes),
        otherCores: m((x) => x.otherCores),
      },
    };
  });
}

export function appOf(key: string): (typeof APPS)[number] {
  return APPS.find((a) => key.startsWith(`${a.id}:`))!;
}

export function find(report: BenchReport, key: string): ScenarioSummary | undefined {
  return report.summaries.find((s) => s.spec.key === key);
}

export function microCase(report: BenchReport, op: MicroCase['op'], depth: number): MicroCase | undefined {
  return report.micro?.cases.find((c) => c.op === op && c.depth === depth);
}

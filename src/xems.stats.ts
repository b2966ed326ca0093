import type { SidecarApi } from './sidecar/sidecar-api';
import type { SidecarProcess, SidecarState } from './sidecar/sidecar-process';

/** What stats() reports. */
export interface XemsStats {
  /** Live records (kv + sessions) and sealed bytes, per sandbox. */
  sandboxes: Record<string, { kv: number; sessions: number; records: number; bytes: number }>;
  /** Requests per sidecar operation. */
  ops: Record<string, number>;
  rotations: number;
  reuseDetected: number;
  revoked: number;
  expired: number;
  evicted: number;
  bindingMismatches: number;
  /** Round trips to the sidecar (the last 4096 calls), measured in this process. */
  ipc: { p50Ms: number | null; p99Ms: number | null; samples: number };
  sidecar: { state: SidecarState; pid?: number; buildVersion?: string; uptimeMs: number };
}

/** The sidecar's STATS reply (counters since it started). */
interface SidecarStats {
  sandboxes?: Record<string, { kv: number; sessions: number; bytes: number }>;
  ops?: Record<string, number>;
  rotations?: number;
  reuseDetected?: number;
  revoked?: number;
  expired?: number;
  evicted?: number;
  bindingMismatches?: number;
  uptimeMs?: number;
}

/** The sidecar's counters with the round-trip percentiles measured in this process. */
export async function readStats(api: SidecarApi, sidecar: SidecarProcess): Promise<XemsStats> {
  const raw = (await api.stats()) as SidecarStats;
  const sandboxes: XemsStats['sandboxes'] = {};
  for (const [name, sb] of Object.entries(raw.sandboxes ?? {})) {
    sandboxes[name] = { kv: sb.kv, sessions: sb.sessions, records: sb.kv + sb.sessions, bytes: sb.bytes };
  }
  const latency = sidecar.latency.percentiles();
  return {
    sandboxes,
    ops: { ...raw.ops },
    rotations: raw.rotations ?? 0,
    reuseDetected: raw.reuseDetected ?? 0,
    revoked: raw.revoked ?? 0,
    expired: raw.expired ?? 0,
    evicted: raw.evicted ?? 0,
    bindingMismatches: raw.bindingMismatches ?? 0,
    ipc: { p50Ms: latency?.p50 ?? null, p99Ms: latency?.p99 ?? null, samples: latency?.samples ?? 0 },
    sidecar: { state: sidecar.state, pid: sidecar.pid, buildVersion: sidecar.buildVersion, uptimeMs: raw.uptimeMs ?? 0 },
  };
}

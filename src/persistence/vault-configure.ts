import type { ResolvedPersistence } from './persistence.options';

/** What the sidecar needs for persistence (see docs/protocol.md, CONFIGURE "persistence"). */
export type SidecarPersistence = Extract<ResolvedPersistence, { enabled: true }>;

/**
 * The CONFIGURE parts of persistence: the `persistence` field of configJson (path and fsync, no
 * secret) and the named secrets `vaultSecret` (32 bytes) and `machineId` (the bound identity;
 * absent when hardwareBinding is false). Secrets travel only inside the CONFIGURE frame on
 * the child's stdin: never argv, never the environment, never a log line. The caller fills the
 * returned buffers with zeros once the frame is written.
 */
export function persistenceConfigure(p: SidecarPersistence): {
  config: { path: string; fsync: string };
  secrets: Array<[string, Buffer]>;
} {
  const secrets: Array<[string, Buffer]> = [['vaultSecret', p.secret.bytes()]];
  if (p.binding) secrets.push(['machineId', Buffer.from(p.binding.id)]);
  return { config: { path: p.path, fsync: p.fsync }, secrets };
}

/** The sidecar's report of the vault it loaded (effectiveConfigJson "persistence"). */
export interface VaultLoadReport {
  path: string;
  fsync: string;
  bound: boolean;
  created: boolean;
  records: number;
  journalEntries: number;
  expired: number;
  tornBytes: number;
  loadMs: number;
}

/** A log line for the loaded vault, from the CONFIGURE reply's JSON (undefined if absent). */
export function describeVaultLoad(effectiveConfigJson: string): string | undefined {
  let report: VaultLoadReport | undefined;
  try {
    report = (JSON.parse(effectiveConfigJson) as { persistence?: VaultLoadReport }).persistence;
  } catch {
    return undefined;
  }
  if (!report) return undefined;
  const what = report.created
    ? `created a new vault in ${report.path}`
    : `loaded ${report.records} records from the vault in ${report.path} in ${report.loadMs} ms`;
  const extra = [
    report.expired ? `${report.expired} expired records skipped` : '',
    report.tornBytes ? `a torn journal tail of ${report.tornBytes} bytes cut` : '',
  ].filter(Boolean);
  return `Persistence: ${what} (fsync ${report.fsync}, ${report.bound ? 'bound to this machine identity' : 'not hardware-bound'})${extra.length ? `; ${extra.join(', ')}` : ''}`;
}

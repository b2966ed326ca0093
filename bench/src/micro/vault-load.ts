/**
 * Vault load: `node build/micro/vault-load.js '{"entries":N,"reloads":R}'`.
 * A sidecar with persistence (a fresh temporary directory, a random 32-byte secret made here and
 * never printed, the default hardware binding and fsync) fills N sessions of the memory
 * benchmark's data, the application closes cleanly, then starts again on the same directory R
 * times: each reload is timed from the start of the Nest application context until the first
 * resolveSession of a kept token answers with its data. Prints one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { VALUE_BYTES } from '../config';
import { median } from '../load/stats';
import { finishAsChild } from '../infra/child-result';
import { rssBytes } from '../infra/proc';
import { SESSION_SANDBOX, createSessions, sessionData } from './memory';
import { startXems, type XemsContext } from './xems-context';

/** What the directory holds after the clean close (file names: docs/vault-format.md). */
export interface VaultFiles {
  totalBytes: number;
  /** `xems.vault`: the last snapshot the sidecar wrote (compaction runs in the background, never at shutdown). */
  snapshotBytes: number;
  /** `xems.journal.<epoch>`: the changes since that snapshot. */
  journalBytes: number;
  journals: number;
  /** Anything else (the lock file). */
  otherBytes: number;
}

export interface VaultReload {
  /** From the start of the application context to the first answered resolveSession. */
  ms: number;
  /** Sessions in the sandbox after the reload, from XemsService.stats(). */
  sessions: number;
  /** Kept sessions that resolved (without rotation) to their own data. */
  verified: number;
  sidecarRssBytes: number;
}

export interface VaultLoadResult {
  entries: number;
  valueBytes: number;
  /** Start on an empty vault until the first answered call: the part of a reload that is not loading. */
  emptyStartMs: number;
  /** createSession of every entry with journaling on. */
  fillMs: number;
  /** app.close() after the fill (the sidecar closes the vault and exits). */
  closeMs: number;
  vault: VaultFiles;
  /** Tokens kept at creation and checked after every reload. */
  sampled: number;
  reloads: VaultReload[];
  medianMs: number;
  problems: string[];
}

/** Sessions checked after each reload: spread over the whole range, first and last included. */
const SAMPLES = 1000;
/** Generous on purpose: a slow load is measured instead of failing at the 5 s default. */
const START_TIMEOUT_MS = 120_000;
/** Long enough that the close is never cut short by a SIGKILL (that would not be a clean close). */
const SHUTDOWN_TIMEOUT_MS = 60_000;

function sampleIndices(entries: number): Set<number> {
  const n = Math.min(SAMPLES, entries);
  const out = new Set<number>();
  for (let k = 0; k < n; k++) out.add(n === 1 ? 0 : Math.round((k * (entries - 1)) / (n - 1)));
  return out;
}

function vaultFiles(dir: string): VaultFiles {
  const files: VaultFiles = { totalBytes: 0, snapshotBytes: 0, journalBytes: 0, journals: 0, otherBytes: 0 };
  for (const name of readdirSync(dir)) {
    const size = statSync(join(dir, name)).size;
    files.totalBytes += size;
    if (name === 'xems.vault') files.snapshotBytes += size;
    else if (name.startsWith('xems.journal.')) {
      files.journalBytes += size;
      files.journals++;
    } else files.otherBytes += size;
  }
  return files;
}

async function sessionCount(ctx: XemsContext): Promise<number> {
  return (await ctx.xems.stats()).sandboxes[SESSION_SANDBOX]?.sessions ?? 0;
}

/** Kept sessions that resolve, without rotation, to exactly the data they were created with. */
async function verifySessions(ctx: XemsContext, tokens: Map<number, string>): Promise<number> {
  const ok = await Promise.all(
    [...tokens].map(async ([i, token]) => {
      const s = await ctx.xems.resolveSession(token, { sandbox: SESSION_SANDBOX, rotate: false });
      return s !== null && isDeepStrictEqual(s.data, sessionData(i));
    }),
  );
  return ok.filter(Boolean).length;
}

async function timedClose(ctx: XemsContext, problems: string[], what: string): Promise<number> {
  const t0 = performance.now();
  await ctx.close();
  const ms = performance.now() - t0;
  if (ms >= SHUTDOWN_TIMEOUT_MS)
    problems.push(`vault: the sidecar did not exit within the shutdown timeout ${what} (killed: not a clean close)`);
  return ms;
}

export async function runVaultLoad(entries: number, reloads: number, dir: string): Promise<VaultLoadResult> {
  const problems: string[] = [];
  const sample = sampleIndices(entries);
  const secret = randomBytes(32);
  // A fresh copy per start: whatever the library does with the Buffer it was given, every start gets the same secret.
  const start = (): Promise<XemsContext> =>
    startXems({
      persistence: { enabled: true, path: dir, secret: Buffer.from(secret) },
      sidecar: { startTimeout: START_TIMEOUT_MS, shutdownTimeout: SHUTDOWN_TIMEOUT_MS },
    });
  try {
    // The first start creates the vault (and loads the library): not timed.
    await timedClose(await start(), problems, 'after creating the vault');

    let t0 = performance.now();
    const ctx = await start();
    await sessionCount(ctx);
    const emptyStartMs = performance.now() - t0;

    const { ms: fillMs, tokens } = await createSessions(ctx.xems, entries, (i) => sample.has(i));
    const held = await sessionCount(ctx);
    if (held !== entries) problems.push(`vault: the sidecar holds ${held} sessions after creating ${entries}`);
    const closeMs = await timedClose(ctx, problems, 'after the fill');
    const vault = vaultFiles(dir);

    const runs: VaultReload[] = [];
    const [firstIndex, firstToken] = tokens.entries().next().value as [number, string];
    for (let r = 1; r <= reloads; r++) {
      t0 = performance.now();
      const again = await start();
      // Ready: the first call that needs the loaded store answers with the session's data.
      const first = await again.xems.resolveSession(firstToken, { sandbox: SESSION_SANDBOX, rotate: false });
      const ms = performance.now() - t0;
      if (!first || !isDeepStrictEqual(first.data, sessionData(firstIndex)))
        problems.push(`vault: reload ${r}: the first kept session did not resolve to its data`);
      const sessions = await sessionCount(again);
      const verified = await verifySessions(again, tokens);
      const sidecarRssBytes = rssBytes(again.sidecarPid);
      await timedClose(again, problems, `after reload ${r}`);
      if (sessions !== entries) problems.push(`vault: reload ${r}: ${sessions} sessions loaded, expected ${entries}`);
      if (verified !== tokens.size)
        problems.push(`vault: reload ${r}: ${tokens.size - verified} of ${tokens.size} kept sessions did not resolve to their data`);
      runs.push({ ms, sessions, verified, sidecarRssBytes });
    }
    return {
      entries,
      valueBytes: VALUE_BYTES,
      emptyStartMs,
      fillMs,
      closeMs,
      vault,
      sampled: tokens.size,
      reloads: runs,
      medianMs: median(runs.map((x) => x.ms)),
      problems,
    };
  } finally {
    secret.fill(0);
  }
}

if (require.main === module) {
  const { entries, reloads } = JSON.parse(process.argv[2] ?? '{}') as { entries: number; reloads: number };
  const dir = mkdtempSync(join(tmpdir(), 'xems-bench-vault-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  // The harness stops a job with SIGTERM (Ctrl-C of the bench): the vault (hundreds of MB) goes too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      removeDir();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  finishAsChild(runVaultLoad(entries, reloads, dir).finally(removeDir));
}

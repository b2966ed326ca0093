import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { XemsVaultError, XemsVaultErrorKind } from '../xems.errors';
import { locateSidecarBinary } from '../sidecar/binary-locator';
import { MachineIdentityProblem, XemsHardwareBinding, resolveMachineIdentity } from './machine-identity';
import { VaultSecretProblem, decodeVaultSecret, parseVaultSecret } from './vault-secret';

// `npx nestjs-xems vault verify|rekey`: the operations commands of the encrypted vault. The
// secrets come from XEMS_SECRET / XEMS_NEW_SECRET or from stdin, never from argv; they reach
// the sidecar binary (`xems-sidecar vault ...`, which does the work) on its stdin.

export const VAULT_USAGE = `Usage:
  nestjs-xems vault verify --path <dir> [--machine-id <id> | --no-binding] [--json]
      Checks every block and entry of the vault (read-only: nothing is changed, a torn tail is
      only reported) and prints the records per sandbox. The vault must not be in use: stop the
      app, or verify a copy.
  nestjs-xems vault rekey --path <dir> [--machine-id <id> | --no-binding]
                          [--new-machine-id <id> | --new-no-binding | --new-this-machine] [--json]
      Re-seals the vault under a new secret and/or machine identity (secret rotation, moving to
      new hardware on purpose). Afterwards only the new secret and identity open it.

Secrets (never on the command line):
  XEMS_SECRET       the vault's secret (else: the first line of stdin)
  XEMS_NEW_SECRET   rekey: the new secret (else: the second line of stdin; empty = keep the secret)
  Forms: a 32-character string, "hex:<64 hex digits>" or "base64:<44 characters>".

Binding: by default this machine's identity (/etc/machine-id), as hardwareBinding: true.
  --machine-id <id>  the identity given as hardwareBinding: { id }     --no-binding  hardwareBinding: false
`;

/** The fix for a vault the CLI finds locked: the running application holds it. */
const LOCKED_HINT =
  'Stop the application that uses this vault first, or verify a copy of the directory (cp -a) while it runs; rekey needs the application stopped.';

export interface VaultCliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Reads a machine-id file (tests inject one). */
  readMachineId?: (path: string) => string;
}

/** A mistake of the user: printed without a stack, exit code 2 (usage) or 1. */
export class VaultCliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

interface Parsed {
  command: 'verify' | 'rekey';
  path: string;
  binding: XemsHardwareBinding;
  newBinding?: XemsHardwareBinding;
  json: boolean;
}

function parseArgs(args: string[]): Parsed {
  const [command, ...rest] = args;
  if (command !== 'verify' && command !== 'rekey') {
    throw new VaultCliError(
      `Unknown vault command ${JSON.stringify(command ?? '')}: use "vault verify" or "vault rekey".\n\n${VAULT_USAGE}`,
    );
  }
  const parsed: Partial<Parsed> = { command, binding: true, json: false };
  const value = (flag: string, i: number): string => {
    const v = rest[i + 1];
    if (v === undefined || v.startsWith('--')) throw new VaultCliError(`${flag} needs a value.`);
    return v;
  };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    switch (flag) {
      case '--path':
        parsed.path = value(flag, i++);
        break;
      case '--machine-id':
        parsed.binding = { id: value(flag, i++) };
        break;
      case '--no-binding':
        parsed.binding = false;
        break;
      case '--new-machine-id':
      case '--new-no-binding':
      case '--new-this-machine':
        if (command !== 'rekey') throw new VaultCliError(`${flag} is an option of "vault rekey".`);
        parsed.newBinding = flag === '--new-machine-id' ? { id: value(flag, i++) } : flag === '--new-this-machine';
        break;
      case '--json':
        parsed.json = true;
        break;
      case '--secret':
      case '--new-secret':
        throw new VaultCliError(
          `${flag} is not accepted: secrets never go on the command line (shell history, ps). Use XEMS_SECRET / XEMS_NEW_SECRET or stdin.`,
        );
      default:
        throw new VaultCliError(`Unknown option ${JSON.stringify(flag)}.\n\n${VAULT_USAGE}`);
    }
  }
  if (!parsed.path) throw new VaultCliError(`--path <dir> is required (the vault directory, persistence.path).\n\n${VAULT_USAGE}`);
  return parsed as Parsed;
}

/** Reads up to `count` lines from stdin (stops at EOF). */
async function readLines(stdin: Readable, count: number): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    lines.push(line);
    if (lines.length >= count) break;
  }
  rl.close();
  return lines;
}

function identity(binding: XemsHardwareBinding, io: VaultCliIo, what: string): string | undefined {
  try {
    const id = resolveMachineIdentity(binding, io.readMachineId);
    return id ? id.id.toString('base64') : undefined;
  } catch (err) {
    if (err instanceof MachineIdentityProblem)
      throw new VaultCliError(`${what}: ${err.message}. Pass --machine-id <id> or --no-binding.`, 1);
    throw err;
  }
}

interface ToolResult {
  ok: boolean;
  kind?: string;
  message?: string;
  path?: string;
  bound?: boolean;
  epoch?: number;
  sandboxes?: Record<string, { kv: number; sessions: number }>;
  records?: number;
  snapshotRecords?: number;
  journals?: number;
  journalEntries?: number;
  expired?: number;
  tornBytes?: number;
  bytes?: number;
  ms?: number;
}

/** Runs `xems-sidecar vault <command>` with the request on its stdin. */
function runTool(binary: string, command: string, request: Record<string, unknown>): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary, ['vault', command], { stdio: ['pipe', 'pipe', 'pipe'], env: {}, windowsHide: true });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', (e) => reject(new VaultCliError(`Could not run the sidecar binary ${binary}: ${e.message}`, 1)));
    child.on('close', (code) => {
      try {
        resolvePromise(JSON.parse(out) as ToolResult);
      } catch {
        reject(
          new VaultCliError(
            `The sidecar binary ${binary} did not answer (exit code ${code}): ${err.trim() || out.trim()}. Is it built from this version ("npx nestjs-xems build-sidecar")?`,
            1,
          ),
        );
      }
    });
    const payload = Buffer.from(JSON.stringify(request), 'utf8');
    child.stdin.end(payload, () => payload.fill(0));
  });
}

function formatVerify(r: ToolResult): string {
  const lines = [
    `Vault ${r.path}: every block and entry checked, OK (epoch ${r.epoch}, ${r.bound ? 'bound to a machine identity' : 'not hardware-bound'})`,
  ];
  const names = Object.keys(r.sandboxes ?? {}).sort();
  const width = Math.max(7, ...names.map((n) => n.length));
  lines.push(`  ${'sandbox'.padEnd(width)}  ${'sessions'.padStart(9)}  ${'kv'.padStart(9)}`);
  for (const name of names) {
    const s = r.sandboxes![name];
    lines.push(`  ${name.padEnd(width)}  ${String(s.sessions).padStart(9)}  ${String(s.kv).padStart(9)}`);
  }
  lines.push(
    `  ${r.records} live records (snapshot: ${r.snapshotRecords} records; ${r.journals} journal file(s): ${r.journalEntries} entries; ${r.expired} expired records skipped); ${Math.round((r.bytes ?? 0) / 1024)} KiB read in ${r.ms} ms`,
  );
  if (r.tornBytes) {
    lines.push(
      `  Note: the journal ends with a torn entry of ${r.tornBytes} bytes (the process stopped while writing it); the sidecar cuts it at its next start.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `vault verify|rekey`; returns the exit code. */
export async function runVaultCommand(args: string[], io: VaultCliIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(VAULT_USAGE);
    return 0;
  }
  const p = parseArgs(args);
  const needed = p.command === 'rekey' ? 2 : 1;
  const fromEnv = [io.env.XEMS_SECRET, io.env.XEMS_NEW_SECRET];
  const lines = fromEnv[0] === undefined ? await readLines(io.stdin, needed) : [];
  const current = fromEnv[0] ?? lines[0];
  const next = p.command === 'rekey' ? (fromEnv[0] === undefined ? lines[1] : fromEnv[1]) : undefined;
  if (current === undefined || current === '') {
    throw new VaultCliError('No secret: set XEMS_SECRET, or write the secret as the first line of stdin.', 1);
  }
  const request: Record<string, unknown> = { path: resolve(p.path) };
  try {
    request.secret = decodeVaultSecret(current.trim()).toString('base64');
  } catch (err) {
    if (err instanceof VaultSecretProblem) throw new VaultCliError(`The secret ${err.message}.`, 1);
    throw err;
  }
  const id = identity(p.binding, io, 'the current binding');
  if (id !== undefined) request.machineId = id;
  if (p.command === 'rekey') {
    if (next !== undefined && next.trim() !== '') {
      try {
        request.newSecret = parseVaultSecret(next.trim()).bytes().toString('base64');
      } catch (err) {
        if (err instanceof VaultSecretProblem)
          throw new VaultCliError(`The new secret ${err.message}. Generate one with "npx nestjs-xems secret".`, 1);
        throw err;
      }
    }
    if (p.newBinding === false) request.newUnbound = true;
    else if (p.newBinding !== undefined) request.newMachineId = identity(p.newBinding, io, 'the new binding');
    if (request.newSecret === undefined && p.newBinding === undefined) {
      throw new VaultCliError(
        'Nothing to change: give a new secret (XEMS_NEW_SECRET or the second line of stdin) and/or a new binding (--new-machine-id, --new-no-binding, --new-this-machine).',
        1,
      );
    }
  }
  const binary = locateSidecarBinary(undefined, io.env);
  const result = await runTool(binary, p.command, request);
  if (p.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  if (!result.ok) {
    const kind = result.kind as XemsVaultErrorKind;
    const known = ['wrong-secret', 'wrong-machine', 'corrupt', 'locked', 'io', 'write-failed'].includes(kind);
    const err = known ? new XemsVaultError(kind, result.message ?? '') : undefined;
    // A locked vault here means the app is running, not a second instance: the app's hint would mislead.
    const hint = kind === 'locked' ? LOCKED_HINT : err?.hint;
    io.stderr.write(`nestjs-xems: vault ${p.command} refused (${result.kind}): ${result.message}\n${hint ? `  Fix: ${hint}\n` : ''}`);
    return 1;
  }
  if (!p.json) {
    if (p.command === 'verify') io.stdout.write(formatVerify(result));
    else {
      io.stdout.write(
        `Vault ${result.path}: re-sealed (${result.records} live records kept, ${result.expired} expired dropped), ${result.bound ? 'bound to the new machine identity' : 'not hardware-bound'}.\n` +
          '  Only the new secret and identity open it now: update persistence.secret / hardwareBinding before the next start.\n',
      );
    }
  }
  return 0;
}

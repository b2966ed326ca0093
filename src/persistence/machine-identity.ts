import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** `hardwareBinding`: bind the vault key to this machine (true), to a given identity, or to nothing. */
export type XemsHardwareBinding = boolean | { id: string };

/** Where `hardwareBinding: true` reads this machine's identity on Linux, in order (systemd, then D-Bus). */
export const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'] as const;

/** macOS: the hardware UUID of the platform expert device (as "System Information" shows it). */
export const MACOS_IDENTITY = {
  command: '/usr/sbin/ioreg',
  args: ['-rd1', '-c', 'IOPlatformExpertDevice'],
  key: 'IOPlatformUUID',
} as const;

/** Windows: the MachineGuid that setup writes into the registry (the 64-bit view, whatever Node's bitness). */
export const WINDOWS_IDENTITY = {
  command: 'reg.exe',
  args: ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid', '/reg:64'],
  key: 'MachineGuid',
} as const;

/** The identity the vault key is bound to, and where it came from (for log lines, never the id itself). */
export interface MachineIdentity {
  id: Buffer;
  source: (typeof MACHINE_ID_FILES)[number] | typeof MACOS_IDENTITY.key | typeof WINDOWS_IDENTITY.key | 'hardwareBinding.id';
}

/** A binding that cannot be resolved: the message says what to do instead. */
export class MachineIdentityProblem extends Error {}

export const MAX_IDENTITY_BYTES = 1024;

/** What the lookup of this machine's identity reads: injectable for tests. */
export interface IdentitySources {
  platform: NodeJS.Platform;
  /** A file's text, or throws. */
  readFile(path: string): string;
  /** A command's standard output, or throws. */
  run(command: string, args: readonly string[]): string;
}

const THIS_MACHINE: IdentitySources = {
  platform: process.platform,
  readFile: (path) => readFileSync(path, 'utf8'),
  run: (command, args) =>
    execFileSync(command, args, { encoding: 'utf8', timeout: 10_000, windowsHide: true, stdio: ['ignore', 'pipe', 'ignore'] }),
};

/**
 * Resolves `hardwareBinding` to the identity sent to the sidecar (null: unbound). Read in Node,
 * not in the sidecar, so that a missing machine id fails at start-up as a configuration error
 * naming the option, and so that `npx nestjs-xems vault` resolves it the same way.
 * `read` (a file's text) and `sources` are injectable for tests.
 */
export function resolveMachineIdentity(
  binding: XemsHardwareBinding,
  read: (path: string) => string = THIS_MACHINE.readFile,
  sources: Omit<IdentitySources, 'readFile'> = THIS_MACHINE,
): MachineIdentity | null {
  if (binding === false) return null;
  if (binding !== true) {
    const id = Buffer.from(binding.id, 'utf8');
    if (binding.id.trim() === '' || id.length > MAX_IDENTITY_BYTES) {
      throw new MachineIdentityProblem(`hardwareBinding.id must be a non-empty string of at most ${MAX_IDENTITY_BYTES} bytes`);
    }
    return { id, source: 'hardwareBinding.id' };
  }
  if (sources.platform === 'darwin') return macosIdentity(sources.run);
  if (sources.platform === 'win32') return windowsIdentity(sources.run);
  return linuxIdentity(read);
}

function linuxIdentity(read: (path: string) => string): MachineIdentity {
  for (const path of MACHINE_ID_FILES) {
    let text: string;
    try {
      text = read(path);
    } catch {
      continue;
    }
    const id = text.trim();
    // systemd writes "uninitialized" into an image's machine-id until first boot.
    if (id !== '' && id !== 'uninitialized') return { id: Buffer.from(id, 'utf8'), source: path };
  }
  throw new MachineIdentityProblem(
    `this machine has no identity to bind the vault to (neither ${MACHINE_ID_FILES.join(' nor ')} exists or has content)`,
  );
}

/** The IOPlatformUUID in `ioreg -rd1 -c IOPlatformExpertDevice` output: `"IOPlatformUUID" = "…"`. */
export function parseIoregPlatformUuid(output: string): string | undefined {
  return /"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{36})"/.exec(output)?.[1]?.toUpperCase();
}

/** The MachineGuid in `reg query … /v MachineGuid` output: `MachineGuid    REG_SZ    …`. */
export function parseRegMachineGuid(output: string): string | undefined {
  return /^\s*MachineGuid\s+REG_SZ\s+([0-9A-Fa-f-]{36})\s*$/m.exec(output)?.[1]?.toLowerCase();
}

function macosIdentity(run: IdentitySources['run']): MachineIdentity {
  const id = commandIdentity(run, MACOS_IDENTITY, parseIoregPlatformUuid);
  return { id: Buffer.from(id, 'utf8'), source: MACOS_IDENTITY.key };
}

function windowsIdentity(run: IdentitySources['run']): MachineIdentity {
  // reg.exe from System32 by its full path: never one found first on PATH.
  const command = { ...WINDOWS_IDENTITY, command: `${process.env.SystemRoot ?? 'C:\\Windows'}\\System32\\reg.exe` };
  const id = commandIdentity(run, command, parseRegMachineGuid);
  return { id: Buffer.from(id, 'utf8'), source: WINDOWS_IDENTITY.key };
}

function commandIdentity(
  run: IdentitySources['run'],
  source: { command: string; args: readonly string[]; key: string },
  parse: (output: string) => string | undefined,
): string {
  const shown = `${source.command} ${source.args.join(' ')}`;
  let output: string;
  try {
    output = run(source.command, source.args);
  } catch (err) {
    throw new MachineIdentityProblem(
      `this machine's identity (${source.key}) could not be read: "${shown}" failed (${(err as Error).message})`,
    );
  }
  const id = parse(output);
  if (id === undefined) throw new MachineIdentityProblem(`this machine's identity could not be read: "${shown}" printed no ${source.key}`);
  return id;
}

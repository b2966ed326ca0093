import { readFileSync } from 'node:fs';

/** `hardwareBinding`: bind the vault key to this machine (true), to a given identity, or to nothing. */
export type XemsHardwareBinding = boolean | { id: string };

/** Where `hardwareBinding: true` reads this machine's identity, in order (systemd, then D-Bus). */
export const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'] as const;

/** The identity the vault key is bound to, and where it came from (for log lines, never the id itself). */
export interface MachineIdentity {
  id: Buffer;
  source: (typeof MACHINE_ID_FILES)[number] | 'hardwareBinding.id';
}

/** A binding that cannot be resolved: the message says what to do instead. */
export class MachineIdentityProblem extends Error {}

export const MAX_IDENTITY_BYTES = 1024;

/**
 * Resolves `hardwareBinding` to the identity sent to the sidecar (null: unbound). Read in Node,
 * not in the sidecar, so that a missing machine id fails at start-up as a configuration error
 * naming the option, and so that `npx nestjs-xems vault` resolves it the same way.
 * `read` is injectable for tests; it returns a file's text or throws.
 */
export function resolveMachineIdentity(
  binding: XemsHardwareBinding,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): MachineIdentity | null {
  if (binding === false) return null;
  if (binding !== true) {
    const id = Buffer.from(binding.id, 'utf8');
    if (binding.id.trim() === '' || id.length > MAX_IDENTITY_BYTES) {
      throw new MachineIdentityProblem(`hardwareBinding.id must be a non-empty string of at most ${MAX_IDENTITY_BYTES} bytes`);
    }
    return { id, source: 'hardwareBinding.id' };
  }
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

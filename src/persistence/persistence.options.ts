import { resolve } from 'node:path';
import { XEMS_DEFAULTS } from '../xems.defaults';
import { XemsConfigError } from '../xems.errors';
import { MachineIdentity, MachineIdentityProblem, XemsHardwareBinding, resolveMachineIdentity } from './machine-identity';
import { SECRET_HINT, VaultSecret, VaultSecretProblem, parseVaultSecret } from './vault-secret';

/** How journal writes reach the disk; see the README ("Persistence"). */
export type XemsFsyncPolicy = 'always' | 'everysec' | 'no';

export interface XemsPersistenceOptions {
  /** Keep sessions and values in an encrypted vault on disk, so they survive restarts. Default `false`. */
  enabled?: boolean;
  /**
   * Exactly 32 bytes: a 32-character string, a 32-byte Buffer, or `'hex:<64 hex digits>'` /
   * `'base64:<44 characters>'`. `npx nestjs-xems secret` prints a fresh one. Weak secrets
   * (a repeated pattern, one character, the examples in our docs) are refused.
   */
  secret?: string | Buffer;
  /** The vault directory (created with mode 0700 if missing). One vault per application instance. */
  path?: string;
  /** `'always'`: on the disk before the reply; `'everysec'` (default): within a second; `'no'`: when the OS writes back. */
  fsync?: XemsFsyncPolicy;
}

/** The persistence options after validation. */
export type ResolvedPersistence =
  | { enabled: false; path?: string }
  | {
      enabled: true;
      /** Absolute path of the vault directory. */
      path: string;
      fsync: XemsFsyncPolicy;
      /** Prints as "[vault secret]". */
      secret: VaultSecret;
      /** null: hardwareBinding false. */
      binding: MachineIdentity | null;
    };

const FSYNC_POLICIES: readonly XemsFsyncPolicy[] = ['always', 'everysec', 'no'];

const BINDING_HINT =
  "Use hardwareBinding: true (this machine's /etc/machine-id), { id: '<stable identity>' } (containers whose machine id changes, or hosts sharing a vault on purpose) or false (no binding: a copied vault opens anywhere with the secret).";

function fail(field: string, problem: string, hint: string): never {
  throw new XemsConfigError(field, problem, hint);
}

function describeBinding(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object without a string "id"' : `a ${typeof value}`;
}

/**
 * Validates `persistence` and `hardwareBinding` (the class-validator schema has already checked
 * the field types it can) and resolves the secret and the machine identity. `readMachineId`
 * reads a machine-id file (tests inject one).
 */
export function resolvePersistence(
  persistence: XemsPersistenceOptions | undefined,
  hardwareBinding: unknown,
  readMachineId?: (path: string) => string,
): ResolvedPersistence {
  if (hardwareBinding !== undefined && typeof hardwareBinding !== 'boolean') {
    const id = (hardwareBinding as { id?: unknown } | null)?.id;
    const keys = hardwareBinding && typeof hardwareBinding === 'object' ? Object.keys(hardwareBinding) : [];
    if (typeof id !== 'string' || keys.length !== 1) {
      fail('hardwareBinding', `must be true, false or { id: string }, got ${describeBinding(hardwareBinding)}`, BINDING_HINT);
    }
  }
  if (persistence?.enabled !== true) return { enabled: false, path: persistence?.path };

  if (persistence.path === undefined || persistence.path.trim() === '') {
    fail('persistence.path', 'is required when persistence is enabled', "Give the vault a directory of its own, e.g. path: '/var/lib/my-app/xems-vault'.");
  }
  const fsync = persistence.fsync ?? XEMS_DEFAULTS.persistence.fsync;
  if (!FSYNC_POLICIES.includes(fsync)) {
    fail('persistence.fsync', `must be 'always', 'everysec' or 'no'`, "Use 'everysec' (default), or 'always' to lose nothing acknowledged even on power loss.");
  }
  if (persistence.secret === undefined) {
    fail('persistence.secret', 'is required when persistence is enabled', SECRET_HINT);
  }
  let secret: VaultSecret;
  try {
    secret = parseVaultSecret(persistence.secret);
  } catch (err) {
    if (err instanceof VaultSecretProblem) fail('persistence.secret', err.message, SECRET_HINT);
    throw err;
  }
  let binding: MachineIdentity | null;
  try {
    binding = resolveMachineIdentity((hardwareBinding ?? XEMS_DEFAULTS.hardwareBinding) as XemsHardwareBinding, readMachineId);
  } catch (err) {
    if (err instanceof MachineIdentityProblem) fail('hardwareBinding', err.message, BINDING_HINT);
    throw err;
  }
  return { enabled: true, path: resolve(persistence.path), fsync, secret, binding };
}

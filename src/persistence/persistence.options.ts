import { resolve } from 'node:path';
import { Allow } from 'class-validator';
import { OptionBoolean, OptionOneOf, OptionString } from '../options/option-rules';
import { NO_DEFAULT, type Resolved } from '../options/resolved';
import { XemsConfigError } from '../xems.errors';
import { MachineIdentity, MachineIdentityProblem, XemsHardwareBinding, resolveMachineIdentity } from './machine-identity';
import { SECRET_HINT, VaultSecret, VaultSecretProblem, parseVaultSecret } from './vault-secret';

/** How journal writes reach the disk; see the README ("Persistence"). */
export type XemsFsyncPolicy = 'always' | 'everysec' | 'no';

/** Encrypted persistence: sessions and values survive restarts (see the README, "Persistence"). */
export class XemsPersistenceOptions {
  declare readonly [NO_DEFAULT]?: 'enabled' | 'secret' | 'path';

  /**
   * Keep sessions and values in an encrypted vault on disk, so they survive restarts. Off unless
   * `true`; `path` or `secret` given without `enabled` is refused (they would be ignored).
   */
  @OptionBoolean('Use true or false.')
  enabled?: boolean;

  /**
   * Exactly 32 bytes: a 32-character string, a 32-byte Buffer, or `'hex:<64 hex digits>'` /
   * `'base64:<44 characters>'`. `npx nestjs-xems secret` prints a fresh one. Weak secrets
   * (a repeated pattern, one character, the examples in our docs) are refused.
   */
  // Checked (never echoed) by parseSecretOption: a string or a Buffer, of several forms.
  @Allow()
  secret?: string | Buffer;

  /** The vault directory (created with mode 0700 if missing). One vault per application instance. */
  @OptionString('Use the path of a directory for the vault.')
  path?: string;

  /** `'always'`: on the disk before the reply; `'everysec'` (default): within a second; `'no'`: when the OS writes back. */
  @OptionOneOf(['always', 'everysec', 'no'], "Use 'everysec' (default), or 'always' to lose nothing acknowledged even on power loss.")
  fsync?: XemsFsyncPolicy = 'everysec';
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

/** `hardwareBinding` when not given: with persistence, the vault key is bound to this machine's identity. */
export const DEFAULT_HARDWARE_BINDING: XemsHardwareBinding = true;

const BINDING_HINT =
  "Use hardwareBinding: true (this machine's /etc/machine-id), { id: '<stable identity>' } (containers whose machine id changes, or hosts sharing a vault on purpose) or false (no binding: a copied vault opens anywhere with the secret).";

function describeBinding(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object without a string "id"' : `a ${typeof value}`;
}

/** `persistence.secret` parsed, or an XemsConfigError naming it (the secret itself is never echoed). */
export function parseSecretOption(secret: unknown): VaultSecret {
  try {
    return parseVaultSecret(secret as string | Buffer);
  } catch (err) {
    if (err instanceof VaultSecretProblem) throw new XemsConfigError('persistence.secret', err.message, SECRET_HINT);
    throw err;
  }
}

/** `hardwareBinding` resolved to an identity (null: unbound), or an XemsConfigError naming it with `hint`. */
export function identityOption(
  binding: XemsHardwareBinding,
  hint: string,
  readMachineId?: (path: string) => string,
): MachineIdentity | null {
  try {
    return resolveMachineIdentity(binding, readMachineId);
  } catch (err) {
    if (err instanceof MachineIdentityProblem) throw new XemsConfigError('hardwareBinding', err.message, hint);
    throw err;
  }
}

/**
 * Validates `persistence` and `hardwareBinding` (the options class has already checked the field
 * types) and resolves the secret and the machine identity. With the Redis store (`sharedStore`)
 * the secret serves the store instead, and resolveStore checks it. `readMachineId` reads a
 * machine-id file (tests inject one).
 */
export function resolvePersistence(
  persistence: Resolved<XemsPersistenceOptions>,
  hardwareBinding: unknown,
  sharedStore: boolean,
  readMachineId?: (path: string) => string,
): ResolvedPersistence {
  if (hardwareBinding !== undefined && typeof hardwareBinding !== 'boolean') {
    const id = (hardwareBinding as { id?: unknown } | null)?.id;
    const keys = hardwareBinding && typeof hardwareBinding === 'object' ? Object.keys(hardwareBinding) : [];
    if (typeof id !== 'string' || keys.length !== 1) {
      throw new XemsConfigError(
        'hardwareBinding',
        `must be true, false or { id: string }, got ${describeBinding(hardwareBinding)}`,
        BINDING_HINT,
      );
    }
  }
  if (persistence.enabled === undefined && !sharedStore && (persistence.path !== undefined || persistence.secret !== undefined)) {
    throw new XemsConfigError(
      'persistence.enabled',
      'is not set, so persistence is off although persistence.path or persistence.secret is given: sessions would live in memory only and vanish at the next restart',
      'Add enabled: true to keep sessions in the encrypted vault, or enabled: false to run memory-only on purpose.',
    );
  }
  if (persistence.enabled !== true) return { enabled: false, path: persistence.path };

  if (persistence.path === undefined || persistence.path.trim() === '') {
    throw new XemsConfigError(
      'persistence.path',
      'is required when persistence is enabled',
      "Give the vault a directory of its own, e.g. path: '/var/lib/my-app/xems-vault'.",
    );
  }
  if (persistence.secret === undefined) {
    throw new XemsConfigError('persistence.secret', 'is required when persistence is enabled', SECRET_HINT);
  }
  const secret = parseSecretOption(persistence.secret);
  const binding = identityOption((hardwareBinding ?? DEFAULT_HARDWARE_BINDING) as XemsHardwareBinding, BINDING_HINT, readMachineId);
  return { enabled: true, path: resolve(persistence.path), fsync: persistence.fsync, secret, binding };
}

import { inspect } from 'node:util';

/** The vault secret is exactly 256 bits. */
export const VAULT_SECRET_BYTES = 32;

/**
 * Secrets printed as examples in our README and docs (README "Persistence", docs/vault-format.md): anyone
 * can read them, so they are refused. A unit test checks that every secret-looking string in
 * the docs is in this list.
 */
export const DOCUMENTED_EXAMPLE_SECRETS: readonly string[] = [
  'base64:2tOTuZxGs2z0MP3tKI6SNr7Z3CaMjtrPa7ylffDmYDw=',
  'hex:6de1706a14627ded1f3d2b0fd0c77082ce43cdc51921ab0269e19b06fe22cfe9',
  'fea3KzYWP8PaJGzduwfEYPvXQ6fhDTYs',
];

/** How to make a good secret: the hint of every refusal. */
export const SECRET_HINT =
  'Generate one with "npx nestjs-xems secret" (it prints base64:<32 random bytes>), keep it out of the code (e.g. process.env.XEMS_SECRET), and pass it as persistence.secret. Accepted forms: a 32-character string, a 32-byte Buffer, or "hex:<64 hex digits>" / "base64:<44 characters>".';

/** A secret that was refused: the problem, never the secret itself. */
export class VaultSecretProblem extends Error {}

function fail(problem: string): never {
  throw new VaultSecretProblem(problem);
}

/**
 * Holds the 32 secret bytes. It never prints them: JSON.stringify, util.inspect (console.log)
 * and String() show "[vault secret]", so logging the module's options leaks nothing.
 */
export class VaultSecret {
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    this.#bytes = Buffer.from(bytes);
  }

  /** A copy of the 32 bytes (the caller should fill it with zeros when done). */
  bytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  toJSON(): string {
    return '[vault secret]';
  }

  toString(): string {
    return '[vault secret]';
  }

  [inspect.custom](): string {
    return '[vault secret]';
  }
}

function decodeHex(text: string): Buffer {
  if (!/^[0-9a-fA-F]*$/.test(text) || text.length % 2 !== 0) {
    fail(`starts with "hex:" but the rest is not hex digits (${text.length} characters)`);
  }
  const bytes = Buffer.from(text, 'hex');
  if (bytes.length !== VAULT_SECRET_BYTES) {
    fail(`"hex:" text decodes to ${bytes.length} bytes; it must decode to exactly ${VAULT_SECRET_BYTES} (64 hex digits)`);
  }
  return bytes;
}

function decodeBase64(text: string): Buffer {
  const normalized = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normalized)) {
    fail(`starts with "base64:" but the rest is not base64 (${text.length} characters)`);
  }
  const bytes = Buffer.from(normalized, 'base64');
  const canonical = bytes.toString('base64');
  if (canonical.replace(/=+$/, '') !== normalized.replace(/=+$/, '')) {
    fail(`starts with "base64:" but the rest is not valid base64 (${text.length} characters)`);
  }
  if (bytes.length !== VAULT_SECRET_BYTES) {
    fail(`"base64:" text decodes to ${bytes.length} bytes; it must decode to exactly ${VAULT_SECRET_BYTES} (44 base64 characters)`);
  }
  return bytes;
}

/** The secret's bytes from any accepted form, or a VaultSecretProblem saying what is wrong. */
function decodeSecret(value: unknown): { bytes: Buffer; unit: 'characters' | 'bytes' } {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const bytes = Buffer.from(value);
    if (bytes.length !== VAULT_SECRET_BYTES) fail(`is ${bytes.length} bytes long; it must be exactly ${VAULT_SECRET_BYTES} bytes`);
    return { bytes, unit: 'bytes' };
  }
  if (typeof value !== 'string') {
    fail(`must be a 32-character string, a 32-byte Buffer, or "hex:"/"base64:" text, got ${value === null ? 'null' : typeof value}`);
  }
  if (value.startsWith('hex:')) return { bytes: decodeHex(value.slice(4)), unit: 'bytes' };
  if (value.startsWith('base64:')) return { bytes: decodeBase64(value.slice(7)), unit: 'bytes' };
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length !== value.length) {
    fail(`must be ASCII: ${value.length} characters take ${bytes.length} bytes in UTF-8 (use "hex:" or "base64:" for binary secrets)`);
  }
  if (bytes.length !== VAULT_SECRET_BYTES) {
    fail(`is ${value.length} characters long; it must be exactly ${VAULT_SECRET_BYTES} characters (${VAULT_SECRET_BYTES} bytes)`);
  }
  return { bytes, unit: 'characters' };
}

/**
 * The 32 bytes of a secret in any accepted form, without the weak-secret checks: for opening an
 * existing vault (`vault verify`, the current secret of `vault rekey`). Throws VaultSecretProblem.
 */
export function decodeVaultSecret(value: unknown): Buffer {
  return decodeSecret(value).bytes;
}

/** The shortest period p (< length) with b[i] === b[i - p] for every i >= p, if any up to 16. */
function repeatedPeriod(b: Buffer): number | undefined {
  for (let p = 1; p <= 16; p++) {
    let repeats = true;
    for (let i = p; i < b.length && repeats; i++) repeats = b[i] === b[i - p];
    if (repeats) return p;
  }
  return undefined;
}

/**
 * Parses persistence.secret and refuses weak ones, each with its own message: a wrong length,
 * an example printed in our docs, a single character, a repeated pattern, too few different
 * characters. Throws VaultSecretProblem (the message never contains the secret).
 */
export function parseVaultSecret(value: unknown): VaultSecret {
  const text = typeof value === 'string' ? value : undefined;
  const { bytes, unit } = decodeSecret(value);
  const asDocs = [...DOCUMENTED_EXAMPLE_SECRETS].some((example) => {
    if (text === example) return true;
    try {
      return decodeSecret(example).bytes.equals(bytes);
    } catch {
      return false;
    }
  });
  if (asDocs) fail('is an example secret printed in the nestjs-xems documentation: anyone can read it');
  const distinct = new Set(bytes).size;
  if (distinct === 1) fail(`is one ${unit === 'characters' ? 'character' : 'byte'} repeated ${VAULT_SECRET_BYTES} times`);
  const period = repeatedPeriod(bytes);
  if (period !== undefined) fail(`repeats a pattern of ${period} ${unit}: most of it can be guessed from its start`);
  if (distinct < 8) fail(`uses only ${distinct} different ${unit}: far too little randomness`);
  return new VaultSecret(bytes);
}

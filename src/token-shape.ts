import { TOKEN_PATTERN } from './xems.internal-constants';

/** Characters of a token: 52 bytes in base64url without padding (TOKEN_PATTERN). */
export const TOKEN_CHARS = 70;

/** 1 for each base64url character by char code (A-Z a-z 0-9 - _), 0 for anything else. */
const BASE64URL = ((): Uint8Array => {
  const table = new Uint8Array(128);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = 1;
  return table;
})();

/**
 * True when `value` has the shape of a sidecar token (TOKEN_PATTERN), checked with a table
 * instead of the RegExp: it runs on every resolve, where the RegExp cost as much as the
 * rest of the argument checks together. Anything else is never sent to the sidecar.
 */
export function isTokenShaped(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== TOKEN_CHARS) return false;
  for (let i = 0; i < TOKEN_CHARS; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || BASE64URL[c] === 0) return false;
  }
  return true;
}

export { TOKEN_PATTERN };

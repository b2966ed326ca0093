import type { SidecarAuth } from './sidecar/sidecar-api';
import { AuthMethods } from './sidecar/stdio-protocol.gen';
import { XemsValidationError } from './xems.errors';

/**
 * How a user authenticated: the RFC 8176 "amr" values (`pwd` a password, `otp` a one-time
 * code, `hwk` a hardware key, `mfa` several factors, ...) plus `webauthn` (a passkey). The
 * sidecar stores them as bits (scripts/protocol-table.js, `authMethods`).
 */
export type XemsAuthMethod = Lowercase<keyof typeof AuthMethods>;

/** Every method name the module knows. */
export const XEMS_AUTH_METHODS = Object.keys(AuthMethods).map((k) => k.toLowerCase()) as XemsAuthMethod[];

/** The bit of each name of XEMS_AUTH_METHODS, same order (read on every resolve: no per-call name lookups). */
const METHOD_BITS: readonly number[] = Object.values(AuthMethods);

/** When and how the user of a session last authenticated (link, then each reauthenticated). */
export interface XemsAuthentication {
  /** Unix milliseconds of the login or of the last reauthentication. */
  authenticatedAt: number;
  /** The methods the application reported for it (empty when it reported none). */
  methods: XemsAuthMethod[];
}

/** The bits of `methods` (a list of XemsAuthMethod names); XemsValidationError for anything else. */
export function authMethodBits(methods: unknown, caller: string): number {
  if (methods === undefined) return 0;
  if (!Array.isArray(methods) || methods.length > XEMS_AUTH_METHODS.length) {
    throw invalidMethods(caller, 'must be an array of method names');
  }
  let bits = 0;
  for (const m of methods) {
    const bit = typeof m === 'string' ? (AuthMethods as Record<string, number>)[m.toUpperCase()] : undefined;
    if (bit === undefined || m !== m.toLowerCase()) throw invalidMethods(caller, `contains an unknown method ${JSON.stringify(m)}`);
    bits |= bit;
  }
  return bits;
}

/** The names of the method bits, in the table's order. */
export function authMethodNames(bits: number): XemsAuthMethod[] {
  const names: XemsAuthMethod[] = [];
  for (let i = 0; i < METHOD_BITS.length; i++) if ((bits & METHOD_BITS[i]) !== 0) names.push(XEMS_AUTH_METHODS[i]);
  return names;
}

/** The authentication record a sidecar reply carries, or undefined when the session has none. */
export function authenticationOf(auth: SidecarAuth): XemsAuthentication | undefined {
  return auth.authAt > 0 ? { authenticatedAt: auth.authAt, methods: authMethodNames(auth.authMethods) } : undefined;
}

/** A fresh authentication record for the sidecar: now, with these method bits. */
export function authenticatedNow(bits: number): SidecarAuth {
  return { authAt: Date.now(), authMethods: bits };
}

function invalidMethods(caller: string, problem: string): XemsValidationError {
  return new XemsValidationError(
    'INVALID_AUTH_METHODS',
    `The methods given to ${caller} ${problem}`,
    `Use names from RFC 8176 such as ['pwd'], ['pwd', 'otp'] or ['webauthn'] (known: ${XEMS_AUTH_METHODS.join(', ')}).`,
  );
}

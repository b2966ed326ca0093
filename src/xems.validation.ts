import type { ServerResponse } from 'node:http';
import { parseDuration } from './duration.util';
import type { XemsSchemaOption } from './session.types';
import type { XemsSchemaOptions } from './typed-data';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsError, XemsValidationError } from './xems.errors';

// The checks of what callers pass to XemsService at run time (not the module options): each
// refusal is an XemsValidationError with a code and a hint, before anything reaches the sidecar.

/** The sandbox name assertSandbox accepted last: an app passes the same few names on every call, and the RegExp is not free. */
let lastValidSandbox: string | undefined;

export function assertSandbox(sandbox: unknown): asserts sandbox is string {
  if (sandbox === lastValidSandbox) return;
  if (typeof sandbox !== 'string' || !XEMS_LIMITS.sandboxPattern.test(sandbox)) {
    throw new XemsValidationError(
      'INVALID_SANDBOX',
      `Invalid sandbox name ${JSON.stringify(typeof sandbox === 'string' ? sandbox.slice(0, 80) : typeof sandbox)}`,
      'Use 1-64 characters from A-Z a-z 0-9 . _ : -',
    );
  }
  lastValidSandbox = sandbox;
}

export function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || Buffer.byteLength(userId) > 1024) {
    throw new XemsValidationError(
      'INVALID_USER_ID',
      'A userId must be a non-empty string of at most 1024 bytes',
      "Pass the user's stable id as a string, e.g. String(user.id).",
    );
  }
}

/** link(), unlink() and regenerate() set the response's token: they must run before the headers go. */
export function assertHeadersNotSent(res: ServerResponse, method: string): void {
  if (res.headersSent) {
    throw new XemsError(
      'HEADERS_SENT',
      `XemsService.${method}() was called after the response headers were sent`,
      `Call ${method}() before writing the response body.`,
    );
  }
}

/** A duration given to a method, in milliseconds within [min, max]. */
export function durationMs(value: unknown, field: string, min: number, max: number): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < min || ms > max) {
    throw new XemsValidationError(
      field === 'ttl' ? 'INVALID_TTL' : 'INVALID_DURATION',
      `Invalid ${field} ${JSON.stringify(value)}: expected a duration between ${min} and ${max} ms`,
      "Use a number of milliseconds or a string such as '30s', '15m', '1h' (a TTL over 5 days is capped to 5 days; a grace period is at most 60 s).",
    );
  }
  return ms;
}

/** `Dto` or `{ schema: Dto, validator }` as XemsSchemaOptions. */
export function schemaOptions(schema: XemsSchemaOption | undefined): XemsSchemaOptions | undefined {
  if (schema === undefined) return undefined;
  return typeof schema === 'function' ? { schema } : schema;
}

/** A value or session data as the sidecar stores it: JSON bytes (undefined, BigInt and cycles are refused). */
export function encodeJson(value: unknown, what: string): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new XemsValidationError(
      'VALUE_NOT_SERIALIZABLE',
      `The ${what} cannot be serialized to JSON: ${(err as Error).message}`,
      'Store plain data: objects, arrays, strings, numbers, booleans and null (no BigInt, no cycles).',
    );
  }
  if (json === undefined) {
    throw new XemsValidationError(
      'VALUE_NOT_SERIALIZABLE',
      `The ${what} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`,
      'Store null, or delete the key instead of storing undefined.',
    );
  }
  return Buffer.from(json, 'utf8');
}

export function decodeJson<T>(bytes: Buffer): T {
  // toString() without arguments is UTF-8 by Node's shortest path (no encoding lookup).
  return JSON.parse(bytes.toString()) as T;
}

/** A key of a sandbox store as bytes (non-empty, at most 1024 bytes). */
export function encodeKey(key: unknown): Buffer {
  if (typeof key !== 'string' || key.length === 0) {
    throw new XemsValidationError('INVALID_KEY', 'A key must be a non-empty string', 'Pass a string key such as "otp:42".');
  }
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > XEMS_LIMITS.maxKeyBytes) {
    throw new XemsValidationError(
      'KEY_TOO_LARGE',
      `The key is ${bytes.length} bytes long; the limit is ${XEMS_LIMITS.maxKeyBytes}`,
      'Use a shorter key, e.g. a hash of the long one.',
    );
  }
  return bytes;
}

import type { ServerResponse } from 'node:http';
import { HttpStatus, ServiceUnavailableException } from '@nestjs/common';
import { XEMS_UNAVAILABLE_RETRY_AFTER_S } from './xems.defaults';

/**
 * The fix for a sidecar that speaks another protocol than this module: the binary is not the one
 * this package version ships (a stale local build, a binaryPath override, a damaged install).
 */
export const MISMATCHED_SIDECAR_HINT =
  'The sidecar binary does not match this version of nestjs-xems: reinstall nestjs-xems so that its platform package matches, rebuild it with "npx nestjs-xems build-sidecar", or point sidecar.binaryPath / XEMS_SIDECAR_PATH at a matching binary.';

/**
 * Every error the library throws on purpose is an XemsError: callers can catch the base class,
 * switch on `code`, and show `hint` (how to fix it) to whoever configures the application.
 */
export class XemsError extends Error {
  /** Stable machine-readable code, e.g. `VALUE_TOO_LARGE` or `SIDECAR_NOT_FOUND`. */
  readonly code: string;
  /** How to fix the problem, written for the developer or operator. */
  readonly hint: string;

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }
}

/** A module option is invalid. Thrown once, at start-up. */
export class XemsConfigError extends XemsError {
  /** The option's path, e.g. `cookie.name`. */
  readonly field: string;

  constructor(field: string, problem: string, hint: string) {
    super('INVALID_OPTION', `Invalid XemsModule option "${field}": ${problem}`, hint);
    this.field = field;
  }
}

/** The sidecar binary is missing, could not start, or failed in an unexpected way. */
export class XemsSidecarError extends XemsError {}

/** The prebuilt sidecar binary differs from the SHA-256 recorded in the package: it is not started. */
export class XemsSidecarChecksumError extends XemsSidecarError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
    recordedIn: string,
  ) {
    super(
      'SIDECAR_CHECKSUM_MISMATCH',
      `The xems sidecar binary ${file} has SHA-256 ${actual}, not the ${expected} recorded in ${recordedIn}: it was modified or replaced after installation, so it is not started`,
      'Reinstall the platform package (delete it from node_modules and run your install again). To run a binary of your own on purpose, set sidecar.binaryPath or XEMS_SIDECAR_PATH (not checked).',
    );
  }
}

/** The sidecar did not answer a request within `sidecar.requestTimeout`. */
export class XemsTimeoutError extends XemsError {
  constructor(op: string, timeoutMs: number) {
    super(
      'TIMEOUT',
      `The xems sidecar did not answer ${op} within ${timeoutMs} ms`,
      'The sidecar may be overloaded or stuck; raise sidecar.requestTimeout only if the host is known to be slow.',
    );
  }
}

/** Too many requests are already waiting for the sidecar (`sidecar.maxInFlight`). */
export class XemsOverloadedError extends XemsError {
  constructor(maxInFlight: number) {
    super(
      'OVERLOADED',
      `The xems sidecar already has ${maxInFlight} requests in flight`,
      'Shed load (the guard answers 503 with Retry-After) or raise sidecar.maxInFlight if memory allows.',
    );
  }
}

/** The sidecar is not running (starting, restarting, crashed, or shut down). */
export class XemsUnavailableError extends XemsError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(
      'UNAVAILABLE',
      `The xems sidecar is unavailable: ${reason}`,
      'Retry shortly: the module restarts a crashed sidecar with backoff. If this persists, read the XemsSidecar log lines.',
      options,
    );
  }
}

/** The sidecar broke the wire protocol, or speaks another protocol version. */
export class XemsProtocolError extends XemsError {}

/** A value, key, sandbox name or TTL was refused (by the module or by the sidecar). */
export class XemsValidationError extends XemsError {}

/** Why the sidecar refused a device-bound session operation (DBSC): the wire names, docs/protocol.md. */
export type XemsDeviceProofCode = 'DEVICE_PROOF_OVERDUE' | 'DEVICE_PROOF_REFUSED' | 'DEVICE_NOT_BOUND' | 'DEVICE_ALREADY_BOUND';

const DEVICE_HINTS: Record<XemsDeviceProofCode, string> = {
  DEVICE_PROOF_OVERDUE: 'The browser must refresh the bound cookie (DBSC) first; a copied cookie stays refused.',
  DEVICE_PROOF_REFUSED: 'The proof did not verify (another key, a used or expired challenge, a malformed JWS): ask for a new challenge.',
  DEVICE_NOT_BOUND: 'Register the device first (Secure-Session-Registration on the login response).',
  DEVICE_ALREADY_BOUND: 'A session binds one device once; log in again to bind another.',
};

/** A device-bound session operation was refused by the sidecar's rule (never a crash; nothing changed). */
export class XemsDeviceProofError extends XemsError {
  declare readonly code: XemsDeviceProofCode;

  constructor(code: XemsDeviceProofCode, detail: string) {
    super(code, `Device-bound session refused: ${detail}`, DEVICE_HINTS[code]);
  }

  static isCode(name: string): name is XemsDeviceProofCode {
    return Object.hasOwn(DEVICE_HINTS, name);
  }
}

/**
 * A login was refused because the user already has `maxSessionsPerUser` live sessions and
 * `onLimit` is `'reject'`. Catch it to tell the user to log out elsewhere first.
 */
export class XemsSessionLimitError extends XemsError {
  constructor(detail: string) {
    super(
      'SESSION_LIMIT',
      `The session was not created: ${detail}`,
      "Ask the user to log out on another device (listSessions / revokeSessionById), or use onLimit: 'evict-oldest'.",
    );
  }
}

/**
 * What went wrong with the encrypted vault (persistence): `wrong-secret`, `wrong-machine` and
 * `corrupt` refuse the start and leave the vault untouched; `locked` (another process uses the
 * vault) and `io` (the directory cannot be created, read or written) refuse the start too;
 * `write-failed` refuses one change at run time (disk full, read-only, failing): the change
 * was not made, and writes resume by themselves once the disk works again.
 */
export type XemsVaultErrorKind = 'wrong-secret' | 'wrong-machine' | 'corrupt' | 'locked' | 'io' | 'write-failed';

const VAULT_ERRORS: Record<XemsVaultErrorKind, { code: string; hint: string }> = {
  'wrong-secret': {
    code: 'VAULT_WRONG_SECRET',
    hint: 'persistence.secret is not the secret this vault was written with. Restore the right one; if it is lost, move the vault directory away to start with an empty vault (its sessions are lost).',
  },
  'wrong-machine': {
    code: 'VAULT_WRONG_MACHINE',
    hint: 'The vault is bound to another machine identity (a copied vault, a restored backup, or a machine id that changed). Pass hardwareBinding: { id } with the original identity, move it on purpose with "npx nestjs-xems vault rekey", or move it away to start empty.',
  },
  corrupt: {
    code: 'VAULT_CORRUPT',
    hint: 'The vault files are damaged (a disk or copy error, or tampering) and were left as they are. Check them with "npx nestjs-xems vault verify --path <dir>", restore the directory from a backup, or move it away to start empty.',
  },
  locked: {
    code: 'VAULT_LOCKED',
    hint: 'Another process (a second instance of the app, or a cluster worker) uses this vault. Give each instance its own persistence.path.',
  },
  io: {
    code: 'VAULT_IO',
    hint: 'Check that persistence.path names a directory this process can create, read and write (on a local file system).',
  },
  'write-failed': {
    code: 'PERSIST_FAILED',
    hint: 'The vault disk is full, read-only or failing: the change was not made. Free space or fix the disk; writes succeed again by themselves.',
  },
};

/** The encrypted vault refused to open, or a change could not be written to it. `kind` says which. */
export class XemsVaultError extends XemsError {
  readonly kind: XemsVaultErrorKind;

  constructor(kind: XemsVaultErrorKind, message: string) {
    super(VAULT_ERRORS[kind].code, message, VAULT_ERRORS[kind].hint);
    this.kind = kind;
  }

  /** The kind of a sidecar error name (VAULT_WRONG_SECRET...), if it is a vault error. */
  static kindOf(errorName: string): XemsVaultErrorKind | undefined {
    const entry = Object.entries(VAULT_ERRORS).find(([, v]) => v.code === errorName);
    return entry?.[0] as XemsVaultErrorKind | undefined;
  }
}

/**
 * True for the errors meaning "the sidecar cannot answer now" (503, retry later), including a
 * change the vault could not write (disk full): nothing changed, the old token still works.
 */
export function isSidecarUnavailable(error: unknown): boolean {
  return (
    error instanceof XemsUnavailableError ||
    error instanceof XemsTimeoutError ||
    error instanceof XemsOverloadedError ||
    (error instanceof XemsVaultError && error.kind === 'write-failed')
  );
}

/** The HTTP answer to every sidecar outage: 503 with Retry-After (set on `res`), and no stack in the body. */
export function serviceUnavailable(res: ServerResponse | undefined): ServiceUnavailableException {
  if (res && !res.headersSent) res.setHeader('Retry-After', String(XEMS_UNAVAILABLE_RETRY_AFTER_S));
  return new ServiceUnavailableException({
    statusCode: HttpStatus.SERVICE_UNAVAILABLE,
    error: 'Service Unavailable',
    message: 'The session store is temporarily unavailable; retry shortly',
  });
}

/**
 * A resolver guarded by SessionGuard (or using @Session(), CsrfGuard) runs with a GraphQL
 * context that lacks the HTTP request or response. The message names the line to add to
 * GraphQLModule.forRoot.
 */
export class XemsGraphqlContextError extends XemsError {
  constructor(message: string, hint: string) {
    super('GRAPHQL_CONTEXT', message, hint);
  }
}

/** The application's HTTP adapter is not one the module supports. Thrown at start. */
export class XemsUnsupportedPlatformError extends XemsError {
  constructor(readonly adapterType: string) {
    super(
      'UNSUPPORTED_PLATFORM',
      `nestjs-xems does not support the HTTP adapter "${adapterType}": it cannot write rotated tokens to its responses`,
      'Use @nestjs/platform-express or @nestjs/platform-fastify (NestFactory.create(AppModule) or NestFactory.create(AppModule, new FastifyAdapter())).',
    );
  }
}

/** A guard or decorator of the module ran in an execution context it does not support (e.g. a microservice handler). */
export class XemsUnsupportedContextError extends XemsError {
  constructor(
    readonly contextType: string,
    what: string,
  ) {
    super(
      'UNSUPPORTED_CONTEXT',
      `${what} was used in a "${contextType}" execution context; nestjs-xems supports HTTP handlers (Express and Fastify) and GraphQL resolvers`,
      'Use SessionGuard, CsrfGuard, @Session() and @SessionContext() on HTTP controllers and GraphQL resolvers only; for other transports resolve tokens with XemsService.resolveSession().',
    );
  }
}

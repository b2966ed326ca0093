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

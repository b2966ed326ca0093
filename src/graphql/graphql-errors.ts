import type { ServerResponse } from 'node:http';
import { IntrinsicException } from '@nestjs/common';
import { XEMS_UNAVAILABLE_RETRY_AFTER_S } from '../xems.defaults';

/** The `extensions.code` of each refusal in a GraphQL response (the codes Apollo's clients know). */
export const XEMS_GRAPHQL_CODES = {
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  unavailable: 'SERVICE_UNAVAILABLE',
  /** @RequireFreshAuth refused: the session is alive, its authentication is too old (the HTTP body's code). */
  freshAuthRequired: 'XEMS_FRESH_AUTH_REQUIRED',
} as const;

/**
 * Makes an error the library throws in a resolver answer in GraphQL form: `extensions.code`
 * (graphql-js copies the extensions of the error a resolver throws; Mercurius sends them as
 * they are, Apollo keeps them or maps Nest's HttpExceptions to the same code), and a stack of
 * one line, so a server that sends stacks to clients (Apollo outside production) sends none
 * of the library's frames for an expected refusal.
 */
export function inGraphqlForm<E extends Error>(error: E, code: string): E {
  (error as E & { extensions?: Record<string, unknown> }).extensions = { code };
  return withoutStackFrames(error);
}

/** The error with a stack of one line (its name and message), for an error a client may be sent. */
export function withoutStackFrames<E extends Error>(error: E): E {
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

/**
 * The sidecar cannot answer a resolver: `extensions.code` SERVICE_UNAVAILABLE (retry later),
 * never INTERNAL_SERVER_ERROR. Not an HttpException on purpose: Nest's Apollo driver turns
 * every HttpException status it does not know into INTERNAL_SERVER_ERROR. An
 * IntrinsicException, so Nest does not log it as an unexpected error (the sidecar's own
 * events and log lines tell the operator).
 */
export class XemsGraphqlUnavailableError extends IntrinsicException {
  readonly extensions: { code: string } = { code: XEMS_GRAPHQL_CODES.unavailable };

  constructor() {
    super('The session store is temporarily unavailable; retry shortly');
    // What a client may see (the one-line stack Apollo sends outside production): no class of the library.
    this.name = 'ServiceUnavailable';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** The GraphQL answer to a sidecar outage; sets Retry-After on the HTTP response when there is one. */
export function graphqlUnavailable(res: ServerResponse | undefined): XemsGraphqlUnavailableError {
  if (res && typeof res.setHeader === 'function' && !res.headersSent) res.setHeader('Retry-After', String(XEMS_UNAVAILABLE_RETRY_AFTER_S));
  return new XemsGraphqlUnavailableError();
}

/**
 * A resolver under @RequireFreshAuth reached by a session whose authentication is too old or
 * lacks a method: `extensions` as the HTTP refusal's body (code XEMS_FRESH_AUTH_REQUIRED,
 * maxAge in seconds, methods), so the page prompts for the password and calls the
 * reauthentication mutation. Not UNAUTHENTICATED: the session is alive, and a client that
 * logs out on UNAUTHENTICATED must not. Not an HttpException: Nest's Apollo driver rewrites
 * the code of every 401 to UNAUTHENTICATED (Mercurius would send only what it is given).
 */
export class XemsGraphqlFreshAuthRequiredError extends IntrinsicException {
  readonly extensions: { code: string; maxAge: number; methods?: string[] };
  constructor(maxAgeS: number, methods: readonly string[]) {
    super('This action needs a more recent authentication: reauthenticate, then retry');
    this.extensions = { code: XEMS_GRAPHQL_CODES.freshAuthRequired, maxAge: maxAgeS, ...(methods.length > 0 && { methods: [...methods] }) };
    // What a client may see (the one-line stack Apollo sends outside production): no class of the library.
    this.name = 'FreshAuthRequired';
    this.stack = `${this.name}: ${this.message}`;
  }
}

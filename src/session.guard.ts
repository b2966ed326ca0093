import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CanActivate,
  ExecutionContext,
  HttpStatus,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { XemsPresentedToken } from './token-transport';
import { XEMS_SANDBOX_METADATA } from './xems.constants';
import { XEMS_UNAVAILABLE_RETRY_AFTER_S } from './xems.defaults';
import { XemsOverloadedError, XemsTimeoutError, XemsUnavailableError, XemsVaultError } from './xems.errors';
import { XemsClientInfo, XemsService, requestClient } from './xems.service';

/** Why a request was refused: no token, a malformed carrier, or a token the sidecar refused. */
export type XemsUnauthorizedReason = 'missing' | 'malformed' | 'invalid';

/** How the guard resolves: whether to rotate, and the windows sent to the sidecar. */
export interface XemsRotationPolicy {
  rotate: boolean;
  graceMs: number;
  minRotateIntervalMs: number;
}

/**
 * True for the errors meaning "the sidecar cannot answer now" (503, retry later), including a
 * rotation the vault could not write (disk full): nothing changed, the old token still works.
 */
export function isSidecarUnavailable(error: unknown): boolean {
  return (
    error instanceof XemsUnavailableError ||
    error instanceof XemsTimeoutError ||
    error instanceof XemsOverloadedError ||
    (error instanceof XemsVaultError && error.kind === 'write-failed')
  );
}

/** The 503 used for every sidecar outage, with Retry-After and no stack in the body. */
export function serviceUnavailable(res: ServerResponse | undefined): ServiceUnavailableException {
  if (res && !res.headersSent) res.setHeader('Retry-After', String(XEMS_UNAVAILABLE_RETRY_AFTER_S));
  return new ServiceUnavailableException({
    statusCode: HttpStatus.SERVICE_UNAVAILABLE,
    error: 'Service Unavailable',
    message: 'The session store is temporarily unavailable; retry shortly',
  });
}

/** Throws serviceUnavailable(res). */
export function throwServiceUnavailable(res: ServerResponse | undefined): never {
  throw serviceUnavailable(res);
}

/**
 * Protects a route with a session: reads the token (cookie first, then header), resolves it
 * in the route's sandbox (@XemsSandbox or the module's default), rotates it per autoRotation,
 * and attaches the session to the request (@Session()). The response carries the current
 * token on every path. Refusals: 401 (no, malformed, unknown, expired, revoked or reused
 * token), 503 with Retry-After (sidecar unavailable, timed out or overloaded).
 *
 * Every step is a protected method, so a subclass can change one without copying the rest.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    protected readonly xems: XemsService,
    protected readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = this.getRequest(context);
    const res = this.getResponse(context);
    const sandbox = this.getSandbox(context);
    const presented = this.getToken(req, context);
    if (!presented) return this.onUnauthorized('missing', context);
    const policy = this.getRotationPolicy(context);
    let session;
    try {
      session = await this.xems.resolveSession(presented.token, {
        sandbox,
        rotate: policy.rotate,
        gracePeriod: policy.graceMs,
        minRotateInterval: policy.minRotateIntervalMs,
        csrf: true,
        ...(this.xems.options.binding.enabled ? { client: this.getClient(req, context) } : {}),
      });
    } catch (error) {
      if (isSidecarUnavailable(error)) return this.onUnavailable(error as Error, context);
      throw error;
    }
    if (!session) return this.onUnauthorized('invalid', context);

    const transport = this.xems.transport;
    const state = transport.state(req);
    state.presented = presented;
    state.via = presented.via;
    state.cleared = false;
    state.session = {
      sandbox,
      id: session.id,
      token: session.token,
      data: session.data,
      expiresAt: session.expiresAt,
      rotated: session.rotated,
      rememberMe: session.rememberMe === true,
      sliding: session.sliding === true,
      csrfToken: session.csrfToken,
    };
    transport.arm(req, res);
    return true;
  }

  protected getRequest(context: ExecutionContext): IncomingMessage {
    return context.switchToHttp().getRequest<IncomingMessage>();
  }

  protected getResponse(context: ExecutionContext): ServerResponse {
    return context.switchToHttp().getResponse<ServerResponse>();
  }

  /** The token the request presents: cookie first, then header. Malformed carriers are refused. */
  protected getToken(req: IncomingMessage, context: ExecutionContext): XemsPresentedToken | undefined {
    const lookup = this.xems.transport.read(req);
    if (lookup.kind === 'malformed') return this.onUnauthorized('malformed', context);
    return lookup.kind === 'token' ? { token: lookup.token, via: lookup.via } : undefined;
  }

  /** @XemsSandbox() of the handler, else of the controller, else the module's default. */
  protected getSandbox(context: ExecutionContext): string {
    return (
      this.reflector.getAllAndOverride<string | undefined>(XEMS_SANDBOX_METADATA, [context.getHandler(), context.getClass()]) ??
      this.xems.options.sandbox
    );
  }

  /**
   * The client the binding check compares with the session's binding: Express's `req.ip`
   * (which honours the app's `trust proxy` setting) and the User-Agent header.
   */
  protected getClient(req: IncomingMessage, _context: ExecutionContext): XemsClientInfo {
    return requestClient(req);
  }

  /** From the module's autoRotation and gracePeriod options. */
  protected getRotationPolicy(_context: ExecutionContext): XemsRotationPolicy {
    const { rotation, graceMs } = this.xems.options;
    return { rotate: rotation.enabled, graceMs, minRotateIntervalMs: rotation.minIntervalMs };
  }

  /** Refuses the request with 401. */
  protected onUnauthorized(_reason: XemsUnauthorizedReason, _context: ExecutionContext): never {
    throw new UnauthorizedException();
  }

  /** The sidecar cannot answer: 503 with Retry-After, never 500 and never a pass. */
  protected onUnavailable(_error: Error, context: ExecutionContext): never {
    throwServiceUnavailable(this.getResponse(context));
  }
}

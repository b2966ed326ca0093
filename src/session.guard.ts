import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { XEMS_REQUIRE_DEVICE_BOUND } from './device-bound/require-device-bound.decorator';
import { isBindingOn } from './options/binding.options';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { type XemsClientInfo, requestClient } from './request-client';
import { RequestSessions } from './request-session';
import { TokenTransport, type XemsPresentedToken } from './token-transport';
import { XEMS_SANDBOX_METADATA } from './xems.constants';
import { isSidecarUnavailable, serviceUnavailable } from './xems.errors';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { type SessionLookup, type XemsRotationPolicy, XemsSessions } from './xems.sessions';

export type { XemsRotationPolicy } from './xems.sessions';

/** Why a request was refused: no token, a malformed carrier, or a token the sidecar refused. */
export type XemsUnauthorizedReason = 'missing' | 'malformed' | 'invalid';

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
    @Inject(XEMS_RESOLVED_OPTIONS) protected readonly options: ResolvedXemsOptions,
    protected readonly sessions: XemsSessions,
    protected readonly transport: TokenTransport,
    protected readonly requestSessions: RequestSessions,
    protected readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = this.getRequest(context);
    const presented = this.getToken(req, context);
    if (!presented) return this.onUnauthorized('missing', context);
    const sandbox = this.getSandbox(context);
    const lookup: SessionLookup = {
      ...this.getRotationPolicy(context),
      csrf: true,
      client: isBindingOn(this.options.binding) ? this.getClient(req, context) : undefined,
    };
    let session;
    try {
      session = await this.sessions.resolve(sandbox, presented.token, lookup);
    } catch (error) {
      if (isSidecarUnavailable(error)) return this.onUnavailable(error as Error, context);
      throw error;
    }
    if (!session) return this.onUnauthorized('invalid', context);
    this.requestSessions.attach(req, this.getResponse(context), session, presented);
    if (session.deviceBound !== true && this.requiresDeviceBound(context)) return this.onNotDeviceBound(context);
    return true;
  }

  /** @RequireDeviceBound() on the handler or its controller. */
  protected requiresDeviceBound(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(XEMS_REQUIRE_DEVICE_BOUND, [context.getHandler(), context.getClass()]) === true
    );
  }

  /** A route that requires a device-bound session, reached with another session: 403 (the session is kept). */
  protected onNotDeviceBound(_context: ExecutionContext): never {
    throw new ForbiddenException('This route requires a device-bound session (DBSC)');
  }

  protected getRequest(context: ExecutionContext): IncomingMessage {
    return context.switchToHttp().getRequest<IncomingMessage>();
  }

  protected getResponse(context: ExecutionContext): ServerResponse {
    return context.switchToHttp().getResponse<ServerResponse>();
  }

  /** The token the request presents: cookie first, then header. Malformed carriers are refused. */
  protected getToken(req: IncomingMessage, context: ExecutionContext): XemsPresentedToken | undefined {
    const lookup = this.transport.read(req);
    if (lookup.kind === 'malformed') return this.onUnauthorized('malformed', context);
    return lookup.kind === 'token' ? { token: lookup.token, via: lookup.via } : undefined;
  }

  /** @XemsSandbox() of the handler, else of the controller, else the module's default. */
  protected getSandbox(context: ExecutionContext): string {
    return (
      this.reflector.getAllAndOverride<string | undefined>(XEMS_SANDBOX_METADATA, [context.getHandler(), context.getClass()]) ??
      this.options.sandbox
    );
  }

  /**
   * The client the binding check compares with the session's binding: Express's `req.ip`
   * (which honours the app's `trust proxy` setting) and the User-Agent header.
   */
  protected getClient(req: IncomingMessage, _context: ExecutionContext): XemsClientInfo {
    return requestClient(req);
  }

  /** From the module's autoRotation and gracePeriod options (milliseconds). */
  protected getRotationPolicy(_context: ExecutionContext): XemsRotationPolicy {
    const { autoRotation, gracePeriod } = this.options;
    return {
      rotate: autoRotation !== false,
      graceMs: gracePeriod,
      minRotateIntervalMs: typeof autoRotation === 'number' ? autoRotation : 0,
    };
  }

  /** Refuses the request with 401. */
  protected onUnauthorized(_reason: XemsUnauthorizedReason, _context: ExecutionContext): never {
    throw new UnauthorizedException();
  }

  /** The sidecar cannot answer: 503 with Retry-After, never 500 and never a pass. */
  protected onUnavailable(_error: Error, context: ExecutionContext): never {
    throw serviceUnavailable(this.getResponse(context));
  }
}

import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type FreshAuthRequirement, isFreshEnough, stepUpChallenge } from './auth-freshness';
import { XEMS_REQUIRE_DEVICE_BOUND } from './device-bound/require-device-bound.decorator';
import { isGraphqlContext } from './graphql/graphql-context';
import { XEMS_GRAPHQL_CODES, XemsGraphqlFreshAuthRequiredError, graphqlUnavailable, inGraphqlForm } from './graphql/graphql-errors';
import { isBindingOn } from './options/binding.options';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { callPartsOf } from './platform/execution-context';
import type { XemsClientInfo, XemsHttpRequest, XemsHttpResponse } from './platform/http-platform';
import { RequestSessions, peekRequestState } from './request-session';
import type { XemsFreshAuthMetadata } from './require-fresh-auth.decorator';
import type { XemsResolvedSession } from './session.types';
import { TokenTransport, type XemsPresentedToken } from './token-transport';
import { XEMS_FRESH_AUTH_METADATA, XEMS_SANDBOX_METADATA } from './xems.constants';
import { isSidecarUnavailable, serviceUnavailable } from './xems.errors';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { type SessionLookup, type XemsRotationPolicy, XemsSessions } from './xems.sessions';
import { canActivateSocket } from './websocket/socket-guard';

export type { XemsRotationPolicy } from './xems.sessions';

/** Why a request was refused: no token, a malformed carrier, or a token the sidecar refused. */
export type XemsUnauthorizedReason = 'missing' | 'malformed' | 'invalid';

/** What a route's decorators ask of its session. */
interface RouteDemands {
  sandbox: string;
  deviceBound: boolean;
  freshAuth: FreshAuthRequirement | undefined;
}

/**
 * Protects a route with a session: reads the token (cookie first, then header), resolves it
 * in the route's sandbox (@XemsSandbox or the module's default), rotates it per autoRotation,
 * and attaches the session to the request (@Session()). The response carries the current
 * token on every path. Refusals: 401 (no, malformed, unknown, expired, revoked or reused
 * token; an authentication older than @RequireFreshAuth allows), 503 with Retry-After (sidecar
 * unavailable, timed out or overloaded). Running it twice for one request (a controller's
 * guard and @RequireFreshAuth's) resolves the token once.
 *
 * On a WebSocket gateway handler it checks the session the socket holds since its handshake
 * (XemsSockets.authenticate) by id: no token, no rotation, never reuse (src/websocket/).
 *
 * Every step is a protected method, so a subclass can change one without copying the rest.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  /** RouteDemands by handler, then controller (a handler may be inherited by several). */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteDemands>>();

  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) protected readonly options: ResolvedXemsOptions,
    protected readonly sessions: XemsSessions,
    protected readonly transport: TokenTransport,
    protected readonly requestSessions: RequestSessions,
    protected readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // A gateway handler: the socket's session, found at its handshake, is checked by id.
    if (context.getType() === 'ws') return canActivateSocket(context, this.getSandbox(context), this.sessions);
    const req = this.getRequest(context);
    const resolved = peekRequestState(req)?.presented && this.requestSessions.peek(req);
    if (resolved) return this.checkFreshAuth(resolved, context);
    // Before the token is resolved (and maybe rotated): a response that cannot carry the new token is refused first.
    const res = this.getResponse(context);
    const presented = this.getToken(req, context);
    if (!presented) return this.onUnauthorized('missing', context);
    const sandbox = this.getSandbox(context);
    const policy = this.getRotationPolicy(context);
    const lookup: SessionLookup = {
      rotate: policy.rotate,
      graceMs: policy.graceMs,
      minRotateIntervalMs: policy.minRotateIntervalMs,
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
    this.requestSessions.attach(req, res, session, presented);
    return this.checkFreshAuth(session, context);
  }

  /**
   * The route's demands on a resolved session: @RequireDeviceBound() (a device-bound session),
   * then @RequireFreshAuth (a recent enough authentication, by its methods).
   */
  protected checkFreshAuth(session: XemsResolvedSession, context: ExecutionContext): boolean {
    if (session.deviceBound !== true && this.requiresDeviceBound(context)) return this.onNotDeviceBound(context);
    const requirement = this.getFreshAuthRequirement(context);
    if (!requirement || isFreshEnough(session.auth, requirement, Date.now())) return true;
    return this.onStaleAuthentication(requirement, context);
  }

  /** @RequireDeviceBound() on the handler or its controller. */
  protected requiresDeviceBound(context: ExecutionContext): boolean {
    return this.routeDemands(context).deviceBound;
  }

  /** A route that requires a device-bound session, reached with another session: 403 (the session is kept). */
  protected onNotDeviceBound(_context: ExecutionContext): never {
    throw new ForbiddenException('This route requires a device-bound session (DBSC)');
  }

  /** @RequireFreshAuth() of the handler, else of the controller (its default age: the module's freshAuthMaxAge). */
  protected getFreshAuthRequirement(context: ExecutionContext): FreshAuthRequirement | undefined {
    return this.routeDemands(context).freshAuth;
  }

  /**
   * Refuses with 401, the stable code XEMS_FRESH_AUTH_REQUIRED and the RFC 9470 challenge in
   * WWW-Authenticate; the session stays (the response still carries its current token). In a
   * resolver: a GraphQL error whose extensions.code is XEMS_FRESH_AUTH_REQUIRED (with maxAge
   * and methods, as the HTTP body), never UNAUTHENTICATED, which clients take for a logout.
   */
  protected onStaleAuthentication(requirement: FreshAuthRequirement, context: ExecutionContext): never {
    const res = this.requestSessions.platform.nodeResponse(this.getResponse(context), 'SessionGuard');
    if (!res.headersSent) res.setHeader('WWW-Authenticate', stepUpChallenge(requirement));
    const maxAge = Math.floor(requirement.maxAgeMs / 1000);
    if (isGraphqlContext(context)) throw new XemsGraphqlFreshAuthRequiredError(maxAge, requirement.methods);
    throw new UnauthorizedException({
      statusCode: 401,
      error: 'Unauthorized',
      code: 'XEMS_FRESH_AUTH_REQUIRED',
      message: 'This action needs a more recent authentication: reauthenticate, then retry',
      maxAge,
      ...(requirement.methods.length > 0 && { methods: requirement.methods }),
    });
  }

  /**
   * The platform's request (Express's, Fastify's FastifyRequest; a resolver's from the GraphQL
   * context); another context type is refused (XemsUnsupportedContextError).
   */
  protected getRequest(context: ExecutionContext): XemsHttpRequest {
    return callPartsOf(context, 'SessionGuard').req;
  }

  /** The platform's response (Express's, Fastify's FastifyReply; a resolver's from the GraphQL context), which carries the token. */
  protected getResponse(context: ExecutionContext): XemsHttpResponse {
    return callPartsOf(context, 'SessionGuard').res;
  }

  /** The token the request presents: cookie first, then header. Malformed carriers are refused. */
  protected getToken(req: XemsHttpRequest, context: ExecutionContext): XemsPresentedToken | undefined {
    const lookup = this.transport.read(req);
    if (lookup.kind === 'malformed') return this.onUnauthorized('malformed', context);
    return lookup.kind === 'token' ? { token: lookup.token, via: lookup.via } : undefined;
  }

  /** @XemsSandbox() of the handler, else of the controller, else the module's default. */
  protected getSandbox(context: ExecutionContext): string {
    return this.routeDemands(context).sandbox;
  }

  /**
   * The route's decorators (@XemsSandbox, @RequireDeviceBound, @RequireFreshAuth), read once per
   * handler and controller: they are fixed once the classes are declared, and three reflector
   * reads on every request cost about 1 µs.
   */
  private routeDemands(context: ExecutionContext): RouteDemands {
    const handler = context.getHandler() as object | undefined;
    const controller = context.getClass() as object | undefined;
    // A context built by hand may lack either: read, never cache (a WeakMap key must be an object).
    if (typeof handler !== 'function' || typeof controller !== 'function') return this.readRouteDemands(handler, controller);
    let byController = this.routes.get(handler);
    let demands = byController?.get(controller);
    if (demands) return demands;
    demands = this.readRouteDemands(handler, controller);
    if (!byController) this.routes.set(handler, (byController = new WeakMap()));
    byController.set(controller, demands);
    return demands;
  }

  private readRouteDemands(handler: object | undefined, controller: object | undefined): RouteDemands {
    const targets = [handler, controller] as Array<() => void>;
    const fresh = this.reflector.getAllAndOverride<XemsFreshAuthMetadata | undefined>(XEMS_FRESH_AUTH_METADATA, targets);
    return {
      sandbox: this.reflector.getAllAndOverride<string | undefined>(XEMS_SANDBOX_METADATA, targets) ?? this.options.sandbox,
      deviceBound: this.reflector.getAllAndOverride<boolean | undefined>(XEMS_REQUIRE_DEVICE_BOUND, targets) === true,
      freshAuth: fresh && { maxAgeMs: fresh.maxAgeMs ?? this.options.freshAuthMaxAge, methods: fresh.methods },
    };
  }

  /**
   * The client the binding check compares with the session's binding: the platform's `req.ip`
   * (which honours Express's `trust proxy` setting, or Fastify's `trustProxy` option) and the
   * User-Agent header.
   */
  protected getClient(req: XemsHttpRequest, _context: ExecutionContext): XemsClientInfo {
    return this.requestSessions.platform.client(req);
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

  /** Refuses the request with 401 (in a resolver: a GraphQL error with code UNAUTHENTICATED). */
  protected onUnauthorized(_reason: XemsUnauthorizedReason, context: ExecutionContext): never {
    if (isGraphqlContext(context)) throw inGraphqlForm(new UnauthorizedException(), XEMS_GRAPHQL_CODES.unauthenticated);
    throw new UnauthorizedException();
  }

  /**
   * The sidecar cannot answer: 503 with Retry-After, never 500 and never a pass (in a resolver:
   * a GraphQL error with code SERVICE_UNAVAILABLE).
   */
  protected onUnavailable(_error: Error, context: ExecutionContext): never {
    const res = this.requestSessions.platform.nodeResponse(this.getResponse(context), 'SessionGuard');
    throw isGraphqlContext(context) ? graphqlUnavailable(res) : serviceUnavailable(res);
  }
}

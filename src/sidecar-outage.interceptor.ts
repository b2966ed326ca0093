import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, type Observer } from 'rxjs';
import { installExpressHelpers } from './express-helpers';
import { isGraphqlContext } from './graphql/graphql-context';
import { graphqlUnavailable } from './graphql/graphql-errors';
import { callPartsIfSupported } from './platform/execution-context';
import type { XemsHttpRequest } from './platform/http-platform';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { RequestSessions, requestSessionOf } from './request-session';
import { xemsRequestContext } from './xems.context';
import { isSidecarUnavailable, serviceUnavailable } from './xems.errors';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { XemsService } from './xems.service';

/**
 * Registered app-wide by XemsModule (nothing to add by hand). Around every HTTP handler (and
 * GraphQL resolver: the outage in GraphQL form, code SERVICE_UNAVAILABLE) it
 * turns a sidecar outage raised inside the handler (an XemsService call: a login, a value read)
 * into a 503 with Retry-After and no stack, before any exception filter of the app sees it;
 * that is all it does for a request without a session. For a request that holds a session
 * (SessionGuard ran) it also:
 * - runs the handler with the request in an AsyncLocalStorage (unless `requestContext: false`),
 *   so XemsService knows the caller's session without being given the request (listSessions
 *   marks it, updateSession keeps @Session() in step);
 * - with the Redis store, lets a response that would leave late fetch the current token first
 *   (RequestSessions.refreshIfLate) when the module writes the response (a returned value or
 *   an exception).
 * With `expressHelpers: true` it adds `res.xLink()` and `res.xUnlink()` (XemsResponseHelpers).
 */
@Injectable()
export class SidecarOutageInterceptor implements NestInterceptor {
  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) private readonly options: Pick<ResolvedXemsOptions, 'requestContext' | 'expressHelpers'>,
    private readonly requestSessions: RequestSessions,
    private readonly xems: XemsService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const graphql = isGraphqlContext(context);
    const parts = callPartsIfSupported(context);
    if (!parts && !graphql) return next.handle();
    const res = parts && this.requestSessions.platform.nodeResponse(parts.res, 'SidecarOutageInterceptor');
    const unavailable = graphql ? () => graphqlUnavailable(res) : () => serviceUnavailable(res);
    // A resolver whose GraphQL context lacks the request or response: outages in GraphQL form, nothing else.
    if (!parts) return new Observable((subscriber) => next.handle().subscribe(outagesMapped(subscriber, unavailable)));
    const { req } = parts;
    if (this.options.expressHelpers && !graphql) installExpressHelpers(this.xems, req, parts.res);
    const withSession = requestSessionOf(req) !== undefined;
    const withContext = withSession && this.options.requestContext;
    const refresh = withSession && this.requestSessions.needsRefresh(req);
    // One Observable that subscribes to the handler and maps its errors (cheaper per request
    // than pipe(catchError)); with the context, next.handle() is called inside run(): Nest binds
    // the handler to the async context current then.
    return new Observable((subscriber) => {
      const observer = refresh ? this.refreshing(subscriber, req, unavailable) : outagesMapped(subscriber, unavailable);
      const subscribe = () => next.handle().subscribe(observer);
      return withContext ? xemsRequestContext.run(req, subscribe) : subscribe();
    });
  }

  /** Passes the handler's outcome on once a late response has fetched its current token. */
  private refreshing(subscriber: Observer<unknown>, req: XemsHttpRequest, unavailable: () => Error): Observer<unknown> {
    const mapped = outagesMapped(subscriber, unavailable);
    // Once, before the first notification; later ones queue behind it, in order.
    let ready: Promise<void> | undefined;
    const after = (forward: () => void) => {
      ready ??= this.requestSessions.refreshIfLate(req);
      void ready.then(forward, forward);
    };
    return {
      next: (value) => after(() => mapped.next(value)),
      error: (error: unknown) => after(() => mapped.error(error)),
      complete: () => after(() => mapped.complete()),
    };
  }
}

/** Forwards to `subscriber`, a sidecar outage turned into `unavailable()` (the 503, or its GraphQL form). */
function outagesMapped(subscriber: Observer<unknown>, unavailable: () => Error): Observer<unknown> {
  return {
    next: (value) => subscriber.next(value),
    error: (error: unknown) => subscriber.error(isSidecarUnavailable(error) ? unavailable() : error),
    complete: () => subscriber.complete(),
  };
}

/** @deprecated Renamed SidecarOutageInterceptor (it never rotated tokens: SessionGuard and the response hook do). */
export const TokenRotationInterceptor = SidecarOutageInterceptor;
/** @deprecated Renamed SidecarOutageInterceptor. */
export type TokenRotationInterceptor = SidecarOutageInterceptor;

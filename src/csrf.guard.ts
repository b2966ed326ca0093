import { timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, Optional } from '@nestjs/common';
import { callPartsOf } from './platform/execution-context';
import type { XemsHttpRequest } from './platform/http-platform';
import { HttpPlatformHost } from './platform/platform-host';
import { graphqlOperation, isGraphqlContext } from './graphql/graphql-context';
import { XEMS_GRAPHQL_CODES, inGraphqlForm } from './graphql/graphql-errors';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { requestSessionOf } from './request-session';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';

/** Why CsrfGuard refused a request. */
export type XemsCsrfFailure = 'no-session' | 'missing-token' | 'wrong-token' | 'bad-origin';

/** Methods that must not change state; CsrfGuard lets them through. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Synchronizer-token CSRF protection bound to the session. Use it after SessionGuard:
 * `@UseGuards(SessionGuard, CsrfGuard)`. On unsafe methods (POST, PUT, PATCH, DELETE...) the
 * request must carry the session's CSRF token (XemsService.csrfToken(req), handed to the page)
 * in the `x-csrf-token` header or a `_csrf` body field (names set by the `csrf` option); it is
 * compared in constant time. With `csrf.origins`, the request must also come from one of those
 * origins. Missing or wrong: 403. The token is derived from the session's secret id by the
 * sidecar, so it survives token rotation and changes with regenerate().
 *
 * Every step is a protected method a subclass can change.
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) protected readonly options: Pick<ResolvedXemsOptions, 'csrf'>,
    @Optional() protected readonly platforms: HttpPlatformHost = new HttpPlatformHost(),
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = callPartsOf(context, 'CsrfGuard').req;
    if (this.isSafe(req, context)) return true;
    const expected = requestSessionOf(req)?.csrfToken;
    if (!expected) return this.onForbidden('no-session', context);
    const origins = this.options.csrf.origins;
    if (origins && !this.originAllowed(req, origins, context)) return this.onForbidden('bad-origin', context);
    const presented = this.getToken(req, context);
    if (presented === undefined) return this.onForbidden('missing-token', context);
    if (!this.matches(presented, expected)) return this.onForbidden('wrong-token', context);
    return true;
  }

  /**
   * GET, HEAD, OPTIONS and TRACE pass without a token. In a resolver the operation decides, not
   * the method (GraphQL clients POST queries too): a query passes, a mutation needs the token.
   */
  protected isSafe(req: XemsHttpRequest, context: ExecutionContext): boolean {
    if (isGraphqlContext(context)) return graphqlOperation(context) === 'query';
    return SAFE_METHODS.has((req.method ?? 'GET').toUpperCase());
  }

  /** The token from the header, else from the platform's parsed body's field; undefined when absent or not a string. */
  protected getToken(req: XemsHttpRequest, _context: ExecutionContext): string | undefined {
    const { header, field } = this.options.csrf;
    const fromHeader = req.headers[header];
    if (typeof fromHeader === 'string' && fromHeader !== '') return fromHeader;
    if (Array.isArray(fromHeader)) return undefined; // sent twice: ambiguous
    const body = this.platforms.platform.body(req);
    if (body !== null && typeof body === 'object' && Object.prototype.hasOwnProperty.call(body, field)) {
      const value = (body as Record<string, unknown>)[field];
      if (typeof value === 'string' && value !== '') return value;
    }
    return undefined;
  }

  /** Constant-time comparison (the lengths are public: every CSRF token has the same length). */
  protected matches(presented: string, expected: string): boolean {
    const a = Buffer.from(presented, 'utf8');
    const b = Buffer.from(expected, 'utf8');
    if (a.length !== b.length) {
      timingSafeEqual(b, b);
      return false;
    }
    return timingSafeEqual(a, b);
  }

  /** The request's Origin (or, when a browser sent none, the origin of its Referer) is in the list. */
  protected originAllowed(req: XemsHttpRequest, origins: string[], _context: ExecutionContext): boolean {
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== '' && origin !== 'null') return origins.includes(origin.toLowerCase().replace(/\/$/, ''));
    const referer = req.headers.referer;
    if (typeof referer !== 'string' || referer === '') return false;
    try {
      return origins.includes(new URL(referer).origin);
    } catch {
      return false;
    }
  }

  /** Refuses the request with 403 (in a resolver: a GraphQL error with code FORBIDDEN). */
  protected onForbidden(_reason: XemsCsrfFailure, context: ExecutionContext): never {
    const error = new ForbiddenException('Invalid or missing CSRF token');
    throw isGraphqlContext(context) ? inGraphqlForm(error, XEMS_GRAPHQL_CODES.forbidden) : error;
  }
}

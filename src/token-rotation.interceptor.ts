import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { installExpressHelpers } from './express-helpers';
import { isSidecarUnavailable, serviceUnavailable } from './session.guard';
import { xemsRequestContext } from './xems.context';
import { XemsService } from './xems.service';

/**
 * Registered globally by XemsModule (nothing to add by hand). Around every HTTP handler it:
 * - makes sure a session found or created in this request sends its current token on the
 *   response (the on-headers hook covers returned values, thrown exceptions, redirects,
 *   streamed files and @Res() handlers alike);
 * - unless `requestContext: false`, runs the handler with the request in an AsyncLocalStorage, so
 *   XemsService knows the current session (listSessions marks it, updateSession keeps
 *   @Session() in step) without being given the request;
 * - turns a sidecar outage raised inside the handler (XemsService calls) into a 503 with
 *   Retry-After instead of a 500;
 * - with `expressHelpers: true`, adds `res.xLink()` and `res.xUnlink()` (XemsResponseHelpers).
 */
@Injectable()
export class TokenRotationInterceptor implements NestInterceptor {
  constructor(private readonly xems: XemsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    const res = http.getResponse<ServerResponse>();
    if (this.xems.transport.peek(req)?.session) this.xems.transport.arm(req, res);
    if (this.xems.options.expressHelpers) installExpressHelpers(this.xems, req, res);
    // One Observable that subscribes to the handler and maps its errors (cheaper per request
    // than pipe(catchError)); with requestContext, next.handle() is called inside run(): Nest
    // binds the handler to the async context current then.
    const withContext = this.xems.options.requestContext;
    return new Observable((subscriber) => {
      const subscribe = () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => subscriber.error(isSidecarUnavailable(error) ? serviceUnavailable(res) : error),
          complete: () => subscriber.complete(),
        });
      return withContext ? xemsRequestContext.run(req, subscribe) : subscribe();
    });
  }
}

import { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { XemsService } from './xems.service';
/**
 * Registered globally by XemsModule (nothing to add by hand). Around every HTTP handler it:
 * - makes sure a session found or created in this request sends its current token on the
 *   response (the on-headers hook covers returned values, thrown exceptions, redirects,
 *   streamed files and @Res() handlers alike);
 * - runs the handler with the request in an AsyncLocalStorage, so XemsService knows the
 *   current session (listSessions marks it, updateSession keeps @Session() in step);
 * - turns a sidecar outage raised inside the handler (XemsService calls) into a 503 with
 *   Retry-After instead of a 500.
 */
export declare class TokenRotationInterceptor implements NestInterceptor {
    private readonly xems;
    constructor(xems: XemsService);
    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown>;
}

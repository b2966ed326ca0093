import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';
import { XemsService } from '../../src';

/** Response header telling the page "this request rotated your token" (the page counts them). */
export const ROTATED_HEADER = 'X-Token-Rotated';

/**
 * Marks the responses whose request rotated the session token. Interceptors run after guards,
 * so SessionGuard has resolved the session by now. With 30 concurrent requests on one token,
 * one rotates and the others (inside the grace window) only receive the new token, so only one
 * response says so. The page never sees the token itself.
 */
@Injectable()
export class RotationHeader implements NestInterceptor {
  constructor(private readonly xems: XemsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    if (this.xems.getSessionContext(http.getRequest<Request>())?.rotated) {
      http.getResponse<Response>().setHeader(ROTATED_HEADER, '1');
    }
    return next.handle();
  }
}

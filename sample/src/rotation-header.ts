import { Injectable, NestMiddleware, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Subscription } from 'rxjs';
import { XemsService } from '../../src';

/** Response header telling the page "this request rotated your token" (the page counts them). */
export const ROTATED_HEADER = 'X-Token-Rotated';

/** The response of the request being handled, for code running in its async context. */
const currentResponse = new AsyncLocalStorage<Response>();

/** Runs the rest of the request inside `currentResponse`, so RotationHeader can find it. */
@Injectable()
export class TrackResponseMiddleware implements NestMiddleware {
  use(_req: Request, res: Response, next: NextFunction): void {
    currentResponse.run(res, next);
  }
}

/**
 * XemsService emits `session.rotated` synchronously from inside resolveSession, that is, in the
 * async context of the request whose guard performed the rotation. Marking that request's
 * response makes the count exact: with 30 concurrent requests on one token, one rotates and the
 * others (inside the grace window) only receive the new token, so only one response says so.
 * The page never sees the token itself.
 */
@Injectable()
export class RotationHeader implements OnModuleInit, OnModuleDestroy {
  private subscription?: Subscription;

  constructor(private readonly xems: XemsService) {}

  onModuleInit(): void {
    this.subscription = this.xems.events$.subscribe((event) => {
      if (event.type !== 'session.rotated') return;
      const res = currentResponse.getStore();
      if (res && !res.headersSent) res.setHeader(ROTATED_HEADER, '1');
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }
}

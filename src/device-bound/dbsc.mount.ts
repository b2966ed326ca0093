import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { XemsConfigError } from '../xems.errors';
import { XEMS_RESOLVED_OPTIONS } from '../xems.internal-constants';
import type { ResolvedXemsOptions } from '../xems.resolved-options';
import { DbscEndpoints } from './dbsc.endpoints';

/**
 * Mounts the DBSC endpoints (deviceBound on) on the application's HTTP server when the module
 * starts: an Express middleware that serves the two paths and passes everything else on. Nest
 * has registered its routes by then, so the endpoints sit behind them and before the 404
 * handler. Other platforms get a clear start-up error rather than endpoints that never answer.
 */
@Injectable()
export class DbscMount implements OnModuleInit {
  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) private readonly options: ResolvedXemsOptions,
    private readonly endpoints: DbscEndpoints,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    if (!this.options.deviceBound) return;
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || adapter.getType() !== 'express') {
      throw new XemsConfigError(
        'deviceBound',
        `needs an Express HTTP application to mount its endpoints (found: ${adapter ? adapter.getType() : 'no HTTP adapter'})`,
        'Use @nestjs/platform-express, or turn deviceBound off.',
      );
    }
    adapter.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (!this.endpoints.handle(req, res)) next();
    });
  }
}

import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { XemsConfigError } from '../xems.errors';
import { XEMS_RESOLVED_OPTIONS } from '../xems.internal-constants';
import type { ResolvedXemsOptions } from '../xems.resolved-options';
import { DbscEndpoints } from './dbsc.endpoints';

/** What the mount uses of Fastify's request and reply (the Node objects under them). */
interface FastifyHookParts {
  raw: IncomingMessage;
}
interface FastifyHookReply {
  raw: ServerResponse;
  hijack(): void;
}
interface FastifyHooks {
  addHook(name: 'onRequest', hook: (request: FastifyHookParts, reply: FastifyHookReply) => Promise<unknown>): unknown;
}

/**
 * Mounts the DBSC endpoints (deviceBound on) on the application's HTTP server when the module
 * starts, ahead of the app's routes and body parsing (the endpoints read headers only):
 * on Express a middleware that serves the two paths and passes everything else on; on Fastify
 * an onRequest hook that takes over (hijacks) the reply of those two paths. Another HTTP
 * adapter gets a clear start-up error rather than endpoints that never answer.
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
    const type = adapter?.getType();
    if (adapter && type === 'express') return this.mountOnExpress(adapter);
    if (adapter && type === 'fastify') return this.mountOnFastify(adapter.getInstance<FastifyHooks>());
    throw new XemsConfigError(
      'deviceBound',
      `needs an Express or Fastify HTTP application to mount its endpoints (found: ${type ?? 'no HTTP adapter'})`,
      'Use @nestjs/platform-express or @nestjs/platform-fastify, or turn deviceBound off.',
    );
  }

  protected mountOnExpress(adapter: {
    use(handler: (req: IncomingMessage, res: ServerResponse, next: () => void) => void): unknown;
  }): void {
    adapter.use((req, res, next) => {
      if (!this.endpoints.handle(req, res)) next();
    });
  }

  protected mountOnFastify(fastify: FastifyHooks): void {
    fastify.addHook('onRequest', async (request, reply) => {
      // Fastify's reply is left alone once hijacked: the endpoint writes the Node response.
      if (this.endpoints.handle(request.raw, reply.raw)) reply.hijack();
    });
  }
}

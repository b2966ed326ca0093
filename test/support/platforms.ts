import type { INestApplication, LoggerService, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

/** The HTTP platforms every session e2e suite runs on (`for (const platform of PLATFORMS)`). */
export type TestPlatform = 'express' | 'fastify';
export const PLATFORMS: readonly TestPlatform[] = ['express', 'fastify'];

/**
 * What a handler that writes the response itself (`@Res()`) uses, the same on both platforms:
 * Express's `res.status(n).send(obj)` and Fastify's `reply.status(n).send(obj)` both answer JSON.
 */
export interface TestResponse {
  status(code: number): TestResponse;
  send(body: unknown): unknown;
  header(name: string, value: string): unknown;
}

export interface CreateOptions {
  logger?: LoggerService | false | ('error' | 'warn' | 'log')[];
  /** Honour X-Forwarded-For (Express's 'trust proxy', Fastify's trustProxy option). */
  trustProxy?: boolean;
}

/** A Nest app of `module` on `platform` (not listening yet). */
export async function createPlatformApp(module: Type, platform: TestPlatform, options: CreateOptions = {}): Promise<INestApplication> {
  const logger = options.logger === undefined ? (process.env.XEMS_TEST_LOGS ? undefined : ['error' as const]) : options.logger;
  if (platform === 'fastify') {
    return NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter({ trustProxy: options.trustProxy ?? false }), { logger });
  }
  const app = await NestFactory.create<NestExpressApplication>(module, { logger });
  if (options.trustProxy) app.set('trust proxy', true);
  return app;
}

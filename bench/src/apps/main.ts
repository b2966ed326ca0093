/**
 * One benchmark app per process: `node build/apps/main.js --app <id> --port <n> [--redis-port <n>]`.
 * Prints READY once listening on 127.0.0.1 and closes the app when its stdin ends (the harness
 * holds the other end, so an app never outlives the harness by more than its close).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { XEMS_REDIS_IDENTITY, XEMS_REDIS_KEY_PREFIX, XEMS_REDIS_SECRET_ENV, type AppId } from '../config';

interface Built {
  app: INestApplication;
  close: () => Promise<void>;
}

const LOGGER = ['error', 'warn'] as const;

async function build(id: AppId, redisPort: number | undefined, cluster: string[] | undefined): Promise<Built> {
  const noop = async (): Promise<void> => {};
  switch (id) {
    case 'bare': {
      const { BareAppModule } = await import('./bare.app');
      return { app: await NestFactory.create(BareAppModule, { logger: [...LOGGER] }), close: noop };
    }
    case 'redis':
    case 'redis-2':
    case 'memory': {
      const { ExpressSessionAppModule, useExpressSession } = await import('./express-session.app');
      const app = await NestFactory.create(ExpressSessionAppModule, { logger: [...LOGGER] });
      return { app, close: await useExpressSession(app, id === 'memory' ? 'memory' : 'redis', redisPort) };
    }
    case 'xems':
    case 'xems-norotate': {
      const { createXemsApp } = await import('./xems.app');
      return { app: await createXemsApp(id === 'xems' ? {} : { autoRotation: false }, [...LOGGER]), close: noop };
    }
    case 'xems-redis': {
      if (!redisPort && !cluster) throw new Error('the xems-redis app needs --redis-port or --redis-cluster');
      const secret = process.env[XEMS_REDIS_SECRET_ENV];
      if (!secret) throw new Error(`the xems-redis app needs its shared secret in ${XEMS_REDIS_SECRET_ENV}`);
      // Read once, then gone from this process's environment (the sidecar's is a whitelist anyway).
      delete process.env[XEMS_REDIS_SECRET_ENV];
      const { createXemsApp } = await import('./xems.app');
      const options = {
        // --redis-cluster (the capacity check): the same app on a Redis Cluster's masters.
        store: cluster
          ? { type: 'redis' as const, cluster, keyPrefix: XEMS_REDIS_KEY_PREFIX }
          : { type: 'redis' as const, url: `redis://127.0.0.1:${redisPort}`, keyPrefix: XEMS_REDIS_KEY_PREFIX },
        persistence: { secret },
        hardwareBinding: { id: XEMS_REDIS_IDENTITY },
      };
      return { app: await createXemsApp(options, [...LOGGER]), close: noop };
    }
    default:
      throw new Error(`unknown app ${String(id)}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { app: { type: 'string' }, port: { type: 'string' }, 'redis-port': { type: 'string' }, 'redis-cluster': { type: 'string' } },
  });
  const id = values.app as AppId;
  const port = Number(values.port);
  const redisPort = values['redis-port'] ? Number(values['redis-port']) : undefined;
  const cluster = values['redis-cluster'] ? values['redis-cluster'].split(',') : undefined;
  const { app, close } = await build(id, redisPort, cluster);
  await app.listen(port, '127.0.0.1');
  process.stdout.write('READY\n');

  let closing = false;
  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    try {
      await app.close();
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.stdin.on('end', () => void shutdown());
  process.stdin.on('error', () => void shutdown());
  process.stdin.resume();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { randomBytes } from 'node:crypto';
import type { XemsModuleOptions } from '../../src';
import { type RedisServer, startRedis } from './redis-servers';

/**
 * The two stores every rotation e2e suite runs against: the sidecar's own memory and a real
 * redis-server (started per suite, so that a test may stop, slow or inspect it).
 */
export type StoreKind = 'memory' | 'redis';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'redis'];

/** Module options that keep the sessions in Redis at `url`: a fresh shared secret, no machine identity. */
export function redisStoreOptions(url: string): XemsModuleOptions {
  return {
    store: { type: 'redis', url },
    persistence: { secret: `base64:${randomBytes(32).toString('base64')}` },
    hardwareBinding: false,
  };
}

export interface StoreUnderTest {
  kind: StoreKind;
  /** The store's part of the module options. */
  options: XemsModuleOptions;
  /** The Redis server, for the redis kind. */
  redis?: RedisServer;
  stop(): Promise<void>;
}

/** Starts what the store needs (a redis-server for the redis kind). */
export async function storeUnderTest(kind: StoreKind): Promise<StoreUnderTest> {
  if (kind === 'memory') return { kind, options: { store: { type: 'memory' } }, stop: async () => undefined };
  const redis = await startRedis();
  return { kind, options: redisStoreOptions(redis.url), redis, stop: () => redis.stop() };
}

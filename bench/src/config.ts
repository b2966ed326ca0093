/**
 * Everything the benchmark compares, and how long it measures, in one place.
 * The numbers follow issue 7: 50 keep-alive connections, 2 s warm-up, 10 s per run, 3 runs.
 */

export type AppId = 'bare' | 'redis' | 'memory' | 'xems' | 'xems-norotate' | 'xems-redis' | 'redis-2';

export interface AppSpec {
  id: AppId;
  /** The number the issue gives the app (1..5); ratios are "vs app 2" and "vs app 1". */
  no: number;
  title: string;
  /** Name of the session cookie, or null for the app without sessions. */
  cookie: string | null;
  /** The app talks to the benchmark's redis-server. */
  usesRedis: boolean;
  /** The app starts an xems sidecar (a child process of the app). */
  usesSidecar: boolean;
  /**
   * How many Node processes serve the app (issue 8: 2 instances sharing Redis). Each load-client
   * connection alternates them request by request, so every other request crosses instances.
   */
  instances: number;
}

export const APPS: readonly AppSpec[] = [
  { id: 'bare', no: 1, title: 'bare NestJS', cookie: null, usesRedis: false, usesSidecar: false, instances: 1 },
  {
    id: 'redis',
    no: 2,
    title: 'express-session + connect-redis',
    cookie: 'connect.sid',
    usesRedis: true,
    usesSidecar: false,
    instances: 1,
  },
  { id: 'memory', no: 3, title: 'express-session MemoryStore', cookie: 'connect.sid', usesRedis: false, usesSidecar: false, instances: 1 },
  {
    id: 'xems',
    no: 4,
    title: 'nestjs-xems, rotation every request',
    cookie: 'xems_token',
    usesRedis: false,
    usesSidecar: true,
    instances: 1,
  },
  {
    id: 'xems-norotate',
    no: 5,
    title: 'nestjs-xems, autoRotation false',
    cookie: 'xems_token',
    usesRedis: false,
    usesSidecar: true,
    instances: 1,
  },
  // Issue 8: two instances sharing the benchmark's redis-server. App 6's sidecars keep their
  // records in Redis (store type 'redis'); its CPU counts both apps, both sidecars and redis-server.
  {
    id: 'xems-redis',
    no: 6,
    title: 'nestjs-xems on Redis, 2 instances',
    cookie: 'xems_token',
    usesRedis: true,
    usesSidecar: true,
    instances: 2,
  },
  {
    id: 'redis-2',
    no: 7,
    title: 'express-session + connect-redis, 2 instances',
    cookie: 'connect.sid',
    usesRedis: true,
    usesSidecar: false,
    instances: 2,
  },
];

/** Key prefix of app 6's records in the shared redis-server (connect-redis uses 'sess:'). */
export const XEMS_REDIS_KEY_PREFIX = 'bench:';
/** App 6's deployment identity (hardwareBinding: { id }), the same on both instances. */
export const XEMS_REDIS_IDENTITY = 'bench';
/** Environment variable that carries app 6's shared secret (random per run) to its two processes. */
export const XEMS_REDIS_SECRET_ENV = 'XEMS_BENCH_SECRET';

export interface ScenarioSpec {
  /** Stable key used in tables: "<app>:<path>". */
  key: string;
  app: AppId;
  path: '/me' | '/me-rotate';
  /** Every answer must carry a new session cookie (true) or never change it (false). */
  rotates: boolean;
  /**
   * Each user keeps to one instance (as behind a sticky balancer) instead of alternating them
   * request by request; labelled `<no>s` (app 6s: app 6's processes, sticky users).
   */
  sticky?: boolean;
}

export const SCENARIOS: readonly ScenarioSpec[] = [
  { key: 'bare:/me', app: 'bare', path: '/me', rotates: false },
  { key: 'redis:/me', app: 'redis', path: '/me', rotates: false },
  { key: 'redis:/me-rotate', app: 'redis', path: '/me-rotate', rotates: true },
  { key: 'memory:/me', app: 'memory', path: '/me', rotates: false },
  { key: 'memory:/me-rotate', app: 'memory', path: '/me-rotate', rotates: true },
  { key: 'xems:/me', app: 'xems', path: '/me', rotates: true },
  { key: 'xems-norotate:/me', app: 'xems-norotate', path: '/me', rotates: false },
  { key: 'xems-redis:/me', app: 'xems-redis', path: '/me', rotates: true },
  { key: 'xems-redis:/me sticky', app: 'xems-redis', path: '/me', rotates: true, sticky: true },
  { key: 'redis-2:/me-rotate', app: 'redis-2', path: '/me-rotate', rotates: true },
  { key: 'redis-2:/me', app: 'redis-2', path: '/me', rotates: false },
];

export interface Timing {
  runs: number;
  warmupMs: number;
  durationMs: number;
  /** Micro-benchmark: rounds (median reported), warm-up and measurement per operation and depth. */
  microRounds: number;
  microWarmupMs: number;
  microDurationMs: number;
  /** Sessions / values held for the memory comparison (and loaded from the vault). */
  memoryEntries: number;
  /** Vault load: how many times the sidecar is restarted on the filled vault (median reported). */
  vaultReloads: number;
}

export const FULL: Timing = {
  runs: 3,
  warmupMs: 2000,
  durationMs: 10000,
  microRounds: 3,
  microWarmupMs: 500,
  microDurationMs: 3000,
  memoryEntries: 1_000_000,
  vaultReloads: 3,
};

/** `--quick`: a smoke check for CI (completes, every app answers correctly), never a speed. */
export const QUICK: Timing = {
  runs: 1,
  warmupMs: 500,
  durationMs: 3000,
  microRounds: 1,
  microWarmupMs: 200,
  microDurationMs: 500,
  memoryEntries: 20_000,
  vaultReloads: 1,
};

export const CONNECTIONS = 50;
export const MICRO_DEPTHS = [1, 16, 256] as const;
/** The micro-benchmark's floor (raw-floor PING) is measured at the depth of its bars only. */
export const FLOOR_DEPTH = 16;
/** Size of the session data and of the Redis values in the micro and memory benchmarks. */
export const VALUE_BYTES = 256;

/**
 * The bars of issue 18 (ratios measured side by side in the same run), and issue 7's memory and
 * vault bars, which still stand.
 */
export const BARS = {
  /** App 4 `/me` req/s at least this times app 1 (bare) `/me`. */
  rotateVsBare: 0.85,
  /** App 4 `/me` req/s at least this times app 2 `/me-rotate`. */
  rotateVsRedisRotate: 1.5,
  /** App 4 `/me` p99 at most this times app 1's p99. */
  p99VsBare: 1.25,
  /** redis-server CPU per request of app 6 `/me` at most this times app 7 `/me-rotate`'s. */
  redisCpuVsConnectRedis: 1.0,
  /** Sidecar CPU per request of app 6 (Redis store) at most this times app 4's (memory store). */
  redisSidecarCpuVsMemory: 3,
  /** App 6 `/me` req/s at least this times app 7 `/me-rotate`. */
  sharedVsConnectRedis: 1.5,
  /** Micro, 16 in flight: resolve+rotate ops/s at least this times the raw-floor PING's. */
  microRotateVsFloor: 0.8,
  /** Micro, 16 in flight: Node CPU per resolve+rotate at most this times the raw-floor PING's. */
  microNodeCpuVsFloor: 1.5,
  /** Issue 7: sidecar RSS at most this times redis-server's for the same entries. */
  memoryVsRedis: 1.2,
  /** Issue 4: loading 1 M sessions from the vault at start takes under 3 s. */
  vaultLoadMs: 3000,
} as const;

/** The user every session app stores at login; the bare app answers a fixed anonymous one. */
export function benchUser(userId: string): { userId: string; name: string; roles: string[] } {
  return { userId, name: `Bench user ${userId}`, roles: ['user', 'reader'] };
}

import { parseDuration, type XemsDuration } from '../duration.util';
import { identityOption, parseSecretOption, type XemsPersistenceOptions } from '../persistence/persistence.options';
import { SECRET_HINT, type VaultSecret } from '../persistence/vault-secret';
import type { Resolved } from '../options/resolved';
import { XemsConfigError } from '../xems.errors';
import { checkRedisUrl } from './redis-url';

/** The defaults of a Redis store's own fields. */
export const REDIS_STORE_DEFAULTS = { keyPrefix: 'xems:', timeout: '1s' } as const;

interface XemsRedisCommon {
  type: 'redis';
  /** Prefix of every key the sidecars write. Default `'xems:'`. One prefix per deployment. */
  keyPrefix?: string;
  /**
   * Bound on each store operation (all its Redis round trips); past it the request gets a 503.
   * Default `'1s'`; must be shorter than `sidecar.requestTimeout`.
   */
  timeout?: XemsDuration;
}

/**
 * One Redis or Valkey server (or a proxy in front of a primary): `redis://[user:password@]host:port[/db]`,
 * `rediss://` for TLS. `undefined` is accepted by the type (`url: process.env.REDIS_URL`) and
 * refused at start with an XemsConfigError naming `store.url`.
 */
export interface XemsRedisServerStore extends XemsRedisCommon {
  url: string | undefined;
  cluster?: never;
}

/** A Redis Cluster (or Valkey Cluster): the URLs of some of its nodes; the others are discovered. */
export interface XemsRedisClusterStore extends XemsRedisCommon {
  cluster: string[];
  url?: never;
}

/**
 * Where the sidecar keeps records: in its own memory (default, the fast path; each application
 * instance has its own sessions) or in Redis/Valkey, shared by every instance. With Redis, the
 * records' key derives from `persistence.secret` (the same on every instance) and
 * `hardwareBinding: { id }` (one identity for the deployment).
 */
export type XemsStoreOptions = { type: 'memory' } | XemsRedisServerStore | XemsRedisClusterStore;

/** The store option after validation. */
export type ResolvedStore =
  | { type: 'memory' }
  | {
      type: 'redis';
      url?: string;
      cluster?: string[];
      keyPrefix: string;
      timeoutMs: number;
      /** The shared secret (persistence.secret); prints as "[vault secret]". */
      secret: VaultSecret;
      /** The deployment identity (hardwareBinding.id), or null (hardwareBinding: false). */
      identity: Buffer | null;
    };

const KEY_PREFIX = /^[A-Za-z0-9._:-]{0,64}$/;

const BINDING_HINT =
  "Pass hardwareBinding: { id: '<deployment name>' } with the same id on every instance (e.g. 'shop-production'), or hardwareBinding: false.";

function fail(field: string, problem: string, hint: string): never {
  throw new XemsConfigError(field, problem, hint);
}

/** The `store` object's own fields checked: its type, known keys, URL(s), prefix and timeout. */
function checkRedisFields(
  store: Record<string, unknown>,
  requestTimeoutMs: number,
): Pick<Extract<ResolvedStore, { type: 'redis' }>, 'url' | 'cluster' | 'keyPrefix' | 'timeoutMs'> {
  if (!('url' in store) && store.cluster === undefined) {
    fail(
      'store',
      'of type redis needs exactly one of url (one server) and cluster (the nodes of a Redis Cluster)',
      "Use { type: 'redis', url: 'redis://host:6379' } or { type: 'redis', cluster: ['redis://node1:7000', 'redis://node2:7000'] }.",
    );
  }
  if ('url' in store && store.cluster !== undefined) {
    fail(
      'store',
      'of type redis needs exactly one of url (one server) and cluster (the nodes of a Redis Cluster)',
      'Keep url for one server, or cluster for the nodes of a Redis Cluster.',
    );
  }
  let url: string | undefined;
  let cluster: string[] | undefined;
  if ('url' in store) url = checkRedisUrl('store.url', store.url, false);
  else {
    if (!Array.isArray(store.cluster) || store.cluster.length === 0) {
      fail('store.cluster', 'must be a non-empty array of redis:// URLs', "Use e.g. ['redis://node1:7000', 'redis://node2:7000'].");
    }
    cluster = store.cluster.map((u, i) => checkRedisUrl(`store.cluster[${i}]`, u, true));
  }
  const keyPrefix = store.keyPrefix ?? REDIS_STORE_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || !KEY_PREFIX.test(keyPrefix)) {
    fail(
      'store.keyPrefix',
      'must be 0-64 characters from A-Z a-z 0-9 . _ : - (no braces: they would put every key in one Cluster hash slot)',
      "Use e.g. 'xems:' or 'shop-prod:xems:'.",
    );
  }
  const timeoutMs = parseDuration(store.timeout ?? REDIS_STORE_DEFAULTS.timeout);
  if (timeoutMs === undefined || timeoutMs < 10 || timeoutMs > 60_000) {
    fail('store.timeout', 'must be a duration between 10 ms and 60 s', "Use e.g. '1s' (default) or 500.");
  }
  if (timeoutMs >= requestTimeoutMs) {
    fail(
      'store.timeout',
      `(${timeoutMs} ms) must be shorter than sidecar.requestTimeout (${requestTimeoutMs} ms)`,
      'So that a Redis outage answers 503 from the sidecar before the call itself times out: lower store.timeout or raise sidecar.requestTimeout.',
    );
  }
  return { url, cluster, keyPrefix, timeoutMs };
}

/**
 * Validates `store` (and, for Redis, the shared secret and identity it needs) once, at start-up.
 * `requestTimeoutMs` is the module's per-call timeout, which the store timeout must stay under.
 */
export function resolveStore(
  raw: unknown,
  persistence: Resolved<XemsPersistenceOptions>,
  hardwareBinding: unknown,
  requestTimeoutMs: number,
): ResolvedStore {
  if (raw === undefined) return { type: 'memory' };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(
      'store',
      `must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`}`,
      "Use { type: 'memory' } (default) or { type: 'redis', url: 'redis://host:6379' }.",
    );
  }
  const store = raw as Record<string, unknown>;
  const known = store.type === 'memory' ? ['type'] : ['type', 'url', 'cluster', 'keyPrefix', 'timeout'];
  const unknown = Object.keys(store).find((k) => !known.includes(k));
  if (store.type !== 'memory' && store.type !== 'redis') {
    fail(
      'store.type',
      `must be 'memory' or 'redis', got ${JSON.stringify(store.type)}`,
      "Use 'memory' (default: each instance keeps its own records) or 'redis' (shared by every instance).",
    );
  }
  if (unknown !== undefined) {
    fail(`store.${unknown}`, `is not a known option of a ${String(store.type)} store`, `Known: ${known.join(', ')}.`);
  }
  if (store.type === 'memory') return { type: 'memory' };

  const fields = checkRedisFields(store, requestTimeoutMs);
  if (persistence.enabled === true) {
    fail(
      'persistence.enabled',
      "cannot be true with store type 'redis': Redis keeps the records (its RDB/AOF files are their persistence), a local vault would be one instance's copy",
      'Remove persistence.enabled (keep persistence.secret: it is the shared secret the Redis records are sealed with).',
    );
  }
  if (persistence.path !== undefined) {
    fail(
      'persistence.path',
      "is not used with store type 'redis' (Redis keeps the records; there is no local vault)",
      'Remove persistence.path; keep persistence.secret, the shared secret of the Redis records.',
    );
  }
  if (persistence.secret === undefined) {
    fail(
      'persistence.secret',
      "is required with store type 'redis': every instance derives the same key from it, so that one instance reads what another wrote",
      SECRET_HINT,
    );
  }
  const secret = parseSecretOption(persistence.secret);
  if (hardwareBinding === undefined || hardwareBinding === true) {
    fail(
      'hardwareBinding',
      `${hardwareBinding === true ? 'is true' : 'defaults to true'}, which binds the key to this machine's /etc/machine-id; with store type 'redis' several machines must read the same records, so the key cannot be bound to one of them`,
      BINDING_HINT,
    );
  }
  const identity = identityOption(hardwareBinding as false | { id: string }, BINDING_HINT)?.id ?? null;
  return { type: 'redis', ...fields, secret, identity };
}

/** What the sidecar needs for the Redis store (docs/protocol.md, CONFIGURE "store"). */
export type SidecarStore = Extract<ResolvedStore, { type: 'redis' }>;

/**
 * The CONFIGURE parts of the Redis store: the `store` field of configJson (no secret) and the
 * named secrets `storeSecret` (32 bytes) and `storeIdentity` (absent when unbound). The caller
 * fills the returned buffers with zeros once the frame is written.
 */
export function storeConfigure(s: SidecarStore): {
  config: { type: 'redis'; url?: string; cluster?: string[]; keyPrefix: string; timeoutMs: number };
  secrets: Array<[string, Buffer]>;
} {
  const secrets: Array<[string, Buffer]> = [['storeSecret', s.secret.bytes()]];
  if (s.identity) secrets.push(['storeIdentity', Buffer.from(s.identity)]);
  return { config: { type: 'redis', url: s.url, cluster: s.cluster, keyPrefix: s.keyPrefix, timeoutMs: s.timeoutMs }, secrets };
}

import { XemsConfigError } from '../xems.errors';

const URL_HINT = "Use e.g. 'redis://localhost:6379', 'redis://:password@host:6379/0' or 'rediss://host:6380' for TLS.";
// What a problem says about the URL: never the URL itself, which may carry a password.
const NOT_REPEATED = '(it is not repeated here: it may contain a password)';

/** `redis://[user:password@]host[:port][/db]` (or `rediss://`) split at its authority. */
const REDIS_URL = /^rediss?:\/\/([^/?#]*)/i;
/** The host (a bracketed IPv6 address, or anything without ':'), then an optional ':port'. */
const HOST_PORT = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/;

/**
 * Checks one Redis URL of the `store` option (`field` names it in the error) and returns it:
 * a redis:// or rediss:// URL with a host and, when a port is written, a port of 1-65535
 * (`redis://host:` is refused: it would silently connect to 6379). A cluster node names no
 * database. The URL is never echoed.
 */
export function checkRedisUrl(field: string, value: unknown, clusterNode: boolean): string {
  if (value === undefined) {
    throw new XemsConfigError(
      field,
      'is undefined (is the environment variable meant to hold it unset?)',
      `Set it, e.g. REDIS_URL=redis://localhost:6379 for { url: process.env.REDIS_URL }. ${URL_HINT}`,
    );
  }
  const authority = typeof value === 'string' ? REDIS_URL.exec(value)?.[1] : undefined;
  if (authority === undefined) throw notARedisUrl(field);
  const [, host, port] = HOST_PORT.exec(authority.slice(authority.lastIndexOf('@') + 1)) ?? [];
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw new XemsConfigError(
      field,
      `has an empty or invalid port: write a port of 1-65535 after the ':', or leave both out for 6379 ${NOT_REPEATED}`,
      URL_HINT,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(value as string);
  } catch {
    url = undefined;
  }
  if (!url || !host || url.hostname === '') throw notARedisUrl(field);
  const db = url.pathname.replace(/\//g, '');
  if (clusterNode && db !== '' && db !== '0') {
    throw new XemsConfigError(field, 'names a database: a Redis Cluster has only database 0', "Drop the '/<db>' part of the cluster URLs.");
  }
  return value as string;
}

function notARedisUrl(field: string): XemsConfigError {
  return new XemsConfigError(field, `must be a redis:// or rediss:// URL with a host ${NOT_REPEATED}`, URL_HINT);
}

import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { parseDuration, type XemsDuration } from '../duration.util';
import type { XemsModuleOptions } from '../xems.options';
import { XEMS_LIMITS } from '../xems.defaults';
import { XemsConfigError, XemsValidationError } from '../xems.errors';
import { createStandaloneService, resolveModuleOptions } from '../xems.providers';
import { XemsService } from '../xems.service';
import { TtlCap } from '../ttl-cap';

/** XemsStore's defaults: its sandbox, and the TTL of a session whose cookie has no expiry. */
export const XEMS_STORE_DEFAULTS = { sandbox: 'express-session', ttl: '1d' } as const;

/** The cookie part of an express-session session, as the store sees it. */
export interface XemsStoredCookie {
  expires?: Date | string | null;
  maxAge?: number | null;
  originalMaxAge?: number | null;
}

/** An express-session session: its cookie and the application's fields (any JSON). */
export interface XemsStoredSession {
  cookie?: XemsStoredCookie;
}

export interface XemsStoreOptions {
  /** The module's XemsService: inside Nest, `app.get(XemsService)`; without Nest, `await createStandaloneXems()`. */
  xems: XemsService;
  /** Sandbox holding the sessions. Default `'express-session'`. */
  sandbox?: string;
  /**
   * Lifetime of a session whose cookie has no expiry (a browser-session cookie). Default `'1d'`.
   * A cookie with `maxAge`/`expires` sets the lifetime itself. Either way it is capped at 5 days.
   */
  ttl?: XemsDuration;
  /** Do not refresh the lifetime of unmodified sessions on each request. Default `false`. */
  disableTouch?: boolean;
}

type Callback<T = unknown> = (err?: unknown, result?: T) => void;

/**
 * What express-session's Store class gives its subclasses (regenerate, load, createSession).
 * Declared here with `any` where express-session's own types are specific, so that this
 * package's declarations need no @types/express-session and still fit `session({ store })`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
interface ExpressSessionStore extends EventEmitter {
  regenerate(req: any, callback: (err?: any) => any): void;
  load(sid: string, callback: (err: any, session?: any) => any): void;
  createSession(req: any, session: any): any;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const MISSING_HINT = 'Install it next to nestjs-xems: npm install express-session';

/**
 * express-session is an optional peer dependency: its Store class is loaded when this module
 * is, and a stand-in that explains what to install takes its place when it is absent (so
 * `import { XemsModule } from 'nestjs-xems'` never needs express-session).
 */
function storeBase(): new () => ExpressSessionStore {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('express-session') as { Store: new () => ExpressSessionStore }).Store;
  } catch {
    return class MissingExpressSession extends EventEmitter {
      constructor() {
        super();
        throw new XemsConfigError('XemsStore', 'needs the express-session package, which is not installed', MISSING_HINT);
      }
    } as unknown as new () => ExpressSessionStore;
  }
}

const SCAN_PAGE = 1000;
const READ_CONCURRENCY = 32;

/**
 * An express-session store kept by the xems sidecar: every session is a value of one sandbox,
 * sealed with AES-256-GCM in the sidecar (in memory, in the encrypted vault with persistence, or
 * in Redis with `store: { type: 'redis' }`), under a keyed hash of its session id. Lifetimes
 * follow the cookie (`maxAge`/`expires`), capped at 5 days.
 *
 * ```ts
 * app.use(session({ secret, resave: false, saveUninitialized: false,
 *   store: new XemsStore({ xems: app.get(XemsService) }) }));
 * ```
 */
export class XemsStore extends storeBase() {
  readonly sandbox: string;
  private readonly xems: XemsService;
  private readonly defaultTtlMs: number;
  private readonly disableTouch: boolean;
  private readonly ttlCap = new TtlCap((message) => new Logger('XemsStore').warn(message));

  constructor(options: XemsStoreOptions) {
    super();
    if (!options || !(options.xems instanceof XemsService)) {
      throw new XemsConfigError(
        'xems',
        'must be the XemsService (app.get(XemsService), or await createStandaloneXems())',
        'Pass { xems } to new XemsStore().',
      );
    }
    this.xems = options.xems;
    this.sandbox = options.sandbox ?? XEMS_STORE_DEFAULTS.sandbox;
    if (!XEMS_LIMITS.sandboxPattern.test(this.sandbox)) {
      throw new XemsConfigError(
        'sandbox',
        `${JSON.stringify(this.sandbox)} is not a valid sandbox name`,
        'Use 1-64 characters from A-Z a-z 0-9 . _ : -',
      );
    }
    const ttl = parseDuration(options.ttl ?? XEMS_STORE_DEFAULTS.ttl);
    if (ttl === undefined || ttl < 1) {
      throw new XemsConfigError(
        'ttl',
        `${JSON.stringify(options.ttl)} is not a positive duration`,
        "Use a number of milliseconds or a string such as '1d'.",
      );
    }
    this.defaultTtlMs = this.ttlCap.apply(ttl, 'XemsStore option "ttl"', options.ttl);
    this.disableTouch = options.disableTouch ?? false;
  }

  // The callbacks' session parameters are `any` so that express-session's typed callbacks
  // (SessionData) fit; the values are the JSON that `set` stored.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get(sid: string, callback: (err: any, session?: any) => void): void {
    settle(this.read(sid), callback);
  }

  set(sid: string, session: XemsStoredSession, callback?: (err?: unknown) => void): void {
    settle(this.write(sid, session), callback);
  }

  /** Refreshes the lifetime of an unmodified session (express-session calls it once per request). */
  touch(sid: string, session: XemsStoredSession, callback?: (err?: unknown) => void): void {
    settle(this.refresh(sid, session), callback);
  }

  destroy(sid: string, callback?: (err?: unknown) => void): void {
    settle(this.remove(sid), callback);
  }

  /** Every live session, each with its session id as `id`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  all(callback: (err: any, sessions?: any) => void): void {
    settle(this.readAll(), callback);
  }

  /** The number of live sessions. */
  length(callback: (err: unknown, length?: number) => void): void {
    settle(
      this.scanIds().then((ids) => ids.length),
      callback,
    );
  }

  /** Removes every session of the sandbox. */
  clear(callback?: (err?: unknown) => void): void {
    settle(
      this.api.clear(this.sandbox).then(() => undefined),
      callback,
    );
  }

  /** The session ids of every live session. */
  ids(callback: (err: unknown, ids?: string[]) => void): void {
    settle(this.scanIds(), callback);
  }

  private get api() {
    return this.xems.api;
  }

  private key(sid: unknown): Buffer {
    if (typeof sid !== 'string' || sid.length === 0) {
      throw new XemsValidationError(
        'INVALID_KEY',
        'An express-session id must be a non-empty string',
        "Use express-session's own id generator.",
      );
    }
    return Buffer.from(sid, 'utf8');
  }

  /** The session's lifetime: its cookie's remaining time, else the default; at most 5 days. */
  private ttlOf(session: XemsStoredSession): number {
    const expires = session.cookie?.expires;
    if (expires !== undefined && expires !== null) {
      const at = new Date(expires).getTime();
      if (Number.isFinite(at)) return this.ttlCap.apply(at - Date.now(), "A session cookie's lifetime", expires);
    }
    return this.defaultTtlMs;
  }

  private async remove(sid: string): Promise<void> {
    await this.api.kvDel(this.sandbox, this.key(sid));
  }

  private async read(sid: string): Promise<XemsStoredSession | null> {
    const entry = await this.api.kvGet(this.sandbox, this.key(sid));
    if (!entry) return null;
    return JSON.parse(entry.value.toString('utf8')) as XemsStoredSession;
  }

  private async write(sid: string, session: XemsStoredSession): Promise<void> {
    const key = this.key(sid);
    const ttl = this.ttlOf(session);
    if (ttl <= 0) {
      await this.api.kvDel(this.sandbox, key); // already expired: nothing to keep
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(session);
    } catch (err) {
      throw new XemsValidationError(
        'VALUE_NOT_SERIALIZABLE',
        `The session cannot be serialized to JSON: ${(err as Error).message}`,
        'Store plain data in req.session (no BigInt, no cycles).',
      );
    }
    await this.api.kvSet(this.sandbox, key, Buffer.from(json, 'utf8'), Math.ceil(ttl));
  }

  private async refresh(sid: string, session: XemsStoredSession): Promise<void> {
    if (this.disableTouch) return;
    const ttl = this.ttlOf(session);
    const key = this.key(sid);
    if (ttl <= 0) {
      await this.api.kvDel(this.sandbox, key);
      return;
    }
    await this.api.kvTouch(this.sandbox, key, Math.ceil(ttl));
  }

  private async scanIds(): Promise<string[]> {
    const ids = new Set<string>();
    let cursor = '';
    do {
      const page = await this.api.kvScan(this.sandbox, Buffer.alloc(0), cursor, SCAN_PAGE);
      for (const k of page.keys) ids.add(k.toString('utf8'));
      cursor = page.nextCursor;
    } while (cursor !== '');
    return [...ids];
  }

  private async readAll(): Promise<Array<XemsStoredSession & { id: string }>> {
    const ids = await this.scanIds();
    const out: Array<XemsStoredSession & { id: string }> = [];
    for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
      const batch = ids.slice(i, i + READ_CONCURRENCY);
      const sessions = await Promise.all(batch.map((id) => this.read(id)));
      sessions.forEach((s, j) => {
        if (s) out.push({ ...s, id: batch[j] });
      });
    }
    return out;
  }
}

/** Calls an express-session callback with a promise's outcome (never both, never a throw). */
function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => callback?.(null, value),
    (err: unknown) => callback?.(err),
  );
}

/**
 * An XemsService without Nest: starts its own sidecar with the module's options (validated
 * the same way) and returns the service. Stop it with `await xems.onApplicationShutdown()`.
 *
 * ```ts
 * const xems = await createStandaloneXems({ ttl: '1d' });
 * app.use(session({ secret, store: new XemsStore({ xems }), resave: false, saveUninitialized: false }));
 * ```
 */
export async function createStandaloneXems(options: XemsModuleOptions = {}): Promise<XemsService> {
  const xems = createStandaloneService(resolveModuleOptions(options));
  await xems.onModuleInit();
  return xems;
}

import { Logger } from '@nestjs/common';
import type { XemsDuration } from './duration.util';
import type { SidecarApi } from './sidecar/sidecar-api';
import { type XemsSchemaOptions, assertSchema, checkSchema } from './typed-data';
import { isTokenShaped } from './token-shape';
import { decodeJson, encodeJson, encodeKey } from './xems.validation';

/** A key-value store bound to one sandbox: `xems.from('otp-pending')`. */
export interface XemsSandboxStore<V = unknown> {
  readonly sandbox: string;
  /** Stores any JSON-serializable value (undefined is refused). ttl defaults to the module's ttl; more than 5 days is capped to 5 days. */
  set(key: string, value: V, ttl?: XemsDuration): Promise<void>;
  /**
   * The value, or null when absent or expired (or, with a schema, invalid: logged). A session
   * token of this sandbox returns the session's data (no rotation).
   */
  get<T = V>(key: string): Promise<T | null>;
  /** Deletes the key; a session token of this sandbox revokes that session. True if something was removed. */
  del(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Remaining lifetime in milliseconds, or null when absent. */
  ttl(key: string): Promise<number | null>;
  /** Restarts the key's lifetime (default: the module's ttl). False when absent. */
  touch(key: string, ttl?: XemsDuration): Promise<boolean>;
}

/** What a sandbox store needs besides the sidecar: lifetimes, and the sessions a token key names. */
export interface SandboxStoreContext {
  api: SidecarApi;
  /** A TTL given to set/touch in milliseconds (checked, capped), or the module's ttl. */
  ttlMs(ttl: XemsDuration | undefined, what: string): number;
  /** The data of the session of `token` in `sandbox` (no rotation), or null. */
  sessionData(sandbox: string, token: string): Promise<unknown>;
  /** Revokes the session of `token` in `sandbox`. */
  revokeSession(sandbox: string, token: string): Promise<boolean>;
}

const logger = new Logger('Xems');

/**
 * from(sandbox): values as JSON in one sandbox. With a schema, values are validated with
 * class-validator on set (XemsValidationError) and on get (an invalid value reads as null and
 * is logged, without its content). A key shaped like a session token also reaches the session
 * of that token (get: its data; del: revokes it).
 */
export class SandboxStore<V = unknown> implements XemsSandboxStore<V> {
  constructor(
    readonly sandbox: string,
    private readonly context: SandboxStoreContext,
    private readonly schema: XemsSchemaOptions | undefined,
  ) {}

  async set(key: string, value: V, ttl?: XemsDuration): Promise<void> {
    const k = encodeKey(key);
    assertSchema(this.schema, value, 'value');
    await this.context.api.kvSet(
      this.sandbox,
      k,
      encodeJson(value, 'value'),
      this.context.ttlMs(ttl, 'A ttl given to from(sandbox).set()'),
    );
  }

  async get<T = V>(key: string): Promise<T | null> {
    const entry = await this.context.api.kvGet(this.sandbox, encodeKey(key));
    if (entry) return this.read<T>(decodeJson(entry.value), 'a value');
    if (!isTokenShaped(key)) return null;
    const data = await this.context.sessionData(this.sandbox, key);
    return data === null ? null : this.read<T>(data, 'session data');
  }

  async del(key: string): Promise<boolean> {
    if (await this.context.api.kvDel(this.sandbox, encodeKey(key))) return true;
    if (!isTokenShaped(key)) return false;
    return this.context.revokeSession(this.sandbox, key);
  }

  has(key: string): Promise<boolean> {
    return this.context.api.kvHas(this.sandbox, encodeKey(key));
  }

  ttl(key: string): Promise<number | null> {
    return this.context.api.kvTtl(this.sandbox, encodeKey(key));
  }

  async touch(key: string, ttl?: XemsDuration): Promise<boolean> {
    const k = encodeKey(key);
    return (await this.context.api.kvTouch(this.sandbox, k, this.context.ttlMs(ttl, 'A ttl given to from(sandbox).touch()'))) !== null;
  }

  /** Data read back, validated against the schema if there is one: invalid data is logged (never its content) and reads as null. */
  private read<T>(value: unknown, what: string): T | null {
    if (!this.schema) return value as T;
    const checked = checkSchema(this.schema, value);
    if (checked.ok) return checked.value as T;
    logger.warn(`Stored ${what} in sandbox ${this.sandbox} does not match ${this.schema.schema.name}: ${checked.problems.join('; ')}`);
    return null;
  }
}

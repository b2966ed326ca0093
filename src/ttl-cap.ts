import { XEMS_LIMITS } from './xems.defaults';

/**
 * The one place where a lifetime longer than the sidecar's hard limit (5 days) is shortened:
 * the module's `ttl` option and every per-call TTL (`from(s).set(k, v, '10d')`,
 * `createSession(..., { ttl })`, `link(..., { ttl })`, `touch`) alike. The first capped value
 * of each kind is reported through `warn`; later ones are capped silently (no log flood).
 */
export class TtlCap {
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (message: string) => void = () => undefined) {}

  /** `ms`, or 5 days when it is longer. `what` names the setting in the warning ("XemsModule option \"ttl\""). */
  apply(ms: number, what: string, given: unknown): number {
    if (ms <= XEMS_LIMITS.maxTtlMs) return ms;
    if (!this.warned.has(what)) {
      this.warned.add(what);
      this.warn(`${what} (${JSON.stringify(given)}) is longer than 5 days: capped to 5 days.`);
    }
    return XEMS_LIMITS.maxTtlMs;
  }
}
